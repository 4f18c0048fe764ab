"""The generated waveform views read against the dumps of both simulators (pywellen reads FST):
every signal a view names exists in the dump, its START and DONE markers sit on the processor's
`running` rising and irq rising, the window spans them, and the translate filters name each
kernel's retired pc as the listing does at every instruction the retire trace reports."""
from __future__ import annotations

import re

import pytest
import pywellen

from examples import networks
from sim import Workflow
from sim.runner import CLOCK_PERIOD_TICKS as PERIOD
from sim.runner import SIMULATORS
from tests.cocotb.configs import P16_INT16

CFG = P16_INT16
NET = networks.classifier(seed=3)


def _parse_view(text: str):
    """(signal names with their filter file or None, markers name -> time, window start, zoom)."""
    names, filters, current = [], {}, {}
    markers, times = {}, []
    start, zoom = 0, 0.0
    for line in text.splitlines():
        if line.startswith("^"):
            num, path = line[1:].split(" ", 1)
            filters[num] = path
            current = {"filter": path}
        elif line.startswith("@"):
            flags = int(line[1:], 16)
            current = {"filter": current.get("filter")} if flags & 0x2000 else {"filter": None}
        elif line.startswith("[timestart]"):
            start = int(line.split()[1])
        elif line.startswith("*"):
            parts = line[1:].split()
            zoom, times = float(parts[0]), [int(t) for t in parts[2:]]
        elif line.startswith("[markername]"):
            letter_name = line.split(" ", 1)[1]
            markers[letter_name[1:]] = times["ABCDEFGHIJKLMNOPQRSTUVWXYZ".index(letter_name[0])]
        elif line and not line.startswith(("[", "-", "@", "*")):
            full = line.split("} ", 1)[1] if line.startswith("+{") else line
            names.append((re.sub(r"\[\d+:0\]$", "", full), current.get("filter")))
    return names, markers, start, zoom


def _filter_table(path: str) -> dict[str, str]:
    out = {}
    for line in open(path):
        if line.strip() and not line.startswith("#"):
            value, name = line.rstrip("\n").split(" ", 1)
            out[value] = name
    return out


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_views_read_against_the_dump(simulator):
    x = networks.sequences(seed=8, lengths=(4,))[0]
    with Workflow(NET, config=CFG, target=simulator, waves=True, trace=True, max_sequence_length=16) as wf:
        wf.deploy()
        wf.predict(x)
        cycles = wf.last_profile["cycles"]
        records = wf.last_trace[0].records
        program = wf.program
        view_path, dump = wf.last_view, wf.session.wave_file
    assert dump.name.endswith(".fst")
    names, markers, start, _ = _parse_view(view_path.read_text())
    wave = pywellen.Waveform(str(dump))
    assert str(wave.timescale) == "1ps"
    dumped = {v.full_name: v for v in wave.all_vars()}
    missing = [n for n, _ in names if n not in dumped]
    assert not missing, f"signals in the view but not in the {simulator} dump: {missing}"
    assert len(names) >= 40

    scope = names[0][0].split(".")[0]

    def changes(suffix):
        (full,) = [n for n, _ in names if n.endswith(suffix)] or \
                  [n for n in dumped if n.startswith(scope + ".") and n.endswith(suffix)]
        return list(dumped[full].signal)

    irq_rises = [t for t, v in changes(".irq") if v == 1]
    running_rises = [t for t, v in changes("running") if v == 1]
    assert markers["DONE"] == irq_rises[-1], (markers, irq_rises)
    assert markers["START"] == running_rises[-1], (markers, running_rises)
    assert markers["DONE"] - markers["START"] == cycles * PERIOD
    assert start < markers["START"]

    # each kernel's retired pc through its filter, at every record of the trace
    tables = {n: _filter_table(f) for n, f in names if f}
    listing = {e.pc: e.op for e in program.listing if e.program == "run"}
    for kernel in ("fc", "act", "ew", "dma"):
        (pc_name,) = [n for n, _ in names if n.endswith(f"trace_{kernel}_pc")]
        seq = [(t, v) for t, v in changes(f"trace_{kernel}_seq") if markers["START"] <= t <= markers["DONE"]]
        mine = sorted((r for r in records if r.kernel.name == kernel.upper()), key=lambda r: r.done)
        assert len(seq) == len(mine), f"{kernel}: {len(seq)} seq changes in the run, {len(mine)} records"
        pc_changes = list(dumped[pc_name].signal)
        offsets = set()
        for (t, _), r in zip(seq, mine):
            value = [v for tt, v in pc_changes if tt <= t][-1]
            shown = tables[pc_name][str(value)]
            assert listing[r.pc] in shown.split(" / "), f"{kernel} at {t}: filter shows {shown!r}, trace pc {r.pc}"
            offsets.add((t - markers["START"]) // PERIOD - r.done)
        assert len(offsets) == 1, f"{kernel}: trace records appear at varying delays after done: {offsets}"

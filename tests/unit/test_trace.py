"""sim/trace.py on the golden model (the RTL's traces: tests/cocotb/test_trace.py): the
trace-event JSON is valid and names every instruction as the listing does, the profile's
exclusive cycles add up to CYCLES and follow the documented rule, the timeline PNG is written,
`dlp predict --trace/--profile` work, and the misuses get clear errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from examples import networks
from rtl.isa import Kernel
from sim import Workflow
from sim.cli import main as dlp
from sim.model import Retired
from sim.trace import CONTROL, TraceRun, exclusive_cycles, plot_timeline, trace_format_problems

NET = networks.classifier(seed=3)


@pytest.fixture(scope="module")
def traced():
    wf = Workflow(NET, target="model", trace=True, max_sequence_length=16)
    wf.deploy()
    wf.predict(networks.sequences(seed=5, lengths=(2, 7)))
    return wf


def test_exclusive_cycles_go_to_the_instruction_that_finishes_last():
    # FC busy 1..10, ACT 4..6 (inside it), EW 12..15 after a gap; 20 cycles in all
    run = TraceRun("run", 0, 1, 20, [Retired(Kernel.FC, 0, 0, 0, 10, 0), Retired(Kernel.ACT, 1, 0, 3, 6, 0),
                                     Retired(Kernel.EW, 2, 0, 11, 15, 0)])
    per, idle = exclusive_cycles(run)
    assert per == {0: 10, 1: 0, 2: 4}
    assert idle == 20 - 14  # cycle 0, 11, 16..19


def test_the_trace_json_is_valid_and_named_from_the_listing(traced, tmp_path):
    obj = json.loads(traced.write_trace(tmp_path / "t.json", include_deploy=True).read_text())
    assert trace_format_problems(obj) == []
    tracks = {e["tid"]: e["args"]["name"] for e in obj["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}
    assert [tracks[t] for t in (1, 2, 3, 4)] == ["FC", "ACT", "EW", "DMA"]
    slices = [e for e in obj["traceEvents"] if e["ph"] == "X" and e["tid"] in tracks and tracks[e["tid"]] != "runs"]
    records = traced.deploy_trace.records + [r for run in traced.last_trace for r in run.records]
    assert len(slices) == len(records)
    listing = {(e.program, e.pc): e.op for e in traced.program.listing}
    runs = ["deploy"] + ["run"] * len(traced.last_trace)
    offsets = np.cumsum([0, traced.deploy_trace.cycles] + [r.cycles for r in traced.last_trace])
    expected = sorted((offsets[i] + r.issue, int(r.kernel) + 1, r.done - r.issue, listing[(runs[i], r.pc)], r.t)
                      for i, run in enumerate([traced.deploy_trace] + traced.last_trace) for r in run.records)
    assert sorted((e["ts"], e["tid"], e["dur"], e["name"], e["args"]["t"]) for e in slices) == expected
    steps = [e for e in slices if e["name"] == "lstm_1.wi"]
    assert [e["args"]["t"] for e in steps] == list(range(2)) + list(range(7))
    counters = [e for e in obj["traceEvents"] if e["ph"] == "C"]
    assert counters and max(e["args"]["FC"] for e in counters) <= 2  # a kernel holds at most two in flight


def test_the_format_check_finds_broken_events():
    assert trace_format_problems({"events": []})
    bad = {"traceEvents": [{"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 3},
                           {"ph": "Q", "name": "b", "pid": 1, "tid": 1, "ts": 0},
                           {"ph": "C", "name": "c", "pid": 1, "ts": 0, "args": {"FC": "x"}}]}
    problems = trace_format_problems(bad)
    assert len(problems) == 3 and "dur" in problems[0] and "phase" in problems[1] and "counter" in problems[2]


def test_profile_rows_add_up_to_cycles(traced):
    table = traced.profile(clock_mhz=100.0)
    assert table.agrees
    assert sum(r.cycles for r in table.rows) == table.total_cycles == traced.last_profile["cycles"]
    assert table.rows[-1].op == CONTROL and table.rows[-1].cycles > 0
    assert {r.op for r in table.rows} >= {"lstm_1.wi", "lstm_1.sigmoid_i", "lstm_1.mul_h", "softmax.softmax"}
    busy = {k: 0 for k in ("FC", "ACT", "EW", "DMA")}
    for r in table.rows:
        if r.kind:
            busy[{"LOAD": "DMA", "STORE": "DMA"}.get(r.kind.split(".")[0], r.kind.split(".")[0])] += r.busy
    # a kernel's busy cycles can overlap only where it takes the next instruction while one drains
    assert all(busy[k] >= v for k, v in traced.last_profile["busy"].items())
    text = str(table)
    assert "100 MHz" in text and "agrees on every row" in text


def test_the_timeline_png_is_written(traced, tmp_path):
    path = plot_timeline(traced.last_trace[1], traced.program, tmp_path / "timeline.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="t=99"):
        plot_timeline(traced.last_trace[1], traced.program, tmp_path / "x.png", step=99)


def test_misuse_gets_clear_errors():
    with pytest.raises(ValueError, match="target 'myhdl' has none"):
        Workflow(NET, target="myhdl", trace=True)
    with pytest.raises(TypeError, match="trace="):
        Workflow(NET, target="model", trace="yes")
    wf = Workflow(NET, target="model")
    with pytest.raises(RuntimeError, match="trace=True"):
        wf.profile()
    wf2 = Workflow(NET, target="model", trace=True)
    with pytest.raises(RuntimeError, match="no call has run yet"):
        wf2.write_trace("unused.json")


def test_dlp_predict_writes_the_trace_and_prints_the_profile(tmp_path, capsys):
    NET.save(tmp_path / "net.npz")
    np.savez(tmp_path / "x.npz", *networks.sequences(seed=6, lengths=(3, 4)))
    dlp(["predict", str(tmp_path / "net.npz"), str(tmp_path / "x.npz"), "--trace", str(tmp_path / "t.json"),
         "--profile"])
    out = capsys.readouterr().out
    assert "instruction trace:" in out and "agrees on every row" in out and "lstm_1.wi" in out
    assert trace_format_problems(json.loads((tmp_path / "t.json").read_text())) == []
    with pytest.raises(SystemExit):
        dlp(["predict", str(tmp_path / "net.npz"), str(tmp_path / "x.npz"), "--target", "myhdl", "--profile"])
    assert "--target model, icarus or verilator" in capsys.readouterr().err

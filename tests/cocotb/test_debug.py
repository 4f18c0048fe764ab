"""Finding the first divergence: a processor with a fault injected into its converted Verilog (EW
multiplies with one destination add instead) runs a network on both simulators; the Workflow's
first_divergence and `dlp debug` name the instruction the fault breaks (lstm_1.mul_ig at t=0),
with its cycle and a view whose marker sits on it. The broken builds go to a temporary build
folder (DLP_BUILD_DIR), never to build/sim."""
from __future__ import annotations

import re

import numpy as np
import pytest

import rtl.convert
from compiler import compile as compile_network
from examples import networks
from rtl import isa
from sim import Workflow
from sim.cli import main as dlp
from sim.runner import SIMULATORS
from tests.cocotb.configs import P16_INT16

CFG = P16_INT16
NET = networks.classifier(seed=3)
TARGET = "lstm_1.mul_ig"


@pytest.fixture
def broken_builds(tmp_path, monkeypatch):
    """Builds whose EW kernel adds where the program multiplies into TARGET's destination."""
    program = compile_network(NET, CFG, max_sequence_length=16)
    (entry,) = [e for e in program.listing if e.program == "run" and e.op == TARGET]
    _, fields = isa.decode(program.run_instructions[entry.pc])
    real_convert = rtl.convert.convert

    def convert_with_fault(*args, **kwargs):
        path = real_convert(*args, **kwargs)
        text = path.read_text()
        pattern = re.compile(r"(\w*ew_kernel0\w*_s_mul <= \()(\w+_dec_func == 1)\);")
        assert len(pattern.findall(text)) == 1, "the EW kernel's multiply decode is not where the fault goes"
        dst = re.search(r"\w+_dec_func", pattern.search(text).group(2)).group(0).replace("_dec_func", "_dec_dst")
        path.write_text(pattern.sub(rf"\g<1>\g<2> && {dst} != {fields['dst']});", text))
        return path

    monkeypatch.setattr(rtl.convert, "convert", convert_with_fault)
    monkeypatch.setenv("DLP_BUILD_DIR", str(tmp_path / "build"))
    return program, entry


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_the_first_divergence_names_the_broken_instruction(simulator, broken_builds, tmp_path, capsys):
    program, entry = broken_builds
    xs = networks.sequences(seed=9, lengths=(3, 2))
    with Workflow(NET, config=CFG, target=simulator, trace=True, waves=True, max_sequence_length=16) as wf, \
            Workflow(NET, config=CFG, target="model", max_sequence_length=16) as golden:
        wf.deploy()
        golden.deploy()
        assert not np.array_equal(wf.predict(xs)[0], golden.predict(xs)[0])  # the fault changes results
        found = wf.first_divergence()
    assert found is not None
    assert (found.sequence, found.op, found.pc, found.t, found.kernel) == (0, TARGET, entry.pc, 0, "EW")
    assert "wrote signature" in found.why
    text = found.view.read_text()
    assert "[markername] ADIVERGE" in text and f" {found.time} " in text
    assert str(found).startswith(f"first divergence: sequence 0, {TARGET} (pc {entry.pc}, t=0, EW)")

    NET.save(tmp_path / "net.npz")
    np.save(tmp_path / "x.npy", xs[0])
    with pytest.raises(SystemExit) as exit_info:
        dlp(["debug", str(tmp_path / "net.npz"), str(tmp_path / "x.npy"), "--target", simulator,
             *[arg for k, v in CFG.as_dict().items() if v is not None for arg in (f"--{k.replace('_', '-')}", str(v))]])
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"{TARGET} (pc {entry.pc}, t=0, EW)" in out and "open: gtkwave" in out

"""rtl/hazards.py's comparators: `below` against Python's `<` for every pair of ends (both of its
forms), and the converted Verilog of a whole processor whose scoreboard uses the wide-end form
(the end of region E a power of two past the widest start) has no select of a slice
(`word[32:21][11]`, MyHDL's way of writing a bit of a slice signal: Icarus rejects it, Yosys reads
it as `word[11]`) and compiles in Icarus."""
from __future__ import annotations

import re
import subprocess

import pytest
from myhdl import Signal, StopSimulation, block, delay, instance, intbv

from rtl.config import ProcessorConfig
from rtl.convert import convert
from rtl.hazards import below
from rtl.predecode import hazard_bits
from sim.runner import check_simulator


@block
def _below_bench(lw: int, hw: int, seen: list):
    word = Signal(intbv(0)[lw + hw + 3:])  # the ends are slices of a wider word, as in the issue unit
    lo, hi = word(lw, 0), word(lw + hw, lw)
    out = Signal(bool(0))
    dut = below(lo, hi, out)

    @instance
    def drive():
        for h in range(1 << hw):
            for low in range(1 << lw):
                word.next = (h << lw) | low
                yield delay(1)
                seen.append((low, h, bool(out)))
        raise StopSimulation

    return dut, drive


@pytest.mark.parametrize("lw, hw", [(3, 3), (3, 4)])
def test_below_is_less_than_for_every_pair(lw, hw):
    seen = []
    bench = _below_bench(lw, hw, seen)
    bench.run_sim(quiet=True)
    assert len(seen) == 1 << (lw + hw)
    wrong = [(low, h, got) for low, h, got in seen if got != (low < h)]
    assert not wrong, f"below({lw}-bit lo, {hw}-bit hi) wrong for (lo, hi, out) {wrong[:5]}"


def test_a_processor_with_the_wide_end_comparator_compiles_in_icarus(tmp_path):
    cfg = ProcessorConfig(lanes=4, data_type="int8", axi_data_bits=32)
    lob, hib = hazard_bits(cfg)
    assert hib == lob + 1, "the config no longer has the wide-end form; pick one that does"
    check_simulator("icarus")
    path = convert(cfg, tmp_path)
    # Yosys reads a select of a slice, `word[a:b][n]`, as `word[n]` (a different bit) without a word
    text = path.read_text()
    chained = re.findall(r"\w+\[[^\[\]]*:[^\[\]]*\]\[", text)
    assert not chained, f"selects of a slice in the converted Verilog: {chained[:3]}"
    result = subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "dlp.vvp"), str(path)],
                            capture_output=True, text=True)
    errors = [line for line in result.stderr.splitlines() if "sorry:" not in line]
    assert result.returncode == 0, "\n".join(errors[:20])

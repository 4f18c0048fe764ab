"""first_retire_mismatch (sim/trace.py), the per-instruction comparison of the RTL's
retire trace with the golden model, on hand-made records: it names the earliest wrong instruction
by the golden model's issue cycle, says what differs, honours undefined signatures and ignores
cycles under back-pressure."""
from __future__ import annotations

from rtl.isa import Kernel
from sim.model import Retired
from sim.trace import first_retire_mismatch

GOLDEN = [Retired(Kernel.DMA, 0, 0, 10, 30, 0), Retired(Kernel.FC, 2, 0, 31, 60, 0x1234),
          Retired(Kernel.ACT, 3, 1, 40, 70, 0x55), Retired(Kernel.FC, 4, 1, 50, 80, 0x9999)]


def _rtl(records):
    return {k: [r for r in records if r.kernel == k] for k in Kernel}


def test_equal_records_pass():
    assert first_retire_mismatch(_rtl(GOLDEN), GOLDEN, cycles=True, complete=True) is None


def test_names_the_earliest_wrong_instruction():
    rtl = list(GOLDEN)
    rtl[3] = Retired(Kernel.FC, 4, 1, 50, 80, 0x9998)     # later: wrong signature
    rtl[2] = Retired(Kernel.ACT, 3, 1, 41, 71, 0x55)      # earlier: late by a cycle
    why = first_retire_mismatch(_rtl(rtl), GOLDEN, cycles=True, complete=True,
                                name=lambda pc: {3: "lstm_1.sig_i"}.get(pc, f"pc {pc}"))
    assert why.startswith("ACT lstm_1.sig_i t=1, issue cycle 40: issue 41 vs 40; done 71 vs 70"), why


def test_signature_message_and_undefined_signatures():
    rtl = list(GOLDEN)
    rtl[1] = Retired(Kernel.FC, 2, 0, 31, 60, 0x1235)
    why = first_retire_mismatch(_rtl(rtl), GOLDEN, cycles=True, complete=True)
    assert "FC pc 2 t=0, issue cycle 31: wrote signature 0x00001235, expected 0x00001234" in why
    undefined = list(GOLDEN)
    undefined[1] = Retired(Kernel.FC, 2, 0, 31, 60, 0x1234, defined=False)
    assert first_retire_mismatch(_rtl(rtl), undefined, cycles=True, complete=True) is None


def test_cycles_ignored_under_backpressure_and_missing_records():
    late = [Retired(r.kernel, r.pc, r.t, r.issue + 5, r.done + 9, r.sig) for r in GOLDEN]
    assert first_retire_mismatch(_rtl(late), GOLDEN, cycles=False, complete=True) is None
    why = first_retire_mismatch(_rtl(GOLDEN[:3]), GOLDEN, cycles=True, complete=True)
    assert why.startswith("FC pc 4 t=1: never retired"), why
    assert first_retire_mismatch(_rtl(GOLDEN[:3]), GOLDEN, cycles=True, complete=False) is None
    why = first_retire_mismatch(_rtl(GOLDEN + [Retired(Kernel.EW, 9, 0, 90, 99, 1)]), GOLDEN, cycles=True,
                                complete=True)
    assert "EW: 1 instructions retired, golden 0" in why, why

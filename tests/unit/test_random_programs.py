"""The random program generator and the shrinker, on the golden model alone (the RTL side is
tests/cocotb/test_random.py): programs are reproducible, legal unless a fault was put in, and
together reach every opcode, function and stimulus kind; the shrinker reduces a failing program
to the instruction that shows the failure."""
from __future__ import annotations

import collections
import dataclasses

import numpy as np
import pytest

from rtl import isa
from rtl.isa import Op
from sim import model
from tests.cocotb.configs import P4_INT8_AXI32, P16_INT16
from tests.random_programs import FAULTS, Loop, Shrinker, load_regressions, random_program, save_regression

CONFIGS = [pytest.param(c, id=c.short_id()[:12]) for c in (P16_INT16, P4_INT8_AXI32)]


def _words(rp) -> list[int]:
    return rp.program()


@pytest.mark.parametrize("cfg", CONFIGS)
def test_reproducible_by_seed(cfg):
    a, b = random_program(cfg, 1234), random_program(cfg, 1234)
    assert _words(a) == _words(b) and a.image == b.image and a.pauses == b.pauses
    assert _words(random_program(cfg, 1235)) != _words(a)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_legal_unless_faulted_and_faults_stop_with_their_code(cfg):
    seen = collections.Counter()
    for seed in range(200):
        rp = random_program(cfg, seed)
        sc = rp.scenario()
        assert len(sc.program) <= cfg.imem_depth, f"seed {seed}: {len(sc.program)} instructions"
        done, _, error, code = isa.status_fields(sc.golden().read_reg("STATUS"))
        assert done
        if rp.fault is None:
            assert not error, f"seed {seed}: a legal program stopped with {code!s}"
        else:
            assert error and code == FAULTS[rp.fault], f"seed {seed}: fault {rp.fault} stopped with {code!s}"
            seen[rp.fault] += 1
    assert sum(seen.values()) >= 10, seen


def test_programs_reach_every_opcode_function_and_stimulus():
    """Over 300 seeds: every opcode, ACT and EW function, LOAD target, both loop counts, zero-trip
    loops, conditional DMA, strided DMA, back-pressure, DMA transfers crossing 4 KB and longer
    than 256 beats, FC shapes with K mod P of every residue, FC row splits."""
    cfg = P16_INT16
    seen = collections.Counter()
    for seed in range(300):
        rp = random_program(cfg, seed)
        seen["pauses"] += rp.pauses is not None
        for item in rp.items:
            words = item.body if isinstance(item, Loop) else [item]
            if isinstance(item, Loop):
                seen[f"loop_{isa.LoopCount(item.func).name}"] += 1
                seen["zero_trip"] += (item.count if item.func == isa.LoopCount.IMMEDIATE else rp.seq_len) == 0
            for w in words:
                try:
                    op, f = isa.decode(w)
                except ValueError:
                    seen["illegal"] += 1
                    continue
                seen[op.name] += 1
                if op == Op.ACT:
                    seen[f"act_{f['func']}"] += 1
                if op == Op.EW:
                    seen[f"ew_{f['func']}"] += 1
                if op in (Op.LOAD, Op.STORE):
                    seen[f"{op.name}_{f.get('func', 0)}"] += 1
                    seen["cond"] += f["cond"] != 0
                    seen["stride"] += f["stride"] != 0
                    nbytes = f["length"] * ({1: cfg.word_bits // 8, 2: 4}.get(f["func"], cfg.elem_bytes)
                                            if op == Op.LOAD else cfg.elem_bytes)
                    addr = f["ddr_offset"]
                    seen["cross_4k"] += addr // 4096 != (addr + nbytes - 1) // 4096
                    seen["over_256_beats"] += nbytes > 256 * cfg.beat_bytes
                if op == Op.FC and f["length"]:
                    seen[f"fc_k_mod_p_{f['cols'] % cfg.lanes}"] += 1
                    seen["fc_split"] += f["split"] != 0
    wanted = [op.name for op in Op if op != Op.END] + [f"act_{int(a)}" for a in isa.ActFunc] + [f"ew_{int(e)}" for e in isa.EwFunc]
    wanted += ["LOAD_0", "LOAD_1", "LOAD_2", "STORE_0", "loop_IMMEDIATE", "loop_SEQ_LEN", "zero_trip", "cond",
               "stride", "pauses", "cross_4k", "over_256_beats", "fc_split", "illegal"]
    wanted += [f"fc_k_mod_p_{r}" for r in range(cfg.lanes)]
    missing = [w for w in wanted if not seen[w]]
    assert not missing, f"never generated: {missing}"


class _RoundsTiesDown(model.Machine):
    """A golden model with a planted bug: EW rounds ties toward minus infinity."""

    def ew(self, pc, f):
        saved = model.round_shift
        model.round_shift = lambda v, s: (np.asarray(v, dtype=np.int64) >> s) if s else np.asarray(v, dtype=np.int64)
        try:
            super().ew(pc, f)
        finally:
            model.round_shift = saved


def _status_and_memory(sc, machine_class=model.Machine):
    dev = model.GoldenDevice(sc.config, mem_bytes=sc.mem_bytes)
    dev.machine = machine_class(sc.config)
    dev.write_mem(0, bytes(sc.image))
    dev.write_mem(sc.prog_addr, sc.program_bytes())
    for name, value in (("PROG_ADDR", sc.prog_addr), ("PROG_LEN", len(sc.program)), ("SEQ_LEN", sc.seq_len),
                        ("FLAGS", sc.flags)) + tuple((f"BASE{i}", b) for i, b in enumerate(sc.bases)):
        dev.write_reg(name, value)
    dev.write_reg("CTRL", isa.CTRL_START)
    return dev.read_reg("STATUS"), bytes(dev.mem)


def test_shrinker_reduces_to_the_failing_instruction(tmp_path):
    cfg = P16_INT16

    def fails(sc) -> bool:
        return _status_and_memory(sc) != _status_and_memory(sc, _RoundsTiesDown)

    seed = next(s for s in range(100) if random_program(cfg, s).fault is None and fails(random_program(cfg, s).scenario()))
    rp = random_program(cfg, seed)
    shrinker = Shrinker(rp, max_runs=400)
    while (items := shrinker.candidate()) is not None:
        shrinker.report(fails(rp.scenario(items)))
    assert fails(rp.scenario(shrinker.items))
    words = [w for item in shrinker.items for w in (item.body if isinstance(item, Loop) else [item])]
    ops = [isa.decode(w)[0] for w in words]
    assert Op.EW in ops and len(shrinker.items) <= 2, f"seed {seed}: shrunk to {[op.name for op in ops]}"
    assert len(shrinker.items) < len(rp.items)
    # a kept case comes back as the same program
    save_regression(rp, shrinker.items, "planted EW rounding bug", directory=tmp_path)
    (kept,) = load_regressions(cfg, directory=tmp_path)
    assert kept.program == rp.scenario(shrinker.items).program and kept.image == rp.image

"""Single-instruction scenarios, VTA style: each loads random data, runs one instruction under
test (or a short program) and stores the whole activation range back, so the golden model and
the RTL can be compared byte for byte on the external memory they leave behind.

Pure Python: used by the cocotb module (tests/cocotb/isa_tests.py) on the RTL and by unit
tests on the golden model alone."""
from __future__ import annotations

import dataclasses

import numpy as np

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.isa import Op
from sim.model import GoldenDevice

PROG_ADDR = 0x0000
WEIGHT_ADDR = 0x1000
BIAS_ADDR = 0x8000
ACT_ADDR = 0x9000
OUT_ADDR = 0xC000
LOOP_IN_ADDR = 0xE000
MEM_BYTES = 1 << 17


@dataclasses.dataclass
class Scenario:
    name: str
    config: ProcessorConfig
    image: bytearray            # external memory before the run
    program: list[int]
    seq_len: int = 0
    flags: int = 0
    bases: tuple = (0, 0, 0, 0)
    expect_error: isa.ErrorCode | None = None

    def golden(self) -> GoldenDevice:
        """Run the scenario on the golden model and return the device afterwards."""
        dev = GoldenDevice(self.config, mem_bytes=MEM_BYTES)
        dev.write_mem(0, bytes(self.image))
        dev.write_mem(PROG_ADDR, isa.to_bytes(self.program))
        write_registers(dev.write_reg, self)
        dev.write_reg("CTRL", isa.CTRL_START)
        return dev


def write_registers(write, sc: Scenario) -> None:
    """Register writes that set a scenario up (callable sync or collected for async use)."""
    write("PROG_ADDR", PROG_ADDR)
    write("PROG_LEN", len(sc.program))
    write("SEQ_LEN", sc.seq_len)
    write("FLAGS", sc.flags)
    for i, b in enumerate(sc.bases):
        write(f"BASE{i}", b)


def _pack(values: np.ndarray, cfg: ProcessorConfig) -> bytes:
    return values.astype(f"<i{cfg.elem_bytes}").tobytes()


def _prologue(cfg, rng, image, n_act, wwords=0, nbias=0):
    """Random activations (and weights, biases) in memory plus the loads that bring them in."""
    act = rng.integers(cfg.data_min, cfg.data_max + 1, n_act)
    image[ACT_ADDR:ACT_ADDR + n_act * cfg.elem_bytes] = _pack(act, cfg)
    prog = []
    if wwords:
        w = rng.integers(cfg.data_min, cfg.data_max + 1, wwords * cfg.lanes)
        image[WEIGHT_ADDR:WEIGHT_ADDR + len(w) * cfg.elem_bytes] = _pack(w, cfg)
        prog.append(isa.encode(Op.LOAD, func=isa.LoadTarget.WBUF, dst=0, length=wwords, ddr_offset=WEIGHT_ADDR))
    if nbias:
        b = rng.integers(-(1 << 20), 1 << 20, nbias).astype("<i4")
        image[BIAS_ADDR:BIAS_ADDR + 4 * nbias] = b.tobytes()
        prog.append(isa.encode(Op.LOAD, func=isa.LoadTarget.BBUF, dst=0, length=nbias, ddr_offset=BIAS_ADDR))
    prog.append(isa.encode(Op.LOAD, func=isa.LoadTarget.ABUF, dst=0, length=n_act, ddr_offset=ACT_ADDR))
    return prog


def _epilogue(n_act):
    return [isa.encode(Op.STORE, src0=0, length=n_act, ddr_offset=OUT_ADDR), isa.encode(Op.END)]


def scenarios(cfg: ProcessorConfig, seed: int = 0) -> list[Scenario]:
    """The regression set for one config: every opcode, edge shapes, hazards, loops, errors."""
    rng = np.random.default_rng(seed)
    p = cfg.lanes
    out: list[Scenario] = []

    def add(name, body, n_act, wwords=0, nbias=0, **kw):
        image = bytearray(MEM_BYTES)
        prog = _prologue(cfg, rng, image, n_act, wwords, nbias) + body + _epilogue(n_act)
        out.append(Scenario(name, cfg, image, prog, **kw))

    fb = cfg.lut_frac_bits
    idx0 = fb + cfg.lut_range_log2 - cfg.lut_addr_bits  # sigmoid-table shift0 for 0 fraction bits
    n = 7 * p + 5
    for rows, cols, shift in ((1, 1, 0), (3, p, 9), (7, p + 3, 14), (2 * p + 1, 3 * p - 1, 20), (5, 5 * p, cfg.acc_bits - 1)):
        kw = -(-cols // p)
        dst = 3 + cols + 1
        add(f"fc_{rows}x{cols}_s{shift}", [isa.encode(Op.FC, dst=dst, src0=3, waddr=2, length=rows, cols=cols,
                                                      bias=1, shift0=shift)],
            n_act=dst + rows, wwords=2 + rows * kw, nbias=1 + rows)
    for rows, cols, split, seg in ((3, 2 * p + 5, 5, 3), (4, p + 2, p + 1, cfg.data_bits - 1), (2, 3 * p, 2 * p, 1)):
        kw = -(-cols // p)
        dst = 3 + cols + 1
        add(f"fc_split_{rows}x{cols}_at{split}_by{seg}",
            [isa.encode(Op.FC, dst=dst, src0=3, waddr=0, length=rows, cols=cols, bias=0, shift0=18 + seg,
                        shift1=seg, split=split)], n_act=dst + rows, wwords=rows * kw, nbias=rows)
    elementwise = [f for f in isa.ActFunc if f != isa.ActFunc.SOFTMAX]
    for func in elementwise:
        depth = cfg.table_depth("softsign" if func == isa.ActFunc.SOFTSIGN else "sigmoid")
        idx_f = fb + cfg.lut_range_log2 - (depth.bit_length() - 1)  # this table's shift0 for 0 fraction bits
        for frac_in in (2, 8, 12):
            for frac_out in (cfg.data_bits - 1, 6):
                shift0 = idx_f + frac_in - (1 if func == isa.ActFunc.TANH else 0)
                if not 0 <= shift0 <= isa.field_limits(cfg)[(Op.ACT, "shift0")]:
                    continue
                add(f"act_{func.name.lower()}_in{frac_in}_out{frac_out}",
                    [isa.encode(Op.ACT, func=func, dst=3 * p + 2, src0=1, length=3 * p - 1, shift0=shift0,
                                shift1=frac_out)], n_act=n)
    add("act_inplace", [isa.encode(Op.ACT, func=1, dst=5, src0=5, length=2 * p + 3, shift0=idx0 + 10, shift1=12)],
        n_act=n)
    exp0 = fb + cfg.lut_range_log2 - (cfg.exp_lut_depth.bit_length() - 1)
    for k, frac_in in ((1, 8), (9, 12), (2 * p + 3, 10)):
        add(f"act_softmax_{k}_in{frac_in}", [isa.encode(Op.ACT, func=isa.ActFunc.SOFTMAX, dst=4 * p, src0=3, length=k,
                                                        shift0=exp0 + frac_in, shift1=cfg.data_bits - 1)], n_act=n)
    for sa, sb, so in ((0, 0, 0), (3, 1, 4), (cfg.data_bits - 1, 0, 2 * cfg.data_bits)):
        add(f"ew_add_{sa}_{sb}_{so}", [isa.encode(Op.EW, func=0, dst=5 * p, src0=1, src1=2 * p + 3, length=2 * p - 1,
                                                  shift0=sa, shift1=sb, shift2=so)], n_act=n)
    for so in (0, cfg.data_bits - 1, 2 * cfg.data_bits):
        add(f"ew_mul_{so}", [isa.encode(Op.EW, func=1, dst=5 * p + 3, src0=7, src1=2 * p, length=2 * p + 1, shift2=so)],
            n_act=n)
    add("ew_inplace", [isa.encode(Op.EW, func=0, dst=2, src0=2, src1=3 * p + 4, length=2 * p + 1, shift2=1)],
        n_act=n)
    # a dependent chain across all kernels: hazards must order them exactly as written
    add("chain_fc_act_ew", [
        isa.encode(Op.FC, dst=2 * p, src0=0, waddr=0, length=p + 2, cols=p + 1, bias=0, shift0=16),
        isa.encode(Op.ACT, func=0, dst=2 * p, src0=2 * p, length=p + 2, shift0=idx0 + 8, shift1=cfg.data_bits - 1),
        isa.encode(Op.EW, func=1, dst=1, src0=2 * p, src1=2 * p + 1, length=p, shift2=cfg.data_bits - 1),
        isa.encode(Op.FC, dst=4 * p, src0=1, waddr=0, length=3, cols=p, bias=0, shift0=12),
        isa.encode(Op.ACT, func=1, dst=0, src0=4 * p, length=3, shift0=idx0 + 4, shift1=10),
    ], n_act=5 * p, wwords=2 * (p + 2), nbias=p + 2)
    # a loop: per step, load a row of 5 elements (stride), scale it, store it with another stride
    t_steps = 4
    row_bytes = cfg.beat_bytes * 2
    out_row = cfg.beat_bytes * 2
    image = bytearray(MEM_BYTES)
    prog = _prologue(cfg, rng, image, 4 * p)
    rows = rng.integers(cfg.data_min, cfg.data_max + 1, (t_steps, row_bytes // cfg.elem_bytes))
    image[LOOP_IN_ADDR:LOOP_IN_ADDR + rows.size * cfg.elem_bytes] = _pack(rows.ravel(), cfg)
    body_start = len(prog) + 1
    body = [isa.encode(Op.LOAD, func=0, dst=3, length=5, base=1, stride=row_bytes),
            isa.encode(Op.EW, func=0, dst=2 * p + 1, src0=3, src1=2 * p + 1, length=5, shift0=0, shift1=0, shift2=1),
            isa.encode(Op.STORE, src0=2 * p + 1, length=5, base=2, stride=out_row, cond=1),
            isa.encode(Op.STORE, src0=2 * p + 1, length=3, base=2, ddr_offset=out_row * t_steps, stride=out_row,
                       cond=2)]
    prog += [isa.encode(Op.LOOP, func=isa.LoopCount.SEQ_LEN, jump=body_start + len(body) + 1)] + body + [isa.encode(Op.ENDLOOP)]
    prog += _epilogue(4 * p)
    out.append(Scenario("loop_seq_len_strides_cond", cfg, image, prog, seq_len=t_steps, flags=0b001,
                        bases=(0, LOOP_IN_ADDR, OUT_ADDR + 0x800, 0)))
    image2 = bytearray(image)
    out.append(Scenario("loop_zero_trips", cfg, image2, list(prog), seq_len=0, flags=0b011,
                        bases=(0, LOOP_IN_ADDR, OUT_ADDR + 0x800, 0)))
    # errors: the processor must stop with the right code and pc, never hang
    err = isa.ErrorCode
    add("err_illegal_opcode", [15], n_act=p, expect_error=err.ILLEGAL_OPCODE)
    add("err_illegal_shift", [isa.encode(Op.EW, func=1, dst=0, src0=0, src1=0, length=1, shift2=63)], n_act=p,
        expect_error=err.ILLEGAL_OPCODE)
    add("err_abuf_overflow", [isa.encode(Op.ACT, func=0, dst=cfg.abuf_elements - 2, src0=0, length=3)], n_act=p,
        expect_error=err.BUFFER_OVERFLOW)
    add("err_misaligned", [isa.encode(Op.LOAD, func=0, dst=0, length=4, ddr_offset=ACT_ADDR + 2)], n_act=p,
        expect_error=err.MISALIGNED)
    add("err_fc_overwrites_source", [isa.encode(Op.FC, dst=4, src0=0, waddr=0, length=2, cols=5, bias=0)], n_act=p,
        wwords=4, nbias=2, expect_error=err.ILLEGAL_OPCODE)
    add("err_ew_shifted_overlap", [isa.encode(Op.EW, func=0, dst=3, src0=2, src1=9, length=4)], n_act=p,
        expect_error=err.ILLEGAL_OPCODE)
    add("err_softmax_in_place", [isa.encode(Op.ACT, func=isa.ActFunc.SOFTMAX, dst=2, src0=2, length=4)], n_act=p,
        expect_error=err.ILLEGAL_OPCODE)
    add("err_endloop_outside", [isa.encode(Op.ENDLOOP)], n_act=p, expect_error=err.LOOP_ERROR)
    image = bytearray(MEM_BYTES)
    out.append(Scenario("err_pc_overrun", cfg, image, _prologue(cfg, rng, image, p), expect_error=err.PC_OVERRUN))
    return out

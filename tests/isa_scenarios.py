"""Single-instruction scenarios, VTA style: each loads random data into the activation buffer's
regions, runs one instruction under test (or a short program) and stores the regions back, so the
golden model and the RTL can be compared byte for byte on the external memory they leave behind.

Operands sit where the kernels' ports reach them (isa.PORTS): FC reads V (any element) or Z (rows)
and writes Z; ACT reads Z or E and writes E; EW reads a from Z or E, b from E, and writes E or V;
the DMA loads into V and E and stores from any region. Z holds only what an FC wrote, so the
scenarios that read Z run an FC first.

Pure Python: used by the cocotb module (tests/cocotb/isa_tests.py) on the RTL and by unit
tests on the golden model alone."""
from __future__ import annotations

import dataclasses

import numpy as np

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.isa import Op, Region
from sim.model import GoldenDevice

PROG_ADDR = 0x0000
WEIGHT_ADDR = 0x1000
BIAS_ADDR = 0x8000
ACT_ADDR = 0x9000       # random activations: V's part, then E's part
OUT_ADDR = 0xC000       # where the epilogue stores V, Z and E
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
    mem_bytes: int = MEM_BYTES
    prog_len: int | None = None     # PROG_LEN to write instead of len(program) (BAD_PROGRAM cases)
    prog_addr: int = PROG_ADDR
    error_response: str = "SLVERR"  # how the memory answers an access outside it (SLVERR, DECERR)
    pauses: dict | None = None      # AXI back-pressure: pause probability per channel (aw w b ar r)
    pause_seed: int = 1

    def program_bytes(self) -> bytes:
        """The program as stored in memory (cut at the memory's end: fetch-error cases)."""
        return isa.to_bytes(self.program)[:max(0, self.mem_bytes - self.prog_addr)]

    def golden(self, observer=None) -> GoldenDevice:
        """Run the scenario on the golden model and return the device afterwards (`observer`: see
        GoldenDevice.observer)."""
        dev = GoldenDevice(self.config, mem_bytes=self.mem_bytes)
        dev.observer = observer
        dev.write_mem(0, bytes(self.image))
        dev.write_mem(self.prog_addr, self.program_bytes())
        write_registers(dev.write_reg, self)
        dev.write_reg("CTRL", isa.CTRL_START)
        return dev


def write_registers(write, sc: Scenario) -> None:
    """Register writes that set a scenario up (callable sync or collected for async use)."""
    write("PROG_ADDR", sc.prog_addr)
    write("PROG_LEN", len(sc.program) if sc.prog_len is None else sc.prog_len)
    write("SEQ_LEN", sc.seq_len)
    write("FLAGS", sc.flags)
    for i, b in enumerate(sc.bases):
        write(f"BASE{i}", b)


def _pack(values: np.ndarray, cfg: ProcessorConfig) -> bytes:
    return values.astype(f"<i{cfg.elem_bytes}").tobytes()


def _pad(n: int, unit: int) -> int:
    return -(-n // unit) * unit


class _Layout:
    """Where a scenario's regions start and how much of each it loads and stores back."""

    def __init__(self, cfg: ProcessorConfig, n_v: int, n_z: int, n_e: int):
        b = isa.region_bounds(cfg)
        self.v, self.z, self.e = b[Region.V][0], b[Region.Z][0], b[Region.E][0]
        self.n_v, self.n_z, self.n_e = n_v, _pad(n_z, cfg.lanes), _pad(n_e, cfg.lanes)
        eb = cfg.elem_bytes
        self.v_bytes = _pad(self.n_v * eb, 64)
        self.z_bytes = _pad(self.n_z * eb, 64)


def _prologue(cfg, rng, image, lay: _Layout, wwords=0, nbias=0):
    """Random activations in V and E (and weights, biases) in memory plus the loads that bring them in."""
    eb = cfg.elem_bytes
    prog = []
    if wwords:
        w = rng.integers(cfg.data_min, cfg.data_max + 1, wwords * cfg.lanes)
        image[WEIGHT_ADDR:WEIGHT_ADDR + len(w) * eb] = _pack(w, cfg)
        prog.append(isa.encode(Op.LOAD, func=isa.LoadTarget.WBUF, dst=0, length=wwords, ddr_offset=WEIGHT_ADDR))
    if nbias:
        b = rng.integers(-(1 << 20), 1 << 20, nbias).astype("<i4")
        image[BIAS_ADDR:BIAS_ADDR + 4 * nbias] = b.tobytes()
        prog.append(isa.encode(Op.LOAD, func=isa.LoadTarget.BBUF, dst=0, length=nbias, ddr_offset=BIAS_ADDR))
    for lo, n, off in ((lay.v, lay.n_v, 0), (lay.e, lay.n_e, lay.v_bytes)):
        if n:
            act = rng.integers(cfg.data_min, cfg.data_max + 1, n)
            image[ACT_ADDR + off:ACT_ADDR + off + n * eb] = _pack(act, cfg)
            prog.append(isa.encode(Op.LOAD, func=isa.LoadTarget.ABUF, dst=lo, length=n, ddr_offset=ACT_ADDR + off))
    return prog


def _epilogue(lay: _Layout):
    """Store the regions' used parts back (Z only if the scenario wrote it), then END."""
    prog = []
    for lo, n, off in ((lay.v, lay.n_v, 0), (lay.z, lay.n_z, lay.v_bytes), (lay.e, lay.n_e, lay.v_bytes + lay.z_bytes)):
        if n:
            prog.append(isa.encode(Op.STORE, src0=lo, length=n, ddr_offset=OUT_ADDR + off))
    return prog + [isa.encode(Op.END)]


def scenarios(cfg: ProcessorConfig, seed: int = 0) -> list[Scenario]:
    """The regression set for one config: every opcode, edge shapes, regions, hazards, region-port
    conflicts, loops, errors."""
    rng = np.random.default_rng(seed)
    p = cfg.lanes
    out: list[Scenario] = []
    bounds = isa.region_bounds(cfg)
    V, Z, E = (bounds[r][0] for r in (Region.V, Region.Z, Region.E))
    z_rows, e_rows = cfg.zbuf_words, cfg.ebuf_words

    def add(name, body, n_v=0, n_z=0, n_e=0, wwords=0, nbias=0, **kw):
        lay = _Layout(cfg, n_v, n_z, n_e)
        image = bytearray(MEM_BYTES)
        prog = _prologue(cfg, rng, image, lay, wwords, nbias) + body + _epilogue(lay)
        out.append(Scenario(name, cfg, image, prog, **kw))

    fb = cfg.lut_frac_bits
    idx0 = fb + cfg.lut_range_log2 - cfg.lut_addr_bits  # sigmoid-table shift0 for 0 fraction bits
    # ---- FC: from V (unaligned: [x; h] style), into Z (single elements, unaligned) -------------
    for rows, cols, shift in ((1, 1, 0), (3, p, 9), (7, p + 3, 14), (2 * p + 1, 3 * p - 1, 20), (5, 5 * p, cfg.acc_bits - 1)):
        kw = -(-cols // p)
        add(f"fc_{rows}x{cols}_s{shift}", [isa.encode(Op.FC, dst=Z + 1, src0=V + 3, waddr=2, length=rows, cols=cols,
                                                      bias=1, shift0=shift)],
            n_v=3 + cols, n_z=1 + rows, wwords=2 + rows * kw, nbias=1 + rows)
    for rows, cols, split, seg in ((3, 2 * p + 5, 5, 3), (4, p + 2, p + 1, cfg.data_bits - 1), (2, 3 * p, 2 * p, 1)):
        kw = -(-cols // p)
        add(f"fc_split_{rows}x{cols}_at{split}_by{seg}",
            [isa.encode(Op.FC, dst=Z + 2 * p + 3, src0=V + 5, waddr=0, length=rows, cols=cols, bias=0, shift0=18 + seg,
                        shift1=seg, split=split)], n_v=5 + cols, n_z=2 * p + 3 + rows, wwords=rows * kw, nbias=rows)
    # an FC head: the second FC reads the first one's results from Z
    add("fc_from_Z", [
        isa.encode(Op.FC, dst=Z, src0=V + 1, waddr=0, length=2 * p + 3, cols=p + 5, bias=0, shift0=16),
        isa.encode(Op.FC, dst=Z + 3 * p + 1, src0=Z, waddr=0, length=5, cols=2 * p + 3, bias=0, shift0=17),
    ], n_v=p + 6, n_z=3 * p + 6, wwords=3 * (2 * p + 3), nbias=2 * p + 3)
    # ---- ACT: element-wise functions from E into E, rows ------------------------------------
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
                    [isa.encode(Op.ACT, func=func, dst=E + 4 * p, src0=E + p, length=3 * p - 1, shift0=shift0,
                                shift1=frac_out)], n_e=7 * p)
    add("act_inplace", [isa.encode(Op.ACT, func=1, dst=E + p, src0=E + p, length=2 * p + 3, shift0=idx0 + 10,
                                   shift1=12)], n_e=4 * p)
    add("act_from_Z", [
        isa.encode(Op.FC, dst=Z, src0=V, waddr=0, length=3 * p + 3, cols=p, bias=0, shift0=18),
        isa.encode(Op.ACT, func=0, dst=E + 2 * p, src0=Z, length=3 * p + 3, shift0=idx0 + 8, shift1=cfg.data_bits - 1),
    ], n_v=p, n_z=3 * p + 3, n_e=6 * p, wwords=3 * p + 3, nbias=3 * p + 3)
    exp0 = fb + cfg.lut_range_log2 - (cfg.exp_lut_depth.bit_length() - 1)
    for k, frac_in in ((1, 8), (9, 12), (2 * p + 3, 10)):
        # softmax reads and writes element by element: any alignment
        add(f"act_softmax_{k}_in{frac_in}", [isa.encode(Op.ACT, func=isa.ActFunc.SOFTMAX, dst=E + 4 * p + 1,
                                                        src0=E + 3, length=k, shift0=exp0 + frac_in,
                                                        shift1=cfg.data_bits - 1)], n_e=7 * p)
    # two independent softmaxes: the second may issue in the cycle the first is done
    add("act_softmax_back_to_back", [
        isa.encode(Op.ACT, func=isa.ActFunc.SOFTMAX, dst=E + 4 * p, src0=E + 1, length=3, shift0=exp0 + 8,
                   shift1=cfg.data_bits - 1),
        isa.encode(Op.ACT, func=isa.ActFunc.SOFTMAX, dst=E + 5 * p, src0=E + 2 * p, length=5, shift0=exp0 + 10,
                   shift1=cfg.data_bits - 1)], n_e=7 * p)
    # ---- EW: a and b from E, into E or V ---------------------------------------------------
    for sa, sb, so in ((0, 0, 0), (3, 0, 4), (0, 2, 3), (cfg.data_bits - 1, 0, 2 * cfg.data_bits)):
        add(f"ew_add_{sa}_{sb}_{so}", [isa.encode(Op.EW, func=0, dst=E + 5 * p, src0=E + p, src1=E + 3 * p,
                                                  length=2 * p - 1, shift0=sa, shift1=sb, shift2=so)], n_e=8 * p)
    for so in (0, cfg.data_bits - 1, 2 * cfg.data_bits):
        add(f"ew_mul_{so}", [isa.encode(Op.EW, func=1, dst=E + 5 * p, src0=E, src1=E + 2 * p, length=2 * p + 1,
                                        shift2=so)], n_e=8 * p)
    add("ew_inplace", [isa.encode(Op.EW, func=0, dst=E + p, src0=E + p, src1=E + 4 * p, length=2 * p + 1, shift2=1)],
        n_e=7 * p)
    add("ew_mul_into_V_unaligned", [isa.encode(Op.EW, func=1, dst=V + 3, src0=E, src1=E + 2 * p, length=2 * p + 1,
                                               shift2=cfg.data_bits - 1)], n_v=2 * p + 6, n_e=4 * p + 1)
    add("ew_a_from_Z", [
        isa.encode(Op.FC, dst=Z, src0=V, waddr=0, length=2 * p + 1, cols=p + 2, bias=0, shift0=17),
        isa.encode(Op.EW, func=1, dst=E + 3 * p, src0=Z, src1=E, length=2 * p + 1, shift2=cfg.data_bits - 1),
    ], n_v=p + 2, n_z=2 * p + 1, n_e=6 * p, wwords=2 * (2 * p + 1), nbias=2 * p + 1)
    # ---- chains: hazards must order them exactly as written ---------------------------------
    add("chain_fc_act_ew", [
        isa.encode(Op.FC, dst=Z, src0=V, waddr=0, length=p + 2, cols=p + 1, bias=0, shift0=16),
        isa.encode(Op.ACT, func=0, dst=E, src0=Z, length=p + 2, shift0=idx0 + 8, shift1=cfg.data_bits - 1),
        isa.encode(Op.EW, func=1, dst=V + 1, src0=E, src1=E, length=p, shift2=cfg.data_bits - 1),
        isa.encode(Op.FC, dst=Z + 2 * p, src0=V + 1, waddr=0, length=3, cols=p, bias=0, shift0=12),
        isa.encode(Op.ACT, func=1, dst=E + 3 * p, src0=Z + 2 * p, length=3, shift0=idx0 + 4, shift1=10),
    ], n_v=p + 2, n_z=2 * p + 3, n_e=4 * p, wwords=2 * (p + 2), nbias=p + 2)
    # kernels side by side: ACT reads Z rows while the FC writes others (Z's read and write ports),
    # the EW and a STORE both want E's second read port (the later waits), an FC streams behind an FC
    add("concurrent_kernels_and_ports", [
        isa.encode(Op.FC, dst=Z, src0=V, waddr=0, length=2 * p, cols=2 * p + 1, bias=0, shift0=17),
        isa.encode(Op.FC, dst=Z + 3 * p, src0=V, waddr=0, length=2 * p, cols=2 * p + 1, bias=0, shift0=18),
        isa.encode(Op.ACT, func=0, dst=E + 4 * p, src0=Z, length=2 * p, shift0=idx0 + 8, shift1=cfg.data_bits - 1),
        isa.encode(Op.EW, func=1, dst=E + 6 * p, src0=E, src1=E + 2 * p, length=2 * p, shift2=cfg.data_bits - 1),
        isa.encode(Op.STORE, src0=E + 2 * p, length=2 * p, ddr_offset=OUT_ADDR + 0x1800),
        isa.encode(Op.ACT, func=1, dst=E + 8 * p, src0=Z + 3 * p, length=2 * p, shift0=idx0 + 4, shift1=10),
    ], n_v=2 * p + 1, n_z=5 * p, n_e=10 * p, wwords=2 * p * 3, nbias=2 * p)
    # ---- a loop: per step, load a row of 5 elements (stride), scale it, store it with another stride
    t_steps = 4
    row_bytes = cfg.beat_bytes * 2
    out_row = cfg.beat_bytes * 2
    lay = _Layout(cfg, 0, 0, 5 * p)  # the EW below reads E+3p .. E+3p+4
    image = bytearray(MEM_BYTES)
    prog = _prologue(cfg, rng, image, lay)
    rows = rng.integers(cfg.data_min, cfg.data_max + 1, (t_steps, row_bytes // cfg.elem_bytes))
    image[LOOP_IN_ADDR:LOOP_IN_ADDR + rows.size * cfg.elem_bytes] = _pack(rows.ravel(), cfg)
    body_start = len(prog) + 1
    body = [isa.encode(Op.LOAD, func=0, dst=E + p, length=5, base=1, stride=row_bytes),
            isa.encode(Op.EW, func=0, dst=E + 3 * p, src0=E + p, src1=E + 3 * p, length=5, shift0=0, shift1=0,
                       shift2=1),
            isa.encode(Op.STORE, src0=E + 3 * p, length=5, base=2, stride=out_row, cond=1),
            isa.encode(Op.STORE, src0=E + 3 * p, length=3, base=2, ddr_offset=out_row * t_steps, stride=out_row,
                       cond=2)]
    prog += [isa.encode(Op.LOOP, func=isa.LoopCount.SEQ_LEN, jump=body_start + len(body) + 1)] + body + [isa.encode(Op.ENDLOOP)]
    prog += _epilogue(lay)
    out.append(Scenario("loop_seq_len_strides_cond", cfg, image, prog, seq_len=t_steps, flags=0b001,
                        bases=(0, LOOP_IN_ADDR, OUT_ADDR + 0x800, 0)))
    image2 = bytearray(image)
    out.append(Scenario("loop_zero_trips", cfg, image2, list(prog), seq_len=0, flags=0b011,
                        bases=(0, LOOP_IN_ADDR, OUT_ADDR + 0x800, 0)))
    # a short loop with an immediate count: the shortest body the ISA allows (two instructions and
    # the ENDLOOP), so the fetch wraps every three instructions
    add("loop_immediate_short_body", [isa.encode(Op.LOOP, func=isa.LoopCount.IMMEDIATE, count=3, jump=0)], n_e=4 * p)
    sc = out.pop()
    lp = len(sc.program) - 3  # the LOOP's pc: before the E store and the END
    sc.program[lp:lp + 1] = [
        isa.encode(Op.LOOP, func=isa.LoopCount.IMMEDIATE, count=3, jump=lp + 4),
        isa.encode(Op.EW, func=0, dst=E + p, src0=E + p, src1=E + 2 * p, length=p, shift2=1),
        isa.encode(Op.NOP),
        isa.encode(Op.ENDLOOP)]
    out.append(sc)
    # ---- errors: the processor must stop with the right code and pc, never hang --------------
    err = isa.ErrorCode
    add("err_illegal_opcode", [15], n_e=p, expect_error=err.ILLEGAL_OPCODE)
    add("err_illegal_shift", [isa.encode(Op.EW, func=1, dst=E, src0=E, src1=E, length=1, shift2=63)], n_e=p,
        expect_error=err.ILLEGAL_OPCODE)
    add("err_abuf_overflow", [isa.encode(Op.ACT, func=0, dst=cfg.abuf_elements - p, src0=E, length=2 * p)], n_e=p,
        expect_error=err.BUFFER_OVERFLOW)
    add("err_misaligned", [isa.encode(Op.LOAD, func=0, dst=E, length=4, ddr_offset=ACT_ADDR + 2)], n_e=p,
        expect_error=err.MISALIGNED)
    add("err_fc_overwrites_source", [isa.encode(Op.FC, dst=Z + 4, src0=Z, waddr=0, length=2, cols=5, bias=0)],
        n_e=p, wwords=4, nbias=2, expect_error=err.ILLEGAL_OPCODE)
    add("err_ew_add_shifts_both", [isa.encode(Op.EW, func=0, dst=E + p, src0=E, src1=E + 2 * p, length=p, shift0=1,
                                               shift1=2)], n_e=3 * p, expect_error=err.ILLEGAL_OPCODE)
    add("err_ew_shifted_overlap", [isa.encode(Op.EW, func=0, dst=E + p, src0=E, src1=E + 4 * p, length=p + 1)],
        n_e=p, expect_error=err.ILLEGAL_OPCODE)
    add("err_softmax_in_place", [isa.encode(Op.ACT, func=isa.ActFunc.SOFTMAX, dst=E + 2, src0=E + 2, length=4)],
        n_e=p, expect_error=err.ILLEGAL_OPCODE)
    add("err_region_fc_writes_V", [isa.encode(Op.FC, dst=V + 8, src0=V, waddr=0, length=2, cols=3, bias=0)],
        n_e=p, wwords=2, nbias=2, expect_error=err.REGION_ERROR)
    add("err_region_act_reads_V", [isa.encode(Op.ACT, func=0, dst=E, src0=V, length=p)], n_e=p,
        expect_error=err.REGION_ERROR)
    add("err_region_ew_b_from_Z", [isa.encode(Op.EW, func=0, dst=E, src0=E, src1=Z, length=p)], n_e=p,
        expect_error=err.REGION_ERROR)
    add("err_region_unaligned_row_access", [isa.encode(Op.ACT, func=0, dst=E + 2 * p, src0=E + 1, length=p)], n_e=p,
        expect_error=err.REGION_ERROR)
    add("err_region_range_crosses_end", [isa.encode(Op.EW, func=0, dst=V + 2, src0=E, src1=E,
                                                    length=cfg.vbuf_words * p)], n_e=p,
        expect_error=err.REGION_ERROR)
    # every kernel port aimed at every place it cannot reach: a region outside isa.PORTS, a gap
    # between regions (where the config has one) and past the buffer's end (BUFFER_OVERFLOW comes
    # first there). The other operands are legal, in E, so the fault is the swept operand's.
    places = {r.name: (bounds[r][0], err.REGION_ERROR) for r in (Region.V, Region.Z, Region.E)}
    gaps = [hi for (_, hi), (lo, _) in zip(sorted(bounds.values()), sorted(bounds.values())[1:]) if hi < lo]
    if gaps:
        places["gap"] = (gaps[0], err.REGION_ERROR)
    places["past_end"] = (cfg.abuf_elements, err.BUFFER_OVERFLOW)
    port_instruction = {
        "fc.read": lambda a: isa.encode(Op.FC, dst=Z, src0=a, waddr=0, length=1, cols=p, bias=0),
        "fc.write": lambda a: isa.encode(Op.FC, dst=a, src0=Z, waddr=0, length=1, cols=p, bias=0),
        "act.read": lambda a: isa.encode(Op.ACT, func=0, dst=E, src0=a, length=p),
        "act.write": lambda a: isa.encode(Op.ACT, func=0, dst=a, src0=E, length=p),
        "ew.read_a": lambda a: isa.encode(Op.EW, func=0, dst=E + p, src0=a, src1=E, length=p),
        "ew.read_b": lambda a: isa.encode(Op.EW, func=0, dst=E + p, src0=E, src1=a, length=p),
        "ew.write": lambda a: isa.encode(Op.EW, func=0, dst=a, src0=E, src1=E + p, length=p),
        "dma.read": lambda a: isa.encode(Op.STORE, src0=a, length=p, ddr_offset=OUT_ADDR),
        "dma.write": lambda a: isa.encode(Op.LOAD, func=isa.LoadTarget.ABUF, dst=a, length=p,
                                          ddr_offset=ACT_ADDR),
    }
    assert set(port_instruction) == set(isa.PORTS)
    for port, make in port_instruction.items():
        for place, (addr, code) in places.items():
            if Region.__members__.get(place) not in isa.PORTS[port]:
                add(f"err_port_{port.replace('.', '_')}_in_{place}", [make(addr)], n_e=2 * p, expect_error=code)
    add("err_endloop_outside", [isa.encode(Op.ENDLOOP)], n_e=p, expect_error=err.LOOP_ERROR)
    add("err_loop_without_body", [isa.encode(Op.LOOP, func=0, count=2, jump=0)], n_e=p, expect_error=err.LOOP_ERROR)
    sc = out.pop()
    lp = len(sc.program) - 3
    sc.program[lp] = isa.encode(Op.LOOP, func=0, count=2, jump=lp + 3)  # one instruction and the ENDLOOP
    sc.program[lp + 1:lp + 1] = [isa.encode(Op.NOP), isa.encode(Op.ENDLOOP)]
    out.append(sc)
    add("err_loop_end_not_endloop", [isa.encode(Op.NOP)], n_e=p, expect_error=err.LOOP_ERROR)
    sc = out.pop()
    lp = len(sc.program) - 3  # the NOP
    sc.program[lp:lp + 1] = [isa.encode(Op.LOOP, func=0, count=2, jump=lp + 4), isa.encode(Op.NOP),
                             isa.encode(Op.NOP), isa.encode(Op.NOP)]  # a NOP where the ENDLOOP belongs
    out.append(sc)
    image = bytearray(MEM_BYTES)
    out.append(Scenario("err_pc_overrun", cfg, image, _prologue(cfg, rng, image, _Layout(cfg, 0, 0, p)),
                        expect_error=err.PC_OVERRUN))
    # external memory errors: the RAM answers beats past its end with SLVERR or DECERR
    beat = cfg.beat_bytes
    for resp in ("SLVERR", "DECERR"):
        add(f"err_axi_read_{resp.lower()}", [isa.encode(Op.LOAD, func=0, dst=E, length=2 * p,
                                                         ddr_offset=MEM_BYTES - beat)], n_e=p,
            expect_error=err.AXI_ERROR, error_response=resp)
        add(f"err_axi_write_{resp.lower()}", [isa.encode(Op.STORE, src0=E, length=p, ddr_offset=MEM_BYTES)], n_e=p,
            expect_error=err.AXI_ERROR, error_response=resp)
        add(f"err_axi_weight_load_{resp.lower()}", [isa.encode(Op.LOAD, func=isa.LoadTarget.WBUF, dst=0, length=3,
                                                                ddr_offset=MEM_BYTES - 2 * cfg.word_bits // 8)],
            n_e=p, expect_error=err.AXI_ERROR, error_response=resp)
        image = bytearray(MEM_BYTES)
        out.append(Scenario(f"err_axi_program_fetch_{resp.lower()}", cfg, image, [isa.encode(Op.NOP)] * 3 +
                            [isa.encode(Op.END)], prog_addr=MEM_BYTES - 32, expect_error=err.AXI_ERROR,
                            error_response=resp))
    # PROG_LEN of 0 and one past the instruction memory; a program that fills it exactly runs
    image = bytearray(MEM_BYTES)
    out.append(Scenario("err_bad_program_len0", cfg, image, [isa.encode(Op.END)], prog_len=0,
                        expect_error=err.BAD_PROGRAM))
    out.append(Scenario("err_bad_program_too_long", cfg, image, [isa.encode(Op.NOP)] * cfg.imem_depth +
                        [isa.encode(Op.END)], expect_error=err.BAD_PROGRAM))
    add("program_fills_imem", [], n_e=p)
    sc = out.pop()
    sc.program[-1:-1] = [isa.encode(Op.NOP)] * (cfg.imem_depth - len(sc.program))
    out.append(sc)
    # a LOOP inside a loop body
    add("err_nested_loop", [isa.encode(Op.NOP)], n_e=p, expect_error=err.LOOP_ERROR)
    sc = out.pop()
    lp = len(sc.program) - 3
    sc.program[lp:lp + 1] = [isa.encode(Op.LOOP, func=0, count=2, jump=lp + 6), isa.encode(Op.NOP),
                             isa.encode(Op.LOOP, func=0, count=2, jump=lp + 5), isa.encode(Op.NOP),
                             isa.encode(Op.ENDLOOP), isa.encode(Op.ENDLOOP)]
    out.append(sc)
    # the weight and bias buffers' ends, by FC and by LOAD (one past fails, exactly to the end runs)
    add("err_fc_weights_past_wbuf", [isa.encode(Op.FC, dst=Z, src0=V, waddr=cfg.wbuf_words - 3, length=2,
                                                cols=p + 1, bias=0)], n_v=p + 1, wwords=2, nbias=2,
        expect_error=err.BUFFER_OVERFLOW)
    add("err_fc_bias_past_bbuf", [isa.encode(Op.FC, dst=Z, src0=V, waddr=0, length=3, cols=2,
                                             bias=cfg.bbuf_depth - 2)], n_v=2, wwords=3, nbias=2,
        expect_error=err.BUFFER_OVERFLOW)
    add("err_load_wbuf_past_end", [isa.encode(Op.LOAD, func=isa.LoadTarget.WBUF, dst=cfg.wbuf_words - 2, length=3,
                                              ddr_offset=WEIGHT_ADDR)], n_e=p, expect_error=err.BUFFER_OVERFLOW)
    add("err_load_bbuf_past_end", [isa.encode(Op.LOAD, func=isa.LoadTarget.BBUF, dst=cfg.bbuf_depth - 1, length=2,
                                              ddr_offset=BIAS_ADDR)], n_e=p, expect_error=err.BUFFER_OVERFLOW)
    add("fc_weights_and_biases_to_the_end", [
        isa.encode(Op.LOAD, func=isa.LoadTarget.WBUF, dst=cfg.wbuf_words - 4, length=4, ddr_offset=WEIGHT_ADDR),
        isa.encode(Op.LOAD, func=isa.LoadTarget.BBUF, dst=cfg.bbuf_depth - 2, length=2, ddr_offset=BIAS_ADDR),
        isa.encode(Op.FC, dst=Z + 1, src0=V, waddr=cfg.wbuf_words - 4, length=2, cols=p + 1,
                   bias=cfg.bbuf_depth - 2, shift0=16)], n_v=p + 1, n_z=3, wwords=4, nbias=2)
    return out

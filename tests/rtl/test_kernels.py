"""MyHDL-native tests of the compute kernels against the golden model, VTA style: random buffers,
one instruction on the RTL (tests/rtl/kernel_bench.py) and on `sim.model.Machine`, then the whole
activation buffer compared bit for bit, the saturation count compared with the model's `sat_count`,
and the kernel's cycle count compared with the formula its docstring documents.

Cycle relation (asserted in every test): the bench's `cycles` (from the cycle after the start pulse
up to and including the cycle in which done is high) equals the number of cycles `busy` is high,
and both equal the docstring formulas exactly:
    FC       rows*ceil(cols/P) + fc_latency(cfg)
    ACT, EW  ceil(length/P) + act_latency(cfg), ew_latency(cfg)

Operands sit where the kernels' ports reach them (isa.PORTS): FC reads V (any element) or Z (rows)
and writes single elements into Z; ACT reads Z or E and writes E; EW reads operand a from Z or E,
operand b from E, and writes E or V (any element there).

The configs are small (P = 4 int16, P = 8 int8, tiny buffers). Each config's design is elaborated
once (module-scoped `bench` fixture; elaboration is what costs time in MyHDL) and every test then
simulates only its own instruction.
`test_act_every_int16_input` (slow) runs every int16 input through both functions.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from rtl import isa
from rtl.act_kernel import act_kernel, act_latency
from rtl.config import ProcessorConfig
from rtl.ew_kernel import ew_kernel, ew_latency
from rtl.fc_kernel import fc_kernel, fc_latency
from rtl.isa import ActFunc, EwFunc, Op, Region
from sim.model import Machine
from tests.rtl.kernel_bench import KernelBench, random_abuf

INT16 = ProcessorConfig(lanes=4, vbuf_words=32, zbuf_words=32, ebuf_words=32, wbuf_words=64, bbuf_depth=32,
                        lut_depth=32)
INT8 = ProcessorConfig(lanes=8, data_type="int8", vbuf_words=16, zbuf_words=16, ebuf_words=32, wbuf_words=64,
                       bbuf_depth=32, lut_depth=32)
CONFIGS = [pytest.param(c, id=c.short_id()) for c in (INT16, INT8)]


@pytest.fixture(scope="module", params=CONFIGS)
def cfg(request) -> ProcessorConfig:
    """Module scoped, so pytest runs every test of one config before the next config."""
    return request.param


@pytest.fixture(scope="module")
def bench(cfg):
    """One elaborated bench per config, shared by that config's tests (see kernel_bench.py)."""
    b = KernelBench(cfg)
    yield b
    b.close()


# The busy-cycle formulas exactly as the kernels' docstrings state them (whitespace normalised).
FC_DOC = "Busy cycles per instruction alone: rows*ceil(cols/P) + fc_latency(cfg)."
ACT_DOC = "Busy cycles per instruction alone: ceil(length/P) + act_latency(cfg)."
EW_DOC = "Busy cycles per instruction alone: ceil(length/P) + ew_latency(cfg)."


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def expected_cycles(cfg: ProcessorConfig, op: Op, f: dict) -> int:
    p = cfg.lanes
    if op == Op.FC:
        return f["length"] * _ceil_div(f["cols"], p) + fc_latency(cfg)
    return _ceil_div(f["length"], p) + (act_latency(cfg) if op == Op.ACT else ew_latency(cfg))


def base(cfg: ProcessorConfig, region: Region) -> int:
    """First element of a region."""
    return isa.region_bounds(cfg)[region][0]


@pytest.mark.parametrize("kernel, doc", [(fc_kernel, FC_DOC), (act_kernel, ACT_DOC), (ew_kernel, EW_DOC)],
                         ids=["fc", "act", "ew"])
def test_docstrings_state_the_asserted_cycle_formulas(kernel, doc):
    """`expected_cycles` implements the documented formulas: if a docstring changes, update both."""
    assert doc in " ".join(kernel.__doc__.split()), f"{kernel.__name__} no longer documents {doc!r}"


# ---- helpers -----------------------------------------------------------------------------------
def _random_machine(cfg: ProcessorConfig, rng: np.random.Generator, weights: bool = False) -> Machine:
    """Random activations; with `weights`, random weights and biases at the accumulator's scale."""
    m = Machine(cfg)
    m.abuf[:] = random_abuf(cfg, rng)
    if weights:
        m.wbuf[:] = rng.integers(cfg.data_min, cfg.data_max + 1, m.wbuf.shape)
        lim = min(1 << 31, 1 << (2 * cfg.data_bits))
        m.bbuf[:] = rng.integers(-lim, lim, cfg.bbuf_depth)
    return m


def _legal_fields(cfg: ProcessorConfig, op: Op, fields: dict) -> dict:
    """Every field of the opcode (through encode/decode), checked legal for the config."""
    decoded_op, full = isa.decode(isa.encode(op, **fields))
    assert decoded_op == op
    for check in (isa.check_legal, isa.check_bounds, isa.check_access):
        why = check(op, full, cfg)
        assert why is None, f"test bug: illegal instruction: {why}"
    return full


def run_and_compare(bench: KernelBench, machine: Machine, op: Op, fields: dict) -> dict:
    """Run one instruction on the RTL bench and on the golden model; assert equal activation
    buffers, saturation counts and the documented cycle count. Returns the bench result plus
    the golden model's saturation count (`golden_sat`)."""
    cfg = bench.cfg
    full = _legal_fields(cfg, op, fields)
    golden = copy.deepcopy(machine)
    golden.sat_count = 0
    {Op.FC: golden.fc, Op.ACT: golden.act, Op.EW: golden.ew}[op](0, full)
    want = expected_cycles(cfg, op, full)
    res = bench.run(machine, [(op, full)], timeout_cycles=2 * want + 100)
    diff = np.flatnonzero(res["abuf"] != golden.abuf)
    if diff.size:
        e = int(diff[0])
        raise AssertionError(
            f"{op.name} {full}: {diff.size} elements differ from the golden model, first at {e}: "
            f"rtl {res['abuf'][e]} golden {golden.abuf[e]} (input {machine.abuf[e]}); "
            f"differing elements {diff.tolist()[:16]}")
    assert res["saturations"] == golden.sat_count, (
        f"{op.name}: RTL counted {res['saturations']} saturations, golden model {golden.sat_count}")
    assert res["cycles"] == [want], f"{op.name}: {res['cycles'][0]} cycles, docstring formula says {want}"
    assert res["busy"] == [want], f"{op.name}: busy high for {res['busy'][0]} cycles, formula says {want}"
    res["golden_sat"] = golden.sat_count
    return res


# ---- FC ------------------------------------------------------------------------------------------
def _fc(cfg: ProcessorConfig, rows: int, cols: int, shift: int, src0: int = 3, waddr: int = 2, bias: int = 1,
        dst: int = 1) -> dict:
    """An FC from V (src0, dst: offsets in V and Z; unaligned for every P)."""
    return dict(dst=base(cfg, Region.Z) + dst, src0=base(cfg, Region.V) + src0, waddr=waddr, length=rows, cols=cols,
                bias=bias, shift0=shift)


# name -> (fields(cfg, P, W), saturation expected: True, False or None for either). Random
# full-range weights and activations give |acc| ~ sqrt(cols)·2^(2W-3), so a shift of about W+2
# lands mid-range with some saturation.
FC_CASES = {
    "cols_lt_P": (lambda c, p, w: _fc(c, 5, p - 1, w + 1), None),
    "cols_eq_P": (lambda c, p, w: _fc(c, 3, p, w + 2), None),
    "cols_not_multiple_of_P": (lambda c, p, w: _fc(c, 7, 2 * p + 3, w + 3), None),
    "cols_1": (lambda c, p, w: _fc(c, 4, 1, w - 2), None),
    "rows_1": (lambda c, p, w: _fc(c, 1, 5 * p - 1, w + 3), None),
    "rows_2P_plus_1": (lambda c, p, w: _fc(c, 2 * p + 1, 3 * p - 1, w + 3, src0=2 * p + 4, dst=5), None),
    "shift_acc_bits_minus_1": (lambda c, p, w: _fc(c, 5, 5 * p, c.acc_bits - 1), False),
    "shift_0_saturates": (lambda c, p, w: _fc(c, 6, 2 * p + 1, 0), True),
    "shift_0_small_values": (lambda c, p, w: _fc(c, 6, 2 * p + 1, 0), None),  # data scaled down below
    "source_in_Z": (lambda c, p, w: dict(_fc(c, 3, 2 * p + 1, w + 3, dst=5 * p + 2), src0=base(c, Region.Z) + p),
                    None),
    "two_segments": (lambda c, p, w: dict(_fc(c, 4, 3 * p - 1, w + 6, src0=1), shift1=3, split=p + 2), None),
}


@pytest.mark.parametrize("case", list(FC_CASES))
def test_fc(bench, cfg, case):
    make, expect_sat = FC_CASES[case]
    rng = np.random.default_rng(list(FC_CASES).index(case))
    m = _random_machine(cfg, rng, weights=True)
    if case == "shift_0_small_values":  # results in range without any shift: the s = 0 rounding path
        small = 1 << (cfg.data_bits // 2 - 3)
        m.abuf[:] = rng.integers(-small, small + 1, m.abuf.shape)
        m.wbuf[:] = rng.integers(-small, small + 1, m.wbuf.shape)
        m.bbuf[:] = rng.integers(-4 * small, 4 * small + 1, m.bbuf.shape)
    res = run_and_compare(bench, m, Op.FC, make(cfg, cfg.lanes, cfg.data_bits))
    if expect_sat is not None:
        assert (res["golden_sat"] > 0) == expect_sat, f"test bug: saturation expected: {expect_sat}"


def test_fc_back_to_back_sources_at_different_lane_offsets(bench, cfg):
    """FC instructions that follow each other without a gap, each from a source at another lane
    offset (V arrives in bank order and the weights are rotated per word: the offset travels with
    each word), one from Z and one with two segments."""
    p, w = cfg.lanes, cfg.data_bits
    rng = np.random.default_rng(11)
    m = _random_machine(cfg, rng, weights=True)
    fields = [_fc(cfg, 3, 2 * p + 1, w + 3, src0=3, dst=0),
              _fc(cfg, 2, p + 2, w + 2, src0=p + 2, dst=4 * p, waddr=1),
              dict(_fc(cfg, 2, p + 1, w + 3, dst=5 * p + 2), src0=base(cfg, Region.Z) + 8 * p),
              dict(_fc(cfg, 3, 3 * p - 1, w + 6, src0=1, dst=6 * p), shift1=3, split=p + 2),
              _fc(cfg, 2, 2 * p - 1, w + 3, src0=p - 1, dst=7 * p)]
    instrs = [(Op.FC, _legal_fields(cfg, Op.FC, f)) for f in fields]
    res = bench.run(m, instrs)
    for _, f in instrs:
        m.fc(0, f)
    np.testing.assert_array_equal(res["abuf"], m.abuf)
    assert res["cycles"] == [expected_cycles(cfg, op, f) for op, f in instrs]


def test_fc_extreme_biases_wrap_the_accumulator(bench, cfg):
    """Biases at the int32 limits: for int8 the accumulator is 32 bits, so bias + products wraps
    around (two's complement), in the golden model and in the RTL alike."""
    rng = np.random.default_rng(7)
    m = _random_machine(cfg, rng, weights=True)
    m.bbuf[:] = np.where(rng.random(cfg.bbuf_depth) < 0.5, -(1 << 31), (1 << 31) - 1)
    p, w = cfg.lanes, cfg.data_bits
    # bias / 2^shift ~ 2^(W-2): in range unless the accumulator wrapped or the products push it over
    shift = 31 - (w - 2)
    fields = _fc(cfg, 2 * p, 2 * p + 1, shift, bias=0)
    run_and_compare(bench, m, Op.FC, fields)
    if cfg.acc_bits <= 32:  # make sure the case exercises the wrap-around
        rows, k, kw = fields["length"], fields["cols"], _ceil_div(fields["cols"], p)
        w_rows = m.wbuf[fields["waddr"]:fields["waddr"] + rows * kw].reshape(rows, kw * p)[:, :k]
        acc = m.bbuf[:rows] + w_rows @ m.abuf[fields["src0"]:fields["src0"] + k]
        assert np.any(np.abs(acc) >= 1 << (cfg.acc_bits - 1)), "test bug: no accumulator wrapped"


def test_fc_results_at_the_saturation_edges(bench, cfg):
    """Results that round to exactly the largest and smallest codes and to one past them: zero
    weights, so each row is its bias, rounded by shift0 = 1 (ties toward +inf). The mutation
    check's `fc_saturation_off_by_one` (tests/mutation.py) survived every other test."""
    rng = np.random.default_rng(13)
    m = _random_machine(cfg, rng, weights=True)
    m.wbuf[:] = 0
    hi, lo = cfg.data_max, cfg.data_min
    edges = [2 * hi - 1, 2 * hi, 2 * hi + 1, 2 * hi + 2, 2 * lo + 1, 2 * lo, 2 * lo - 1, 2 * lo - 2]
    m.bbuf[:len(edges)] = edges
    res = run_and_compare(bench, m, Op.FC, _fc(cfg, len(edges), cfg.lanes, 1, waddr=0, bias=0))
    # past the ends: 2·hi + 1 and 2·hi + 2 round to hi + 1; 2·lo - 2 rounds to lo - 1 (2·lo - 1 to lo)
    assert res["golden_sat"] == 3, "test bug: three rows should round past the ends"


# ---- ACT -----------------------------------------------------------------------------------------
def _idx0(cfg: ProcessorConfig) -> int:
    """ACT shift0 that maps an integer input (0 fraction bits) onto the table range (sigmoid)."""
    return cfg.lut_frac_bits + cfg.lut_range_log2 - (cfg.lut_depth.bit_length() - 1)


def act_inputs(cfg: ProcessorConfig, rng: np.random.Generator, n: int, shift0: int) -> np.ndarray:
    """n inputs over the full range: data_min, data_max, 0, +-1, the values around the magnitude
    at which the table index reaches L (output saturation) for this shift0, the smallest
    magnitudes with a table position q = 1, 2, 3 (tiny outputs), and log-uniform magnitudes of both
    signs for the rest; shuffled so the special values fall in varying lanes."""
    lo, hi, fb = cfg.data_min, cfg.data_max, cfg.lut_frac_bits
    edge = _ceil_div(cfg.lut_depth << shift0, 1 << fb)  # smallest |x| with index >= L
    special = [lo, lo + 1, -1, 0, 1, hi - 1, hi]
    special += [s * v for v in (edge - 1, edge, edge + 1) for s in (1, -1) if 0 < v <= hi]
    special += [s * v for v in (_ceil_div(k << shift0, 1 << 2 * fb) for k in (1, 2, 3)) for s in (1, -1)
                if 1 < v <= hi]
    mags = np.floor(2.0 ** rng.uniform(0, cfg.data_bits - 1, n)).astype(np.int64)
    rand = np.clip(mags * rng.choice([-1, 1], n), lo, hi)
    values = np.concatenate([np.array(special[:n], dtype=np.int64), rand[:max(0, n - len(special))]])
    return rng.permutation(values)


def _act(cfg: ProcessorConfig, func: ActFunc, src: int, dst: int, length: int, shift0: int, shift1: int,
         src_region: Region = Region.Z) -> dict:
    """An ACT from Z (or E) to E; src and dst are rows of P elements in their regions."""
    p = cfg.lanes
    return dict(func=func, src0=base(cfg, src_region) + src * p, dst=base(cfg, Region.E) + dst * p, length=length,
                shift0=shift0, shift1=shift1)


# name -> fields(cfg, P, W, idx0, limits); lengths not multiples of P unless named
ACT_CASES = {
    "sigmoid_typical": lambda c, p, w, i0, lim: _act(c, ActFunc.SIGMOID, 1, 8, 5 * p + 1, i0 + w - 5, w - 1),
    "tanh_typical": lambda c, p, w, i0, lim: _act(c, ActFunc.TANH, 1, 8, 5 * p + 1, i0 + w - 6, w - 1),
    "sigmoid_integer_input": lambda c, p, w, i0, lim: _act(c, ActFunc.SIGMOID, 2, 7, 4 * p, i0, w - 3),
    "tanh_shift0_0": lambda c, p, w, i0, lim: _act(c, ActFunc.TANH, 1, 7, 3 * p - 1, 0, w - 1),
    # shift0 = F+W-1 maps every input into the first table interval, so with shift1 at its limit
    # (no output rounding) the int16 results of small inputs stay in range
    "tanh_first_interval_shift1_max": lambda c, p, w, i0, lim: _act(c, ActFunc.TANH, 2, 7, 6 * p + 1,
                                                                    c.lut_frac_bits + w - 1, lim[1]),
    "sigmoid_shift0_max_shift1_0": lambda c, p, w, i0, lim: _act(c, ActFunc.SIGMOID, 3, 6, 3 * p + 2, lim[0], 0),
    "hard_sigmoid": lambda c, p, w, i0, lim: _act(c, ActFunc.HARD_SIGMOID, 1, 9, 4 * p + 3, i0 + w - 5, w - 1),
    "softsign": lambda c, p, w, i0, lim: _act(c, ActFunc.SOFTSIGN, 1, 9, 4 * p + 3,
                                              i0 + w - 5 - ((c.softsign_lut_depth // c.lut_depth).bit_length() - 1), w - 1),
    "tanh_from_E": lambda c, p, w, i0, lim: _act(c, ActFunc.TANH, 12, 2, 5 * p + 3, i0 + w - 8, w - 4,
                                                 src_region=Region.E),
    "tanh_in_place": lambda c, p, w, i0, lim: _act(c, ActFunc.TANH, 3, 3, 5 * p + 3, i0 + w - 8, w - 4,
                                                   src_region=Region.E),
    "sigmoid_in_place_short": lambda c, p, w, i0, lim: _act(c, ActFunc.SIGMOID, 6, 6, p - 1, i0 + 2, w - 2,
                                                            src_region=Region.E),
}


@pytest.mark.parametrize("case", list(ACT_CASES))
def test_act(bench, cfg, case):
    limits = isa.field_limits(cfg)
    fields = ACT_CASES[case](cfg, cfg.lanes, cfg.data_bits, _idx0(cfg),
                             (limits[(Op.ACT, "shift0")], limits[(Op.ACT, "shift1")]))
    rng = np.random.default_rng(list(ACT_CASES).index(case))
    m = _random_machine(cfg, rng)
    m.abuf[fields["src0"]:fields["src0"] + fields["length"]] = act_inputs(cfg, rng, fields["length"],
                                                                          fields["shift0"])
    run_and_compare(bench, m, Op.ACT, fields)


def test_act_every_int8_input():
    """Both functions over all 256 int8 inputs in one run (sigmoid into one slot, tanh into another)."""
    cfg = ProcessorConfig(lanes=8, data_type="int8", vbuf_words=8, zbuf_words=32, ebuf_words=64, wbuf_words=16,
                          bbuf_depth=16, lut_depth=32)
    m = Machine(cfg)
    z, e = base(cfg, Region.Z), base(cfg, Region.E)
    m.abuf[z:z + 256] = np.arange(cfg.data_min, cfg.data_max + 1)
    idx0 = _idx0(cfg)
    instrs = [(Op.ACT, _legal_fields(cfg, Op.ACT, dict(func=ActFunc.SIGMOID, src0=z, dst=e, length=256,
                                                       shift0=idx0 + 4, shift1=7))),
              (Op.ACT, _legal_fields(cfg, Op.ACT, dict(func=ActFunc.TANH, src0=z, dst=e + 256, length=256,
                                                       shift0=idx0 + 3, shift1=7)))]
    bench = KernelBench(cfg)
    try:
        res = bench.run(m, instrs)
    finally:
        bench.close()
    for op, f in instrs:
        m.act(0, f)
    np.testing.assert_array_equal(res["abuf"], m.abuf)
    assert res["cycles"] == [expected_cycles(cfg, op, f) for op, f in instrs]


@pytest.mark.slow
def test_act_every_int16_input():
    """Sigmoid and tanh over all 65536 int16 inputs on the default table (L = 256), in chunks."""
    cfg = ProcessorConfig(lanes=16, vbuf_words=4, zbuf_words=256, ebuf_words=512, wbuf_words=16, bbuf_depth=16)
    chunk = 4096
    idx0 = _idx0(cfg)
    z, e = base(cfg, Region.Z), base(cfg, Region.E)
    bench = KernelBench(cfg)
    for start in range(cfg.data_min, cfg.data_max + 1, chunk):
        m = Machine(cfg)
        m.abuf[z:z + chunk] = np.arange(start, start + chunk)
        instrs = [(Op.ACT, _legal_fields(cfg, Op.ACT, dict(func=ActFunc.SIGMOID, src0=z, dst=e,
                                                           length=chunk, shift0=idx0 + 11, shift1=15))),
                  (Op.ACT, _legal_fields(cfg, Op.ACT, dict(func=ActFunc.TANH, src0=z, dst=e + chunk,
                                                           length=chunk, shift0=idx0 + 10, shift1=15)))]
        res = bench.run(m, instrs)
        for op, f in instrs:
            m.act(0, f)
        np.testing.assert_array_equal(res["abuf"], m.abuf, err_msg=f"inputs {start}..{start + chunk - 1}")
        assert res["cycles"] == [expected_cycles(cfg, op, f) for op, f in instrs]
    bench.close()


# ---- EW ------------------------------------------------------------------------------------------
def _ew(cfg: ProcessorConfig, func: EwFunc, s0: int = 0, s1: int = 0, s2: int = 0, src0: int = 1, src1: int = 5,
        dst: int = 10, length: int | None = None, a_region: Region = Region.E, dst_region: Region = Region.E) -> dict:
    """An EW: operand a at row src0 of E (or Z), b at row src1 of E, the result at row dst of E (or at
    element dst of V)."""
    p = cfg.lanes
    d = base(cfg, dst_region) + (dst if dst_region == Region.V else dst * p)
    return dict(func=func, src0=base(cfg, a_region) + src0 * p, src1=base(cfg, Region.E) + src1 * p, dst=d,
                length=2 * p - 1 if length is None else length, shift0=s0, shift1=s1, shift2=s2)


# name -> (fields(cfg, P, W), saturation expected: True, False or None for either)
EW_CASES = {
    "add_no_shift": (lambda c, p, w: _ew(c, EwFunc.ADD), True),
    "add_shift0_3_shift2_2": (lambda c, p, w: _ew(c, EwFunc.ADD, 3, 0, 2), True),
    "add_shift1_2_shift2_1": (lambda c, p, w: _ew(c, EwFunc.ADD, 0, 2, 1), True),
    "add_shift0_max_shift2_max": (lambda c, p, w: _ew(c, EwFunc.ADD, w - 1, 0, 2 * w), False),
    "add_shift1_max_shift2_W": (lambda c, p, w: _ew(c, EwFunc.ADD, 0, w - 1, w), False),
    "mul_shift_0": (lambda c, p, w: _ew(c, EwFunc.MUL, s2=0, length=p + 1), True),
    "mul_shift_W_minus_1": (lambda c, p, w: _ew(c, EwFunc.MUL, s2=w - 1, length=3 * p), True),
    "mul_shift_2W": (lambda c, p, w: _ew(c, EwFunc.MUL, s2=2 * w, length=p - 1), False),
    "mul_a_from_Z": (lambda c, p, w: _ew(c, EwFunc.MUL, s2=w - 1, length=2 * p + 3, a_region=Region.Z), True),
    "mul_into_V_unaligned": (lambda c, p, w: _ew(c, EwFunc.MUL, s2=w - 1, length=2 * p + 3, dst=3,
                                                 dst_region=Region.V), True),
    "add_in_place_dst_eq_src0": (lambda c, p, w: _ew(c, EwFunc.ADD, 1, 0, 2, src0=2, dst=2, length=2 * p + 1),
                                 None),
    "mul_in_place_dst_eq_src1": (lambda c, p, w: _ew(c, EwFunc.MUL, s2=w - 2, src0=9, src1=3, dst=3,
                                                     length=3 * p + 2), None),
    "mul_square_in_place_length_1": (lambda c, p, w: _ew(c, EwFunc.MUL, s2=w - 1, src0=7, src1=7, dst=7, length=1),
                                     None),
}


@pytest.mark.parametrize("case", list(EW_CASES))
def test_ew(bench, cfg, case):
    make, expect_sat = EW_CASES[case]
    fields = make(cfg, cfg.lanes, cfg.data_bits)
    rng = np.random.default_rng(100 + list(EW_CASES).index(case))
    m = _random_machine(cfg, rng)
    # extreme operand pairs in the first lanes (min*min is the one product that overflows a
    # shift of W-1); where src1 aliases src0 the second operand wins
    lo, hi = cfg.data_min, cfg.data_max
    a, b = [lo, lo, hi, hi, 0, -1], [lo, hi, lo, hi, -1, -1]
    k = min(len(a), fields["length"])
    m.abuf[fields["src0"]:fields["src0"] + k] = a[:k]
    m.abuf[fields["src1"]:fields["src1"] + k] = b[:k]
    res = run_and_compare(bench, m, Op.EW, fields)
    if expect_sat is not None:
        assert (res["golden_sat"] > 0) == expect_sat, f"test bug: saturation expected: {expect_sat}"

"""Accuracy of the activation table (rtl/lut.py) as the golden model applies it (Machine.act).

Every int16 input, default config (L = 256 entries over [0, 16), F = 8 interpolation bits), input
fraction bits 8, 11 and 12, output fraction bits 15, shift0 as docs/architecture.md defines it
(`F + frac_in + r - log2 L`, one less for tanh). Measured worst-case absolute error against float64:

    input format   sigmoid     tanh
    s16f8          6.38e-5     1.159e-4
    s16f11         6.53e-5     1.159e-4
    s16f12         6.53e-5     1.159e-4

The asserted bound is the analytic one: linear interpolation between samples h = 2^r/L apart errs
by at most h^2/8 * max|sigmoid''| (max|sigmoid''| = 1/(6*sqrt(3)) = 0.0962), the Q0.16 samples by
2^-17, and the final rounding to 15 fraction bits by 2^-16. tanh(x) = 2*sigmoid(2x) - 1 doubles
the first two. That gives 7.0e-5 (sigmoid) and 1.245e-4 (tanh). Clipping 1.0 to the largest code
(1 - 2^-15) costs at most 2^-15 + 2^-16 where the function is within 2^-16 of 1, below both bounds.
The measured numbers are also in docs/architecture.md ("Activation table accuracy").
"""
import math

import numpy as np
import pytest

from rtl import ProcessorConfig, isa
from rtl.isa import ActFunc
from sim.model import Machine

CFG = ProcessorConfig()
FRAC_OUT = 15
MAX_SIGMOID_CURVATURE = 1 / (6 * math.sqrt(3))  # max |sigmoid''(x)|, at x = ln(2 ± sqrt(3))

ELEMENTWISE = (ActFunc.SIGMOID, ActFunc.TANH, ActFunc.HARD_SIGMOID, ActFunc.SOFTSIGN)
TABLE = {ActFunc.SIGMOID: "sigmoid", ActFunc.TANH: "sigmoid", ActFunc.HARD_SIGMOID: "hard-sigmoid",
         ActFunc.SOFTSIGN: "softsign"}
EXACT = {ActFunc.SIGMOID: lambda x: 1 / (1 + np.exp(-x)), ActFunc.TANH: np.tanh,
         ActFunc.HARD_SIGMOID: lambda x: np.clip(0.2 * x + 0.5, 0, 1), ActFunc.SOFTSIGN: lambda x: x / (1 + np.abs(x))}
# max |f''| on the table's range: sigmoid at x = ln(2 ± sqrt(3)); hard-sigmoid is piecewise linear
# with its knee (x = 2.5) on a grid point of the default table; softsign at x = 0
CURVATURE = {ActFunc.SIGMOID: MAX_SIGMOID_CURVATURE, ActFunc.TANH: MAX_SIGMOID_CURVATURE,
             ActFunc.HARD_SIGMOID: 0.0, ActFunc.SOFTSIGN: 2.0}
# measured worst-case errors (see the module docstring), to catch a silent change of the table
MEASURED = {(ActFunc.SIGMOID, 8): 6.38e-5, (ActFunc.SIGMOID, 11): 6.53e-5, (ActFunc.SIGMOID, 12): 6.53e-5,
            (ActFunc.TANH, 8): 1.159e-4, (ActFunc.TANH, 11): 1.159e-4, (ActFunc.TANH, 12): 1.159e-4,
            (ActFunc.HARD_SIGMOID, 8): 3.052e-5, (ActFunc.HARD_SIGMOID, 11): 3.052e-5,
            (ActFunc.HARD_SIGMOID, 12): 3.052e-5, (ActFunc.SOFTSIGN, 11): 7.601e-5, (ActFunc.SOFTSIGN, 12): 7.601e-5}


def error_bound(cfg: ProcessorConfig, func: ActFunc, frac_out: int) -> float:
    """Interpolation h^2/8 max|f''| + table rounding 2^-17, doubled for tanh = 2 sigmoid(2x) - 1,
    plus output rounding 2^-(frac_out+1); hard-sigmoid: 1.0 is stored as 1 - 2^-16, so its lower
    saturation is one output step high (1 - T[L] rounds up to 2^-15)."""
    h = 2.0 ** cfg.lut_range_log2 / cfg.table_depth(TABLE[func])
    table = h * h / 8 * CURVATURE[func] + 2.0 ** -(cfg.lut_value_bits + 1)
    if func == ActFunc.HARD_SIGMOID:
        return 2.0 ** -frac_out + 2.0 ** -(cfg.lut_value_bits + 1)
    return (2 if func == ActFunc.TANH else 1) * table + 2.0 ** -(frac_out + 1)


def act_shift0(cfg: ProcessorConfig, func: ActFunc, frac_in: int) -> int:
    """docs/architecture.md: q = (|x| << 2F) >> shift0 indexes the table at |x|*L/2^r (2|x| for tanh)."""
    log2_depth = cfg.table_depth(TABLE[func]).bit_length() - 1
    return cfg.lut_frac_bits + frac_in + cfg.lut_range_log2 - log2_depth - (func == ActFunc.TANH)


def golden_act_every_input(cfg: ProcessorConfig, func: ActFunc, frac_in: int, frac_out: int) -> np.ndarray:
    """Machine.act over every input code (data_min..data_max), in buffer-sized chunks."""
    m = Machine(cfg)
    xs = np.arange(cfg.data_min, cfg.data_max + 1, dtype=np.int64)
    out = np.empty_like(xs)
    n = cfg.abuf_elements
    fields = dict(func=func, dst=0, src0=0, shift0=act_shift0(cfg, func, frac_in), shift1=frac_out)
    assert isa.check_legal(isa.Op.ACT, dict(fields, length=n), cfg) is None
    for start in range(0, len(xs), n):
        chunk = xs[start:start + n]
        m.abuf[:len(chunk)] = chunk
        m.act(0, dict(fields, length=len(chunk)))
        out[start:start + len(chunk)] = m.abuf[:len(chunk)]
    return out


@pytest.mark.parametrize("func,frac_in", [k for k in MEASURED], ids=[f"{f.name.lower()}-{i}" for f, i in MEASURED])
def test_worst_case_error_over_every_int16_input(func, frac_in):
    """Softsign is measured for inputs within the table's range (|x| < 16, frac_in >= 11): beyond,
    it saturates at softsign(16) = 0.941; the compiler keeps its inputs in range."""
    y = golden_act_every_input(CFG, func, frac_in, FRAC_OUT) / 2.0 ** FRAC_OUT
    x = np.arange(CFG.data_min, CFG.data_max + 1) / 2.0 ** frac_in
    exact = EXACT[func](x)
    err = np.abs(y - exact)
    worst = float(err.max())
    bound = error_bound(CFG, func, FRAC_OUT)
    print(f"{func.name} s16f{frac_in} -> s16f{FRAC_OUT}: max error {worst:.4g} at x = {x[err.argmax()]:g}, "
          f"bound {bound:.4g}")
    assert worst <= bound, f"{func.name}: worst-case error {worst:.3g} exceeds the analytic bound {bound:.3g}"
    assert worst == pytest.approx(MEASURED[(func, frac_in)], rel=0.01), (
        f"{func.name} s16f{frac_in}: the worst-case error changed to {worst:.4g}: update MEASURED, this "
        "module's docstring and docs/architecture.md")


def test_bounds_are_the_documented_numbers():
    assert error_bound(CFG, ActFunc.SIGMOID, FRAC_OUT) == pytest.approx(7.0e-5, abs=0.05e-5)
    assert error_bound(CFG, ActFunc.TANH, FRAC_OUT) == pytest.approx(1.245e-4, abs=0.005e-4)
    assert error_bound(CFG, ActFunc.HARD_SIGMOID, FRAC_OUT) == pytest.approx(3.81e-5, abs=0.01e-5)
    assert error_bound(CFG, ActFunc.SOFTSIGN, FRAC_OUT) == pytest.approx(8.4e-5, abs=0.05e-5)


@pytest.mark.parametrize("func", ELEMENTWISE, ids=[f.name.lower() for f in ELEMENTWISE])
def test_symmetry_and_range(func):
    """sigmoid(-x) = 1 - sigmoid(x) and tanh(-x) = -tanh(x) within one output step; outputs are
    monotonic and within [0, 1] (sigmoid) or [-1, 1] (tanh), 1.0 clipped to the largest code."""
    y = golden_act_every_input(CFG, func, 11, FRAC_OUT)
    zero = -CFG.data_min                       # index of x = 0
    pos, neg = y[zero + 1:], y[zero - 1:0:-1]  # f(x), f(-x) for x = 1..data_max
    one = 1 << FRAC_OUT
    if func in (ActFunc.SIGMOID, ActFunc.HARD_SIGMOID):
        assert np.all(np.abs(pos + neg - one) <= 1)
        assert y[zero] == one // 2 and y.min() >= 0
    else:
        assert np.all(np.abs(pos + neg) <= 1)
        assert y[zero] == 0 and y.min() >= -one
    # every function but softsign reaches 1.0 within the table's range (softsign(16) = 0.941)
    assert y.max() == (CFG.data_max if func != ActFunc.SOFTSIGN else round(16 / 17 * one))
    assert np.all(np.diff(y) >= 0)


@pytest.mark.parametrize("frac_in,n", [(11, 9), (11, 2), (8, 40), (12, 1)])
def test_softmax_error(frac_in, n):
    """Softmax on the processor: exp(z - max) from the exp table (L = 1024 over [0, 16]: step
    1/64, interpolation error <= (1/64)^2/8 = 3.1e-5 relative to the largest term), summed, one
    division 2^48 // sum, rounded to s16f15. Worst case over 200 random vectors per case."""
    rng = np.random.default_rng(n)
    m = Machine(CFG)
    lo, hi = CFG.data_min, CFG.data_max
    log2_depth = CFG.exp_lut_depth.bit_length() - 1
    shift0 = CFG.lut_frac_bits + frac_in + CFG.lut_range_log2 - log2_depth
    worst = 0.0
    for _ in range(200):
        z = rng.integers(lo // 4, hi // 4, n) if frac_in > 8 else rng.integers(lo // 32, hi // 32, n)
        m.abuf[:n] = z
        m.act(0, dict(func=ActFunc.SOFTMAX, dst=64, src0=0, length=n, shift0=shift0, shift1=FRAC_OUT))
        p = m.abuf[64:64 + n] / 2.0 ** FRAC_OUT
        x = z / 2.0 ** frac_in
        exact = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
        worst = max(worst, float(np.abs(p - exact).max()))
    assert worst < 1e-4, worst

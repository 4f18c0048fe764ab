"""Fixed-point formats: how each tensor is quantised and the shift amounts between formats.

Every tensor is a `QFormat`: `bits`-bit two's complement with `frac` fraction bits (value = q·2^-frac).
`choose_formats` picks one format per tensor of a network for a processor config:

- weights, per gate matrix [W_g | R_g] and per FullyConnected layer: the largest frac (at most
  2·bits) at which max|w| still fits, lowered further if the bias would not fit int32 in the
  accumulator's scale frac_w + frac_in (then the bias decides, the weights lose a few low bits);
- the activation vector [x; h_1; h_2; ...] lies in one contiguous buffer range that the FC kernel
  reads with one format, so x and every h share one frac: the largest that holds max|x| (calibration
  data, or DEFAULT_INPUT_RANGE = ±4.0, a common range for normalised features; inputs beyond it
  saturate) and the initial hidden states; |h| < 1 needs at most bits-1;
- per LSTM layer the gate preactivations z (one format for all four gates): CALIBRATION_MARGIN ×
  the calibrated max|z|, or without calibration the analytic bound
  max over rows of Σ|W_x|·max|x| + Σ|R|·1 + |b|;
- gate outputs i, f, g, o and tanh(c): frac = bits-1 (they lie in [-1, 1]);
- the cell state c (also i⊙g and f⊙c, its two terms): CALIBRATION_MARGIN × calibrated max|c|, or
  DEFAULT_CELL_RANGE = ±8.0; c beyond the range saturates;
- FullyConnected outputs: CALIBRATION_MARGIN × calibrated max|y|, or Σ|W|·max|input| + |b|;
- biases: int32 (`ProcessorConfig.BIAS_BITS`) in the accumulator's scale frac_w + frac_in.

A frac is also capped where more fraction bits cannot add precision: at the accumulator's
frac_w + frac_in for an FC output, and at what the consuming instruction's shift field can express.
The `*_shifts` functions give the instruction fields that convert between formats; compiler.lower
checks them against `rtl.isa.field_limits`.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from rtl import isa
from rtl.config import ProcessorConfig

from .network import FullyConnected, Network, Softmax

DEFAULT_INPUT_RANGE = 4.0
DEFAULT_CELL_RANGE = 8.0
CALIBRATION_MARGIN = 1.25


@dataclasses.dataclass(frozen=True)
class QFormat:
    """`bits`-bit two's complement with `frac` fraction bits (frac may exceed bits or be negative)."""

    bits: int
    frac: int

    @property
    def min(self) -> int:
        return -(1 << (self.bits - 1))

    @property
    def max(self) -> int:
        return (1 << (self.bits - 1)) - 1

    def quantize(self, x) -> np.ndarray:
        """Nearest code, ties toward +inf (floor(x·2^frac + 0.5)), saturated; int64 array."""
        q = np.floor(np.ldexp(np.asarray(x, dtype=np.float64), self.frac) + 0.5)
        return np.clip(q, self.min, self.max).astype(np.int64)

    def dequantize(self, q) -> np.ndarray:
        return np.ldexp(np.asarray(q, dtype=np.float64), -self.frac)

    @classmethod
    def for_range(cls, bits: int, max_abs: float, max_frac: int) -> "QFormat":
        """The format with the largest frac <= max_frac in which max_abs still quantises without
        saturating."""
        if max_abs <= 0:
            return cls(bits, max_frac)
        frac = min(max_frac, bits - math.frexp(max_abs)[1])  # max_abs < 2^e: an upper bound
        while math.floor(math.ldexp(max_abs, frac) + 0.5) > (1 << (bits - 1)) - 1:
            frac -= 1
        return cls(bits, frac)

    def __str__(self) -> str:
        return f"s{self.bits}f{self.frac}"


# ---- shift amounts (instruction fields) between formats -------------------------------------------
def fc_shift(w: QFormat, x: QFormat, y: QFormat) -> int:
    """FC shift0: the accumulator holds w·x in frac w+x; y keeps y.frac of them."""
    return w.frac + x.frac - y.frac


ACT_TABLES = {isa.ActFunc.SIGMOID: "sigmoid", isa.ActFunc.TANH: "sigmoid", isa.ActFunc.HARD_SIGMOID: "hard-sigmoid",
              isa.ActFunc.SOFTSIGN: "softsign", isa.ActFunc.SOFTMAX: "exp"}


def act_shifts(cfg: ProcessorConfig, func: isa.ActFunc, x: QFormat, y: QFormat) -> tuple[int, int]:
    """ACT (shift0, shift1). The table index is |x|·L/2^r with lut_frac_bits F interpolation bits, and
    the kernel computes it as (|x| << 2F) >> shift0, so shift0 = F + frac_x + r - log2(L) with L the
    function's table depth (softmax indexes the exp table with max - x); tanh reads the table at
    2|x| (tanh(x) = 2σ(2x) - 1), one less. shift1 is the output's frac."""
    depth = cfg.table_depth(ACT_TABLES[isa.ActFunc(func)])
    s0 = cfg.lut_frac_bits + x.frac + cfg.lut_range_log2 - (depth.bit_length() - 1)
    return s0 - (func == isa.ActFunc.TANH), y.frac


def ew_mul_shift(a: QFormat, b: QFormat, y: QFormat) -> int:
    """EW multiply shift2: the product has frac a+b."""
    return a.frac + b.frac - y.frac


def ew_add_shifts(a: QFormat, b: QFormat, y: QFormat) -> tuple[int, int, int]:
    """EW add (shift0, shift1, shift2): align both operands to the finer frac m, then to y."""
    m = max(a.frac, b.frac)
    return m - a.frac, m - b.frac, m - y.frac


def _act_max_input_frac(cfg: ProcessorConfig) -> int:
    """Largest input frac whose ACT shift0 fits its field for both functions (sigmoid's is the
    larger shift); finer inputs could not refine the table index anyway."""
    s0_at_0, _ = act_shifts(cfg, isa.ActFunc.SIGMOID, QFormat(cfg.data_bits, 0), QFormat(cfg.data_bits, 0))
    return isa.field_limits(cfg)[(isa.Op.ACT, "shift0")] - s0_at_0


# ---- format choice -------------------------------------------------------------------------------
def _weight_format(cfg: ProcessorConfig, w: np.ndarray, b: np.ndarray, x: QFormat) -> tuple[QFormat, QFormat]:
    """(weight format, bias format) of one FC: see the module docstring."""
    bits = cfg.data_bits
    wf = QFormat.for_range(bits, float(np.max(np.abs(w), initial=0.0)), 2 * bits).frac
    bias_frac = QFormat.for_range(cfg.BIAS_BITS, float(np.max(np.abs(b), initial=0.0)), wf + x.frac).frac
    wf = min(wf, bias_frac - x.frac)
    return QFormat(bits, wf), QFormat(cfg.BIAS_BITS, wf + x.frac)


def _range(ranges: dict[str, float] | None, name: str, default: float) -> float:
    """Calibrated max|tensor| with the margin, or the default when there is no calibration."""
    return CALIBRATION_MARGIN * ranges[name] if ranges is not None else default


def choose_formats(net: Network, cfg: ProcessorConfig, ranges: dict[str, float] | None = None) -> dict[str, QFormat]:
    """Formats of every tensor, keyed ``x``, ``<lstm>.h``, ``<lstm>.w{i,f,g,o}``, ``<lstm>.b{i,f,g,o}``,
    ``<lstm>.z``, ``<lstm>.gates``, ``<lstm>.c``, ``<fc>.w``, ``<fc>.b``, ``<fc>.y``, ``softmax.p``.

    `ranges` are calibration peaks as `sim.reference.ranges` reports them (keys ``x``, ``<lstm>.z``,
    ``<lstm>.c``, ``<fc>.y``); None selects the default ranges and analytic bounds."""
    bits = cfg.data_bits
    fmt: dict[str, QFormat] = {}
    x_max = ranges["x"] if ranges is not None else DEFAULT_INPUT_RANGE
    h0_max = max((float(np.max(np.abs(h), initial=0.0)) for h, _ in net.initial_state()), default=0.0)
    vec = QFormat.for_range(bits, max(x_max, h0_max), bits - 1)
    fmt["x"] = vec
    gates = QFormat(bits, bits - 1)
    in_fmt, in_max = vec, x_max
    for layer, (_, c0) in zip(net.lstm_layers, net.initial_state()):
        name = layer.name
        w_fracs = []
        for g, (w, b) in layer.gate_weights().items():
            fmt[f"{name}.w{g}"], fmt[f"{name}.b{g}"] = _weight_format(cfg, w, b, vec)
            w_fracs.append(fmt[f"{name}.w{g}"].frac)
        bound = float(np.max(np.abs(layer.input_weights).sum(axis=1) * in_max
                             + np.abs(layer.recurrent_weights).sum(axis=1) + np.abs(layer.bias)))
        # softsign's table ends at 2^r: inputs beyond saturate at softsign(2^r), so a wider z or c
        # range would only cost precision (sigmoid and hard-sigmoid are flat out there anyway)
        cap = float(1 << cfg.lut_range_log2) if layer.state_activation == "softsign" else math.inf
        fmt[f"{name}.z"] = QFormat.for_range(bits, min(_range(ranges, f"{name}.z", bound), cap),
                                             min(min(w_fracs) + vec.frac, _act_max_input_frac(cfg)))
        fmt[f"{name}.gates"] = gates
        c_max = max(_range(ranges, f"{name}.c", DEFAULT_CELL_RANGE), float(np.max(np.abs(c0), initial=0.0)))
        # i⊙g is rounded into c's format (a finer c than the product's 2(bits-1) adds nothing) and
        # c is the input of tanh(c).
        fmt[f"{name}.c"] = QFormat.for_range(bits, min(c_max, cap), min(2 * (bits - 1), _act_max_input_frac(cfg)))
        fmt[f"{name}.h"] = vec
        in_max = 1.0
    for layer in net.layers:
        if not isinstance(layer, FullyConnected):
            continue
        name = layer.name
        fmt[f"{name}.w"], fmt[f"{name}.b"] = _weight_format(cfg, layer.weights, layer.bias, in_fmt)
        bound = float(np.max(np.abs(layer.weights).sum(axis=1) * in_max + np.abs(layer.bias)))
        y_max = _range(ranges, f"{name}.y", bound)
        fmt[f"{name}.y"] = in_fmt = QFormat.for_range(bits, y_max, fmt[f"{name}.w"].frac + in_fmt.frac)
        in_max = y_max
    if any(isinstance(layer, Softmax) for layer in net.layers):
        fmt["softmax.p"] = QFormat(bits, bits - 1)  # probabilities in [0, 1)
    return fmt

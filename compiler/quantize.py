"""Fixed-point formats: how each tensor is quantised and the shift amounts between formats.

Every tensor is a `QFormat`: `bits`-bit two's complement with `frac` fraction bits (value = q·2^-frac).
`choose_formats` picks one format per tensor of a network for a processor config:

- weights, per FullyConnected layer and per LSTM gate and segment (the input weights W_g and the
  recurrent weights R_g of [W_g | R_g] have a format each): the largest frac (at most 2·bits) at
  which max|w| still fits, adjusted so both segments' products meet in the accumulator's scale
  (the FC kernel shifts the input segment's products, see `_segmented_weight_formats`), lowered
  further if the bias would not fit int32 in that scale;
- the input x: the largest frac that holds max|x| (calibration data, or DEFAULT_INPUT_RANGE = ±4.0,
  a common range for normalised features; inputs beyond it saturate);
- each hidden state h: frac bits-1 (|h| < 1), unless an initial state is larger. x and h lie next
  to each other in the activation buffer ([x; h_1; h_2; ...]) but keep their own formats;
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
        return self.quantize_counted(x)[0]

    def quantize_counted(self, x) -> tuple[np.ndarray, int]:
        """`quantize`, and how many elements saturated (lay outside the representable range)."""
        q = np.floor(np.ldexp(np.asarray(x, dtype=np.float64), self.frac) + 0.5)
        clipped = int(np.count_nonzero((q < self.min) | (q > self.max)))
        return np.clip(q, self.min, self.max).astype(np.int64), clipped

    def range_text(self) -> str:
        """The representable range, e.g. ``[-8, 7.99976]``."""
        return f"[{self.dequantize(self.min):g}, {self.dequantize(self.max):g}]"

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


@dataclasses.dataclass(frozen=True)
class Clipping:
    """How many of a tensor's elements the host saturated while quantising it (`QFormat.quantize`
    clips to the format's range, as the hardware does on every narrowing)."""

    tensor: str     # e.g. "input sequence 0", "lstm_1 state c"
    clipped: int
    total: int
    format: QFormat

    def __str__(self) -> str:
        return (f"{self.clipped} of {self.total} elements of {self.tensor} to the range "
                f"{self.format.range_text()} of its format {self.format}")


# ---- shift amounts (instruction fields) between formats -------------------------------------------
def fc_shift(w: QFormat, x: QFormat, y: QFormat) -> int:
    """FC shift0: the accumulator holds w·x in frac w+x (for an LSTM gate: the recurrent segment's
    scale, which the input segment is shifted to); y keeps y.frac of them."""
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


def _segmented_weight_formats(cfg: ProcessorConfig, w_in: np.ndarray, w_rec: np.ndarray, b: np.ndarray,
                              f_in: QFormat, f_h: QFormat) -> tuple[QFormat, QFormat, QFormat]:
    """(input-weight format, recurrent-weight format, bias format) of one LSTM gate [W_g | R_g].

    The FC kernel reads [input; h] in one pass but the two segments have their own formats: the
    products of the input segment are shifted left (instruction field shift1, at most bits-1) to
    the recurrent segment's scale, which is the accumulator's. So the input segment's product
    frac may not exceed the recurrent one's, nor fall more than bits-1 below it; and the bias,
    int32 in the accumulator's scale, must fit (else both weight fracs drop together)."""
    bits = cfg.data_bits
    wf_in = QFormat.for_range(bits, float(np.max(np.abs(w_in), initial=0.0)), 2 * bits).frac
    wf_rec = QFormat.for_range(bits, float(np.max(np.abs(w_rec), initial=0.0)), 2 * bits).frac
    p_in, p_rec = wf_in + f_in.frac, wf_rec + f_h.frac
    if p_in > p_rec:
        wf_in -= p_in - p_rec
    elif p_rec - p_in > bits - 1:
        wf_rec -= p_rec - p_in - (bits - 1)
    acc = wf_rec + f_h.frac
    bias_frac = QFormat.for_range(cfg.BIAS_BITS, float(np.max(np.abs(b), initial=0.0)), acc).frac
    drop = acc - bias_frac
    return QFormat(bits, wf_in - drop), QFormat(bits, wf_rec - drop), QFormat(cfg.BIAS_BITS, acc - drop)


def segment_shift(w_in: QFormat, f_in: QFormat, w_rec: QFormat, f_h: QFormat) -> int:
    """FC shift1 of an LSTM gate: aligns the input segment's products to the recurrent ones'."""
    return (w_rec.frac + f_h.frac) - (w_in.frac + f_in.frac)


def choose_formats(net: Network, cfg: ProcessorConfig, ranges: dict[str, float] | None = None) -> dict[str, QFormat]:
    """Formats of every tensor, keyed ``x``, ``<lstm>.h``, ``<lstm>.w{i,f,g,o}`` (recurrent weights),
    ``<lstm>.w{i,f,g,o}.in`` (input weights), ``<lstm>.b{i,f,g,o}``, ``<lstm>.z``, ``<lstm>.gates``,
    ``<lstm>.c``, ``<fc>.w``, ``<fc>.b``, ``<fc>.y``, ``softmax.p``.

    `ranges` are calibration peaks as `compiler.reference.ranges` reports them (keys ``x``, ``<lstm>.z``,
    ``<lstm>.c``, ``<fc>.y``); None selects the default ranges and analytic bounds."""
    bits = cfg.data_bits
    fmt: dict[str, QFormat] = {}
    x_max = ranges["x"] if ranges is not None else DEFAULT_INPUT_RANGE
    fmt["x"] = QFormat.for_range(bits, x_max, bits - 1)
    gates = QFormat(bits, bits - 1)
    in_fmt, in_max = fmt["x"], x_max
    for layer, (h0, c0) in zip(net.lstm_layers, net.initial_state()):
        name = layer.name
        # |h| = |o·tanh(c)| < 1: the finest format below 1.0, unless the initial state is larger
        h_max = max(1.0 - 2.0 ** -(bits - 1), float(np.max(np.abs(h0), initial=0.0)))
        f_h = fmt[f"{name}.h"] = QFormat.for_range(bits, h_max, bits - 1)
        acc_fracs = []
        for g, (w, b) in layer.gate_weights().items():
            k = layer.input_weights.shape[1]
            wi, wr, bf = _segmented_weight_formats(cfg, w[:, :k], w[:, k:], b, in_fmt, f_h)
            fmt[f"{name}.w{g}.in"], fmt[f"{name}.w{g}"], fmt[f"{name}.b{g}"] = wi, wr, bf
            acc_fracs.append(bf.frac)
        bound = float(np.max(np.abs(layer.input_weights).sum(axis=1) * in_max
                             + np.abs(layer.recurrent_weights).sum(axis=1) * h_max + np.abs(layer.bias)))
        # softsign's table ends at 2^r: inputs beyond saturate at softsign(2^r), so a wider z or c
        # range would only cost precision (sigmoid and hard-sigmoid are flat out there anyway)
        cap = float(1 << cfg.lut_range_log2) if layer.state_activation == "softsign" else math.inf
        fmt[f"{name}.z"] = QFormat.for_range(bits, min(_range(ranges, f"{name}.z", bound), cap),
                                             min(min(acc_fracs), _act_max_input_frac(cfg)))
        fmt[f"{name}.gates"] = gates
        c_max = max(_range(ranges, f"{name}.c", DEFAULT_CELL_RANGE), float(np.max(np.abs(c0), initial=0.0)))
        # i⊙g is rounded into c's format (a finer c than the product's 2(bits-1) adds nothing) and
        # c is the input of tanh(c).
        fmt[f"{name}.c"] = QFormat.for_range(bits, min(c_max, cap), min(2 * (bits - 1), _act_max_input_frac(cfg)))
        in_fmt, in_max = f_h, h_max
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

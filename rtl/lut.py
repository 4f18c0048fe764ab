"""Contents of the activation kernel's tables, derived from the config.

Each table holds L+1 samples of a function over [0, 2**r] as Q0.V values T[i] (V =
cfg.lut_value_bits: 16 for int16, 12 for int8) and the magnitudes of the differences
D[i] = |T[i+1] - T[i]| used for linear interpolation (D[L] = 0: beyond the range the output
saturates at T[L]).

Element-wise tables (L = lut_depth, softsign_lut_depth for softsign; increasing on [0, 2**r];
negative inputs by symmetry):
  sigmoid       sigmoid(-x) = 1 - sigmoid(x); tanh(x) = 2*sigmoid(2x) - 1, tanh(-x) = -tanh(x)
  hard-sigmoid  clip(0.2x + 0.5, 0, 1), MATLAB's; same symmetry as sigmoid
  softsign      x / (1 + |x|); softsign(-x) = -softsign(x)
Softmax table (L = exp_lut_depth, decreasing): exp(-u) for u >= 0, T[0] = 2**V (exactly 1.0).

This is table *content* shared by the RTL ROMs and the golden model, the way the ISA is shared;
each of them implements the arithmetic around it on its own. docs/architecture.md gives the
measured errors.
"""
from __future__ import annotations

import functools
import math

from .config import ProcessorConfig

ELEMENTWISE = {
    "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)),
    "hard-sigmoid": lambda x: min(1.0, 0.2 * x + 0.5),
    "softsign": lambda x: x / (1.0 + x),
}


@functools.lru_cache(maxsize=None)
def table(cfg: ProcessorConfig, function: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(T, D) of an element-wise table or of "exp": L+1 values and L+1 difference magnitudes."""
    one = 1 << cfg.lut_value_bits
    n = cfg.table_depth(function)
    if function == "exp":
        f = lambda u: math.exp(-u)  # noqa: E731 - the only decreasing table
        top = one  # exp(0) = 1.0 exactly: the largest softmax term is exact
    else:
        f = ELEMENTWISE[function]
        top = one - 1  # 1.0 itself does not fit in V bits; outputs saturate there anyway
    step = (1 << cfg.lut_range_log2) / n
    values = tuple(min(int(math.floor(one * f(i * step) + 0.5)), top) for i in range(n + 1))
    diffs = tuple(abs(values[i + 1] - values[i]) for i in range(n)) + (0,)
    return values, diffs


def diff_bits(cfg: ProcessorConfig, functions=("sigmoid", "hard-sigmoid", "softsign")) -> int:
    """Width of the stored difference magnitudes of the given tables (unsigned)."""
    return max(max(table(cfg, f)[1]).bit_length() for f in functions) or 1

"""Contents of the activation kernel's sigmoid table, derived from the config.

The table holds L+1 samples of sigmoid over [0, 2**r] as unsigned Q0.16 values T[i] and the
differences D[i] = T[i+1] - T[i] used for linear interpolation (D[L] = 0: beyond the range the
output saturates). tanh uses the same table through tanh(x) = 2*sigmoid(2x) - 1; negative inputs use
sigmoid(-x) = 1 - sigmoid(x) and tanh(-x) = -tanh(x). docs/architecture.md gives the measured error.

This is table *content* shared by the RTL ROM and the golden model, the way the ISA is shared;
each of them implements the arithmetic around it on its own.
"""
from __future__ import annotations

import math

from .config import ProcessorConfig


def sigmoid_table(cfg: ProcessorConfig) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(T, D): L+1 table values and L+1 interpolation differences, both non-negative ints."""
    n = cfg.lut_depth
    one = 1 << cfg.LUT_VALUE_BITS
    step = (1 << cfg.lut_range_log2) / n
    values = []
    for i in range(n + 1):
        v = int(math.floor(one / (1.0 + math.exp(-i * step)) + 0.5))
        values.append(min(v, one - 1))
    diffs = [values[i + 1] - values[i] for i in range(n)] + [0]
    return tuple(values), tuple(diffs)


def diff_bits(cfg: ProcessorConfig) -> int:
    """Width of the stored differences (unsigned)."""
    return max(sigmoid_table(cfg)[1]).bit_length() or 1

"""The Japanese Vowels data set (UCI; see data/ATTRIBUTION.md): 9 speakers, 12 LPC cepstrum
coefficients per time step, 270 training and 370 test sequences of 7 to 26 steps.

    from examples.japanese_vowels import data
    sequences, labels = data.load("test")      # list of (T, 12) float32 arrays, int64 labels 0..8

The file stores each split's time steps stacked (`x_<split>`) with the number of steps of every
sequence (`len_<split>`); `load` splits them apart again. The path is resolved from this file, so
it works from any working directory.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parents[2] / "data" / "japanese_vowels.npz"
SPLITS = ("train", "test")
NUM_FEATURES = 12
NUM_CLASSES = 9


def load(split: str = "train") -> tuple[list[np.ndarray], np.ndarray]:
    """(sequences, labels) of one split: a list of (T, 12) float32 arrays and an int64 array of
    speaker labels 0..8, in the file's order."""
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: expected one of {', '.join(map(repr, SPLITS))}")
    with np.load(PATH) as d:
        x, lengths, labels = d[f"x_{split}"], d[f"len_{split}"], d[f"y_{split}"]
    if lengths.sum() != len(x) or len(lengths) != len(labels):
        raise ValueError(f"{PATH}: split {split!r} has {len(x)} steps and {len(labels)} labels, but the "
                         f"lengths add up to {lengths.sum()} steps in {len(lengths)} sequences")
    return np.split(x, np.cumsum(lengths)[:-1]), labels

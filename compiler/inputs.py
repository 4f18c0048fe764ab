"""What the user hands in as data: sequences, lists of sequences, states. One place converts and
checks them, so that every entry point (the float reference, calibration, `Program.encode_input`,
the Workflow, the command line) accepts the same things and rejects the rest with the same words.

Accepted as an array: numpy arrays of real numbers (any integer or float dtype), nested Python
lists of numbers and PyTorch tensors (detached and moved to the CPU; torch is never imported here).
Rejected with TypeError: strings, objects, complex numbers, booleans and anything that is not
array-like; with ValueError: ragged nesting, wrong shapes, NaN or infinity (the message names the
position of the first one).
"""
from __future__ import annotations

import numbers

import numpy as np


def _from_torch(value):
    """A torch tensor as a numpy array (detached, on the CPU); anything else unchanged."""
    if type(value).__module__.split(".")[0] != "torch" or not hasattr(value, "detach"):
        return value
    tensor = value.detach().cpu()
    try:
        return tensor.numpy()
    except TypeError:  # bfloat16 and other dtypes numpy lacks
        return tensor.float().numpy()


def as_real_array(value, what: str, finite: bool = True) -> np.ndarray:
    """`value` as a float64 array, checked for real numeric content and (with `finite`) finiteness.

    `what` names the value in messages (e.g. ``input sequence 2``, ``lstm_1 state c``)."""
    value = _from_torch(value)
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{what}: expected an array of real numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except ValueError as e:  # numpy refuses ragged nesting ("inhomogeneous shape")
        raise ValueError(f"{what}: not a rectangular array of numbers (rows of different lengths?): {e}") from None
    if arr.dtype.kind == "O":  # ragged lists or arbitrary objects: try the numbers inside
        try:
            arr = np.asarray(arr.tolist(), dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{what}: expected an array of real numbers, got an object array "
                            f"(ragged rows or non-numeric elements) of shape {arr.shape}") from None
    kinds = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes", "V": "structured records",
             "M": "datetimes", "m": "time deltas"}
    if arr.dtype.kind in kinds:
        raise TypeError(f"{what}: expected real numbers, got {kinds[arr.dtype.kind]} (dtype {arr.dtype})")
    arr = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(arr)) if finite else ()
    if len(bad):
        idx = tuple(int(i) for i in np.unravel_index(bad[0], arr.shape)) if arr.ndim else ()
        where = (f"time step {idx[0]}, feature {idx[1]}" if arr.ndim == 2 else f"index {idx}") if idx else "its value"
        raise ValueError(f"{what}: {bad.size} non-finite value(s), the first {arr[idx]} at {where}")
    return arr


def as_sequence(x, num_features: int, what: str = "input", max_length: int | None = None) -> np.ndarray:
    """One sequence as a float64 (T, C) array with C = num_features and 1 <= T <= max_length."""
    arr = as_real_array(x, what)
    if arr.ndim != 2 or arr.shape[1] != num_features:
        raise ValueError(f"{what} has shape {arr.shape}, expected (T, {num_features}): time steps x features")
    if arr.shape[0] < 1:
        raise ValueError(f"{what} has shape {arr.shape}: T=0 time steps, expected T >= 1")
    if max_length is not None and arr.shape[0] > max_length:
        raise ValueError(f"{what} has T={arr.shape[0]} time steps, expected 1..{max_length} "
                         "(max_sequence_length of the compiled program)")
    return arr


def _is_array_like(value) -> bool:
    """numpy arrays, torch tensors and anything else that converts itself (`__array__`: a pandas
    DataFrame is its values, not an iterable of column names)."""
    return (isinstance(value, np.ndarray) or type(value).__module__.split(".")[0] == "torch"
            or hasattr(value, "__array__"))


def _depth(value) -> int:
    """Dimensions of an array, or nesting depth of a list (along its first elements)."""
    if _is_array_like(value):
        return np.ndim(_from_torch(value))
    if isinstance(value, (list, tuple)):
        return 1 + (_depth(value[0]) if value else 0)
    return 0


def as_sequences(x, num_features: int, what: str = "input",
                 max_length: int | None = None) -> tuple[list[np.ndarray], bool]:
    """(sequences, single): one (T, C) sequence or several, each checked by `as_sequence`.

    A (T, C) array or a nested list of T rows is one sequence (single=True); an (N, T, C) array or
    a list/tuple (or other iterable) of (T, C) arrays or nested lists is N sequences, which may
    differ in length."""
    if _is_array_like(x):
        arr = as_real_array(x, what)
        if arr.ndim == 3:
            return [as_sequence(s, num_features, f"{what} sequence {k}", max_length) for k, s in enumerate(arr)], False
        if arr.ndim != 2:
            raise ValueError(f"{what} has shape {arr.shape}, expected (T, {num_features}) for one sequence or "
                             f"(N, T, {num_features}) for N of them")
        return [as_sequence(arr, num_features, what, max_length)], True
    if not isinstance(x, (list, tuple, str, bytes, dict, set)) and hasattr(x, "__iter__"):
        x = list(x)  # a generator or another iterable of sequences
    if not isinstance(x, (list, tuple)):
        raise TypeError(f"{what}: expected a (T, {num_features}) array or a list of them, got {type(x).__name__}")
    if not x:
        raise ValueError(f"{what}: an empty list, expected a (T, {num_features}) sequence or a list of them")
    if all(isinstance(e, numbers.Number) or (_is_array_like(e) and np.ndim(e) == 0) for e in x):
        raise ValueError(f"{what} has shape ({len(x)},), expected (T, {num_features}): time steps x features")
    # a list of rows is one sequence; a list of 2-D things is several
    rows = [_depth(e) != 2 for e in x]
    if all(rows):
        return [as_sequence(x, num_features, what, max_length)], True
    if any(rows):
        k = rows.index(True)
        raise ValueError(f"{what}: a list that mixes sequences (2-D) with other things: element {k} is not a "
                         f"(T, {num_features}) sequence")
    return [as_sequence(s, num_features, f"{what} sequence {k}", max_length) for k, s in enumerate(x)], False


def state_pairs(state, layers: int, what: str = "state") -> list[tuple]:
    """`state` as a list of `layers` (h, c) pairs (the arrays themselves are checked by the caller,
    which knows their sizes)."""
    if isinstance(state, np.ndarray) or not isinstance(state, (list, tuple)):
        raise TypeError(f"{what}: expected a list with one (h, c) pair per LSTM layer, got {type(state).__name__}")
    if len(state) != layers:
        raise ValueError(f"{what} has {len(state)} (h, c) pairs, the network has {layers} LSTM layers")
    for k, pair in enumerate(state):
        if not isinstance(pair, (list, tuple, np.ndarray)) or len(pair) != 2:
            raise ValueError(f"{what}: element {k} is not an (h, c) pair of arrays "
                             f"(got {type(pair).__name__}{f' of length {len(pair)}' if hasattr(pair, '__len__') else ''})")
    return list(state)


def read_numpy_file(path, what: str):
    """np.load of a .npy (an array) or .npz (an NpzFile, to be closed), without pickles. A missing
    file raises FileNotFoundError; a file numpy cannot read raises ValueError naming the file,
    `what` it should hold and what is wrong (not numpy's guess that text is a pickle)."""
    import zipfile

    with open(path, "rb") as f:  # FileNotFoundError, IsADirectoryError: clear as they are
        head = f.read(6)
    if head[:2] != b"PK" and head != b"\x93NUMPY":
        raise ValueError(f"{path}: not {what}: neither a .npy nor a .npz file (it starts with {head!r})")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not {what}, or damaged: {type(e).__name__}: {e}") from None

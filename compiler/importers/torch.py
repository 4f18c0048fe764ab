"""Import a list of PyTorch modules into a `Network`.

    from compiler.importers import from_torch
    net = from_torch([model.lstm, model.dropout, model.fc, nn.Softmax(dim=1)], output_mode="last")

A PyTorch model's structure lives in its `forward` code, which an importer cannot read, so the caller
lists the modules in the order `forward` applies them. Supported modules, one handler each:

- `nn.LSTM`: unidirectional, `proj_size=0`, any `num_layers` (one `LSTM` layer each) and either
  `batch_first`. PyTorch's gate order i, f, g, o is MATLAB's, so the rows of `weight_ih_l<k>` and
  `weight_hh_l<k>` are `input_weights` and `recurrent_weights` as they are; the layer's bias is
  `bias_ih_l<k> + bias_hh_l<k>` (PyTorch adds both in every gate). The module's `dropout` between
  stacked layers acts in training only and is ignored.
- `nn.Linear` → `FullyConnected` (applied per time step on sequences, as `nn.Linear` is).
- `nn.Dropout` → `Dropout` (identity at inference).
- `nn.Softmax` → `Softmax`, over the feature dimension only.

PyTorch's `nn.LSTM` returns every time step; `output_mode` says what the model's `forward` does with
the last LSTM layer's output: "last" for `out[:, -1]` (or `h_n[-1]`), "sequence" when every step goes
on. Stacked layers before the last one are always "sequence". Weights become float64 numpy arrays.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..network import OUTPUT_MODES, LSTM, Dropout, FullyConnected, Layer, Network, NetworkError, SequenceInput, Softmax


@dataclasses.dataclass
class _Context:
    """What the handlers share while walking the module list."""

    output_mode: str
    last_lstm: int                         # index of the last nn.LSTM in the module list (-1: none)
    initial_states: list                   # one (h0, c0) pair or None per nn.LSTM, in order
    features: int | None                   # features of the tensor the next module receives
    sequence: bool = True                  # whether that tensor still has a time axis


def from_torch(modules, output_mode: str = "last", input_size: int | None = None,
               initial_state=None) -> Network:
    """Build a `Network` from PyTorch modules listed in the order the model applies them.

    `modules`: an iterable of `nn.LSTM`, `nn.Linear`, `nn.Dropout` and `nn.Softmax` modules (an
    `nn.Sequential` or `nn.ModuleList` of them works too). `output_mode` ("last" or "sequence") is the last LSTM layer's
    output mode. `input_size` (features per time step) is checked against the first LSTM or Linear
    and is required only when neither fixes it. `initial_state` is the LSTM's initial state, shaped
    as PyTorch's `(h0, c0)`: each `(num_layers, H)` or `(num_layers, 1, H)`, tensors or arrays; with
    several `nn.LSTM` modules in the list, a sequence with one such pair (or None) per module.

    Raises `NetworkError` (a ValueError) naming the module's index, its type and what is not
    supported, e.g. ``module 0 (GRU): ...`` or ``module 1 (LSTM): bidirectional=True ...``."""
    import torch
    from torch import nn

    handlers = {nn.LSTM: _lstm, nn.Linear: _linear, nn.Dropout: _dropout, nn.Softmax: _softmax}
    if isinstance(modules, nn.Module) and not isinstance(modules, (nn.Sequential, nn.ModuleList)):
        raise NetworkError(f"from_torch: got one {type(modules).__name__} module; pass the list of modules "
                           "in the order the model's forward applies them (an importer cannot read forward)")
    if isinstance(modules, (str, bytes)) or not hasattr(modules, "__iter__"):
        raise TypeError(f"from_torch: expected a list of torch modules, got {type(modules).__name__}")
    modules = list(modules)
    if not isinstance(output_mode, str) or output_mode not in OUTPUT_MODES:
        raise NetworkError(f"from_torch: output_mode={output_mode!r}: expected one of "
                           + ", ".join(repr(m) for m in OUTPUT_MODES))
    lstm_indices = [k for k, m in enumerate(modules) if isinstance(m, nn.LSTM)]
    ctx = _Context(output_mode=output_mode, last_lstm=lstm_indices[-1] if lstm_indices else -1,
                   initial_states=_split_initial_state(initial_state, len(lstm_indices)), features=None)

    layers: list[Layer] = []
    num_features = input_size
    with torch.no_grad():
        for index, module in enumerate(modules):
            handler = next((h for cls, h in handlers.items() if isinstance(module, cls)), None)
            if handler is None:
                raise NetworkError(f"module {index} ({type(module).__name__}): not supported; from_torch takes "
                                   "nn.LSTM, nn.Linear, nn.Dropout and nn.Softmax modules")
            if ctx.features is None and handler in (_lstm, _linear):
                num_features = ctx.features = _check_input_size(index, module, input_size)
            layers.extend(handler(index, module, ctx))
    if num_features is None:
        raise NetworkError("from_torch: no nn.LSTM or nn.Linear fixes the number of input features; "
                           "pass input_size")
    return Network([SequenceInput(num_features), *layers])


def _check_input_size(index: int, module, input_size: int | None) -> int:
    """The features the first LSTM or Linear expects, checked against the caller's `input_size`."""
    expected = module.input_size if hasattr(module, "input_size") else module.in_features
    if input_size is not None and input_size != expected:
        raise NetworkError(f"module {index} ({type(module).__name__}): expects {expected} input features, "
                           f"but input_size={input_size}")
    return expected


def _split_initial_state(initial_state, num_lstm_modules: int) -> list:
    """One (h0, c0) pair or None per nn.LSTM module."""
    if initial_state is None:
        return [None] * num_lstm_modules
    if num_lstm_modules == 0:
        raise NetworkError("from_torch: initial_state is given but the modules include no nn.LSTM")
    pairs = [initial_state] if num_lstm_modules == 1 else list(initial_state)
    if len(pairs) != num_lstm_modules:
        raise NetworkError(f"from_torch: initial_state has {len(pairs)} entries, expected one (h0, c0) pair "
                           f"(or None) per nn.LSTM module, i.e. {num_lstm_modules}")
    for k, pair in enumerate(pairs):
        if pair is not None and len(pair) != 2:
            raise NetworkError(f"from_torch: initial_state entry {k} has {len(pair)} items, expected (h0, c0)")
    return pairs


def _numpy(tensor) -> np.ndarray:
    """A float64 numpy copy of a tensor (or of an array-like)."""
    if hasattr(tensor, "detach"):
        return tensor.detach().cpu().double().numpy()
    return np.asarray(tensor, dtype=np.float64)


def _check_features(index: int, module, expected: int, ctx: _Context) -> None:
    if expected != ctx.features:
        raise NetworkError(f"module {index} ({type(module).__name__}): expects {expected} input features, "
                           f"but the previous module outputs {ctx.features}")


def _lstm(index: int, module, ctx: _Context) -> list[Layer]:
    """nn.LSTM → one LSTM layer per stacked layer; see the module docstring for the mapping."""
    label = f"module {index} ({type(module).__name__})"
    if module.bidirectional:
        raise NetworkError(f"{label}: bidirectional=True is not supported (only forward LSTMs)")
    if module.proj_size:
        raise NetworkError(f"{label}: proj_size={module.proj_size} is not supported (LSTM projections)")
    _check_features(index, module, module.input_size, ctx)
    h, n = module.hidden_size, module.num_layers
    state = ctx.initial_states.pop(0)
    h0, c0 = (None, None) if state is None else (_state(label, "h0", state[0], n, h),
                                                 _state(label, "c0", state[1], n, h))
    layers = []
    for k in range(n):
        w, r = _numpy(getattr(module, f"weight_ih_l{k}")), _numpy(getattr(module, f"weight_hh_l{k}"))
        b = (_numpy(getattr(module, f"bias_ih_l{k}")) + _numpy(getattr(module, f"bias_hh_l{k}"))
             if module.bias else np.zeros(4 * h))
        last = index == ctx.last_lstm and k == n - 1
        layers.append(LSTM(h, output_mode=ctx.output_mode if last else "sequence", input_weights=w,
                           recurrent_weights=r, bias=b, hidden_state=None if h0 is None else h0[k],
                           cell_state=None if c0 is None else c0[k]))
    ctx.features = h
    ctx.sequence = not (index == ctx.last_lstm and ctx.output_mode == "last")
    return layers


def _state(label: str, which: str, value, num_layers: int, hidden: int) -> np.ndarray:
    """PyTorch's (num_layers, H) or (num_layers, 1, H) initial state as (num_layers, H)."""
    arr = _numpy(value)
    if arr.shape not in ((num_layers, hidden), (num_layers, 1, hidden)):
        raise NetworkError(f"{label}: initial state {which} has shape {arr.shape}, expected "
                           f"({num_layers}, {hidden}) or ({num_layers}, 1, {hidden})")
    return arr.reshape(num_layers, hidden)


def _linear(index: int, module, ctx: _Context) -> list[Layer]:
    """nn.Linear → FullyConnected; weight (out, in) is MATLAB's layout already."""
    _check_features(index, module, module.in_features, ctx)
    bias = _numpy(module.bias) if module.bias is not None else np.zeros(module.out_features)
    ctx.features = module.out_features
    return [FullyConnected(module.out_features, weights=_numpy(module.weight), bias=bias)]


def _dropout(index: int, module, ctx: _Context) -> list[Layer]:
    """nn.Dropout → Dropout (identity at inference)."""
    return [Dropout(module.p)]


def _softmax(index: int, module, ctx: _Context) -> list[Layer]:
    """nn.Softmax → Softmax, provided its dim is the feature dimension of the (batched) tensor it
    receives: -1, or 1 on (batch, features) after a "last" LSTM, 2 on (batch, time, features) or
    (time, batch, features) sequences."""
    feature_dim = 2 if ctx.sequence else 1
    if module.dim not in (-1, feature_dim):
        raise NetworkError(f"module {index} (Softmax): dim={module.dim} is not the feature dimension of its "
                           f"{feature_dim + 1}-D input; expected -1 or {feature_dim}")
    return [Softmax()]

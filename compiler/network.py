"""Network description with MATLAB's layer semantics.

A `Network` is a validated chain of layers, the way MATLAB's `layer` arrays describe a sequence
network: `SequenceInput`, then `LSTM` and `FullyConnected` layers (with `Dropout` anywhere), then
optionally `Softmax` and an output layer (`Regression`). Sequences are `(T, C)` arrays: time steps by
features. Weights use MATLAB's layouts: LSTM input weights `(4H, C)`, recurrent weights `(4H, H)`,
bias `(4H,)` with the gates in the order i, f, g, o; FullyConnected weights `(OutputSize, InputSize)`.

Layer constructors check their own options (types, allowed values); `Network` checks everything that
depends on the chain (array shapes against the previous layer's output size, finite values, layer
order) so that its messages can name the layer by its resolved name, e.g. ``lstm_1``.
"""
from __future__ import annotations

import dataclasses
import json
import zipfile
from typing import ClassVar

import numpy as np

from .inputs import as_real_array, read_numpy_file

#: LSTM activation options MATLAB offers (the processor supports a subset, see compiler.lower).
STATE_ACTIVATIONS = ("tanh", "softsign")
GATE_ACTIVATIONS = ("sigmoid", "hard-sigmoid")
OUTPUT_MODES = ("sequence", "last")
GATES = "ifgo"  # MATLAB's gate order: rows k*H:(k+1)*H of the LSTM weights belong to GATES[k]
NORMALIZATIONS = ("none", "zerocenter", "zscore")

FILE_FORMAT = "dlp-network"
FILE_VERSION = 1


class NetworkError(ValueError):
    """An invalid network description; the message names the layer and the offending value."""


@dataclasses.dataclass(frozen=True, eq=False)
class Layer:
    """Base of all layers: an optional name and float64 arrays that cannot be modified.

    Subclasses list their array fields in ARRAYS (converted to read-only float64 copies here), the
    stem of their default name in KIND and whether default names are numbered (``lstm_1``) or not
    (``softmax``)."""

    name: str | None = dataclasses.field(default=None, kw_only=True)

    KIND: ClassVar[str] = ""
    NUMBERED: ClassVar[bool] = True
    ARRAYS: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        if self.name is not None and (not isinstance(self.name, str) or not self.name
                                      or "." in self.name or self.name != self.name.strip()):
            raise NetworkError(f"{type(self).__name__}: name={self.name!r}: expected a non-empty string "
                               "without '.' or surrounding spaces ('.' separates layer and op names)")
        for field in self.ARRAYS:
            value = getattr(self, field)
            if value is None:
                continue
            try:  # finiteness is checked in validate(), where the message can use the resolved name
                arr = as_real_array(value, field, finite=False)  # a copy (astype), so read-only is safe
            except (TypeError, ValueError) as e:
                raise NetworkError(f"{self._label()}: {field} is not a numeric array ({e})") from None
            arr.flags.writeable = False
            object.__setattr__(self, field, arr)
        self._check_options()

    def _label(self) -> str:
        return f"{type(self).__name__} {self.name!r}" if self.name else type(self).__name__

    def _check_options(self) -> None:
        """Check the layer's own (non-array) options; raise NetworkError."""

    def _check_count(self, option: str) -> None:
        """A positive integer option (numpy integers accepted and stored as int)."""
        value = getattr(self, option)
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
            raise NetworkError(f"{self._label()}: {option}={value!r}: expected a positive integer")
        object.__setattr__(self, option, int(value))

    def _check_choice(self, option: str, allowed: tuple[str, ...]) -> None:
        value = getattr(self, option)
        if value not in allowed:
            raise NetworkError(f"{self._label()}: {option}={value!r}: expected one of "
                               + ", ".join(repr(a) for a in allowed))

    def validate(self, name: str, input_size: int | None) -> int:
        """Check the arrays against the input size; return the layer's output size (features)."""
        return input_size

    @property
    def options(self) -> dict:
        """The non-array fields (name included), as saved in a network file."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in self.ARRAYS}

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """The array fields that are set."""
        return {k: getattr(self, k) for k in self.ARRAYS if getattr(self, k) is not None}


def _check_array(name: str, field: str, arr: np.ndarray | None, expected: tuple[int, ...],
                 required: bool = True, scalar_ok: bool = False) -> None:
    """Shape and finiteness check of one array; messages name layer, field, given and expected shape."""
    if arr is None:
        if required:
            raise NetworkError(f"{name}: {field} is required, expected shape {expected}")
        return
    if arr.shape != expected and not (scalar_ok and arr.shape == ()):
        raise NetworkError(f"{name}: {field} has shape {arr.shape}, expected {expected}"
                           + (" or a scalar" if scalar_ok else ""))
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        idx = np.unravel_index(bad[0], arr.shape) if arr.shape else ()
        raise NetworkError(f"{name}: {field} has {bad.size} non-finite value(s), the first "
                           f"{arr[idx]} at index {tuple(int(i) for i in idx)}")


@dataclasses.dataclass(frozen=True, eq=False)
class SequenceInput(Layer):
    """Sequence input of `num_features` channels, optionally normalised as MATLAB does:
    "zerocenter" subtracts `mean`, "zscore" computes (x - mean) / std. `mean` and `std` are scalars or
    `(num_features,)` arrays and are required by the normalisation that uses them."""

    num_features: int
    normalization: str = "none"
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    KIND: ClassVar[str] = "sequenceinput"
    NUMBERED: ClassVar[bool] = False
    ARRAYS: ClassVar[tuple[str, ...]] = ("mean", "std")

    def _check_options(self) -> None:
        self._check_count("num_features")
        self._check_choice("normalization", NORMALIZATIONS)

    def validate(self, name: str, input_size: int | None) -> int:
        c = self.num_features
        uses = {"none": (), "zerocenter": ("mean",), "zscore": ("mean", "std")}[self.normalization]
        for field in self.ARRAYS:
            if field in uses:
                _check_array(name, field, getattr(self, field), (c,), scalar_ok=True)
            elif getattr(self, field) is not None:
                raise NetworkError(f"{name}: {field} is given but normalization={self.normalization!r} "
                                   "does not use it")
        if self.std is not None and np.any(self.std <= 0):
            raise NetworkError(f"{name}: std must be positive, min is {self.std.min()}")
        return c


@dataclasses.dataclass(frozen=True, eq=False)
class LSTM(Layer):
    """LSTM layer with MATLAB's equations and gate order i, f, g, o (rows 0:H, H:2H, 2H:3H, 3H:4H).

    i = σg(W_i x + R_i h + b_i), f and o likewise, g = σs(W_g x + R_g h + b_g),
    c = f⊙c + i⊙g, h = o⊙σs(c); σs = state_activation, σg = gate_activation.
    output_mode "sequence" passes h of every step on, "last" only the final h.
    `hidden_state` and `cell_state` (H,) are the initial state (zeros when omitted)."""

    num_hidden: int
    output_mode: str = "sequence"
    input_weights: np.ndarray | None = None
    recurrent_weights: np.ndarray | None = None
    bias: np.ndarray | None = None
    hidden_state: np.ndarray | None = None
    cell_state: np.ndarray | None = None
    state_activation: str = "tanh"
    gate_activation: str = "sigmoid"

    KIND: ClassVar[str] = "lstm"
    ARRAYS: ClassVar[tuple[str, ...]] = ("input_weights", "recurrent_weights", "bias", "hidden_state", "cell_state")

    def _check_options(self) -> None:
        self._check_count("num_hidden")
        self._check_choice("output_mode", OUTPUT_MODES)
        self._check_choice("state_activation", STATE_ACTIVATIONS)
        self._check_choice("gate_activation", GATE_ACTIVATIONS)

    def validate(self, name: str, input_size: int | None) -> int:
        h = self.num_hidden
        _check_array(name, "input_weights", self.input_weights, (4 * h, input_size))
        _check_array(name, "recurrent_weights", self.recurrent_weights, (4 * h, h))
        _check_array(name, "bias", self.bias, (4 * h,))
        _check_array(name, "hidden_state", self.hidden_state, (h,), required=False)
        _check_array(name, "cell_state", self.cell_state, (h,), required=False)
        return h

    def gate_weights(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per gate (keys of GATES), the gate's FC: weights [W_g | R_g] (H x (C+H)) and bias b_g (H,)."""
        n = self.num_hidden
        w = np.hstack([self.input_weights, self.recurrent_weights])
        return {g: (w[k * n:(k + 1) * n], self.bias[k * n:(k + 1) * n]) for k, g in enumerate(GATES)}


@dataclasses.dataclass(frozen=True, eq=False)
class FullyConnected(Layer):
    """y = W x + b with W of shape (output_size, input_size), applied per time step on sequences."""

    output_size: int
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None

    KIND: ClassVar[str] = "fc"
    ARRAYS: ClassVar[tuple[str, ...]] = ("weights", "bias")

    def _check_options(self) -> None:
        self._check_count("output_size")

    def validate(self, name: str, input_size: int | None) -> int:
        _check_array(name, "weights", self.weights, (self.output_size, input_size))
        _check_array(name, "bias", self.bias, (self.output_size,))
        return self.output_size


@dataclasses.dataclass(frozen=True, eq=False)
class Dropout(Layer):
    """Identity at inference (MATLAB scales during training only); removed by the compiler."""

    probability: float = 0.5

    KIND: ClassVar[str] = "dropout"

    def _check_options(self) -> None:
        p = self.probability
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p < 1:
            raise NetworkError(f"{self._label()}: probability={p!r}: expected a number in [0, 1)")
        object.__setattr__(self, "probability", float(p))


@dataclasses.dataclass(frozen=True, eq=False)
class Softmax(Layer):
    """Softmax over the features (per time step on sequences)."""

    KIND: ClassVar[str] = "softmax"
    NUMBERED: ClassVar[bool] = False


@dataclasses.dataclass(frozen=True, eq=False)
class Regression(Layer):
    """Regression output layer: identity at inference."""

    KIND: ClassVar[str] = "regressionoutput"
    NUMBERED: ClassVar[bool] = False


LAYER_TYPES = {cls.__name__: cls for cls in (SequenceInput, LSTM, FullyConnected, Dropout, Softmax, Regression)}


class Network:
    """A validated chain of layers; see the module docstring for the accepted order.

    Attributes: `layers` (tuple of layers, each with its resolved name), `layer_sizes` (output
    features of each layer), `input_size`, `output_size`, `output_mode` ("last" if the last LSTM outputs only its last step, else
    "sequence"), `lstm_layers`."""

    def __init__(self, layers):
        if isinstance(layers, (Layer, str, bytes)) or not hasattr(layers, "__iter__"):
            raise TypeError(f"Network: expected a list of layers, got {type(layers).__name__}")
        layers = list(layers)
        if not layers:
            raise NetworkError("a network needs at least a SequenceInput layer")
        for k, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise NetworkError(f"layer {k}: {layer!r} is not a layer (expected one of {', '.join(LAYER_TYPES)})")
        layers = self._resolve_names(layers)
        if not isinstance(layers[0], SequenceInput):
            raise NetworkError(f"{layers[0].name}: the first layer must be a SequenceInput, "
                               f"not {type(layers[0]).__name__}")
        self._check_order(layers)
        sizes, size = [], None
        for layer in layers:
            size = layer.validate(layer.name, size)
            sizes.append(size)
        self.layers: tuple[Layer, ...] = tuple(layers)
        self.layer_sizes: tuple[int, ...] = tuple(sizes)
        self.input_size: int = sizes[0]
        self.output_size: int = sizes[-1]

    @staticmethod
    def _resolve_names(layers: list[Layer]) -> list[Layer]:
        """Copies of the layers with default names (``lstm_1``, ``fc_2``, ``softmax``) filled in."""
        counts: dict[str, int] = {}
        resolved = []
        for layer in layers:
            name = layer.name
            if name is None:
                counts[layer.KIND] = counts.get(layer.KIND, 0) + 1
                name = f"{layer.KIND}_{counts[layer.KIND]}" if layer.NUMBERED else layer.KIND
            resolved.append(dataclasses.replace(layer, name=name))
        seen = set()
        for layer in resolved:
            if layer.name in seen:
                raise NetworkError(f"{layer.name}: duplicate layer name")
            seen.add(layer.name)
        return resolved

    @staticmethod
    def _check_order(layers: list[Layer]) -> None:
        last_mode_lstm = None
        for k, layer in enumerate(layers):
            if k and isinstance(layer, SequenceInput):
                raise NetworkError(f"{layer.name}: only the first layer may be a SequenceInput")
            if isinstance(layer, LSTM):
                if last_mode_lstm is not None:
                    raise NetworkError(f"{layer.name}: an LSTM cannot follow {last_mode_lstm.name}, whose "
                                       "output_mode='last' passes on one vector, not a sequence")
                if layer.output_mode == "last":
                    last_mode_lstm = layer
            if isinstance(layer, Regression) and k != len(layers) - 1:
                raise NetworkError(f"{layer.name}: the Regression output layer must be the last layer")
            if k and isinstance(layers[k - 1], Softmax) and not isinstance(layer, Regression):
                raise NetworkError(f"{layer.name}: only an output layer may follow {layers[k - 1].name} (Softmax)")

    @property
    def lstm_layers(self) -> list[LSTM]:
        return [layer for layer in self.layers if isinstance(layer, LSTM)]

    @property
    def output_mode(self) -> str:
        lstms = self.lstm_layers
        return lstms[-1].output_mode if lstms else "sequence"

    def initial_state(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per LSTM layer, (h0, c0) as float64 arrays: the layer's hidden/cell state, zeros if unset."""
        return [tuple(np.zeros(layer.num_hidden) if s is None else np.array(s)
                      for s in (layer.hidden_state, layer.cell_state))
                for layer in self.lstm_layers]

    def __repr__(self) -> str:
        return "Network([" + ", ".join(f"{type(layer).__name__} {layer.name}" for layer in self.layers) + "])"

    # ---- file format ------------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write the network to one ``.npz`` file (numpy's zip of ``.npy`` arrays, no pickles).

        Entries: ``header`` is a uint8 array holding UTF-8 JSON
        ``{"format": "dlp-network", "version": 1, "layers": [{"type": "LSTM", "options": {...},
        "arrays": ["input_weights", ...]}, ...]}`` where ``options`` are the layer's non-array
        constructor arguments (the resolved ``name`` included) and ``arrays`` names the array
        arguments that are set; array ``k`` of layer ``i`` is the float64 entry ``"<i>/<name>"``.
        Loading rebuilds the same layers, so a round trip is bit-identical."""
        header = {"format": FILE_FORMAT, "version": FILE_VERSION, "layers": []}
        arrays = {}
        for i, layer in enumerate(self.layers):
            header["layers"].append({"type": type(layer).__name__, "options": layer.options,
                                     "arrays": list(layer.arrays)})
            for key, arr in layer.arrays.items():
                arrays[f"{i}/{key}"] = arr
        blob = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
        with open(path, "wb") as f:
            np.savez(f, header=blob, **arrays)

    @classmethod
    def load(cls, path) -> "Network":
        """Read a network written by `save` (see there for the format). A missing file raises
        FileNotFoundError; anything else wrong with the file raises NetworkError naming the file
        and what is wrong (not a .npz, truncated, missing entries, a bad header or layer)."""
        try:
            data = read_numpy_file(path, "a network file")
        except ValueError as e:
            raise NetworkError(str(e)) from None
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise NetworkError(f"{path}: not a network file: it holds one array of shape {data.shape}, "
                               "Network.save writes a .npz")
        with data:
            try:
                return cls._from_npz(data)
            except NetworkError as e:
                raise NetworkError(f"{path}: {e}") from None
            except (KeyError, TypeError, ValueError, OSError, EOFError, zipfile.BadZipFile, AttributeError) as e:
                # a damaged archive member, a header that is not what `save` writes
                raise NetworkError(f"{path}: damaged network file: {type(e).__name__}: {e}") from None

    @classmethod
    def _from_npz(cls, data) -> "Network":
        if "header" not in data.files:
            raise NetworkError(f"not a network file (no 'header' entry; entries: {', '.join(data.files) or 'none'})")
        header = json.loads(data["header"].tobytes().decode("utf-8"))
        if not isinstance(header, dict):
            raise NetworkError(f"the header is a JSON {type(header).__name__}, expected an object")
        if header.get("format") != FILE_FORMAT or header.get("version") != FILE_VERSION:
            raise NetworkError(f"format {header.get('format')!r} version {header.get('version')!r}, "
                               f"expected {FILE_FORMAT!r} version {FILE_VERSION}")
        layers = []
        for i, entry in enumerate(header["layers"]):
            layer_cls = LAYER_TYPES.get(entry["type"])
            if layer_cls is None:
                raise NetworkError(f"layer {i} has unknown type {entry['type']!r}")
            missing = [f"{i}/{key}" for key in entry["arrays"] if f"{i}/{key}" not in data.files]
            if missing:
                raise NetworkError(f"layer {i} ({entry['type']}): the file has no entry {', '.join(missing)}")
            arrays = {key: data[f"{i}/{key}"] for key in entry["arrays"]}
            try:
                layers.append(layer_cls(**entry["options"], **arrays))
            except TypeError as e:  # an option the layer does not have
                raise NetworkError(f"layer {i} ({entry['type']}): {e}") from None
        return cls(layers)

"""Import an ONNX graph of LSTM and fully connected layers into a `Network`.

    from compiler.importers import from_onnx
    net = from_onnx("model.onnx")          # or an onnx.ModelProto

Supported graphs: one data input; forward `LSTM` nodes (stacked), then `Gemm` or `MatMul` (+ `Add`)
fully connected layers, an optional `Softmax`, one output. Between them any amount of the shape
plumbing exporters write, e.g. what `torch.onnx.export` makes of an `nn.LSTM` model: `Transpose` for
batch_first, `Squeeze` or `Reshape` of the directions axis, initial states made by `Shape`/
`ConstantOfShape`/`Slice`, and `Gather`/`Slice` of the time axis for `out[:, -1]`.

How: the nodes are visited in graph order (ONNX requires topological order). Tensors that depend
on the graph input are the data path; each carries the meaning and a size of every axis (time,
batch, directions, features) and the layers that produced it. Data-path nodes are either compute
nodes, which add a layer (LSTM, Gemm, MatMul, Add onto a MatMul's output, Softmax, Dropout), or axis
plumbing (Transpose, Squeeze, Unsqueeze, Reshape, Flatten, Gather, Slice, Identity, Cast, Concat of
stacked final states), which only moves the axes. Everything off the data path (weights, initial
states, shape computations) is folded to constants on demand, `Shape` of a data tensor included:
a dimension the graph leaves symbolic (time, batch) gets a distinct probe size such as 101, so a
`Reshape` to a computed shape can be told apart from one that merges time and batch. The last
LSTM's output_mode is "last" when the time axis is gone at the output (`Gather` of step -1, `Slice`
from -1, or the `Y_h` output), else "sequence".

ONNX's LSTM has gate order i, o, f, c in W, R and B, and B = [Wb; Rb]: the importer reorders the
gate blocks to MATLAB's i, f, g(=c), o and sums Wb + Rb. Activations: (Sigmoid, Tanh, Tanh) is the
default; HardSigmoid with alpha=0.2, beta=0.5 as gate activation maps to "hard-sigmoid", Softsign
as cell and hidden activation to "softsign"; anything else is rejected. Errors are `NetworkError`
(a ValueError) naming the node, its operator and the offending value.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..network import LSTM, Dropout, FullyConnected, Network, NetworkError, SequenceInput, Softmax

#: ONNX stores the gate blocks as i, o, f, c; MATLAB's block k (i, f, g, o) is ONNX block _GATE_BLOCKS[k].
_GATE_BLOCKS = (0, 2, 3, 1)
#: Sizes given to the graph input's symbolic dimensions (distinct primes, unlike any layer size).
_PROBE_SIZES = (101, 103, 107, 109, 113)
#: Axis meanings on the data path. The graph input's axes are "in<k>" until an LSTM fixes them.
_AXIS_NAMES = {"T": "time", "L": "last time step", "B": "batch", "D": "directions", "U": "unit", "F": "features"}
#: Axes that hold one element for the network (it runs one sequence, forward only): Squeeze may
#: drop them and Gather/Slice pick their element.
_UNIT_AXES = ("B", "D", "U", "L")
_GATE_ACTIVATIONS = {"sigmoid": "sigmoid", "hardsigmoid": "hard-sigmoid"}
_STATE_ACTIVATIONS = {"tanh": "tanh", "softsign": "softsign"}
_HARD_SIGMOID = (0.2, 0.5)  # MATLAB's hard sigmoid as ONNX HardSigmoid's alpha, beta


def onnx_div(a, b) -> np.ndarray:
    """ONNX Div: on integers the quotient truncates toward zero, as C's `/` does in onnxruntime
    (numpy's `//` floors: -7 // 2 is -4, ONNX gives -3); on floats a true division. An integer
    division by zero raises ZeroDivisionError (ONNX leaves it undefined)."""
    a, b = np.asarray(a), np.asarray(b)
    dtype = np.result_type(a, b)
    if not np.issubdtype(dtype, np.integer):
        return np.asarray(a / b)
    if np.any(b == 0):
        raise ZeroDivisionError("integer division by zero")
    q = np.abs(a.astype(dtype)) // np.abs(b.astype(dtype))
    return np.where((a < 0) != (b < 0), -q, q).astype(dtype)


_FOLD_ARITHMETIC = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Neg": np.negative,
                    "Equal": np.equal, "Less": np.less, "Greater": np.greater, "Where": np.where,
                    "Max": np.maximum, "Min": np.minimum, "Range": np.arange, "Div": onnx_div}
_FOLD_PLUMBING = ("Identity", "Cast", "Slice", "Squeeze", "Unsqueeze", "Reshape", "Expand", "Transpose",
                  "Gather", "Concat")

Axis = tuple[str, int]  # (meaning, size)


@dataclasses.dataclass(frozen=True)
class _Layer:
    """A layer to be: the class and its constructor arguments (an LSTM's output_mode is settled at
    the end, once it is known whether the time axis survives)."""

    cls: type
    kwargs: dict


@dataclasses.dataclass(frozen=True)
class _Data:
    """A tensor on the data path: (meaning, size) of each axis and the layers that produced it.
    `parts` is set on a Concat of stacked LSTMs' final states (PyTorch's h_n): one _Data each."""

    axes: tuple[Axis, ...]
    layers: tuple[_Layer, ...] = ()
    parts: tuple["_Data", ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.axes)


class _NotConstant(Exception):
    """Raised while folding a tensor that depends on the data input's values."""


def from_onnx(model) -> Network:
    """Build a `Network` from an ONNX model: a path (str or os.PathLike) or an `onnx.ModelProto`.

    See the module docstring for the supported graphs. Raises `NetworkError` naming the node and
    operator that cannot be imported (e.g. ``ONNX node 'gru' (GRU): operator GRU on the data path is
    not supported``)."""
    import onnx

    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"from_onnx: no such file: {path!r}")
        try:
            model = onnx.load(path)
        except Exception as e:  # protobuf's DecodeError and friends: the bytes are not an ONNX model
            raise NetworkError(f"from_onnx: {path}: not an ONNX model ({type(e).__name__}: {e})") from None
    if not isinstance(model, onnx.ModelProto):
        raise NetworkError(f"from_onnx: expected a path or an onnx.ModelProto, got {type(model).__name__}")
    return _Importer(model).run()


def _axes_text(axes: tuple[Axis, ...]) -> str:
    """E.g. '(time 101, batch 1, features 8)'."""
    def name(label):
        return "input axis " + label[2:] if label.startswith("in") else _AXIS_NAMES[label]
    return "(" + ", ".join(f"{name(label)} {size}" for label, size in axes) + ")"


class _Importer:
    """One import: walks the graph once; see the module docstring."""

    def __init__(self, model):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.values: dict[str, np.ndarray] = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        self.producers = {out: node for node in self.graph.node for out in node.output if out}
        self.data: dict[str, _Data] = {}
        self.unsupported: dict[str, str] = {}  # data-path tensors a Network cannot use, and why

    # ---- the walk ---------------------------------------------------------------------------------
    def run(self) -> Network:
        inputs = [i for i in self.graph.input if i.name not in self.values]
        if len(inputs) != 1:
            raise NetworkError(f"ONNX graph has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}), "
                               "expected one: the sequence")
        dims = inputs[0].type.tensor_type.shape.dim
        if len(dims) not in (2, 3):
            raise NetworkError(f"ONNX graph input {inputs[0].name!r} has rank {len(dims)}, expected 3 "
                               "(time and batch in either order, features last) or 2 (time, features)")
        sizes = [d.dim_value if d.dim_value > 0 else probe for d, probe in zip(dims, _PROBE_SIZES)]
        labels = [f"in{k}" for k in range(len(sizes) - 1)] + ["F"]
        self.data[inputs[0].name] = _Data(tuple(zip(labels, sizes)))
        for node in self.graph.node:
            if node.op_type in ("Shape", "Size") or not any(
                    name in self.data or name in self.unsupported for name in node.input):
                continue  # off the data path: folded when a data-path node needs its value
            for name in node.input:
                if name in self.unsupported:
                    raise NetworkError(f"{self._where(node)}: {self.unsupported[name]}")
            handler = getattr(self, "_op_" + node.op_type, None)
            if node.domain not in ("", "ai.onnx") or handler is None:
                raise NetworkError(f"{self._where(node)}: operator {node.op_type} on the data path is not "
                                   "supported (supported: LSTM, Gemm, MatMul, Add after MatMul, Softmax, Dropout "
                                   "and the axis operators Transpose, Squeeze, Unsqueeze, Reshape, Flatten, "
                                   "Gather, Slice, Identity, Cast, Concat)")
            if any(self.data[n].parts for n in node.input if n in self.data) and node.op_type not in (
                    "Gather", "Slice", "Identity"):
                raise NetworkError(f"{self._where(node)}: uses the concatenated final states of several LSTM "
                                   "layers; select the last layer's (h_n[-1]) first")
            result = handler(node)
            if result is not None:
                self.data[node.output[0]] = result
        return self._network()

    def _network(self) -> Network:
        outputs = list(self.graph.output)
        if len(outputs) != 1:
            raise NetworkError(f"ONNX graph has {len(outputs)} outputs ({', '.join(o.name for o in outputs)}), "
                               "expected one")
        name = outputs[0].name
        if name in self.unsupported:
            raise NetworkError(f"ONNX graph output {name!r}: {self.unsupported[name]}")
        out = self.data.get(name)
        if out is None:
            raise NetworkError(f"ONNX graph output {name!r} does not depend on the input")
        if out.parts:
            raise NetworkError(f"ONNX graph output {name!r} holds the final states of {len(out.parts)} LSTM "
                               "layers; a Network outputs one")
        weighted = [spec for spec in out.layers if spec.cls in (LSTM, FullyConnected)]
        if not weighted:
            raise NetworkError("ONNX graph has no LSTM, Gemm or MatMul between its input and output")
        last_lstm = next((spec for spec in reversed(out.layers) if spec.cls is LSTM), None)
        layers = []
        for spec in out.layers:
            kwargs = dict(spec.kwargs)
            if spec.cls is LSTM:
                kwargs["output_mode"] = "last" if spec is last_lstm and "T" not in out.labels else "sequence"
            layers.append(spec.cls(**kwargs))
        num_features = weighted[0].kwargs["input_weights" if weighted[0].cls is LSTM else "weights"].shape[1]
        return Network([SequenceInput(num_features), *layers])

    # ---- helpers ----------------------------------------------------------------------------------
    def _where(self, node) -> str:
        name = node.name or (node.output[0] if node.output else "?")
        return f"ONNX node {name!r} ({node.op_type})"

    def _attrs(self, node) -> dict:
        return {a.name: self.helper.get_attribute_value(a) for a in node.attribute}

    @staticmethod
    def _input(node, k: int) -> str | None:
        """Name of input k, None when omitted (absent or empty name)."""
        return node.input[k] if len(node.input) > k and node.input[k] else None

    def _data_input(self, node, k: int, what: str) -> _Data:
        name = self._input(node, k)
        if name not in self.data:
            raise NetworkError(f"{self._where(node)}: input {k} ({what}) must be on the data path; "
                               f"{name!r} is a constant")
        return self.data[name]

    def _constant(self, node, k: int, what: str) -> np.ndarray | None:
        """Value of input k (None when omitted); error if it depends on the data input's values."""
        name = self._input(node, k)
        if name is None:
            return None
        if name in self.data:
            raise NetworkError(f"{self._where(node)}: input {k} ({what}) {name!r} depends on the data input; "
                               "expected a constant")
        try:
            return self._value(name)
        except _NotConstant as e:
            raise NetworkError(f"{self._where(node)}: input {k} ({what}) {name!r} could not be folded to a "
                               f"constant ({e})") from None

    def _parameters(self, node) -> list:
        """The inputs of a data-path node after the first (axes, indices, starts, ...), as constants."""
        return [None] + [self._constant(node, k, f"input {k}") for k in range(1, len(node.input))]

    def _axes_param(self, attrs: dict, inputs: list, rank: int) -> list[int] | None:
        """Squeeze/Unsqueeze axes, normalised to >= 0: an attribute before opset 13, input 1 after."""
        axes = attrs.get("axes") if self.opset < 13 else (inputs[1] if len(inputs) > 1 else None)
        return None if axes is None else [int(a) % rank for a in np.ravel(axes)]

    def _slice_param(self, attrs: dict, inputs: list, rank: int) -> list[tuple[int, int, int, int]]:
        """Slice as (axis, start, end, step) per sliced axis: attributes before opset 10, inputs after."""
        if self.opset < 10:
            starts, ends, axes, steps = attrs["starts"], attrs["ends"], attrs.get("axes"), None
        else:
            starts, ends, axes, steps = (list(inputs) + [None] * 5)[1:5]
        starts, ends = np.ravel(starts).tolist(), np.ravel(ends).tolist()
        axes = range(len(starts)) if axes is None else np.ravel(axes).tolist()
        steps = [1] * len(starts) if steps is None else np.ravel(steps).tolist()
        return [(int(a) % rank, int(s), int(e), int(st)) for a, s, e, st in zip(axes, starts, ends, steps)]

    # ---- constant folding (weights, initial states, shape computations) ---------------------------
    def _value(self, name: str) -> np.ndarray:
        """The value of a tensor off the data path (Shape of a data tensor gives its probe sizes)."""
        if name in self.values:
            return self.values[name]
        node = self.producers.get(name)
        if name in self.data or node is None or node.output[0] != name:
            raise _NotConstant(f"{name!r} depends on the input's values")
        value = self._fold(node)
        self.values[name] = value
        return value

    def _fold(self, node) -> np.ndarray:
        op, attrs = node.op_type, self._attrs(node)
        if op == "Constant":
            key, value = next(iter(attrs.items()))
            return self.numpy_helper.to_array(value) if key == "value" else np.array(value)
        if op in ("Shape", "Size"):
            name = node.input[0]
            shape = [size for _, size in self.data[name].axes] if name in self.data else self._value(name).shape
            shape = np.array(shape, dtype=np.int64)
            return shape[attrs.get("start", 0):attrs.get("end")] if op == "Shape" else np.prod(shape)
        if op == "ConstantOfShape":
            fill = self.numpy_helper.to_array(attrs["value"]).ravel()[0] if "value" in attrs else np.float32(0)
            return np.full(self._value(node.input[0]).astype(np.int64), fill)
        inputs = [self._value(n) if n else None for n in node.input]
        if op in _FOLD_ARITHMETIC:
            try:
                return np.asarray(_FOLD_ARITHMETIC[op](*inputs))
            except ZeroDivisionError as e:
                raise NetworkError(f"{self._where(node)}: {e} in a constant the importer computes") from None
        if op not in _FOLD_PLUMBING:
            raise _NotConstant(f"{self._where(node)} cannot be folded")
        x = inputs[0]
        if op == "Identity":
            return x
        if op == "Cast":
            return x.astype(self.helper.tensor_dtype_to_np_dtype(attrs["to"]))
        if op == "Slice":
            index = [slice(None)] * x.ndim
            for axis, start, end, step in self._slice_param(attrs, inputs, x.ndim):
                index[axis] = slice(start, end, step)
            return x[tuple(index)]
        if op == "Squeeze":
            axes = self._axes_param(attrs, inputs, x.ndim)
            return np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(axes))
        if op == "Unsqueeze":
            count = len(np.ravel(attrs["axes"] if self.opset < 13 else inputs[1]))
            return np.expand_dims(x, tuple(self._axes_param(attrs, inputs, x.ndim + count)))
        if op == "Reshape":
            return x.reshape(self._reshape_target(x.shape, inputs[1], attrs))
        if op == "Expand":
            return np.broadcast_to(x, np.broadcast_shapes(x.shape, tuple(np.ravel(inputs[1])))).copy()
        if op == "Transpose":
            return np.transpose(x, attrs.get("perm"))
        if op == "Gather":
            return np.take(x, inputs[1], axis=attrs.get("axis", 0))
        return np.concatenate(inputs, axis=attrs["axis"])  # Concat

    @staticmethod
    def _reshape_target(shape, target, attrs: dict) -> list[int]:
        """Reshape's target with 0 (copy the input's size, unless allowzero) and -1 resolved."""
        target = [shape[k] if d == 0 and not attrs.get("allowzero", 0) else int(d)
                  for k, d in enumerate(np.ravel(target))]
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1]))
            target[target.index(-1)] = int(np.prod(shape)) // known if known else 0
        return target

    # ---- data-path axis plumbing ------------------------------------------------------------------
    def _op_Identity(self, node) -> _Data:
        return self.data[node.input[0]]

    def _op_Cast(self, node) -> _Data:
        to = self.helper.tensor_dtype_to_np_dtype(self._attrs(node)["to"])
        if not np.issubdtype(to, np.floating):
            raise NetworkError(f"{self._where(node)}: casts the data to {to}; only float casts are supported")
        return self.data[node.input[0]]

    def _op_Transpose(self, node) -> _Data:
        x = self.data[node.input[0]]
        perm = self._attrs(node).get("perm", list(reversed(range(len(x.axes)))))
        return dataclasses.replace(x, axes=tuple(x.axes[p] for p in perm))

    def _op_Squeeze(self, node) -> _Data:
        x = self.data[node.input[0]]
        axes = self._axes_param(self._attrs(node), self._parameters(node), len(x.axes))
        removable = [k for k, (label, size) in enumerate(x.axes)
                     if label in _UNIT_AXES or (label.startswith("in") and size == 1)]
        for k in axes if axes is not None else ():
            if k not in removable:
                raise NetworkError(f"{self._where(node)}: squeezes axis {k} of {_axes_text(x.axes)}, which is "
                                   "not an axis of one element")
        axes = removable if axes is None else axes
        return dataclasses.replace(x, axes=tuple(a for k, a in enumerate(x.axes) if k not in axes))

    def _op_Unsqueeze(self, node) -> _Data:
        x = self.data[node.input[0]]
        attrs, inputs = self._attrs(node), self._parameters(node)
        count = len(np.ravel(attrs["axes"] if self.opset < 13 else inputs[1]))
        axes = list(x.axes)
        for k in sorted(self._axes_param(attrs, inputs, len(axes) + count)):
            axes.insert(k, ("U", 1))
        return dataclasses.replace(x, axes=tuple(axes))

    def _op_Reshape(self, node) -> _Data:
        x = self.data[node.input[0]]
        shape = [size for _, size in x.axes]
        return self._regroup(node, x, self._reshape_target(shape, self._constant(node, 1, "shape"),
                                                           self._attrs(node)))

    def _op_Flatten(self, node) -> _Data:
        x = self.data[node.input[0]]
        axis = self._attrs(node).get("axis", 1) % (len(x.axes) + 1)
        shape = [size for _, size in x.axes]
        return self._regroup(node, x, [int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))])

    def _regroup(self, node, x: _Data, target: list[int]) -> _Data:
        """A reshape that only adds or removes axes of one element: the other axes keep their
        meaning, in order. Matched from the right, so a size-1 features axis stays last."""
        kept = [(label, size) for label, size in x.axes if not (label in _UNIT_AXES and size == 1)]
        axes = []
        for size in reversed(target):
            if kept and kept[-1][1] == size:
                axes.append(kept.pop())
            elif size == 1:
                axes.append(("U", 1))
            else:
                break
        else:
            if not kept:
                return dataclasses.replace(x, axes=tuple(reversed(axes)))
        raise NetworkError(f"{self._where(node)}: reshapes {_axes_text(x.axes)} to {tuple(target)}; only "
                           "adding or removing axes of one element is supported (not merging or splitting axes)")

    def _pick(self, node, x: _Data, axis: int, index: int, keep_axis: bool) -> _Data:
        """Select element `index` of `axis`: the last time step, the element of a one-element axis,
        or the last of stacked final states. The axis stays (with size 1) when `keep_axis`."""
        label, size = x.axes[axis]
        if label == "D" and x.parts:
            if index not in (-1, len(x.parts) - 1):
                raise NetworkError(f"{self._where(node)}: selects layer {index} of the final states of "
                                   f"{len(x.parts)} stacked LSTM layers; only the last one (-1) is the output")
            return self._pick(node, x.parts[-1], axis, 0, keep_axis)
        if label == "T" and index in (-1, size - 1):
            label = "L"
        elif label not in _UNIT_AXES or index not in (0, -1):
            raise NetworkError(f"{self._where(node)}: selects element {index} of axis {axis} of "
                               f"{_axes_text(x.axes)}; supported: the last time step (-1) or the element of a "
                               "batch, directions or unit axis")
        axes = list(x.axes)
        if keep_axis:
            axes[axis] = (label, 1)
        else:
            del axes[axis]
        return dataclasses.replace(x, axes=tuple(axes))

    def _op_Gather(self, node) -> _Data:
        x = self.data[node.input[0]]
        axis = self._attrs(node).get("axis", 0) % len(x.axes)
        indices = self._constant(node, 1, "indices")
        if indices.size != 1:
            raise NetworkError(f"{self._where(node)}: gathers {indices.size} elements of axis {axis} of "
                               f"{_axes_text(x.axes)}; expected one")
        return self._pick(node, x, axis, int(indices.ravel()[0]), keep_axis=indices.ndim > 0)

    def _op_Slice(self, node) -> _Data:
        x = self.data[node.input[0]]
        for axis, start, end, step in self._slice_param(self._attrs(node), self._parameters(node), len(x.axes)):
            size = x.axes[axis][1]
            if step == 1 and start == 0 and end >= size:
                continue  # the whole axis
            if step == 1 and ((start in (-1, size - 1) and end >= size) or (start == 0 and end >= 1)):
                x = self._pick(node, x, axis, start, keep_axis=True)  # the last element, or the first
                continue
            raise NetworkError(f"{self._where(node)}: slices {start}:{end}:{step} of axis {axis} of "
                               f"{_axes_text(x.axes)}; supported: the whole axis or the last time step (-1:)")
        return x

    def _op_Concat(self, node) -> _Data:
        parts = [self.data.get(n) for n in node.input]
        axis = self._attrs(node)["axis"] % len(parts[0].axes) if parts[0] else 0
        if any(p is None or p.labels != parts[0].labels or p.labels[axis] != "D" for p in parts):
            raise NetworkError(f"{self._where(node)}: concatenates along axis {axis}; on the data path only "
                               "the final states of stacked LSTM layers (along their directions axis) can be "
                               "concatenated")
        states = tuple(q for p in parts for q in (p.parts or (p,)))  # one per LSTM layer
        axes = list(parts[0].axes)
        axes[axis] = ("D", len(states))
        return _Data(tuple(axes), parts=states)

    # ---- compute nodes ----------------------------------------------------------------------------
    def _op_Dropout(self, node) -> _Data:
        x = self.data[node.input[0]]
        ratio = self._attrs(node).get("ratio", 0.5) if self.opset < 12 else self._constant(node, 1, "ratio")
        ratio = 0.5 if ratio is None else float(np.ravel(ratio)[0])
        return dataclasses.replace(x, layers=x.layers + (_Layer(Dropout, {"probability": ratio}),))

    def _op_Softmax(self, node) -> _Data:
        x = self.data[node.input[0]]
        axis = self._attrs(node).get("axis", 1 if self.opset < 13 else -1) % len(x.axes)
        if x.labels[axis] != "F" or (self.opset < 13 and axis != len(x.axes) - 1):
            raise NetworkError(f"{self._where(node)}: softmax over axis {axis} of {_axes_text(x.axes)}; only "
                               "the features axis is supported")
        return dataclasses.replace(x, layers=x.layers + (_Layer(Softmax, {}),))

    def _fc(self, node, x: _Data, weights: np.ndarray, bias: np.ndarray) -> _Data:
        """A FullyConnected layer on the features axis (the last one)."""
        if x.labels[-1] != "F" or x.axes[-1][1] != weights.shape[1]:
            raise NetworkError(f"{self._where(node)}: multiplies the last axis of {_axes_text(x.axes)} by weights "
                               f"for {weights.shape[1]} inputs; expected the features axis of that size")
        layer = _Layer(FullyConnected, {"output_size": weights.shape[0], "weights": weights.astype(np.float64),
                                        "bias": bias.astype(np.float64)})
        axes = x.axes[:-1] + (("F", weights.shape[0]),)
        return dataclasses.replace(x, axes=axes, layers=x.layers + (layer,))

    def _op_Gemm(self, node) -> _Data:
        """Y = alpha·A'·B' + beta·C with A the data (batch, features): weights alpha·B'ᵀ."""
        x = self._data_input(node, 0, "A")
        attrs = self._attrs(node)
        if attrs.get("transA", 0) or len(x.axes) != 2:
            raise NetworkError(f"{self._where(node)}: input A has axes {_axes_text(x.axes)}"
                               f"{' and transA=1' if attrs.get('transA', 0) else ''}; expected (batch, features)")
        b = self._constant(node, 1, "B")
        weights = attrs.get("alpha", 1.0) * (b if attrs.get("transB", 0) else b.T)
        c = self._constant(node, 2, "C")
        bias = (np.zeros(weights.shape[0]) if c is None
                else attrs.get("beta", 1.0) * self._bias(node, c, weights.shape[0]))
        return self._fc(node, x, weights, bias)

    def _op_MatMul(self, node) -> _Data:
        x = self._data_input(node, 0, "A")
        b = self._constant(node, 1, "B")
        if b.ndim != 2:
            raise NetworkError(f"{self._where(node)}: input B has shape {b.shape}, expected (features, outputs)")
        return self._fc(node, x, b.T, np.zeros(b.shape[1]))

    def _op_Add(self, node) -> _Data:
        """A bias added to the output of a MatMul (or Gemm): folded into that FullyConnected's bias."""
        k = 0 if node.input[0] in self.data else 1
        x = self.data[node.input[k]]
        if not x.layers or x.layers[-1].cls is not FullyConnected or node.input[1 - k] in self.data:
            raise NetworkError(f"{self._where(node)}: Add on the data path is supported only as the bias of a "
                               "MatMul or Gemm (a constant added to its output)")
        fc = x.layers[-1].kwargs
        bias = fc["bias"] + self._bias(node, self._constant(node, 1 - k, "bias"), fc["output_size"])
        return dataclasses.replace(x, layers=x.layers[:-1] + (_Layer(FullyConnected, {**fc, "bias": bias}),))

    def _bias(self, node, value: np.ndarray, size: int) -> np.ndarray:
        """A bias that varies along the features axis only, as a (size,) float64 array."""
        if value.size not in (1, size) or (value.ndim and value.shape[-1] != value.size):
            raise NetworkError(f"{self._where(node)}: bias has shape {value.shape}, expected ({size},) "
                               "(one value per output feature)")
        return np.broadcast_to(value.astype(np.float64).ravel(), (size,)).copy()

    def _op_LSTM(self, node) -> None:
        attrs, where = self._attrs(node), self._where(node)
        direction = attrs.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction != "forward":
            raise NetworkError(f"{where}: direction={direction!r} is not supported (only forward LSTMs)")
        for name, default in (("clip", None), ("input_forget", 0)):
            if attrs.get(name, default) != default:
                raise NetworkError(f"{where}: {name}={attrs[name]} is not supported")
        gate_activation, state_activation = self._activations(node, attrs)
        layout = attrs.get("layout", 0)
        x = self._data_input(node, 0, "X")
        w, r = self._constant(node, 1, "W"), self._constant(node, 2, "R")
        if w is None or r is None:
            raise NetworkError(f"{where}: the weights W and R are required")
        h = attrs.get("hidden_size", r.shape[-1])
        if w.ndim != 3 or w.shape[:2] != (1, 4 * h) or r.shape != (1, 4 * h, h):
            raise NetworkError(f"{where}: W has shape {w.shape} and R {r.shape}, expected (1, {4 * h}, C) and "
                               f"(1, {4 * h}, {h}) for hidden_size={h}")
        b = self._constant(node, 3, "B")
        if b is not None and b.shape != (1, 8 * h):
            raise NetworkError(f"{where}: B has shape {b.shape}, expected (1, {8 * h})")
        b = np.zeros(4 * h) if b is None else b[0, :4 * h].astype(np.float64) + b[0, 4 * h:]
        if self._input(node, 4):
            raise NetworkError(f"{where}: sequence_lens is not supported (the network runs one sequence of "
                               "any length)")
        peephole = self._constant(node, 7, "P")
        if peephole is not None and np.any(peephole):
            raise NetworkError(f"{where}: peephole weights P are not supported")
        time_axis, batch_axis = (0, 1) if layout == 0 else (1, 0)
        if not self._lstm_input_ok(x.labels, time_axis, batch_axis) or x.axes[2][1] != w.shape[2]:
            raise NetworkError(f"{where}: input X has axes {_axes_text(x.axes)}, expected "
                               f"{'(time, batch, features' if layout == 0 else '(batch, time, features'} "
                               f"{w.shape[2]}) for layout={layout}")
        layer = _Layer(LSTM, {"num_hidden": h, "input_weights": self._gates(w[0]),
                              "recurrent_weights": self._gates(r[0]), "bias": self._gates(b),
                              "hidden_state": self._state(node, 5, "initial_h", h),
                              "cell_state": self._state(node, 6, "initial_c", h),
                              "state_activation": state_activation, "gate_activation": gate_activation})
        t, n = ("T", x.axes[time_axis][1]), ("B", x.axes[batch_axis][1])
        y = (t, ("D", 1), n, ("F", h)) if layout == 0 else (n, t, ("D", 1), ("F", h))
        y_h = (("D", 1), n, ("F", h)) if layout == 0 else (n, ("D", 1), ("F", h))
        for name, axes in zip(node.output[:2], (y, y_h)):
            if name:
                self.data[name] = _Data(axes, x.layers + (layer,))
        if len(node.output) > 2 and node.output[2]:
            self.unsupported[node.output[2]] = (f"uses the final cell state Y_c of {where}, which a Network "
                                                "cannot output")

    @staticmethod
    def _lstm_input_ok(labels: tuple[str, ...], time_axis: int, batch_axis: int) -> bool:
        """Whether X's axes can be the LSTM's: features last; the graph input's axes ("in<k>") may
        be time or batch, and a unit axis may serve as the batch."""
        return (len(labels) == 3 and labels[2] == "F" and labels[time_axis] in ("T", "in0", "in1")
                and labels[batch_axis] in ("B", "U", "in0", "in1"))

    @staticmethod
    def _gates(value: np.ndarray) -> np.ndarray:
        """Rows in ONNX's gate blocks (i, o, f, c) → MATLAB's (i, f, g, o), as float64."""
        blocks = np.split(np.asarray(value, dtype=np.float64), 4, axis=0)
        return np.concatenate([blocks[k] for k in _GATE_BLOCKS], axis=0)

    def _state(self, node, k: int, what: str, hidden: int) -> np.ndarray | None:
        """A constant initial state (directions, batch, H) as (H,); None when omitted or zero."""
        if self._input(node, k) in self.data:
            raise NetworkError(f"{self._where(node)}: {what} depends on the data input; only constant "
                               "initial states are supported")
        value = self._constant(node, k, what)
        if value is None:
            return None
        if value.ndim == 0 or value.shape[-1] != hidden:
            raise NetworkError(f"{self._where(node)}: {what} has shape {value.shape}, expected (1, 1, {hidden})")
        rows = value.reshape(-1, hidden).astype(np.float64)
        if np.any(rows != rows[0]):
            raise NetworkError(f"{self._where(node)}: {what} has shape {value.shape} with different states per "
                               f"batch element; expected one state (1, 1, {hidden})")
        return rows[0] if np.any(rows[0]) else None

    def _activations(self, node, attrs: dict) -> tuple[str, str]:
        """(gate_activation, state_activation) from ONNX's activations (f, g, h) and their alphas/betas."""
        names = [a.decode() if isinstance(a, bytes) else a
                 for a in attrs.get("activations", ["Sigmoid", "Tanh", "Tanh"])]
        if len(names) != 3:
            raise NetworkError(f"{self._where(node)}: activations={names}; expected 3 (f, g, h) for a forward LSTM")
        f, g, h = (n.lower() for n in names)
        if f not in _GATE_ACTIVATIONS or g not in _STATE_ACTIVATIONS or g != h:
            raise NetworkError(f"{self._where(node)}: activations={names} are not supported; expected gate "
                               "activation f Sigmoid or HardSigmoid and the same cell/hidden activation g = h, "
                               "Tanh or Softsign")
        if f == "hardsigmoid":  # f comes first, so it takes the first alpha and beta
            alpha = (list(attrs.get("activation_alpha", [])) or [_HARD_SIGMOID[0]])[0]
            beta = (list(attrs.get("activation_beta", [])) or [_HARD_SIGMOID[1]])[0]
            if not np.allclose((alpha, beta), _HARD_SIGMOID, rtol=0, atol=1e-6):
                raise NetworkError(f"{self._where(node)}: HardSigmoid with alpha={alpha:g}, beta={beta:g} is not "
                                   "supported; the hard-sigmoid gate activation is alpha=0.2, beta=0.5")
        return _GATE_ACTIVATIONS[f], _STATE_ACTIVATIONS[g]

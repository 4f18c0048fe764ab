"""The importers against their frameworks' own forward passes.

Each test imports a model and compares `compiler.reference.predict` (float64) on the imported `Network`
with the framework running the same model: PyTorch in float64 (modules `.double()`, so only
summation order differs: tolerance 1e-12) and onnxruntime in float32 (tolerance 1e-5). Random
weights cover the options (stacked layers, batch_first, initial state, output modes, softmax and
regression heads); the trained Japanese Vowels network covers realistic weights and data. The
`_permute_gates` tests show that these comparisons do notice a wrong gate order.

Skipped, with the reason, when PyTorch, ONNX or onnxruntime is not installed
(pip install -e '.[frameworks]').
"""
from __future__ import annotations

import dataclasses
import io
import warnings
from pathlib import Path

import numpy as np
import pytest

from compiler import LSTM, Dropout, FullyConnected, Network, NetworkError, Softmax
from compiler.importers import from_onnx, from_torch
from compiler.importers.onnx import onnx_div
from compiler.network import GATES
from examples.japanese_vowels import data as vowels
from compiler import reference

C, H, K = 5, 7, 3                 # features, hidden units, outputs of the random models
LENGTHS = (1, 6, 17)
TORCH_ATOL = 1e-12                # float64 PyTorch vs float64 reference
ORT_ATOL = 1e-5                   # float32 onnxruntime vs float64 reference
TRAINED = Path(vowels.__file__).with_name("lstm100.npz")
FRAMEWORKS = "pip install -e '.[frameworks]'"


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason=f"PyTorch is not installed ({FRAMEWORKS})")


@pytest.fixture(scope="module")
def onnx():
    return pytest.importorskip("onnx", reason=f"onnx is not installed ({FRAMEWORKS})")


@pytest.fixture(scope="module")
def ort():
    return pytest.importorskip("onnxruntime", reason=f"onnxruntime is not installed ({FRAMEWORKS})")


def _sequences(seed: int, features: int = C, lengths=LENGTHS) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(t, features)) for t in lengths]


def _permute_gates(net: Network, order: str) -> Network:
    """The network with each LSTM's gate blocks rearranged: new block k is old block order[k]
    (e.g. "igfo" swaps f and g): what an importer with a wrong gate order would build."""
    blocks = np.array([GATES.index(g) for g in order])
    layers = []
    for layer in net.layers:
        if isinstance(layer, LSTM):
            h = layer.num_hidden
            rows = (blocks[:, None] * h + np.arange(h)).ravel()
            layer = dataclasses.replace(layer, input_weights=layer.input_weights[rows],
                                        recurrent_weights=layer.recurrent_weights[rows], bias=layer.bias[rows])
        layers.append(layer)
    return Network(layers)


def _max_error(net: Network, sequences, expected) -> float:
    outputs, _ = reference.predict(net, sequences)
    return max(float(np.max(np.abs(y - e))) for y, e in zip(outputs, expected))


def _assert_same_arrays(a: Network, b: Network, **tolerance) -> None:
    assert [type(layer) for layer in a.layers] == [type(layer) for layer in b.layers]
    for la, lb in zip(a.layers, b.layers):
        assert la.options == lb.options and la.arrays.keys() == lb.arrays.keys()
        for key in la.arrays:
            np.testing.assert_allclose(la.arrays[key], lb.arrays[key], err_msg=f"{la.name}.{key}", **tolerance)


# ---- PyTorch ------------------------------------------------------------------------------------
def _torch_run(torch, lstm, head, x: np.ndarray, output_mode: str, state=None) -> np.ndarray:
    """PyTorch's output for one (T, C) sequence, batch of one: out[:, -1] (or out[-1] when not
    batch_first) in "last" mode, then the head modules."""
    xt = torch.from_numpy(x).to(lstm.weight_ih_l0.dtype)
    xt = xt[None] if lstm.batch_first else xt[:, None]
    with torch.no_grad():
        out, _ = lstm(xt, state)
        if output_mode == "last":
            out = out[:, -1] if lstm.batch_first else out[-1]
        for module in head:
            out = module(out)
    out = out.double().numpy()
    return out[0] if output_mode == "last" or lstm.batch_first else out[:, 0]


def _torch_model(torch, seed: int, num_layers: int, batch_first: bool, output_mode: str, softmax: bool):
    """A float64 nn.LSTM and its head [Dropout, Linear(, Softmax)] with PyTorch's initialisation."""
    nn = torch.nn
    torch.manual_seed(seed)
    lstm = nn.LSTM(C, H, num_layers=num_layers, batch_first=batch_first).double().eval()
    head = [nn.Dropout(0.25).eval(), nn.Linear(H, K).double()]
    if softmax:
        head.append(nn.Softmax(dim=1 if output_mode == "last" else 2))
    return lstm, head


@pytest.mark.parametrize("num_layers, batch_first, output_mode, softmax, with_state", [
    pytest.param(1, True, "last", True, False, id="1layer-batchfirst-last-softmax"),
    pytest.param(2, False, "last", True, True, id="2layers-timefirst-last-softmax-state"),
    pytest.param(2, True, "sequence", False, True, id="2layers-batchfirst-sequence-regression-state"),
    pytest.param(1, False, "sequence", True, False, id="1layer-timefirst-sequence-softmax"),
    pytest.param(1, True, "last", False, True, id="1layer-batchfirst-last-regression-state"),
])
def test_from_torch_matches_pytorch(torch, num_layers, batch_first, output_mode, softmax, with_state):
    lstm, head = _torch_model(torch, 3, num_layers, batch_first, output_mode, softmax)
    state = None
    if with_state:
        gen = torch.Generator().manual_seed(4)
        state = tuple(torch.randn(num_layers, 1, H, generator=gen, dtype=torch.float64) for _ in range(2))
    # PyTorch's (num_layers, 1, H) state; h0 given as a (num_layers, H) array, the other shape accepted
    initial = None if state is None else (state[0][:, 0].numpy(), state[1])
    net = from_torch([lstm, *head], output_mode=output_mode, input_size=C, initial_state=initial)

    assert [type(layer) for layer in net.layers[1:]] == [LSTM] * num_layers + [Dropout, FullyConnected] + (
        [Softmax] if softmax else [])
    assert [layer.output_mode for layer in net.lstm_layers] == ["sequence"] * (num_layers - 1) + [output_mode]
    if with_state:
        np.testing.assert_array_equal(net.lstm_layers[-1].cell_state, state[1][-1, 0].numpy())
    sequences = _sequences(5)
    expected = [_torch_run(torch, lstm, head, x, output_mode, state) for x in sequences]
    assert expected[-1].shape == ((K,) if output_mode == "last" else (LENGTHS[-1], K))
    assert _max_error(net, sequences, expected) < TORCH_ATOL


def test_torch_comparison_notices_wrong_gate_order(torch):
    """Swapping the f and g rows, or reordering PyTorch's weights as if they were in ONNX's order
    i, o, f, c (giving i, g, o, f), moves the outputs far beyond the tolerance, so the comparisons
    above do check the gate order."""
    lstm, head = _torch_model(torch, 3, 1, True, "sequence", softmax=False)
    net = from_torch([lstm, *head], output_mode="sequence")
    sequences = _sequences(5)
    expected = [_torch_run(torch, lstm, head, x, "sequence") for x in sequences]
    assert _max_error(net, sequences, expected) < TORCH_ATOL
    for wrong in ("igfo", "igof"):
        assert _max_error(_permute_gates(net, wrong), sequences, expected) > 1e-3, wrong


def test_from_torch_sums_the_two_biases_and_keeps_weights(torch):
    lstm, head = _torch_model(torch, 1, 1, True, "last", softmax=True)
    net = from_torch(torch.nn.Sequential(lstm, *head))
    layer = net.lstm_layers[0]
    np.testing.assert_array_equal(layer.input_weights, lstm.weight_ih_l0.detach().numpy())
    np.testing.assert_array_equal(layer.recurrent_weights, lstm.weight_hh_l0.detach().numpy())
    np.testing.assert_array_equal(layer.bias, (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy())
    assert layer.hidden_state is None and layer.output_mode == "last"


@pytest.mark.parametrize("build, message", [
    (lambda nn: [nn.GRU(C, H)], r"module 0 \(GRU\): not supported"),
    (lambda nn: [nn.LSTM(C, H, bidirectional=True)], r"module 0 \(LSTM\): bidirectional=True is not supported"),
    (lambda nn: [nn.LSTM(C, H, proj_size=3)], r"module 0 \(LSTM\): proj_size=3 is not supported"),
    (lambda nn: [nn.LSTM(C, H), nn.ReLU()], r"module 1 \(ReLU\): not supported"),
    (lambda nn: [nn.LSTM(C, H), nn.Linear(H + 1, K)],
     r"module 1 \(Linear\): expects 8 input features, but the previous module outputs 7"),
    (lambda nn: [nn.LSTM(C, H), nn.Linear(H, K), nn.Softmax(dim=0)],
     r"module 2 \(Softmax\): dim=0 is not the feature dimension of its 2-D input; expected -1 or 1"),
    (lambda nn: nn.LSTM(C, H), r"got one LSTM module; pass the list of modules"),
])
def test_from_torch_rejects_unsupported_modules(torch, build, message):
    with pytest.raises(NetworkError, match=message):
        from_torch(build(torch.nn), output_mode="last")


def test_from_torch_checks_input_size_and_initial_state(torch):
    nn = torch.nn
    with pytest.raises(NetworkError, match=r"module 0 \(LSTM\): expects 5 input features, but input_size=4"):
        from_torch([nn.LSTM(C, H)], input_size=4)
    with pytest.raises(NetworkError, match=r"module 0 \(LSTM\): initial state h0 has shape \(1, 6\), "
                                           r"expected \(2, 7\) or \(2, 1, 7\)"):
        from_torch([nn.LSTM(C, H, num_layers=2)], initial_state=(np.zeros((1, 6)), np.zeros((2, 7))))
    with pytest.raises(NetworkError, match="pass input_size"):
        from_torch([nn.Dropout()])
    assert from_torch([nn.Dropout(), nn.Softmax(dim=-1)], input_size=4).input_size == 4


# ---- ONNX from torch.onnx.export ------------------------------------------------------------------
def _export(torch, onnx, model, batch_first: bool, dynamo: bool = False, features: int = C):
    """torch.onnx.export with dynamic batch and time axes, as an onnx.ModelProto. The TorchScript
    exporter (dynamo=False) needs nothing beyond torch and onnx; its deprecation and tracer
    warnings are expected here and silenced."""
    x = torch.zeros((1, 4, features) if batch_first else (4, 1, features))
    axes = {0: "batch", 1: "time"} if batch_first else {0: "time", 1: "batch"}
    if dynamo:
        dims = {k: torch.export.Dim(name) for k, name in axes.items()}
        return torch.onnx.export(model, (x,), dynamo=True, dynamic_shapes=(dims,), verbose=False).model_proto
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buffer, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": axes})
    return onnx.load_from_string(buffer.getvalue())


def _ort_run(ort, model, sequences, batch_first: bool, output_mode: str) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = []
    for x in sequences:
        x = x.astype(np.float32)
        y = session.run(None, {name: x[None] if batch_first else x[:, None]})[0]
        outputs.append(y[0] if output_mode == "last" or batch_first else y[:, 0])
    return outputs


def _torch_module(torch, seed: int, num_layers: int, batch_first: bool, output_mode: str, with_state: bool,
                  softmax: bool = True):
    """An nn.Module: LSTM → Linear (per step in "sequence" mode, on out[:, -1] in "last") → Softmax,
    with the initial state as buffers when `with_state`."""
    nn = torch.nn
    torch.manual_seed(seed)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(C, H, num_layers=num_layers, batch_first=batch_first)
            self.fc = nn.Linear(H, K)
            self.softmax = nn.Softmax(dim=-1) if softmax else nn.Identity()
            self.register_buffer("h0", 0.5 * torch.randn(num_layers, 1, H))
            self.register_buffer("c0", torch.randn(num_layers, 1, H))

        def forward(self, x):
            out, _ = self.lstm(x, (self.h0, self.c0)) if with_state else self.lstm(x)
            if output_mode == "last":
                out = out[:, -1] if batch_first else out[-1]
            return self.softmax(self.fc(out))

    return Model().eval()


@pytest.mark.parametrize("num_layers, batch_first, output_mode, with_state", [
    pytest.param(1, True, "last", False, id="1layer-batchfirst-last"),
    pytest.param(2, True, "last", True, id="2layers-batchfirst-last-state"),
    pytest.param(2, False, "sequence", False, id="2layers-timefirst-sequence"),
    pytest.param(1, False, "last", True, id="1layer-timefirst-last-state"),
])
def test_from_onnx_of_torch_export_matches_onnxruntime(torch, onnx, ort, tmp_path, num_layers, batch_first,
                                                       output_mode, with_state):
    model = _torch_module(torch, 6, num_layers, batch_first, output_mode, with_state)
    proto = _export(torch, onnx, model, batch_first)
    onnx.save(proto, tmp_path / "model.onnx")
    net = from_onnx(tmp_path / "model.onnx")

    assert [layer.output_mode for layer in net.lstm_layers] == ["sequence"] * (num_layers - 1) + [output_mode]
    assert isinstance(net.layers[-1], Softmax)
    sequences = _sequences(7)
    expected = _ort_run(ort, proto, sequences, batch_first, output_mode)
    assert _max_error(net, sequences, expected) < ORT_ATOL
    # the same weights as importing the modules directly: gate order and bias sum agree exactly
    state = (model.h0, model.c0) if with_state else None
    _assert_same_arrays(net, from_torch([model.lstm, model.fc, model.softmax], output_mode=output_mode,
                                        initial_state=state), rtol=0, atol=0)


def test_from_onnx_final_hidden_state_and_regression_head(torch, onnx, ort):
    """fc(h_n[-1]) of a 2-layer LSTM (Concat of the layers' Y_h, then Gather -1), no softmax."""
    nn = torch.nn
    torch.manual_seed(8)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(C, H, num_layers=2, batch_first=True)
            self.fc = nn.Linear(H, 1)

        def forward(self, x):
            _, (h_n, _) = self.lstm(x)
            return self.fc(h_n[-1])

    proto = _export(torch, onnx, Model().eval(), batch_first=True)
    net = from_onnx(proto)
    assert net.output_mode == "last" and isinstance(net.layers[-1], FullyConnected) and net.output_size == 1
    sequences = _sequences(9)
    assert _max_error(net, sequences, _ort_run(ort, proto, sequences, True, "last")) < ORT_ATOL


@pytest.mark.slow  # about 5 s of torch.export
def test_from_onnx_of_dynamo_export(torch, onnx, ort):
    """The default (torch.export-based) exporter writes Reshape of the directions axis instead of
    Squeeze; it needs onnxscript, which the frameworks extra does not install."""
    pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")
    model = _torch_module(torch, 10, 2, True, "last", with_state=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proto = _export(torch, onnx, model, batch_first=True, dynamo=True)
    net = from_onnx(proto)
    sequences = _sequences(11)
    assert _max_error(net, sequences, _ort_run(ort, proto, sequences, True, "last")) < ORT_ATOL


# ---- hand-built ONNX graphs ---------------------------------------------------------------------
def _onnx_graph(onnx, seed: int = 12, lstm: dict | None = None, tail=None, initial_state: bool = True,
                input_shape=("T", 1, C), output_shape=(1, K), extra: dict | None = None):
    """x (T, 1, C) → LSTM (initial_h/initial_c initialisers) → Y_h → Squeeze → Gemm → Softmax, opset
    17. `lstm` overrides LSTM attributes; `tail` replaces the nodes after the LSTM (a list of
    (op, inputs, outputs, attributes) with the graph output "y"); `extra` adds initialisers.
    Returns (model, initialisers)."""
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    rng = np.random.default_rng(seed)
    directions = 2 if (lstm or {}).get("direction") == "bidirectional" else 1

    def weights(*shape, scale=0.5):
        return (scale * rng.normal(size=shape)).astype(np.float32)

    arrays = {"W": weights(directions, 4 * H, C), "R": weights(directions, 4 * H, H),
              "B": weights(directions, 8 * H), "h0": weights(directions, 1, H), "c0": weights(directions, 1, H),
              "fc_w": weights(K, H), "fc_b": weights(K), "axis0": np.array([0]), "axis1": np.array([1]),
              "minus1": np.array(-1), "shape": np.array([0, 0, -1]), "flat": np.array([-1])}
    arrays["fc_wt"] = arrays["fc_w"].T.copy()
    arrays.update(extra or {})
    state = ["h0", "c0"] if initial_state else ["", ""]
    nodes = [helper.make_node("LSTM", ["x", "W", "R", "B", "", *state], ["y_all", "y_h", "y_c"], name="lstm",
                              hidden_size=H, **(lstm or {}))]
    tail = tail or [("Squeeze", ["y_h", "axis0"], ["h"], {}), ("Gemm", ["h", "fc_w", "fc_b"], ["z"], {"transB": 1}),
                    ("Softmax", ["z"], ["y"], {"axis": -1})]
    nodes += [helper.make_node(op, inputs, outputs, name=op.lower(), **attrs) for op, inputs, outputs, attrs in tail]
    graph = helper.make_graph(nodes, "lstm", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, input_shape)],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, output_shape)],
                              initializer=[numpy_helper.from_array(v, k) for k, v in arrays.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # onnxruntime reads IR versions up to its own release's
    onnx.checker.check_model(model)
    return model, arrays


@pytest.mark.parametrize("lstm, gate_activation, state_activation", [
    pytest.param(None, "sigmoid", "tanh", id="default"),
    pytest.param({"activations": ["HardSigmoid", "Softsign", "Softsign"], "activation_alpha": [0.2],
                  "activation_beta": [0.5]}, "hard-sigmoid", "softsign", id="hardsigmoid-softsign"),
    pytest.param({"activations": ["Sigmoid", "Softsign", "Softsign"]}, "sigmoid", "softsign", id="softsign"),
])
def test_hand_built_onnx_lstm_gemm_matches_onnxruntime(onnx, ort, lstm, gate_activation, state_activation):
    model, arrays = _onnx_graph(onnx, lstm=lstm)
    net = from_onnx(model)
    layer = net.lstm_layers[0]
    assert (layer.gate_activation, layer.state_activation, layer.output_mode) == (
        gate_activation, state_activation, "last")
    np.testing.assert_array_equal(layer.hidden_state, arrays["h0"].ravel())
    np.testing.assert_array_equal(layer.cell_state, arrays["c0"].ravel())
    # ONNX's i, o, f, c blocks in MATLAB's order i, f, g, o; B = Wb + Rb
    w, b = arrays["W"][0], arrays["B"][0, :4 * H] + arrays["B"][0, 4 * H:].astype(np.float64)
    for k, onnx_block in enumerate((0, 2, 3, 1)):
        np.testing.assert_array_equal(layer.input_weights[k * H:(k + 1) * H], w[onnx_block * H:(onnx_block + 1) * H])
        np.testing.assert_array_equal(layer.bias[k * H:(k + 1) * H], b[onnx_block * H:(onnx_block + 1) * H])
    sequences = _sequences(13)
    expected = _ort_run(ort, model, sequences, batch_first=False, output_mode="last")
    assert _max_error(net, sequences, expected) < ORT_ATOL


def test_onnx_comparison_notices_wrong_gate_order(onnx, ort):
    """Taking ONNX's blocks i, o, f, c as MATLAB's i, f, g, o (no reordering) fails the comparison."""
    model, _ = _onnx_graph(onnx)
    net = from_onnx(model)
    sequences = _sequences(13)
    expected = _ort_run(ort, model, sequences, batch_first=False, output_mode="last")
    assert _max_error(net, sequences, expected) < ORT_ATOL
    unreordered = "iofg"  # ONNX's k-th block (i, o, f, c=g) read as MATLAB's k-th
    assert _max_error(_permute_gates(net, unreordered), sequences, expected) > 1e-3


def test_hand_built_onnx_sequence_mode_matmul_add(onnx, ort):
    """Y (T, 1, 1, H) → Squeeze directions → MatMul → Add, no initial state: "sequence" mode."""
    tail = [("Squeeze", ["y_all", "axis1"], ["h"], {}), ("Transpose", ["h"], ["h_t"], {"perm": [1, 0, 2]}),
            ("MatMul", ["h_t", "fc_wt"], ["z"], {}), ("Add", ["fc_b", "z"], ["y"], {})]
    model, arrays = _onnx_graph(onnx, tail=tail, initial_state=False, output_shape=(1, "T", K))
    net = from_onnx(model)
    assert net.output_mode == "sequence" and net.lstm_layers[0].hidden_state is None
    np.testing.assert_array_equal(net.layers[-1].bias, arrays["fc_b"])
    sequences = _sequences(14)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = [session.run(None, {"x": x.astype(np.float32)[:, None]})[0][0] for x in sequences]
    assert _max_error(net, sequences, expected) < ORT_ATOL


def test_hand_built_onnx_reshape_and_gather_of_last_step(onnx, ort):
    """The dynamo exporter's pattern: Y (T, D, B, H) → Transpose → Reshape [0, 0, -1], which merges
    the one direction into the features → Gather of step -1 → Gemm (no softmax)."""
    tail = [("Transpose", ["y_all"], ["y_t"], {"perm": [0, 2, 1, 3]}), ("Reshape", ["y_t", "shape"], ["y3"], {}),
            ("Gather", ["y3", "minus1"], ["h"], {"axis": 0}), ("Gemm", ["h", "fc_w", "fc_b"], ["y"], {"transB": 1})]
    model, _ = _onnx_graph(onnx, tail=tail)
    net = from_onnx(model)
    assert net.output_mode == "last" and isinstance(net.layers[-1], FullyConnected)
    sequences = _sequences(15)
    expected = _ort_run(ort, model, sequences, batch_first=False, output_mode="last")
    assert _max_error(net, sequences, expected) < ORT_ATOL


def test_onnx_integer_div_truncates_toward_zero_like_onnxruntime(onnx, ort):
    """ONNX Div on integers truncates toward zero (C's `/` in onnxruntime), numpy's // floors."""
    helper = onnx.helper
    a = np.array([-7, 7, -7, 7, -6, 6, 0, -1, 1, np.iinfo(np.int32).min + 1, 5])
    b = np.array([2, 2, -2, -2, 3, -3, 5, 3, -3, 7, 1])
    for dtype, proto in ((np.int64, onnx.TensorProto.INT64), (np.int32, onnx.TensorProto.INT32)):
        graph = helper.make_graph([helper.make_node("Div", ["a", "b"], ["q"])], "div",
                                  [helper.make_tensor_value_info(n, proto, [len(a)]) for n in "ab"],
                                  [helper.make_tensor_value_info("q", proto, [len(a)])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        expected = session.run(None, {"a": a.astype(dtype), "b": b.astype(dtype)})[0]
        got = onnx_div(a.astype(dtype), b.astype(dtype))
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == expected.dtype
    np.testing.assert_allclose(onnx_div(np.float32([-7.0]), np.float32([2.0])), [-3.5])


def test_from_onnx_folds_an_integer_div_as_onnxruntime_computes_it(onnx, ort):
    """The FC bias is Cast(Div(int, int)): folded with truncation, the import matches onnxruntime
    (floor division would give -4, 3, -1 instead of -3, 3, 0 ...)."""
    num = np.array([-7, 7, -1, 9, -9, 4, -5, 8, -3][:K], dtype=np.int64)
    den = np.array([2, 2, 2, -4, 4, 3, 2, -3, 2][:K], dtype=np.int64)
    tail = [("Squeeze", ["y_h", "axis0"], ["h"], {}), ("Div", ["num", "den"], ["q"], {}),
            ("Cast", ["q"], ["bias"], {"to": onnx.TensorProto.FLOAT}),
            ("Gemm", ["h", "fc_w", "bias"], ["y"], {"transB": 1})]
    model, _ = _onnx_graph(onnx, tail=tail, extra={"num": num, "den": den})
    net = from_onnx(model)
    np.testing.assert_array_equal(net.layers[-1].bias, np.trunc(num / den))
    sequences = _sequences(16)
    expected = _ort_run(ort, model, sequences, batch_first=False, output_mode="last")
    assert _max_error(net, sequences, expected) < ORT_ATOL
    # an integer division by zero in a folded constant names the node
    model, _ = _onnx_graph(onnx, tail=tail, extra={"num": num, "den": np.zeros_like(den)})
    with pytest.raises(NetworkError, match=r"ONNX node 'div' \(Div\): integer division by zero"):
        from_onnx(model)


def test_hand_built_onnx_batch_major_layout(onnx):
    """layout=1: X (batch, time, features), Y_h (batch, directions, H). Checked with onnx's own
    reference evaluator, as onnxruntime's CPU LSTM implements layout=0 only."""
    tail = [("Squeeze", ["y_h", "axis1"], ["h"], {}), ("Gemm", ["h", "fc_w", "fc_b"], ["y"], {"transB": 1})]
    model, _ = _onnx_graph(onnx, lstm={"layout": 1}, tail=tail, input_shape=(1, "T", C))
    net = from_onnx(model)
    assert net.output_mode == "last" and net.lstm_layers[0].hidden_state is not None
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(model)
    sequences = _sequences(16)
    expected = [evaluator.run(None, {"x": x.astype(np.float32)[None]})[0][0] for x in sequences]
    assert _max_error(net, sequences, expected) < ORT_ATOL


@pytest.mark.parametrize("lstm, tail, message", [
    pytest.param({"direction": "bidirectional"}, None,
                 r"ONNX node 'lstm' \(LSTM\): direction='bidirectional' is not supported", id="bidirectional"),
    pytest.param({"activations": ["HardSigmoid", "Tanh", "Tanh"], "activation_alpha": [0.3]}, None,
                 r"HardSigmoid with alpha=0.3, beta=0.5 is not supported", id="hardsigmoid-alpha"),
    pytest.param({"activations": ["Sigmoid", "Tanh", "Relu"]}, None,
                 r"activations=\['Sigmoid', 'Tanh', 'Relu'\] are not supported", id="relu-activation"),
    pytest.param(None, [("Squeeze", ["y_h", "axis0"], ["h"], {}), ("Relu", ["h"], ["y"], {})],
                 r"ONNX node 'relu' \(Relu\): operator Relu on the data path is not supported", id="unknown-op"),
    pytest.param(None, [("Gather", ["y_all", "axis0"], ["y"], {"axis": 0})],
                 r"ONNX node 'gather' \(Gather\): selects element 0 of axis 0 of \(time 101, ", id="first-step"),
    pytest.param(None, [("Reshape", ["y_all", "flat"], ["y"], {})],
                 r"ONNX node 'reshape' \(Reshape\): reshapes \(time 101, directions 1, batch 1, features 7\) to "
                 r"\(707,\); only adding or removing axes of one element", id="reshape-merging-axes"),
    pytest.param(None, [("Squeeze", ["y_c", "axis0"], ["y"], {})],
                 r"ONNX node 'squeeze' \(Squeeze\): uses the final cell state Y_c", id="cell-state"),
])
def test_from_onnx_rejects_unsupported_graphs(onnx, lstm, tail, message):
    model, _ = _onnx_graph(onnx, lstm=lstm, tail=tail)
    with pytest.raises(NetworkError, match=message):
        from_onnx(model)


def test_from_onnx_rejects_exported_gru_and_bidirectional_lstm(torch, onnx):
    nn = torch.nn
    for rnn, message in ((nn.GRU(C, H, batch_first=True), r"\(GRU\): operator GRU on the data path is not supported"),
                         (nn.LSTM(C, H, batch_first=True, bidirectional=True),
                          r"\(LSTM\): direction='bidirectional' is not supported")):
        class Model(nn.Module):
            def __init__(self, rnn):
                super().__init__()
                self.rnn = rnn

            def forward(self, x):
                return self.rnn(x)[0][:, -1]

        with pytest.raises(NetworkError, match=message):
            from_onnx(_export(torch, onnx, Model(rnn).eval(), batch_first=True))


# ---- the trained Japanese Vowels network ----------------------------------------------------------
@pytest.fixture(scope="module")
def vowels_net() -> Network:
    return Network.load(TRAINED)


@pytest.fixture(scope="module")
def vowels_test() -> tuple[list[np.ndarray], np.ndarray]:
    sequences, labels = vowels.load("test")
    return [x.astype(np.float64) for x in sequences], labels


def _vowels_modules(torch, net: Network, dtype):
    """nn.LSTM and nn.Linear carrying the saved network's weights (bias_hh zero)."""
    nn = torch.nn
    layer, fc = net.lstm_layers[0], net.layers[2]
    lstm = nn.LSTM(net.input_size, layer.num_hidden, batch_first=True).to(dtype)
    linear = nn.Linear(layer.num_hidden, fc.output_size).to(dtype)
    with torch.no_grad():
        for param, value in ((lstm.weight_ih_l0, layer.input_weights), (lstm.weight_hh_l0, layer.recurrent_weights),
                             (lstm.bias_ih_l0, layer.bias), (lstm.bias_hh_l0, np.zeros_like(layer.bias)),
                             (linear.weight, fc.weights), (linear.bias, fc.bias)):
            param.copy_(torch.tensor(value))
    return lstm.eval(), linear.eval()


def test_trained_vowels_network_reference_accuracy(vowels_net, vowels_test):
    """The committed network is MATLAB's example trained (examples/japanese_vowels/README.md)."""
    assert [type(layer).__name__ for layer in vowels_net.layers] == ["SequenceInput", "LSTM", "FullyConnected",
                                                                     "Softmax"]
    assert (vowels_net.input_size, vowels_net.lstm_layers[0].num_hidden, vowels_net.output_size) == (12, 100, 9)
    sequences, labels = vowels_test
    probabilities, _ = reference.predict(vowels_net, sequences)
    assert np.mean(np.argmax(probabilities, axis=1) == labels) > 0.93


def test_trained_vowels_from_torch_matches_pytorch(torch, vowels_net, vowels_test):
    lstm, linear = _vowels_modules(torch, vowels_net, torch.float64)
    softmax = torch.nn.Softmax(dim=1)
    net = from_torch([lstm, linear, softmax], output_mode="last")
    _assert_same_arrays(net, vowels_net, rtol=0, atol=0)
    sequences = vowels_test[0][::10]
    expected = [_torch_run(torch, lstm, [linear, softmax], x, "last") for x in sequences]
    assert _max_error(net, sequences, expected) < TORCH_ATOL
    assert _max_error(_permute_gates(net, "igfo"), sequences, expected) > 1e-3


def test_trained_vowels_from_onnx_matches_onnxruntime(torch, onnx, ort, vowels_net, vowels_test):
    lstm, linear = _vowels_modules(torch, vowels_net, torch.float32)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.fc = lstm, linear

        def forward(self, x):
            return torch.softmax(self.fc(self.lstm(x)[0][:, -1]), dim=-1)

    proto = _export(torch, onnx, Model().eval(), batch_first=True, features=vowels.NUM_FEATURES)
    net = from_onnx(proto)
    _assert_same_arrays(net, vowels_net, rtol=1e-6, atol=1e-7)  # the float32 export rounds the summed bias
    sequences, labels = vowels_test
    sequences, labels = sequences[::10], labels[::10]
    expected = _ort_run(ort, proto, sequences, True, "last")
    assert _max_error(net, sequences, expected) < ORT_ATOL
    outputs, _ = reference.predict(net, sequences)
    np.testing.assert_array_equal(np.argmax(outputs, axis=1), np.argmax(expected, axis=1))

"""Hostile inputs, nothing lost (issue 8 item 6): every entry point answers bad input with a clear
error naming the problem, or, where values are clipped, with a `ClippingWarning` and a count.

`CASES` is the list of bad inputs: an id, the entry point, the input in words, a callable that
feeds it, the expected exception (or warning) class and a regex its message must match (and, for
warnings, the clipped count). `test_bad_input` runs each under a deadline, so a hang fails too, and
an exception of any other class (a traceback from deep inside) fails with its traceback.
docs/bad_inputs.md is generated from the cases and their current messages:
`python -m tests.unit.test_bad_inputs` rewrites it, `test_docs_list_every_case` fails when it is
stale. The accepted inputs (torch tensors, nested lists, ragged batches) and the clipping counts
in `last_profile` and the CLI output are checked by the tests after the cases.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import traceback
import warnings
from typing import Callable

import numpy as np
import pytest

from compiler import (LSTM, CompileError, Dropout, FullyConnected, Network, NetworkError, QFormat, SequenceInput,
                      compile, reference)
from examples import networks
from rtl import ProcessorConfig
from sim import ClippingWarning, Workflow
from sim.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "bad_inputs.md"
CASE_SECONDS = 60  # generous: a case answers in milliseconds unless it hangs
MAX_T = 8


class CliExit(Exception):
    """`dlp` ended with a non-zero exit code or wrote to stderr: the code and stderr's last line."""

    def __init__(self, code: int, stderr: str):
        lines = [line for line in stderr.splitlines() if line.strip()]
        super().__init__(f"exit {code}: {lines[-1] if lines else ''}")
        self.code = code
        self.stderr = stderr


class CaseTimeout(Exception):
    """A case did not answer within CASE_SECONDS: it hangs."""


class Ctx:
    """What a case feeds its input to: a small classifier (12 -> LSTM(8, "last") -> FC(9) ->
    softmax), its file, a good sequence and files written on demand, all in `root`."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        self.net = networks.classifier(seed=3, hidden=8)
        self.net_file = str(root / "net.npz")
        self.net.save(self.net_file)
        self.x = networks.sequences(seed=4, lengths=(5,))[0]

    def wf(self, **options) -> Workflow:
        return Workflow(self.net, max_sequence_length=options.pop("max_sequence_length", MAX_T), **options)

    def x_with(self, t: int, c: int, value: float) -> np.ndarray:
        """The good sequence with one bad value at time step t, feature c."""
        x = self.x.copy()
        x[t, c] = value
        return x

    def file(self, name: str, content: bytes) -> str:
        path = self.root / name
        path.write_bytes(content)
        return str(path)

    def npy(self, name: str, array) -> str:
        path = self.root / name
        np.save(path, array)
        return str(path)

    def npz(self, name: str, **arrays) -> str:
        path = self.root / name
        np.savez(path, **arrays)
        return str(path)

    def truncated(self, name: str, source: str) -> str:
        data = pathlib.Path(source).read_bytes()
        return self.file(name, data[:len(data) // 2])

    def network_file(self, name: str, header: dict | str, **arrays) -> str:
        """A .npz shaped like Network.save's, with the given header (a dict as JSON, or raw text)."""
        text = header if isinstance(header, str) else json.dumps(header)
        return self.npz(name, header=np.frombuffer(text.encode(), dtype=np.uint8), **arrays)

    def cli(self, *args: str) -> None:
        """`dlp ARGS` in this process; raises CliExit unless it succeeds silently on stderr."""
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                main(list(args))
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
        if code or err.getvalue():
            raise CliExit(code, err.getvalue())

    def state(self, h=None, c=None) -> list:
        return [(np.zeros(8) if h is None else h, np.zeros(8) if c is None else c)]


def _set_state(wf: Workflow, value) -> None:
    wf.state = value


def _fc_net(weights, bias, features: int = 4) -> Network:
    return Network([SequenceInput(features), FullyConnected(len(bias), weights=weights, bias=bias)])


def _torch_modules(build):
    torch = pytest.importorskip("torch")
    return build(torch.nn)


def _from_torch(modules, **options):
    from compiler.importers import from_torch
    return from_torch(modules, **options)


def _from_onnx(model):
    from compiler.importers import from_onnx
    return from_onnx(model)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    entry: str          # the entry point
    given: str          # the bad input, in words
    feed: Callable[[Ctx], object]
    error: type         # the exception class, or ClippingWarning
    message: str        # regex the message must contain (re.search)
    count: int | None = None  # ClippingWarning: the number of clipped elements


SCALED = 100 * networks.sequences(seed=4, lengths=(5,))[0]  # (5, 12): most beyond the input range [-8, 8)
SCALED_CLIPPED = QFormat(16, 12).quantize_counted(SCALED)[1]  # s16f12: the default input format (±4 fits)
INT8 = ProcessorConfig(data_type="int8")

CASES = [
    # ---- Workflow(...) ---------------------------------------------------------------------------
    Case("wf-network-none", "Workflow", "network=None", lambda c: Workflow(None),
         TypeError, r"network: expected a compiler\.Network, got NoneType"),
    Case("wf-network-list", "Workflow", "a list of layers instead of a Network",
         lambda c: Workflow([SequenceInput(3)]), TypeError, r"network: expected a compiler\.Network, got list"),
    Case("wf-config-str", "Workflow", 'config="int8"', lambda c: c.wf(config="int8"),
         TypeError, r"config: expected an rtl\.ProcessorConfig \(or a dict of its parameters\), got str"),
    Case("wf-config-dict-bad", "Workflow", "config={'lanes': 3}", lambda c: c.wf(config={"lanes": 3}),
         ValueError, r"lanes=3: expected a power of two from 4 to 64"),
    Case("wf-config-dict-unknown", "Workflow", "config={'lane': 8} (misspelt key)", lambda c: c.wf(config={"lane": 8}),
         TypeError, r"unexpected keyword argument 'lane'"),
    Case("wf-target-foo", "Workflow", 'target="foo"', lambda c: c.wf(target="foo"),
         ValueError, r"unknown target 'foo': expected one of model, myhdl, icarus, verilator"),
    Case("wf-target-none", "Workflow", "target=None", lambda c: c.wf(target=None),
         ValueError, r"unknown target None"),
    Case("wf-waves-model", "Workflow", "waves=True on target 'model'", lambda c: c.wf(waves=True),
         ValueError, r"waves=True records a simulator's waveform; target 'model'"),
    Case("wf-waves-str", "Workflow", 'waves="yes"', lambda c: c.wf(waves="yes"),
         TypeError, r"waves='yes': expected True or False"),
    Case("wf-max-t-zero", "Workflow", "max_sequence_length=0", lambda c: c.wf(max_sequence_length=0),
         ValueError, r"max_sequence_length=0: expected a positive integer"),
    Case("wf-max-t-negative", "Workflow", "max_sequence_length=-1", lambda c: c.wf(max_sequence_length=-1),
         ValueError, r"max_sequence_length=-1: expected a positive integer"),
    Case("wf-max-t-bool", "Workflow", "max_sequence_length=True", lambda c: c.wf(max_sequence_length=True),
         ValueError, r"max_sequence_length=True: expected a positive integer"),
    Case("wf-max-t-float", "Workflow", "max_sequence_length=1e9 (a float)", lambda c: c.wf(max_sequence_length=1e9),
         ValueError, r"max_sequence_length=1000000000\.0: expected a positive integer"),
    Case("wf-max-t-huge", "Workflow", "max_sequence_length=10**9", lambda c: c.wf(max_sequence_length=10 ** 9),
         ValueError, r"the processor runs at most 65,535 time steps per call"),
    Case("wf-mem-bytes-odd", "Workflow", "mem_bytes=1000 (not a power of two)", lambda c: c.wf(mem_bytes=1000),
         ValueError, r"mem_bytes=1000: expected a power of two"),
    Case("wf-mem-bytes-small", "Workflow.deploy", "mem_bytes=1024, smaller than the image",
         lambda c: c.wf(mem_bytes=1024).deploy(), ValueError, r"mem_bytes=1024: the program's memory image needs \d+ bytes"),
    # ---- Workflow.predict / predict_and_update_state --------------------------------------------
    Case("predict-nan", "Workflow.predict", "NaN at time step 2, feature 5", lambda c: c.wf().predict(c.x_with(2, 5, np.nan)),
         ValueError, r"input: 1 non-finite value\(s\), the first nan at time step 2, feature 5"),
    Case("predict-inf", "Workflow.predict_and_update_state", "-inf at time step 4, feature 0",
         lambda c: c.wf().predict_and_update_state(c.x_with(4, 0, -np.inf)),
         ValueError, r"input: 1 non-finite value\(s\), the first -inf at time step 4, feature 0"),
    Case("predict-empty", "Workflow.predict", "an empty (0, 12) sequence", lambda c: c.wf().predict(np.zeros((0, 12))),
         ValueError, r"input has shape \(0, 12\): T=0 time steps, expected T >= 1"),
    Case("predict-channels", "Workflow.predict", "(5, 7): wrong channel count", lambda c: c.wf().predict(np.zeros((5, 7))),
         ValueError, r"input has shape \(5, 7\), expected \(T, 12\)"),
    Case("predict-1d", "Workflow.predict", "a 1-D array (12,)", lambda c: c.wf().predict(np.zeros(12)),
         ValueError, r"input has shape \(12,\), expected \(T, 12\) for one sequence or \(N, T, 12\)"),
    Case("predict-4d", "Workflow.predict", "a 4-D array", lambda c: c.wf().predict(np.zeros((1, 2, 3, 12))),
         ValueError, r"input has shape \(1, 2, 3, 12\), expected \(T, 12\) for one sequence"),
    Case("predict-too-long", "Workflow.predict", f"T={MAX_T + 1} > max_sequence_length={MAX_T}",
         lambda c: c.wf().predict(np.zeros((MAX_T + 1, 12))),
         ValueError, rf"input has T={MAX_T + 1} time steps, expected 1..{MAX_T} \(max_sequence_length"),
    Case("predict-object", "Workflow.predict", "an object array holding a string",
         lambda c: c.wf().predict(np.array([[1.0] * 11 + ["a"]], dtype=object)),
         TypeError, r"input: expected an array of real numbers, got an object array"),
    Case("predict-strings", "Workflow.predict", "an array of strings", lambda c: c.wf().predict(np.full((3, 12), "x")),
         TypeError, r"input: expected real numbers, got strings \(dtype <U1\)"),
    Case("predict-complex", "Workflow.predict", "a complex array", lambda c: c.wf().predict(c.x + 1j),
         TypeError, r"input: expected real numbers, got complex numbers \(dtype complex128\)"),
    Case("predict-bool", "Workflow.predict", "a boolean array", lambda c: c.wf().predict(c.x > 0),
         TypeError, r"input: expected real numbers, got booleans"),
    Case("predict-none", "Workflow.predict", "None", lambda c: c.wf().predict(None),
         TypeError, r"input: expected a \(T, 12\) array or a list of them, got NoneType"),
    Case("predict-path", "Workflow.predict", "a file name instead of data", lambda c: c.wf().predict("x.npy"),
         TypeError, r"input: expected a \(T, 12\) array or a list of them, got str"),
    Case("predict-empty-list", "Workflow.predict", "an empty list", lambda c: c.wf().predict([]),
         ValueError, r"input: an empty list, expected a \(T, 12\) sequence or a list of them"),
    Case("predict-ragged-rows", "Workflow.predict", "nested lists with rows of 12 and 11 numbers",
         lambda c: c.wf().predict([[0.0] * 12, [0.0] * 11]),
         ValueError, r"input: not a rectangular array of numbers \(rows of different lengths\?\)"),
    Case("predict-list-bad-second", "Workflow.predict_and_update_state", "a list whose sequence 1 has 7 channels",
         lambda c: c.wf().predict_and_update_state([c.x, np.zeros((3, 7))]),
         ValueError, r"input sequence 1 has shape \(3, 7\), expected \(T, 12\)"),
    Case("predict-list-nan-third", "Workflow.predict", "a list whose sequence 2 holds a NaN",
         lambda c: c.wf().predict([c.x, c.x, c.x_with(1, 3, np.nan)]),
         ValueError, r"input sequence 2: 1 non-finite value\(s\), the first nan at time step 1, feature 3"),
    Case("predict-list-mixed", "Workflow.predict", "a list mixing a sequence and a number",
         lambda c: c.wf().predict([c.x, 3.0]), ValueError, r"input: a list that mixes sequences \(2-D\) with other "
                                                            r"things: element 1"),
    Case("predict-scaled-100", "Workflow.predict", "inputs scaled by 100 (beyond the input format ±8)",
         lambda c: c.wf().predict(SCALED), ClippingWarning,
         rf"predict: the host clipped {SCALED_CLIPPED} of 60 elements of input to the range \[-8, 7\.99976\] of its format "
         r"s16f12\. The processor also saturated \d+ value\(s\) in this call \(SAT_COUNT\)", SCALED_CLIPPED),
    Case("predict-list-scaled", "Workflow.predict_and_update_state", "two sequences, the second scaled by 100",
         lambda c: c.wf().predict_and_update_state([c.x, SCALED]), ClippingWarning,
         rf"predict_and_update_state: the host clipped {SCALED_CLIPPED} of 60 elements of input sequence 1 to the range",
         SCALED_CLIPPED),
    # ---- Workflow.state -------------------------------------------------------------------------
    Case("state-array", "Workflow.state", "a bare array instead of (h, c) pairs",
         lambda c: _set_state(c.wf(), np.zeros(8)),
         TypeError, r"state: expected a list with one \(h, c\) pair per LSTM layer, got ndarray"),
    Case("state-no-pairs", "Workflow.state", "an empty list", lambda c: _set_state(c.wf(), []),
         ValueError, r"state has 0 \(h, c\) pairs, the network has 1 LSTM layers"),
    Case("state-triple", "Workflow.state", "(h, c, h) instead of (h, c)",
         lambda c: _set_state(c.wf(), [(np.zeros(8),) * 3]),
         ValueError, r"state: element 0 is not an \(h, c\) pair of arrays \(got tuple of length 3\)"),
    Case("state-shape", "Workflow.state", "h of shape (3,) for 8 hidden units",
         lambda c: _set_state(c.wf(), c.state(h=np.zeros(3))),
         ValueError, r"lstm_1: state h has shape \(3,\), expected \(8,\)"),
    Case("state-nan", "Workflow.state", "NaN in c", lambda c: _set_state(c.wf(), c.state(c=np.r_[np.zeros(4), np.nan, np.zeros(3)])),
         ValueError, r"lstm_1: state c: 1 non-finite value\(s\), the first nan at index \(4,\)"),
    Case("state-complex", "Workflow.state", "complex h", lambda c: _set_state(c.wf(), c.state(h=np.zeros(8) + 1j)),
         TypeError, r"lstm_1: state h: expected real numbers, got complex numbers"),
    Case("state-strings", "Workflow.state", "h given as a string", lambda c: _set_state(c.wf(), c.state(h="zeros")),
         TypeError, r"lstm_1: state h: expected an array of real numbers, got str"),
    Case("state-clipped", "Workflow.state", "c = 100 everywhere (beyond the c format ±16)",
         lambda c: _set_state(c.wf(), c.state(c=np.full(8, 100.0))), ClippingWarning,
         r"state: the host clipped 8 of 8 elements of lstm_1 state c to the range \[-16, 15\.9995\] of its format s16f11", 8),
    # ---- calibration ----------------------------------------------------------------------------
    Case("calibrate-empty", "Workflow.calibrate", "an empty list", lambda c: c.wf().calibrate([]),
         ValueError, r"calibration: an empty list, expected a \(T, 12\) sequence or a list of them"),
    Case("calibrate-nan", "Workflow.calibrate", "NaN in sequence 1 at time step 3, feature 2",
         lambda c: c.wf().calibrate([c.x, c.x_with(3, 2, np.nan)], search=False),
         ValueError, r"calibration sequence 1: 1 non-finite value\(s\), the first nan at time step 3, feature 2"),
    Case("calibrate-channels", "Workflow.calibrate", "sequence 0 with 5 channels",
         lambda c: c.wf().calibrate([np.zeros((4, 5)), c.x], search=False),
         ValueError, r"calibration sequence 0 has shape \(4, 5\), expected \(T, 12\)"),
    Case("calibrate-1d", "Workflow.calibrate", "one 1-D array", lambda c: c.wf().calibrate(np.zeros(12)),
         ValueError, r"calibration has shape \(12,\), expected \(T, 12\) for one sequence or \(N, T, 12\)"),
    Case("calibrate-3d-wrong", "compiler.compile", "calibration=(2, 4, 5) array (wrong channels)",
         lambda c: compile(c.net, ProcessorConfig(), calibration=np.zeros((2, 4, 5))),
         ValueError, r"calibration sequence 0 has shape \(4, 5\), expected \(T, 12\)"),
    Case("calibrate-max-sequences", "Workflow.calibrate", "max_sequences=0",
         lambda c: c.wf().calibrate([c.x], max_sequences=0),
         ValueError, r"max_sequences=0: expected a positive integer"),
    Case("calibrate-str", "Workflow.compile", 'calibration="train.npy"', lambda c: c.wf().compile(calibration="train.npy"),
         TypeError, r"calibration: expected a \(T, 12\) array or a list of them, got str"),
    # ---- compiler.compile -----------------------------------------------------------------------
    Case("compile-net-none", "compiler.compile", "net=None", lambda c: compile(None, ProcessorConfig()),
         TypeError, r"net: expected a compiler\.Network, got NoneType"),
    Case("compile-config-dict", "compiler.compile", "config as a dict", lambda c: compile(c.net, {"lanes": 8}),
         TypeError, r"config: expected an rtl\.ProcessorConfig, got dict"),
    Case("compile-max-t-str", "compiler.compile", 'max_sequence_length="26"',
         lambda c: compile(c.net, ProcessorConfig(), max_sequence_length="26"),
         ValueError, r"max_sequence_length='26': expected a positive integer"),
    Case("compile-fracs-unknown", "compiler.compile", "fracs={'x': 3} (not settable)",
         lambda c: compile(c.net, ProcessorConfig(), fracs={"x": 3}),
         CompileError, r"fracs: the format of 'x' cannot be set"),
    Case("compile-acc-wrap-fc", "compiler.compile", "int8 FC with a bias near the int32 limit (1.07e9) and weights 100",
         lambda c: compile(_fc_net(np.full((1, 4), 100.0), np.array([1073740000.0])), INT8),
         CompileError, r"fc_1\.fc: the accumulator can wrap: row 0 sums to \|acc\| <= 2147486656 .* acc_bits=32"),
    Case("compile-acc-wrap-lstm", "compiler.compile", "int16 LSTM with input weights 100, recurrent weights 1e-4",
         lambda c: compile(Network([SequenceInput(12), LSTM(2, input_weights=np.full((8, 12), 100.0),
                                                            recurrent_weights=np.full((8, 2), 1e-4), bias=np.zeros(8))]),
                           ProcessorConfig()),
         CompileError, r"lstm_1\.wi: the accumulator can wrap: row 0 .* acc_bits=48 .* segment shift 15"),
    # ---- layers and Network ---------------------------------------------------------------------
    Case("lstm-hidden-zero", "LSTM", "num_hidden=0", lambda c: LSTM(0), NetworkError,
         r"LSTM: num_hidden=0: expected a positive integer"),
    Case("lstm-hidden-float", "LSTM", "num_hidden=8.5", lambda c: LSTM(8.5), NetworkError,
         r"LSTM: num_hidden=8\.5: expected a positive integer"),
    Case("lstm-mode", "LSTM", 'output_mode="first"', lambda c: LSTM(8, output_mode="first"), NetworkError,
         r"output_mode='first': expected one of 'sequence', 'last'"),
    Case("lstm-weights-nan", "Network", "NaN in an LSTM's recurrent weights",
         lambda c: Network([SequenceInput(2), LSTM(1, input_weights=np.zeros((4, 2)),
                                                   recurrent_weights=[[0.0], [np.nan], [0.0], [0.0]], bias=np.zeros(4))]),
         NetworkError, r"lstm_1: recurrent_weights has 1 non-finite value\(s\), the first nan at index \(1, 0\)"),
    Case("lstm-weights-shape", "Network", "input_weights (4H, C+1)",
         lambda c: Network([SequenceInput(2), LSTM(1, input_weights=np.zeros((4, 3)), recurrent_weights=np.zeros((4, 1)),
                                                   bias=np.zeros(4))]),
         NetworkError, r"lstm_1: input_weights has shape \(4, 3\), expected \(4, 2\)"),
    Case("fc-weights-str", "FullyConnected", 'weights="ones"', lambda c: FullyConnected(2, weights="ones"),
         NetworkError, r"FullyConnected: weights is not a numeric array"),
    Case("fc-weights-complex", "FullyConnected", "complex weights (the imaginary part would be dropped)",
         lambda c: FullyConnected(2, weights=np.ones((2, 3)) * 1j), NetworkError,
         r"FullyConnected: weights is not a numeric array \(weights: expected real numbers, got complex numbers"),
    Case("fc-weights-bool", "FullyConnected", "boolean weights", lambda c: FullyConnected(2, weights=np.ones((2, 3), bool)),
         NetworkError, r"FullyConnected: weights is not a numeric array \(weights: expected real numbers, got booleans"),
    Case("dropout-one", "Dropout", "probability=1", lambda c: Dropout(1), NetworkError,
         r"Dropout: probability=1: expected a number in \[0, 1\)"),
    Case("network-empty", "Network", "no layers", lambda c: Network([]), NetworkError,
         r"a network needs at least a SequenceInput layer"),
    Case("network-none", "Network", "layers=None", lambda c: Network(None), TypeError,
         r"Network: expected a list of layers, got NoneType"),
    Case("network-not-layer", "Network", 'a string among the layers', lambda c: Network([SequenceInput(3), "lstm"]),
         NetworkError, r"layer 1: 'lstm' is not a layer"),
    Case("zscore-std-zero", "Network", "zscore normalisation with std 0",
         lambda c: Network([SequenceInput(2, normalization="zscore", mean=0.0, std=[1.0, 0.0])]),
         NetworkError, r"sequenceinput: std must be positive, min is 0\.0"),
    # ---- Network.load / save --------------------------------------------------------------------
    Case("load-missing", "Network.load", "a file that does not exist", lambda c: Network.load(str(c.root / "none.npz")),
         FileNotFoundError, r"No such file or directory: '<tmp>/none\.npz'"),
    Case("load-text", "Network.load", "a text file", lambda c: Network.load(c.file("net.txt", b"hello\n")),
         NetworkError, r"<tmp>/net\.txt: not a network file: neither a \.npy nor a \.npz file \(it starts with b'hello\\n'\)"),
    Case("load-truncated", "Network.load", "the first half of a network file",
         lambda c: Network.load(c.truncated("half.npz", c.net_file)),
         NetworkError, r"<tmp>/half\.npz: not a network file, or damaged: BadZipFile"),
    Case("load-npy", "Network.load", "a .npy array instead of a network file",
         lambda c: Network.load(c.npy("weights.npy", np.zeros((4, 3)))),
         NetworkError, r"<tmp>/weights\.npy: not a network file: it holds one array of shape \(4, 3\)"),
    Case("load-no-header", "Network.load", "a .npz without the header entry",
         lambda c: Network.load(c.npz("plain.npz", w=np.zeros(3))),
         NetworkError, r"<tmp>/plain\.npz: not a network file \(no 'header' entry; entries: w\)"),
    Case("load-bad-json", "Network.load", "a header that is not JSON",
         lambda c: Network.load(c.network_file("badjson.npz", "{not json")),
         NetworkError, r"<tmp>/badjson\.npz: damaged network file: JSONDecodeError"),
    Case("load-missing-array", "Network.load", "a header naming an array the file lacks",
         lambda c: Network.load(c.network_file("lacks.npz", {
             "format": "dlp-network", "version": 1,
             "layers": [{"type": "SequenceInput", "options": {"num_features": 2}, "arrays": []},
                        {"type": "FullyConnected", "options": {"output_size": 1}, "arrays": ["weights", "bias"]}]},
             **{"1/weights": np.zeros((1, 2))})),
         NetworkError, r"<tmp>/lacks\.npz: layer 1 \(FullyConnected\): the file has no entry 1/bias"),
    Case("load-unknown-option", "Network.load", "a layer option the layer does not have",
         lambda c: Network.load(c.network_file("option.npz", {
             "format": "dlp-network", "version": 1,
             "layers": [{"type": "SequenceInput", "options": {"num_features": 2, "colour": "red"}, "arrays": []}]})),
         NetworkError, r"<tmp>/option\.npz: layer 0 \(SequenceInput\): .*unexpected keyword argument 'colour'"),
    Case("load-bad-layer", "Network.load", "a layer option with a bad value",
         lambda c: Network.load(c.network_file("value.npz", {
             "format": "dlp-network", "version": 1,
             "layers": [{"type": "SequenceInput", "options": {"num_features": -2}, "arrays": []}]})),
         NetworkError, r"<tmp>/value\.npz: SequenceInput: num_features=-2: expected a positive integer"),
    Case("save-missing-folder", "Network.save", "a path in a folder that does not exist",
         lambda c: c.net.save(str(c.root / "no" / "net.npz")), FileNotFoundError, r"<tmp>/no/net\.npz"),
    # ---- importers ------------------------------------------------------------------------------
    Case("torch-gru", "from_torch", "an nn.GRU", lambda c: _from_torch(_torch_modules(lambda nn: [nn.GRU(3, 4)])),
         NetworkError, r"module 0 \(GRU\): not supported"),
    Case("torch-bidirectional", "from_torch", "a bidirectional nn.LSTM",
         lambda c: _from_torch(_torch_modules(lambda nn: [nn.LSTM(3, 4, bidirectional=True)])),
         NetworkError, r"module 0 \(LSTM\): bidirectional=True is not supported"),
    Case("torch-mode", "from_torch", 'output_mode="first"',
         lambda c: _from_torch(_torch_modules(lambda nn: [nn.LSTM(3, 4)]), output_mode="first"),
         NetworkError, r"from_torch: output_mode='first': expected one of 'sequence', 'last'"),
    Case("torch-none", "from_torch", "modules=None", lambda c: _from_torch(None),
         TypeError, r"from_torch: expected a list of torch modules, got NoneType"),
    Case("onnx-missing", "from_onnx", "a path that does not exist", lambda c: _from_onnx(str(c.root / "m.onnx")),
         FileNotFoundError, r"from_onnx: no such file: '<tmp>/m\.onnx'"),
    Case("onnx-corrupt", "from_onnx", "a file that is not an ONNX model",
         lambda c: _from_onnx(c.file("m.onnx", b"\x08\x07garbage" * 10)),
         NetworkError, r"from_onnx: <tmp>/m\.onnx: not an ONNX model"),
    Case("onnx-int", "from_onnx", "an int instead of a model", lambda c: _from_onnx(42),
         NetworkError, r"from_onnx: expected a path or an onnx\.ModelProto, got int"),
    # ---- ProcessorConfig ------------------------------------------------------------------------
    Case("config-lanes-3", "ProcessorConfig", "lanes=3", lambda c: ProcessorConfig(lanes=3),
         ValueError, r"lanes=3: expected a power of two from 4 to 64"),
    Case("config-lanes-128", "ProcessorConfig", "lanes=128", lambda c: ProcessorConfig(lanes=128),
         ValueError, r"lanes=128: expected a power of two from 4 to 64"),
    Case("config-lanes-bool", "ProcessorConfig", "lanes=True", lambda c: ProcessorConfig(lanes=True),
         TypeError, r"lanes=True: expected an integer, got bool"),
    Case("config-lanes-str", "ProcessorConfig", 'lanes="16"', lambda c: ProcessorConfig(lanes="16"),
         TypeError, r"lanes='16': expected an integer, got str"),
    Case("config-data-type", "ProcessorConfig", 'data_type="int4"', lambda c: ProcessorConfig(data_type="int4"),
         ValueError, r"data_type='int4': expected one of \['int16', 'int8'\]"),
    Case("config-data-type-list", "ProcessorConfig", "data_type=['int8']", lambda c: ProcessorConfig(data_type=["int8"]),
         ValueError, r"data_type=\['int8'\]: expected one of"),
    Case("config-axi-float", "ProcessorConfig", "axi_data_bits=64.0", lambda c: ProcessorConfig(axi_data_bits=64.0),
         TypeError, r"axi_data_bits=64\.0: expected an integer, got float"),
    Case("config-vbuf", "ProcessorConfig", "vbuf_words=100", lambda c: ProcessorConfig(vbuf_words=100),
         ValueError, r"vbuf_words=100: expected a power of two from 4 to 16384"),
    Case("config-unknown", "ProcessorConfig", "lane=8 (misspelt)", lambda c: ProcessorConfig(lane=8),
         TypeError, r"unexpected keyword argument 'lane'"),
    # ---- estimates ------------------------------------------------------------------------------
    Case("estimate-t-zero", "Workflow.estimate_performance", "sequence_length=0",
         lambda c: c.wf().estimate_performance(0), ValueError, r"sequence_length=0: expected an integer from 1 to 8"),
    Case("estimate-t-long", "Workflow.estimate_performance", "sequence_length beyond max_sequence_length",
         lambda c: c.wf().estimate_performance(MAX_T + 1), ValueError, rf"sequence_length={MAX_T + 1}: expected an integer"),
    Case("estimate-fmax", "Workflow.estimate_performance", "fmax_mhz=-5",
         lambda c: c.wf().estimate_performance(4, fmax_mhz=-5), ValueError,
         r"fmax_mhz=-5: expected a positive clock frequency in MHz"),
    # ---- the dlp command line -------------------------------------------------------------------
    Case("cli-state-without-stateful", "dlp predict", "--state without --stateful",
         lambda c: c.cli("predict", c.net_file, c.npy("x.npy", c.x), "--state", str(c.root / "s.npz")),
         CliExit, r"exit 2: dlp predict: error: --state needs --stateful"),
    Case("cli-waves-model", "dlp predict", "--waves with --target model",
         lambda c: c.cli("predict", c.net_file, c.npy("x.npy", c.x), "--waves"),
         CliExit, r"exit 2: dlp predict: error: --waves records a simulator's waveform; --target model"),
    Case("cli-out-folder", "dlp predict", "--out in a folder that does not exist",
         lambda c: c.cli("predict", c.net_file, c.npy("x.npy", c.x), "--out", str(c.root / "no" / "y.npz")),
         CliExit, r"exit 2: dlp predict: error: --out <tmp>/no/y\.npz: the folder <tmp>/no does not exist"),
    Case("cli-target-foo", "dlp predict", "--target foo",
         lambda c: c.cli("predict", c.net_file, c.npy("x.npy", c.x), "--target", "foo"),
         CliExit, r"exit 2: dlp predict: error: argument --target: invalid choice: 'foo'"),
    Case("cli-lanes-float", "dlp compile", "--lanes 8.5", lambda c: c.cli("compile", c.net_file, "--lanes", "8.5"),
         CliExit, r"exit 2: dlp compile: error: argument --lanes: invalid int value: '8\.5'"),
    Case("cli-lanes-3", "dlp compile", "--lanes 3", lambda c: c.cli("compile", c.net_file, "--lanes", "3"),
         CliExit, r"exit 2: dlp compile: error: invalid ProcessorConfig: lanes=3"),
    Case("cli-max-t-zero", "dlp compile", "--max-sequence-length 0",
         lambda c: c.cli("compile", c.net_file, "--max-sequence-length", "0"),
         CliExit, r"exit 2: dlp compile: error: max_sequence_length=0: expected a positive integer"),
    Case("cli-net-missing", "dlp compile", "NET that does not exist", lambda c: c.cli("compile", str(c.root / "none.npz")),
         CliExit, r"exit 2: dlp compile: error: .*No such file or directory: '<tmp>/none\.npz'"),
    Case("cli-net-corrupt", "dlp predict", "NET truncated",
         lambda c: c.cli("predict", c.truncated("half.npz", c.net_file), c.npy("x.npy", c.x)),
         CliExit, r"exit 2: dlp predict: error: <tmp>/half\.npz: not a network file, or damaged: BadZipFile"),
    Case("cli-input-missing", "dlp predict", "INPUT that does not exist",
         lambda c: c.cli("predict", c.net_file, str(c.root / "none.npy")),
         CliExit, r"exit 2: dlp predict: error: .*No such file or directory: '<tmp>/none\.npy'"),
    Case("cli-input-text", "dlp predict", "INPUT a text file",
         lambda c: c.cli("predict", c.net_file, c.file("x.npy", b"1, 2, 3\n")),
         CliExit, r"exit 2: dlp predict: error: <tmp>/x\.npy: not an input file: neither a \.npy nor a \.npz file"),
    Case("cli-input-truncated", "dlp predict", "INPUT .npz truncated",
         lambda c: c.cli("predict", c.net_file, c.truncated("xs.npz", c.npz("full.npz", a=c.x, b=c.x))),
         CliExit, r"exit 2: dlp predict: error: <tmp>/xs\.npz: not an input file, or damaged: BadZipFile"),
    Case("cli-input-object", "dlp predict", "INPUT a pickled object array",
         lambda c: c.cli("predict", c.net_file, c.npy("obj.npy", np.array([c.x, c.x[:3]], dtype=object))),
         CliExit, r"exit 2: dlp predict: error: <tmp>/obj\.npy: not an input file, or damaged: .*allow_pickle=False"),
    Case("cli-input-1d", "dlp predict", "INPUT a (12,) array", lambda c: c.cli("predict", c.net_file, c.npy("x.npy", np.zeros(12))),
         CliExit, r"exit 2: dlp predict: error: <tmp>/x\.npy: input has shape \(12,\), expected \(T, 12\)"),
    Case("cli-input-nan", "dlp predict", "INPUT .npz whose second array holds a NaN",
         lambda c: c.cli("predict", c.net_file, c.npz("xs.npz", a=c.x, b=c.x_with(0, 1, np.nan))),
         CliExit, r"exit 2: dlp predict: error: <tmp>/xs\.npz: input 'b': 1 non-finite value\(s\), the first nan at "
                  r"time step 0, feature 1"),
    Case("cli-input-empty-npz", "dlp predict", "INPUT an .npz with no arrays",
         lambda c: c.cli("predict", c.net_file, c.npz("empty.npz")),
         CliExit, r"exit 2: dlp predict: error: <tmp>/empty\.npz: the \.npz holds no arrays"),
    Case("cli-state-file-keys", "dlp predict", "--state file with arrays other than h0, c0",
         lambda c: c.cli("predict", c.net_file, c.npy("x.npy", c.x), "--stateful", "--state", c.npz("s.npz", h=np.zeros(8))),
         CliExit, r"exit 2: dlp predict: error: <tmp>/s\.npz: a state file holds arrays h0, c0, h1, c1, .* this one "
                  r"holds h"),
    Case("cli-state-file-shape", "dlp predict", "--state file whose h0 has 3 elements",
         lambda c: c.cli("predict", c.net_file, c.npy("x.npy", c.x), "--stateful", "--state",
                         c.npz("s.npz", h0=np.zeros(3), c0=np.zeros(8))),
         CliExit, r"exit 2: dlp predict: error: <tmp>/s\.npz: lstm_1: state h has shape \(3,\), expected \(8,\)"),
    Case("cli-state-file-corrupt", "dlp predict", "--state file that is not a .npz",
         lambda c: c.cli("predict", c.net_file, c.npy("x.npy", c.x), "--stateful", "--state", c.file("s.npz", b"junk")),
         CliExit, r"exit 2: dlp predict: error: <tmp>/s\.npz: not a state file: neither a \.npy nor a \.npz file"),
    Case("cli-estimate-t-zero", "dlp estimate", "--sequence-length 0",
         lambda c: c.cli("estimate", c.net_file, "--sequence-length", "0"),
         CliExit, r"exit 2: dlp estimate: error: sequence_length=0: expected an integer from 1"),
    Case("cli-synth-jobs", "dlp synth", "--jobs 0", lambda c: c.cli("synth", "--jobs", "0"),
         CliExit, r"exit 2: dlp synth: error: --jobs 0: expected at least 1"),
    Case("cli-synth-timeout", "dlp synth", "--timeout -5", lambda c: c.cli("synth", "--timeout", "-5"),
         CliExit, r"exit 2: dlp synth: error: --timeout -5: expected a positive number of seconds"),
    Case("cli-estimate-fmax", "dlp estimate", "--fmax 0",
         lambda c: c.cli("estimate", c.net_file, "--sequence-length", "4", "--fmax", "0"),
         CliExit, r"exit 2: dlp estimate: error: fmax_mhz=0\.0: expected a positive clock frequency"),
    Case("cli-no-command", "dlp", "no command", lambda c: c.cli(),
         CliExit, r"exit 2: dlp: error: the following arguments are required: command"),
    Case("cli-scaled-100", "dlp predict", "INPUT scaled by 100",
         lambda c: c.cli("predict", c.net_file, c.npy("x.npy", SCALED)),
         CliExit, rf"exit 0: dlp predict: warning: predict: the host clipped {SCALED_CLIPPED} of 60 elements of input to the range "
                  r"\[-8, 7\.99976\]"),
]


@dataclasses.dataclass(frozen=True)
class Outcome:
    kind: type | None   # the exception or warning class, None if the input was accepted silently
    message: str        # its message, the temporary folder shown as <tmp>
    count: int | None = None
    trace: str = ""


@contextlib.contextmanager
def _deadline(seconds: int, what: str):
    def expire(signum, frame):
        raise CaseTimeout(f"{what}: no answer within {seconds} s (it hangs)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_case(case: Case, root: pathlib.Path) -> Outcome:
    """Feed the case's input in a fresh context and report what came back."""
    ctx = Ctx(root)

    def shown(text: str) -> str:
        return str(text).replace(str(root), "<tmp>")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _deadline(CASE_SECONDS, case.id):
                case.feed(ctx)
        except Exception as exc:  # any class: the test compares it with the expected one
            return Outcome(type(exc), shown(exc), trace=traceback.format_exc())
    clipping = [w.message for w in caught if issubclass(w.category, ClippingWarning)]
    if clipping:
        return Outcome(ClippingWarning, shown(clipping[0]), clipping[0].clipped)
    return Outcome(None, "accepted without an error or a warning")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path):
    outcome = run_case(case, tmp_path)
    assert outcome.kind is not None, f"{case.id}: {case.given} was accepted silently"
    assert outcome.kind is case.error, (f"{case.id}: expected {case.error.__name__}, got {outcome.kind.__name__}: "
                                        f"{outcome.message}\n{outcome.trace}")
    assert re.search(case.message, outcome.message), f"{case.id}: message {outcome.message!r}"
    if case.error is ClippingWarning:
        assert outcome.count == case.count


def test_case_ids_are_unique_and_many():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 50


# ---- docs/bad_inputs.md -------------------------------------------------------------------------
DOC_HEAD = """# Bad inputs and what they get

Generated by `python -m tests.unit.test_bad_inputs` from the cases in `tests/unit/test_bad_inputs.py`,
which runs every case (`pytest tests/unit/test_bad_inputs.py`) and checks that this table is
current (`test_docs_list_every_case`). Do not edit by hand. `<tmp>` is the folder the case's files
are in.

The rules: a bad value raises the error class in the table with a message that names the problem
(the layer, the shape, the value, the file); an input outside the fixed-point range of the input
or state format is clipped on the host, as the hardware saturates, and counted: a `ClippingWarning`
(`from sim import ClippingWarning`) says how many elements of which tensor and the representable
range, `Workflow.last_profile["clipped"]` holds the counts next to the processor's own saturation
count `last_profile["saturations"]` (SAT_COUNT), and `dlp predict` prints the warning on stderr and
the counts on its per-sequence line. `dlp` answers bad arguments with exit code 2 and one line on
stderr (argparse's convention), a failing simulator or processor with exit code 1.

Accumulator wrap: `compiler.compile` computes, per FC row (LSTM gates and FullyConnected layers),
the worst-case |accumulator| from the quantised weights and bias with every input at the data
format's bound (and the input segment's shift) and raises `CompileError` when it exceeds the
config's `acc_bits`. It is an error, not a warning: none of the project's example and test
networks comes near (the closest uses 2^-10.9 of the accumulator's range), so rejecting costs
nothing real and a wrapped accumulator would be a silent wrong answer.

Accepted (not in the table): numpy arrays of any real dtype, nested Python lists, PyTorch tensors
(detached, moved to the CPU), an (N, T, C) array or a list of sequences of different lengths.

| id | entry point | input | error | message |
|---|---|---|---|---|
"""


def render_docs(outcomes: dict[str, Outcome]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    rows = []
    for case in CASES:
        outcome = outcomes[case.id]
        kind = outcome.kind.__name__ if outcome.kind else "none"
        if outcome.kind is ClippingWarning:
            kind += f" (count {outcome.count})"
        rows.append(f"| `{case.id}` | {cell(case.entry)} | {cell(case.given)} | {kind} | {cell(outcome.message)} |")
    return DOC_HEAD + "\n".join(rows) + "\n"


def _all_outcomes() -> dict[str, Outcome]:
    with tempfile.TemporaryDirectory() as folder:
        outcomes = {}
        for case in CASES:
            root = pathlib.Path(folder) / case.id
            root.mkdir()
            outcomes[case.id] = run_case(case, root)
        return outcomes


def test_docs_list_every_case():
    expected = render_docs(_all_outcomes())
    assert DOC.exists() and DOC.read_text() == expected, (
        "docs/bad_inputs.md does not match the cases: run `python -m tests.unit.test_bad_inputs`")


# ---- what is accepted, and the counts ---------------------------------------------------------
def test_torch_tensors_and_nested_lists_are_accepted(tmp_path):
    torch = pytest.importorskip("torch")
    ctx = Ctx(tmp_path)
    wf = ctx.wf()
    expected = wf.predict(ctx.x)
    tensor = torch.tensor(ctx.x, dtype=torch.float32, requires_grad=True)
    x32 = ctx.x.astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(wf.predict(tensor), wf.predict(x32))
    np.testing.assert_array_equal(wf.predict(torch.tensor(ctx.x)), expected)
    np.testing.assert_array_equal(wf.predict(ctx.x.tolist()), expected)
    np.testing.assert_array_equal(reference.predict(ctx.net, tensor)[0], reference.predict(ctx.net, x32)[0])
    ints = np.round(ctx.x).astype(np.int32)
    np.testing.assert_array_equal(wf.predict(ints), wf.predict(ints.astype(np.float64)))


def test_layers_take_torch_parameters():
    """Weights straight from a torch module (parameters require grad) are converted."""
    torch = pytest.importorskip("torch")
    linear = torch.nn.Linear(3, 2)
    fc = FullyConnected(2, weights=linear.weight, bias=linear.bias)
    np.testing.assert_array_equal(fc.weights, linear.weight.detach().numpy().astype(np.float64))


def test_batches_of_different_lengths(tmp_path):
    ctx = Ctx(tmp_path)
    wf = ctx.wf()
    xs = networks.sequences(seed=9, lengths=(1, 3, 8))
    ys = wf.predict(xs)
    assert isinstance(ys, list) and len(ys) == 3
    for x, y in zip(xs, ys):
        np.testing.assert_array_equal(y, wf.predict(x))
    ys = wf.predict([x.tolist() for x in xs])  # nested lists of different lengths too
    for x, y in zip(xs, ys):
        np.testing.assert_array_equal(y, wf.predict(x))
    ys = wf.predict(x for x in xs)  # a generator of sequences
    assert len(ys) == 3 and np.array_equal(ys[0], wf.predict(xs[0]))
    stacked = np.stack([xs[2], xs[2]])  # (N, T, C)
    assert [y.tolist() for y in wf.predict(stacked)] == [wf.predict(xs[2]).tolist()] * 2


def test_a_bad_sequence_in_a_list_changes_no_state(tmp_path):
    ctx = Ctx(tmp_path)
    wf = ctx.wf()
    wf.predict_and_update_state(ctx.x)
    before = wf.state
    with pytest.raises(ValueError, match="input sequence 1"):
        wf.predict_and_update_state([ctx.x, ctx.x_with(0, 0, np.nan)])
    for (h, c), (h0, c0) in zip(wf.state, before):
        assert np.array_equal(h, h0) and np.array_equal(c, c0)


def test_clipping_counts_in_last_profile(tmp_path):
    ctx = Ctx(tmp_path)
    wf = ctx.wf()
    wf.predict(ctx.x)
    assert wf.last_profile["clipped"] == {"input": 0, "state": 0}
    fmt = wf.program.input_format
    codes = np.floor(SCALED * 2.0 ** fmt.frac + 0.5)
    expected = int(np.count_nonzero((codes < fmt.min) | (codes > fmt.max)))
    with pytest.warns(ClippingWarning) as record:
        wf.predict([SCALED, ctx.x, SCALED])
    assert len(record) == 1 and record[0].message.clipped == 2 * expected
    assert wf.last_profile["clipped"]["input"] == 2 * expected
    assert [p["clipped"] for p in wf.last_profile["per_sequence"]] == [expected, 0, expected]
    assert record[0].message.saturations == wf.last_profile["saturations"]
    # a clipped state is counted by the next stateful call
    with pytest.warns(ClippingWarning, match="lstm_1 state c"):
        wf.state = ctx.state(c=np.full(8, 100.0))
    wf.predict(ctx.x)
    assert wf.last_profile["clipped"]["state"] == 0
    wf.predict_and_update_state(ctx.x)
    assert wf.last_profile["clipped"]["state"] == 8
    wf.predict_and_update_state(ctx.x)
    assert wf.last_profile["clipped"]["state"] == 0


def test_dlp_prints_the_clipping_counts(tmp_path, capsys):
    ctx = Ctx(tmp_path)
    main(["predict", ctx.net_file, ctx.npy("x.npy", np.stack([SCALED, ctx.x]))])
    captured = capsys.readouterr()
    assert f"{SCALED_CLIPPED} input values clipped" in captured.out.splitlines()[0]
    assert "input values clipped" not in captured.out.splitlines()[1]
    assert captured.err.count("warning: predict: the host clipped") == 1


def test_dlp_in_a_subprocess_answers_with_one_line(tmp_path):
    """The real command line (one smoke case): exit code 2, one line on stderr, no traceback."""
    ctx = Ctx(tmp_path)
    result = subprocess.run([sys.executable, "-m", "sim.cli", "predict", ctx.net_file, ctx.npy("x.npy", np.zeros(12))],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"dlp predict: error: {tmp_path}/x.npy: input has shape (12,), expected (T, 12) for one sequence or "
        "(N, T, 12) for N of them"]


if __name__ == "__main__":
    DOC.write_text(render_docs(_all_outcomes()))
    print(f"wrote {DOC.relative_to(ROOT)} ({len(CASES)} cases)")

"""Random LSTM networks and stateful call sequences, reproducible by seed.

`random_case(cfg, seed)` draws a network of 1 to 3 LSTM layers (sizes, output modes, gate and
state activations, initial states, a dropout between layers) with a regression or softmax head,
compiles it for `cfg` (shrinking the sizes until it fits the buffers), and a sequence of host
calls: predict, predict_and_update_state, reset_state and setting the stored state, with sequence
lengths from 1 to the compiled maximum. The cocotb module tests/cocotb/random_networks_tests.py
runs them on the RTL against the golden model, instruction by instruction.

Replay one seed:

    DLP_NETWORK_SEEDS=17 .venv/bin/python -m pytest tests/cocotb/test_random.py -k "networks and verilator and p16"
"""
from __future__ import annotations

import dataclasses

import numpy as np

from compiler import CompileError, Dropout, FullyConnected, Network, Regression, SequenceInput, Softmax
from compiler import LSTM
from compiler import compile as compile_network
from compiler.program import Program
from rtl.config import ProcessorConfig

MAX_STEPS = 6
# golden model vs float64 reference on random networks: max |difference| over the outputs of
# every call in which nothing saturated (formats chosen by calibration on three short sequences
# saturate on states set far from them, by design). Random networks have weight scales up to 2,
# which amplify the rounding errors that tests/zoo.py's bounds assume at scale 1: measured worst
# 9.9e-3 (int16, seed 1000169, 2 layers of hard-sigmoid/softsign, among 1,000 networks of `make
# regress`) and 0.068 (int8, 60 networks of tests/unit/test_random_networks.py)
FLOAT_BOUND = {"int16": 2e-2, "int8": 0.15}


@dataclasses.dataclass
class Call:
    kind: str                       # "predict", "update" (predict_and_update_state), "reset", "set_state"
    x: np.ndarray | None = None     # (T, C) for predict/update
    state: list | None = None       # for set_state: one (h, c) pair per LSTM layer


@dataclasses.dataclass
class NetworkCase:
    seed: int
    network: Network
    program: Program
    calls: list[Call]

    def describe(self) -> str:
        parts = []
        for layer in self.network.layers:
            if isinstance(layer, LSTM):
                parts.append(f"LSTM({layer.num_hidden}, {layer.output_mode}, {layer.gate_activation}/"
                             f"{layer.state_activation}{', h0/c0' if layer.hidden_state is not None else ''})")
            elif isinstance(layer, FullyConnected):
                parts.append(f"FC({layer.output_size})")
            else:
                parts.append(type(layer).__name__)
        return " -> ".join(parts)


def _uniform(rng, fan: int, shape, scale: float) -> np.ndarray:
    s = scale / np.sqrt(fan)
    return rng.uniform(-s, s, shape)


def _network(rng, sizes: list[int], features: int) -> Network:
    layers = [SequenceInput(features)]
    n_in = features
    scale = float(rng.choice([0.5, 1.0, 2.0]))
    for i, h in enumerate(sizes):
        last = i == len(sizes) - 1
        options = dict(output_mode=str(rng.choice(["last", "sequence"])) if last else "sequence",
                       gate_activation=str(rng.choice(["sigmoid", "sigmoid", "hard-sigmoid"])),
                       state_activation=str(rng.choice(["tanh", "tanh", "softsign"])))
        if rng.random() < 0.3:
            options["hidden_state"] = rng.uniform(-0.5, 0.5, h)
            options["cell_state"] = rng.uniform(-1, 1, h)
        layers.append(LSTM(h, input_weights=_uniform(rng, h, (4 * h, n_in), scale),
                           recurrent_weights=_uniform(rng, h, (4 * h, h), scale),
                           bias=_uniform(rng, h, 4 * h, scale), **options))
        if not last and rng.random() < 0.2:
            layers.append(Dropout(0.2))
        n_in = h
    outputs = int(rng.integers(1, 10))
    layers.append(FullyConnected(outputs, weights=_uniform(rng, n_in, (outputs, n_in), 1.0),
                                 bias=_uniform(rng, n_in, outputs, 1.0)))
    layers.append(Softmax() if outputs > 1 and rng.random() < 0.5 else Regression())
    return Network(layers)


def random_case(cfg: ProcessorConfig, seed: int, calls: int = 6) -> NetworkCase:
    rng = np.random.default_rng([seed, 0x4E7])
    features = int(rng.integers(1, 17))
    sizes = [int(rng.integers(1, 41)) for _ in range(int(rng.integers(1, 4)))]
    calibrate = rng.random() < 0.3
    for _ in range(20):
        net = _network(np.random.default_rng([seed, 0x4E7, sum(sizes)]), sizes, features)
        calibration = [rng.normal(size=(int(rng.integers(1, MAX_STEPS + 1)), features)) for _ in range(3)] \
            if calibrate else None
        try:
            program = compile_network(net, cfg, max_sequence_length=MAX_STEPS, calibration=calibration)
            break
        except CompileError:
            sizes = [max(1, s * 2 // 3) for s in sizes]  # too large for the buffers: smaller
    else:
        raise RuntimeError(f"seed {seed}: no network of {sizes} fits {cfg.short_id()}")
    lstms = [layer for layer in net.layers if isinstance(layer, LSTM)]
    fmt = program.formats

    def largest(name: str) -> float:
        # inputs and states inside their formats: the host clips the others (and says so), which
        # the float reference would not, so they would not test the bound
        return 0.9 * fmt[name].max / 2.0 ** fmt[name].frac

    plan = []
    for _ in range(calls):
        kind = str(rng.choice(["predict", "update", "update", "reset", "set_state"]))
        if kind in ("predict", "update"):
            x = rng.normal(scale=0.5, size=(int(rng.integers(1, MAX_STEPS + 1)), features))
            plan.append(Call(kind, x=np.clip(x, -largest("x"), largest("x"))))
        elif kind == "set_state":
            plan.append(Call(kind, state=[(rng.uniform(-1, 1, layer.num_hidden) * min(0.9, largest(f"lstm_{i}.h")),
                                           rng.uniform(-1, 1, layer.num_hidden) * largest(f"lstm_{i}.c"))
                                          for i, layer in enumerate(lstms, 1)]))
        else:
            plan.append(Call(kind))
    return NetworkCase(seed, net, program, plan)


class FloatTwin:
    """The float64 reference following the same calls, with the stored state the host keeps."""

    def __init__(self, net: Network):
        from compiler import reference

        self.net, self.reference = net, reference
        self.stored = None  # None: the layers' initial state

    def call(self, call: Call) -> np.ndarray | None:
        if call.kind == "reset":
            self.stored = None
        elif call.kind == "set_state":
            self.stored = [(np.asarray(h, float), np.asarray(c, float)) for h, c in call.state]
        else:
            y, final = self.reference.predict(self.net, call.x, initial_state=self.stored
                                              if call.kind == "update" else None)
            if call.kind == "update":
                self.stored = final
            return y
        return None


async def play(driver, call: Call):
    """One call on a host driver (sim/driver.py): (output, Profile) for predict/update, else
    (None, None)."""
    if call.kind == "reset":
        await driver.reset_state()
    elif call.kind == "set_state":
        await driver.write_state(call.state)
    else:
        return await driver.predict(call.x, stateful=call.kind == "update")
    return None, None

"""State semantics (MathWorks' predict / predictAndUpdateState / resetState) checked on any
target against the golden model and the float64 reference.

`check_state_semantics(target, golden, net, bound, log)` runs the same calls on two host
drivers — the target under test and the golden model — and checks:

  * every output of the target equals the golden model's bit for bit, and the stored state
    areas they leave in external memory are byte-identical;
  * predict_and_update_state over chunks (lengths 5, 1, 7) equals predict over their
    concatenation, bit for bit ("sequence" mode: the concatenated outputs; "last": the last
    chunk's output), and the stored state then matches the float reference's final state;
  * a predict between two predict_and_update_state calls changes nothing;
  * predict leaves the stored state untouched;
  * reset_state followed by predict_and_update_state(x) equals predict(x);
  * every golden output is within `bound` of the float64 reference, whose state is threaded in
    float64 independently of the processor code.

The target driver's calls are awaited (cocotb) or run with run_sync (golden, session, MyHDL).
"""
from __future__ import annotations

import numpy as np

from compiler import Network, Regression, SequenceInput, Softmax
from examples.networks import random_fc, random_lstm
from compiler import reference
from sim.driver import run_sync

CHUNKS = (5, 1, 7)
STATE_BOUND = 1e-2  # |h, c| of the stored state against float64 (cf. tests/unit/test_golden_vs_float.py)


def with_initial_state(rng: np.random.Generator, layer):
    """The layer with a random non-zero initial state (|h| < 0.5, |c| < 1)."""
    h = layer.num_hidden
    arrays = dict(layer.arrays)
    arrays.update(hidden_state=rng.uniform(-0.5, 0.5, h), cell_state=rng.uniform(-1.0, 1.0, h))
    return type(layer)(h, output_mode=layer.output_mode, **arrays)


def state_networks(seed: int = 11) -> dict[str, tuple[Network, float]]:
    """Networks for the state tests and their golden-vs-float bounds on the outputs."""
    rng = np.random.default_rng(seed)
    return {
        "sequence_regressor": (Network([SequenceInput(12), with_initial_state(rng, random_lstm(rng, 12, 16)),
                                        random_fc(rng, 3, 16), Regression()]), 8.5e-3),
        "last_classifier": (Network([SequenceInput(12), with_initial_state(rng, random_lstm(rng, 12, 32,
                                                                                            output_mode="last")),
                                     random_fc(rng, 9, 32), Softmax()]), 2.5e-3),
        "stacked_last": (Network([SequenceInput(12), with_initial_state(rng, random_lstm(rng, 12, 16)),
                                  random_lstm(rng, 16, 8, output_mode="last"), random_fc(rng, 4, 8), Softmax()]),
                         3.7e-3),
    }


class _Pair:
    """Runs each call on the target (awaited) and on the golden model (synchronously)."""

    def __init__(self, target, golden, net: Network, bound: float, log):
        self.target, self.golden, self.net, self.bound, self.log = target, golden, net, bound, log
        self.float_state = None  # the stored state, in float64, threaded by the reference
        self.max_error = 0.0

    async def predict(self, x, stateful: bool):
        y, _ = await self.target.predict(x, stateful=stateful)
        y_gold, _ = run_sync(self.golden.predict(x, stateful=stateful))
        assert np.array_equal(y, y_gold), f"target output differs from the golden model (T={len(x)}, " \
                                          f"stateful={stateful})"
        y_ref, final = reference.predict(self.net, x, initial_state=self.float_state if stateful else None)
        if stateful:
            self.float_state = final
        err = float(np.max(np.abs(y_gold - y_ref)))
        self.max_error = max(self.max_error, err)
        assert err < self.bound, f"golden vs float {err:.3g} > {self.bound} (T={len(x)}, stateful={stateful})"
        return y

    async def reset_state(self):
        await self.target.reset_state()
        run_sync(self.golden.reset_state())
        self.float_state = None

    async def stored_state(self) -> bytes:
        """The stored-state area of the target, checked byte-equal to the golden model's."""
        mm = self.target.program.memory_map
        lo, n = mm["StoredStateOffset"], mm["InputDataOffset"] - mm["StoredStateOffset"]
        got = await self.target.dev.read_mem(self.target.image_base + lo, n)
        want = run_sync(self.golden.dev.read_mem(self.golden.image_base + lo, n))
        assert got == want, "stored state differs from the golden model's"
        return got


async def check_state_semantics(target, golden, net: Network, bound: float, rng: np.random.Generator,
                                log=print) -> float:
    """Run the checks above on deployed drivers `target` and `golden` (same program).
    Returns the largest golden-vs-float output error seen."""
    pair = _Pair(target, golden, net, bound, log)
    program = target.program
    sequence_mode = program.output_mode == "sequence"
    x = rng.normal(size=(sum(CHUNKS), net.input_size))
    other = rng.normal(size=(6, net.input_size))
    pieces = np.split(x, np.cumsum(CHUNKS)[:-1])

    whole = await pair.predict(x, stateful=False)
    initial = await pair.stored_state()

    await pair.reset_state()
    outs = [await pair.predict(p, stateful=True) for p in pieces]
    chunked = np.concatenate(outs) if sequence_mode else outs[-1]
    assert np.array_equal(chunked, whole), "predict_and_update_state over chunks != predict over the whole"
    after_chunks = await pair.stored_state()
    for (h, c), (h_ref, c_ref) in zip(program.decode_state(after_chunks), pair.float_state):
        assert np.max(np.abs(h - h_ref)) < STATE_BOUND and np.max(np.abs(c - c_ref)) < STATE_BOUND, \
            "stored state far from the float reference's final state"
    log(f"chunks {CHUNKS} == whole sequence of {len(x)} steps, bit for bit")

    # predict leaves the stored state alone, and a predict between stateful calls changes nothing
    await pair.predict(other, stateful=False)
    assert await pair.stored_state() == after_chunks, "predict changed the stored state"
    await pair.reset_state()
    assert await pair.stored_state() == initial, "reset_state did not restore the initial state"
    first = await pair.predict(pieces[0], stateful=True)
    await pair.predict(other, stateful=False)
    rest = [await pair.predict(p, stateful=True) for p in pieces[1:]]
    assert np.array_equal(first, outs[0]) and all(np.array_equal(a, b) for a, b in zip(rest, outs[1:])), \
        "a predict between predict_and_update_state calls changed their results"
    log("predict between stateful calls changes nothing; predict leaves the stored state untouched")

    # reset_state then predict_and_update_state(x) == predict(x)
    await pair.reset_state()
    assert np.array_equal(await pair.predict(x, stateful=True), whole), "reset + stateful != predict"
    log(f"reset_state + predict_and_update_state == predict; max golden-vs-float error {pair.max_error:.2e} "
        f"(bound {bound})")
    return pair.max_error

"""Stateful inference on the RTL (Verilator), from a plain script: predict, then the same sequence
streamed in chunks with predict_and_update_state, then reset_state; outputs next to the float64
reference.   python -m examples.stateful"""
import numpy as np

from examples import networks
from rtl import ProcessorConfig
from compiler import reference
from sim import Workflow

net = networks.classifier(seed=2024)                     # 12 -> LSTM(32, "last") -> FC(9) -> softmax
x = np.random.default_rng(1).normal(size=(12, 12))       # one sequence, 12 steps of 12 features

with Workflow(net, config=ProcessorConfig(lanes=16), target="verilator") as wf:
    y_ref, _ = reference.predict(net, x)
    y = wf.predict(x)                                    # from the initial state; stored state untouched
    print("predict                 ", np.round(y, 5), " float:", np.round(y_ref, 5))

    state = None                                         # the float reference threads its own state
    for chunk in np.split(x, [5, 6]):                    # chunks of 5, 1 and 6 steps
        y_chunk = wf.predict_and_update_state(chunk)     # continues from the stored state, keeps the new one
        y_ref_chunk, state = reference.predict(net, chunk, initial_state=state)
        print(f"predict_and_update_state({len(chunk)} steps)", np.round(y_chunk, 5), " float:", np.round(y_ref_chunk, 5))
    print("last chunk == predict over the whole sequence:", np.array_equal(y_chunk, y))

    wf.reset_state()                                     # stored state := initial state
    print("after reset_state, predict_and_update_state(x) == predict(x):",
          np.array_equal(wf.predict_and_update_state(x), y))
    print(f"one simulator process (pid {wf.session.pid}) served {wf.session.calls} requests; "
          f"start-up {wf.session.startup_seconds:.1f} s")

"""The instruction trace the processor reports through its retire port, on both simulators:
`Workflow(trace=True)` records it, `write_trace` writes Chrome / Perfetto trace-event JSON whose
instruction slices equal the golden cycle model's schedule event for event, and `profile()`
measured from it adds up to the CYCLES counters and agrees with the model on every row."""
from __future__ import annotations

import json

import pytest

from examples import networks
from sim import Workflow
from sim.runner import SIMULATORS
from sim.trace import KERNEL_TRACKS, trace_format_problems
from tests.cocotb.configs import P16_INT16

CFG = P16_INT16
NET = networks.classifier(seed=3)


def _slices(trace: dict) -> list:
    kernel_tids = set(range(1, len(KERNEL_TRACKS) + 1))
    return sorted((e["ts"], e["tid"], e["dur"], e["name"], e["args"]["pc"], e["args"]["t"])
                  for e in trace["traceEvents"] if e["ph"] == "X" and e["tid"] in kernel_tids)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_trace_slices_equal_the_cycle_model_schedule(simulator, tmp_path):
    xs = networks.sequences(seed=5, lengths=(3, 6))
    with Workflow(NET, config=CFG, target=simulator, trace=True, max_sequence_length=16) as wf, \
            Workflow(NET, config=CFG, target="model", trace=True, max_sequence_length=16) as model:
        wf.deploy()
        model.deploy()
        wf.predict_and_update_state(xs)
        model.predict_and_update_state(xs)
        rtl = json.loads(wf.write_trace(tmp_path / "rtl.json", include_deploy=True).read_text())
        golden = json.loads(model.write_trace(tmp_path / "model.json", include_deploy=True).read_text())
        assert trace_format_problems(rtl) == []
        names = {e["args"]["name"] for e in rtl["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"}
        assert set(KERNEL_TRACKS) <= names
        got, want = _slices(rtl), _slices(golden)
        # every instruction of deploy + 2 sequences: the loads, 4 FC gates, activations, ... per step
        assert len(want) == len(model.deploy_trace.records) + sum(len(r.records) for r in model.last_trace)
        assert got == want, next(f"first difference: rtl {a} vs model {b}" for a, b in zip(got + [None] * len(want), want)
                                 if a != b)
        assert {name for *_, name, _pc, _t in got} >= {"lstm_1.wi", "lstm_1.wf", "lstm_1.wg", "lstm_1.wo"}
        table = wf.profile()
        assert table.agrees, str(table)
        assert sum(r.cycles for r in table.rows) == table.total_cycles == wf.last_profile["cycles"]

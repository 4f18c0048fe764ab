"""Workflow.estimate_performance (sim/estimate.py) against the golden model's own counters, and
`dlp estimate`. The RTL side of the same equality is tests/cocotb/test_estimate.py."""
from __future__ import annotations

import json

import numpy as np
import pytest

from examples import networks
from rtl.config import ProcessorConfig
from sim import Workflow, estimate
from sim.cli import main

CFG = ProcessorConfig(lanes=16)


@pytest.fixture(scope="module")
def workflow():
    wf = Workflow(networks.classifier(seed=2024), config=CFG, max_sequence_length=26)
    wf.compile()
    return wf


@pytest.fixture(autouse=True)
def no_synthesis_cache(tmp_path, monkeypatch):
    # an empty build folder: no place-and-route result, so the clock is the documented default
    monkeypatch.setenv("DLP_BUILD_DIR", str(tmp_path))


@pytest.mark.parametrize("t", [1, 7, 26])
def test_rows_add_up_to_the_golden_models_cycles(workflow, t):
    est = workflow.estimate_performance(sequence_length=t)
    assert sum(row["cycles"] for row in est["layers"].values()) == est["total"]["cycles"]
    assert list(est["layers"])[:4] == ["lstm_1", "sequenceinput", "fc_1", "softmax"]
    assert set(est["layers"]) >= {estimate.CONTROL, estimate.START_END}
    # the CYCLES register of predict on the golden model; its first call also fetches the program
    wf = Workflow(workflow.network, config=CFG, max_sequence_length=26)
    x = np.random.default_rng(t).normal(size=(t, 12))
    wf.predict(x)
    assert wf.last_profile["cycles"] == est["total"]["cycles"] + est["program_fetch_cycles"]
    wf.predict(x)
    assert wf.last_profile["cycles"] == est["total"]["cycles"]
    assert wf.last_profile["busy"] == est["total"]["busy"]
    for kernel, busy in est["total"]["busy"].items():  # every kernel instruction has a layer
        assert sum(row["busy"][kernel] for row in est["layers"].values()) == busy
    wf.predict_and_update_state(x)
    assert wf.last_profile["cycles"] == workflow.estimate_performance(t, stateful=True)["total"]["cycles"]


def test_latency_and_rates_follow_cycles_and_clock(workflow):
    est = workflow.estimate_performance(7)
    assert (est["fmax_mhz"], est["fmax_source"]) == (estimate.DEFAULT_FMAX_MHZ, "default")
    total = est["total"]
    assert total["latency_us"] == pytest.approx(total["cycles"] / 150, abs=1e-3)
    assert total["steps_per_second"] == pytest.approx(7 / (total["latency_us"] * 1e-6), rel=1e-4)
    assert total["sequences_per_second"] == pytest.approx(1 / (total["latency_us"] * 1e-6), rel=1e-4)
    faster = workflow.estimate_performance(7, fmax_mhz=300)
    assert (faster["fmax_source"], faster["total"]["cycles"]) == ("given", total["cycles"])
    assert faster["total"]["latency_us"] == pytest.approx(total["latency_us"] / 2, abs=1e-3)
    json.dumps(est)  # a plain, JSON-ready dict
    text = str(est)
    assert "sequence length 7" in text and "lstm_1" in text and "(start, end)" in text and "total" in text


def test_clock_from_the_place_and_route_cache(workflow, monkeypatch):
    monkeypatch.setattr(estimate, "synthesis_fmax", lambda cfg: 123.4)
    est = workflow.estimate_performance(3)
    assert (est["fmax_mhz"], est["fmax_source"]) == (123.4, "place and route")


def test_cycles_grow_linearly_with_the_sequence_length(workflow):
    cycles = {t: workflow.estimate_performance(t)["total"]["cycles"] for t in (2, 3, 10, 26)}
    per_step = cycles[3] - cycles[2]
    assert per_step > 0
    assert cycles[10] - cycles[2] == 8 * per_step and cycles[26] - cycles[2] == 24 * per_step
    lstm = {t: workflow.estimate_performance(t)["layers"]["lstm_1"]["cycles"] for t in (2, 3)}
    assert 0 < lstm[3] - lstm[2] <= per_step


@pytest.mark.parametrize("bad", [0, -3, 27, 2.5, "7", True, None])
def test_bad_sequence_length_is_a_clear_error(workflow, bad):
    with pytest.raises(ValueError, match=r"sequence_length=.*expected an integer from 1 to 26"):
        workflow.estimate_performance(sequence_length=bad)


def test_numpy_integer_sequence_length(workflow):
    assert workflow.estimate_performance(np.int64(4))["sequence_length"] == 4


def test_dlp_estimate(tmp_path, capsys):
    networks.classifier(seed=2024).save(tmp_path / "net.npz")
    main(["estimate", str(tmp_path / "net.npz"), "--sequence-length", "7", "--json", str(tmp_path / "e.json")])
    out = capsys.readouterr().out
    assert "Performance estimate: p16-int16, sequence length 7, clock 150 MHz (default)" in out
    saved = json.loads((tmp_path / "e.json").read_text())
    assert saved["total"]["cycles"] == Workflow(networks.classifier(seed=2024), max_sequence_length=26) \
        .estimate_performance(7)["total"]["cycles"]
    with pytest.raises(SystemExit) as info:
        main(["estimate", str(tmp_path / "net.npz"), "--sequence-length", "0"])
    assert info.value.code == 2
    assert "sequence_length=0: expected an integer from 1" in capsys.readouterr().err

"""The `dlp` command line on the golden-model target."""
from __future__ import annotations

import numpy as np
import pytest

from examples import networks
from sim import Workflow
from sim.cli import main


@pytest.fixture
def files(tmp_path):
    net = networks.classifier(seed=3)
    net.save(tmp_path / "net.npz")
    x = np.random.default_rng(0).normal(size=(3, 5, 12))
    np.save(tmp_path / "x3.npy", x)
    np.save(tmp_path / "x.npy", x.reshape(15, 12))
    return net, x, tmp_path


def test_compile_prints_the_report(files, capsys):
    _, _, d = files
    main(["compile", str(d / "net.npz"), "--listing"])
    out = capsys.readouterr().out
    assert "Memory map" in out and "InputDataOffset" in out and "lstm_1.wi" in out


def test_predict_matches_the_workflow_and_keeps_state_across_invocations(files, capsys):
    net, x, d = files
    main(["predict", str(d / "net.npz"), str(d / "x3.npy"), "--out", str(d / "y.npz")])
    with np.load(d / "y.npz") as y, Workflow(net) as wf:
        for k in range(3):
            np.testing.assert_array_equal(y[f"arr_{k}"], wf.predict(x[k]))
    # two invocations streaming the 15 steps in chunks == one predict over all of them
    np.save(d / "a.npy", x[0])
    np.save(d / "b.npy", x[1:].reshape(10, 12))
    state = str(d / "state.npz")
    main(["predict", str(d / "net.npz"), str(d / "a.npy"), "--stateful", "--state", state])
    main(["predict", str(d / "net.npz"), str(d / "b.npy"), "--stateful", "--state", state, "--out", str(d / "yb.npz")])
    main(["predict", str(d / "net.npz"), str(d / "x.npy"), "--out", str(d / "yw.npz")])
    with np.load(d / "yb.npz") as yb, np.load(d / "yw.npz") as yw:
        np.testing.assert_array_equal(yb["arr_0"], yw["arr_0"])
    assert "stored state loaded from" in capsys.readouterr().out


def test_bad_input_is_one_clear_line(files, capsys):
    _, _, d = files
    np.save(d / "wrong.npy", np.zeros((4, 7)))
    with pytest.raises(SystemExit) as info:
        main(["predict", str(d / "net.npz"), str(d / "wrong.npy")])
    assert info.value.code == 2
    assert "input has shape (4, 7), expected (T, 12)" in capsys.readouterr().err

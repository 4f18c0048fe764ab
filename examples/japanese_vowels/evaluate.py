"""Japanese Vowels on the processor: MATLAB's example network (12 features -> LSTM(100, "last") ->
FC(9) -> softmax), trained in PyTorch (train.py), evaluated on all 370 test sequences.

    python -m examples.japanese_vowels.evaluate [--rtl 20] [--simulator verilator] [--png PATH]

Prints the accuracy of the float64 reference, of the int16 processor (golden model, default
formats) and of the int8 processor (golden model, formats calibrated on the training set with
Workflow.calibrate), how often their classes agree with the float ones, their max absolute
probability error and the saturation events the hardware counted; then runs the first --rtl test
sequences on the RTL (one simulator session) and checks them bit for bit against the golden
model. Writes a confusion-matrix PNG of the int16 processor (default: build/japanese_vowels_confusion.png).
"""
from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

from compiler import Network
from rtl import ProcessorConfig
from compiler import reference
from sim import Workflow

from . import data

HERE = pathlib.Path(__file__).resolve().parent
NETWORK = HERE / "lstm100.npz"
REPO = HERE.parent.parent
CLASSES = 9


def load_network() -> Network:
    return Network.load(NETWORK)


def golden(net: Network, cfg: ProcessorConfig, calibration=None) -> Workflow:
    """A golden-model Workflow; with calibration sequences the formats come from Workflow.calibrate."""
    wf = Workflow(net, config=cfg, target="model", max_sequence_length=64)
    if calibration is not None:
        wf.calibrate(calibration)
    return wf


def summarise(name: str, probs: np.ndarray, labels: np.ndarray, float_probs: np.ndarray, saturations=None) -> dict:
    classes = probs.argmax(1)
    row = dict(name=name, accuracy=float((classes == labels).mean()),
               agree=float((classes == float_probs.argmax(1)).mean()),
               max_error=float(np.abs(probs - float_probs).max()), saturations=saturations)
    sat = "" if saturations is None else f", {saturations} saturation events"
    print(f"{name:34} accuracy {row['accuracy']:7.2%}   same class as float {row['agree']:7.2%}   "
          f"max |p - p_float| {row['max_error']:.2e}{sat}")
    return row


def confusion(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    m = np.zeros((CLASSES, CLASSES), dtype=int)
    np.add.at(m, (labels, predicted), 1)
    return m


def write_png(matrix: np.ndarray, title: str, path: pathlib.Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.imshow(matrix, cmap="Blues")
    for i in range(CLASSES):
        for j in range(CLASSES):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black", fontsize=8)
    ax.set_xticks(range(CLASSES), [str(k + 1) for k in range(CLASSES)])
    ax.set_yticks(range(CLASSES), [str(k + 1) for k in range(CLASSES)])
    ax.set_xlabel("predicted speaker")
    ax.set_ylabel("true speaker")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rtl", type=int, default=20, help="test sequences to run on the RTL (0: none)")
    ap.add_argument("--simulator", default="verilator", choices=["verilator", "icarus"])
    ap.add_argument("--png", default=str(REPO / "build" / "japanese_vowels_confusion.png"))
    args = ap.parse_args(argv)

    net = load_network()
    xs, labels = data.load("test")
    x_train, _ = data.load("train")
    print(f"Japanese Vowels: {len(xs)} test sequences of {min(map(len, xs))}-{max(map(len, xs))} steps, "
          f"network {NETWORK.relative_to(REPO)}")
    float_probs = np.array([reference.predict(net, x)[0] for x in xs])
    results = {"float": summarise("float64 reference", float_probs, labels, float_probs)}

    int16 = golden(net, ProcessorConfig(data_type="int16"))
    p16 = np.array(int16.predict(xs))
    results["int16"] = summarise("int16 processor (golden model)", p16, labels, float_probs,
                                 int16.last_profile["saturations"])
    t0 = time.perf_counter()
    int8 = golden(net, ProcessorConfig(data_type="int8"), calibration=x_train)
    search = time.perf_counter() - t0
    p8 = np.array(int8.predict(xs))
    results["int8"] = summarise("int8 processor (golden, calibrated)", p8, labels, float_probs,
                                int8.last_profile["saturations"])
    print(f"  int8 formats calibrated on the {len(x_train)} training sequences in {search:.1f} s; "
          f"refined: {int8.fracs or 'none'}")

    path = pathlib.Path(args.png)
    write_png(confusion(labels, p16.argmax(1)), f"Japanese Vowels, int16 processor: "
              f"{results['int16']['accuracy']:.2%} on {len(xs)} test sequences", path)
    print(f"confusion matrix (int16): {path}")

    if args.rtl:
        n = min(args.rtl, len(xs))
        t0 = time.perf_counter()
        with Workflow(net, config=int16.config, target=args.simulator, max_sequence_length=64) as wf:
            wf.deploy()
            startup = time.perf_counter() - t0
            y = np.array(wf.predict(xs[:n]))
            prof = wf.last_profile
        exact = bool(np.array_equal(y, p16[:n]))
        steps = sum(len(x) for x in xs[:n])
        print(f"RTL ({args.simulator}), first {n} test sequences ({steps} steps): bit-exact with the golden "
              f"model: {exact}; accuracy {(y.argmax(1) == labels[:n]).mean():.2%}; {prof['cycles']} cycles "
              f"({prof['cycles'] / steps:.1f} per step) in {prof['wall_seconds']:.1f} s = "
              f"{prof['cycles'] / prof['wall_seconds']:,.0f} cycles/s (start-up {startup:.1f} s)")
        results["rtl"] = dict(sequences=n, bit_exact=exact, cycles=prof["cycles"], seconds=prof["wall_seconds"])
    return results


if __name__ == "__main__":
    main()

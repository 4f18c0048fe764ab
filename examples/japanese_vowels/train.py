"""Train MATLAB's Japanese Vowels LSTM classifier in PyTorch and save it as a `Network`.

    python -m examples.japanese_vowels.train          # needs PyTorch: pip install -e '.[frameworks]'

The network and options follow MATLAB's example "Sequence Classification Using Deep Learning":
sequenceInputLayer(12) → lstmLayer(100, OutputMode="last") → fullyConnectedLayer(9) → softmax;
trainingOptions("adam", MaxEpochs=50, MiniBatchSize=27, GradientThreshold=1, SequenceLength=
"longest", Shuffle="never") with the training sequences sorted by length, so each mini-batch is
padded to its longest sequence. MATLAB's defaults are kept too: learning rate 0.001, L2
regularisation 1e-4 on the weights (not the biases), gradient clipping by the L2 norm of each
learnable separately, Glorot input and FC weights, orthogonal recurrent weights, forget-gate
bias 1. One deliberate difference: padded sequences are packed, so "last" is each sequence's own
last step (MATLAB's right padding would feed padding steps into the state), which is what the
processor computes on unpadded sequences.

Writes examples/japanese_vowels/lstm100.npz (`Network.save`, float64) and prints the training and
test accuracy of the PyTorch model and the test accuracy of the float64 reference
(`compiler.reference.predict`) on the saved network. Not run in CI: the result is committed.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from compiler import Network
from compiler.importers import from_torch
from examples.japanese_vowels import data
from compiler import reference

OUTPUT = Path(__file__).resolve().parent / "lstm100.npz"
HIDDEN = 100


class Classifier(nn.Module):
    """LSTM(100) whose last step (of each sequence, padding excluded) feeds FC(9); softmax is left
    to the loss in training and added as a Softmax layer on export."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(data.NUM_FEATURES, HIDDEN, batch_first=True)
        self.fc = nn.Linear(HIDDEN, data.NUM_CLASSES)
        self._matlab_init()

    def _matlab_init(self) -> None:
        """MATLAB's lstmLayer/fullyConnectedLayer defaults. PyTorch's two LSTM biases add up, so
        bias_hh is zero and bias_ih carries MATLAB's bias (1 for the forget gate rows H:2H)."""
        h = HIDDEN
        glorot = np.sqrt(6 / (data.NUM_FEATURES + 4 * h))  # MATLAB: fan-out of the input weights is 4H
        nn.init.uniform_(self.lstm.weight_ih_l0, -glorot, glorot)
        nn.init.orthogonal_(self.lstm.weight_hh_l0)
        nn.init.zeros_(self.lstm.bias_hh_l0)
        with torch.no_grad():
            self.lstm.bias_ih_l0.zero_()[h:2 * h] = 1.0
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, batch: list[torch.Tensor]) -> torch.Tensor:
        """Logits (B, 9) of a list of (T_b, 12) sequences."""
        lengths = torch.tensor([len(x) for x in batch])
        packed = pack_padded_sequence(pad_sequence(batch, batch_first=True), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)  # h_n[-1]: each sequence's state after its own last step
        return self.fc(h_n[-1])


def accuracy(model: Classifier, sequences: list[torch.Tensor], labels: np.ndarray) -> float:
    with torch.no_grad():
        return float(np.mean(model(sequences).argmax(dim=1).numpy() == labels))


def clip_each(parameters, threshold: float) -> None:
    """MATLAB's GradientThresholdMethod "l2norm": each learnable's gradient separately."""
    for p in parameters:
        nn.utils.clip_grad_norm_([p], threshold)


def train(epochs: int = 50, batch_size: int = 27, learning_rate: float = 1e-3, l2: float = 1e-4,
          seed: int = 0) -> tuple[Classifier, float, float]:
    """Train as described in the module docstring; returns (model, train accuracy, test accuracy)."""
    torch.manual_seed(seed)
    x_train, y_train = data.load("train")
    x_test, y_test = data.load("test")
    order = np.argsort([len(x) for x in x_train], kind="stable")  # MATLAB's example sorts by length
    x_train = [torch.from_numpy(x_train[k]) for k in order]
    y_train = y_train[order]
    x_test = [torch.from_numpy(x) for x in x_test]

    model = Classifier()
    weights = [model.lstm.weight_ih_l0, model.lstm.weight_hh_l0, model.fc.weight]
    biases = [model.lstm.bias_ih_l0, model.lstm.bias_hh_l0, model.fc.bias]
    optimizer = torch.optim.Adam([{"params": weights, "weight_decay": l2}, {"params": biases, "weight_decay": 0.0}],
                                 lr=learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    targets = torch.from_numpy(y_train)
    for epoch in range(epochs):
        for start in range(0, len(x_train), batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[start:start + batch_size]), targets[start:start + batch_size])
            loss.backward()
            clip_each(model.parameters(), 1.0)
            optimizer.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1:3d}  last mini-batch loss {loss.item():.4f}")
    return model, accuracy(model, x_train, y_train), accuracy(model, x_test, y_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()

    model, train_accuracy, test_accuracy = train(epochs=args.epochs, seed=args.seed)
    print(f"PyTorch float32: training accuracy {train_accuracy:.2%}, test accuracy {test_accuracy:.2%}")
    model.eval()
    from_torch([model.lstm, model.fc, nn.Softmax(dim=1)], output_mode="last").save(args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB)")

    net = Network.load(args.output)
    sequences, labels = data.load("test")
    probabilities, _ = reference.predict(net, sequences)
    hits = np.argmax(probabilities, axis=1) == labels
    print(f"float64 reference (compiler.reference.predict) on the saved network: test accuracy {hits.mean():.2%} "
          f"({hits.sum()} of {len(labels)})")


if __name__ == "__main__":
    main()

"""Importers: a `Network` from a PyTorch module list or an ONNX graph.

    from compiler.importers import from_torch, from_onnx
    net = from_torch([model.lstm, model.fc, nn.Softmax(dim=1)], output_mode="last")
    net = from_onnx("model.onnx")

PyTorch and ONNX are optional dependencies (`pip install .[frameworks]`): each importer imports its
framework when called, so `import compiler` and `import compiler.importers` never need them.
"""
from .onnx import from_onnx
from .torch import from_torch

__all__ = ["from_onnx", "from_torch"]

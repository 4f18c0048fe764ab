"""The packages form layers: rtl (hardware, ISA, config) < compiler (network, float reference,
quantisation, lowering) < sim (golden model, drivers, simulators, Workflow). No module may import
from a layer above its own, not even inside a function: an upward import is a cycle waiting to
happen and hides what a layer really depends on."""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAYERS = ["rtl", "compiler", "sim"]


def _imports(path: pathlib.Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_no_upward_imports(layer):
    above = LAYERS[LAYERS.index(layer) + 1:]
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, f"no Python files under {layer}/"
    bad = [f"{p.relative_to(ROOT)}:{line} imports {name}"
           for p in files for line, name in _imports(p) if name.split(".")[0] in above]
    assert not bad, f"{layer}/ imports from a layer above it ({', '.join(above)}):\n" + "\n".join(bad)

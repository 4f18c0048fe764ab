"""The mutation check's table (tests/mutation.py) still fits the RTL: every mutant's snippet occurs
once in its file, so that a change to the RTL cannot silently turn a mutant into a no-op."""
from __future__ import annotations

import collections
import pathlib

import pytest

from tests.mutation import MUTANTS, REPO


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_snippet_occurs_once_and_the_mutant_compiles(mutant, tmp_path):
    path = REPO / mutant.path
    assert path.is_file(), f"mutant {mutant.name}: {mutant.path} does not exist; update tests/mutation.py"
    text = path.read_text()
    found = text.count(mutant.original)
    assert found == 1, (f"mutant {mutant.name}: its original snippet occurs {found} times in {mutant.path} "
                        f"(expected once). The RTL changed: update the mutant's snippet in tests/mutation.py "
                        f"to the same bug in today's code (or replace the mutant), {mutant.original!r}")
    assert mutant.replacement != mutant.original
    copy = tmp_path / mutant.path
    copy.parent.mkdir(parents=True)
    copy.write_text(text)
    mutant.apply(tmp_path)
    mutated = copy.read_text()
    assert mutated != text
    compile(mutated, mutant.path, "exec")   # a mutant is a bug in the design, not a syntax error


def test_names_are_unique_and_the_mutants_spread_over_the_rtl():
    names = collections.Counter(m.name for m in MUTANTS)
    assert not [n for n, k in names.items() if k > 1], names
    assert len(MUTANTS) >= 10
    files = {m.path for m in MUTANTS}
    assert len(files) >= 6, files
    assert all(pathlib.PurePosixPath(f).parts[0] == "rtl" for f in files)
    assert all(m.bug for m in MUTANTS)


def test_a_mutant_changes_the_converted_verilog(tmp_path):
    """One mutant, converted for the smallest config, against the unmutated RTL (about 10 s): the
    check `python -m tests.mutation --check-verilog` makes for every mutant."""
    import shutil
    import subprocess
    import sys

    mutant = next(m for m in MUTANTS if m.name == "fc_saturation_off_by_one")
    convert = ("import sys; from rtl.config import ProcessorConfig; from rtl.convert import convert; "
               "convert(ProcessorConfig(lanes=4, data_type='int8', axi_data_bits=32), sys.argv[1])")
    procs, outs = [], []
    for variant in ("reference", "mutant"):
        root = tmp_path / variant
        shutil.copytree(REPO / "rtl", root / "rtl", ignore=shutil.ignore_patterns("__pycache__"))
        if variant == "mutant":
            mutant.apply(root)
        outs.append(root / "out" / "dlp_sim.v")
        procs.append(subprocess.Popen([sys.executable, "-c", convert, str(root / "out")], cwd=root,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    for proc in procs:
        log = proc.communicate()[0]
        assert proc.returncode == 0, log
    reference, mutated = (out.read_text() for out in outs)
    assert reference != mutated, f"{mutant.name} does not change the Verilog: an equivalent mutant"

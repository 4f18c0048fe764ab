"""The functional coverage model on the golden model alone: the bins are sampled from random
programs (with the golden model's retire records standing in for the RTL's), merged from files
and reported; bins that cannot be sampled would show up here as a low figure."""
from __future__ import annotations

from rtl.isa import Kernel
from tests.cocotb.configs import P16_INT16
from sim.functional_coverage import FunctionalCoverage, bins, merge, report
from tests.random_programs import random_program


def _sample(cfg, seeds):
    cov = FunctionalCoverage(cfg)
    for seed in seeds:
        sc = random_program(cfg, seed).scenario()
        golden = sc.golden(cov)
        records = {k: [r for r in golden.retired if r.kernel == k] for k in Kernel}
        cov.sample_run(sc, golden, records)
    return cov


def test_random_programs_fill_most_bins(tmp_path):
    cov = _sample(P16_INT16, range(150))
    cov.write("a", tmp_path)
    _sample(P16_INT16, range(150, 200)).write("b", tmp_path)
    total, files = merge(tmp_path)
    assert files == 2
    hit = sum(1 for g in total.values() for n in g.values() if n)
    defined = sum(len(v) for v in bins().values())
    text, pct = report(tmp_path)
    assert pct == 100.0 * hit / defined
    # what random programs on the golden model alone reach; the RTL runs add the directed cases
    assert pct >= 80, text
    assert total["opcode"]["FC"] > 0 and total["hazard"]["RAW_overlap"] > 0, text

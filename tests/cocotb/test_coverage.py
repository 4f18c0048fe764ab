"""Coverage on the RTL (sim/coverage.py, `make coverage`): a coverage build of the smallest config
(the ISA runner's, so `make coverage` reuses the build) runs two short ISA scenarios with
DLP_COVERAGE set, as every test would under `make coverage`; its .dat file appears in that folder
and the report attributes real counts to the blocks."""
from __future__ import annotations

import json
import re

from cocotb_tools.check_results import get_results

from sim import coverage, runner
from tests.cocotb.configs import P4_INT8_AXI32

CFG = P4_INT8_AXI32


def test_coverage_run_writes_and_reports(tmp_path, monkeypatch):
    dat_dir = tmp_path / "dat"
    monkeypatch.setenv(runner.COVERAGE_ENV, str(dat_dir))
    b = runner.build(CFG, "verilator")  # the environment variable selects the coverage build
    assert b.coverage and b.build_dir.name.endswith("-cov")
    assert json.loads((b.build_dir / "build.json").read_text())["coverage"] is True
    assert not runner.build(CFG, "icarus").coverage, "Icarus runs must not change"
    results = runner.run(b, "tests.cocotb.isa_tests", testcase=["chain_fc_act_ew", "register_widths"],
                         test_dir=tmp_path / "run")
    total, failed = get_results(results)
    assert total == 2 and failed == 0
    dats = sorted(dat_dir.glob("*.dat"))
    assert len(dats) == 1 and dats[0].name.startswith("isa_tests-" + CFG.short_id())

    summary = coverage.report(dats, tmp_path / "out")
    cfg_name = b.build_dir.name
    assert list(summary["configs"]) == [cfg_name]
    t = summary["all"]
    modules = set(t) - {"total"}
    assert {"control_regs0", "issue_unit0", "dma0", "fc_kernel0", "act_kernel0", "ew_kernel0", "abuf0",
            "imem_predecode0", "pipelined_ram0", "top"} <= modules
    for kind in ("line", "branch", "toggle"):
        covered, total_points = t["total"][kind][:2]
        assert total_points > 0 and 0 < covered < total_points, (kind, covered, total_points)
    # the two scenarios write every register and run FC, ACT and EW: each of those blocks has lines
    # and toggles hit, but one FC/ACT/EW chain cannot cover everything
    for mod in ("control_regs0", "issue_unit0", "dma0", "fc_kernel0", "act_kernel0", "ew_kernel0"):
        for kind in ("line", "toggle"):
            covered, total_points = t[mod][kind][:2]
            assert 0 < covered <= total_points, (mod, kind, covered, total_points)
            assert 0 < coverage.pct(covered, total_points) <= 100
    assert t["total"]["toggle"][1] > t["total"]["toggle"][3], "the stated exceptions match no point"
    ids = [it for it in coverage.union({"c": coverage.items_of(coverage.points(coverage.read_dat(dats[0])),
                                                              coverage.VerilogIndex(b.build_dir / "verilog"
                                                                                    / "dlp_processor.v"),
                                                              coverage.Hierarchy())})
           if it.kind == "toggle" and it.where == "m_axi_arid"]
    assert ids and all(it.count == 0 and it.exception for it in ids), "the read ID is a constant 0"
    # outputs: merged counts (same format), annotated Verilog, the gaps per module
    assert coverage.read_dat(tmp_path / "out" / "merged.dat") == coverage.read_dat(dats[0])
    annotated = (tmp_path / "out" / "annotated" / cfg_name / "dlp_processor.v").read_text()
    # (MyHDL suffixes instance names when the build was converted after another config in one process)
    assert "%000000" in annotated and re.search(r"always @\(posedge clk\) begin: control_regs0(_\d+)*_write_channel",
                                                annotated)
    gaps = (tmp_path / "out" / "uncovered.txt").read_text()
    assert "==== issue_unit0 ====" in gaps and "m_axi_arid" in gaps and "stated exceptions" in gaps

"""sim/coverage.py on synthetic input: the .dat parser and merge, attribution of line, branch and
toggle points to MyHDL block instances, the union over configs, the stated exceptions and the
reports. (tests/cocotb/test_coverage.py runs it on a real Verilator coverage build.)"""
from __future__ import annotations

import pathlib

import pytest

from sim import coverage

VERILOG = """\
module dlp_processor (clk);
reg [1:0] issue_unit0_pc = 0;
reg issue_unit0_hazard_slot0_hit = 0;
reg [1:0] m_axi_arid = 0;
reg [7:0] tbl [0:3];

always @(posedge clk) begin: issue_unit0_fetch
    if (go) begin
        issue_unit0_pc <= 1;
    end
    else begin
        issue_unit0_pc <= 2;
    end
end

always_comb begin: issue_unit0_hazard_slot0_hit_out
    issue_unit0_hazard_slot0_hit = 1;
end

initial begin
    tbl[0] <= 1;
end

always @(posedge clk) begin: saturations
    sat <= 0;
end
always @(posedge clk) begin: issue_unit0_hazard_slot0_record
    if (1'b0) begin
        x <= 1;
    end
    else begin
        x <= 2;
    end
end
assign fc_kernel0_stream_control0_extra_block_next = 1'd0;
endmodule
"""


def key(**kv) -> str:
    return "".join(f"\x01{k}\x02{v}" for k, v in kv.items())


def dat(path: pathlib.Path, vfile: pathlib.Path, counts: dict, shift: int = 0) -> pathlib.Path:
    """A .dat file for VERILOG (its lines moved down by `shift`); counts: {point name: count}."""
    f = str(vfile)

    def ln(*lines):
        return "-".join(str(x + shift) for x in lines)

    pts = {
        "fetch_block": key(f=f, l=ln(7), n=1, t="line", page="v_line/x", o="block", S=ln(7), h="dlp_processor"),
        "fetch_if": key(f=f, l=ln(8), n=2, t="branch", page="v_branch/x", o="if", S=ln(8, 9), h="dlp_processor"),
        "fetch_else": key(f=f, l=ln(8), n=3, t="branch", page="v_branch/x", o="else", S=ln(11, 12),
                          h="dlp_processor"),
        "hit_block": key(f=f, l=ln(16), n=4, t="line", page="v_line/x", o="block", S=ln(16, 17), h="dlp_processor"),
        "rom": key(f=f, l=ln(20), n=5, t="line", page="v_line/x", o="block", S=ln(20, 21), h="dlp_processor"),
        "decl": key(f=f, l=ln(2), n=6, t="line", page="v_line/x", o="block", S=ln(2), h="dlp_processor"),
        "sat": key(f=f, l=ln(24), n=7, t="line", page="v_line/x", o="block", S=ln(24, 25), h="dlp_processor"),
        "dead_if": key(f=f, l=ln(28), n=8, t="branch", page="v_branch/x", o="if", S=ln(28, 29), h="dlp_processor"),
        "dead_else": key(f=f, l=ln(28), n=9, t="branch", page="v_branch/x", o="else", S=ln(31, 32),
                         h="dlp_processor"),
    }
    for d in ("0->1", "1->0"):
        pts[f"const{d}"] = key(f=f, l=ln(35), n=11, t="toggle", page="v_toggle/x",
                               o=f"fc_kernel0_stream_control0_extra_block_next:{d}", h="dlp_processor")
    for bit in (0, 1):
        for d in ("0->1", "1->0"):
            pts[f"pc{bit}{d}"] = key(f=f, l=ln(2), n=11, t="toggle", page="v_toggle/x",
                                     o=f"issue_unit0_pc[{bit}]:{d}", h="dlp_processor")
            pts[f"arid{bit}{d}"] = key(f=f, l=ln(4), n=11, t="toggle", page="v_toggle/x",
                                       o=f"m_axi_arid[{bit}]:{d}", h="dlp_processor")
    for d in ("0->1", "1->0"):
        pts[f"hit{d}"] = key(f=f, l=ln(3), n=11, t="toggle", page="v_toggle/x",
                             o=f"issue_unit0_hazard_slot0_hit:{d}", h="dlp_processor")
    with open(path, "w") as out:
        out.write("# SystemC::Coverage-3\n")
        for name, k in pts.items():
            out.write(f"C '{k}' {counts.get(name, 0)}\n")
    return path


@pytest.fixture
def design(tmp_path):
    vdir = tmp_path / "build" / "p4-int8-abc-cov" / "verilog"
    vdir.mkdir(parents=True)
    vfile = vdir / "dlp_processor.v"
    vfile.write_text(VERILOG)
    return vfile


HIER = coverage.Hierarchy(["issue_unit", "hazard_slot", "pipelined_ram", "ram", "_bank_connection", "fc_kernel",
                          "stream_control"])


def test_parse_and_merge(tmp_path, design):
    a = dat(tmp_path / "a.dat", design, {"fetch_block": 3, "fetch_if": 2, "pc00->1": 1})
    b = dat(tmp_path / "b.dat", design, {"fetch_block": 1, "fetch_else": 5})
    ca, cb = coverage.read_dat(a), coverage.read_dat(b)
    assert len(ca) == len(cb) == 9 + 12
    merged = coverage.merge([a, b])
    by_comment = {(p.kind, p.comment, p.line): p.count for p in coverage.points(merged)}
    assert by_comment[("line", "block", 7)] == 4
    assert by_comment[("branch", "else", 8)] == 5
    assert by_comment[("toggle", "issue_unit0_pc[0]:0->1", 2)] == 1
    coverage.write_dat(merged, tmp_path / "m.dat")
    assert coverage.read_dat(tmp_path / "m.dat") == merged
    assert coverage.parse_key(key(f="x.v", l=3, t="toggle")) == {"f": "x.v", "l": "3", "t": "toggle"}
    assert coverage.line_set("12-14,20") == [12, 13, 14, 20]
    assert coverage.toggle_parts("dma0_addr[3]:0->1") == ("dma0_addr", "[3]", "0->1")
    assert coverage.toggle_parts("mem[2][7]:1->0") == ("mem", "[2][7]", "1->0")
    assert coverage.toggle_parts("ren:1->0") == ("ren", "", "1->0")


def test_hierarchy_from_names():
    assert HIER.split("issue_unit0_hazard_slot0_record") == (("issue_unit0", "hazard_slot0"), "record")
    assert HIER.module("issue_unit0_hazard_slot0_record") == "issue_unit0"
    assert HIER.instance("issue_unit0_hazard_slot0_record") == "issue_unit0_hazard_slot0"
    # the longest block name wins, and MyHDL's leading underscore of a local block survives
    assert HIER.split("pipelined_ram0__bank_connection1_out") == (("pipelined_ram0", "_bank_connection1"), "out")
    assert HIER.module("ram2_write") == "ram" and HIER.instance("ram2_write") == "ram2"
    # MyHDL's suffixes of a second elaboration in one process
    assert HIER.split("issue_unit0_0_hazard_slot0_0_record") == (("issue_unit0", "hazard_slot0"), "record")
    assert HIER.canonical("issue_unit0_0_hazard_slot0_0_record") == "issue_unit0_hazard_slot0_record"
    assert HIER.canonical("fc_sat") == "fc_sat"
    assert HIER.module("fc_sat") == "top" and HIER.module("m_axi_arid") == "top"
    # the real RTL's blocks are found
    names = coverage.block_names()
    assert {"issue_unit", "dma", "fc_kernel", "act_kernel", "ew_kernel", "abuf", "control_regs", "ram"} <= set(names)


def test_verilog_index(design):
    index = coverage.VerilogIndex(design)
    assert index.block_at(9) == "issue_unit0_fetch"
    assert index.block_at(17) == "issue_unit0_hazard_slot0_hit_out"
    assert index.block_at(21) == "tbl"  # a ROM's unlabelled initial block, named by its array
    assert index.block_at(2) == "top"
    assert index.in_always(9) and not index.in_always(21) and not index.in_always(2)


def test_attribution_tally_and_reports(tmp_path, design):
    counts = {"fetch_block": 1, "fetch_if": 4, "hit_block": 1, "rom": 1, "decl": 1, "sat": 2, "dead_else": 5,
              "pc00->1": 3, "pc01->0": 1, "pc10->1": 1, "hit0->1": 1}
    items = coverage.items_of(coverage.points(coverage.read_dat(dat(tmp_path / "a.dat", design, counts))),
                              coverage.VerilogIndex(design), HIER)
    lines = {it.line: it for it in items if it.kind == "line"}
    # initial blocks and declarations' initial values are left out
    assert sorted(lines) == [7, 8, 9, 11, 12, 16, 17, 24, 25, 28, 29, 31, 32]
    # the arm of `if (1'b0)` cannot run: a stated exception, as is a constant-driven signal
    assert lines[29].exception and lines[29].count == 0 and lines[32].exception is None
    dead = [it for it in items if it.kind == "branch" and it.line == 28]
    assert [(it.detail.split(":")[0], bool(it.exception)) for it in dead] == [("else", False), ("if", True)]
    assert {lines[n].count for n in (11, 12)} == {0} and lines[9].count == 4
    assert lines[17].module == "issue_unit0" and lines[17].instance == "issue_unit0_hazard_slot0"
    assert lines[24].module == "top"  # the always block of rtl/top.py
    t = coverage.tally(items)
    assert t["issue_unit0"]["line"] == [7, 11, 7, 9]
    assert t["issue_unit0"]["branch"] == [2, 4, 2, 3]
    assert t["issue_unit0"]["toggle"][:2] == [4, 6]  # pc: 3 of 4, hit: 1 of 2
    assert t["top"]["toggle"][:4] == [0, 4, 0, 0]  # the AXI read ID: all 4 points are a stated exception
    assert t["fc_kernel0"]["toggle"] == [0, 2, 0, 0]  # tied to 1'd0
    assert t["total"]["toggle"] == [4, 12, 4, 6]
    assert coverage.pct(*t["total"]["line"][:2]) == pytest.approx(100 * 9 / 13)
    text = coverage.table(t, "title")
    assert "issue_unit0" in text and "63.64" in text and "77.78" in text and "total" in text
    gaps = coverage.uncovered_text(items)
    assert "==== issue_unit0 ====" in gaps
    assert "issue_unit0_pc: never fell [1]\n" in gaps
    assert "issue_unit0_hazard_slot0_hit: never fell (1 bit)" in gaps
    assert "12: issue_unit0_pc <= 2;" in gaps
    exc = gaps.split("==== top ====")[1]
    assert "stated exceptions" in exc and "m_axi_arid: never toggled [1:0]" in exc


def test_union_over_configs(tmp_path, design):
    other = tmp_path / "build" / "p16-int16-def-cov" / "verilog" / "dlp_processor.v"
    other.parent.mkdir(parents=True)
    other.write_text("\n\n" + VERILOG)  # the same design two lines further down
    a = dat(tmp_path / "a.dat", design, {"fetch_if": 1, "pc00->1": 1})
    b = dat(tmp_path / "b.dat", other, {"fetch_else": 7}, shift=2)
    summary = coverage.report([a, b], tmp_path / "out", HIER)
    assert set(summary["configs"]) == {"p4-int8-abc-cov", "p16-int16-def-cov"}
    one = summary["configs"]["p4-int8-abc-cov"]["issue_unit0"]["branch"][:2]
    assert one == [1, 4]
    # the if arm ran in one config and the else arm in the other: both covered over all configs
    assert summary["all"]["issue_unit0"]["branch"][:2] == [2, 4]
    assert summary["all"]["total"]["toggle"][:2] == [1, 12]  # the same 12 points in both configs
    out = tmp_path / "out"
    assert (out / "merged.dat").exists() and (out / "summary.json").exists()
    ann = (out / "annotated" / "p4-int8-abc-cov" / "dlp_processor.v").read_text().splitlines()
    assert ann[11].startswith("%000000") and ann[11].endswith("issue_unit0_pc <= 2;")
    assert ann[8].startswith(" 000001")
    assert ann[1].startswith("%t 1/4")

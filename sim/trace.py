"""Instruction traces: what the processor's retire port (rtl/trace.py) reports for every
completed instruction, turned into what people read.

- `TraceRun`: the records of one program run (a `deploy`, or one sequence of a `predict`), with
  the run's CYCLES counter; `records` are sim.model.Retired: kernel, pc, loop index t, issue
  and done cycle (counted from the cycle after START; the instruction occupies its kernel in
  cycles issue+1 .. done, as the BUSY counters count), write signature.
- `trace_events`: the Chrome / Perfetto trace-event JSON (`{"traceEvents": [...]}`): one track
  per kernel (FC, ACT, EW, DMA), one complete event ("ph": "X") per instruction named as in the
  listing (`lstm_1.wi`), `ts`/`dur` in clock cycles, `args` with pc, t, the instruction and its
  sequence; counters of the kernels' occupancy; runs laid end to end.
- `profile_rows` / `ProfileTable`: cycles per op, adding up to the hardware's CYCLES exactly:
  each cycle of a run counts for one instruction, the one in flight that finishes last (what
  the run is waiting for); cycles with no instruction in flight count as "issue and control".
- `first_retire_mismatch`: the first instruction whose record differs between two traces (the
  RTL's and the golden model's), described.

Pure Python (no simulator): the Workflow, `dlp` and the tests use it on records from any target.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np

from rtl import isa
from rtl.isa import Kernel

from .model import Retired

KERNEL_TRACKS = ("FC", "ACT", "EW", "DMA")   # the trace's tracks, one tid per kernel (Kernel value + 1)
CONTROL = "issue and control"               # profile row of the cycles with no instruction in flight


@dataclasses.dataclass
class TraceRun:
    """One program run's retire records (sim.model.Retired, sorted by issue cycle)."""
    program: str            # "deploy" or "run"
    sequence: int | None    # which sequence of the call (None for deploy)
    steps: int
    cycles: int             # the CYCLES counter after the run
    records: list

    def by_kernel(self) -> dict:
        out = {k: [] for k in Kernel}
        for r in sorted(self.records, key=lambda r: r.done):
            out[r.kernel].append(r)
        return out


def sort_records(records) -> list:
    return sorted(records, key=lambda r: (r.issue, r.kernel))


# ---- names --------------------------------------------------------------------------------------
def _entries(program, which: str) -> dict:
    return {e.pc: e for e in program.listing if e.program == which}


def op_kind(word: int) -> str:
    """What an instruction does, for the profile's grouping: "FC", "ACT.SIGMOID", "EW.MUL",
    "LOAD.ABUF", "STORE", ..."""
    op, fields = isa.decode(word)
    if op == isa.Op.ACT:
        return f"ACT.{isa.ActFunc(fields['func']).name}"
    if op == isa.Op.EW:
        return f"EW.{isa.EwFunc(fields['func']).name}"
    if op == isa.Op.LOAD:
        return f"LOAD.{isa.LoadTarget(fields['func']).name}"
    return op.name


def _words(program, which: str) -> list:
    return list(program.deploy_instructions if which == "deploy" else program.run_instructions)


# ---- trace-event JSON ---------------------------------------------------------------------------
def trace_events(runs: list[TraceRun], program, clock_mhz: float | None = None) -> dict:
    """The runs as a trace-event JSON object (see the module docstring). Times are clock cycles
    (the viewer's "µs" read as cycles); `clock_mhz`, when given, is stated in the metadata."""
    events = [{"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": "dlp processor"}}]
    for k in Kernel:
        events.append({"ph": "M", "name": "thread_name", "pid": 1, "tid": int(k) + 1,
                       "args": {"name": KERNEL_TRACKS[int(k)]}})
        events.append({"ph": "M", "name": "thread_sort_index", "pid": 1, "tid": int(k) + 1,
                       "args": {"sort_index": int(k)}})
    events.append({"ph": "M", "name": "thread_name", "pid": 1, "tid": len(KERNEL_TRACKS) + 1,
                   "args": {"name": "runs"}})
    offset = 0
    for run in runs:
        entries, words = _entries(program, run.program), _words(program, run.program)
        label = run.program if run.sequence is None else f"{run.program} sequence {run.sequence}"
        events.append({"ph": "X", "name": label, "pid": 1, "tid": len(KERNEL_TRACKS) + 1, "ts": offset,
                       "dur": run.cycles, "args": {"steps": run.steps, "cycles": run.cycles}})
        changes = []
        for r in sort_records(run.records):
            e = entries.get(r.pc)
            name = e.op if e is not None else f"pc {r.pc}"
            events.append({"ph": "X", "name": name, "cat": op_kind(words[r.pc]) if r.pc < len(words) else "?",
                           "pid": 1, "tid": int(r.kernel) + 1, "ts": offset + r.issue, "dur": r.done - r.issue,
                           "args": {"pc": r.pc, "t": r.t, "layer": e.layer if e is not None else "",
                                    "instruction": e.text if e is not None else "", "run": label,
                                    "issue_cycle": r.issue, "done_cycle": r.done}})
            changes += [(r.issue, int(r.kernel), 1), (r.done, int(r.kernel), -1)]
        # occupancy: instructions in flight per kernel (a kernel takes its next one while the last drains)
        level = [0] * len(KERNEL_TRACKS)
        changes.sort()
        i = 0
        while i < len(changes):
            cycle = changes[i][0]
            while i < len(changes) and changes[i][0] == cycle:
                level[changes[i][1]] += changes[i][2]
                i += 1
            events.append({"ph": "C", "name": "instructions in flight", "pid": 1, "ts": offset + cycle,
                           "args": {KERNEL_TRACKS[k]: level[k] for k in range(len(KERNEL_TRACKS))}})
        offset += run.cycles
    meta = {"time_unit": "clock cycles (shown as µs by viewers)", "config": program.config.short_id()}
    if clock_mhz:
        meta["clock_mhz"] = clock_mhz
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": meta}


def write_trace(path, runs: list[TraceRun], program, clock_mhz: float | None = None) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(trace_events(runs, program, clock_mhz)))
    return path


_PHASES = {"X", "M", "C", "B", "E", "i", "I"}


def trace_format_problems(obj) -> list[str]:
    """What in a trace-event JSON object breaks the Trace Event Format (the JSON object form read
    by Perfetto and chrome://tracing): an empty list means none."""
    problems = []
    if not isinstance(obj, dict) or not isinstance(obj.get("traceEvents"), list):
        return ["not an object with a traceEvents list"]
    for i, ev in enumerate(obj["traceEvents"]):
        where = f"event {i} ({ev.get('name', '?') if isinstance(ev, dict) else ev!r})"
        if not isinstance(ev, dict):
            problems.append(f"{where}: not an object")
            continue
        ph = ev.get("ph")
        if ph not in _PHASES:
            problems.append(f"{where}: phase {ph!r}")
            continue
        if not isinstance(ev.get("name"), str) or not ev["name"]:
            problems.append(f"{where}: no name")
        if not isinstance(ev.get("pid"), int):
            problems.append(f"{where}: pid {ev.get('pid')!r}")
        if ph in ("X", "B", "E", "i", "I", "M") and not isinstance(ev.get("tid"), int):
            problems.append(f"{where}: tid {ev.get('tid')!r}")
        if ph != "M" and not (isinstance(ev.get("ts"), (int, float)) and ev["ts"] >= 0):
            problems.append(f"{where}: ts {ev.get('ts')!r}")
        if ph == "X" and not (isinstance(ev.get("dur"), (int, float)) and ev["dur"] >= 0):
            problems.append(f"{where}: dur {ev.get('dur')!r}")
        if ph == "M" and not (ev["name"] in ("process_name", "thread_name", "process_sort_index",
                                             "thread_sort_index", "process_labels")
                              and isinstance(ev.get("args"), dict)):
            problems.append(f"{where}: metadata event without a known name and args")
        if ph == "C" and not (isinstance(ev.get("args"), dict) and ev["args"]
                              and all(isinstance(v, (int, float)) for v in ev["args"].values())):
            problems.append(f"{where}: counter without numeric args")
        if "args" in ev and not isinstance(ev["args"], dict):
            problems.append(f"{where}: args not an object")
    return problems


# ---- profile ------------------------------------------------------------------------------------
def exclusive_cycles(run: TraceRun) -> tuple[dict, int]:
    """Cycles of the run per record index (of sort_records(run.records)), each cycle counted once:
    for the instruction in flight (issue < cycle <= done) that finishes last, ties to the earlier
    issue; and the cycles with none in flight. The two add up to run.cycles."""
    records = sort_records(run.records)
    owner = np.full(run.cycles, -1, dtype=np.int64)
    order = sorted(range(len(records)), key=lambda i: (-records[i].done, records[i].issue))
    for i in order:
        r = records[i]
        lo, hi = r.issue + 1, min(r.done + 1, run.cycles)
        if hi <= lo:
            continue
        span = owner[lo:hi]
        span[span < 0] = i
    counts = np.bincount(owner[owner >= 0], minlength=len(records)) if len(records) else np.zeros(0, np.int64)
    return {i: int(c) for i, c in enumerate(counts)}, int((owner < 0).sum())


@dataclasses.dataclass
class ProfileRow:
    layer: str
    op: str          # the listing's op name (lstm_1.wi) or CONTROL
    kind: str        # op_kind: FC, ACT.SIGMOID, EW.MUL, LOAD.ABUF, ...
    count: int       # instructions retired
    cycles: int      # exclusive cycles (the rows add up to the runs' CYCLES)
    busy: int        # cycles its kernel spent on it (issue+1 .. done; overlaps other rows)


def profile_rows(runs: list[TraceRun], program) -> list[ProfileRow]:
    """Per op of the listing (in program order), over all runs, plus the CONTROL row."""
    rows: dict = {}
    control = 0
    for run in runs:
        entries, words = _entries(program, run.program), _words(program, run.program)
        records = sort_records(run.records)
        excl, idle = exclusive_cycles(run)
        control += idle
        for i, r in enumerate(records):
            e = entries.get(r.pc)
            key = (run.program, r.pc)
            if key not in rows:
                rows[key] = ProfileRow(e.layer if e is not None and e.layer else "control",
                                       e.op if e is not None else f"pc {r.pc}",
                                       op_kind(words[r.pc]) if r.pc < len(words) else "?", 0, 0, 0)
            row = rows[key]
            row.count += 1
            row.cycles += excl[i]
            row.busy += r.done - r.issue
    out = [rows[k] for k in sorted(rows, key=lambda k: (k[0] != "deploy", k[1]))]
    out.append(ProfileRow("", CONTROL, "", 0, control, 0))
    return out


@dataclasses.dataclass
class ProfileTable:
    """A profile measured on a target's trace, with the golden model's beside it."""
    target: str
    rows: list           # ProfileRow from the target's trace
    model_rows: list     # the same from the golden model's records of the same calls
    total_cycles: int    # the sum of the runs' CYCLES counters
    sequences: int
    steps: int
    clock_mhz: float
    clock_source: str

    @property
    def agrees(self) -> bool:
        return [dataclasses.astuple(r) for r in self.rows] == [dataclasses.astuple(r) for r in self.model_rows]

    def as_dict(self) -> dict:
        return {"target": self.target, "total_cycles": self.total_cycles, "sequences": self.sequences,
                "steps": self.steps, "clock_mhz": self.clock_mhz, "clock_source": self.clock_source,
                "model_agrees": self.agrees, "rows": [dataclasses.asdict(r) for r in self.rows]}

    def __str__(self) -> str:
        us = 1.0 / self.clock_mhz
        model = {(r.layer, r.op): r.cycles for r in self.model_rows}
        head = (f"{'layer':16} {'op':26} {'kind':12} {'count':>6} {'cycles':>9} {'share':>7} "
                f"{'µs':>9} {'busy':>9} {'model':>9}")
        lines = [f"Profile on {self.target}, measured from the processor's retire trace "
                 f"({self.sequences} sequence(s), {self.steps} time steps; clock {self.clock_mhz:g} MHz, "
                 f"{self.clock_source})", head, "-" * len(head)]
        for r in self.rows:
            share = r.cycles / self.total_cycles if self.total_cycles else 0.0
            lines.append(f"{r.layer:16} {r.op:26} {r.kind:12} {r.count:6d} {r.cycles:9d} {share:7.1%} "
                         f"{r.cycles * us:9.2f} {r.busy:9d} {model.get((r.layer, r.op), 0):9d}")
        summed = sum(r.cycles for r in self.rows)
        lines.append("-" * len(head))
        lines.append(f"{'total':16} {'':26} {'':12} {sum(r.count for r in self.rows):6d} {summed:9d} "
                     f"{1.0 if self.total_cycles else 0.0:7.1%} {summed * us:9.2f} {'':9} "
                     f"{sum(r.cycles for r in self.model_rows):9d}")
        lines.append("per layer: " + ", ".join(f"{name} {c} ({c / self.total_cycles:.1%})" if self.total_cycles
                                               else f"{name} {c}" for name, c in layer_totals(self.rows).items()))
        per_seq = self.total_cycles / max(1, self.sequences)
        lines.append(f"CYCLES counters: {self.total_cycles} (rows add up to {summed}); "
                     f"{per_seq * us:.2f} µs per sequence, {self.clock_mhz * 1e6 / per_seq:.1f} sequences/s, "
                     f"{self.clock_mhz * 1e6 * self.steps / max(1, self.total_cycles):.0f} time steps/s; "
                     f"the golden model's cycle model {'agrees on every row' if self.agrees else 'DIFFERS'}")
        return "\n".join(lines)


def layer_totals(rows: list[ProfileRow]) -> dict:
    """Exclusive cycles per layer (the CONTROL row under its own name), in first-seen order."""
    out: dict = {}
    for r in rows:
        key = r.layer or r.op
        out[key] = out.get(key, 0) + r.cycles
    return out


def plot_timeline(run: TraceRun, program, path, step: int | None = None, title: str | None = None) -> pathlib.Path:
    """A PNG of one time step of a run (default: the middle one): one lane per kernel, one bar per
    instruction from its issue to its done cycle, labelled with its op, so the kernels' overlap
    shows. Instructions outside the loop (loads before it, the head after it) are left out."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.patches
    import matplotlib.pyplot as plt

    entries = _entries(program, run.program)
    words = _words(program, run.program)
    loop_pcs = {r.pc for r in run.records if r.t > 0}  # pcs that run in more than the first step
    steps = sorted({r.t for r in run.records if r.pc in loop_pcs}) or [0]
    step = steps[len(steps) // 2] if step is None else step
    chosen = [r for r in sort_records(run.records) if r.t == step and (r.pc in loop_pcs or len(steps) == 1)]
    if not chosen:
        raise ValueError(f"no instruction of the run has loop index t={step} (t runs {steps[0]}..{steps[-1]})")
    t0 = min(r.issue for r in chosen)
    colours = {"FC": "#4e79a7", "ACT": "#f28e2b", "EW": "#59a14f", "LOAD": "#9c755f", "STORE": "#b07aa1"}
    fig, ax = plt.subplots(figsize=(11, 3.6), dpi=110)
    lanes = list(Kernel)
    end = max(r.done for r in chosen) - t0 + 2
    narrow = end / 25  # bars narrower than this get their label beside them
    stagger: dict = {}
    for r in chosen:
        lane = lanes.index(r.kernel)
        kind = op_kind(words[r.pc]) if r.pc < len(words) else "?"
        colour = colours.get(kind.split(".")[0], "#999999")
        start, width = r.issue + 1 - t0, r.done - r.issue
        ax.broken_barh([(start, width)], (lane - 0.38, 0.76), facecolors=colour, edgecolor="white", linewidth=0.8)
        e = entries.get(r.pc)
        label = (e.op.split(".", 1)[-1] if e is not None else f"pc {r.pc}")
        if width >= narrow:
            ax.text(start + width / 2, lane, label, ha="center", va="center", fontsize=8, color="white")
        else:  # above the lane, alternating heights so neighbours do not overlap
            k = stagger[lane] = stagger.get(lane, -1) + 1
            ax.text(start + width / 2, lane - 0.42, label, ha="center", va="bottom", fontsize=6.5,
                    rotation=35 if k % 2 else 0, color="black")
    ax.set_yticks(range(len(lanes)), [KERNEL_TRACKS[int(k)] for k in lanes])
    ax.set_xlabel(f"clock cycles from the first issue of time step t={step}")
    ax.set_xlim(0, end)
    ax.set_ylim(len(lanes) - 0.4, -1.0)
    handles = [matplotlib.patches.Patch(color=c, label=k) for k, c in colours.items()]
    ax.legend(handles=handles, loc="lower right", fontsize=7, ncol=len(handles), framealpha=0.9)
    ax.grid(axis="x", alpha=0.3)
    what = f"sequence {run.sequence}" if run.sequence is not None else f"the {run.program} program"
    ax.set_title(title or f"time step t={step} of {what}: {end - 1} cycles, kernels overlapping", fontsize=10)
    fig.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


# ---- comparison ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Divergence:
    """The first instruction whose retire record on the RTL differs from the golden model's."""
    sequence: int           # which sequence of the call
    kernel: str
    pc: int
    t: int
    op: str                 # as in the listing (lstm_1.mul_ig)
    issue_cycle: int        # the golden model's, counted from the cycle after START
    why: str                # what differs (first_mismatch)
    time: int | None = None     # its issue in the dump's time unit (waves=True)
    view: pathlib.Path | None = None  # a view with a marker on it (waves=True)

    def __str__(self) -> str:
        text = (f"first divergence: sequence {self.sequence}, {self.op} (pc {self.pc}, t={self.t}, {self.kernel}), "
                f"issue cycle {self.issue_cycle}: {self.why}")
        if self.view is not None:
            text += f"\nview with a marker on it (time {self.time}): {self.view}"
        return text


def first_mismatch(rtl: dict, golden: list[Retired], cycles: bool, complete: bool,
                   name=lambda pc: f"pc {pc}") -> tuple[Retired, str] | None:
    """The first instruction (by the golden model's issue cycle) whose retire record differs
    between the RTL (`rtl`: Kernel -> records in completion order) and the golden model: (the
    golden model's record of it, or the RTL's extra one; what differs), or None if all agree.
    `cycles`: compare issue and done cycles too (a memory without back-pressure). `complete`: the
    RTL must have retired exactly the golden model's instructions (no fault: every kernel ran to
    the end)."""
    worst = None

    def keep(record, why):
        nonlocal worst
        if worst is None or record.issue < worst[0].issue:
            worst = (record, why)

    for kernel, want in ((k, [r for r in golden if r.kernel == k]) for k in rtl):
        got = rtl[kernel]
        for i, g in enumerate(want):
            if i >= len(got):
                if complete:
                    keep(g, f"{kernel.name} {name(g.pc)} t={g.t}: never retired (golden: issue {g.issue}, done {g.done})")
                break
            r = got[i]
            same = ((r.pc, r.t) == (g.pc, g.t) and (r.sig == g.sig or not g.defined)
                    and (not cycles or (r.issue, r.done) == (g.issue, g.done)))
            if not same:
                what = [f"{f} {getattr(r, f)} vs {getattr(g, f)}" for f in ("pc", "t", "issue", "done")
                        if getattr(r, f) != getattr(g, f) and (cycles or f in ("pc", "t"))]
                if r.sig != g.sig and g.defined:
                    what.append(f"wrote signature {r.sig:#010x}, expected {g.sig:#010x}")
                keep(g, f"{kernel.name} {name(g.pc)} t={g.t}, issue cycle {g.issue}: " + "; ".join(what) +
                     f" (rtl vs golden; record {i} of the kernel)")
                break
        if complete and len(got) > len(want):
            extra = got[len(want)]
            keep(extra, f"{kernel.name}: {len(got)} instructions retired, golden {len(want)}; first extra: {name(extra.pc)}")
    return worst


def first_retire_mismatch(rtl: dict, golden: list[Retired], cycles: bool, complete: bool,
                          name=lambda pc: f"pc {pc}") -> str | None:
    """What differs at the first mismatching instruction (first_mismatch), or None."""
    found = first_mismatch(rtl, golden, cycles, complete, name)
    return None if found is None else found[1]

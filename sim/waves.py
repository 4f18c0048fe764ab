"""GTKWave views of the processor's waveforms, and the translate filters that name its values.

A view groups the signals an engineer looks at first by kernel (control and status, the issue
stage, FC, ACT, EW, DMA, the AXI ports) under readable aliases, and shows values as names through
GTKWave translate filter files generated from one source each, never written by hand:

    program.txt   a pc -> the instruction at it, as in the compiled program's listing
                  (`lstm_1.wi`; "deploy.load_weights / lstm_1.load_h" where both programs
                  have an instruction at that pc)
    opcode.txt    rtl.isa.Op          error.txt   rtl.isa.ErrorCode
    state.txt     rtl.issue.ISSUE_STATES (the issue unit's state encoding)

The pc, the issue stage's pc and each kernel's last retired pc (the retire trace port) are
shown as instructions, the loop index t in decimal. A view made for a call (`view(...,
window=...)`) opens zoomed from its START to its DONE with named markers on both.

    python -m sim.waves            # rewrite waves/icarus.gtkw and waves/verilator.gtkw (default config)

A simulator session with waves=True writes `view.gtkw` and the filters next to its dump, and
the Workflow rewrites the view after every call, zoomed on that call:
`gtkwave waves/dumps/<session>/dlp_sim.fst waves/dumps/<session>/view.gtkw`.
"""
from __future__ import annotations

import dataclasses
import math
import pathlib
import re

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.issue import ISSUE_STATES

# GTKWave trace flags (the `@` lines of a save file)
_HEX, _DEC, _BIN, _RJUSTIFY, _TRANSLATED = 0x2, 0x4, 0x8, 0x20, 0x2000

# (group, ((regular expression on the name without the top-level prefix, alias, format, filter)))
# format "hex" or "dec"; filter None or the name of a translate filter (FILTERS / "program")
GROUPS = (
    ("control", ((r"clk", "clk", "hex", None), (r"rst", "rst", "hex", None), (r"irq", "irq", "hex", None),
                 (r"running", "running", "hex", None), (r"done", "DONE", "hex", None),
                 (r"error", "ERROR", "hex", None), (r"error_code", "error code", "hex", "error"),
                 (r"pc", "pc", "dec", "program"), (r"loop_t", "t (loop index)", "dec", None))),
    ("issue", ((r"issue_unit[\d_]*_state", "issue state", "hex", "state"),
               (r"issue_pc", "issuing", "dec", "program"),
               (r"issue_unit[\d_]*_dec_opcode", "decoded opcode", "hex", "opcode"),
               (r"issue_unit[\d_]*_hazard", "waits on a hazard", "hex", None),
               (r"issue_unit[\d_]*_drain", "drain", "hex", None))),
    *((kernel.upper(), ((rf"issue_unit[\d_]*_ctl_{kernel}_start", f"{kernel.upper()} start", "hex", None),
                        (rf".*busy_{kernel}", f"{kernel.upper()} busy", "hex", None),
                        (rf"trace_{kernel}_pc", f"{kernel.upper()} retired", "dec", "program"),
                        (rf"trace_{kernel}_t", f"{kernel.upper()} retired t", "dec", None)))
      for kernel in ("fc", "act", "ew", "dma")),
    ("AXI4 read", ((r"m_axi_ar(valid|ready|addr|len)", None, "hex", None),
                   (r"m_axi_r(valid|ready|last|resp|data)", None, "hex", None))),
    ("AXI4 write", ((r"m_axi_aw(valid|ready|addr|len)", None, "hex", None),
                    (r"m_axi_w(valid|ready|last|strb|data)", None, "hex", None),
                    (r"m_axi_b(valid|ready|resp)", None, "hex", None))),
    ("AXI4-Lite", ((r"s_axil_(aw|w|ar|r|b)(valid|ready)", None, "hex", None),
                   (r"s_axil_(awaddr|araddr|wdata|rdata)", None, "hex", None))),
)
SCOPES = {"dlp_sim": "dlp_sim", "dlp_processor": "dlp_processor"}
_DECL = re.compile(r"^\s*(?:input|output|reg|wire)\s+(?:signed\s+)?(?:\[(\d+):(\d+)\]\s+)?(\w+)\b", re.M)
WINDOW_SIZE = (1600, 900)   # the GTKWave window a view asks for
SIGNALS_WIDTH = 260         # its signal-name pane: the waves get the rest of the width
ZOOM_0_PIXELS = 200         # pixels per time unit at zoom 0 (measured on GTKWave 3.3.118's screenshots)


def signals(verilog: str) -> dict[str, int]:
    """Declared names and widths in a converted Verilog file (the top-level prefix removed)."""
    out = {}
    for hi, lo, name in _DECL.findall(verilog):
        out[name] = int(hi) - int(lo) + 1 if hi else 1
    return out


# ---- translate filters --------------------------------------------------------------------------
def filters(program=None) -> dict[str, dict[int, str]]:
    """Value -> name tables of the translate filters: from rtl.isa, rtl.issue and (when given) the
    compiled program's listing."""
    out = {"opcode": {int(op): op.name for op in isa.Op},
           "error": {int(code): code.name for code in isa.ErrorCode},
           "state": dict(enumerate(ISSUE_STATES))}
    if program is not None:
        names: dict[int, list] = {}
        for which in ("deploy", "run"):
            for e in program.listing:
                if e.program == which:
                    names.setdefault(e.pc, []).append(e.op)
        out["program"] = {pc: " / ".join(ops) for pc, ops in names.items()}
    return out


def filter_text(table: dict[int, str], fmt: str, width: int) -> str:
    """A translate filter file: one `<value as GTKWave prints it> <name>` line per value (decimal,
    or hex zero-padded to the signal's width)."""
    digits = max(1, -(-width // 4))
    lines = ["# generated by sim/waves.py"]
    for value, name in sorted(table.items()):
        if value >= 1 << width:
            continue
        shown = str(value) if fmt == "dec" else f"{value:0{digits}X}"
        lines.append(f"{shown} {name}")
    return "\n".join(lines) + "\n"


# ---- views --------------------------------------------------------------------------------------
@dataclasses.dataclass
class Trace:
    """One signal of a view: its name in the dump (relative to the top scope), alias, width,
    format and translate filter."""
    name: str
    alias: str | None
    width: int
    fmt: str
    filter: str | None


def traces(verilog_path, toplevel: str, program_known: bool = False) -> list[tuple[str, list[Trace]]]:
    """The view's groups of signals, as found in the converted Verilog of the build."""
    declared = signals(pathlib.Path(verilog_path).read_text())
    prefix = "processor0_" if toplevel == "dlp_sim" else ""
    groups = []
    for group, patterns in GROUPS:
        picked: list[Trace] = []
        for pat, alias, fmt, filt in patterns:
            for name, width in declared.items():
                bare = name[len(prefix):] if prefix and name.startswith(prefix) else name
                if re.fullmatch(pat, bare) and all(t.name != name for t in picked):
                    if filt == "program" and not program_known:
                        filt = None
                    picked.append(Trace(name, alias, width, fmt, filt))
        if picked:
            groups.append((group, picked))
    return groups


def view(verilog_path: str | pathlib.Path, toplevel: str, dump: str | None = None, program=None,
         filter_dir: str | pathlib.Path | None = None, window: tuple[int, int] | None = None,
         markers: dict[str, int] | None = None) -> str:
    """Text of a .gtkw view for dumps of `toplevel` built from `verilog_path`.

    program     the compiled program (names the pc values; without it pcs show as numbers)
    filter_dir  where the translate filter files are written (needed for names; default: none)
    window      (start, end) in the dump's time units: the view opens showing exactly this span
    markers     name -> time (dump units): named markers A, B, ... in this order (e.g. START, DONE)
    """
    groups = traces(verilog_path, toplevel, program_known=program is not None and filter_dir is not None)
    tables = filters(program)
    lines = ["[*] GTKWave view generated by sim/waves.py"]
    if dump:
        lines.append(f'[dumpfile] "{dump}"')
    width, height = WINDOW_SIZE
    lines.append(f"[size] {width} {height}")
    lines.append(f"[signals_width] {SIGNALS_WIDTH}")
    lines.append("[sst_expanded] 0")
    start = window[0] if window else 0
    lines.append(f"[timestart] {start}")
    if window or markers:
        span = max(1, (window[1] - window[0]) if window else 1)
        # GTKWave 3.3 draws ZOOM_0_PIXELS * 2**zoom pixels per time unit: fit the span into the pane
        zoom = math.log2((width - SIGNALS_WIDTH - 80) / (ZOOM_0_PIXELS * span)) if window else 0.0
        named = list((markers or {}).items())[:26]
        primary = named[0][1] if named else -1
        times = [t for _, t in named] + [-1] * (26 - len(named))
        lines.append(f"*{zoom:.6f} {primary} " + " ".join(str(t) for t in times))
        for letter, (name, _) in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", named):
            lines.append(f"[markername] {letter}{name}")
    filter_ids: dict[str, int] = {}
    for group, picked in groups:
        lines += ["@200", f"-{group}"]
        for t in picked:
            flags = (_DEC if t.fmt == "dec" else _HEX) | _RJUSTIFY
            use_filter = t.filter is not None and t.width > 1 and filter_dir is not None and t.filter in tables
            if use_filter:
                flags |= _TRANSLATED
                key = f"{t.filter}-{t.fmt}{t.width}"
                path = pathlib.Path(filter_dir) / f"{key}.txt"
                if key not in filter_ids:
                    filter_ids[key] = len(filter_ids) + 1
                    path.write_text(filter_text(tables[t.filter], t.fmt, t.width))
                lines.append(f"^{filter_ids[key]} {path}")
            if t.width == 1:
                flags = _BIN | _RJUSTIFY
            lines.append(f"@{flags:x}")
            full = f"{SCOPES[toplevel]}.{t.name}" + (f"[{t.width - 1}:0]" if t.width > 1 else "")
            lines.append(f"+{{{t.alias}}} {full}" if t.alias else full)
    return "\n".join(lines) + "\n"


def screenshot(dump, view_file, png, seconds: float = 6.0, display: int | None = None) -> pathlib.Path:
    """Open `dump` with `view_file` in GTKWave on a virtual screen (Xvfb, WINDOW_SIZE) and save what
    it shows as `png`. Needs Debian's gtkwave and xvfb (`make tools` installs them)."""
    import os
    import shutil
    import subprocess
    import tempfile
    import time

    from PIL import ImageGrab

    for tool in ("gtkwave", "Xvfb"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found: install Debian's gtkwave and xvfb (make tools does it as root)")
    width, height = WINDOW_SIZE
    display = display if display is not None else 90 + os.getpid() % 100
    home = tempfile.mkdtemp(prefix="gtkwave-")  # no user rc file changes the view
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, DISPLAY=f":{display}", HOME=home)
    try:
        time.sleep(1.0)
        if xvfb.poll() is not None:
            raise RuntimeError(f"Xvfb :{display} did not start (exit code {xvfb.returncode})")
        wave = subprocess.Popen(["gtkwave", "--rcvar", "splash_disable on", "--rcvar", "enable_vcd_autosave off",
                                 str(pathlib.Path(dump).resolve()), str(pathlib.Path(view_file).resolve())], env=env, cwd=home,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            time.sleep(seconds)
            if wave.poll() is not None:
                raise RuntimeError(f"gtkwave exited with code {wave.returncode}: {wave.stderr.read().decode()[-500:]}")
            image = ImageGrab.grab(xdisplay=f":{display}")
        finally:
            wave.kill()
            wave.wait()
    finally:
        xvfb.kill()
        xvfb.wait()
        shutil.rmtree(home, ignore_errors=True)
    png = pathlib.Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    image.save(png)
    return png


def main() -> None:
    from rtl.convert import PROCESSOR_TOP, SIM_TOP, convert

    from .runner import REPO, build_root

    cfg = ProcessorConfig()
    out = build_root().parent / "views"
    for simulator, sim_top in (("icarus", True), ("verilator", False)):
        path = convert(cfg, out / simulator, sim=sim_top)
        top = SIM_TOP if sim_top else PROCESSOR_TOP
        target = REPO / "waves" / f"{simulator}.gtkw"
        target.write_text(view(path, top))
        print(target)


if __name__ == "__main__":
    main()

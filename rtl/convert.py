"""Conversion of the MyHDL design to Verilog.

`python -m rtl.convert OUT_DIR [--lanes 16 --data-type int16 ...]` writes the Verilog of a
config. Converted files belong in a build folder (ignored by git), never in the source tree."""
from __future__ import annotations

import argparse
import hashlib
import pathlib
import re
import warnings

from myhdl import ResetSignal, Signal

from .config import ProcessorConfig
from .interfaces import AxiLiteSlave, Axi4Master
from .trace import TracePort

SIM_TOP = "dlp_sim"
PROCESSOR_TOP = "dlp_processor"
RTL_DIR = pathlib.Path(__file__).resolve().parent


def source_hash() -> str:
    """Hash of the RTL sources: a build made from other sources must not be reused. The
    synthesis flow (rtl/synth.py) is a tool, not hardware: changing it rebuilds no simulator."""
    h = hashlib.sha256()
    for path in sorted(RTL_DIR.glob("*.py")):
        if path.name == "synth.py":
            continue
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def ports(cfg: ProcessorConfig):
    clk = Signal(bool(0))
    rst = ResetSignal(0, active=1, isasync=False)
    return clk, rst, Axi4Master(cfg), AxiLiteSlave(), Signal(bool(0))


def convert(cfg: ProcessorConfig, out_dir: str | pathlib.Path, sim: bool = True,
            half_period_ns: int = 5, trace: bool = True) -> pathlib.Path:
    """Write `<top>.v` for `cfg` into out_dir and return its path. `sim=True` gives the
    simulation top with the HDL clock (module `dlp_sim`), else the bare processor. `trace` adds
    the retire trace ports (`trace_<kernel>_<field>`, rtl/trace.py), which simulations read."""
    from .top import processor, processor_sim

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    clk, rst, m_axi, s_axil, irq = ports(cfg)
    trace_port = TracePort(cfg) if trace else None
    if sim:
        inst = processor_sim(cfg, clk, rst, m_axi, s_axil, irq, half_period_ns, trace_port)
        name = SIM_TOP
    else:
        inst = processor(cfg, clk, rst, m_axi, s_axil, irq, trace_port)
        name = PROCESSOR_TOP
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inst.convert(hdl="Verilog", path=str(out_dir), name=name, testbench=False, no_myhdl_header=True,
                     initial_values=True)
    _combinational_blocks_as_always_comb(out_dir / f"{name}.v")
    # Expected: the AXI ID inputs and AXI-Lite WSTRB are unused, as is the ACT kernel's second
    # read enable. Kept next to the Verilog for whoever reads it, not printed on every build.
    (out_dir / f"{name}.warnings.txt").write_text("".join(f"{w.category.__name__}: {w.message}\n" for w in caught))
    return out_dir / f"{name}.v"


def _combinational_blocks_as_always_comb(path: pathlib.Path) -> None:
    """MyHDL writes an `always_comb` process as `always @(inputs)`, which a Verilog simulator runs
    only when an input changes, never at time 0: an output whose inputs keep their initial values
    keeps its own initial value even where the logic gives another (a kernel's `ready` stayed 0 in
    Icarus while MyHDL and Verilator had it at 1). SystemVerilog's `always_comb` is evaluated at
    time 0 as well, which is the semantics MyHDL simulates; every consumer (Icarus -g2012,
    Verilator, Yosys -sv) reads it."""
    text = path.read_text()
    text = re.sub(r"^always @\((?![^)]*edge)[^)]*\) begin:", "always_comb begin:", text, flags=re.M)
    path.write_text(text)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--bare", action="store_true", help="the processor without the simulation clock")
    parser.add_argument("--trace", action=argparse.BooleanOptionalAction, default=None,
                        help="retire trace ports (rtl/trace.py); default: with the simulation top, without --bare")
    ProcessorConfig.add_arguments(parser)
    args = parser.parse_args(argv)
    print(convert(ProcessorConfig.from_arguments(args), args.out_dir, sim=not args.bare,
                  trace=not args.bare if args.trace is None else args.trace))


if __name__ == "__main__":
    main()

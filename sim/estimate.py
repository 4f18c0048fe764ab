"""Performance estimate of a compiled program (MATLAB's estimatePerformance), from the golden
model's cycle model, which predicts the RTL's cycle counters exactly.

    est = estimate_performance(program, sequence_length=26)     # or Workflow.estimate_performance
    print(est)                    # per layer and total: cycles, µs at Fmax, steps/s, sequences/s
    est["total"]["cycles"]        # == the CYCLES counter of a predict of 26 steps on the RTL

Cycles do not depend on the data, so the program runs on the golden model with a zero input of
the asked length. Every cycle of the run goes to exactly one row: the cycles after instruction
k-1 left the issue stage, up to and including the cycle instruction k leaves it (the cycles in
which the PC shows k), belong to instruction k's layer; LOOP/ENDLOOP count as "control"; the
cycles before the first instruction reaches the issue stage (start) and END's wait for the
kernels to finish go to "(start, end)". So the rows add up to the total. Busy cycles per kernel
(issue to done) are given per layer too, each cycle to the oldest instruction the kernel has in
flight (so they add up to the BUSY counters); different kernels' busy cycles overlap, since the
kernels run concurrently.

Steady state: the estimate is of a call whose program is already in the instruction memory. The
first call after deploy also fetches the run program (`program_fetch_cycles` more).

Clock: the ECP5 place-and-route Fmax of the config from the synthesis cache (`dlp synth`) if
there is one, else the design target of 150 MHz (`fmax_source` says which), or `fmax_mhz` if
given.
"""
from __future__ import annotations

import operator

import numpy as np

from rtl.isa import Kernel, Op

from .driver import HostDriver, SyncDevice, run_sync
from .model import CycleModel, GoldenDevice

DEFAULT_FMAX_MHZ = 150.0  # the design target (rtl.synth.TARGET_MHZ), when no place and route exists
START_END = "(start, end)"
CONTROL = "control"


class PerformanceEstimate(dict):
    """A plain dict (JSON-ready) whose str() is the table."""

    def __str__(self) -> str:
        return performance_table(self)


def check_sequence_length(sequence_length, max_sequence_length: int) -> int:
    try:
        t = operator.index(sequence_length)
    except TypeError:
        t = None
    if t is None or isinstance(sequence_length, bool) or not 1 <= t <= max_sequence_length:
        raise ValueError(f"sequence_length={sequence_length!r}: expected an integer from 1 to "
                         f"{max_sequence_length} (the program's max_sequence_length; compile with a larger "
                         "max_sequence_length for longer sequences)")
    return t


def synthesis_fmax(config) -> float | None:
    """The whole design's ECP5 place-and-route Fmax from the synthesis cache, or None."""
    from rtl import synth

    report = synth.cached_report(config, "ecp5")
    return report.fmax_mhz if report is not None else None


def estimate_performance(program, sequence_length, fmax_mhz: float | None = None, stateful: bool = False,
                         mem_bytes: int | None = None) -> PerformanceEstimate:
    """Latency of one call of `sequence_length` steps (predict, or predict_and_update_state with
    `stateful`), per layer and in total: cycles, µs at the clock, time steps/s, sequences/s, and
    busy cycles per kernel. See the module docstring for how cycles are attributed."""
    t = check_sequence_length(sequence_length, program.max_sequence_length)
    cfg = program.config
    if fmax_mhz is not None:
        if isinstance(fmax_mhz, bool) or not isinstance(fmax_mhz, (int, float, np.integer, np.floating)) \
                or not 0 < fmax_mhz < float("inf"):
            raise ValueError(f"fmax_mhz={fmax_mhz!r}: expected a positive clock frequency in MHz")
        fmax, source = float(fmax_mhz), "given"
    else:
        placed = synthesis_fmax(cfg)
        fmax, source = (placed, "place and route") if placed else (DEFAULT_FMAX_MHZ, "default")
    timing = CycleModel(cfg)
    if mem_bytes is None:
        from .workflow import _mem_size
        mem_bytes = _mem_size(len(program.image))
    device = GoldenDevice(cfg, mem_bytes=mem_bytes, timing=timing)
    driver = HostDriver(SyncDevice(device), program)
    run_sync(driver.deploy())
    x = np.zeros((t, program.network.input_size))
    _, first = run_sync(driver.predict(x, stateful=stateful))  # fetches the run program
    device.keep_trace = True
    _, profile = run_sync(driver.predict(x, stateful=stateful))
    if len(device.trace) != len(timing.leave_cycles):
        raise RuntimeError(f"cycle model recorded {len(timing.leave_cycles)} issues for {len(device.trace)} "
                           "executed instructions")

    entries = {e.pc: e for e in program.listing if e.program == "run"}
    cycles: dict[str, int] = {}
    busy: dict[str, dict[str, int]] = {}

    def row_of(pc: int, op: Op | None = None) -> str:
        if op == Op.END:
            return START_END
        entry = entries.get(pc)
        return entry.layer if entry is not None and entry.layer else CONTROL

    for pc, op, _ in device.trace:  # layers in program order of first appearance, then the rest
        if row_of(pc, op) not in (CONTROL, START_END):
            cycles.setdefault(row_of(pc, op), 0)
    cycles.update({CONTROL: 0, START_END: 0})
    previous = timing.run_begin - 1
    cycles[START_END] += previous - timing.start_cycle
    for (pc, op, _), cycle in zip(device.trace, timing.leave_cycles):
        cycles[row_of(pc, op)] += cycle - previous
        previous = cycle
    total_cycles = previous - timing.start_cycle
    # a kernel's busy cycles go to the oldest instruction in flight: a streaming kernel's next
    # instruction starts while the previous one drains, and the BUSY counters count cycles once
    covered = {k: None for k in Kernel}
    for pc, kernel, issued, done in timing.events:
        per_kernel = busy.setdefault(row_of(pc), {k.name: 0 for k in Kernel})
        start = issued if covered[kernel] is None else max(issued, covered[kernel])
        per_kernel[kernel.name] += max(0, done - start)
        covered[kernel] = done if covered[kernel] is None else max(done, covered[kernel])
    if sum(cycles.values()) != total_cycles or total_cycles != profile.cycles:
        raise RuntimeError(f"rows add up to {sum(cycles.values())} cycles, the run took {total_cycles}, "
                           f"the CYCLES register says {profile.cycles}")

    def timing_of(n: int) -> dict:
        return {"cycles": n, "latency_us": round(n / fmax, 3), "percent": round(100 * n / total_cycles, 2)}

    latency_s = total_cycles / (fmax * 1e6)
    ideal = program.ideal_cycles_per_step()
    return PerformanceEstimate({
        "config": cfg.short_id(),
        "sequence_length": t,
        "stateful": stateful,
        "fmax_mhz": fmax,
        "fmax_source": source,
        "layers": {name: dict(timing_of(n), busy=busy.get(name, {k.name: 0 for k in Kernel}))
                   for name, n in cycles.items()},
        "total": dict(timing_of(total_cycles), busy={k.name: profile.busy[k] for k in Kernel},
                      cycles_per_step=round(total_cycles / t, 2), steps_per_second=round(t / latency_s, 1),
                      sequences_per_second=round(1 / latency_s, 2),
                      mac_utilisation=round(ideal * t / total_cycles, 4) if ideal else None),
        "ideal_cycles_per_step": ideal,
        "program_fetch_cycles": first.cycles - profile.cycles,
    })


def performance_table(est: dict) -> str:
    """The estimate as a table, like MATLAB's estimatePerformance."""
    kernels = [k.name for k in Kernel]
    head = (f"{'layer':<22}{'cycles':>10}{'latency µs':>12}{'% of total':>11}   "
            + "".join(f"{'busy ' + k:>10}" for k in kernels))
    lines = [f"Performance estimate: {est['config']}, sequence length {est['sequence_length']}"
             f"{' (stateful)' if est['stateful'] else ''}, clock {est['fmax_mhz']:g} MHz ({est['fmax_source']})",
             head, "-" * len(head)]

    def row(name: str, r: dict) -> str:
        return (f"{name:<22}{r['cycles']:>10}{r['latency_us']:>12.3f}{r['percent']:>10.2f}%   "
                + "".join(f"{r['busy'].get(k, 0):>10}" for k in kernels))

    lines += [row(name, r) for name, r in est["layers"].items()]
    lines.append("-" * len(head))
    total = est["total"]
    lines.append(row("total", total))
    lines.append(f"{total['cycles_per_step']:g} cycles per time step (ideal {est['ideal_cycles_per_step']:g}"
                 + (f", MAC utilisation {100 * total['mac_utilisation']:.1f} %" if total["mac_utilisation"] else "")
                 + f"); {total['steps_per_second']:g} time steps/s; {total['sequences_per_second']:g} sequences/s")
    lines.append(f"(rows add up to the total: each cycle belongs to the instruction waiting to issue; busy "
                 f"cycles overlap. The first call after deploy adds {est['program_fetch_cycles']} cycles to "
                 "fetch the run program.)")
    return "\n".join(lines)


__all__ = ["estimate_performance", "performance_table", "PerformanceEstimate", "DEFAULT_FMAX_MHZ"]

"""`Workflow`: compile a network, deploy it to a target and run inference, MATLAB style.

    wf = Workflow(net, config=ProcessorConfig(lanes=16), target="verilator")
    program = wf.compile()            # listing, formats, memory map (print(program))
    wf.deploy()                       # weights into the on-chip buffers, once
    y = wf.predict(x)                 # (T, C) -> (K,) or (T, K); a list of sequences -> a list
    wf.last_profile                   # cycles, busy cycles per kernel, and per layer and kernel

Targets: "model" (bit-exact golden model with its cycle model, instant), "myhdl" (the MyHDL
design in MyHDL's own simulator, in this process; slow), "icarus" and "verilator" (the converted
RTL under cocotb; one simulator process serves the whole session).

State semantics (MathWorks): `predict` starts from each LSTM layer's initial state and leaves
the stored state untouched; `predict_and_update_state` starts from the stored state and keeps
the final one; `reset_state` makes the stored state the initial state again.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from compiler import CompileError, Network
from compiler import compile as compile_network
from compiler.codegen import check_max_sequence_length
from compiler.inputs import as_sequences
from rtl.config import ProcessorConfig

from .driver import ClippingWarning, HostDriver, SyncDevice, run_sync
from .model import GoldenDevice
from .trace import Divergence, ProfileTable, TraceRun, first_mismatch, profile_rows, write_trace

TARGETS = ("model", "myhdl", "icarus", "verilator")


class Workflow:
    """One network on one processor config and target.

    network              compiler.Network
    config               rtl.ProcessorConfig (default: ProcessorConfig())
    target               "model", "myhdl", "icarus" or "verilator"
    waves                record waveforms on simulator targets (into the session's run folder)
    trace                record the processor's retire trace of every call (`last_trace`,
                         `write_trace`, `profile`); targets model, icarus and verilator
    calibration          sequences used to choose fixed-point formats (optional)
    max_sequence_length  longest sequence a call may pass (sizes the input/output areas)
    mem_bytes            size of the external memory (default: twice the image, at least 1 MiB)

    Inputs are checked before anything runs (compiler.inputs): a bad sequence in a list raises
    before the first one changes the stored state. Values the host clips to the input or state
    format raise a `ClippingWarning` and are counted in `last_profile["clipped"]`. On the simulator
    targets a simulator process that died is restarted at the next call, with the stored state
    restored from the golden model that follows every call (`restarts` counts them).
    """

    def __init__(self, network, config: ProcessorConfig | dict | None = None, target: str = "model",
                 waves: bool = False, calibration=None, max_sequence_length: int = 1024,
                 mem_bytes: int | None = None, trace: bool = False):
        if not isinstance(network, Network):
            raise TypeError(f"network: expected a compiler.Network, got {type(network).__name__}")
        if isinstance(config, dict):
            config = ProcessorConfig(**config)
        elif config is None:
            config = ProcessorConfig()
        elif not isinstance(config, ProcessorConfig):
            raise TypeError(f"config: expected an rtl.ProcessorConfig (or a dict of its parameters), "
                            f"got {type(config).__name__}")
        if not isinstance(target, str) or target not in TARGETS:
            raise ValueError(f"unknown target {target!r}: expected one of {', '.join(TARGETS)}")
        if not isinstance(waves, bool):
            raise TypeError(f"waves={waves!r}: expected True or False")
        if not isinstance(trace, bool):
            raise TypeError(f"trace={trace!r}: expected True or False")
        if trace and target == "myhdl":
            raise ValueError("trace=True reads the retire trace of the converted Verilog (target 'icarus' or "
                             "'verilator') or the golden model's schedule (target 'model'); target 'myhdl' has none")
        if waves and target == "model":
            raise ValueError("waves=True records a simulator's waveform; target 'model' (the golden model) has "
                             "none: use target 'myhdl', 'icarus' or 'verilator'")
        if mem_bytes is not None and (isinstance(mem_bytes, bool) or not isinstance(mem_bytes, int)
                                      or mem_bytes <= 0 or mem_bytes & (mem_bytes - 1)):
            raise ValueError(f"mem_bytes={mem_bytes!r}: expected a power of two (bytes of external memory) or None")
        self.network = network
        self.config = config
        self.target = target
        self.waves = waves
        self.trace = trace
        self.last_trace = None   # TraceRun per sequence of the last call (trace=True), from the target
        self.deploy_trace = None
        self._last_model_trace = None  # the golden model's records of the same runs
        self.last_view = None          # waves=True: the view of the last call (view.gtkw in the session folder)
        self._run_starts: list = []    # waves=True: dump time of each run's START in the last call
        self.calibration = calibration
        self.max_sequence_length = check_max_sequence_length(max_sequence_length)
        self.mem_bytes = mem_bytes
        self.restarts = 0
        self._state_clipped = 0  # elements the last `state = ...` clipped, reported by the next stateful call
        self.program = None
        self.fracs: dict[str, int] = {}  # format refinements found by calibrate()
        self.calibration_error = None
        self.last_profile = None
        self.deploy_profile = None
        self.session = None
        self._device = None
        self._driver = None
        self._shadow = None

    # ---- compile and deploy -------------------------------------------------------------------
    def compile(self, calibration=None):
        """Compile the network for the config; returns the Program (print it for the report)."""
        if calibration is not None:
            self.calibration = calibration
        self.program = compile_network(self.network, self.config, calibration=self.calibration,
                                       max_sequence_length=self.max_sequence_length, fracs=self.fracs)
        self._driver = None
        return self.program

    def calibrate(self, sequences, search: bool = True, max_sequences: int = 100):
        """Choose the fixed-point formats from representative sequences (a list of (T, C) arrays)
        and recompile; a deployed target gets the new program at its next call.

        The float reference records every tensor's range, which sizes the formats. With `search`,
        the fraction bits of each layer's gate preactivations, cell state and FC outputs are then
        refined one tensor at a time (the range-based choice, one and two bits finer) to minimise
        the mean squared output error of the golden model against the float reference on up to
        `max_sequences` of the sequences: a finer format that clips rare peaks often costs less
        than the precision it buys, which matters for int8 (tanh saturates, so does c's effect)."""
        from compiler import reference

        xs, _ = as_sequences(sequences, self.network.input_size, what="calibration")
        if isinstance(max_sequences, bool) or not isinstance(max_sequences, int) or max_sequences < 1:
            raise ValueError(f"max_sequences={max_sequences!r}: expected a positive integer (sequences the "
                             "format search runs)")
        self.fracs = {}
        self.compile(calibration=xs)
        if search:
            probe = xs[:max_sequences]
            ref = [reference.predict(self.network, x)[0] for x in probe]

            def error(fracs: dict) -> float:
                program = compile_network(self.network, self.config, calibration=xs,
                                          max_sequence_length=self.max_sequence_length, fracs=fracs)
                driver = HostDriver(SyncDevice(GoldenDevice(self.config, mem_bytes=_mem_size(len(program.image)))),
                                    program)
                run_sync(driver.deploy())
                return float(np.mean([np.mean((run_sync(driver.predict(x))[0] - r) ** 2) for x, r in zip(probe, ref)]))

            best = error({})
            for name, fmt in self.program.formats.items():
                if not name.endswith((".z", ".c", ".y")):
                    continue
                for frac in (fmt.frac + 1, fmt.frac + 2):
                    trial = dict(self.fracs, **{name: frac})
                    try:
                        e = error(trial)
                    except CompileError:
                        continue  # a shift the config cannot express
                    if e < best:
                        best, self.fracs = e, trial
            self.calibration_error = best
            self.compile(calibration=xs)
        return self.program

    def deploy(self):
        """Start the target (a simulator process on simulator targets), write the memory image and
        load the weights on chip. Returns the deploy run's profile."""
        if self.program is None:
            self.compile()
        mem = self.mem_bytes or _mem_size(len(self.program.image))
        if mem < len(self.program.image):
            raise ValueError(f"mem_bytes={mem}: the program's memory image needs {len(self.program.image)} bytes "
                             "(leave mem_bytes unset to size it from the image)")
        if self._device is None:
            if self.target == "model":
                self._device = SyncDevice(GoldenDevice(self.config, mem_bytes=mem))
            elif self.target == "myhdl":
                from .myhdl_device import MyHDLDevice
                run_dir = None
                if self.waves:
                    from .runner import REPO
                    run_dir = REPO / "waves" / "dumps" / f"myhdl-{self.config.short_id()}-{time.strftime('%Y%m%d-%H%M%S')}"
                self._device = MyHDLDevice(self.config, mem_bytes=mem, waves=self.waves, run_dir=run_dir)
            else:
                from .session import SimSession
                self.session = SimSession(self.config, self.target, mem_bytes=mem, waves=self.waves, trace=self.trace)
                self._device = self.session
        self._driver = HostDriver(self._device, self.program)
        self.deploy_profile = run_sync(self._driver.deploy())
        if self.waves and self.session is not None:
            self._mark_call_in_view([self.deploy_profile.cycles])
        if self.trace:
            self.deploy_trace = TraceRun("deploy", None, 0, self.deploy_profile.cycles,
                                         run_sync(self._device.take_retired()))
        # The golden model follows every call (it is exact and costs milliseconds): its cycle
        # model attributes the cycles to layers, which the hardware counters cannot.
        if self.target == "model":
            self._shadow = self._driver
        else:
            self._shadow = HostDriver(SyncDevice(GoldenDevice(self.config, mem_bytes=mem)), self.program)
            run_sync(self._shadow.deploy())
        return self.deploy_profile

    def _ready(self) -> HostDriver:
        if self.session is not None and not self.session.alive:
            self._restart()
        if self._driver is None:
            self.deploy()
        return self._driver

    def _restart(self) -> None:
        """The simulator process is gone (killed, crashed, or killed after a failed call): start a
        new one, deploy again and restore the stored state bit for bit from the golden model, which
        ran every call the simulator completed, so no state is lost."""
        dead = self.session
        # a program compiled since the last deploy (calibrate) starts from its initial state anyway,
        # and its state layout may differ: restore only the state of the deployed program
        current = self._shadow is not None and self._driver is not None
        stored = run_sync(self._shadow.read_state_bytes()) if current else None
        dead.close()  # reaps the process and anything left of its process group
        self.session = self._device = self._driver = None
        self.deploy()
        if stored is not None:
            run_sync(self._driver.write_state_bytes(stored))
            run_sync(self._shadow.write_state_bytes(stored))
        self.restarts += 1
        warnings.warn(f"the {self.target} simulator (pid {dead.pid}) had died; restarted it as pid "
                      f"{self.session.pid}, deployed the program and restored the stored state "
                      f"(log of the dead one: {dead.log_path})", RuntimeWarning, stacklevel=4)

    # ---- inference ------------------------------------------------------------------------------
    def predict(self, x):
        """Outputs for x: one (T, C) sequence, or a list of them (each starting from the initial
        state). The stored state is not changed."""
        return self._run(x, stateful=False)

    def predict_and_update_state(self, x):
        """Outputs for x starting from the stored state; the final state becomes the stored state.
        A list of sequences is processed in order, each continuing from the previous."""
        return self._run(x, stateful=True)

    def reset_state(self) -> None:
        """Stored state := each LSTM layer's initial state."""
        self._state_clipped = 0  # a clipped state that was set is gone
        run_sync(self._ready().reset_state())
        if self._shadow is not self._driver:
            run_sync(self._shadow.reset_state())

    @property
    def state(self) -> list:
        """The stored state, one (h, c) pair of float arrays per LSTM layer (dequantised)."""
        return run_sync(self._ready().read_state())

    @state.setter
    def state(self, value) -> None:
        """Set the stored state (one (h, c) pair per LSTM layer), e.g. from a saved session.
        Values outside the h and c formats are clipped: a ClippingWarning says how many, and the
        next predict_and_update_state reports the count in last_profile["clipped"]["state"]."""
        driver = self._ready()
        raw, clipping = self.program.encode_state_counted(value)  # checks it before anything is written
        run_sync(driver.write_state_bytes(raw))
        if self._shadow is not driver:
            run_sync(self._shadow.write_state_bytes(raw))
        self._state_clipped = sum(c.clipped for c in clipping)
        if clipping:
            warnings.warn(ClippingWarning("state: the host clipped " + "; ".join(map(str, clipping)),
                                          self._state_clipped, clipping),
                          stacklevel=2)

    def _run(self, x, stateful: bool):
        call = "predict_and_update_state" if stateful else "predict"
        driver = self._ready()
        # every sequence is checked before the first runs: an error leaves the stored state alone
        seqs, single = as_sequences(x, self.network.input_size, what="input",
                                    max_length=self.program.max_sequence_length)
        names = ["input"] if single else [f"input sequence {k}" for k in range(len(seqs))]
        outputs, profiles = [], []
        layers: dict = {}
        wall = 0.0
        sim0 = self.session.simulated_seconds if self.session else 0.0
        traces, model_traces = [], []
        for k, (seq, name) in enumerate(zip(seqs, names)):
            t0 = time.perf_counter()
            y, profile = run_sync(driver.predict(seq, stateful=stateful, what=name))
            if self.trace:
                traces.append(TraceRun("run", k, profile.steps, profile.cycles, run_sync(driver.dev.take_retired())))
            wall += time.perf_counter() - t0
            outputs.append(y)
            profiles.append(profile)
            if self._shadow is not driver:
                run_sync(self._shadow.predict(seq, stateful=stateful, what=name))
            _add_layer_cycles(layers, self.program, self._shadow.dev.device.timing.events)
            if self.trace:
                model_traces.append(TraceRun("run", k, profile.steps, profile.cycles,
                                             list(self._shadow.dev.device.retired)))
        if self.trace:
            self.last_trace, self._last_model_trace = traces, model_traces
        if self.waves and self.session is not None:
            self._mark_call_in_view([p.cycles for p in profiles])
        self.last_profile = _merge(profiles, wall)
        self.last_profile["layers"] = layers
        state_clipped, self._state_clipped = (self._state_clipped, 0) if stateful else (0, self._state_clipped)
        self.last_profile["clipped"] = {"input": sum(p.clipped for p in profiles), "state": state_clipped}
        if self.session is not None:
            # wall time inside the simulator while the processor ran, versus the rest (requests,
            # host-side encoding): the per-call overhead of a session
            self.last_profile["simulation_seconds"] = self.session.simulated_seconds - sim0
        clipping = [p.input_clipping for p in profiles if p.clipped]
        if clipping:
            count = self.last_profile["clipped"]["input"]
            shown = "; ".join(map(str, clipping[:3])) + (f"; and {len(clipping) - 3} more sequences"
                                                         if len(clipping) > 3 else "")
            warnings.warn(ClippingWarning(
                f"{call}: the host clipped {shown}. The processor also saturated {self.last_profile['saturations']} value(s) in this call "
                "(SAT_COUNT). Scale the inputs, or calibrate the formats with data like them "
                "(Workflow.calibrate)", count, clipping, self.last_profile["saturations"]), stacklevel=3)
        return outputs[0] if single else outputs

    def _mark_call_in_view(self, cycles: list) -> None:
        """Rewrite the session's view zoomed on the call just made: from the START of its first run
        to the DONE of its last, with markers on both (times from the simulator: irq's rise, and
        the CYCLES counter back from it)."""
        from .runner import CLOCK_PERIOD_TICKS as period

        done = run_sync(self.session.take_done_times())
        if not done or len(done) != len(cycles):
            return
        self._run_starts = [d - c * period for d, c in zip(done, cycles)]
        start = self._run_starts[0]
        margin = max(10 * period, (done[-1] - start) // 50)
        # GTKWave shows a saved window only if the dump reaches past its end: idle a little longer
        run_sync(self.session.idle(3 * margin // period))
        self.last_view = self.session.write_view(self.program, window=(max(0, start - margin), done[-1] + margin),
                                                 markers={"START": start, "DONE": done[-1]})

    def first_divergence(self):
        """The first instruction of the last call whose retire record (pc, t, issue and done cycle,
        write signature) on the target differs from the golden model's, as a sim.trace.Divergence
        (print it), or None when every instruction agrees. With waves=True it carries the
        instruction's time in the dump and a view (`divergence.gtkw`) zoomed on it with a marker."""
        runs = self._traced("first_divergence")
        names = {e.pc: e.op for e in self.program.listing if e.program == "run"}
        for k, (run, model) in enumerate(zip(runs, self._last_model_trace)):
            found = first_mismatch(run.by_kernel(), model.records, cycles=True, complete=True,
                                   name=lambda pc: names.get(pc, f"pc {pc}"))
            if found is None:
                continue
            record, why = found
            d = Divergence(k, record.kernel.name, record.pc, record.t, names.get(record.pc, f"pc {record.pc}"),
                           record.issue, why)
            if self.waves and self.session is not None and self._run_starts:
                from .runner import CLOCK_PERIOD_TICKS as period

                d.time = self._run_starts[k] + record.issue * period
                span = max(200, record.done - record.issue + 100) * period
                d.view = self.session.write_view(self.program, window=(max(0, d.time - span // 4), d.time + span),
                                                 markers={"DIVERGE": d.time, "START": self._run_starts[k]},
                                                 name="divergence.gtkw")
            return d
        return None

    # ---- traces and profile ---------------------------------------------------------------------
    def _traced(self, what: str) -> list:
        if not self.trace:
            raise RuntimeError(f"{what} needs the retire trace: make the Workflow with trace=True")
        if self.last_trace is None:
            raise RuntimeError(f"{what}: no call has run yet (predict or predict_and_update_state first)")
        return self.last_trace

    def write_trace(self, path, include_deploy: bool = False):
        """Write the last call's instruction trace (with the deploy run first if `include_deploy`)
        as Chrome / Perfetto trace-event JSON (sim/trace.py); open it in ui.perfetto.dev."""
        runs = self._traced("write_trace")
        if include_deploy and self.deploy_trace is not None:
            runs = [self.deploy_trace] + runs
        return write_trace(path, runs, self.program, clock_mhz=self._clock()[0])

    def _clock(self) -> tuple[float, str]:
        from .estimate import DEFAULT_FMAX_MHZ, synthesis_fmax

        fmax = synthesis_fmax(self.config)
        if fmax is not None:
            return fmax, "ECP5 place and route of this config (dlp synth)"
        return DEFAULT_FMAX_MHZ, "the design target; no place and route of this config yet (dlp synth)"

    def profile(self, clock_mhz: float | None = None) -> ProfileTable:
        """The last call's profile measured from the processor's own retire trace: per op of the
        listing, the cycles it accounts for (each cycle once: of the instructions in flight, the
        one that finishes last), share, µs at the clock, busy cycles, and the golden model's
        cycles for the same row beside them; the rows add up to the CYCLES counters exactly.
        print() it for the table."""
        runs = self._traced("profile")
        mhz, source = (clock_mhz, "given") if clock_mhz else self._clock()
        return ProfileTable(self.target, profile_rows(runs, self.program),
                            profile_rows(self._last_model_trace, self.program),
                            sum(r.cycles for r in runs), len(runs), sum(r.steps for r in runs), mhz, source)

    # ---- estimates ------------------------------------------------------------------------------
    def estimate_resources(self, family: str = "ecp5", **options) -> dict:
        """FPGA resources of this Workflow's processor config, like MATLAB's estimateResources:
        `rtl.synth.synthesize(config, family, **options).as_dict()` — family, device, modules
        {name: counts}, total, fmax_mhz (ECP5 place and route; None for "xilinx"), warnings,
        latches, memories. Cached per config and RTL sources; the first call runs Yosys (and
        nextpnr) for minutes. Print it with `rtl.synth.SynthesisReport(**result).table()`."""
        from rtl import synth

        return synth.synthesize(self.config, family, **options).as_dict()

    def estimate_performance(self, sequence_length: int, fmax_mhz: float | None = None,
                             stateful: bool = False):
        """Latency of one `predict` of `sequence_length` steps (predict_and_update_state with
        `stateful`), per layer and in total: cycles, µs at Fmax, time steps/s, sequences/s and
        busy cycles per kernel, from the golden model's cycle model (exact for the RTL; see
        sim/estimate.py). Fmax: the ECP5 place-and-route result from the synthesis cache
        (`dlp synth`) if one exists for this config, else 150 MHz (`fmax_source` says which).
        Returns a dict; print() it for the table."""
        from .estimate import estimate_performance

        if self.program is None:
            self.compile()
        return estimate_performance(self.program, sequence_length, fmax_mhz=fmax_mhz, stateful=stateful)

    # ---- session --------------------------------------------------------------------------------
    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
        if hasattr(self._device, "close"):
            self._device.close()
        self._device = None
        self._driver = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _mem_size(image_bytes: int) -> int:
    """External memory for an image: the next power of two with room to spare."""
    size = 1 << 20
    while size < 2 * image_bytes:
        size <<= 1
    return size


def _add_layer_cycles(layers: dict, program, events) -> None:
    """Add the busy cycles of one run, per layer and kernel, from the cycle model's events
    (pc, kernel, issue cycle, done cycle) of the run program. A kernel runs up to two instructions
    at once (the next one starts while the previous one drains): a cycle in which both are in
    flight counts for the older one, so the layers add up to the BUSY counters."""
    names = {e.pc: e.layer or "control" for e in program.listing if e.program == "run"}
    last_done: dict = {}
    for pc, kernel, start, done in sorted(events, key=lambda e: e[2]):
        first = max(start + 1, last_done.get(kernel, start) + 1)
        last_done[kernel] = max(done, last_done.get(kernel, done))
        per_kernel = layers.setdefault(names.get(pc, "control"), {})
        per_kernel[kernel.name] = per_kernel.get(kernel.name, 0) + max(0, done - first + 1)


def _merge(profiles, wall_seconds: float) -> dict:
    """Counters of one call (summed over its sequences) plus per-sequence details."""
    total = {"sequences": len(profiles), "steps": sum(p.steps for p in profiles),
             "cycles": sum(p.cycles for p in profiles),
             "busy": {k: sum(p.busy[k] for p in profiles) for k in profiles[0].busy} if profiles else {},
             "instructions": sum(p.instructions for p in profiles),
             "saturations": sum(p.saturations for p in profiles), "wall_seconds": wall_seconds,
             "per_sequence": [p.as_dict() for p in profiles]}
    total["busy"] = {k.name: v for k, v in total["busy"].items()}
    return total

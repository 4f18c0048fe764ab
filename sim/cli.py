"""`dlp`: the command line over the Workflow API.

    dlp compile NET.npz [--listing] [config options]
    dlp predict NET.npz INPUT.npy|.npz [--target model|myhdl|icarus|verilator] [--stateful]
                [--state STATE.npz] [--waves] [--trace TRACE.json] [--profile] [--out Y.npz]
                [config options]
    dlp debug NET.npz INPUT [--target icarus|verilator] [config options]
                                               # first instruction that differs from the golden model
    dlp convert OUT_DIR [config options]      # the Verilog of a config (into a build folder)
    dlp synth [--family ecp5|xilinx] [--json OUT] [--timeout S] [--no-modules] [--no-place]
              [config options]               # resources per module, ECP5 Fmax (Yosys, nextpnr)
    dlp estimate NET.npz --sequence-length T [--fmax MHZ] [--stateful] [--json OUT] [config options]

NET.npz is a network written by `Network.save()`. INPUT is one (T, C) array, an (N, T, C) array
(N sequences of equal length) in a .npy file, or a .npz file with one (T, C) array per sequence.
With --stateful the sequences run with predict_and_update_state, in order; --state FILE loads the
stored state from FILE if it exists and writes the final stored state back to it, so a stream
can be continued across invocations. Without --stateful every sequence starts from the initial
state (predict).

`dlp synth` prints MATLAB-style resource tables for both FPGA families (one with --family) and
the ECP5 clock; results are cached under build/synth. `dlp estimate` prints the latency of one
call of T steps per layer, at the ECP5 Fmax of an earlier `dlp synth` of the same config, or at
150 MHz.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import warnings
import zipfile

import numpy as np

from compiler import Network
from compiler.inputs import as_sequence, as_sequences, read_numpy_file
from rtl.config import ProcessorConfig

from .driver import DeviceError, DeviceTimeout


def _load_inputs(path: pathlib.Path, num_features: int) -> list[np.ndarray]:
    """The sequences of INPUT, all checked before anything runs; errors name the file."""
    data = read_numpy_file(path, "an input file")
    try:
        if not isinstance(data, np.lib.npyio.NpzFile):
            return as_sequences(data, num_features, what="input")[0]
        with data:
            if not data.files:
                raise ValueError(f"the .npz holds no arrays, expected one (T, {num_features}) array per sequence")
            return [as_sequence(data[k], num_features, f"input {k!r}") for k in data.files]
    except (ValueError, TypeError) as e:
        raise type(e)(f"{path}: {e}") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"{path}: damaged .npz ({type(e).__name__}: {e})") from None


def _load_state(path: pathlib.Path) -> list:
    """A state file written by `dlp predict --stateful --state`: arrays h0, c0, h1, c1, ..."""
    data = read_numpy_file(path, "a state file")
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: a state file is a .npz with arrays h0, c0, h1, c1, ... (one pair per LSTM layer)")
    with data:
        layers = len(data.files) // 2
        expected = [f"{n}{i}" for i in range(layers) for n in "hc"]
        if not data.files or sorted(data.files) != sorted(expected):
            raise ValueError(f"{path}: a state file holds arrays h0, c0, h1, c1, ... (one pair per LSTM layer), "
                             f"this one holds {', '.join(data.files) or 'nothing'}")
        try:
            return [(data[f"h{i}"], data[f"c{i}"]) for i in range(layers)]
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
            raise ValueError(f"{path}: damaged state file ({type(e).__name__}: {e})") from None


def _report_warnings(command: str, caught: list) -> None:
    """Warnings of a call (clipping, simulator restarts) as one stderr line each."""
    for w in caught:
        print(f"dlp {command}: warning: {w.message}", file=sys.stderr)


def cmd_compile(args) -> None:
    from compiler import compile as compile_network

    net = Network.load(args.net)
    program = compile_network(net, ProcessorConfig.from_arguments(args), max_sequence_length=args.max_sequence_length)
    print(program)
    if args.listing:
        print(program.listing_text())


def cmd_predict(args) -> None:
    from sim import Workflow

    net = Network.load(args.net)
    xs = _load_inputs(pathlib.Path(args.input), net.input_size)
    state_file = pathlib.Path(args.state) if args.state else None
    saved_state = _load_state(state_file) if state_file and state_file.exists() else None
    max_t = max(len(x) for x in xs)
    with Workflow(net, config=ProcessorConfig.from_arguments(args), target=args.target, waves=args.waves,
                  max_sequence_length=max_t, trace=bool(args.trace or args.profile)) as wf:
        wf.deploy()
        if saved_state is not None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    wf.state = saved_state
                except (ValueError, TypeError) as e:
                    raise type(e)(f"{state_file}: {e}") from None
            _report_warnings(args.command, caught)
            print(f"stored state loaded from {state_file}")
        # one call with the list: each sequence from the initial state (predict) or continuing
        # from the previous one (predict_and_update_state), as the Workflow defines for lists
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # one sequence as itself, so that messages name it "input" as the file holds it
            batch = xs[0] if len(xs) == 1 else list(xs)
            outputs = wf.predict_and_update_state(batch) if args.stateful else wf.predict(batch)
            outputs = [outputs] if len(xs) == 1 else outputs
        _report_warnings(args.command, caught)
        prof = wf.last_profile
        for k, (x, y) in enumerate(zip(xs, outputs)):
            seq = prof["per_sequence"][k]
            shown = np.array2string(np.asarray(y)[-1] if y.ndim == 2 else y, precision=5, suppress_small=True)
            last = " (last step)" if y.ndim == 2 else ""
            counts = "".join(f", {n} {what}" for n, what in ((seq["clipped"], "input values clipped"),
                                                              (seq["saturations"], "saturations")) if n)
            print(f"sequence {k}: T={len(x)} output{last} {shown}  "
                  f"[{seq['cycles']} cycles, {seq['cycles'] / len(x):.1f} per step{counts}]")
        if args.trace:
            print(f"instruction trace: {wf.write_trace(args.trace, include_deploy=True)} "
                  "(Chrome/Perfetto trace-event JSON: open it in https://ui.perfetto.dev)")
        if args.profile:
            print(wf.profile())
        if args.stateful and state_file:
            np.savez(state_file, **{f"{n}{i}": a for i, hc in enumerate(wf.state) for n, a in zip("hc", hc)})
            print(f"stored state written to {state_file}")
        if args.out:
            np.savez(args.out, *outputs)
            print(f"outputs written to {args.out}")
        if args.waves and wf.session is not None:
            print(f"waveform: {wf.session.wave_file} (view: {wf.session.run_dir / 'view.gtkw'})")


def cmd_debug(args) -> None:
    """Run the sequences on a simulator with the retire trace and waves, and report the first
    instruction whose record differs from the golden model's (exit code 1), or that all agree."""
    from sim import Workflow

    net = Network.load(args.net)
    xs = _load_inputs(pathlib.Path(args.input), net.input_size)
    with Workflow(net, config=ProcessorConfig.from_arguments(args), target=args.target, waves=True, trace=True,
                  max_sequence_length=max(len(x) for x in xs)) as wf, \
            Workflow(net, config=ProcessorConfig.from_arguments(args), target="model",
                     max_sequence_length=max(len(x) for x in xs)) as golden:
        wf.deploy()
        golden.deploy()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ys = wf.predict(list(xs))
            want = golden.predict(list(xs))
        _report_warnings(args.command, caught)
        found = wf.first_divergence()
        differing = [k for k, (y, w) in enumerate(zip(ys, want)) if not np.array_equal(y, w)]
        dump = wf.session.wave_file
        count = sum(len(r.records) for r in wf.last_trace)
    if differing:
        print(f"outputs: {len(xs) - len(differing)} of {len(xs)} sequences equal the golden model's bit for bit; "
              f"differing: sequences {differing[:10]}")
    else:
        print(f"outputs: all {len(xs)} sequences equal the golden model's bit for bit")
    if found is None:
        print(f"no divergence: all {count} instructions retired as the golden model predicts "
              "(pc, t, issue and done cycle, write signature)")
        print(f"waves: gtkwave {dump} {dump.parent / 'view.gtkw'}")
        return
    print(found)
    print(f"open: gtkwave {dump} {found.view}")
    raise SystemExit(1)


def cmd_convert(args) -> None:
    from rtl.convert import convert

    print(convert(ProcessorConfig.from_arguments(args), args.out_dir, sim=not args.bare,
                  trace=not args.bare if args.trace is None else args.trace))


def cmd_synth(args) -> None:
    from rtl import synth

    status = synth.command_from_arguments(args)
    if status:
        raise SystemExit(status)


def cmd_estimate(args) -> None:
    import json

    from sim import Workflow

    net = Network.load(args.net)
    wf = Workflow(net, config=ProcessorConfig.from_arguments(args),
                  max_sequence_length=max(args.max_sequence_length, args.sequence_length))
    estimate = wf.estimate_performance(args.sequence_length, fmax_mhz=args.fmax, stateful=args.stateful)
    print(estimate)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(estimate, indent=1))
        print(f"estimate written to {args.json}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="dlp", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("compile", help="compile a network and print the report")
    p.add_argument("net", help="network file written by Network.save()")
    p.add_argument("--listing", action="store_true", help="also print every instruction")
    p.add_argument("--max-sequence-length", type=int, default=1024)
    ProcessorConfig.add_arguments(p)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("predict", help="run sequences on a target")
    p.add_argument("net", help="network file written by Network.save()")
    p.add_argument("input", help=".npy with (T, C) or (N, T, C), or .npz with one (T, C) array per sequence")
    p.add_argument("--target", default="model", choices=["model", "myhdl", "icarus", "verilator"])
    p.add_argument("--stateful", action="store_true", help="predict_and_update_state instead of predict")
    p.add_argument("--state", help="with --stateful: load the stored state from / save it to this .npz")
    p.add_argument("--waves", action="store_true", help="record a waveform (simulator targets)")
    p.add_argument("--out", help="write the outputs to this .npz")
    p.add_argument("--trace", metavar="TRACE.json", help="write the instruction trace the processor reports "
                   "(Chrome/Perfetto trace-event JSON; targets model, icarus, verilator)")
    p.add_argument("--profile", action="store_true", help="print the profile per op measured from the trace")
    ProcessorConfig.add_arguments(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("debug", help="find the first instruction where a simulator differs from the golden model")
    p.add_argument("net", help="network file written by Network.save()")
    p.add_argument("input", help=".npy with (T, C) or (N, T, C), or .npz with one (T, C) array per sequence")
    p.add_argument("--target", default="icarus", choices=["icarus", "verilator"])
    ProcessorConfig.add_arguments(p)
    p.set_defaults(func=cmd_debug)

    p = sub.add_parser("convert", help="write the Verilog of a config (same as python -m rtl.convert)")
    p.add_argument("out_dir")
    p.add_argument("--bare", action="store_true", help="the processor without the simulation clock")
    p.add_argument("--trace", action=argparse.BooleanOptionalAction, default=None,
                   help="retire trace ports (rtl/trace.py); default: with the simulation top, without --bare")
    ProcessorConfig.add_arguments(p)
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("synth", help="synthesise a config: resources per module, ECP5 Fmax (slow, cached)")
    from rtl import synth
    synth.add_arguments(p)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("estimate", help="latency per layer of one call of T steps (cycle model)")
    p.add_argument("net", help="network file written by Network.save()")
    p.add_argument("--sequence-length", type=int, required=True, metavar="T")
    p.add_argument("--max-sequence-length", type=int, default=1024)
    p.add_argument("--fmax", type=float, help="clock in MHz (default: ECP5 place and route from the "
                                               "synthesis cache, else 150)")
    p.add_argument("--stateful", action="store_true", help="predict_and_update_state (stores the final state)")
    p.add_argument("--json", metavar="OUT", help="write the estimate as JSON")
    ProcessorConfig.add_arguments(p)
    p.set_defaults(func=cmd_estimate)

    args = parser.parse_args(argv)
    _check_contradictions(sub.choices[args.command], args)
    try:
        args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        # bad input (shapes, files, options): one clear line, not a traceback
        print(f"dlp {args.command}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except (RuntimeError, DeviceError, DeviceTimeout) as exc:
        # the processor or the simulator failed (the message names the log or the instruction)
        print(f"dlp {args.command}: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _check_contradictions(parser: argparse.ArgumentParser, args) -> None:
    """Options that contradict each other or cannot work: argparse's error (exit code 2) before
    anything runs, so no result is computed and then lost."""
    if args.command == "predict":
        if args.state and not args.stateful:
            parser.error("--state needs --stateful (without it every sequence starts from the initial state "
                         "and no state is kept)")
        if args.waves and args.target == "model":
            parser.error("--waves records a simulator's waveform; --target model (the golden model) has none: "
                         "use --target myhdl, icarus or verilator")
        if (args.trace or args.profile) and args.target == "myhdl":
            parser.error("--trace and --profile read the retire trace of the converted Verilog or the golden "
                         "model's schedule: use --target model, icarus or verilator")
    if args.command == "synth":
        if args.jobs < 1:
            parser.error(f"--jobs {args.jobs}: expected at least 1 synthesis at a time")
        if not args.timeout > 0:
            parser.error(f"--timeout {args.timeout:g}: expected a positive number of seconds")
    for option in ("out", "state", "json") + (("trace",) if args.command == "predict" else ()):
        path = getattr(args, option, None)
        if path and not pathlib.Path(path).resolve().parent.is_dir():
            parser.error(f"--{option} {path}: the folder {pathlib.Path(path).resolve().parent} does not exist")


if __name__ == "__main__":
    main()

"""A long-lived RTL simulation that plain Python code talks to.

`SimSession(cfg, "verilator")` builds (or reuses) the simulator model, launches one simulator
process running sim/cocotb_server.py, and exposes the device protocol of sim/driver.py over a
local connection. Every call reuses the same running simulation: the processor keeps its
on-chip buffers and registers between calls, as a real board does.

If the simulator dies, or a call takes longer than `wall_timeout` seconds of wall time, the
call raises `SimulatorError` naming the log file, and the process is killed: nothing hangs.
"""
from __future__ import annotations

import atexit
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from multiprocessing.connection import Listener

from rtl.config import ProcessorConfig

from . import runner
from .driver import DeviceTimeout


class SimulatorError(RuntimeError):
    """The simulator process died, stalled or could not start."""


def _tail(path: pathlib.Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class SimSession:
    """One simulator process serving device calls (async methods that never suspend, so
    `sim.driver.run_sync` can drive them).

    cfg, simulator   the processor config and "icarus" or "verilator"
    mem_bytes        size of the external memory model
    waves            record a waveform (FST for Icarus, VCD for Verilator) into `run_dir`
    run_dir          where the simulator runs and writes its log and waves (default: a new
                     folder under build/sessions)
    wall_timeout     seconds a single call may take before the session is declared stalled
    coverage         Verilator: run the coverage build (None: when DLP_COVERAGE is set, see
                     sim/runner.py); the counts are written when the session closes
    trace            record the processor's retire trace of every run (`take_retired`)
    """

    def __init__(self, cfg: ProcessorConfig, simulator: str, mem_bytes: int = 1 << 24, waves: bool = False,
                 run_dir: str | os.PathLike | None = None, wall_timeout: float = 900.0,
                 coverage: bool | None = None, trace: bool = False):
        self.cfg = cfg
        self.simulator = simulator
        self.wall_timeout = wall_timeout
        t0 = time.perf_counter()
        self.build = runner.build(cfg, simulator, waves=waves, coverage=coverage)
        self.build_seconds = time.perf_counter() - t0
        # waveforms go to waves/dumps (ignored by git), other sessions' folders to build/sessions
        root = runner.REPO / "waves" / "dumps" if waves else runner.build_root().parent / "sessions"
        root.mkdir(parents=True, exist_ok=True)
        self.run_dir = pathlib.Path(run_dir) if run_dir else pathlib.Path(
            tempfile.mkdtemp(prefix=f"{simulator}-{cfg.short_id()}-", dir=root))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.run_dir / "simulator.log"
        self.wave_file = self.run_dir / runner.wave_file_name(self.build) if waves else None
        if waves:
            self.write_view()
        self.calls = 0
        self.simulated_seconds = 0.0  # wall time the simulator spent running the processor
        self._conn = None
        self._proc = None
        key = secrets.token_bytes(16)
        # a short path: Unix socket names are limited to about 100 bytes
        self._sock_dir = tempfile.mkdtemp(prefix="dlp-")
        listener = Listener(os.path.join(self._sock_dir, "s"), family="AF_UNIX", authkey=key)
        env = dict(os.environ)
        env.update({"DLP_SESSION_ADDRESS": listener.address, "DLP_SESSION_KEY": key.hex(),
                    "DLP_SESSION_MEM_BYTES": str(mem_bytes), "DLP_SESSION_TRACE": "1" if trace else "0",
                    "DLP_SESSION_SPEC": json.dumps({"config": cfg.as_dict(), "simulator": simulator,
                                                    "waves": waves, "coverage": self.build.coverage,
                                                    "run_dir": str(self.run_dir),
                                                    "log": str(self.log_path)}),
                    "PYTHONPATH": os.pathsep.join(sys.path)})
        t0 = time.perf_counter()
        with open(self.run_dir / "launcher.log", "w") as launcher_log:
            self._proc = subprocess.Popen([sys.executable, "-m", "sim.session"], env=env, cwd=self.run_dir,
                                          stdout=launcher_log, stderr=subprocess.STDOUT, start_new_session=True)
        self._finalizer = weakref.finalize(self, SimSession._kill, self._proc)
        atexit.register(self._finalizer)
        try:
            self._conn = self._accept(listener)
            self._receive(60.0 + self.wall_timeout)  # the server's "ready"
        except BaseException:
            self.close()
            raise
        finally:
            listener.close()
        self.startup_seconds = time.perf_counter() - t0

    def write_view(self, program=None, window=None, markers=None, name: str = "view.gtkw") -> pathlib.Path:
        """(Re)write `view.gtkw` and its translate filters in the run folder (sim/waves.py):
        `program` names the pc values, `window` (start, end) and `markers` (name -> time) are in
        the dump's time unit (the simulator's precision, 1 ps)."""
        from .waves import view

        if self.wave_file is None:
            raise SimulatorError("the session records no waves (waves=False)")
        verilog = self.build.build_dir / "verilog" / f"{self.build.toplevel}.v"
        path = self.run_dir / name
        path.write_text(view(verilog, self.build.toplevel, self.wave_file.name, program=program,
                             filter_dir=self.run_dir, window=window, markers=markers))
        return path

    # ---- process handling ---------------------------------------------------------------------
    @staticmethod
    def _kill(proc) -> None:
        """Kill the session's process group: the launcher and the simulator it started. Even when
        the launcher is gone already, its simulator may live on in the group."""
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the whole group has exited
        proc.wait()

    def _failure(self, what: str) -> SimulatorError:
        SimSession._kill(self._proc)
        return SimulatorError(f"{self.simulator} simulation {what}; log: {self.log_path}\n"
                              f"--- last lines ---\n{_tail(self.log_path)}\n--- launcher ---\n"
                              f"{_tail(self.run_dir / 'launcher.log', 10)}")

    def _accept(self, listener):
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("conn", listener.accept()), daemon=True)
        thread.start()
        deadline = time.monotonic() + 120.0
        while thread.is_alive():
            thread.join(0.1)
            if self._proc.poll() is not None:
                raise self._failure(f"exited with code {self._proc.returncode} before connecting")
            if time.monotonic() > deadline:
                raise self._failure("did not connect within 120 s")
        return result["conn"]

    def _receive(self, timeout: float):
        deadline = time.monotonic() + timeout
        try:
            while not self._conn.poll(0.05):
                if self._proc.poll() is not None:
                    raise self._failure(f"exited with code {self._proc.returncode}")
                if time.monotonic() > deadline:
                    raise self._failure(f"stalled: no answer within {timeout:g} s of wall time")
            return self._conn.recv()
        except (EOFError, OSError):
            raise self._failure("closed the connection") from None

    def _call(self, method: str, *args):
        if self._conn is None:
            raise SimulatorError("the session is closed")
        try:
            self._conn.send(("call", method, args))
        except (BrokenPipeError, OSError):
            raise self._failure("is gone") from None
        reply = self._receive(self.wall_timeout)
        self.calls += 1
        if reply[0] == "ok":
            if method == "start_and_wait":
                self.simulated_seconds += reply[2]
            return reply[1]
        if reply[1] == "DeviceTimeout":
            raise DeviceTimeout(reply[3])
        raise SimulatorError(f"{method} failed in the simulator: {reply[1]}: {reply[2]}")

    def close(self) -> None:
        """End the simulation (flushes waves) and wait for the process."""
        if self._conn is not None:
            try:
                self._conn.send(("close",))
                self._receive(30.0)
            except (SimulatorError, OSError):
                pass
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            SimSession._kill(self._proc)  # whatever is left of the group (a launcher killed alone leaves its simulator)
        shutil.rmtree(getattr(self, "_sock_dir", ""), ignore_errors=True)
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer.detach()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int:
        return self._proc.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- device protocol ----------------------------------------------------------------------
    async def write_mem(self, addr: int, data: bytes) -> None:
        self._call("write_mem", addr, bytes(data))

    async def read_mem(self, addr: int, n: int) -> bytes:
        return self._call("read_mem", addr, n)

    async def write_reg(self, name: str, value: int) -> None:
        self._call("write_reg", name, value)

    async def read_reg(self, name: str) -> int:
        return self._call("read_reg", name)

    async def start_and_wait(self, timeout_cycles: int) -> None:
        self._call("start_and_wait", timeout_cycles)

    async def reset(self) -> None:
        self._call("reset")

    async def idle(self, cycles: int) -> None:
        """Let `cycles` clock cycles pass with the processor idle (the dump goes on)."""
        self._call("idle", cycles)

    async def take_done_times(self) -> list:
        return self._call("take_done_times")

    async def take_retired(self) -> list:
        return self._call("take_retired")


def _child_main() -> None:
    """Inside the launched process: run the cocotb server module on the cached build."""
    spec = json.loads(os.environ["DLP_SESSION_SPEC"])
    cfg = ProcessorConfig(**spec["config"])
    build = runner.build(cfg, spec["simulator"], waves=spec["waves"], coverage=spec.get("coverage", False))
    passthrough = {k: os.environ[k] for k in ("DLP_SESSION_ADDRESS", "DLP_SESSION_KEY", "DLP_SESSION_MEM_BYTES",
                                              "DLP_SESSION_TRACE")}
    runner.run(build, "sim.cocotb_server", extra_env=passthrough, test_dir=spec["run_dir"], waves=spec["waves"],
               log_file=spec["log"])


if __name__ == "__main__":
    _child_main()

"""cocotb module behind a simulator session (sim/session.py): serves device requests from the
Python process that launched the simulator, for as long as that process keeps the session open.

While it waits for the next request the simulator is paused (no simulated time passes), so one
simulator process serves any number of calls without being rebuilt or relaunched.

Protocol (multiprocessing.connection, pickled tuples): ("call", method, args) with method one of
the device protocol's (write_mem, read_mem, write_reg, read_reg, start_and_wait, take_retired)
or "reset";
answers ("ok", value, seconds spent serving it) or ("error", kind, message[, cycles]).
("close",) ends the test and the simulator.
"""
from __future__ import annotations

import os
import time
import traceback
from multiprocessing.connection import Client

import cocotb

from .cocotb_device import CocotbDevice
from .driver import DeviceTimeout
from .runner import config_from_env

METHODS = ("write_mem", "read_mem", "write_reg", "read_reg", "start_and_wait", "reset", "take_retired",
           "take_done_times", "idle")


@cocotb.test()
async def serve(dut):
    cfg = config_from_env()
    address = os.environ["DLP_SESSION_ADDRESS"]
    conn = Client(address, authkey=bytes.fromhex(os.environ["DLP_SESSION_KEY"]))
    dev = CocotbDevice(dut, cfg, mem_bytes=int(os.environ["DLP_SESSION_MEM_BYTES"]),
                       trace=os.environ.get("DLP_SESSION_TRACE") == "1")
    await dev.reset()
    conn.send(("ok", "ready", 0.0))
    try:
        while True:
            request = conn.recv()
            if request[0] == "close":
                conn.send(("ok", None, 0.0))
                break
            _, method, args = request
            if method not in METHODS:
                conn.send(("error", "ValueError", f"unknown device method {method!r}"))
                continue
            try:
                t0 = time.perf_counter()
                value = await getattr(dev, method)(*args)
                conn.send(("ok", value, time.perf_counter() - t0))
            except DeviceTimeout as exc:
                conn.send(("error", "DeviceTimeout", str(exc), exc.cycles))
            except Exception as exc:  # report to the caller instead of killing the session
                conn.send(("error", type(exc).__name__, "".join(traceback.format_exception(exc))))
    except EOFError:
        dut._log.info("session client went away; ending the simulation")
    finally:
        conn.close()

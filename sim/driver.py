"""Host driver: what a CPU does to run a compiled program on the processor.

The driver talks to a *device* through five async calls, so the same code drives the golden
model, a cocotb simulation and a remote simulator session:

    await dev.write_mem(addr, data)      external memory, as the CPU writes DDR
    await dev.read_mem(addr, n) -> bytes
    await dev.write_reg(name, value)     AXI4-Lite registers (names from rtl.isa.REGISTERS)
    await dev.read_reg(name) -> int
    await dev.start_and_wait(timeout_cycles)   CTRL.START, then sleep until done (irq)
    await dev.take_retired() -> list      (optional) the retire records of the last run (sim/trace.py)

`run_sync` runs a driver coroutine to completion when the device never suspends (golden model,
remote session), so plain Python code can use the driver without an event loop.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from rtl import isa
from rtl.isa import Kernel


class DeviceTimeout(Exception):
    """The processor did not raise DONE within the allowed cycles."""

    def __init__(self, cycles: int, detail: str = ""):
        super().__init__(f"no DONE after {cycles} cycles{': ' + detail if detail else ''}")
        self.cycles = cycles


class ClippingWarning(UserWarning):
    """The host clipped values to a fixed-point format's range while quantising them (inputs of a
    call, or a state the user set): the processor computes with the clipped values, so the result
    is not the float network's on those values. `clipped` is the number of elements, `clipping`
    the per-tensor details (compiler.quantize.Clipping), `saturations` the processor's own
    saturation count (SAT_COUNT) in the same call, where there was one."""

    def __init__(self, message: str, clipped: int = 0, clipping=(), saturations: int | None = None):
        super().__init__(message)
        self.clipped = clipped
        self.clipping = tuple(clipping)
        self.saturations = saturations


class DeviceError(Exception):
    """The processor stopped with STATUS.ERROR set."""

    def __init__(self, code: isa.ErrorCode, pc: int, where: str):
        name = code.name if isinstance(code, isa.ErrorCode) else f"code {code}"
        super().__init__(f"processor error {name} at pc {pc} ({where})")
        self.code = code
        self.pc = pc


class SyncDevice:
    """Async face of a synchronous device (sim.model.GoldenDevice): `start_and_wait` runs the
    whole program when CTRL.START is written."""

    def __init__(self, device):
        self.device = device

    async def write_mem(self, addr: int, data: bytes) -> None:
        self.device.write_mem(addr, data)

    async def read_mem(self, addr: int, n: int) -> bytes:
        return self.device.read_mem(addr, n)

    async def write_reg(self, name: str, value: int) -> None:
        self.device.write_reg(name, value)

    async def read_reg(self, name: str) -> int:
        return self.device.read_reg(name)

    async def start_and_wait(self, timeout_cycles: int) -> None:
        self.device.write_reg("CTRL", isa.CTRL_START | isa.CTRL_IRQ_ENABLE)

    async def take_retired(self) -> list:
        """The golden model's retire records of the last run (its cycle model's schedule)."""
        return list(self.device.retired)


def run_sync(coro):
    """Run a coroutine that never suspends (its device answers at once) and return its value."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("the device suspended: use it from an event loop (cocotb), not run_sync")


@dataclasses.dataclass
class Profile:
    """Performance counters of one program run."""
    program: str
    steps: int
    cycles: int
    busy: dict
    instructions: int
    saturations: int
    #: what the host clipped while quantising this run's input (compiler.quantize.Clipping)
    input_clipping: object = None

    @property
    def clipped(self) -> int:
        """Input elements the host clipped to the input format's range."""
        return self.input_clipping.clipped if self.input_clipping is not None else 0

    def utilisation(self, ideal_cycles: float) -> float:
        return ideal_cycles / self.cycles if self.cycles else 0.0

    def as_dict(self) -> dict:
        return {"program": self.program, "steps": self.steps, "cycles": self.cycles,
                "busy": {k.name: v for k, v in self.busy.items()}, "instructions": self.instructions,
                "saturations": self.saturations, "clipped": self.clipped}


class HostDriver:
    """Deploys a compiled `Program` and runs sequences on a device.

    image_base   where the program's memory image lies in external memory
    """

    def __init__(self, device, program, image_base: int = 0):
        self.dev = device
        self.program = program
        self.image_base = image_base
        self.loaded_program: str | None = None

    # ---- steps ----------------------------------------------------------------------------------
    async def check_hardware(self) -> None:
        hw_id = await self.dev.read_reg("HW_ID")
        if hw_id != isa.HW_ID:
            raise RuntimeError(f"HW_ID reads 0x{hw_id:08x}, expected 0x{isa.HW_ID:08x}: not this processor")
        cfg = self.program.config
        for reg, want in (("HW_CONFIG", cfg.hw_config_word()), ("HW_FINGERPRINT", cfg.fingerprint_word())):
            got = await self.dev.read_reg(reg)
            if got != want:
                raise RuntimeError(f"{reg} reads 0x{got:08x} but the program was compiled for 0x{want:08x} "
                                   f"({cfg.short_id()}, fingerprint {cfg.fingerprint()}): wrong processor config")

    async def deploy(self) -> Profile:
        """Write the memory image and load the weights and biases into the on-chip buffers."""
        await self.check_hardware()
        await self.dev.write_mem(self.image_base, bytes(self.program.image))
        for name, value in self.program.base_registers(self.image_base).items():
            await self.dev.write_reg(name, value)
        return await self._run_program("deploy", steps=0)

    async def predict(self, x, stateful: bool = False, what: str = "input") -> tuple[np.ndarray, Profile]:
        """Run one sequence x (T, C). stateful=False starts from the initial state and leaves the
        stored state alone; stateful=True starts from the stored state and keeps the final one.
        The profile counts the input elements the input format clipped (`what` names x)."""
        prog = self.program
        data, clipping = prog.encode_input_counted(x, what)
        steps = len(data) // prog.input_row_bytes
        mm = prog.memory_map
        await self.dev.write_mem(self.image_base + mm["InputDataOffset"], data)
        await self.dev.write_reg("SEQ_LEN", steps)
        bases = prog.base_registers(self.image_base, stored_state=stateful)
        await self.dev.write_reg("BASE3", bases["BASE3"])
        await self.dev.write_reg("FLAGS", prog.KEEP_STATE_FLAG if stateful else 0)
        profile = await self._run_program("run", steps)
        raw = await self.dev.read_mem(self.image_base + mm["OutputResultOffset"],
                                      prog.output_rows(steps) * prog.output_row_bytes)
        return prog.decode_output(raw, steps), dataclasses.replace(profile, input_clipping=clipping)

    async def read_state(self) -> list:
        """The stored state: one (h, c) float pair per LSTM layer."""
        return self.program.decode_state(await self.read_state_bytes())

    async def read_state_bytes(self) -> bytes:
        """The stored state area as it is in external memory (to restore it bit for bit)."""
        mm = self.program.memory_map
        size = mm["InputDataOffset"] - mm["StoredStateOffset"]
        return await self.dev.read_mem(self.image_base + mm["StoredStateOffset"], size)

    async def write_state_bytes(self, raw: bytes) -> None:
        await self.dev.write_mem(self.image_base + self.program.memory_map["StoredStateOffset"], raw)

    async def write_state(self, state) -> list:
        """Stored state := `state` (one (h, c) pair per LSTM layer), quantised to the state formats.
        Returns what the formats clipped (compiler.quantize.Clipping per h or c; empty if nothing)."""
        raw, clipping = self.program.encode_state_counted(state)
        await self.write_state_bytes(raw)
        return clipping

    async def reset_state(self) -> None:
        """Stored state := initial state (a copy in external memory, no processor run)."""
        mm = self.program.memory_map
        size = mm["StoredStateOffset"] - mm["StateDataOffset"]
        initial = await self.dev.read_mem(self.image_base + mm["StateDataOffset"], size)
        await self.dev.write_mem(self.image_base + mm["StoredStateOffset"], initial)

    # ---- one program run ------------------------------------------------------------------------
    def timeout_cycles(self, steps: int) -> int:
        """Generous bound: 8x the ideal FC cycles, plus a fixed allowance per step and for loads."""
        per_step = 8 * max(1.0, self.program.ideal_cycles_per_step()) + 2000
        return int(per_step * max(steps, 1) + 64 * len(self.program.image) // self.program.config.beat_bytes + 100_000)

    async def _run_program(self, name: str, steps: int) -> Profile:
        prog = self.program
        if self.loaded_program != name:
            for reg, value in prog.program_registers(name, self.image_base).items():
                await self.dev.write_reg(reg, value)
            self.loaded_program = name
        limit = self.timeout_cycles(steps)
        try:
            await self.dev.start_and_wait(limit)
        except DeviceTimeout:
            pc = await self.dev.read_reg("PC")
            raise DeviceTimeout(limit, f"{name} program stalled at pc {pc}: {prog.instruction_name(name, pc)}") from None
        status = await self.dev.read_reg("STATUS")
        done, _, error, code = isa.status_fields(status)
        if error or not done:
            pc = await self.dev.read_reg("PC")
            self.loaded_program = None  # a failed fetch must be retried
            raise DeviceError(code, pc, f"{name} program: {prog.instruction_name(name, pc)}")
        busy = {k: await self.dev.read_reg(f"BUSY_{k.name}") for k in Kernel}
        return Profile(name, steps, await self.dev.read_reg("CYCLES"), busy,
                       await self.dev.read_reg("INSTRS"), await self.dev.read_reg("SAT_COUNT"))

"""The host driver (sim/driver.py) on the golden device: the register and memory sequence it
performs, error reporting (DeviceError naming the instruction, HW_ID/HW_CONFIG checks, timeouts)
and `run_sync`."""
import dataclasses

import numpy as np
import pytest

from compiler import Network, SequenceInput, Softmax, compile
from rtl import ProcessorConfig, isa
from rtl.isa import Kernel
from sim.driver import DeviceError, DeviceTimeout, HostDriver, Profile, SyncDevice, run_sync
from sim.model import GoldenDevice

CFG = ProcessorConfig()
IMAGE_BASE = 0x4000  # not 0, so that every address the driver computes is really base-relative


@pytest.fixture
def network(rng, random_lstm, random_fc):
    return Network([SequenceInput(4), random_lstm(rng, 4, 8, output_mode="last"), random_fc(rng, 3, 8), Softmax()])


@pytest.fixture
def program(network):
    return compile(network, CFG)


@pytest.fixture
def sequences(rng):
    return [rng.normal(size=(t, 4)) for t in (5, 1, 3)]


def _driver(program, image_base: int = IMAGE_BASE):
    device = GoldenDevice(program.config)
    return HostDriver(SyncDevice(device), program, image_base=image_base), device


# ---- the same results as the documented register sequence, done by hand ------------------------------
def _start_by_hand(dev: GoldenDevice, program, which: str) -> None:
    for reg, value in program.program_registers(which, IMAGE_BASE).items():
        dev.write_reg(reg, value)
    dev.write_reg("CTRL", isa.CTRL_START)
    done, _, error, code = isa.status_fields(dev.read_reg("STATUS"))
    assert done and not error, f"{which}: {code!r}"


def _run_by_hand(program, sequences, stateful: bool):
    """What compiler/program.py documents the host must do, without the driver."""
    dev = GoldenDevice(program.config)
    dev.write_mem(IMAGE_BASE, program.image)
    for reg, value in program.base_registers(IMAGE_BASE, stored_state=stateful).items():
        dev.write_reg(reg, value)
    _start_by_hand(dev, program, "deploy")
    dev.write_reg("FLAGS", program.KEEP_STATE_FLAG if stateful else 0)
    mm, outputs = program.memory_map, []
    for x in sequences:
        dev.write_mem(IMAGE_BASE + mm["InputDataOffset"], program.encode_input(x))
        dev.write_reg("SEQ_LEN", len(x))
        _start_by_hand(dev, program, "run")
        n = program.output_rows(len(x)) * program.output_row_bytes
        raw = dev.read_mem(IMAGE_BASE + mm["OutputResultOffset"], n)
        outputs.append(program.decode_output(raw, len(x)))
    return outputs, dev


@pytest.mark.parametrize("stateful", [False, True], ids=["predict", "predict_and_update_state"])
def test_deploy_and_predict_equal_running_the_program_by_hand(program, sequences, stateful):
    driver, device = _driver(program)
    deploy_profile = run_sync(driver.deploy())
    assert deploy_profile.program == "deploy" and deploy_profile.steps == 0
    outputs = []
    for x in sequences:
        y, profile = run_sync(driver.predict(x, stateful=stateful))
        outputs.append(y)
        assert isinstance(profile, Profile) and profile.program == "run" and profile.steps == len(x)
        assert profile.cycles == device.read_reg("CYCLES") > 0
        assert profile.instructions == device.read_reg("INSTRS") > 0
        assert profile.saturations == device.read_reg("SAT_COUNT")
        assert profile.busy == {k: device.read_reg(f"BUSY_{k.name}") for k in Kernel}
    expected, by_hand = _run_by_hand(program, sequences, stateful)
    for y, want in zip(outputs, expected):
        assert y.shape == (3,)
        np.testing.assert_array_equal(y, want)
    assert device.mem == by_hand.mem  # the whole external memory, state areas included
    if stateful:  # the state moved on, so the runs differ from stateless ones
        stateless, _ = _run_by_hand(program, sequences, stateful=False)
        assert not np.array_equal(outputs[-1], stateless[-1])


def test_reset_state_restores_the_initial_state(program, sequences):
    driver, device = _driver(program)
    run_sync(driver.deploy())
    first, _ = run_sync(driver.predict(sequences[0], stateful=True))
    mm = program.memory_map
    size = mm["StoredStateOffset"] - mm["StateDataOffset"]
    initial = slice(IMAGE_BASE + mm["StateDataOffset"], IMAGE_BASE + mm["StateDataOffset"] + size)
    stored = slice(IMAGE_BASE + mm["StoredStateOffset"], IMAGE_BASE + mm["StoredStateOffset"] + size)
    assert device.mem[stored] != device.mem[initial]
    run_sync(driver.reset_state())
    assert device.mem[stored] == device.mem[initial]
    again, _ = run_sync(driver.predict(sequences[0], stateful=True))
    np.testing.assert_array_equal(again, first)


# ---- a failing instruction is reported by name ----------------------------------------------------------
def _patched(program, which: str, op_name: str, change):
    """A copy of `program` whose image has instruction `op_name` of the `which` program replaced by
    change(word). Returns (program copy, pc)."""
    pc = next(e.pc for e in program.listing if e.program == which and e.op == op_name)
    offset = program.memory_map["InstructionDataOffset" if which == "deploy" else "RunInstructionDataOffset"]
    offset += pc * isa.INSTR_BITS // 8
    image = bytearray(program.image)
    [word] = isa.from_bytes(image[offset:offset + isa.INSTR_BITS // 8])
    image[offset:offset + isa.INSTR_BITS // 8] = isa.to_bytes([change(word)])
    return dataclasses.replace(program, image=bytes(image)), pc


def _with_fields(**changes):
    def change(word):
        op, fields = isa.decode(word)
        return isa.encode(op, **{**fields, **changes})
    return change


@pytest.mark.parametrize("which, op_name, change", [
    ("run", "lstm_1.tanh_c", _with_fields(func=7)),          # ACT has no func 7
    ("run", "lstm_1.mul_fc", _with_fields(shift2=63)),       # EW shift2 over its limit
    ("run", "fc_1.fc", lambda word: word | 0xF),             # opcode 15 does not exist
    ("deploy", "deploy.load_biases", _with_fields(func=3)),  # LOAD has no target 3
], ids=["act_func", "ew_shift", "opcode", "deploy_load_target"])
def test_illegal_instruction_raises_device_error_naming_it(program, sequences, which, op_name, change):
    bad, pc = _patched(program, which, op_name, change)
    assert bad.instruction_name(which, pc) == op_name
    driver, _ = _driver(bad)
    with pytest.raises(DeviceError) as info:
        run_sync(driver.deploy())
        run_sync(driver.predict(sequences[0]))
    err = info.value
    assert err.code == isa.ErrorCode.ILLEGAL_OPCODE and err.pc == pc
    assert op_name in str(err) and f"{which} program" in str(err) and f"pc {pc}" in str(err), str(err)


def test_pc_overrun_raises_device_error(program, sequences):
    """Running off the end reports pc = program length, named as such (not a lookup error)."""
    end = len(program.run_instructions) - 1
    bad, pc = _patched(program, "run", "end", lambda word: isa.encode(isa.Op.NOP))
    assert pc == end
    driver, _ = _driver(bad)
    run_sync(driver.deploy())
    with pytest.raises(DeviceError) as info:
        run_sync(driver.predict(sequences[0]))
    assert info.value.code == isa.ErrorCode.PC_OVERRUN and info.value.pc == end + 1
    assert "past the end of the run program" in str(info.value)


def test_device_error_leaves_the_driver_usable(program, sequences):
    """After a failing run the driver reloads the program registers, and the device runs again."""
    bad, _ = _patched(program, "run", "lstm_1.tanh_c", _with_fields(func=7))
    driver, device = _driver(bad)
    run_sync(driver.deploy())
    with pytest.raises(DeviceError):
        run_sync(driver.predict(sequences[0]))
    assert driver.loaded_program is None
    device.write_mem(IMAGE_BASE, program.image)  # repair the image behind the driver's back
    y, _ = run_sync(driver.predict(sequences[0]))
    [want], _ = _run_by_hand(program, sequences[:1], stateful=False)
    np.testing.assert_array_equal(y, want)


# ---- hardware identification -----------------------------------------------------------------------------
@pytest.mark.parametrize("other", [ProcessorConfig(lanes=8), ProcessorConfig(data_type="int8"),
                                   ProcessorConfig(ebuf_words=1024)], ids=lambda c: c.short_id())
def test_program_for_another_config_is_refused(network, other):
    program = compile(network, other)
    device = GoldenDevice(CFG)  # the hardware has the default config
    driver = HostDriver(SyncDevice(device), program)
    message = r"HW_CONFIG reads 0x[0-9a-f]{8} but the program was compiled for 0x[0-9a-f]{8}"
    with pytest.raises(RuntimeError, match=message) as info:
        run_sync(driver.deploy())
    assert other.short_id() in str(info.value)
    assert f"0x{CFG.hw_config_word():08x}" in str(info.value)
    assert not any(device.mem), "the driver wrote to the device before checking it"


def test_wrong_hw_id_is_refused(program):
    driver, device = _driver(program)
    device.regs["HW_ID"] = 0x12345678
    with pytest.raises(RuntimeError, match="HW_ID reads 0x12345678, expected 0x444c5031"):
        run_sync(driver.deploy())


# ---- timeouts and run_sync ---------------------------------------------------------------------------------
class _Suspend:
    """An awaitable that suspends once, as an event-loop device (cocotb) would."""

    def __await__(self):
        yield


class _SuspendingDevice(SyncDevice):
    async def start_and_wait(self, timeout_cycles: int) -> None:
        await _Suspend()


class _HangingDevice(SyncDevice):
    async def start_and_wait(self, timeout_cycles: int) -> None:
        self.device.regs["PC"] = 1
        raise DeviceTimeout(timeout_cycles)


def test_run_sync_returns_the_value():
    async def answer():
        return 42
    assert run_sync(answer()) == 42


def test_run_sync_refuses_a_coroutine_that_suspends():
    finished = []

    async def suspends():
        try:
            await _Suspend()
        finally:
            finished.append(True)

    with pytest.raises(RuntimeError, match="the device suspended"):
        run_sync(suspends())
    assert finished == [True], "run_sync must close the suspended coroutine"


def test_run_sync_refuses_a_driver_on_a_suspending_device(program):
    driver = HostDriver(_SuspendingDevice(GoldenDevice(CFG)), program)
    with pytest.raises(RuntimeError, match="the device suspended"):
        run_sync(driver.deploy())


def test_timeout_names_the_stalled_instruction(program):
    driver = HostDriver(_HangingDevice(GoldenDevice(CFG)), program)
    with pytest.raises(DeviceTimeout, match="deploy program stalled at pc 1: deploy.load_biases") as info:
        run_sync(driver.deploy())
    assert info.value.cycles == driver.timeout_cycles(0)


def test_workflow_profile_attributes_cycles_to_layers(network):
    """last_profile["layers"]: busy cycles per layer and kernel; they add up to the counters."""
    from sim import Workflow

    wf = Workflow(network)
    wf.predict([np.zeros((3, network.input_size)), np.ones((5, network.input_size))])
    layers, busy = wf.last_profile["layers"], wf.last_profile["busy"]
    assert "lstm_1" in layers and layers["lstm_1"]["FC"] > 0
    assert {k: sum(per.get(k, 0) for per in layers.values()) for k in busy} == busy

"""Code generation and the compile pipeline: formats → lowering → deploy program, encoding, memory
map and DDR image → `Program`.

Memory map (byte offsets from the image base, every region starting on a 64-byte boundary):

    InstructionDataOffset     deploy program (LOAD weights, LOAD biases, END), then at
    RunInstructionDataOffset  the run program, right behind it (an instruction is 16 bytes, a whole
                              number of AXI beats; PROG_ADDR must be beat aligned)
    FCWeightDataOffset        weight-buffer words, P elements each, in weight-buffer order
    FCBiasDataOffset          int32 biases, in bias-buffer order
    StateDataOffset           initial state: per LSTM layer h, then c, each padded to an AXI beat
    StoredStateOffset         the same size: the state kept between stateful calls
    InputDataOffset           max_sequence_length + 1 rows of input_row_bytes (row = one time step;
                              the run program reads one row past the sequence, see lower.py)
    OutputResultOffset        max_sequence_length rows of output_row_bytes (one row in "last" mode)
    EndOffset

Instructions are encoded only through `rtl.isa.encode`; an encoding error names the op.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.isa import LoadTarget, Op

from .lower import BASE_IMAGE, CompileError, Instr, Lowered, check_supported, lower, pad
from .network import Network
from .program import ListingEntry, Program, disassemble
from .quantize import choose_formats
from .reference import ranges as reference_ranges

REGION_ALIGN = 64
INSTR_BYTES = isa.INSTR_BITS // 8
#: Largest LOAD of the deploy program: `length` has 16 bits; a power of two keeps chunks beat aligned.
LOAD_CHUNK = 1 << 15


def check_max_sequence_length(max_sequence_length) -> int:
    """The longest sequence a program's input and output areas hold: an int from 1 to SEQ_LEN's limit."""
    if isinstance(max_sequence_length, bool) or not isinstance(max_sequence_length, (int, np.integer)) \
            or max_sequence_length < 1:
        raise ValueError(f"max_sequence_length={max_sequence_length!r}: expected a positive integer")
    if max_sequence_length > isa.MAX_SEQ_LEN:
        raise ValueError(f"max_sequence_length={max_sequence_length}: the processor runs at most "
                         f"{isa.MAX_SEQ_LEN:,} time steps per call (SEQ_LEN is {isa.SEQ_LEN_BITS} bits); "
                         "run a longer sequence in parts with predict_and_update_state")
    return int(max_sequence_length)


def compile(net: Network, config: ProcessorConfig, calibration=None, max_sequence_length: int = 1024,
            fracs: dict[str, int] | None = None) -> Program:
    """Compile `net` for `config`.

    calibration: optional (T, C) array or list of them, run through the float reference to size
    the fixed-point formats (see compiler.quantize); without it the formats come from default
    ranges and analytic bounds. max_sequence_length sizes the input and output areas of the image;
    the programs do not depend on it (T is the SEQ_LEN register). fracs: fraction bits to use
    instead of the chosen ones for named tensors (``lstm_1.c``, ``lstm_1.z``, ``fc_1.y``, ...), as
    a format search (sim.workflow.Workflow.calibrate) proposes them."""
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a compiler.Network, got {type(net).__name__}")
    if not isinstance(config, ProcessorConfig):
        raise TypeError(f"config: expected an rtl.ProcessorConfig, got {type(config).__name__}")
    max_sequence_length = check_max_sequence_length(max_sequence_length)
    check_supported(net)
    ranges = None
    if calibration is not None:
        ranges = reference_ranges(net, calibration)  # checks the sequences (compiler.inputs)
    formats = choose_formats(net, config, ranges)
    settable = [k for k in formats if k.endswith((".z", ".c", ".y"))]  # nothing else depends on them
    for name, frac in (fracs or {}).items():
        if name not in settable:
            raise CompileError(f"fracs: the format of {name!r} cannot be set (settable: {', '.join(settable)})")
        formats[name] = dataclasses.replace(formats[name], frac=int(frac))
    plan = lower(net, config, formats)

    loads = _deploy_loads(config, plan)
    out_rows = max_sequence_length if net.output_mode == "sequence" else 1
    mm = _memory_map(config, plan, len(loads) + 1, max_sequence_length, out_rows)
    deploy = [Instr("", name, Op.LOAD, dict(func=target, dst=start, length=n, ddr_offset=mm[region] + offset,
                                            base=BASE_IMAGE))
              for target, name, start, n, region, offset in loads] + [Instr("", "end", Op.END, {})]
    programs = {"deploy": deploy, "run": plan.run}
    for name, instrs in programs.items():
        if len(instrs) > config.imem_depth:
            raise CompileError(f"instruction memory: the {name} program needs {len(instrs)} instructions, "
                               f"the config has imem_depth={config.imem_depth}")
    words = {name: _encode(instrs) for name, instrs in programs.items()}
    listing = [ListingEntry(name, pc, ins.layer, ins.name, disassemble(w))
               for name, instrs in programs.items() for pc, (ins, w) in enumerate(zip(instrs, words[name]))]
    return Program(
        config=config, network=net, deploy_instructions=words["deploy"], run_instructions=words["run"],
        listing=listing, formats=formats, memory_map=mm, image=_image(config, net, plan, mm, words),
        input_row_bytes=plan.input_row_bytes, output_row_bytes=plan.output_row_bytes,
        output_size=net.output_size, output_mode=net.output_mode, max_sequence_length=max_sequence_length,
        input_format=formats["x"], output_format=formats[plan.output_tensor], state_layout=plan.state,
        buffers=plan.buffers, weight_words=plan.weight_words, bias_entries=plan.bias_entries)


def _memory_map(cfg: ProcessorConfig, plan: Lowered, n_deploy: int, max_t: int, out_rows: int) -> dict[str, int]:
    run_offset = pad(n_deploy * INSTR_BYTES, max(INSTR_BYTES, cfg.beat_bytes))
    regions = (("InstructionDataOffset", run_offset + len(plan.run) * INSTR_BYTES),
               ("FCWeightDataOffset", plan.weight_words * cfg.word_bits // 8),
               ("FCBiasDataOffset", plan.bias_entries * cfg.BIAS_BITS // 8),
               ("StateDataOffset", plan.state.nbytes),
               ("StoredStateOffset", plan.state.nbytes),
               # one row more than the longest sequence: the run program loads x_{t+1} in step t
               ("InputDataOffset", (max_t + 1) * plan.input_row_bytes),
               ("OutputResultOffset", out_rows * plan.output_row_bytes))
    mm, offset = {}, 0
    for name, size in regions:
        mm[name] = offset
        if name == "InstructionDataOffset":
            mm["RunInstructionDataOffset"] = offset + run_offset
        offset = pad(offset + size, REGION_ALIGN)
    mm["EndOffset"] = offset
    if offset > 1 << cfg.AXI_ADDR_BITS:
        raise CompileError(f"memory image: {offset} bytes do not fit the {cfg.AXI_ADDR_BITS}-bit address space "
                           "(reduce max_sequence_length)")
    return mm


def _deploy_loads(cfg: ProcessorConfig, plan: Lowered) -> list[tuple[LoadTarget, str, int, int, str, int]]:
    """The deploy program's LOADs as (target, op name, first item, items, memory-map region, byte
    offset in the region): all weight words, then all biases, in chunks that fit `length`."""
    loads = []
    for target, name, count, region, item_bytes in (
            (LoadTarget.WBUF, "load_weights", plan.weight_words, "FCWeightDataOffset", cfg.word_bits // 8),
            (LoadTarget.BBUF, "load_biases", plan.bias_entries, "FCBiasDataOffset", cfg.BIAS_BITS // 8)):
        for start in range(0, count, LOAD_CHUNK):
            loads.append((target, f"deploy.{name}", start, min(LOAD_CHUNK, count - start), region,
                          start * item_bytes))
    return loads


def _encode(instrs: list[Instr]) -> list[int]:
    words = []
    for ins in instrs:
        try:
            words.append(isa.encode(ins.op, **ins.fields))
        except ValueError as e:
            raise CompileError(f"{ins.name}: {e}") from None
    return words


def _image(cfg: ProcessorConfig, net: Network, plan: Lowered, mm: dict[str, int], words: dict) -> bytes:
    """The DDR image from offset 0 to EndOffset: programs, weights, biases, initial state (twice);
    the input and output areas are zero."""
    image = bytearray(mm["EndOffset"])

    def put(offset: int, data: bytes) -> None:
        image[offset:offset + len(data)] = data

    put(mm["InstructionDataOffset"], isa.to_bytes(words["deploy"]))
    put(mm["RunInstructionDataOffset"], isa.to_bytes(words["run"]))
    p, word_bytes = cfg.lanes, cfg.word_bits // 8
    for b in plan.blocks:
        rows, k = b.weights.shape
        padded = np.zeros((rows, -(-k // p) * p), dtype=f"<i{cfg.elem_bytes}")
        weight_codes, bias_codes = b.codes()  # an LSTM gate's input weights have a format of their own
        padded[:, :k] = weight_codes
        put(mm["FCWeightDataOffset"] + b.waddr * word_bytes, padded.tobytes())
        put(mm["FCBiasDataOffset"] + b.bias_entry * cfg.BIAS_BITS // 8, bias_codes.astype("<i4").tobytes())
    state = plan.state.pack(net.initial_state())
    put(mm["StateDataOffset"], state)
    put(mm["StoredStateOffset"], state)
    return bytes(image)

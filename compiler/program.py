"""The compiled program: instruction streams, listing, formats, memory map and DDR image, plus the
host-side helpers that turn sequences into input bytes and output bytes back into arrays.

The host (sim/driver.py) uses it like this: write `image` at some base address, set the registers
from `base_registers(base)`, run the deploy program once (`program_registers("deploy", base)`), then
per sequence write `encode_input(x)` at BASE1, set SEQ_LEN = T and FLAGS, run the run program and
read T rows (one in "last" mode) of `output_row_bytes` at BASE2 for `decode_output`.

State: BASE3 points at the state area the run program loads h and c from. The image holds the
initial state twice, at StateDataOffset and at StoredStateOffset. `predict` points BASE3 at the
first with FLAGS = 0; `predict_and_update_state` points it at the second (`stored_state=True`) with
FLAGS = KEEP_STATE_FLAG so the final state is written back there; resetting the state copies the
first area over the second.
"""
from __future__ import annotations

import collections
import dataclasses

import numpy as np

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.isa import ActFunc, EwFunc, LoadTarget, LoopCount, Op

from .lower import BASE_IMAGE, BASE_INPUT, BASE_OUTPUT, BASE_STATE, KEEP_STATE_COND, StateLayout
from .inputs import as_sequence
from .network import GATES, LSTM, FullyConnected, Network, SequenceInput
from .quantize import Clipping, QFormat

_FUNC_ENUMS = {Op.ACT: ActFunc, Op.EW: EwFunc, Op.LOAD: LoadTarget, Op.LOOP: LoopCount}


class ListingEntry(collections.namedtuple("ListingEntry", "program pc layer op text")):
    """One instruction of the listing: program ("deploy"/"run"), pc, layer name ("" for control
    instructions), op name (e.g. ``lstm_1.wi``) and the decoded instruction."""

    def __str__(self) -> str:
        return f"{self.program:6} {self.pc:4}  {self.layer:16} {self.op:24} {self.text}"


def disassemble(word: int) -> str:
    """Readable text of one instruction word, e.g. ``ACT.SIGMOID dst=44 src0=44 length=32 ...``."""
    op, fields = isa.decode(word)
    name = op.name
    if op in _FUNC_ENUMS:
        name += "." + _FUNC_ENUMS[op](fields.pop("func")).name
    return " ".join([name] + [f"{k}=0x{v:x}" if k == "ddr_offset" else f"{k}={v}" for k, v in fields.items()])




@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Program:
    """A network compiled for one processor config (built by `compiler.compile`). `str()` is the
    compile report; `repr()` is one line (the image is too large to print)."""

    config: ProcessorConfig
    network: Network
    deploy_instructions: list[int]
    run_instructions: list[int]
    listing: list[ListingEntry]
    formats: dict[str, QFormat]
    memory_map: dict[str, int]
    image: bytes
    input_row_bytes: int
    output_row_bytes: int
    output_size: int
    output_mode: str
    max_sequence_length: int
    input_format: QFormat
    output_format: QFormat
    state_layout: StateLayout
    buffers: dict[str, tuple[int, int]]  # activation-buffer slot -> (element address, length)
    weight_words: int
    bias_entries: int

    #: FLAGS value that makes the run program store the final state (LOAD/STORE cond=1: bit 0).
    KEEP_STATE_FLAG = 1 << (KEEP_STATE_COND - 1)

    def region_use(self, region: isa.Region) -> int:
        """Elements of an activation-buffer region the program's slots occupy (up to the end of the
        last slot, row padding included)."""
        lo, hi = isa.region_bounds(self.config)[region]
        ends = [a + n for a, n in self.buffers.values() if lo <= a < hi]
        if not ends:
            return 0
        end = max(ends)
        return (end if region == isa.Region.V else -(-end // self.config.lanes) * self.config.lanes) - lo

    def __repr__(self) -> str:
        return (f"<Program {self.config.short_id()}: {len(self.network.layers)} layers, output "
                f"{self.output_mode!r}, run {len(self.run_instructions)} instructions, "
                f"image {len(self.image)} bytes>")

    # ---- host side: registers ---------------------------------------------------------------------
    def base_registers(self, image_base: int, stored_state: bool = False) -> dict[str, int]:
        """BASE0..3 for the image at `image_base`: the image, the input rows, the output rows and
        the state area (the initial state, or the stored state if `stored_state`)."""
        mm = self.memory_map
        state = mm["StoredStateOffset"] if stored_state else mm["StateDataOffset"]
        return {f"BASE{BASE_IMAGE}": image_base, f"BASE{BASE_INPUT}": image_base + mm["InputDataOffset"],
                f"BASE{BASE_OUTPUT}": image_base + mm["OutputResultOffset"], f"BASE{BASE_STATE}": image_base + state}

    def program_registers(self, program: str, image_base: int) -> dict[str, int]:
        """PROG_ADDR and PROG_LEN of the "deploy" or "run" program of the image at `image_base`."""
        offset, words = {"deploy": ("InstructionDataOffset", self.deploy_instructions),
                         "run": ("RunInstructionDataOffset", self.run_instructions)}[program]
        return {"PROG_ADDR": image_base + self.memory_map[offset], "PROG_LEN": len(words)}

    # ---- host side: data --------------------------------------------------------------------------
    def encode_input(self, x) -> bytes:
        """Bytes of one (T, C) float sequence for the input area: normalised as the SequenceInput
        layer says (on the host), quantised to the input format, one padded row per time step."""
        return self.encode_input_counted(x)[0]

    def encode_input_counted(self, x, what: str = "input") -> tuple[bytes, Clipping]:
        """`encode_input`, and how many elements of the (normalised) input the input format clipped.
        `what` names the sequence in messages."""
        c = self.network.input_size
        x = as_sequence(x, c, what, self.max_sequence_length)
        inp: SequenceInput = self.network.layers[0]
        if inp.normalization in ("zerocenter", "zscore"):
            x = x - inp.mean
        if inp.normalization == "zscore":
            x = x / inp.std
        eb = self.config.elem_bytes
        rows = np.zeros((x.shape[0], self.input_row_bytes // eb), dtype=f"<i{eb}")
        rows[:, :c], clipped = self.input_format.quantize_counted(x)
        return rows.tobytes(), Clipping(what, clipped, x.size, self.input_format)

    def output_rows(self, t: int) -> int:
        """Rows the run program writes for a sequence of t steps: t, or 1 in "last" mode."""
        if not 1 <= t <= self.max_sequence_length:
            raise ValueError(f"T={t}: expected 1..{self.max_sequence_length}")
        return t if self.output_mode == "sequence" else 1

    def decode_output(self, raw: bytes, t: int) -> np.ndarray:
        """The network's output from the output area's bytes after a run of t steps: (t, K) in
        "sequence" mode, (K,) in "last" mode; dequantised (a Softmax layer ran on the processor)."""
        rows = self.output_rows(t)
        need = rows * self.output_row_bytes
        if len(raw) < need:
            raise ValueError(f"output has {len(raw)} bytes, {rows} rows need {need}")
        eb = self.config.elem_bytes
        q = np.frombuffer(raw[:need], dtype=f"<i{eb}").reshape(rows, -1)[:, :self.output_size]
        y = self.output_format.dequantize(q)
        return y if self.output_mode == "sequence" else y[0]

    def encode_state(self, state) -> bytes:
        """Bytes of a state area holding `state`: one (h, c) float pair per LSTM layer."""
        return self.state_layout.pack(state)

    def encode_state_counted(self, state) -> tuple[bytes, list[Clipping]]:
        """`encode_state`, and the h and c that had elements outside their format's range."""
        return self.state_layout.pack_counted(state)

    def decode_state(self, raw: bytes) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (h, c) pairs per LSTM layer from the bytes of a state area."""
        return self.state_layout.unpack(raw)

    # ---- listing and report -----------------------------------------------------------------------
    def instruction_name(self, program: str, pc: int) -> str:
        """Op name (``lstm_1.wi``) of instruction `pc` of the "deploy" or "run" program; a pc past
        the end (the processor ran off the program) is named as such."""
        for e in self.listing:
            if e.program == program and e.pc == pc:
                return e.op
        words = self.deploy_instructions if program == "deploy" else self.run_instructions
        if pc >= len(words):
            return f"past the end of the {program} program ({len(words)} instructions)"
        raise ValueError(f"no instruction {pc} in the {program!r} program")

    def listing_text(self) -> str:
        """The full listing, one instruction per line."""
        head = f"{'prog':6} {'pc':>4}  {'layer':16} {'op':24} instruction"
        return "\n".join([head] + [str(e) for e in self.listing]) + "\n"

    def ideal_cycles_per_step(self) -> float:
        """FC cycles per time step with every MAC lane busy: Σ over LSTM layers of 4·H·(I+H)/P."""
        total, in_size = 0.0, self.network.input_size
        for layer in self.network.lstm_layers:
            h = layer.num_hidden
            total += 4 * h * (in_size + h) / self.config.lanes
            in_size = h
        return total

    def step_op_counts(self) -> dict[str, int]:
        """Instructions per time step (the loop body of the run program) by kind, e.g. ``ACT.TANH``."""
        counts: dict[str, int] = collections.Counter()
        in_loop = False
        for word in self.run_instructions:
            op, fields = isa.decode(word)
            if op in (Op.LOOP, Op.ENDLOOP):
                in_loop = op == Op.LOOP
            elif in_loop:
                counts[op.name + (f".{_FUNC_ENUMS[op](fields['func']).name}" if op in (Op.ACT, Op.EW) else "")] += 1
        return dict(counts)

    def _layer_formats(self, layer) -> str:
        """Short format summary of one layer for the layer table, e.g. ``W s16f17/17/16/17 z s16f11 ...``."""
        f, name = self.formats, layer.name
        if isinstance(layer, SequenceInput):
            return f"x {f['x']}"
        if isinstance(layer, LSTM):
            w = "/".join(str(f[f"{name}.w{g}"].frac) for g in GATES)
            return f"W s{f['x'].bits}f{w} z {f[name + '.z']} c {f[name + '.c']} h {f[name + '.h']}"
        if isinstance(layer, FullyConnected):
            return f"W {f[name + '.w']} y {f[name + '.y']}"
        return "-"

    def __str__(self) -> str:
        cfg, net = self.config, self.network
        out = [f"LSTM processor program for {cfg.short_id()} (config {cfg.fingerprint()}), output mode "
               f"{self.output_mode!r}, max sequence length {self.max_sequence_length}", ""]
        rows = [("#", "name", "type", "activations", "learnables", "formats")]
        sequence = True
        for k, (layer, size) in enumerate(zip(net.layers, net.layer_sizes), 1):
            if isinstance(layer, LSTM) and layer.output_mode == "last":
                sequence = False
            learn = ", ".join(f"{''.join(p.capitalize() for p in key.split('_'))} {'x'.join(map(str, a.shape)) or '1'}"
                              for key, a in layer.arrays.items())
            rows.append((str(k), layer.name, type(layer).__name__, f"{size}" + (" x T" if sequence else ""),
                         learn or "-", self._layer_formats(layer)))
        out += _table(rows) + [""]
        out += ["Formats (sNfM: N-bit two's complement, M fraction bits; range ±2^(N-1-M))"]
        out += _table([("tensor", "format", "max")] + [(name, str(f), f"{f.dequantize(f.max):.6g}")
                                                        for name, f in self.formats.items()]) + [""]
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.step_op_counts().items()))
        out += [f"Instructions: deploy {len(self.deploy_instructions)}, run {len(self.run_instructions)} "
                f"(imem holds {cfg.imem_depth}); per time step: {counts}",
                f"Ideal FC cycles per time step: {self.ideal_cycles_per_step():g} (lanes={cfg.lanes})",
                "Buffers: activations " + ", ".join(
                    f"{r.name} {self.region_use(r)} of {hi - lo}" for r, (lo, hi) in isa.region_bounds(cfg).items())
                + f" elements, weights {self.weight_words} of {cfg.wbuf_words} words, biases {self.bias_entries} "
                f"of {cfg.bbuf_depth} entries", "", "Memory map"]
        names = list(self.memory_map)
        out += _table([("region", "offset", "size")] + [
            (n, f"0x{self.memory_map[n]:08x}",
             f"0x{self.memory_map[names[i + 1]] - self.memory_map[n]:x}" if i + 1 < len(names) else "")
            for i, n in enumerate(names)])
        return "\n".join(out) + "\n"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]

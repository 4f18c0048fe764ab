"""Lowering: a network and its formats → buffer allocation, weight placement and the run program.

Activation buffer (rtl/abuf.py; element addresses, see isa.region_bounds):

- region V holds the vector ``[x; h_1; h_2; ...]`` from its start, so that layer l's FC input
  ``[h_{l-1}; h_l]`` (``[x; h_1]`` for layer 1) is one contiguous range (V takes P-wide accesses
  at any element, so nothing is padded);
- region Z (written only by the FC kernel) holds per LSTM layer the four gate preactivations
  ``zi, zf, zg, zo`` and one slot per FullyConnected output;
- region E holds per LSTM layer the gates ``gi, gf, gg, go`` and the cell state ``c``, and the
  softmax's probabilities. Slots in Z and E start at a row (P elements).

Per step and LSTM layer (the element-wise kernel reads operand a through E's first read port and
operand b through its second):

    FC wX:   [x; h] (V) -> zX (Z)             X = i, f, g, o
    ACT:     zi -> gi, zf -> gf, zg -> gg, zo -> go (Z -> E)
    EW:      gi <- gi*gg ; gf <- gf*c ; c <- gf + gi          (i*g, f*c, c = f*c + i*g)
    ACT:     gg <- tanh(c)
    EW:      h <- go*gg (E -> V)

Weight buffer: each FC, i.e. each LSTM gate matrix ``[W_g | R_g]`` and each FullyConnected layer, is
``rows`` rows of ``ceil(K/P)`` words (zero padded past K), one after the other; the bias buffer holds
the matching rows' biases in the same order.

Run program (its length does not depend on T; the loop count is the SEQ_LEN register)::

    LOAD h, c of every layer from the state area (BASE3)
    LOAD x_0 (BASE1)
    LOOP SEQ_LEN
      per LSTM layer: FC wi, FC wf, sigmoid i, FC wg, sigmoid f, FC wo, tanh g,
                      f*c, i*g, c = f*c + i*g, tanh(c), sigmoid o, [layer 1: LOAD x_{t+1}], h = o*tanh(c)
      [sequence mode: FullyConnected layers, softmax, STORE y_t (BASE2 + t*output_row_bytes)]
    ENDLOOP
    [last mode: FullyConnected layers, softmax, STORE y]
    STORE h, c of every layer to the state area, only if FLAGS bit 0 (KEEP_STATE_COND)
    END

The order (STEP_ORDER) interleaves the kernels: the FC kernel streams the four gates back to back,
sigmoid(i) runs while it computes the next gates, the element-wise work of a step overlaps the FC
of the output gate, and the next step's input is loaded (software pipelined: x_{t+1} in step t,
after the last FC that reads x_t) while the step's last activations run, so the load is off the
recurrent path and does not compete with h for V's write port. The input area therefore has one row more than the longest sequence. Every
instruction carries the layer and op name (``lstm_1.wi``, ``lstm_1.sigmoid_i``, ...) for the
listing and error messages.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.isa import ActFunc, EwFunc, LoadTarget, LoopCount, Op

from .inputs import as_real_array, state_pairs
from .network import LSTM, FullyConnected, Network, SequenceInput, Softmax
from .quantize import Clipping, QFormat, act_shifts, ew_add_shifts, ew_mul_shift, fc_shift, segment_shift

#: LSTM options the processor implements, and the ACT function of each.
GATE_FUNCTIONS = {"sigmoid": ActFunc.SIGMOID, "hard-sigmoid": ActFunc.HARD_SIGMOID}
STATE_FUNCTIONS = {"tanh": ActFunc.TANH, "softsign": ActFunc.SOFTSIGN}
SUPPORTED_ACTIVATIONS = {"state_activation": tuple(STATE_FUNCTIONS), "gate_activation": tuple(GATE_FUNCTIONS)}

#: Base registers as the run and deploy programs use them.
BASE_IMAGE, BASE_INPUT, BASE_OUTPUT, BASE_STATE = 0, 1, 2, 3
#: `cond` of the final-state stores: FLAGS bit 0 = keep the final state.
KEEP_STATE_COND = 1


class CompileError(ValueError):
    """The network is valid but cannot be compiled for this config; the message names the layer,
    tensor or resource."""


@dataclasses.dataclass(frozen=True)
class Instr:
    """One instruction before encoding: its fields and the layer and op it belongs to."""

    layer: str
    name: str
    op: Op
    fields: dict


@dataclasses.dataclass(frozen=True, eq=False)
class WeightBlock:
    """One FC's weights (rows x K floats) and biases, where they go and their formats."""

    name: str
    weights: np.ndarray
    bias: np.ndarray
    waddr: int
    bias_entry: int
    weight_format: QFormat
    bias_format: QFormat
    split: int = 0                      # columns of the first segment (an LSTM gate's input weights)
    first_format: QFormat | None = None  # their format; the rest use weight_format

    def codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(weight codes rows x K, bias codes rows) as int64: what the weight and bias buffers hold."""
        w = self.weight_format.quantize(self.weights)
        if self.split:
            w[:, :self.split] = self.first_format.quantize(self.weights[:, :self.split])
        return w, self.bias_format.quantize(self.bias)

    def accumulator_bound(self, data_bits: int, shift1: int = 0) -> np.ndarray:
        """Per row, the largest |accumulator| any input can produce: every activation-buffer element
        is a saturated data_bits code (|code| <= 2^(data_bits-1)), the first `split` products are
        shifted left by shift1 (the FC's segment shift), the bias is added. Python ints: exact."""
        w, b = self.codes()
        scale = np.ones(w.shape[1], dtype=object)
        scale[:self.split] = 1 << shift1
        return np.abs(w).astype(object) @ scale * (1 << (data_bits - 1)) + np.abs(b).astype(object)


@dataclasses.dataclass(frozen=True)
class StateSlot:
    """One LSTM layer's state: activation-buffer addresses and byte offsets in the state area."""

    layer: str
    size: int
    h_addr: int
    c_addr: int
    h_offset: int
    c_offset: int
    h_format: QFormat
    c_format: QFormat


@dataclasses.dataclass(frozen=True)
class StateLayout:
    """The state area (BASE3): per LSTM layer h then c, each padded to whole AXI beats."""

    slots: tuple[StateSlot, ...]
    nbytes: int
    elem_bytes: int

    def pack(self, state) -> bytes:
        """Quantised bytes of a state given as one (h, c) pair of float arrays per LSTM layer."""
        return self.pack_counted(state)[0]

    def pack_counted(self, state) -> tuple[bytes, list[Clipping]]:
        """`pack`, and per h and c that had elements outside its format's range, their count."""
        out = bytearray(self.nbytes)
        dtype = np.dtype(f"<i{self.elem_bytes}")
        clipping = []
        for s, (h, c) in zip(self.slots, state_pairs(state, len(self.slots))):
            for what, value, off, fmt in (("h", h, s.h_offset, s.h_format), ("c", c, s.c_offset, s.c_format)):
                value = as_real_array(value, f"{s.layer}: state {what}")
                if value.shape != (s.size,):
                    raise ValueError(f"{s.layer}: state {what} has shape {value.shape}, expected ({s.size},)")
                codes, clipped = fmt.quantize_counted(value)
                if clipped:
                    clipping.append(Clipping(f"{s.layer} state {what}", clipped, value.size, fmt))
                data = codes.astype(dtype).tobytes()
                out[off:off + len(data)] = data
        return bytes(out), clipping

    def unpack(self, raw: bytes) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (h, c) float arrays per LSTM layer from the bytes of a state area."""
        dtype = np.dtype(f"<i{self.elem_bytes}")
        n = self.elem_bytes
        return [tuple(fmt.dequantize(np.frombuffer(raw[off:off + s.size * n], dtype=dtype))
                      for off, fmt in ((s.h_offset, s.h_format), (s.c_offset, s.c_format)))
                for s in self.slots]


@dataclasses.dataclass(frozen=True, eq=False)
class Lowered:
    """Everything codegen needs: allocation, weights, state layout, the run program, row sizes."""

    buffers: dict[str, tuple[int, int]]  # activation-buffer slot name -> (element address, length)
    blocks: list[WeightBlock]
    weight_words: int
    bias_entries: int
    state: StateLayout
    run: list[Instr]
    input_row_bytes: int
    output_row_bytes: int
    output_tensor: str  # format name of the stored output


def check_supported(net: Network) -> None:
    """Reject what the processor cannot run: LSTM activations other than those above and a
    FullyConnected layer before an LSTM (the activation vector is [x; h_1; ...])."""
    for layer in net.lstm_layers:
        for option, allowed in SUPPORTED_ACTIVATIONS.items():
            if getattr(layer, option) not in allowed:
                raise CompileError(f"{layer.name}: {option}={getattr(layer, option)!r} is not supported by the "
                                   f"processor (supported: {', '.join(repr(a) for a in allowed)})")
    fc_seen = None
    for layer in net.layers:
        if isinstance(layer, FullyConnected):
            fc_seen = fc_seen or layer
        elif isinstance(layer, LSTM) and fc_seen is not None:
            raise CompileError(f"{layer.name}: an LSTM after the FullyConnected layer {fc_seen.name} is not "
                               "supported (the processor runs the LSTM layers first, then the FullyConnected ones)")


def pad(n: int, unit: int) -> int:
    """n rounded up to a multiple of unit."""
    return -(-n // unit) * unit


class _Emitter:
    """Builds an instruction list, computing shifts from formats and checking them against the
    config's field limits, so that an impossible format combination fails with the op's name."""

    def __init__(self, cfg: ProcessorConfig, formats: dict[str, QFormat]):
        self.cfg = cfg
        self.fmt = formats
        self.limits = isa.field_limits(cfg)
        self.instrs: list[Instr] = []

    def emit(self, layer: str, name: str, op: Op, tensors: tuple[str, ...] = (), **fields: int) -> None:
        for (lop, field), limit in self.limits.items():
            if lop == op and field in fields and not 0 <= fields[field] <= limit:
                desc = ", ".join(f"{t} {self.fmt[t]}" for t in tensors)
                raise CompileError(f"{name}: {op.name} {field}={fields[field]} is outside 0..{limit} for the "
                                   f"formats {desc}: the tensor ranges need shifts this config cannot express")
        self.instrs.append(Instr(layer, name, op, fields))

    def fc(self, layer: str, name: str, block: WeightBlock, src: int, cols: int, dst: int, x: str, y: str,
           first: str | None = None) -> None:
        """FC reading `cols` elements from src in format `x`; an LSTM gate's first `block.split`
        of them are the input vector, in format `first`, with their own weight format."""
        fields = dict(shift0=fc_shift(self.fmt[block.name], self.fmt[x], self.fmt[y]))
        if block.split:
            fields.update(split=block.split, shift1=segment_shift(block.first_format, self.fmt[first],
                                                                  block.weight_format, self.fmt[x]))
        self._check_accumulator(name, block, fields.get("shift1", 0))
        self.emit(layer, name, Op.FC, (block.name, x, y), dst=dst, src0=src, waddr=block.waddr,
                  length=len(block.bias), cols=cols, bias=block.bias_entry, **fields)

    def _check_accumulator(self, name: str, block: WeightBlock, shift1: int) -> None:
        """The FC kernel's accumulator (cfg.acc_bits, two's complement) wraps silently: reject an
        FC whose worst-case |accumulator| (WeightBlock.accumulator_bound) does not fit it."""
        bound = block.accumulator_bound(self.cfg.data_bits, shift1)
        limit = (1 << (self.cfg.acc_bits - 1)) - 1
        row = int(np.argmax(bound))
        if bound[row] > limit:
            raise CompileError(
                f"{name}: the accumulator can wrap: row {row} sums to |acc| <= {bound[row]} (about "
                f"2^{float(np.log2(float(bound[row]))):.1f}) for inputs at the format's bounds, the "
                f"{self.cfg.data_type} accumulator holds acc_bits={self.cfg.acc_bits} bits (|acc| <= {limit}); "
                f"{int(np.count_nonzero(bound > limit))} of {len(bound)} rows can wrap (weights "
                f"{block.weight_format}, bias {block.bias_format}, segment shift {shift1})")

    def act(self, layer: str, name: str, func: ActFunc, src: int, dst: int, n: int, x: str, y: str) -> None:
        s0, s1 = act_shifts(self.cfg, func, self.fmt[x], self.fmt[y])
        self.emit(layer, name, Op.ACT, (x, y), func=func, dst=dst, src0=src, length=n, shift0=s0, shift1=s1)

    def mul(self, layer: str, name: str, a: int, b: int, dst: int, n: int, fa: str, fb: str, fy: str) -> None:
        self.emit(layer, name, Op.EW, (fa, fb, fy), func=EwFunc.MUL, dst=dst, src0=a, src1=b, length=n,
                  shift2=ew_mul_shift(self.fmt[fa], self.fmt[fb], self.fmt[fy]))

    def add(self, layer: str, name: str, a: int, b: int, dst: int, n: int, fa: str, fb: str, fy: str) -> None:
        s0, s1, s2 = ew_add_shifts(self.fmt[fa], self.fmt[fb], self.fmt[fy])
        self.emit(layer, name, Op.EW, (fa, fb, fy), func=EwFunc.ADD, dst=dst, src0=a, src1=b, length=n,
                  shift0=s0, shift1=s1, shift2=s2)

    def load(self, layer: str, name: str, dst: int, n: int, base: int, offset: int, stride: int = 0) -> None:
        self.emit(layer, name, Op.LOAD, func=LoadTarget.ABUF, dst=dst, length=n, ddr_offset=offset,
                  stride=stride, base=base)

    def store(self, layer: str, name: str, src: int, n: int, base: int, offset: int, stride: int = 0,
              cond: int = 0) -> None:
        self.emit(layer, name, Op.STORE, src0=src, length=n, ddr_offset=offset, stride=stride, base=base, cond=cond)


def lower(net: Network, cfg: ProcessorConfig, formats: dict[str, QFormat]) -> Lowered:
    """Allocate buffers, place weights and build the run program (see the module docstring)."""
    lstms = net.lstm_layers
    fcs = [layer for layer in net.layers if isinstance(layer, FullyConnected)]
    inp: SequenceInput = net.layers[0]

    buffers = _allocate(net, cfg, lstms, fcs)
    blocks, weight_words, bias_entries = _place_weights(cfg, formats, lstms, fcs)
    state = _state_layout(cfg, formats, buffers, lstms)
    block = {b.name: b for b in blocks}
    eb, beat = cfg.elem_bytes, cfg.beat_bytes
    input_row_bytes = pad(net.input_size * eb, beat)
    output_row_bytes = pad(net.output_size * eb, beat)

    em = _Emitter(cfg, formats)
    for s in state.slots:
        em.load(s.layer, f"{s.layer}.load_h", s.h_addr, s.size, BASE_STATE, s.h_offset)
        em.load(s.layer, f"{s.layer}.load_c", s.c_addr, s.size, BASE_STATE, s.c_offset)
    x_addr = buffers["x"][0]
    em.load(inp.name, f"{inp.name}.load_x", x_addr, net.input_size, BASE_INPUT, 0)
    loop_pc = len(em.instrs)
    em.emit("", "loop", Op.LOOP, func=LoopCount.SEQ_LEN)  # jump patched below

    def load_next_x() -> None:
        em.load(inp.name, f"{inp.name}.load_x_next", x_addr, net.input_size, BASE_INPUT, input_row_bytes,
                stride=input_row_bytes)

    # the vector the next layer reads: (address, size, format name, producing layer)
    vec = (x_addr, net.input_size, "x", inp.name)
    for k, layer in enumerate(lstms):
        _lstm_step(em, layer, buffers, block, vec[0], vec[1], vec[2], load_next_x if k == 0 else None)
        vec = (buffers[f"{layer.name}.h"][0], layer.num_hidden, f"{layer.name}.h", layer.name)

    softmax = next((layer for layer in net.layers if isinstance(layer, Softmax)), None)

    def head(stride: int) -> str:
        """Emit the FullyConnected layers, the softmax and the output STORE; return the output's
        format name."""
        addr, size, tensor, owner = vec
        for fc in fcs:
            y_addr = buffers[f"{fc.name}.y"][0]
            em.fc(fc.name, f"{fc.name}.fc", block[f"{fc.name}.w"], addr, size, y_addr, tensor, f"{fc.name}.y")
            addr, size, tensor, owner = y_addr, fc.output_size, f"{fc.name}.y", fc.name
        if softmax is not None:
            p_addr = buffers["softmax.p"][0]
            em.act(softmax.name, f"{softmax.name}.softmax", ActFunc.SOFTMAX, addr, p_addr, size, tensor, "softmax.p")
            addr, tensor, owner = p_addr, "softmax.p", softmax.name
        em.store(owner, f"{owner}.store_y", addr, size, BASE_OUTPUT, 0, stride=stride)
        return tensor

    sequence = net.output_mode == "sequence"
    if sequence:
        output_tensor = head(output_row_bytes)
    em.emit("", "endloop", Op.ENDLOOP)
    loop = em.instrs[loop_pc]
    em.instrs[loop_pc] = dataclasses.replace(loop, fields={**loop.fields, "jump": len(em.instrs)})
    if not sequence:
        output_tensor = head(0)
    for s in state.slots:
        em.store(s.layer, f"{s.layer}.store_h", s.h_addr, s.size, BASE_STATE, s.h_offset, cond=KEEP_STATE_COND)
        em.store(s.layer, f"{s.layer}.store_c", s.c_addr, s.size, BASE_STATE, s.c_offset, cond=KEEP_STATE_COND)
    em.emit("", "end", Op.END)
    return Lowered(buffers=buffers, blocks=blocks, weight_words=weight_words, bias_entries=bias_entries,
                   state=state, run=em.instrs, input_row_bytes=input_row_bytes,
                   output_row_bytes=output_row_bytes, output_tensor=output_tensor)


#: The order of one LSTM step's instructions. Issue is in order, so an instruction waiting for a
#: result holds back everything behind it: each activation sits behind the *next* gate's FC, so the
#: FC kernel streams the four gate FCs back to back (it takes an instruction as soon as the previous
#: one has read its last word) while the activations wait for their preactivations; f*c goes first
#: (it needs no g); the next step's input ("x", layer 1 only) is loaded after the output gate's
#: activation, which waits for the last FC to finish reading x. Measured with the cycle model
#: (benchmarks/utilisation.py, I = 12, P = 16) against issuing each gate's FC and activation in
#: turn: 149 -> 118 cycles per step at H = 8, 467 -> 421 at H = 32, 2893 -> 2847 at H = 100.
STEP_ORDER = ("wi", "wf", "act_i", "wg", "act_f", "wo", "act_g", "mul_fc", "mul_ig", "add_c", "act_c", "act_o",
              "x", "mul_h")


def _lstm_step(em: _Emitter, layer: LSTM, buffers: dict, block: dict, v_addr: int, v_size: int,
               v_tensor: str, next_input=None) -> None:
    """One time step of one LSTM layer, in STEP_ORDER. Its FC input [input; h] starts
    at v_addr: the input part (`v_tensor`, v_size elements) and h have formats of their own, met by
    the FC's segment shift. `next_input` emits the next step's input load (layer 1)."""
    L, n = layer.name, layer.num_hidden
    zi, zf, zg, zo = (buffers[f"{L}.{s}"][0] for s in ("zi", "zf", "zg", "zo"))
    gi, gf, gg, go, c, h = (buffers[f"{L}.{s}"][0] for s in ("gi", "gf", "gg", "go", "c", "h"))
    cols = v_size + n
    z, gates, cell = f"{L}.z", f"{L}.gates", f"{L}.c"
    gate_fn, state_fn = GATE_FUNCTIONS[layer.gate_activation], STATE_FUNCTIONS[layer.state_activation]
    gn, sn = (layer.gate_activation.replace("-", "_"), layer.state_activation)  # op names: sigmoid_i, tanh_g, ...
    h_tensor = f"{L}.h"
    ops = {
        "wi": lambda: em.fc(L, f"{L}.wi", block[f"{L}.wi"], v_addr, cols, zi, h_tensor, z, first=v_tensor),
        "wf": lambda: em.fc(L, f"{L}.wf", block[f"{L}.wf"], v_addr, cols, zf, h_tensor, z, first=v_tensor),
        "wg": lambda: em.fc(L, f"{L}.wg", block[f"{L}.wg"], v_addr, cols, zg, h_tensor, z, first=v_tensor),
        "wo": lambda: em.fc(L, f"{L}.wo", block[f"{L}.wo"], v_addr, cols, zo, h_tensor, z, first=v_tensor),
        "act_i": lambda: em.act(L, f"{L}.{gn}_i", gate_fn, zi, gi, n, z, gates),
        "act_f": lambda: em.act(L, f"{L}.{gn}_f", gate_fn, zf, gf, n, z, gates),
        "act_g": lambda: em.act(L, f"{L}.{sn}_g", state_fn, zg, gg, n, z, gates),
        "act_o": lambda: em.act(L, f"{L}.{gn}_o", gate_fn, zo, go, n, z, gates),
        "mul_ig": lambda: em.mul(L, f"{L}.mul_ig", gi, gg, gi, n, gates, gates, cell),
        "mul_fc": lambda: em.mul(L, f"{L}.mul_fc", gf, c, gf, n, gates, cell, cell),
        "add_c": lambda: em.add(L, f"{L}.add_c", gf, gi, c, n, cell, cell, cell),
        "act_c": lambda: em.act(L, f"{L}.{sn}_c", state_fn, c, gg, n, cell, gates),
        "mul_h": lambda: em.mul(L, f"{L}.mul_h", go, gg, h, n, gates, gates, f"{L}.h"),
        "x": next_input or (lambda: None),
    }
    for name in STEP_ORDER:
        ops[name]()


def _allocate(net: Network, cfg: ProcessorConfig, lstms: list[LSTM], fcs: list[FullyConnected]) -> dict:
    """Activation-buffer slots, region by region (see the module docstring): V holds [x; h_1; ...]
    unpadded; Z and E slots start at rows."""
    bounds = isa.region_bounds(cfg)
    regions = {
        isa.Region.V: [("x", net.input_size)] + [(f"{layer.name}.h", layer.num_hidden) for layer in lstms],
        isa.Region.Z: [(f"{layer.name}.{s}", layer.num_hidden) for layer in lstms for s in ("zi", "zf", "zg", "zo")]
        + [(f"{fc.name}.y", fc.output_size) for fc in fcs],
        isa.Region.E: [(f"{layer.name}.{s}", layer.num_hidden) for layer in lstms for s in ("gi", "gf", "gg", "go", "c")]
        + ([("softmax.p", net.output_size)] if any(isinstance(layer, Softmax) for layer in net.layers) else []),
    }
    buffers = {}
    for region, slots in regions.items():
        lo, hi = bounds[region]
        addr = lo
        for name, n in slots:
            buffers[name] = (addr, n)
            addr += n if region == isa.Region.V else pad(n, cfg.lanes)
        if addr > hi:
            rows = {isa.Region.V: "vbuf_words", isa.Region.Z: "zbuf_words", isa.Region.E: "ebuf_words"}[region]
            raise CompileError(f"activation buffer region {region.name}: the network needs {addr - lo} elements "
                               f"({', '.join(name for name, _ in slots)}), the config has {hi - lo} "
                               f"({rows}={getattr(cfg, rows)} x lanes={cfg.lanes})")
    return buffers


def _place_weights(cfg: ProcessorConfig, formats: dict, lstms: list[LSTM], fcs: list[FullyConnected]):
    """Weight blocks in weight-buffer order (per LSTM its gates i, f, g, o, then the FCs), the weight
    words and bias entries they take."""
    tensors = []
    for layer in lstms:
        k = layer.input_weights.shape[1]
        tensors += [(f"{layer.name}.w{g}", f"{layer.name}.b{g}", w, b, k) for g, (w, b) in layer.gate_weights().items()]
    tensors += [(f"{fc.name}.w", f"{fc.name}.b", fc.weights, fc.bias, 0) for fc in fcs]
    blocks, words, entries = [], 0, 0
    for wname, bname, w, b, split in tensors:
        blocks.append(WeightBlock(wname, w, b, words, entries, formats[wname], formats[bname], split,
                                  formats[f"{wname}.in"] if split else None))
        words += w.shape[0] * -(-w.shape[1] // cfg.lanes)
        entries += w.shape[0]
    if words > cfg.wbuf_words:
        raise CompileError(f"weight buffer: the network needs {words} words of {cfg.lanes} weights, the "
                           f"config has wbuf_words={cfg.wbuf_words}")
    if entries > cfg.bbuf_depth:
        raise CompileError(f"bias buffer: the network needs {entries} entries, the config has "
                           f"bbuf_depth={cfg.bbuf_depth}")
    return blocks, words, entries


def _state_layout(cfg: ProcessorConfig, formats: dict, buffers: dict, lstms: list[LSTM]) -> StateLayout:
    slots, off = [], 0
    for layer in lstms:
        n, name = layer.num_hidden, layer.name
        row = pad(n * cfg.elem_bytes, cfg.beat_bytes)
        slots.append(StateSlot(name, n, buffers[f"{name}.h"][0], buffers[f"{name}.c"][0], off, off + row,
                               formats[f"{name}.h"], formats[f"{name}.c"]))
        off += 2 * row
    return StateLayout(tuple(slots), off, cfg.elem_bytes)

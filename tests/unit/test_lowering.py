"""Formats, lowering and code generation: the instruction mix per step, the listing, the memory map,
the image contents and the compile errors."""
import collections
import re

import numpy as np
import pytest

from compiler import (LSTM, CompileError, Dropout, FullyConnected, Network, QFormat, Regression, SequenceInput,
                      Softmax, compile)
from compiler.codegen import LOAD_CHUNK, REGION_ALIGN
from compiler.program import disassemble
from compiler.quantize import DEFAULT_CELL_RANGE, DEFAULT_INPUT_RANGE, act_shifts
from rtl import ProcessorConfig, isa
from rtl.isa import ActFunc, EwFunc, LoadTarget, Op

INT16, INT8 = ProcessorConfig(), ProcessorConfig(data_type="int8")
CONFIGS = [pytest.param(c, id=c.short_id()) for c in (INT16, INT8)]
STEP_OPS = ["wi", "wf", "sigmoid_i", "wg", "sigmoid_f", "wo", "tanh_g",
            "mul_fc", "mul_ig", "add_c", "tanh_c", "sigmoid_o", "mul_h"]
REGIONS = ["InstructionDataOffset", "FCWeightDataOffset", "FCBiasDataOffset", "StateDataOffset",
           "StoredStateOffset", "InputDataOffset", "OutputResultOffset", "EndOffset"]


@pytest.fixture
def classifier(rng, random_lstm, random_fc):
    return Network([SequenceInput(12), random_lstm(rng, 12, 32, output_mode="last"), random_fc(rng, 9, 32), Softmax()])


@pytest.fixture
def stacked(rng, random_lstm, random_fc):
    return Network([SequenceInput(12), random_lstm(rng, 12, 20), Dropout(), random_lstm(rng, 20, 8),
                    random_fc(rng, 6, 8), random_fc(rng, 3, 6), Regression()])


def _loop_body(program):
    """Listing entries between LOOP and ENDLOOP of the run program, with their decoded instructions."""
    run = [e for e in program.listing if e.program == "run"]
    start = next(k for k, e in enumerate(run) if e.op == "loop")
    end = next(k for k, e in enumerate(run) if e.op == "endloop")
    return [(e, isa.decode(program.run_instructions[e.pc])) for e in run[start + 1:end]]


# ---- QFormat -------------------------------------------------------------------------------------
def test_qformat_rounds_half_up_and_saturates():
    q = QFormat(16, 12)
    assert str(q) == "s16f12" and (q.min, q.max) == (-32768, 32767)
    x = np.array([0.5, -0.5, 1.5, -1.5]) / 4096
    np.testing.assert_array_equal(q.quantize(x), [1, 0, 2, -1])  # floor(v + 0.5): ties toward +inf
    np.testing.assert_array_equal(q.quantize([100.0, -100.0, 8.0]), [32767, -32768, 32767])
    assert q.dequantize(q.quantize(1.25)) == 1.25 and q.quantize(1.0).dtype == np.int64


def test_qformat_for_range():
    assert QFormat.for_range(16, 4.0, 99).frac == 12          # 4·2^12 = 16384 fits, 4·2^13 does not
    assert QFormat.for_range(16, 0.9999999, 99).frac == 14    # rounds to 2^15 at frac 15
    assert QFormat.for_range(8, 0.3, 99).frac == 8            # 0.3·2^8 = 76.8 -> 77 <= 127
    assert QFormat.for_range(16, 1e-9, 20).frac == 20         # capped
    assert QFormat.for_range(16, 0.0, 7).frac == 7
    assert QFormat.for_range(16, 1e6, 99).frac == -5          # coarser than integers


# ---- lowering ------------------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", CONFIGS)
def test_each_lstm_layer_step_is_13_named_ops(cfg, stacked):
    program = compile(stacked, cfg)
    body = _loop_body(program)
    for layer in ("lstm_1", "lstm_2"):
        ops = [(e.op, op, f.get("func")) for e, (op, f) in body if e.layer == layer]
        assert [name for name, _, _ in ops] == [f"{layer}.{s}" for s in STEP_OPS]
        kinds = collections.Counter((op, func) for _, op, func in ops)
        assert kinds == {(Op.FC, None): 4, (Op.ACT, ActFunc.SIGMOID): 3, (Op.ACT, ActFunc.TANH): 2,
                         (Op.EW, EwFunc.MUL): 3, (Op.EW, EwFunc.ADD): 1}
    # sequence mode: the FC head and the output store are in the loop; the next step's input is
    # loaded inside layer 1's step, behind the output gate's activation (after the last FC)
    names = [e.op for e, _ in body]
    assert names.index("lstm_1.sigmoid_o") + 1 == names.index("sequenceinput.load_x_next") \
        == names.index("lstm_1.mul_h") - 1
    assert [e.op for e, _ in body if e.layer not in ("lstm_1", "lstm_2")] == [
        "sequenceinput.load_x_next", "fc_1.fc", "fc_2.fc", "fc_2.store_y"]
    assert program.step_op_counts() == {"LOAD": 1, "FC": 10, "ACT.SIGMOID": 6, "ACT.TANH": 4, "EW.MUL": 6,
                                        "EW.ADD": 2, "STORE": 1}


def test_run_program_shape(classifier):
    program = compile(classifier, INT16)
    ops = [e.op for e in program.listing if e.program == "run"]
    assert ops[:4] == ["lstm_1.load_h", "lstm_1.load_c", "sequenceinput.load_x", "loop"]
    assert ops[ops.index("endloop"):] == ["endloop", "fc_1.fc", "softmax.softmax", "softmax.store_y",
                                          "lstm_1.store_h", "lstm_1.store_c", "end"]
    decoded = [isa.decode(w) for w in program.run_instructions]
    loop = decoded[3][1]
    assert loop["func"] == isa.LoopCount.SEQ_LEN and loop["jump"] == ops.index("endloop") + 1
    h_addr = program.buffers["lstm_1.h"][0]
    for op, f in decoded:
        if op in (Op.LOAD, Op.STORE):
            assert f["cond"] == (1 if op == Op.STORE and f["base"] == 3 else 0)
    load_x = decoded[2][1]  # x_0 before the loop, x_{t+1} in step t
    assert (load_x["base"], load_x["ddr_offset"], load_x["stride"]) == (1, 0, 0)
    load_next = decoded[ops.index("sequenceinput.load_x_next")][1]
    row = program.input_row_bytes
    assert (load_next["base"], load_next["ddr_offset"], load_next["stride"], load_next["dst"]) == (
        1, row, row, load_x["dst"])
    store_y = decoded[ops.index("softmax.store_y")][1]
    assert (store_y["base"], store_y["stride"], store_y["length"]) == (2, 0, 9)
    softmax = decoded[ops.index("softmax.softmax")][1]  # on the processor, from the FC output slot
    assert softmax["func"] == isa.ActFunc.SOFTMAX and softmax["src0"] == program.buffers["fc_1.y"][0]
    assert store_y["src0"] == softmax["dst"] == program.buffers["softmax.p"][0]
    mul_h = decoded[ops.index("lstm_1.mul_h")][1]
    assert mul_h["dst"] == h_addr  # h is written straight into its slot of [x; h]
    assert program.deploy_instructions[-1] == isa.encode(Op.END)


def test_activation_vector_is_contiguous(stacked):
    program = compile(stacked, INT16)
    b = program.buffers
    assert b["x"] == (0, 12) and b["lstm_1.h"] == (12, 20) and b["lstm_2.h"] == (32, 8)
    fcs = {e.op: isa.decode(program.run_instructions[e.pc])[1] for e in program.listing if e.op.endswith(".wi")}
    assert (fcs["lstm_1.wi"]["src0"], fcs["lstm_1.wi"]["cols"]) == (0, 32)    # [x; h1]
    assert (fcs["lstm_2.wi"]["src0"], fcs["lstm_2.wi"]["cols"]) == (12, 28)   # [h1; h2]
    slots = sorted(b.values())
    assert all(a + n <= a2 for (a, n), (a2, _) in zip(slots, slots[1:]))  # no overlap


def test_run_program_does_not_depend_on_sequence_length(classifier, stacked):
    for net in (classifier, stacked):
        programs = [compile(net, INT16, max_sequence_length=t) for t in (1, 26, 1024)]
        assert all(p.run_instructions == programs[0].run_instructions for p in programs)
        assert all(p.deploy_instructions == programs[0].deploy_instructions for p in programs)
        sizes = [p.memory_map["EndOffset"] for p in programs]
        assert sizes[0] < sizes[1] < sizes[2]  # only the input/output areas grow


def test_listing_names_every_instruction(stacked):
    program = compile(stacked, INT16)
    assert [(e.program, e.pc) for e in program.listing] == (
        [("deploy", k) for k in range(len(program.deploy_instructions))]
        + [("run", k) for k in range(len(program.run_instructions))])
    for e in program.listing:
        words = program.deploy_instructions if e.program == "deploy" else program.run_instructions
        assert e.op and e.text == disassemble(words[e.pc])
        assert e.layer == "" or e.op.startswith(e.layer + ".")
        assert program.instruction_name(e.program, e.pc) == e.op
    text = program.listing_text()
    assert len(text.splitlines()) == len(program.listing) + 1 and "lstm_2.sigmoid_o" in text
    assert "past the end of the run program" in program.instruction_name("run", 999)


@pytest.mark.parametrize("cfg", [*CONFIGS, *(pytest.param(c, id=c.short_id()) for c in (
    ProcessorConfig(lanes=8, axi_data_bits=128), ProcessorConfig(lanes=4, axi_data_bits=32)))])
def test_memory_map_aligned_ordered_and_sized(cfg, classifier, stacked):
    for net in (classifier, stacked):
        p = compile(net, cfg, max_sequence_length=30)
        mm = p.memory_map
        assert list(mm) == REGIONS[:1] + ["RunInstructionDataOffset"] + REGIONS[1:]
        # the run program follows the deploy program directly (16-byte instructions are whole beats)
        assert mm["RunInstructionDataOffset"] == 16 * len(p.deploy_instructions)
        assert mm["RunInstructionDataOffset"] % max(16, cfg.beat_bytes) == 0
        offsets = [o for n, o in mm.items() if n != "RunInstructionDataOffset"]
        assert offsets[0] == 0 and all(o % REGION_ALIGN == 0 for o in offsets)
        assert offsets == sorted(set(offsets))
        size = {n: b - a for n, a, b in zip(REGIONS, offsets, offsets[1:])}
        assert size["InstructionDataOffset"] >= 16 * (len(p.deploy_instructions) + len(p.run_instructions))
        assert size["FCWeightDataOffset"] >= p.weight_words * cfg.word_bits // 8
        assert size["FCBiasDataOffset"] >= 4 * p.bias_entries
        assert size["StateDataOffset"] == size["StoredStateOffset"] >= p.state_layout.nbytes
        assert size["InputDataOffset"] >= 30 * p.input_row_bytes
        rows = 30 if net.output_mode == "sequence" else 1
        assert size["OutputResultOffset"] >= rows * p.output_row_bytes
        assert len(p.image) == mm["EndOffset"]
        assert p.input_row_bytes % cfg.beat_bytes == 0 and p.output_row_bytes % cfg.beat_bytes == 0
        for s in p.state_layout.slots:
            assert s.h_offset % cfg.beat_bytes == 0 and s.c_offset % cfg.beat_bytes == 0


def test_image_contents(rng, random_lstm, random_fc):
    h0, c0 = rng.uniform(-0.9, 0.9, 16), rng.uniform(-3, 3, 16)
    lstm = random_lstm(rng, 5, 16, hidden_state=h0, cell_state=c0)
    net = Network([SequenceInput(5), lstm, random_fc(rng, 3, 16)])
    p = compile(net, INT16)
    mm, cfg = p.memory_map, p.config
    img = p.image
    for name, words in (("InstructionDataOffset", p.deploy_instructions),
                        ("RunInstructionDataOffset", p.run_instructions)):
        assert isa.from_bytes(img[mm[name]:mm[name] + 16 * len(words)]) == words
    # weights: gate g of lstm_1 is [W_g | R_g], ceil(21/16) = 2 words per row, zero padded
    word = cfg.word_bits // 8
    wbuf = np.frombuffer(img[mm["FCWeightDataOffset"]:mm["FCWeightDataOffset"] + p.weight_words * word],
                         dtype="<i2").reshape(p.weight_words, cfg.lanes)
    for k, g in enumerate("ifgo"):
        rows = wbuf[k * 32:(k + 1) * 32].reshape(16, 32)
        expect = p.formats[f"lstm_1.w{g}"].quantize(
            np.hstack([lstm.input_weights, lstm.recurrent_weights])[k * 16:(k + 1) * 16])
        np.testing.assert_array_equal(rows[:, :21], expect)
        assert not rows[:, 21:].any()
    bias = np.frombuffer(img[mm["FCBiasDataOffset"]:mm["FCBiasDataOffset"] + 4 * p.bias_entries], dtype="<i4")
    np.testing.assert_array_equal(bias[16:32], p.formats["lstm_1.bf"].quantize(lstm.bias[16:32]))
    np.testing.assert_array_equal(bias[64:], p.formats["fc_1.b"].quantize(net.layers[2].bias))
    state = img[mm["StateDataOffset"]:mm["StoredStateOffset"]]
    assert img[mm["StoredStateOffset"]:mm["InputDataOffset"]] == state
    [(h, c)] = p.decode_state(state)
    np.testing.assert_allclose(h, h0, atol=2.0 ** -(p.formats["lstm_1.h"].frac + 1))
    np.testing.assert_allclose(c, c0, atol=2.0 ** -(p.formats["lstm_1.c"].frac + 1))
    assert p.encode_state([(h0, c0)]) == state


# ---- formats and shifts --------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", CONFIGS)
def test_shifts_follow_the_formats(cfg, classifier):
    p = compile(classifier, cfg)
    f = p.formats
    bits = cfg.data_bits
    assert f["x"] == QFormat.for_range(bits, DEFAULT_INPUT_RANGE, bits - 1)
    assert f["lstm_1.h"] == QFormat(bits, bits - 1)  # |h| < 1: its own, finest format
    assert f["lstm_1.gates"] == QFormat(bits, bits - 1)
    assert f["lstm_1.c"] == QFormat.for_range(bits, DEFAULT_CELL_RANGE, 99)
    fh = f["lstm_1.h"].frac
    assert f["lstm_1.bi"] == QFormat(32, f["lstm_1.wi"].frac + fh)  # the accumulator: the recurrent scale
    fields = {e.op: isa.decode(p.run_instructions[e.pc])[1] for e in p.listing if e.program == "run"}
    fx, fz, fc_, fg = f["x"].frac, f["lstm_1.z"].frac, f["lstm_1.c"].frac, bits - 1
    wg = fields["lstm_1.wg"]
    assert wg["shift0"] == f["lstm_1.wg"].frac + fh - fz
    # the input segment (x, 12 columns) is shifted up to the recurrent segment's scale
    assert wg["split"] == 12 and wg["shift1"] == (f["lstm_1.wg"].frac + fh) - (f["lstm_1.wg.in"].frac + fx) >= 0
    lut = cfg.lut_frac_bits + cfg.lut_range_log2 - (cfg.lut_depth.bit_length() - 1)
    assert (fields["lstm_1.sigmoid_i"]["shift0"], fields["lstm_1.sigmoid_i"]["shift1"]) == (lut + fz, fg)
    assert fields["lstm_1.tanh_g"]["shift0"] == lut + fz - 1
    assert fields["lstm_1.tanh_c"]["shift0"] == lut + fc_ - 1
    assert fields["lstm_1.mul_ig"]["shift2"] == 2 * fg - fc_
    assert fields["lstm_1.mul_fc"]["shift2"] == fg
    assert [fields["lstm_1.add_c"][k] for k in ("shift0", "shift1", "shift2")] == [0, 0, 0]
    assert fields["lstm_1.mul_h"]["shift2"] == 2 * fg - fh
    assert fields["fc_1.fc"]["shift0"] == f["fc_1.w"].frac + fh - f["fc_1.y"].frac
    assert fields["fc_1.fc"]["split"] == fields["fc_1.fc"]["shift1"] == 0
    assert p.output_format == f["softmax.p"] == QFormat(cfg.data_bits, cfg.data_bits - 1) and p.input_format == f["x"]


def test_act_shift_maps_the_table_range():
    """shift0 is chosen so that |x| = 2^r (the end of the table) lands on index L."""
    cfg = INT16
    for frac in (8, 11, 14):
        x = 1 << (cfg.lut_range_log2 + frac)
        for func, scale in ((ActFunc.SIGMOID, 1), (ActFunc.TANH, 2)):
            s0, _ = act_shifts(cfg, func, QFormat(32, frac), QFormat(16, 15))
            q = (x << (2 * cfg.lut_frac_bits)) >> s0
            assert q >> cfg.lut_frac_bits == scale * cfg.lut_depth


def test_calibration_sizes_formats(rng, random_lstm, random_fc):
    net = Network([SequenceInput(4), random_lstm(rng, 4, 8), random_fc(rng, 2, 8)])
    small = [0.1 * rng.normal(size=(10, 4)) for _ in range(3)]
    default = compile(net, INT16).formats
    calibrated = compile(net, INT16, calibration=small).formats
    assert calibrated["x"].frac == 15 > default["x"].frac                   # |x| << 1: h decides
    assert calibrated["lstm_1.c"].frac > default["lstm_1.c"].frac
    assert calibrated["lstm_1.z"].frac >= default["lstm_1.z"].frac
    assert compile(net, INT16, calibration=small[0]).formats["x"].frac == 15  # one sequence is accepted too


def test_bias_limits_the_weight_format(rng):
    """Tiny weights with a large bias: the weight frac drops so the bias fits int32."""
    fc = FullyConnected(2, weights=np.full((2, 4), 1e-3), bias=np.array([100.0, -100.0]))
    p = compile(Network([SequenceInput(4), fc]), INT16)
    wf, bf = p.formats["fc_1.w"], p.formats["fc_1.b"]
    assert bf.frac == wf.frac + p.formats["x"].frac
    assert bf.quantize(100.0) < 2 ** 31 - 1 and abs(bf.dequantize(bf.quantize(100.0)) - 100.0) < 1e-6
    assert wf.frac < QFormat.for_range(16, 1e-3, 32).frac


# ---- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("option, value, ops", [("state_activation", "softsign", ("softsign_g", "softsign_c")),
                                               ("gate_activation", "hard-sigmoid", ("hard_sigmoid_i", "hard_sigmoid_o"))])
def test_other_lstm_activations_lower_to_their_act_functions(rng, random_lstm, option, value, ops):
    net = Network([SequenceInput(4), random_lstm(rng, 4, 8), random_lstm(rng, 8, 8, **{option: value})])
    p = compile(net, INT16)
    funcs = {e.op: isa.decode(p.run_instructions[e.pc])[1]["func"] for e in p.listing if e.op.startswith("lstm_2.")
             and isa.decode(p.run_instructions[e.pc])[0] == Op.ACT}
    want = isa.ActFunc.SOFTSIGN if value == "softsign" else isa.ActFunc.HARD_SIGMOID
    assert all(funcs[f"lstm_2.{op}"] == want for op in ops)
    if value == "softsign":  # its table ends at 16: z and c are kept within it
        assert p.formats["lstm_2.z"].frac >= 11 and p.formats["lstm_2.c"].frac >= 11


def test_fc_before_lstm_rejected(rng, random_lstm, random_fc):
    net = Network([SequenceInput(4), random_fc(rng, 6, 4), random_lstm(rng, 6, 8)])
    with pytest.raises(CompileError, match="lstm_1: an LSTM after the FullyConnected layer fc_1"):
        compile(net, INT16)


@pytest.mark.parametrize("cfg, message", [
    (ProcessorConfig(zbuf_words=8), "activation buffer region Z: the network needs 144 elements (lstm_1.zi, "
                                    "lstm_1.zf, lstm_1.zg, lstm_1.zo, fc_1.y), the config has 128 (zbuf_words=8 x "
                                    "lanes=16)"),
    (ProcessorConfig(vbuf_words=4, lanes=8, axi_data_bits=64), "activation buffer region V: the network needs 44 "
                                                               "elements (x, lstm_1.h), the config has 32 "
                                                               "(vbuf_words=4 x lanes=8)"),
    (ProcessorConfig(wbuf_words=256), "weight buffer: the network needs 402 words of 16 weights, the config has "
                                      "wbuf_words=256"),
    (ProcessorConfig(bbuf_depth=128), "bias buffer: the network needs 137 entries, the config has bbuf_depth=128"),
    (ProcessorConfig(imem_depth=16), "instruction memory: the run program needs 25 instructions, the config has "
                                     "imem_depth=16"),
])
def test_resource_errors_name_need_and_capacity(classifier, cfg, message):
    with pytest.raises(CompileError, match=re.escape(message)):
        compile(classifier, cfg)


def test_impossible_shift_names_op_and_tensors():
    huge = LSTM(4, input_weights=np.full((16, 2), 1e6), recurrent_weights=np.zeros((16, 4)), bias=np.zeros(16))
    with pytest.raises(CompileError, match=r"lstm_1\.sigmoid_i: ACT shift0=-\d+ is outside 0\.\.32 for the "
                                           r"formats lstm_1\.z s16f-\d+, lstm_1\.gates s16f15"):
        compile(Network([SequenceInput(2), huge]), INT16)


def test_large_loads_are_split(rng, random_lstm):
    cfg = ProcessorConfig(lanes=4, wbuf_words=1 << 16, bbuf_depth=1024, zbuf_words=256, ebuf_words=512,
                          imem_depth=64)
    net = Network([SequenceInput(56), random_lstm(rng, 56, 200)])
    p = compile(net, cfg)
    assert p.weight_words == 800 * 64 > LOAD_CHUNK
    loads = [isa.decode(w)[1] for w in p.deploy_instructions[:-1]]
    weights = [f for f in loads if f["func"] == LoadTarget.WBUF]
    assert [(f["dst"], f["length"]) for f in weights] == [(0, LOAD_CHUNK), (LOAD_CHUNK, 800 * 64 - LOAD_CHUNK)]
    assert weights[1]["ddr_offset"] == p.memory_map["FCWeightDataOffset"] + LOAD_CHUNK * cfg.word_bits // 8


def test_compile_argument_errors(classifier):
    with pytest.raises(TypeError, match="expected a compiler.Network"):
        compile([SequenceInput(3)], INT16)
    with pytest.raises(TypeError, match="expected an rtl.ProcessorConfig"):
        compile(classifier, "int16")
    with pytest.raises(ValueError, match="max_sequence_length=0"):
        compile(classifier, INT16, max_sequence_length=0)
    # SEQ_LEN is 16 bits: a longer run would count modulo 2^16
    with pytest.raises(ValueError, match="max_sequence_length=65536: the processor runs at most 65,535 time steps"):
        compile(classifier, INT16, max_sequence_length=65536)


# ---- host-side helpers and report ----------------------------------------------------------------
def test_encode_input_and_decode_output(rng, random_lstm, random_fc):
    mean, std = rng.normal(size=3), rng.uniform(1, 2, size=3)
    net = Network([SequenceInput(3, normalization="zscore", mean=mean, std=std), random_lstm(rng, 3, 4),
                   random_fc(rng, 5, 4), Softmax()])
    p = compile(net, INT16, max_sequence_length=8)
    x = rng.normal(size=(6, 3))
    raw = p.encode_input(x)
    assert len(raw) == 6 * p.input_row_bytes == 6 * 8
    rows = np.frombuffer(raw, dtype="<i2").reshape(6, 4)
    np.testing.assert_array_equal(rows[:, :3], p.input_format.quantize((x - mean) / std))
    assert not rows[:, 3].any()
    for bad, message in ((np.zeros((6, 4)), r"input has shape \(6, 4\), expected \(T, 3\)"),
                         (np.zeros(3), r"input has shape \(3,\)"),
                         (np.zeros((9, 3)), "T=9 time steps, expected 1..8"),
                         (np.zeros((0, 3)), "T=0"),
                         (np.full((2, 3), np.nan), "non-finite")):
        with pytest.raises(ValueError, match=message):
            p.encode_input(bad)
    out = np.zeros((6, p.output_row_bytes // 2), dtype="<i2")
    out[:, :5] = p.output_format.quantize(np.arange(5.0) / 8)
    y = p.decode_output(out.tobytes(), 6)  # probabilities from the processor's softmax, dequantised
    assert y.shape == (6, 5) and p.output_format == QFormat(16, 15)
    np.testing.assert_array_equal(y, np.tile(np.arange(5.0) / 8, (6, 1)))
    with pytest.raises(ValueError, match="output has 10 bytes, 6 rows need 96"):
        p.decode_output(bytes(10), 6)


def test_registers_and_cycles(classifier, stacked):
    p = compile(classifier, INT16)
    mm = p.memory_map
    assert p.base_registers(0x1000) == {"BASE0": 0x1000, "BASE1": 0x1000 + mm["InputDataOffset"],
                                        "BASE2": 0x1000 + mm["OutputResultOffset"],
                                        "BASE3": 0x1000 + mm["StateDataOffset"]}
    assert p.base_registers(0, stored_state=True)["BASE3"] == mm["StoredStateOffset"]
    assert p.program_registers("run", 0x1000) == {"PROG_ADDR": 0x1000 + mm["RunInstructionDataOffset"],
                                                  "PROG_LEN": len(p.run_instructions)}
    assert p.KEEP_STATE_FLAG == 1
    assert p.ideal_cycles_per_step() == 4 * 32 * (12 + 32) / 16
    assert compile(stacked, INT16).ideal_cycles_per_step() == (4 * 20 * 32 + 4 * 8 * 28) / 16


def test_report_lists_layers_formats_and_memory_map(stacked):
    text = str(compile(stacked, INT16))
    for needle in ("lstm_1", "LSTM", "InputWeights 80x12", "RecurrentWeights 80x20", "20 x T", "fc_2",
                   "lstm_2.z", "s16f", "FC 10", "ACT.TANH 4", "Ideal FC cycles per time step: 216",
                   "InputDataOffset", "0x000000", "EndOffset", "Buffers: activations"):
        assert needle in text, needle

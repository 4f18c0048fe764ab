"""The instruction set definition (rtl/isa.py): encoding, field layout, the generated reference
docs/isa.md, the register map and the legality check."""
import itertools
import pathlib

import numpy as np
import pytest

from rtl import ProcessorConfig, isa
from rtl.interfaces import AxiLiteSlave
from rtl.isa import FIELDS, FORMATS, ActFunc, EwFunc, LoadTarget, LoopCount, Op

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = [pytest.param(c, id=c.short_id()) for c in (ProcessorConfig(), ProcessorConfig(data_type="int8"))]
OPS = [pytest.param(op, id=op.name) for op in Op]


def _bits(name: str) -> set[int]:
    f = FIELDS[name]
    return set(range(f.lsb, f.lsb + f.width))


def _random_fields(op: Op, rng: np.random.Generator) -> dict[str, int]:
    """Random values over each field's whole width, with 0 and the maximum mixed in."""
    out = {}
    for name in FORMATS[op][0]:
        mask = FIELDS[name].mask
        out[name] = int(rng.choice([0, mask, int(rng.integers(0, mask, endpoint=True))]))
    return out


# ---- encoding --------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", OPS)
def test_encode_decode_round_trip(op):
    rng = np.random.default_rng(int(op))
    words = []
    for _ in range(200):
        fields = _random_fields(op, rng)
        word = isa.encode(op, **fields)
        assert 0 <= word < 1 << isa.INSTR_BITS
        assert isa.decode(word) == (op, fields)
        words.append(word)
    assert isa.from_bytes(isa.to_bytes(words)) == words
    assert len(isa.to_bytes(words)) == len(words) * isa.INSTR_BITS // 8


@pytest.mark.parametrize("op", OPS)
def test_decode_returns_exactly_the_opcode_fields(op):
    """Bits of fields the opcode does not use are ignored, and absent fields read as 0."""
    assert isa.decode(isa.encode(op)) == (op, {name: 0 for name in FORMATS[op][0]})
    unused = set(range(isa.INSTR_BITS)) - _bits("opcode") - set().union(*[_bits(n) for n in FORMATS[op][0]])
    noise = sum(1 << b for b in unused)
    fields = _random_fields(op, np.random.default_rng(1))
    assert isa.decode(isa.encode(op, **fields) | noise) == (op, fields)


def test_decode_rejects_unknown_opcodes():
    for code in range(1 << FIELDS["opcode"].width):
        if code in {int(op) for op in Op}:
            continue
        with pytest.raises(ValueError, match=f"illegal opcode {code}"):
            isa.decode(code | (0x5A << 64))


@pytest.mark.parametrize("op", OPS)
def test_encode_rejects_unknown_and_unused_fields(op):
    with pytest.raises(ValueError, match="has no field 'bogus'"):
        isa.encode(op, bogus=1)
    for name in FIELDS:
        if name not in FORMATS[op][0]:
            with pytest.raises(ValueError, match=f"{op.name} has no field '{name}'"):
                isa.encode(op, **{name: 0})


@pytest.mark.parametrize("op", OPS)
def test_encode_rejects_out_of_range_values(op):
    for name in FORMATS[op][0]:
        f = FIELDS[name]
        assert isa.decode(isa.encode(op, **{name: f.mask}))[1][name] == f.mask
        for bad in (f.mask + 1, -1):
            with pytest.raises(ValueError, match=f"{op.name}.{name}={bad} does not fit in {f.width} bits"):
                isa.encode(op, **{name: bad})


def test_encode_accepts_enum_values():
    word = isa.encode(Op.ACT, func=ActFunc.TANH, length=3)
    assert isa.decode(word) == (Op.ACT, dict(func=1, dst=0, src0=0, length=3, shift0=0, shift1=0))


# ---- field layout ------------------------------------------------------------------------------------
def test_fields_fit_in_an_instruction():
    for f in FIELDS.values():
        assert f.width > 0 and f.lsb >= 0 and f.msb < isa.INSTR_BITS, f
    assert FIELDS["opcode"].lsb == 0 and max(Op) <= FIELDS["opcode"].mask
    for op, func_enum in ((Op.ACT, ActFunc), (Op.EW, EwFunc), (Op.LOAD, LoadTarget), (Op.LOOP, LoopCount)):
        assert "func" in FORMATS[op][0] and max(func_enum) <= FIELDS["func"].mask


def test_formats_name_known_fields_once():
    assert set(FORMATS) == set(Op)
    for op, (fields, kernel, doc) in FORMATS.items():
        assert len(set(fields)) == len(fields), op
        assert set(fields) <= set(FIELDS) - {"opcode"}, op
        assert kernel is None or isinstance(kernel, isa.Kernel)
        assert doc


def test_overlapping_fields_are_never_used_by_the_same_opcode():
    """Derived from FIELDS and FORMATS: within one opcode, no two fields share a bit. The layout
    does have aliases (e.g. waddr over src1, ddr_offset over cols and bias), so this is not vacuous."""
    overlapping = {frozenset((a, b)) for a, b in itertools.combinations(FIELDS, 2) if _bits(a) & _bits(b)}
    assert {frozenset(("waddr", "src1")), frozenset(("ddr_offset", "cols")),
            frozenset(("ddr_offset", "bias")), frozenset(("dst", "jump"))} <= overlapping
    for op, (fields, _, _) in FORMATS.items():
        used = set()
        for name in ("opcode",) + fields:
            clash = used & _bits(name)
            assert not clash, f"{op.name}: field {name} overlaps bits {sorted(clash)} of another field it uses"
            used |= _bits(name)


# ---- generated documentation -------------------------------------------------------------------------
def test_isa_md_is_current():
    text = (ROOT / "docs" / "isa.md").read_text()
    assert text == isa.markdown(), "docs/isa.md is stale: run `python -m rtl.isa > docs/isa.md`"


# ---- registers -----------------------------------------------------------------------------------------
def test_register_map():
    offsets = [r.offset for r in isa.REGISTERS.values()]
    assert len(set(offsets)) == len(offsets), "two registers share an offset"
    for r in isa.REGISTERS.values():
        assert r.offset % 4 == 0, f"{r.name} at 0x{r.offset:x} is not word aligned"
        assert 0 <= r.offset < 1 << AxiLiteSlave.ADDR_BITS, f"{r.name} is outside the AXI4-Lite window"
        assert r.access in ("rw", "ro", "wo"), r
        assert r.name == next(k for k, v in isa.REGISTERS.items() if v is r)
    assert set(isa.PERF_COUNTERS) <= set(isa.REGISTERS)
    assert {f"BUSY_{k.name}" for k in isa.Kernel} <= set(isa.REGISTERS)
    for name in isa.PERF_COUNTERS + ("STATUS", "HW_ID", "HW_CONFIG", "PC"):
        assert isa.REGISTERS[name].access == "ro", name


def test_status_fields():
    status = isa.STATUS_DONE | isa.STATUS_ERROR | (int(isa.ErrorCode.MISALIGNED) << 8)
    assert isa.status_fields(status) == (True, False, True, isa.ErrorCode.MISALIGNED)
    assert isa.status_fields(isa.STATUS_BUSY) == (False, True, False, isa.ErrorCode.NONE)
    assert isa.status_fields(0xEE << 8)[3] == 0xEE  # unknown codes come back as the number


# ---- legality --------------------------------------------------------------------------------------------
def _fields(op: Op, **values) -> dict:
    """All fields of op, zero unless given (as decode returns them)."""
    return isa.decode(isa.encode(op, **values))[1]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_check_legal_func_limits(cfg):
    for op, func_enum in ((Op.ACT, ActFunc), (Op.EW, EwFunc), (Op.LOAD, LoadTarget), (Op.LOOP, LoopCount)):
        for func in func_enum:
            assert isa.check_legal(op, _fields(op, func=func), cfg) is None, (op, func)
        for func in range(max(func_enum) + 1, FIELDS["func"].mask + 1):
            why = isa.check_legal(op, _fields(op, func=func), cfg)
            assert why == f"{op.name} has no func {func}", why


@pytest.mark.parametrize("cfg", CONFIGS)
def test_check_legal_shift_limits(cfg):
    limits = isa.field_limits(cfg)
    assert set(limits) == {(Op.FC, "shift0"), (Op.FC, "shift1"), (Op.ACT, "shift0"), (Op.ACT, "shift1"),
                           (Op.EW, "shift0"), (Op.EW, "shift1"), (Op.EW, "shift2")}
    assert limits[(Op.FC, "shift0")] == cfg.acc_bits - 1
    for (op, name), limit in limits.items():
        assert limit < FIELDS[name].mask, f"{op.name}.{name}: the field cannot express an illegal value"
        extra = dict(cols=1) if op == Op.FC else {}
        assert isa.check_legal(op, _fields(op, **{name: limit}, **extra), cfg) is None
        why = isa.check_legal(op, _fields(op, **{name: limit + 1}, **extra), cfg)
        assert why == f"{op.name}.{name}={limit + 1} exceeds {limit}", why
        assert isa.check_legal(op, _fields(op, **{name: FIELDS[name].mask}, **extra), cfg)


def test_check_legal_fc_needs_columns():
    cfg = ProcessorConfig()
    assert isa.check_legal(Op.FC, _fields(Op.FC, dst=10, length=2), cfg) == "FC.cols is 0"
    assert isa.check_legal(Op.FC, _fields(Op.FC, dst=10, length=2, cols=1), cfg) is None


@pytest.mark.parametrize("op, fields", [
    (Op.ACT, dict(dst=5, src0=5, length=9)),
    (Op.EW, dict(dst=5, src0=5, src1=40, length=9)),
    (Op.EW, dict(dst=5, src0=40, src1=5, length=9)),
    (Op.EW, dict(dst=5, src0=5, src1=5, length=9)),
    (Op.ACT, dict(dst=14, src0=5, length=9)),            # adjacent, no overlap
    (Op.ACT, dict(dst=0, src0=5, length=5)),             # adjacent below
    (Op.FC, dict(dst=8, src0=0, cols=8, length=3)),      # adjacent
    (Op.FC, dict(dst=0, src0=3, cols=8, length=3)),      # adjacent below
    (Op.ACT, dict(dst=6, src0=5, length=0)),             # empty ranges do not overlap
], ids=["act_in_place", "ew_in_place_src0", "ew_in_place_src1", "ew_square_in_place", "act_adjacent",
        "act_adjacent_below", "fc_adjacent", "fc_adjacent_below", "act_empty"])
def test_check_legal_accepts_exact_in_place_and_disjoint(op, fields):
    assert isa.check_legal(op, _fields(op, **fields), ProcessorConfig()) is None


@pytest.mark.parametrize("op, fields", [
    (Op.ACT, dict(dst=6, src0=5, length=9)),
    (Op.ACT, dict(dst=4, src0=5, length=9)),
    (Op.EW, dict(dst=6, src0=5, src1=40, length=9)),
    (Op.EW, dict(dst=5, src0=5, src1=8, length=9)),      # in place for src0, but overlaps src1 shifted
    (Op.EW, dict(dst=35, src0=0, src1=40, length=9)),
    (Op.FC, dict(dst=0, src0=0, cols=8, length=3)),      # FC is never in place
    (Op.FC, dict(dst=7, src0=0, cols=8, length=3)),
], ids=["act_dst_above", "act_dst_below", "ew_src0_shifted", "ew_src1_shifted", "ew_src1_tail", "fc_same_start",
        "fc_tail"])
def test_check_legal_rejects_partial_self_overlap(op, fields):
    why = isa.check_legal(op, _fields(op, **fields), ProcessorConfig())
    assert why is not None and f"{op.name} writes [" in why and "at another offset" in why, why


def test_access_ranges():
    assert isa.access_ranges(Op.FC, _fields(Op.FC, dst=50, src0=3, cols=7, length=4)) == ([(3, 10)], [(50, 54)])
    assert isa.access_ranges(Op.EW, _fields(Op.EW, dst=1, src0=2, src1=3, length=4)) == \
        ([(2, 6), (3, 7)], [(1, 5)])
    assert isa.access_ranges(Op.LOAD, _fields(Op.LOAD, func=LoadTarget.ABUF, dst=8, length=2)) == ([], [(8, 10)])
    assert isa.access_ranges(Op.LOAD, _fields(Op.LOAD, func=LoadTarget.WBUF, dst=8, length=2)) == ([], [])
    assert isa.access_ranges(Op.STORE, _fields(Op.STORE, src0=8, length=2)) == ([(8, 10)], [])
    for op in (Op.NOP, Op.END, Op.SYNC, Op.LOOP, Op.ENDLOOP):
        assert isa.access_ranges(op, _fields(op)) == ([], [])

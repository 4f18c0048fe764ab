"""The one processor configuration that feeds the RTL, the compiler and the golden model.

`ProcessorConfig` is frozen and validated at construction; every width in the design is derived
from it, so an int8 processor or one with more MAC lanes is a different config, not a code edit.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

DATA_TYPES = {"int16": 16, "int8": 8}
# The activation tables per data type: bits of a table value (unsigned Q0.V) and the default
# interpolation bits F. An int8 result has at most 7 fraction bits, so Q0.12 values leave 4 guard
# bits below it; F = 4 keeps every input bit of an int8 format with up to 8 fraction bits (the
# tables' finest step is 2^-6, sigmoid's 2^-4). With V + F = 16 the softmax unit's E and Q are 17
# bits, so each of its products is one 18x18 multiplier block (lanes 4, int8: 7,939 LUT4 and 17
# MULT18 against 8,314 and 20 with the int16 tables' 16 and 8).
LUT_VALUE_BITS = {"int16": 16, "int8": 12}
LUT_FRAC_BITS = {"int16": 8, "int8": 4}
AXI_DATA_WIDTHS = (32, 64, 128)


def _is_pow2(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def clog2(n: int) -> int:
    """Bits needed to address ``n`` items (ceil(log2(n)), at least 1)."""
    return max(1, (n - 1).bit_length())


@dataclasses.dataclass(frozen=True)
class ProcessorConfig:
    """Parameters of one LSTM processor instance.

    lanes          P: MAC lanes of the FC kernel and element lanes of every on-chip vector path.
    data_type      "int16" or "int8": width of activations and weights.
    vbuf_words     rows of the activation buffer's V region (vectors [x; h_1; ...]: P banks,
                   P-wide reads and writes at any element address), in rows of ``lanes`` elements.
    zbuf_words     rows of the Z region (FC results; P-wide accesses at row boundaries).
    ebuf_words     rows of the E region (element-wise operands and results; two read ports).
    wbuf_words     weight buffer depth, in words of ``lanes`` weights.
    bbuf_depth     bias buffer depth, in 32-bit entries (one per FC output row).
    imem_depth     instruction memory depth, in 128-bit instructions.
    lut_depth      L: entries of the element-wise tables (sigmoid, hard-sigmoid, softsign; tanh is
                   derived from sigmoid, see rtl/lut.py).
    lut_range_log2 r: the tables cover |x| in [0, 2**r]; beyond that the output saturates.
    lut_frac_bits  F: interpolation bits between two table entries; None (the default) takes
                   the data type's (LUT_FRAC_BITS: 8 for int16, 4 for int8).
    softsign_lut_depth  entries of the softsign table (its curvature at 0 needs a finer grid).
    exp_lut_depth  entries of the softmax unit's exp(-u) table (one copy, so it can be finer).
    axi_data_bits  data width of the AXI4 master (external memory).
    """

    lanes: int = 16
    data_type: str = "int16"
    vbuf_words: int = 256
    zbuf_words: int = 512
    ebuf_words: int = 512
    wbuf_words: int = 4096
    bbuf_depth: int = 1024
    imem_depth: int = 256
    lut_depth: int = 256
    lut_range_log2: int = 4
    lut_frac_bits: int | None = None
    softsign_lut_depth: int = 1024
    exp_lut_depth: int = 1024
    axi_data_bits: int = 64

    # Fixed by the architecture, not tunable: kept here so every consumer reads them from one place.
    AXI_ADDR_BITS = 32
    BIAS_BITS = 32

    def __post_init__(self):
        # integer parameters: numpy integers become ints; bools, floats and strings are errors
        # (True would pass as 1 and 64.0 would compare equal to 64, then break the widths)
        errors = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "data_type" or (value is None and f.name == "lut_frac_bits"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                errors.append(f"{f.name}={value!r}: expected an integer, got {type(value).__name__}")
            else:
                object.__setattr__(self, f.name, int(value))
        if errors:
            raise TypeError("invalid ProcessorConfig: " + "; ".join(errors))
        if not isinstance(self.data_type, str) or self.data_type not in DATA_TYPES:
            errors.append(f"data_type={self.data_type!r}: expected one of {sorted(DATA_TYPES)}")
        if self.lut_frac_bits is None:
            object.__setattr__(self, "lut_frac_bits", LUT_FRAC_BITS.get(self.data_type, LUT_FRAC_BITS["int16"])
                               if isinstance(self.data_type, str) else LUT_FRAC_BITS["int16"])
        if not _is_pow2(self.lanes) or not 4 <= self.lanes <= 64:
            errors.append(f"lanes={self.lanes!r}: expected a power of two from 4 to 64")
        if self.axi_data_bits not in AXI_DATA_WIDTHS:
            errors.append(f"axi_data_bits={self.axi_data_bits!r}: expected one of {AXI_DATA_WIDTHS}")
        for name, lo, hi in (("vbuf_words", 4, 1 << 14), ("zbuf_words", 4, 1 << 14), ("ebuf_words", 4, 1 << 14),
                             ("wbuf_words", 4, 1 << 16),
                             ("bbuf_depth", 4, 1 << 16), ("imem_depth", 8, 1 << 16),
                             ("lut_depth", 16, 1 << 12), ("softsign_lut_depth", 16, 1 << 14),
                             ("exp_lut_depth", 16, 1 << 14)):
            v = getattr(self, name)
            if not isinstance(v, int) or not _is_pow2(v) or not lo <= v <= hi:
                errors.append(f"{name}={v!r}: expected a power of two from {lo} to {hi}")
        if not isinstance(self.lut_range_log2, int) or not 1 <= self.lut_range_log2 <= 6:
            errors.append(f"lut_range_log2={self.lut_range_log2!r}: expected 1..6")
        if not isinstance(self.lut_frac_bits, int) or not 0 <= self.lut_frac_bits <= 12:
            errors.append(f"lut_frac_bits={self.lut_frac_bits!r}: expected 0..12")
        if not errors:
            if self.abuf_elements > (1 << 16):
                errors.append(f"the activation buffer's regions (vbuf_words={self.vbuf_words}, "
                              f"zbuf_words={self.zbuf_words}, ebuf_words={self.ebuf_words}, each at a multiple "
                              f"of its own size) end at element {self.abuf_elements}: element addresses are 16 "
                              "bits, at most 65536")
            if self.elems_per_beat > self.lanes:
                errors.append(f"axi_data_bits={self.axi_data_bits} carries {self.elems_per_beat} "
                              f"{self.data_type} elements per beat, more than lanes={self.lanes}")
            if self.word_bits % self.axi_data_bits:
                errors.append(f"a buffer word ({self.word_bits} bits) must be a whole number of AXI "
                              f"beats ({self.axi_data_bits} bits)")
            for name in ("lut_depth", "softsign_lut_depth", "exp_lut_depth"):
                if self.lut_range_log2 > clog2(getattr(self, name)):
                    errors.append(f"lut_range_log2={self.lut_range_log2} is too coarse for "
                                  f"{name}={getattr(self, name)}: need {name} >= 2**lut_range_log2")
        if errors:
            raise ValueError("invalid ProcessorConfig: " + "; ".join(errors))

    # ---- derived widths -------------------------------------------------------------------------
    @property
    def data_bits(self) -> int:
        return DATA_TYPES[self.data_type]

    @property
    def data_min(self) -> int:
        return -(1 << (self.data_bits - 1))

    @property
    def data_max(self) -> int:
        return (1 << (self.data_bits - 1)) - 1

    @property
    def acc_bits(self) -> int:
        """Accumulator width: a full-scale product plus 16 guard bits (65536 products)."""
        return 2 * self.data_bits + 16

    @property
    def word_bits(self) -> int:
        """Bits of one buffer word: ``lanes`` elements."""
        return self.lanes * self.data_bits

    @property
    def lane_bits(self) -> int:
        return clog2(self.lanes)

    @property
    def region_rows(self) -> dict[str, tuple[int, int]]:
        """Activation-buffer regions as name -> (first row, rows). Each region starts at a multiple
        of its own (power-of-two) size, so a row's place in its region is its low address bits
        and the hardware never subtracts a base; the gaps between regions are not addressable."""
        out, row = {}, 0
        for name, rows in (("V", self.vbuf_words), ("Z", self.zbuf_words), ("E", self.ebuf_words)):
            row = -(-row // rows) * rows
            out[name] = (row, rows)
            row += rows
        return out

    @property
    def abuf_elements(self) -> int:
        """Element addresses up to the end of the last region (gaps included)."""
        first, rows = self.region_rows["E"]
        return (first + rows) * self.lanes

    @property
    def elems_per_beat(self) -> int:
        return self.axi_data_bits // self.data_bits

    @property
    def beat_bytes(self) -> int:
        return self.axi_data_bits // 8

    @property
    def elem_bytes(self) -> int:
        return self.data_bits // 8

    @property
    def lut_value_bits(self) -> int:
        """V: the activation tables hold unsigned Q0.V values (LUT_VALUE_BITS: 16 for int16, 12 for int8)."""
        return LUT_VALUE_BITS[self.data_type]

    @property
    def lut_addr_bits(self) -> int:
        return clog2(self.lut_depth)

    def table_depth(self, function: str) -> int:
        """Entries of the table of an activation function (tanh uses the sigmoid table)."""
        return {"softsign": self.softsign_lut_depth, "exp": self.exp_lut_depth}.get(function, self.lut_depth)

    # ---- command lines ----------------------------------------------------------------------------
    @staticmethod
    def add_arguments(parser) -> None:
        """Add one --option per parameter to an argparse parser (defaults: the class defaults)."""
        group = parser.add_argument_group("processor configuration")
        for f in dataclasses.fields(ProcessorConfig):
            if f.default is None:  # taken from the data type (lut_frac_bits)
                group.add_argument("--" + f.name.replace("_", "-"), type=int, default=None, metavar=f.name.upper(),
                                   help="default: " + ", ".join(f"{v} for {t}" for t, v in LUT_FRAC_BITS.items()))
            else:
                group.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default,
                                   metavar=f.name.upper())

    @classmethod
    def from_arguments(cls, args) -> "ProcessorConfig":
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})

    # ---- identity -------------------------------------------------------------------------------
    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """Stable hash of the parameters: equal configs give equal fingerprints."""
        blob = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def short_id(self) -> str:
        """Short readable id for pytest ids and build folders, e.g. ``p16-int16``; parameters that
        differ from the defaults (of the config's data type) are appended."""
        parts = [f"p{self.lanes}", self.data_type]
        default = ProcessorConfig(data_type=self.data_type)
        for f in dataclasses.fields(self):
            if f.name not in ("lanes", "data_type") and getattr(self, f.name) != getattr(default, f.name):
                parts.append(f"{f.name}{getattr(self, f.name)}")
        return "-".join(parts)

    def fingerprint_word(self) -> int:
        """Value of the read-only HW_FINGERPRINT register."""
        return int(self.fingerprint()[:8], 16)

    def hw_config_word(self) -> int:
        """Value of the read-only HW_CONFIG register: lets a driver check it talks to this config."""
        return (self.lane_bits | (self.data_bits << 8) | (clog2(self.axi_data_bits) << 16)
                | (int(self.fingerprint()[:2], 16) << 24))

"""Interface bundles shared between blocks (MyHDL converts `bundle.sig` to `bundle_sig`).

Each class creates its own signals from the config, so a port's width is stated once."""
from __future__ import annotations

from myhdl import Signal, intbv

from . import isa
from .config import ProcessorConfig, clog2

ELEM_ADDR_BITS = 16


# Cycles from a read port's (en, region, addr) to its data, and from a write port's registers to
# the edge at whose end the write lands: see rtl/abuf.py.
READ_LATENCY = 4
WRITE_LATENCY = 2


class AbufReadPort:
    """A kernel's read port onto the activation buffer.

    en      a read is presented this cycle (a registered output of the kernel)
    region  isa.Region of the address (the kernel knows it from the instruction)
    addr    element address
    data    READ_LATENCY cycles after an enabled read, held otherwise: regions Z and E give the
            row holding addr (lane l = element addr - addr%P + l); region V (read by the FC and
            the DMA) gives the P elements addr..addr+P-1 in bank order: lane l holds the one
            that is l mod P (element addr + (l - addr) mod P). The FC kernel rotates its weights
            to meet it; the DMA takes an AXI beat's elements out of it (addr..addr+E-1 from V,
            E = elements per beat; from Z and E the beat (addr%P)/E of the row, so Z/E
            transfers are beat aligned).
    """

    def __init__(self, cfg: ProcessorConfig):
        self.en = Signal(bool(0))
        self.region = Signal(intbv(0)[2:])
        self.addr = Signal(intbv(0)[ELEM_ADDR_BITS:])
        self.data = Signal(intbv(0)[cfg.word_bits:])


class AbufWritePort:
    """A kernel's write port: `count` elements from element `addr`, written at the end of cycle
    k + WRITE_LATENCY when `en` (a registered output of the kernel) is high in cycle k, so a read
    presented in cycle k + WRITE_LATENCY or later sees them (a read presented in k + 1 reads the
    memory in the same cycle as the write lands, and sees the old contents). Data lane i goes to
    element addr+i in region V; in Z and E the row's lanes addr%P .. addr%P+count-1 take the same
    lanes of `data` (row aligned; lanes past the end of the row are dropped, which the compiler's
    layout rules never ask for). Writers of
    fewer than P elements replicate them across the word (a single element in every lane, an AXI
    beat in every beat position), which satisfies both conventions."""

    def __init__(self, cfg: ProcessorConfig):
        self.en = Signal(bool(0))
        self.region = Signal(intbv(0)[2:])
        self.addr = Signal(intbv(0)[ELEM_ADDR_BITS:])
        self.count = Signal(intbv(0, min=0, max=cfg.lanes + 1))
        self.data = Signal(intbv(0)[cfg.word_bits:])


class RamPort:
    """Simple dual-port RAM connection: one write port, one registered read port (latency 1)."""

    def __init__(self, depth: int, width: int):
        self.waddr = Signal(intbv(0)[clog2(depth):])
        self.wdata = Signal(intbv(0)[width:])
        self.we = Signal(bool(0))
        self.raddr = Signal(intbv(0)[clog2(depth):])
        self.rdata = Signal(intbv(0)[width:])


class Decoded:
    """Fields of the instruction being issued, registered in the issue unit's last stage
    (positions from rtl.isa.FIELDS), plus the region (isa.Region) of src0, src1 and dst and three
    predecoded facts (rtl.predecode.kernel_flags): fc_one_word (an FC's rows are one weight word
    each), one_row (length is 1) and one_vec (length is at most one word of lanes elements).
    Kernels latch the fields they need when their `start` is high."""

    def __init__(self):
        for f in isa.FIELDS.values():
            if f.name not in ("opcode", "jump", "waddr", "count"):  # aliases share a signal
                setattr(self, f.name, Signal(intbv(0)[f.width:]))
        self.opcode = Signal(intbv(0)[4:])
        self.src0_region = Signal(intbv(0)[2:])
        self.src1_region = Signal(intbv(0)[2:])
        self.dst_region = Signal(intbv(0)[2:])
        self.fc_one_word = Signal(bool(0))
        self.one_row = Signal(bool(0))
        self.one_vec = Signal(bool(0))


class KernelCtl:
    """Handshake between the issue unit and one kernel.

    start  in, one-cycle pulse: begin the instruction whose fields are on `Decoded` this cycle
    ready  out: the kernel takes a start this cycle (streaming kernels: the previous instruction is
           presenting its last word, or none is, a register computed a cycle ahead; the DMA: idle,
           or done this cycle)
    busy   out, high while an instruction is in flight: from the cycle after a start until its
           done (inclusive)
    done   out, one-cycle pulse per instruction, in order, in the cycle after its last buffer
           write's `en` (the write lands at the end of the next cycle, WRITE_LATENCY): an
           instruction started in the done cycle presents its first read in the next cycle, and
           reads the result
    done_soon  out: `done` is high in the next cycle, a register
    done_soon_next  out: `done_soon` of the next cycle, combinational from the kernel's registers
           (its done_soon register takes it). The issue unit registers what the dones mean for its
           scoreboard from these two, so its issue decision reads no kernel output
    """

    def __init__(self):
        self.start = Signal(bool(0))
        self.ready = Signal(bool(1))  # a kernel is ready out of reset (a register in the streaming kernels)
        self.busy = Signal(bool(0))
        self.done = Signal(bool(0))
        self.done_soon = Signal(bool(0))
        self.done_soon_next = Signal(bool(0))


class Axi4Master:
    """AXI4 master: single ID (0), INCR bursts. Directions are from the master's point of view."""

    def __init__(self, cfg: ProcessorConfig):
        a, d = cfg.AXI_ADDR_BITS, cfg.axi_data_bits
        # write address
        self.awid = Signal(intbv(0)[1:])
        self.awaddr = Signal(intbv(0)[a:])
        self.awlen = Signal(intbv(0)[8:])
        self.awsize = Signal(intbv(0)[3:])
        self.awburst = Signal(intbv(0)[2:])
        self.awvalid = Signal(bool(0))
        self.awready = Signal(bool(0))
        # write data
        self.wdata = Signal(intbv(0)[d:])
        self.wstrb = Signal(intbv(0)[d // 8:])
        self.wlast = Signal(bool(0))
        self.wvalid = Signal(bool(0))
        self.wready = Signal(bool(0))
        # write response
        self.bid = Signal(intbv(0)[1:])
        self.bresp = Signal(intbv(0)[2:])
        self.bvalid = Signal(bool(0))
        self.bready = Signal(bool(0))
        # read address
        self.arid = Signal(intbv(0)[1:])
        self.araddr = Signal(intbv(0)[a:])
        self.arlen = Signal(intbv(0)[8:])
        self.arsize = Signal(intbv(0)[3:])
        self.arburst = Signal(intbv(0)[2:])
        self.arvalid = Signal(bool(0))
        self.arready = Signal(bool(0))
        # read data
        self.rid = Signal(intbv(0)[1:])
        self.rdata = Signal(intbv(0)[d:])
        self.rresp = Signal(intbv(0)[2:])
        self.rlast = Signal(bool(0))
        self.rvalid = Signal(bool(0))
        self.rready = Signal(bool(0))

    OUTPUTS = ("awid", "awaddr", "awlen", "awsize", "awburst", "awvalid", "wdata", "wstrb", "wlast",
               "wvalid", "bready", "arid", "araddr", "arlen", "arsize", "arburst", "arvalid", "rready")


class AxiLiteSlave:
    """AXI4-Lite slave, 32-bit data. Directions are from the master's point of view."""

    ADDR_BITS = 8

    def __init__(self):
        self.awaddr = Signal(intbv(0)[self.ADDR_BITS:])
        self.awvalid = Signal(bool(0))
        self.awready = Signal(bool(0))
        self.wdata = Signal(intbv(0)[32:])
        self.wstrb = Signal(intbv(0)[4:])
        self.wvalid = Signal(bool(0))
        self.wready = Signal(bool(0))
        self.bresp = Signal(intbv(0)[2:])
        self.bvalid = Signal(bool(0))
        self.bready = Signal(bool(0))
        self.araddr = Signal(intbv(0)[self.ADDR_BITS:])
        self.arvalid = Signal(bool(0))
        self.arready = Signal(bool(0))
        self.rdata = Signal(intbv(0)[32:])
        self.rresp = Signal(intbv(0)[2:])
        self.rvalid = Signal(bool(0))
        self.rready = Signal(bool(0))

    OUTPUTS = ("awready", "wready", "bresp", "bvalid", "arready", "rdata", "rresp", "rvalid")

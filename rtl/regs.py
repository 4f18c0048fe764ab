"""AXI4-Lite control port: the register file of rtl/isa.py's REGISTERS and the performance counters."""
from __future__ import annotations

from myhdl import Signal, always_comb, always_seq, block, intbv, modbv

from . import isa
from .config import ProcessorConfig

@block
def control_regs(cfg: ProcessorConfig, clk, rst, axil, run_start, prog_dirty, prog_fetched, prog_addr,
                 prog_len, seq_len, base0, base1, base2, base3, flags, running, done, error, error_code,
                 pc, executed, busy_fc, busy_act, busy_ew, busy_dma, sat_inc, irq):
    """Register file behind the AXI4-Lite slave.

    Ports:
      clk, rst        clock; synchronous active-high reset (registers to 0, counters to 0)
      axil            AxiLiteSlave bundle; one transaction at a time per direction, OKAY responses
                      (reads of unmapped offsets return 0, writes to them are ignored)
      run_start       out, pulse: CTRL.START was written with 1
      prog_dirty      out, PROG_ADDR or PROG_LEN written since prog_fetched
      prog_fetched    in, pulse from the issue unit
      prog_addr ... flags   out, the read/write registers
      running, done, error, error_code, pc   in, status from the issue unit
      executed        in, pulse per executed instruction
      busy_*          in, per-kernel busy (registered, then counted every cycle: a count lags by a
                      cycle; kernels only work while running)
      sat_inc         in, saturated results of the previous cycle (registered in rtl/top.py)
      irq             out, STATUS.DONE & CTRL.IRQ_ENABLE
    Timing: write response 1 cycle after both AW and W are valid; read data 2 cycles after AR
    (ARREADY 1 cycle after ARVALID, RVALID the cycle after).
    START clears the counters, DONE and ERROR in the same cycle it is written.

    Latency: see Timing."""
    # offsets as plain constants: the converter needs names, not expressions on dicts
    A_BASE0 = isa.REGISTERS["BASE0"].offset
    A_BASE1 = isa.REGISTERS["BASE1"].offset
    A_BASE2 = isa.REGISTERS["BASE2"].offset
    A_BASE3 = isa.REGISTERS["BASE3"].offset
    A_BUSY_ACT = isa.REGISTERS["BUSY_ACT"].offset
    A_BUSY_DMA = isa.REGISTERS["BUSY_DMA"].offset
    A_BUSY_EW = isa.REGISTERS["BUSY_EW"].offset
    A_BUSY_FC = isa.REGISTERS["BUSY_FC"].offset
    A_CTRL = isa.REGISTERS["CTRL"].offset
    A_CYCLES = isa.REGISTERS["CYCLES"].offset
    A_FLAGS = isa.REGISTERS["FLAGS"].offset
    A_HW_CONFIG = isa.REGISTERS["HW_CONFIG"].offset
    A_HW_FINGERPRINT = isa.REGISTERS["HW_FINGERPRINT"].offset
    A_HW_ID = isa.REGISTERS["HW_ID"].offset
    A_INSTRS = isa.REGISTERS["INSTRS"].offset
    A_PC = isa.REGISTERS["PC"].offset
    A_PROG_ADDR = isa.REGISTERS["PROG_ADDR"].offset
    A_PROG_LEN = isa.REGISTERS["PROG_LEN"].offset
    A_SAT_COUNT = isa.REGISTERS["SAT_COUNT"].offset
    A_SEQ_LEN = isa.REGISTERS["SEQ_LEN"].offset
    A_STATUS = isa.REGISTERS["STATUS"].offset
    # the registers' widths (isa.Register.bits): writes keep those bits, the others read as 0
    PROG_LEN_BITS, SEQ_LEN_BITS, FLAGS_BITS = len(prog_len), len(seq_len), len(flags)
    for sig, name in ((prog_len, "PROG_LEN"), (seq_len, "SEQ_LEN"), (flags, "FLAGS")):
        assert len(sig) == isa.REGISTERS[name].bits, f"{name} of {len(sig)} bits"
    irq_en = Signal(bool(0))
    cycles, c_fc, c_act, c_ew, c_dma, c_instr, c_sat = [Signal(modbv(0)[32:]) for _ in range(7)]
    hw_config = cfg.hw_config_word()
    hw_fingerprint = cfg.fingerprint_word()

    @always_seq(clk.posedge, reset=rst)
    def write_channel():
        run_start.next = 0
        axil.awready.next = 0
        axil.wready.next = 0
        if prog_fetched:
            prog_dirty.next = 0
        if axil.bvalid:
            if axil.bready:
                axil.bvalid.next = 0
        elif axil.awvalid and axil.wvalid and not axil.awready:
            axil.awready.next = 1
            axil.wready.next = 1
            axil.bvalid.next = 1
            axil.bresp.next = 0
            a = axil.awaddr & 0xFC
            if a == A_CTRL:
                irq_en.next = axil.wdata[1]
                run_start.next = axil.wdata[0]
            elif a == A_PROG_ADDR:
                prog_addr.next = axil.wdata
                prog_dirty.next = 1
            elif a == A_PROG_LEN:
                prog_len.next = axil.wdata[PROG_LEN_BITS:]
                prog_dirty.next = 1
            elif a == A_SEQ_LEN:
                seq_len.next = axil.wdata[SEQ_LEN_BITS:]
            elif a == A_BASE0:
                base0.next = axil.wdata
            elif a == A_BASE1:
                base1.next = axil.wdata
            elif a == A_BASE2:
                base2.next = axil.wdata
            elif a == A_BASE3:
                base3.next = axil.wdata
            elif a == A_FLAGS:
                flags.next = axil.wdata[FLAGS_BITS:]
            else:
                pass  # unmapped or read-only: ignored

    # A read takes two cycles: the address is decoded into one select flag per register when AR
    # is accepted, and the data is the OR of the selected register the cycle after. With the
    # decode registered, the read data is an AND-OR of independent flags; decoded in the same
    # cycle, Yosys builds a mux tree over the address bits: this block alone (small config) was
    # 1,619 LUT4 (carry cells counted 2), 660 PFUMX and 393 L6MUX21, and is 611 LUT4 and 18 PFUMX.
    read_pending = Signal(bool(0))
    sel = Signal(intbv(0)[21:])
    read_word = Signal(intbv(0)[32:])
    hw_id = isa.HW_ID

    @always_seq(clk.posedge, reset=rst)
    def read_channel():
        axil.arready.next = 0
        read_pending.next = 0
        if axil.rvalid:
            if axil.rready:
                axil.rvalid.next = 0
        elif read_pending:
            axil.rvalid.next = 1
            axil.rresp.next = 0
            axil.rdata.next = read_word
        elif axil.arvalid and not axil.arready:
            axil.arready.next = 1
            read_pending.next = 1
            a = axil.araddr & 0xFC
            sel.next[0] = a == A_CTRL
            sel.next[1] = a == A_STATUS
            sel.next[2] = a == A_PROG_ADDR
            sel.next[3] = a == A_PROG_LEN
            sel.next[4] = a == A_SEQ_LEN
            sel.next[5] = a == A_BASE0
            sel.next[6] = a == A_BASE1
            sel.next[7] = a == A_BASE2
            sel.next[8] = a == A_BASE3
            sel.next[9] = a == A_FLAGS
            sel.next[10] = a == A_CYCLES
            sel.next[11] = a == A_BUSY_FC
            sel.next[12] = a == A_BUSY_ACT
            sel.next[13] = a == A_BUSY_EW
            sel.next[14] = a == A_BUSY_DMA
            sel.next[15] = a == A_INSTRS
            sel.next[16] = a == A_PC
            sel.next[17] = a == A_SAT_COUNT
            sel.next[18] = a == A_HW_CONFIG
            sel.next[19] = a == A_HW_ID
            sel.next[20] = a == A_HW_FINGERPRINT

    @always_comb
    def read_select():
        w = intbv(0)[32:]
        if sel[0]:
            w[:] = w | (irq_en << 1)
        if sel[1]:
            w[:] = w | ((error_code << 8) | (error << 2) | (running << 1) | done)
        if sel[2]:
            w[:] = w | (prog_addr)
        if sel[3]:
            w[:] = w | (prog_len)
        if sel[4]:
            w[:] = w | (seq_len)
        if sel[5]:
            w[:] = w | (base0)
        if sel[6]:
            w[:] = w | (base1)
        if sel[7]:
            w[:] = w | (base2)
        if sel[8]:
            w[:] = w | (base3)
        if sel[9]:
            w[:] = w | (flags)
        if sel[10]:
            w[:] = w | (cycles)
        if sel[11]:
            w[:] = w | (c_fc)
        if sel[12]:
            w[:] = w | (c_act)
        if sel[13]:
            w[:] = w | (c_ew)
        if sel[14]:
            w[:] = w | (c_dma)
        if sel[15]:
            w[:] = w | (c_instr)
        if sel[16]:
            w[:] = w | (pc)
        if sel[17]:
            w[:] = w | (c_sat)
        if sel[18]:
            w[:] = w | (hw_config)
        if sel[19]:
            w[:] = w | (hw_id)
        if sel[20]:
            w[:] = w | (hw_fingerprint)
        read_word.next = w

    # the kernels' busy flags registered where they arrive: each crosses the die from its kernel,
    # and a counter's adder behind that net was the design's critical path (ACT in-flight count
    # -> busy -> BUSY_ACT, 9.74 ns). A count then lags its kernel by one cycle; the totals are the
    # same, since the run's DONE comes at least a cycle after the last kernel's done.
    busy_fc_r, busy_act_r, busy_ew_r, busy_dma_r = [Signal(bool(0)) for _ in range(4)]

    @always_seq(clk.posedge, reset=rst)
    def busy_in():
        busy_fc_r.next = busy_fc
        busy_act_r.next = busy_act
        busy_ew_r.next = busy_ew
        busy_dma_r.next = busy_dma

    @always_seq(clk.posedge, reset=rst)
    def counters():
        if run_start:
            cycles.next = 0
            c_fc.next = 0
            c_act.next = 0
            c_ew.next = 0
            c_dma.next = 0
            c_instr.next = 0
            c_sat.next = 0
        else:
            cycles.next = cycles + running
            c_fc.next = c_fc + busy_fc_r
            c_act.next = c_act + busy_act_r
            c_ew.next = c_ew + busy_ew_r
            c_dma.next = c_dma + busy_dma_r
            c_instr.next = c_instr + executed
            c_sat.next = c_sat + sat_inc

    @always_comb
    def interrupt():
        irq.next = done and irq_en

    return write_channel, read_channel, read_select, busy_in, counters, interrupt

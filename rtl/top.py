"""The processor top level, and the simulation top that adds an HDL clock."""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, delay, instance, intbv

from . import isa
from .abuf import abuf
from .act_kernel import act_kernel
from .config import ProcessorConfig
from .dma import dma
from .ew_kernel import ew_kernel
from .fc_kernel import fc_kernel
from .interfaces import AbufReadPort, AbufWritePort, Decoded, KernelCtl, RamPort
from .issue import issue_unit
from .predecode import imem_predecode, layout
from .primitives import pipelined_ram, ram
from .regs import control_regs
from .trace import retire_trace


@block
def processor(cfg: ProcessorConfig, clk, rst, m_axi, s_axil, irq, trace=None):
    """LSTM processor.

    Ports:
      clk     clock, all logic on its rising edge
      rst     synchronous, active-high reset: registers and counters to 0, kernels idle; buffer
              and instruction memory contents are kept (they are RAMs)
      m_axi   Axi4Master to external memory (programs, weights, inputs, outputs, state)
      s_axil  AxiLiteSlave, the register map of docs/isa.md
      irq     level interrupt: STATUS.DONE and CTRL.IRQ_ENABLE
      trace   optional rtl.trace.TracePort (out): a retire record per completed instruction and
              kernel, for verification; None leaves the trace logic out (synthesis)
    Latency: see docs/architecture.md (per-kernel timing) and the golden model's cycle model.
    """
    # register file
    run_start, prog_dirty, prog_fetched = [Signal(bool(0)) for _ in range(3)]
    prog_addr = Signal(intbv(0)[32:])
    prog_len = Signal(intbv(0)[isa.REGISTERS["PROG_LEN"].bits:])
    seq_len = Signal(intbv(0)[isa.SEQ_LEN_BITS:])
    bases = [Signal(intbv(0)[32:]) for _ in range(4)]
    flags = Signal(intbv(0)[isa.REGISTERS["FLAGS"].bits:])
    # issue unit status
    running, done, error, executed = [Signal(bool(0)) for _ in range(4)]
    error_code = Signal(intbv(0)[8:])
    pc = Signal(intbv(0)[16:])
    issue_pc = Signal(intbv(0)[16:])
    loop_t = Signal(intbv(0)[isa.SEQ_LEN_BITS:])
    # issue <-> dma fetch path (through the instruction predecoder)
    fetch_start, fetch_done, dma_err = [Signal(bool(0)) for _ in range(3)]
    fetch_done_d, fetch_err_d = Signal(bool(0)), Signal(bool(0))
    fetch_addr = Signal(intbv(0)[32:])
    fetch_len = Signal(intbv(0)[16:])
    dma_err_code = Signal(intbv(0)[8:])
    # kernels, buffers
    dec = Decoded()
    ctl_fc, ctl_act, ctl_ew, ctl_dma = [KernelCtl() for _ in range(4)]
    rd_fc, rd_act, rd_ewa, rd_ewb, rd_dma = [AbufReadPort(cfg) for _ in range(5)]
    wr_fc, wr_act, wr_ew, wr_dma = [AbufWritePort(cfg) for _ in range(4)]
    wram = RamPort(cfg.wbuf_words, cfg.word_bits)
    bram = RamPort(cfg.bbuf_depth, cfg.BIAS_BITS)
    dma_iram = RamPort(cfg.imem_depth, isa.INSTR_BITS)      # the DMA's side of the predecoder
    iram = RamPort(cfg.imem_depth, layout(cfg).width)       # instruction + predecoded fields
    fc_sat = Signal(bool(0))
    ew_sat = Signal(intbv(0, min=0, max=cfg.lanes + 1))
    sat_inc = Signal(intbv(0, min=0, max=cfg.lanes + 2))

    @always(clk.posedge)
    def saturations():
        # registered: the kernels' saturation pulses cross the die to SAT_COUNT's adder, and
        # behind FC's saturation test that net was the critical path (FC tq -> fc_sat, 7.43 ns,
        # 6.1 ns of it routing). SAT_COUNT then lags by a cycle more; its total is the same,
        # since the run's DONE comes cycles after the last write's pulse (no reset: the
        # counters are cleared by START, in a cycle in which no kernel writes)
        sat_inc.next = fc_sat + ew_sat

    traced = [] if trace is None else [
        retire_trace(cfg, clk, rst, run_start, issue_pc, loop_t, (ctl_fc, ctl_act, ctl_ew, ctl_dma),
                     (wr_fc, wr_act, wr_ew, wr_dma), trace)]
    return traced + [
        control_regs(cfg, clk, rst, s_axil, run_start, prog_dirty, prog_fetched, prog_addr, prog_len, seq_len,
                     *bases, flags, running, done, error, error_code, pc, executed, ctl_fc.busy, ctl_act.busy,
                     ctl_ew.busy, ctl_dma.busy, sat_inc, irq),
        issue_unit(cfg, clk, rst, run_start, prog_dirty, prog_addr, prog_len, seq_len, flags, fetch_start,
                   fetch_addr, fetch_len, fetch_done_d, fetch_err_d, dma_err, dma_err_code, prog_fetched,
                   iram.raddr, iram.rdata, dec, ctl_fc, ctl_act, ctl_ew, ctl_dma, loop_t, running, done, error,
                   error_code, pc, executed, issue_pc),
        dma(cfg, clk, rst, ctl_dma, dec, loop_t, *bases, fetch_start, fetch_addr, fetch_len, fetch_done, rd_dma,
            wr_dma, wram, bram, dma_iram, dma_err, dma_err_code, m_axi),
        imem_predecode(cfg, clk, rst, dma_iram, iram, fetch_done, dma_err, fetch_done_d, fetch_err_d),
        fc_kernel(cfg, clk, rst, ctl_fc, dec, rd_fc, wr_fc, wram, bram, fc_sat),
        act_kernel(cfg, clk, rst, ctl_act, dec, rd_act, wr_act),
        ew_kernel(cfg, clk, rst, ctl_ew, dec, rd_ewa, rd_ewb, wr_ew, ew_sat),
        abuf(cfg, clk, rd_fc, rd_act, rd_ewa, rd_ewb, rd_dma, wr_fc, wr_act, wr_ew, wr_dma),
        pipelined_ram(clk, wram, cfg.wbuf_words),
        ram(clk, bram, cfg.bbuf_depth),
        ram(clk, iram, cfg.imem_depth),
        saturations,
    ]


@block
def clock_gen(clk, half_period_ns: int):
    """Free-running clock generated in the HDL, so the simulator, not Python, toggles it.

    Ports: clk (out). Period 2*half_period_ns (timescale 1 ns). Starts low.

    Latency: none (a source). Reset: none, it runs from time 0."""

    @instance
    def toggle():
        clk.next = 0  # assign once first, or Icarus keeps the clock at X
        while True:
            yield delay(half_period_ns)
            clk.next = not clk

    return toggle


@block
def processor_sim(cfg: ProcessorConfig, clk, rst, m_axi, s_axil, irq, half_period_ns: int = 5, trace=None):
    """Simulation top: the processor plus an HDL clock (clk is an output for the testbench).

    Ports: as `processor`, except clk is driven here. rst is driven by the testbench.

    Latency and reset: as `processor`."""
    return clock_gen(clk, half_period_ns), processor(cfg, clk, rst, m_axi, s_axil, irq, trace)

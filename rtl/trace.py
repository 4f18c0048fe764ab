"""Retire trace: one record per completed instruction and kernel, for verification and debugging
(like RISC-V's RVFI). Part of the simulation builds (rtl/convert.py), left out of synthesis
unless asked for: nothing else in the processor reads it.

Each kernel (FC, ACT, EW, DMA) has its own record, since several kernels can finish in the same
cycle. When an instruction of the kernel is done, the record takes

    seq     a count of the kernel's records (mod 256): it changes with every record, so a
            monitor waits for a change of `seq` and then reads the other fields
    pc      the instruction's program counter
    t       the loop index it ran with (0 outside loops)
    issue   the cycle it started (the kernel's `start`), counted from the cycle after CTRL.START
    done    the cycle of its `done`
    sig     the kernel's write signature after it: the sum, mod 2**32, over every activation-buffer
            element the kernel has written since START, of element_address * 2**16 + the
            element's bits (two's complement, data_bits wide). Its value after instruction k
            covers exactly the writes of the kernel's instructions up to k, because a kernel's
            `done` comes in the cycle after its last write's `en` and the next instruction's
            first write's `en` comes no earlier than that `done` (rtl/interfaces.py KernelCtl).
            A sum over elements does not depend on how a kernel splits its writes into words.
"""
from __future__ import annotations

from myhdl import Signal, always, always_comb, block, intbv, modbv

from .config import ProcessorConfig

KERNELS = ("fc", "act", "ew", "dma")
CYCLE_BITS = 32
SIG_BITS = 32
FIFO_DEPTH = 3  # two in flight per streaming kernel, and a start in the cycle of a done


class TracePort:
    """The retire records of the four kernels: `<kernel>_<field>` (see the module docstring)."""

    FIELDS = (("seq", 8), ("pc", 16), ("t", 16), ("issue", CYCLE_BITS), ("done", CYCLE_BITS), ("sig", SIG_BITS))

    def __init__(self, cfg: ProcessorConfig):
        for k in KERNELS:
            for name, bits in self.FIELDS:
                setattr(self, f"{k}_{name}", Signal(intbv(0)[bits:]))

    def kernel(self, k: str) -> list:
        return [getattr(self, f"{k}_{name}") for name, _ in self.FIELDS]

    def outputs(self) -> list[str]:
        return [f"{k}_{name}" for k in KERNELS for name, _ in self.FIELDS]


@block
def write_signature(cfg: ProcessorConfig, clk, run_start, wr, sig):
    """Accumulates a kernel's activation-buffer writes into `sig` (see the module docstring).

    Ports: clk; run_start (in, pulse: clears sig); wr (in, the kernel's AbufWritePort); sig (out,
    SIG_BITS, a modbv register). Latency: a write whose `en` is high in cycle k is in sig from cycle
    k + 1. Reset: none beyond run_start (the trace is meaningful from a START on)."""
    p, db = cfg.lanes, cfg.data_bits
    assert len(wr.data) == p * db and len(sig) == SIG_BITS
    LANE_MASK = p - 1
    REGION_V = 0
    terms = Signal(modbv(0)[SIG_BITS:])

    @always_comb
    def lanes():
        total = modbv(0)[SIG_BITS:]
        first = intbv(0)[16:]
        row = intbv(0)[16:]
        # region V: lane l holds element addr + l; Z and E: lane l holds element row + l, for the
        # lanes addr % P .. addr % P + count - 1
        if wr.region == REGION_V:
            first[:] = 0
            row[:] = wr.addr
        else:
            first[:] = wr.addr & LANE_MASK
            row[:] = wr.addr - (wr.addr & LANE_MASK)
        total[:] = 0
        for lane in range(p):
            lo = lane * db  # `data[lo + db:lo]` converts to an indexed part-select, data[lo+:db]
            if first <= lane and lane < first + wr.count:
                total[:] = total + ((row + lane) << 16) + wr.data[lo + db:lo]
        terms.next = total

    @always(clk.posedge)
    def accumulate():
        if run_start:
            sig.next = 0
        elif wr.en:
            sig.next = sig + terms  # a modbv: wraps mod 2**32 (a `% (1 << 32)` converts to % 0)

    return lanes, accumulate


@block
def kernel_trace(clk, rst, run_start, cycle, issue_pc, loop_t, ctl, sig, seq, pc, t, issue, done, sig_out):
    """The retire record of one kernel.

    Ports: clk; rst (in: clears seq); run_start (in, pulse: empties the queue); cycle (in, the trace's cycle count);
    issue_pc, loop_t (in: pc and loop index of the instruction in the issue stage, valid with a
    `start`); ctl (in, the kernel's KernelCtl: start, done); sig (in, the kernel's write
    signature); seq, pc, t, issue, done, sig_out (out, registers: the record).
    The kernel's instructions in flight wait in a queue of FIFO_DEPTH entries (pc, t, start
    cycle); a `done` takes the oldest. Latency: the record changes at the end of the done cycle.
    Reset: none beyond run_start."""
    q_pc = [Signal(intbv(0)[len(pc):]) for _ in range(FIFO_DEPTH)]
    q_t = [Signal(intbv(0)[len(t):]) for _ in range(FIFO_DEPTH)]
    q_issue = [Signal(intbv(0)[len(issue):]) for _ in range(FIFO_DEPTH)]
    count = Signal(intbv(0, min=0, max=FIFO_DEPTH + 1))

    @always(clk.posedge)
    def queue():
        if rst:
            seq.next = 0
        if run_start:
            count.next = 0
        else:
            if ctl.done:
                seq.next = (seq + 1) % 256
                pc.next = q_pc[0]
                t.next = q_t[0]
                issue.next = q_issue[0]
                done.next = cycle
                sig_out.next = sig
                for i in range(FIFO_DEPTH - 1):
                    q_pc[i].next = q_pc[i + 1]
                    q_t[i].next = q_t[i + 1]
                    q_issue[i].next = q_issue[i + 1]
            if ctl.start:
                # the new entry goes behind the last one still queued after this cycle's done
                if ctl.done:
                    q_pc[count - 1].next = issue_pc
                    q_t[count - 1].next = loop_t
                    q_issue[count - 1].next = cycle
                else:
                    q_pc[count].next = issue_pc
                    q_t[count].next = loop_t
                    q_issue[count].next = cycle
            if ctl.start and not ctl.done:
                count.next = count + 1
            elif ctl.done and not ctl.start:
                count.next = count - 1

    return queue


@block
def retire_trace(cfg: ProcessorConfig, clk, rst, run_start, issue_pc, loop_t, ctls, wrs, trace):
    """Retire records of the four kernels (see the module docstring).

    Ports: clk; rst (in, synchronous: clears the records' seq); run_start (in, pulse: CTRL.START); issue_pc, loop_t (in, from the issue unit);
    ctls (in, KernelCtl of FC, ACT, EW, DMA); wrs (in, their AbufWritePorts); trace (out,
    TracePort). Latency: a record appears at the end of its instruction's done cycle.
    Reset: rst clears the records' seq; the cycle count restarts at run_start."""
    cycle = Signal(modbv(0)[CYCLE_BITS:])

    @always(clk.posedge)
    def count_cycles():
        if run_start:
            cycle.next = 0
        else:
            cycle.next = cycle + 1

    insts = [count_cycles]
    for k, ctl, wr in zip(KERNELS, ctls, wrs):
        sig = Signal(modbv(0)[SIG_BITS:])
        insts.append(write_signature(cfg, clk, run_start, wr, sig))
        insts.append(kernel_trace(clk, rst, run_start, cycle, issue_pc, loop_t, ctl, sig, *trace.kernel(k)))
    return insts

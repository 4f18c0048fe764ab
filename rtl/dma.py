"""DMA kernel and AXI4 master: bursts between external memory and the on-chip buffers."""
from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, enum, intbv, modbv

from . import isa
from .config import ProcessorConfig, clog2
from .interfaces import READ_LATENCY

INSTR_BYTES = isa.INSTR_BITS // 8
REGION_V = int(isa.Region.V)


@block
def dma(cfg: ProcessorConfig, clk, rst, ctl, dec, loop_t, base0, base1, base2, base3,
        fetch_start, fetch_addr, fetch_len, fetch_done, rd, wr, wram, bram, iram, err, err_code,
        axi):
    """Executes LOAD and STORE, and fetches programs into the instruction memory.

    Ports:
      clk, rst         clock; synchronous active-high reset (abandons a transfer: reset the
                       external memory too)
      ctl              KernelCtl for LOAD/STORE: start in; ready, busy, done, done_soon out
      dec              Decoded fields sampled at start: opcode, func (LOAD target), dst, src0,
                       length, ddr_offset, stride, base
      loop_t           in, loop index t at start; base0..3 in, the base registers
      fetch_start      in, pulse: copy fetch_len instructions from fetch_addr into imem
      fetch_done       out, pulse when the fetch has finished (with err if it failed)
      rd, wr           AbufReadPort (STORE source: V in bank order or a Z/E row, from which W_LATCH
                       takes the beat's elements) and AbufWritePort (LOAD destination)
      wram, bram, iram RamPort write sides of the weight, bias and instruction memories
      err, err_code    out: pulse with done/fetch_done when the transfer failed, and why
                       (isa.ErrorCode.MISALIGNED or AXI_ERROR)
      axi              Axi4Master bundle
    Timing: the external address BASE[base] + ddr_offset + t*stride takes 3 cycles (a registered
    multiplier block, the addition, a register); each burst's length takes a cycle (4 KB boundary and
    beats left, registered); one burst in flight; reads take one beat per cycle
    into the activation buffer (each beat replicated across the write port's word), weight and
    instruction memories and 1 + 32-bit entries per beat cycles into the bias buffer; writes take
    READ_LATENCY + 2 cycles per beat (the activation buffer's read latency) plus the write response. Bursts are
    INCR, at most 256 beats, and do not cross 4 KB boundaries. done comes at least a cycle after
    the last buffer write's en (KernelCtl.done).

    Latency: see Timing; CycleModel._read_cycles/_write_cycles give the exact counts.
    Reset: synchronous, back to IDLE (the address products, read only after ADDR1 writes them,
    have none)."""
    p, w = cfg.lanes, cfg.data_bits
    axb = cfg.axi_data_bits
    beat_shift = clog2(cfg.beat_bytes)
    e = cfg.elems_per_beat
    e_shift = clog2(e) if e > 1 else 0
    epb = axb // cfg.BIAS_BITS  # bias entries per beat
    epb_shift = clog2(epb) if epb > 1 else 0
    bpw_shift = clog2(cfg.word_bits // axb) if cfg.word_bits > axb else 0  # beats per weight word
    bpi_shift = clog2(isa.INSTR_BITS // axb) if isa.INSTR_BITS > axb else 0  # beats per instruction
    pk = max(cfg.word_bits, isa.INSTR_BITS)
    fetch_align_mask = max(INSTR_BYTES, cfg.beat_bytes) - 1
    assert len(axi.rdata) == axb and len(wram.wdata) == cfg.word_bits and len(iram.wdata) == isa.INSTR_BITS

    # ISA constants as plain names: the converter cannot evaluate enum attributes
    ERRORCODE_AXI_ERROR = int(isa.ErrorCode.AXI_ERROR)
    ERRORCODE_MISALIGNED = int(isa.ErrorCode.MISALIGNED)
    LOADTARGET_BBUF = int(isa.LoadTarget.BBUF)
    LOADTARGET_WBUF = int(isa.LoadTarget.WBUF)
    OP_LOAD = int(isa.Op.LOAD)
    OP_STORE = int(isa.Op.STORE)
    State = enum("IDLE", "ADDR1", "ADDR2", "ADDR3", "SIZE", "CHECK", "AR", "R", "DRAIN", "AW", "W_READ", "W_WAIT",
                 "W_LATCH", "W_SEND", "B", "FINISH")
    state = Signal(State.IDLE)
    wait_cnt = Signal(intbv(0, min=0, max=max(READ_LATENCY - 1, 1)))  # STORE: cycles left to the data
    T_ABUF, T_WBUF, T_BBUF, T_IMEM = 0, 1, 2, 3
    target = Signal(intbv(0)[2:])
    is_store = Signal(bool(0))
    is_fetch = Signal(bool(0))
    addr = Signal(modbv(0)[32:])
    base_sel = Signal(intbv(0)[32:])
    # beats of one transfer: at most 65535 weight words or instructions of 2^shift beats each
    beats_bits = 16 + max(bpw_shift, bpi_shift)
    beats_left = Signal(intbv(0)[beats_bits:])
    burst = Signal(intbv(0, min=0, max=257))
    cur_burst = Signal(intbv(0, min=0, max=257))
    burst_r = Signal(intbv(0, min=0, max=257))
    to_boundary = Signal(intbv(0, min=0, max=4096 + 1))
    beat_in_burst = Signal(intbv(0)[9:])
    left = Signal(intbv(0, min=-(1 << 17), max=1 << 17))  # elements/entries still to move
    ptr = Signal(intbv(0)[16:])
    pack = Signal(intbv(0)[pk:])
    pack_next = Signal(intbv(0)[pk:])
    pack_cnt = Signal(intbv(0)[6:])
    hold = Signal(intbv(0)[axb:])
    hold_cnt = Signal(intbv(0, min=0, max=epb + 1))
    # rready split by target, registered: rready_to[X] == rready and target == X at all times
    # (target only changes in IDLE, where rready is 0), and rready implies state R, so a beat's
    # consumers need only rvalid and their own bit (no state decode, no shared far-away LUT)
    rready_to = Signal(intbv(0)[4:])  # bit X: rready and target == X (T_ABUF, T_WBUF, T_BBUF, T_IMEM)
    target_bit = Signal(intbv(0)[4:])  # target one-hot, registered (target holds still from IDLE on)
    # pack_last: the next packed beat completes a word (pack_cnt == pack_lim, that target's beats
    # per word - 1), set with pack_cnt on a beat and recomputed from pack_cnt in any other cycle
    pack_last = Signal(bool(0))
    pack_lim = Signal(intbv(0)[6:])
    # ptr and left steps by target, registered from target (a cycle late: no transfer moves ptr
    # or left in the cycle after IDLE)
    ptr_step = Signal(intbv(0, min=0, max=max(e, 1) + 1))
    left_step = Signal(intbv(0, min=0, max=max(e, epb) + 1))
    # values for the end of a burst, registered while they are stable (CHECK to B)
    addr_adv = Signal(modbv(0)[32:])
    beats_left_adv = Signal(modbv(0)[beats_bits:])
    last_burst = Signal(bool(0))
    failed = Signal(bool(0))
    misaligned = Signal(bool(0))
    beats_req = Signal(intbv(0)[beats_bits:])
    # address pipeline: t*stride (a multiplier block: t and stride are 16 bits, isa.SEQ_LEN_BITS),
    # then the addition
    assert len(loop_t) <= 17, f"a {len(loop_t)}-bit loop index does not fit one 18x18 multiplier"
    t_in = Signal(intbv(0)[len(loop_t):])
    stride = Signal(intbv(0)[16:])
    base_off = Signal(modbv(0)[32:])
    prod = Signal(intbv(0)[len(loop_t) + 16:])
    part = Signal(modbv(0)[32:])
    region = Signal(intbv(0)[2:])
    # region again, a cycle later and with no enable, for the activation buffer's ports: region's
    # load enable (IDLE and start) is shared with the state machine, and with region's flip-flops
    # beside the buffer that LUT sat mid-die on a loop of the state machine (DMA state -> region's
    # enable -> state, 7.28 and 7.33 ns, 6.0 ns of it routing, seeds 1 and 2). The ports read it at
    # a beat or a STORE's read, cycles after the start.
    region_port = Signal(intbv(0)[2:])
    # STORE: the beat's elements out of the read port's word (V in bank order, Z/E a row), each
    # element's source lane in a register of its own, formed from ptr while the read is under way
    # (ptr holds the beat's address from W_READ to W_LATCH): one offset register steering all
    # E x P-to-1 selections was the longest path of the design at 3b25b34 (8.06 ns, a 2.18 ns net)
    lb = cfg.lane_bits
    lane_src = [Signal(intbv(0)[lb:]) for _ in range(e)]
    row_part = Signal(intbv(0)[max(lb - e_shift, 1):])   # the beat's place in a Z/E row
    from_v = Signal(bool(0))
    reps = cfg.word_bits // axb  # beats per activation-buffer word: a LOAD's beat is replicated
    pack_lim_w = (1 << bpw_shift) - 1  # pack_cnt at a weight word's last beat
    pack_lim_i = (1 << bpi_shift) - 1  # pack_cnt at an instruction's last beat

    # done_soon (state FINISH of a LOAD/STORE) as a register of its own, set as the state
    # machine enters FINISH (from CHECK or DRAIN, see engine): decoded from `state`, the LUT it
    # shared with the state machine was placed near the issue unit, on a loop of the state machine
    # (state -> that LUT -> state, 7.47 ns with nets of 2.90 and 2.70 ns, b8bd055 seed 1)
    finishing = Signal(bool(0))
    # The same for every transfer, fetches too: err, fetch_done and done are set from registers
    # (at_finish, finishing, failed), not from a decode of `state`. Decoded from it, err's reset
    # term shared a LUT with the state machine and was placed beside err, 35 columns away: state
    # -> that LUT -> state, 7.64 ns with nets of 2.48 and 2.63 ns (8724a10 + the ACT lanes'
    # multiplier input registers, seed 1)
    finish_next = Signal(bool(0))
    at_finish = Signal(bool(0))
    w_latch = Signal(bool(0))   # state is W_LATCH (a STORE's beat is latched into the W channel)

    @always_comb
    def select_base():
        if dec.base == 0:
            base_sel.next = base0
        elif dec.base == 1:
            base_sel.next = base1
        elif dec.base == 2:
            base_sel.next = base2
        else:
            base_sel.next = base3

    @always_comb
    def beats_needed():
        # beats of a LOAD/STORE of dec.length elements, words or entries
        if dec.opcode == OP_LOAD and dec.func == LOADTARGET_WBUF:
            beats_req.next = dec.length << bpw_shift
        elif dec.opcode == OP_LOAD and dec.func == LOADTARGET_BBUF:
            beats_req.next = (dec.length + (epb - 1)) >> epb_shift
        else:
            beats_req.next = (dec.length + (e - 1)) >> e_shift

    @always(clk.posedge)
    def port_region():
        region_port.next = region

    @always_comb
    def port_fields():
        rd.region.next = region_port
        wr.region.next = region_port
        ctl.ready.next = not ctl.busy or ctl.done
        ctl.done_soon.next = finishing

    @always_comb
    def finish_ahead():
        # the engine enters FINISH from CHECK (a misaligned address, or no beats left) or from
        # DRAIN (the last entries unpacked, no beats left); a fetch ends with fetch_done instead
        fin = bool(0)
        if state == State.CHECK:
            fin = misaligned or (addr & (cfg.beat_bytes - 1)) != 0 or beats_left == 0
        elif state == State.DRAIN:
            fin = hold_cnt == 0 and beats_left == 0
        finish_next.next = fin
        ctl.done_soon_next.next = fin and not is_fetch

    @always_comb
    def shift_in():
        # beats fill the packing register from the top: after a word's last beat, its first
        # beat sits at the word's low end
        pack_next.next = (pack >> axb) | (axi.rdata << (pk - axb))

    @always_comb
    def burst_size():
        to_boundary.next = (4096 - (addr & 4095)) >> beat_shift
        if beats_left <= 256 and beats_left <= to_boundary:
            burst.next = beats_left
        elif to_boundary <= 256:
            burst.next = to_boundary
        else:
            burst.next = 256

    @always(clk.posedge)
    def address_products():
        # no reset: ADDR2 reads what ADDR1 wrote. Without one, the flow puts this register into
        # its MULT18X18D's output register (rtl/synth.py); with a reset the products
        # stayed flip-flops, 6 of the 36 endpoints late at 150 MHz (whole default, seed 1)
        if state == State.ADDR1:
            prod.next = t_in * stride

    @always_seq(clk.posedge, reset=rst)
    def engine():
        axi.awid.next = 0
        axi.arid.next = 0
        axi.awsize.next = beat_shift
        axi.arsize.next = beat_shift
        axi.awburst.next = 1  # INCR
        axi.arburst.next = 1
        finishing.next = ctl.done_soon_next
        at_finish.next = finish_next
        # the cycle after FINISH (at_finish is high in FINISH; finishing when it ends a LOAD/STORE)
        fetch_done.next = at_finish and is_fetch
        err.next = at_finish and failed
        ctl.done.next = finishing
        wr.en.next = 0
        rd.en.next = 0
        wram.we.next = 0
        bram.we.next = 0
        iram.we.next = 0
        if hold_cnt != 0:
            # bias beats: unpack one 32-bit entry per cycle (in R and DRAIN); in R, take the
            # next beat once the last entry leaves
            bram.we.next = not failed
            bram.waddr.next = ptr
            bram.wdata.next = hold[cfg.BIAS_BITS:]
            ptr.next = ptr + ptr_step
            hold.next = hold >> cfg.BIAS_BITS
            hold_cnt.next = hold_cnt - 1
            if state == State.R:
                axi.rready.next = hold_cnt == 1
                rready_to.next = target_bit if hold_cnt == 1 else 0
        # R: a beat is taken when rvalid and rready (rready is only ever 1 in state R)
        if axi.rvalid and axi.rready and axi.rresp != 0:
            failed.next = 1
            err_code.next = ERRORCODE_AXI_ERROR
        if axi.rvalid and rready_to[T_ABUF]:
            wr.en.next = not failed and axi.rresp == 0
            wr.addr.next = ptr
            wr.count.next = e if left >= e else left
            for k in range(reps):
                lo = k * axb
                wr.data.next[lo + axb:lo] = axi.rdata
            ptr.next = ptr + ptr_step
            left.next = left - left_step
        if axi.rvalid and rready_to[T_BBUF]:
            hold.next = axi.rdata
            hold_cnt.next = epb if left >= epb else left
            left.next = left - left_step
            axi.rready.next = 0
            rready_to.next = 0
        if axi.rvalid and (rready_to[T_WBUF] or rready_to[T_IMEM]):
            pack.next = pack_next
            if pack_last:
                if rready_to[T_WBUF]:
                    wram.we.next = not failed and axi.rresp == 0
                    wram.waddr.next = ptr
                    wram.wdata.next = pack_next[pk:pk - cfg.word_bits]
                else:
                    iram.we.next = not failed and axi.rresp == 0
                    iram.waddr.next = ptr
                    iram.wdata.next = pack_next[pk:pk - isa.INSTR_BITS]
                pack_last.next = pack_lim == 0
                ptr.next = ptr + ptr_step
                pack_cnt.next = 0
            else:
                pack_cnt.next = pack_cnt + 1
                pack_last.next = pack_cnt + 1 == pack_lim
        else:
            pack_last.next = pack_cnt == pack_lim
        if axi.rvalid and axi.rready and axi.rlast:
            axi.rready.next = 0
            rready_to.next = 0
            addr.next = addr_adv
            beats_left.next = beats_left_adv
            if last_burst or target == T_BBUF:
                state.next = State.DRAIN  # a bias burst: unpack this beat, then the next burst
            else:
                state.next = State.SIZE
        if state == State.IDLE:
            failed.next = 0
            pack_cnt.next = 0
            hold_cnt.next = 0
            beat_in_burst.next = 0
            if fetch_start:
                is_fetch.next = 1
                is_store.next = 0
                target.next = T_IMEM
                addr.next = fetch_addr
                misaligned.next = (fetch_addr & fetch_align_mask) != 0
                beats_left.next = fetch_len << bpi_shift
                left.next = fetch_len
                ptr.next = 0
                state.next = State.SIZE
            else:
                # a LOAD/STORE's operands are taken in every IDLE cycle, used only after a start:
                # start itself enables only what IDLE shows (busy, region, state)
                is_store.next = dec.opcode == OP_STORE
                target.next = dec.func[2:] if dec.opcode == OP_LOAD else T_ABUF
                base_off.next = base_sel + dec.ddr_offset
                t_in.next = loop_t
                stride.next = dec.stride
                misaligned.next = 0
                beats_left.next = beats_req
                left.next = dec.length
                ptr.next = dec.src0 if dec.opcode == OP_STORE else dec.dst
                if ctl.start:
                    ctl.busy.next = 1
                    is_fetch.next = 0
                    region.next = dec.src0_region if dec.opcode == OP_STORE else dec.dst_region
                    state.next = State.ADDR1
        elif state == State.ADDR1:
            state.next = State.ADDR2
        elif state == State.ADDR2:
            part.next = base_off + prod
            state.next = State.ADDR3
        elif state == State.ADDR3:
            # a register stage only since t became 16 bits (it added t's high half times stride):
            # kept, so that LOAD/STORE take the cycles of the cycle model (ADDRESS_CYCLES)
            addr.next = part
            state.next = State.SIZE
        elif state == State.SIZE:
            # the next burst's length, registered: the 4 KB boundary and the beats left
            burst_r.next = burst
            state.next = State.CHECK
        elif state == State.CHECK:
            if misaligned or (addr & (cfg.beat_bytes - 1)) != 0:
                failed.next = 1
                err_code.next = ERRORCODE_MISALIGNED
                state.next = State.FINISH
            elif beats_left == 0:
                state.next = State.FINISH
            elif is_store:
                state.next = State.AW
                axi.awaddr.next = addr
                axi.awlen.next = burst_r - 1
                axi.awvalid.next = 1
                cur_burst.next = burst_r
            else:
                state.next = State.AR
                axi.araddr.next = addr
                axi.arlen.next = burst_r - 1
                axi.arvalid.next = 1
                cur_burst.next = burst_r
        elif state == State.AR:
            if axi.arready:
                axi.arvalid.next = 0
                axi.rready.next = 1
                rready_to.next = target_bit
                state.next = State.R
        elif state == State.DRAIN:
            if hold_cnt == 0:  # otherwise the unpacker above is still writing entries
                if beats_left == 0:
                    state.next = State.FINISH
                else:
                    state.next = State.SIZE
        elif state == State.AW:
            if axi.awready:
                axi.awvalid.next = 0
                rd.addr.next = ptr
                rd.en.next = 1
                state.next = State.W_READ
        elif state == State.W_READ:
            # the beat's source address is on the read port in this state (registered rd.en);
            # its data arrives READ_LATENCY cycles later, in W_LATCH
            wait_cnt.next = READ_LATENCY - 2
            state.next = State.W_WAIT
        elif state == State.W_WAIT:
            if wait_cnt == 0:
                state.next = State.W_LATCH
            else:
                wait_cnt.next = wait_cnt - 1
        elif state == State.W_LATCH:   # the beat's data, strobes and wlast: see w_latch below
            axi.wvalid.next = 1
            state.next = State.W_SEND
        elif state == State.W_SEND:
            if axi.wready:
                axi.wvalid.next = 0
                ptr.next = ptr + ptr_step
                left.next = left - left_step
                rd.addr.next = ptr + e
                # the burst's last beat: wlast, registered in W_LATCH from the same comparison
                # (beat_in_burst and cur_burst hold still until this beat is sent); compared
                # here, it was the critical path of 7e78845 seed 3 (cur_burst -> state, 6.80 ns)
                if axi.wlast:
                    beat_in_burst.next = 0
                    axi.bready.next = 1
                    state.next = State.B
                else:
                    beat_in_burst.next = beat_in_burst + 1
                    rd.en.next = 1
                    state.next = State.W_READ
        elif state == State.B:
            if axi.bvalid:
                axi.bready.next = 0
                if axi.bresp != 0:
                    failed.next = 1
                    err_code.next = ERRORCODE_AXI_ERROR
                addr.next = addr_adv
                beats_left.next = beats_left_adv
                state.next = State.SIZE
        elif state == State.FINISH:  # the last buffer write's en was high at least a cycle before
            state.next = State.IDLE
        # The W channel's data, strobes and wlast load in W_LATCH, enabled by a register of its
        # own (set as the engine enters W_LATCH), not by a decode of `state`: that LUT, shared with
        # the state machine and placed beside the AXI write registers it enabled, put the state
        # machine's loop through nets of 2.97 and 2.64 ns (state -> wlast's enable -> state,
        # 7.25 ns: 8724a10 + the ACT lanes' multiplier input registers and err from at_finish, seed 1)
        w_latch.next = state == State.W_WAIT and wait_cnt == 0 and hold_cnt == 0
        if w_latch:
            if from_v:
                for k in range(e):
                    lo = k * w
                    src = lane_src[k] * w
                    axi.wdata.next[lo + w:lo] = rd.data[src + w:src]
            else:
                src = row_part * axb
                axi.wdata.next = rd.data[src + axb:src]
            if left >= e:
                axi.wstrb.next = (1 << cfg.beat_bytes) - 1
            else:
                axi.wstrb.next = (1 << (left * cfg.elem_bytes)) - 1
            axi.wlast.next = beat_in_burst == cur_burst - 1
        if ctl.done and not ctl.start:  # a new instruction may start in the done cycle
            ctl.busy.next = 0
        # addr, beats_left and cur_burst hold still from CHECK (cur_burst's load) until the burst
        # ends in R or B, at least two cycles later: these are valid whenever they are used
        addr_adv.next = addr + (cur_burst << beat_shift)
        beats_left_adv.next = beats_left - cur_burst
        last_burst.next = beats_left == cur_burst
        target_bit.next = 1 << target
        for k in range(e):
            lane_src[k].next = (ptr + k) & (p - 1)
        row_part.next = (ptr & (p - 1)) >> e_shift
        from_v.next = region == REGION_V
        pack_lim.next = pack_lim_w if target == T_WBUF else pack_lim_i
        if target == T_ABUF:
            ptr_step.next = e
            left_step.next = e
        else:
            ptr_step.next = 1
            left_step.next = epb

    return select_base, beats_needed, port_region, port_fields, finish_ahead, shift_in, burst_size, address_products, engine

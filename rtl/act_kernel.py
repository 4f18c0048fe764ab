"""Activation kernel: sigmoid, tanh, hard-sigmoid and softsign of P elements per cycle from
interpolated tables, and softmax over a vector (element-serial: max, exp table, sum, one division)."""
from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, enum, intbv, modbv

from . import isa
from .config import ProcessorConfig
from .interfaces import AbufReadPort, AbufWritePort, KernelCtl
from .lut import diff_bits, table
from .primitives import delay_line, round_saturate, saturate_lanes
from .vector_unit import vector_sequencer, vector_writeback

# Cycles from a word's read address to its result entering the write-back register:
# buffer read (2), index (1), table (1), interpolate (1), symmetry+round (1), saturate (1).
ACT_LANE_LATENCY = 7
# Table selection in a lane
T_SIGMOID, T_HARD_SIGMOID, T_SOFTSIGN = 0, 1, 2


@block
def act_lanes(cfg: ProcessorConfig, clk, rst, en, data, tsel, is_tanh, is_odd, idx_shift, out_shift, result):
    """All P lanes: y = f(x) of each element of `data` through the selected table, one process
    per pipeline stage for all lanes (an event-driven simulator pays per process woken).

    Ports: clk, rst (clears the stage registers); en (advance); data (in, P*W-bit word);
    tsel (table: 0 sigmoid, 1 hard-sigmoid, 2 softsign), is_tanh (2*sigmoid(2x) - 1), is_odd
    (f(-x) = -f(x), else f(-x) = 1 - f(x)), idx_shift (= shift0), out_shift (= 16 + F - shift1),
    all held for the instruction; result (out, P*W-bit word). Latency 5 cycles from data.
    Reset: synchronous, clears every stage register."""
    p, w, fb = cfg.lanes, cfg.data_bits, cfg.lut_frac_bits
    vb = cfg.LUT_VALUE_BITS
    tables = {name: table(cfg, name) for name in ("sigmoid", "hard-sigmoid", "softsign")}
    t_sig, d_sig = tables["sigmoid"]
    t_hs, d_hs = tables["hard-sigmoid"]
    t_ss, d_ss = tables["softsign"]
    depth, depth_ss = cfg.lut_depth, cfg.softsign_lut_depth
    one = 1 << (vb + fb)
    fmask = (1 << fb) - 1
    db = diff_bits(cfg)

    idx = [Signal(intbv(0, min=0, max=max(depth, depth_ss) + 1)) for _ in range(p)]
    frac = [Signal(intbv(0)[max(fb, 1):]) for _ in range(p)]
    frac2 = [Signal(intbv(0)[max(fb, 1):]) for _ in range(p)]
    neg1, neg2, neg3 = ([Signal(bool(0)) for _ in range(p)] for _ in range(3))
    tv = [Signal(intbv(0)[vb:]) for _ in range(p)]       # table value T[i]
    dv = [Signal(intbv(0)[db:]) for _ in range(p)]       # difference D[i]
    interp = [Signal(intbv(0, min=0, max=one)) for _ in range(p)]  # f(|x|) in Q0.(16+F)
    tq = [Signal(intbv(0, min=-2 * one, max=2 * one + 2)) for _ in range(p)]
    clipped = Signal(intbv(0)[p:])  # 1.0 clipped to the largest code: not an overflow, not counted

    @always(clk.posedge)
    def index():
        xv = intbv(0, min=cfg.data_min, max=cfg.data_max + 1)
        mag = intbv(0, min=0, max=-cfg.data_min + 1)
        q = intbv(0)[w + 2 * fb:]
        last = intbv(0, min=0, max=max(depth, depth_ss) + 1)
        if rst:
            for lane in range(p):
                idx[lane].next = 0
                frac[lane].next = 0
                neg1[lane].next = 0
        elif en:
            if tsel == T_SOFTSIGN:
                last[:] = depth_ss
            else:
                last[:] = depth
            for lane in range(p):
                lo = lane * w
                xv[:] = data[lo + w:lo].signed()
                if xv < 0:
                    mag[:] = -xv
                else:
                    mag[:] = xv
                q[:] = (mag << (2 * fb)) >> idx_shift
                if (q >> fb) >= last:
                    idx[lane].next = last
                    frac[lane].next = 0
                else:
                    idx[lane].next = q >> fb
                    frac[lane].next = q & fmask
                neg1[lane].next = xv < 0

    @always(clk.posedge)
    def lookup():
        if rst:
            for lane in range(p):
                tv[lane].next = 0
                dv[lane].next = 0
                frac2[lane].next = 0
                neg2[lane].next = 0
        elif en:
            for lane in range(p):
                if tsel == T_SOFTSIGN:
                    tv[lane].next = t_ss[idx[lane]]
                    dv[lane].next = d_ss[idx[lane]]
                elif tsel == T_HARD_SIGMOID:
                    tv[lane].next = t_hs[idx[lane]]
                    dv[lane].next = d_hs[idx[lane]]
                else:
                    tv[lane].next = t_sig[idx[lane]]
                    dv[lane].next = d_sig[idx[lane]]
                frac2[lane].next = frac[lane]
                neg2[lane].next = neg1[lane]

    @always(clk.posedge)
    def interpolate():
        if rst:
            for lane in range(p):
                interp[lane].next = 0
                neg3[lane].next = 0
        elif en:
            for lane in range(p):
                interp[lane].next = (tv[lane] << fb) + dv[lane] * frac2[lane]
                neg3[lane].next = neg2[lane]

    @always(clk.posedge)
    def symmetry_round():
        # sigmoid, hard-sigmoid: f(-x) = 1 - f(x); softsign: odd; tanh(x) = 2*sigmoid(2x) - 1 (the
        # index already holds 2|x|), odd. Then the first half of rounding to the output format.
        sv = intbv(0, min=-one, max=one + 1)
        if rst:
            for lane in range(p):
                tq[lane].next = 0
        elif en:
            for lane in range(p):
                if is_tanh:
                    if neg3[lane]:
                        sv[:] = one - 2 * interp[lane]
                    else:
                        sv[:] = 2 * interp[lane] - one
                elif is_odd:
                    if neg3[lane]:
                        sv[:] = -interp[lane]
                    else:
                        sv[:] = interp[lane]
                else:
                    if neg3[lane]:
                        sv[:] = one - interp[lane]
                    else:
                        sv[:] = interp[lane]
                if out_shift == 0:
                    tq[lane].next = sv << 1
                else:
                    tq[lane].next = sv >> (out_shift - 1)

    output = saturate_lanes(cfg, clk, rst, en, tq, result, clipped)

    return index, lookup, interpolate, symmetry_round, output


# Softmax: cycles from start to done beyond the three passes (n each) and the division: reading
# (2) + max (1) for pass 1; reading, index, table, interpolate, accumulate for pass 2; reading,
# index, table, interpolate, product, round, saturate, write for pass 3; the state changes.
SOFTMAX_OVERHEAD = 17


def softmax_cycles(cfg: ProcessorConfig, n: int) -> int:
    """Cycles from the start of a softmax of n elements to its done: 3n + (N+1) + 17 with
    N = 2*(16 + lut_frac_bits) the quotient's bits; 2 for n = 0."""
    return 3 * n + 2 * (cfg.LUT_VALUE_BITS + cfg.lut_frac_bits) + 1 + SOFTMAX_OVERHEAD if n else 2


@block
def softmax_unit(cfg: ProcessorConfig, clk, rst, ctl, dec, rd, rd_data, wr):
    """Softmax of `length` elements, element-serial, in three passes over the source:

      1. m = max(z)
      2. E_k = exp(m - z_k) from the exp table (Q0.16 values, interpolated, E = 1.0 for the
         largest element), S = sum(E_k)
      3. after one restoring division Q = 2^N // S (N = 2*(16+F), one quotient bit per cycle):
         p_k = saturate(round(E_k * Q / 2^(N - shift1))), written to dst + k

    Ports: clk, rst; ctl (KernelCtl: start in, busy and done out); dec (func, dst, src0, length,
    shift0 = exp index shift, shift1 = output fraction bits, sampled at start); rd (AbufReadPort:
    addr and en out), rd_data (in, the port's data; lane 0 used); wr (AbufWritePort out, one
    element per write). Cycles from start to done: softmax_cycles(cfg, length). length 0: done
    the cycle after start.

      Latency: softmax_cycles(cfg, length) from start to done. Reset: synchronous, back to IDLE with the pipeline cleared."""
    w, fb, vb = cfg.data_bits, cfg.lut_frac_bits, cfg.LUT_VALUE_BITS
    values, diffs = table(cfg, "exp")
    db = max(diffs).bit_length() or 1
    rom = tuple((v << db) | d for v, d in zip(values, diffs))
    depth = cfg.exp_lut_depth
    n_bits = 2 * (vb + fb)  # Q = 2^N // S
    one = 1 << (vb + fb)
    e_max = one + 1          # E <= 1.0 in Q0.(16+F)
    s_max = e_max * (1 << 16)  # at most 65535 terms
    State = enum("IDLE", "MAX", "SUM", "DIV", "OUT", "FIN")
    state = Signal(State.IDLE)
    src = Signal(intbv(0)[16:])
    dst = Signal(intbv(0)[16:])
    n = Signal(intbv(0)[17:])
    idx_shift = Signal(intbv(0)[6:])
    out_shift = Signal(intbv(0)[7:])
    issued = Signal(intbv(0)[17:])   # elements addressed in this pass
    done_cnt = Signal(intbv(0)[17:])  # elements finished in this pass
    v1, v2 = Signal(bool(0)), Signal(bool(0))  # read pipeline: data valid 2 cycles after address
    z = Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1))
    m = Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1))
    u = Signal(intbv(0, min=0, max=1 << w))
    q = Signal(intbv(0)[w + 1 + 2 * fb:])
    idx = Signal(intbv(0, min=0, max=depth + 1))
    frac, frac2 = Signal(intbv(0)[max(fb, 1):]), Signal(intbv(0)[max(fb, 1):])
    entry = Signal(intbv(0)[vb + 1 + db:])
    e_val = Signal(intbv(0, min=0, max=e_max))
    v3, v4, v5 = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))  # index, table, interpolate valid
    s_sum = Signal(intbv(0, min=0, max=s_max))
    div_rem = Signal(intbv(0, min=0, max=2 * s_max))
    rem_in = Signal(intbv(0, min=0, max=4 * s_max))
    quot = Signal(modbv(0)[n_bits + 1:])
    div_step = Signal(intbv(0, min=0, max=n_bits + 2))
    prod = Signal(intbv(0, min=0, max=e_max << (n_bits - vb - fb + 1)))
    v6 = Signal(bool(0))
    out_en = Signal(bool(0))  # round/saturate stage advances
    y = Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1))
    y_clipped = Signal(bool(0))
    v7, v8 = Signal(bool(0)), Signal(bool(0))  # round, saturate valid
    out_k = Signal(intbv(0)[17:])

    @always_comb
    def read_port():
        rd.en.next = (state == State.MAX or state == State.SUM or state == State.OUT) and issued < n
        rd.addr.next = (src + issued) & 0xFFFF
        z.next = rd_data[w:].signed()

    @always_comb
    def distance():
        # u = m - z >= 0 once m is the maximum (passes 2 and 3); 0 while pass 1 is still looking.
        # An unsigned signal of its own: shifting the signed difference in place would be
        # evaluated at 16 bits inside the converter's $signed() and lose the top bits.
        if m >= z:
            u.next = m - z
        else:
            u.next = 0

    @always_comb
    def exp_index():
        q.next = (u << (2 * fb)) >> idx_shift
        if div_step == 0:
            rem_in.next = 1  # the dividend 2^N: its only set bit enters first
        else:
            rem_in.next = div_rem << 1

    @always_comb
    def advance():
        out_en.next = state == State.OUT

    @always_seq(clk.posedge, reset=rst)
    def control():
        ctl.done.next = 0
        wr.en.next = 0
        v1.next = rd.en
        v2.next = v1
        if rd.en:  # the passes address one element per cycle; a state change restarts the count
            issued.next = issued + 1
        if state == State.IDLE:
            if ctl.start:
                src.next = dec.src0
                dst.next = dec.dst
                n.next = dec.length
                idx_shift.next = dec.shift0
                out_shift.next = n_bits - dec.shift1
                issued.next = 0
                done_cnt.next = 0
                ctl.busy.next = 1
                if dec.length == 0:
                    state.next = State.FIN
                else:
                    state.next = State.MAX
        elif state == State.MAX:
            if v2:
                if done_cnt == 0 or z > m:
                    m.next = z
                done_cnt.next = done_cnt + 1
                if done_cnt == n - 1:
                    state.next = State.SUM
                    issued.next = 0
                    done_cnt.next = 0
                    s_sum.next = 0
        elif state == State.SUM:
            if v5:
                s_sum.next = s_sum + e_val
                done_cnt.next = done_cnt + 1
                if done_cnt == n - 1:
                    state.next = State.DIV
                    div_rem.next = 0
                    quot.next = 0
                    div_step.next = 0
        elif state == State.DIV:
            # restoring division of 2^N by S, one quotient bit per cycle, most significant first
            if rem_in >= s_sum:
                div_rem.next = rem_in - s_sum
                quot.next = (quot << 1) | 1
            else:
                div_rem.next = rem_in
                quot.next = quot << 1
            div_step.next = div_step + 1
            if div_step == n_bits:
                state.next = State.OUT
                issued.next = 0
                done_cnt.next = 0
                out_k.next = 0
        elif state == State.OUT:
            if v8:
                wr.en.next = 1
                wr.addr.next = dst + out_k
                wr.count.next = 1
                wr.data.next = y[w:]
                out_k.next = out_k + 1
                if out_k == n - 1:
                    state.next = State.FIN
        else:  # FIN: the last write landed at the end of the previous cycle
            ctl.done.next = 1
            state.next = State.IDLE
        if ctl.done and not ctl.start:
            ctl.busy.next = 0

    @always_seq(clk.posedge, reset=rst)
    def exp_pipe():
        v3.next = v2 and (state == State.SUM or state == State.OUT)
        if q >> fb >= depth:
            idx.next = depth
            frac.next = 0
        else:
            idx.next = q >> fb
            frac.next = q & ((1 << fb) - 1)
        v4.next = v3
        entry.next = rom[idx]
        frac2.next = frac
        v5.next = v4
        # exp(-u) decreases: E = T*2^F - |D|*frac
        e_val.next = (entry[vb + 1 + db:db] << fb) - entry[db:] * frac2
        v6.next = v5 and state == State.OUT
        prod.next = e_val * quot
        v7.next = v6
        v8.next = v7

    output = round_saturate(cfg, clk, rst, out_en, prod, out_shift, y, y_clipped)

    return read_port, distance, exp_index, advance, control, exp_pipe, output


@block
def act_kernel(cfg: ProcessorConfig, clk, rst, ctl, dec, rd, wr):
    """Executes ACT over `length` elements: func 0-3 (sigmoid, tanh, hard-sigmoid, softsign) P
    elements per cycle through the lanes; func 4 (softmax) through the element-serial softmax unit.

    Ports:
      clk, rst  clock; synchronous active-high reset
      ctl       KernelCtl: start in; busy, done out
      dec       Decoded fields latched at start: func, dst, src0, length, shift0, shift1
      rd        AbufReadPort (addr out, data in); wr AbufWritePort out
    Timing, element-wise: words of P elements, one per cycle from the cycle after start; a word is
    written ACT_LANE_LATENCY + 1 cycles after its address; done pulses the cycle after the last
    write. Busy cycles: ceil(length/P) + ACT_LANE_LATENCY + 2. Softmax: softmax_cycles().
    Latency: see Timing. Reset: synchronous, both paths idle."""
    p, w = cfg.lanes, cfg.data_bits
    vb, fb = cfg.LUT_VALUE_BITS, cfg.lut_frac_bits
    SOFTMAX = int(isa.ActFunc.SOFTMAX)
    TANH, SOFTSIGN, HARD_SIGMOID = int(isa.ActFunc.TANH), int(isa.ActFunc.SOFTSIGN), int(isa.ActFunc.HARD_SIGMOID)
    tsel = Signal(intbv(0)[2:])
    is_tanh, is_odd = Signal(bool(0)), Signal(bool(0))
    idx_shift = Signal(intbv(0)[6:])
    out_shift = Signal(intbv(0, min=0, max=vb + fb + 1))

    # the element-wise path and the softmax unit each get their own port bundle and handshake
    vec_ctl, smx_ctl = KernelCtl(), KernelCtl()
    rd_vec, rd_smx = AbufReadPort(cfg), AbufReadPort(cfg)
    wr_vec, wr_smx = AbufWritePort(cfg), AbufWritePort(cfg)

    @always_comb
    def dispatch():
        vec_ctl.start.next = ctl.start and dec.func != SOFTMAX
        smx_ctl.start.next = ctl.start and dec.func == SOFTMAX

    @always_comb
    def merge():
        ctl.busy.next = vec_ctl.busy or smx_ctl.busy
        ctl.done.next = vec_ctl.done or smx_ctl.done
        rd.en.next = rd_vec.en or rd_smx.en
        if rd_smx.en:
            rd.addr.next = rd_smx.addr
        else:
            rd.addr.next = rd_vec.addr
        if wr_smx.en:
            wr.en.next = 1
            wr.addr.next = wr_smx.addr
            wr.count.next = wr_smx.count
            wr.data.next = wr_smx.data
        else:
            wr.en.next = wr_vec.en
            wr.addr.next = wr_vec.addr
            wr.count.next = wr_vec.count
            wr.data.next = wr_vec.data

    @always_seq(clk.posedge, reset=rst)
    def latch():
        if vec_ctl.start:
            is_tanh.next = dec.func == TANH
            is_odd.next = dec.func == SOFTSIGN
            if dec.func == SOFTSIGN:
                tsel.next = T_SOFTSIGN
            elif dec.func == HARD_SIGMOID:
                tsel.next = T_HARD_SIGMOID
            else:
                tsel.next = T_SIGMOID
            idx_shift.next = dec.shift0
            out_shift.next = vb + fb - dec.shift1

    seq_valid = Signal(bool(0))
    seq_count = Signal(intbv(0, min=0, max=p + 1))
    unused_addr = Signal(intbv(0)[16:])
    unused_en = Signal(bool(0))
    seq = vector_sequencer(cfg, clk, rst, vec_ctl.start, dec.length, dec.src0, dec.src0, rd_vec.addr, unused_addr,
                           rd_vec.en, unused_en, seq_valid, seq_count)
    result = Signal(intbv(0)[p * w:])
    lanes = act_lanes(cfg, clk, rst, vec_ctl.busy, rd.data, tsel, is_tanh, is_odd, idx_shift, out_shift, result)
    res_valid = Signal(bool(0))
    res_count = Signal(intbv(0, min=0, max=p + 1))
    follow = [delay_line(clk, rst, vec_ctl.busy, seq_valid, res_valid, ACT_LANE_LATENCY),
              delay_line(clk, rst, vec_ctl.busy, seq_count, res_count, ACT_LANE_LATENCY)]
    wb = vector_writeback(cfg, clk, rst, vec_ctl, dec.dst, dec.length, res_valid, res_count, result, wr_vec)
    smx = softmax_unit(cfg, clk, rst, smx_ctl, dec, rd_smx, rd.data, wr_smx)
    return dispatch, merge, latch, seq, lanes, follow, wb, smx

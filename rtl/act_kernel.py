"""Activation kernel: sigmoid, tanh, hard-sigmoid and softsign of P elements per cycle from
interpolated tables, and softmax over a vector (element-serial: max, exp table, sum, one division).

The three element-wise tables are one ROM (block RAM) indexed by {table base + index}; each ROM
copy has two read ports and serves two lanes, so P lanes need P/2 copies. The softmax unit has its
own exp ROM."""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, enum, intbv, modbv

from . import isa
from .config import ProcessorConfig, clog2
from .interfaces import READ_LATENCY, AbufReadPort, AbufWritePort
from .lut import diff_bits, table
from .vector_unit import stream_control, vector_sequencer

# Table selection in a lane, and the tables' order in the ROM
T_SIGMOID, T_HARD_SIGMOID, T_SOFTSIGN = 0, 1, 2
REGION_E = int(isa.Region.E)


def act_latency(cfg: ProcessorConfig) -> int:
    """Cycles from the cycle an element-wise instruction presents its last word to its done pulse:
    read (READ_LATENCY), |x| (1), index shift (1), ROM address (1), ROM (1), ROM output register
    (1), product (1), interpolate (1), symmetry (1), round (1), saturate (1), write stage (1)."""
    return READ_LATENCY + 11


def rom_layout(cfg: ProcessorConfig) -> tuple[dict[int, int], int, int]:
    """The element-wise ROM: base entry of each table (T_* -> base), entry width, depth (a power
    of two). Entry = (value << diff_bits) | difference."""
    sizes = {T_SIGMOID: cfg.lut_depth + 1, T_HARD_SIGMOID: cfg.lut_depth + 1,
             T_SOFTSIGN: cfg.softsign_lut_depth + 1}
    base, at = {}, 0
    for t, n in sizes.items():
        base[t] = at
        at += n
    return base, cfg.LUT_VALUE_BITS + diff_bits(cfg), 1 << clog2(at)


def rom_contents(cfg: ProcessorConfig) -> tuple[int, ...]:
    """Entries of the element-wise ROM (rtl.lut tables, in rom_layout's order; zero padded)."""
    base, _, depth = rom_layout(cfg)
    db = diff_bits(cfg)
    out = [0] * depth
    for t, name in ((T_SIGMOID, "sigmoid"), (T_HARD_SIGMOID, "hard-sigmoid"), (T_SOFTSIGN, "softsign")):
        values, diffs = table(cfg, name)
        for i, (v, d) in enumerate(zip(values, diffs)):
            out[base[t] + i] = (v << db) | d
    return tuple(out)


@block
def table_rom(cfg: ProcessorConfig, clk, en, addr_a, addr_b, q_a, q_b):
    """One copy of the element-wise ROM with two read ports (two lanes).

    Ports: clk; en (advance); addr_a, addr_b (in); q_a, q_b (out, registered entries).
    Latency 1. No reset: a ROM."""
    contents = rom_contents(cfg)
    _, eb, _ = rom_layout(cfg)
    rom = [Signal(intbv(v)[eb:]) for v in contents]

    @always(clk.posedge)
    def read():
        if en:
            q_a.next = rom[addr_a]
            q_b.next = rom[addr_b]

    return read


@block
def act_lanes(cfg: ProcessorConfig, clk, en, data, c_index, c_address, c_tanh, c_odd, c_round, tq):
    """All P lanes up to the rounding shift: f(x) of each element of `data` through the selected
    table, one process per pipeline stage for all lanes.

    Ports: clk; en (advance); data (in, P*W-bit word, READ_LATENCY after the word's address);
    c_index (in: idx_shift, for the word in the index stage), c_address (tsel), c_tanh, c_odd
    (symmetry: tanh, odd function), c_round (out_shift = 16 + F - shift1): the instruction's
    parameters as the word reaches each stage (shadow signals of the control line); tq (out, list
    of P signed signals: the value before its final half-up and saturation).
    Latency 9 from data to tq. No reset: only valid words are written."""
    p, w, fb = cfg.lanes, cfg.data_bits, cfg.lut_frac_bits
    vb = cfg.LUT_VALUE_BITS
    base, eb, depth_rom = rom_layout(cfg)
    base_sigmoid, base_hard, base_softsign = base[T_SIGMOID], base[T_HARD_SIGMOID], base[T_SOFTSIGN]
    db = diff_bits(cfg)
    ab = clog2(depth_rom)
    depth, depth_ss = cfg.lut_depth, cfg.softsign_lut_depth
    one = 1 << (vb + fb)
    fmask = (1 << fb) - 1
    fbits = max(fb, 1)
    qbits = w + 2 * fb

    mag = [Signal(intbv(0, min=0, max=-cfg.data_min + 1)) for _ in range(p)]
    q = [Signal(intbv(0)[qbits:]) for _ in range(p)]
    neg = [Signal(intbv(0)[p:]) for _ in range(7)]  # sign of each lane's input, one word per stage
    rom_addr = Signal(intbv(0)[p * ab:])
    frac1 = Signal(intbv(0)[p * fbits:])
    frac2 = Signal(intbv(0)[p * fbits:])
    frac_w = Signal(intbv(0)[p * fbits:])
    rom_q = [Signal(intbv(0)[eb:]) for _ in range(p)]
    tv = [Signal(intbv(0)[vb:]) for _ in range(p)]
    dv = [Signal(intbv(0)[db:]) for _ in range(p)]
    tvf = [Signal(intbv(0, min=0, max=one)) for _ in range(p)]
    prod = [Signal(intbv(0, min=0, max=one)) for _ in range(p)]
    interp = [Signal(intbv(0, min=0, max=one)) for _ in range(p)]
    sv = [Signal(intbv(0, min=-one, max=one + 1)) for _ in range(p)]
    neg_in, neg_q, neg_a, neg_w, neg_r, neg_p, neg_i = neg

    @always(clk.posedge)
    def absolute():
        xv = intbv(0, min=cfg.data_min, max=cfg.data_max + 1)
        if en:
            for lane in range(p):
                lo = lane * w
                xv[:] = data[lo + w:lo].signed()
                neg_in.next[lane] = xv < 0
                if xv < 0:
                    mag[lane].next = -xv
                else:
                    mag[lane].next = xv

    @always(clk.posedge)
    def index_shift():
        if en:
            neg_q.next = neg_in
            for lane in range(p):
                q[lane].next = (mag[lane] << (2 * fb)) >> c_index

    @always(clk.posedge)
    def address():
        # index i = q >> F saturating at the table's last entry; the ROM address adds its base
        last = intbv(0, min=0, max=max(depth, depth_ss) + 1)
        first = intbv(0)[ab:]
        if en:
            neg_a.next = neg_q
            if c_address == T_SOFTSIGN:
                last[:] = depth_ss
                first[:] = base_softsign
            elif c_address == T_HARD_SIGMOID:
                last[:] = depth
                first[:] = base_hard
            else:
                last[:] = depth
                first[:] = base_sigmoid
            for lane in range(p):
                lo = lane * ab
                flo = lane * fbits
                if (q[lane] >> fb) >= last:
                    rom_addr.next[lo + ab:lo] = first + last
                    frac1.next[flo + fbits:flo] = 0
                else:
                    rom_addr.next[lo + ab:lo] = first + (q[lane] >> fb)
                    frac1.next[flo + fbits:flo] = q[lane] & fmask

    roms = []
    for i in range(p // 2):
        a, b = 2 * i, 2 * i + 1
        roms.append(table_rom(cfg, clk, en, rom_addr((a + 1) * ab, a * ab), rom_addr((b + 1) * ab, b * ab),
                              rom_q[a], rom_q[b]))
    rom_cat = ConcatSignal(*reversed(rom_q))

    @always(clk.posedge)
    def rom_wait():
        # beside the ROM read
        if en:
            neg_w.next = neg_a
            frac_w.next = frac1

    @always(clk.posedge)
    def rom_register():
        # the ROM outputs go straight into registers
        if en:
            neg_r.next = neg_w
            frac2.next = frac_w
            for lane in range(p):
                dlo = lane * eb
                vlo = lane * eb + db
                tv[lane].next = rom_cat[vlo + vb:vlo]
                dv[lane].next = rom_cat[dlo + db:dlo]

    @always(clk.posedge)
    def product():
        if en:
            neg_p.next = neg_r
            for lane in range(p):
                flo = lane * fbits
                tvf[lane].next = tv[lane] << fb
                prod[lane].next = dv[lane] * frac2[flo + fbits:flo]

    @always(clk.posedge)
    def interpolate():
        if en:
            neg_i.next = neg_p
            for lane in range(p):
                interp[lane].next = tvf[lane] + prod[lane]

    @always(clk.posedge)
    def symmetry():
        # sigmoid, hard-sigmoid: f(-x) = 1 - f(x); softsign: odd; tanh(x) = 2*sigmoid(2x) - 1 (the
        # index already holds 2|x|), odd
        if en:
            for lane in range(p):
                if c_tanh:
                    if neg_i[lane]:
                        sv[lane].next = one - 2 * interp[lane]
                    else:
                        sv[lane].next = 2 * interp[lane] - one
                elif c_odd:
                    if neg_i[lane]:
                        sv[lane].next = -interp[lane]
                    else:
                        sv[lane].next = interp[lane]
                else:
                    if neg_i[lane]:
                        sv[lane].next = one - interp[lane]
                    else:
                        sv[lane].next = interp[lane]

    @always(clk.posedge)
    def round_shift():
        if en:
            for lane in range(p):
                if c_round == 0:
                    tq[lane].next = sv[lane] << 1
                else:
                    tq[lane].next = sv[lane] >> (c_round - 1)

    return absolute, index_shift, address, roms, rom_wait, rom_register, product, interpolate, symmetry, round_shift


# Softmax: cycles from start to done beyond the three passes (n each) and the division.
SOFTMAX_OVERHEAD = 32


def softmax_cycles(cfg: ProcessorConfig, n: int) -> int:
    """Cycles from the start of a softmax of n >= 1 elements to its done: 3n + (N+1) +
    SOFTMAX_OVERHEAD with N = 2*(16 + lut_frac_bits) the quotient's bits."""
    return 3 * n + 2 * (cfg.LUT_VALUE_BITS + cfg.lut_frac_bits) + 1 + SOFTMAX_OVERHEAD


@block
def softmax_unit(cfg: ProcessorConfig, clk, rst, start, done, busy, dec, rd, rd_data, wr):
    """Softmax of `length` (>= 1) elements, element-serial, in three passes over the source:

      1. m = max(z)
      2. E_k = exp(m - z_k) from the exp table (Q0.16 values, interpolated, E = 1.0 for the
         largest element), S = sum(E_k)
      3. after one restoring division Q = 2^N // S (N = 2*(16+F), one quotient bit per cycle):
         p_k = saturate(round(E_k * Q / 2^(N - shift1))), written to dst + k

    Ports: clk, rst; start (in), done (out, pulse in the cycle whose end the last write lands),
    busy (out: from the cycle after start to done); dec (dst, src0 and its region, length,
    shift0 = exp index shift, shift1 = output fraction bits, sampled at start); rd (AbufReadPort:
    en, region, addr out), rd_data (in, the port's data: the row holding the element); wr
    (AbufWritePort out, one element per write, replicated in every lane).
    Pipeline per element, from its address cycle a: row a+3, element a+4, u = m - z a+5, table
    index a+6, exp ROM a+7, ROM register a+8, T*2^F and |D|*frac a+9, E a+10 (pass 2 sums it),
    E*Q in 17-bit pieces a+11..a+15, rounding shift a+16, write register a+17.
    Latency: softmax_cycles(cfg, length) from start to done. Reset: synchronous, back to IDLE."""
    p, w, fb, vb, lb = cfg.lanes, cfg.data_bits, cfg.lut_frac_bits, cfg.LUT_VALUE_BITS, cfg.lane_bits
    mask = p - 1
    values, diffs = table(cfg, "exp")
    db = max(diffs).bit_length() or 1
    depth = cfg.exp_lut_depth
    eb = vb + 1 + db
    rom = [Signal(intbv((v << db) | d)[eb:]) for v, d in zip(values, diffs)]
    n_bits = 2 * (vb + fb)  # Q = 2^N // S
    one = 1 << (vb + fb)
    e_max = one + 1          # E <= 1.0 in Q0.(16+F)
    s_max = e_max * (1 << 16)  # at most 65535 terms
    q_max = one + 1          # Q <= 2^N / 2^(16+F): S >= 1.0 (the largest element's E)
    split = 17               # operand pieces for 18x18 multiplier blocks
    State = enum("IDLE", "MAX", "SUM", "DIV", "OUT", "FIN")
    state = Signal(State.IDLE)
    src = Signal(intbv(0)[16:])
    dst = Signal(intbv(0)[16:])
    n = Signal(intbv(0)[17:])
    idx_shift = Signal(intbv(0)[6:])
    out_shift = Signal(intbv(0)[7:])
    issued = Signal(intbv(0)[17:])    # elements addressed in this pass
    consumed = Signal(intbv(0)[17:])  # elements finished in this pass
    fetch = Signal(bool(0))
    # valid flags of the element pipeline, v[k] for the element addressed k cycles ago
    v1, v2, v3, v4, v5, v6, v7, v8, v9, v10 = [Signal(bool(0)) for _ in range(10)]
    v11, v12, v13, v14, v15, v16 = [Signal(bool(0)) for _ in range(6)]
    l1, l2, l3 = [Signal(intbv(0)[lb:]) for _ in range(3)]
    z = Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1))
    m = Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1))
    u = Signal(intbv(0, min=0, max=1 << w))
    idx = Signal(intbv(0, min=0, max=depth + 1))
    frac, frac2, frac3 = [Signal(intbv(0)[max(fb, 1):]) for _ in range(3)]
    entry, entry_r = Signal(intbv(0)[eb:]), Signal(intbv(0)[eb:])
    tf = Signal(intbv(0, min=0, max=2 * one))
    dprod = Signal(intbv(0, min=0, max=2 * one))
    e_val = Signal(intbv(0, min=0, max=e_max))
    s_sum = Signal(intbv(0, min=0, max=s_max))
    div_rem = Signal(intbv(0, min=0, max=2 * s_max))
    rem_in = Signal(intbv(0, min=0, max=4 * s_max))
    quot = Signal(modbv(0)[n_bits + 1:])
    div_step = Signal(intbv(0, min=0, max=n_bits + 2))
    pmax = e_max * q_max
    e_lo, e_hi = Signal(intbv(0)[split:]), Signal(intbv(0)[split:])
    p_ll, p_lh, p_hl, p_hh = [Signal(intbv(0, min=0, max=pmax)) for _ in range(4)]
    p_mid = Signal(intbv(0, min=0, max=pmax))
    p_ll2, p_hh2, p_hh3 = [Signal(intbv(0, min=0, max=pmax)) for _ in range(3)]
    p_part = Signal(intbv(0, min=0, max=2 * pmax))
    prod = Signal(intbv(0, min=0, max=4 * pmax))
    tq = Signal(intbv(0, min=0, max=8 * pmax))
    out_k = Signal(intbv(0)[17:])
    top_code = cfg.data_max

    @always_comb
    def read_port():
        rd.en.next = fetch
        rd.addr.next = (src + issued) & 0xFFFF

    @always_comb
    def division_input():
        if div_step == 0:
            rem_in.next = 1  # the dividend 2^N: its only set bit enters first
        else:
            rem_in.next = div_rem << 1

    @always_seq(clk.posedge, reset=rst)
    def control():
        done.next = 0
        wr.en.next = 0
        if fetch:  # the passes address one element per cycle; a state change restarts the count
            issued.next = issued + 1
            if issued == n - 1:
                fetch.next = 0
        if state == State.IDLE:
            if start:
                src.next = dec.src0
                rd.region.next = dec.src0_region
                dst.next = dec.dst
                n.next = dec.length
                idx_shift.next = dec.shift0
                out_shift.next = n_bits - dec.shift1
                issued.next = 0
                consumed.next = 0
                fetch.next = 1
                busy.next = 1
                state.next = State.MAX
        elif state == State.MAX:
            if v4:
                if consumed == 0 or z > m:
                    m.next = z
                consumed.next = consumed + 1
                if consumed == n - 1:
                    state.next = State.SUM
                    issued.next = 0
                    consumed.next = 0
                    fetch.next = 1
                    s_sum.next = 0
        elif state == State.SUM:
            if v10:
                s_sum.next = s_sum + e_val
                consumed.next = consumed + 1
                if consumed == n - 1:
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
                fetch.next = 1
                out_k.next = 0
        elif state == State.OUT:
            if v16:
                wr.en.next = 1
                wr.addr.next = dst + out_k
                wr.count.next = 1
                wr.region.next = REGION_E
                out_k.next = out_k + 1
                if out_k == n - 1:
                    state.next = State.FIN
        else:  # FIN: the last write lands at the end of the next cycle
            done.next = 1
            state.next = State.IDLE
        if done:
            busy.next = 0

    @always(clk.posedge)
    def element_pipe():
        # the element's lane of the row (Z and E give whole rows), then u = m - z >= 0 once m is
        # the maximum (passes 2 and 3), the table index, the exp ROM and E = T*2^F - |D|*frac
        qv = intbv(0)[w + 1 + 2 * fb:]
        if busy:
            v1.next = fetch
            v2.next = v1
            v3.next = v2
            v4.next = v3
            l1.next = rd.addr & mask
            l2.next = l1
            l3.next = l2
            lo = l3 * w
            z.next = rd_data[lo + w:lo].signed()
            v5.next = v4 and (state == State.SUM or state == State.OUT)
            if m >= z:
                u.next = m - z
            else:
                u.next = 0
            v6.next = v5
            qv[:] = (u << (2 * fb)) >> idx_shift
            if qv >> fb >= depth:
                idx.next = depth
                frac.next = 0
            else:
                idx.next = qv >> fb
                frac.next = qv & ((1 << fb) - 1)
            v7.next = v6
            entry.next = rom[idx]
            frac2.next = frac
            v8.next = v7
            entry_r.next = entry  # the ROM output goes straight into a register
            frac3.next = frac2
            v9.next = v8
            tf.next = entry_r[eb:db] << fb
            dprod.next = entry_r[db:] * frac3
            v10.next = v9
            e_val.next = tf - dprod  # exp(-u) decreases

    @always(clk.posedge)
    def scale_pipe():
        # p = E*Q in 17-bit pieces (multiplier blocks with registered inputs and outputs), rounded
        if busy:
            v11.next = v10 and state == State.OUT
            e_lo.next = e_val[split:]
            e_hi.next = e_val >> split
            v12.next = v11
            p_ll.next = e_lo * quot[split:]
            p_lh.next = e_lo * (quot >> split)
            p_hl.next = e_hi * quot[split:]
            p_hh.next = e_hi * (quot >> split)
            v13.next = v12
            p_mid.next = p_lh + p_hl
            p_ll2.next = p_ll
            p_hh2.next = p_hh
            v14.next = v13
            p_part.next = p_ll2 + (p_mid << split)
            p_hh3.next = p_hh2
            v15.next = v14
            prod.next = p_part + (p_hh3 << (2 * split))
            v16.next = v15
            # round(prod / 2^s) to nearest, ties up; s = N - shift1 >= 1
            tq.next = prod >> (out_shift - 1)

    @always(clk.posedge)
    def saturate():
        # p <= 1, so only the top saturates (1.0 clipped to the largest code: not counted)
        low = intbv(0)[w + 2:]
        if v16:
            if tq >= 2 * top_code + 1:
                for lane in range(p):
                    lo = lane * w
                    wr.data.next[lo + w:lo] = top_code
            else:
                low[:] = tq[w + 1:] + 1
                for lane in range(p):
                    lo = lane * w
                    wr.data.next[lo + w:lo] = low[w + 1:1]

    return read_port, division_input, control, element_pipe, scale_pipe, saturate


@block
def act_kernel(cfg: ProcessorConfig, clk, rst, ctl, dec, rd, wr):
    """Executes ACT over `length` elements: func 0-3 (sigmoid, tanh, hard-sigmoid, softsign) P
    elements per cycle through the lanes; func 4 (softmax) through the element-serial softmax unit.

    Ports:
      clk, rst  clock; synchronous active-high reset (idle, nothing in flight)
      ctl       KernelCtl: start in; ready (element-wise functions; a softmax needs the kernel
                empty, which the issue unit checks), busy, done out
      dec       Decoded fields, sampled at start: func, dst, src0, length, shift0, shift1 and the
                regions of src0 and dst
      rd        AbufReadPort (en, region, addr out; data in); wr AbufWritePort out
    Timing, element-wise: words of P elements, one per cycle from the cycle after start; the
    next instruction may start in the cycle of the last word (vector_unit.stream_control); the
    done pulse comes act_latency(cfg) cycles after the last word, in the cycle whose end its
    write lands. Busy cycles per instruction alone: ceil(length/P) + act_latency(cfg).
    Softmax: softmax_cycles() from start to done, alone in the kernel.
    Reset: synchronous, both paths idle."""
    p, w, lb = cfg.lanes, cfg.data_bits, cfg.lane_bits
    vb, fb = cfg.LUT_VALUE_BITS, cfg.lut_frac_bits
    SOFTMAX = int(isa.ActFunc.SOFTMAX)
    TANH, SOFTSIGN, HARD_SIGMOID = int(isa.ActFunc.TANH), int(isa.ActFunc.SOFTSIGN), int(isa.ActFunc.HARD_SIGMOID)

    # the element-wise path and the softmax unit each get their own port signals
    rd_vec, rd_smx = AbufReadPort(cfg), AbufReadPort(cfg)
    wr_smx = AbufWritePort(cfg)
    unused = AbufReadPort(cfg)
    vec_start, smx_start = Signal(bool(0)), Signal(bool(0))
    vec_done, smx_done, smx_busy = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    vec_en, vec_addr, vec_region = Signal(bool(0)), Signal(intbv(0)[16:]), Signal(intbv(0)[2:])

    @always_comb
    def dispatch():
        vec_start.next = ctl.start and dec.func != SOFTMAX
        smx_start.next = ctl.start and dec.func == SOFTMAX
        ctl.done.next = vec_done or smx_done

    @always_comb
    def read_merge():
        rd.en.next = rd_vec.en or rd_smx.en
        if rd_smx.en:
            rd.addr.next = rd_smx.addr
            rd.region.next = rd_smx.region
        else:
            rd.addr.next = rd_vec.addr
            rd.region.next = rd_vec.region

    # ---- element-wise path ---------------------------------------------------------------------------
    s_tsel = Signal(intbv(0)[2:])
    s_tanh, s_odd = Signal(bool(0)), Signal(bool(0))
    s_idx_shift = Signal(intbv(0)[6:])
    s_out_shift = Signal(intbv(0)[6:])
    s_region = Signal(intbv(0)[2:])

    @always_seq(clk.posedge, reset=rst)
    def latch():
        if vec_start:
            s_tanh.next = dec.func == TANH
            s_odd.next = dec.func == SOFTSIGN
            if dec.func == SOFTSIGN:
                s_tsel.next = T_SOFTSIGN
            elif dec.func == HARD_SIGMOID:
                s_tsel.next = T_HARD_SIGMOID
            else:
                s_tsel.next = T_SIGMOID
            s_idx_shift.next = dec.shift0
            s_out_shift.next = vb + fb - dec.shift1
            s_region.next = dec.dst_region

    seq_valid, seq_last = Signal(bool(0)), Signal(bool(0))
    seq_count = Signal(intbv(0, min=0, max=p + 1))
    seq_waddr = Signal(intbv(0)[16:])
    seq = vector_sequencer(cfg, clk, rst, vec_start, dec, rd_vec, unused, seq_valid, seq_last, seq_count,
                           seq_waddr)
    smx_holds = Signal(bool(0))  # a softmax is in flight and not done in this cycle

    @always_comb
    def softmax_holds():
        smx_holds.next = smx_busy and not smx_done

    handshake = stream_control(clk, rst, ctl, seq_valid, seq_last, smx_holds)

    # control of each word: valid, last, count, waddr, region, tsel, tanh, odd, idx_shift, out_shift
    nb = lb + 1
    ctl0 = ConcatSignal(s_out_shift, s_idx_shift, s_odd, s_tanh, s_tsel, s_region, seq_waddr, seq_count,
                        seq_last, seq_valid)
    o_valid, o_last, o_count = 0, 1, 2
    o_waddr = o_count + nb
    o_region = o_waddr + 16
    o_tsel = o_region + 2
    o_tanh = o_tsel + 2
    o_odd = o_tanh + 1
    o_idx = o_odd + 1
    o_out = o_idx + 6
    cw = len(ctl0)
    assert o_out + 6 == cw
    L = READ_LATENCY
    t_index, t_address, t_symmetry, t_round, t_sat = L + 1, L + 2, L + 7, L + 8, L + 9
    c_index, c_address, c_symmetry, c_round, c_sat = [Signal(intbv(0)[cw:]) for _ in range(5)]
    line = [Signal(intbv(0)[cw:]) for _ in range(t_sat - 1)]

    @always(clk.posedge)
    def control_line():
        # c_X holds, in cycle t + X, the control of the word presented in cycle t
        if rst:
            for k in range(t_sat - 1):
                line[k].next = 0
            c_index.next = 0
            c_address.next = 0
            c_symmetry.next = 0
            c_round.next = 0
            c_sat.next = 0
        elif ctl.busy and not smx_busy:
            line[0].next = ctl0
            for k in range(1, t_sat - 1):
                line[k].next = line[k - 1]
            c_index.next = line[t_index - 2]
            c_address.next = line[t_address - 2]
            c_symmetry.next = line[t_symmetry - 2]
            c_round.next = line[t_round - 2]
            c_sat.next = line[t_sat - 2]

    lane_en = Signal(bool(0))

    @always_comb
    def lanes_enable():
        lane_en.next = ctl.busy and not smx_busy

    one = 1 << (vb + fb)
    tq = [Signal(intbv(0, min=-2 * one, max=2 * one + 2)) for _ in range(p)]
    lanes = act_lanes(cfg, clk, lane_en, rd.data, c_index(o_out, o_idx), c_address(o_tanh, o_tsel),
                      c_symmetry(o_tanh), c_symmetry(o_odd), c_round(o_out + 6, o_out), tq)
    wr_vec = AbufWritePort(cfg)
    done_d = Signal(bool(0))
    top_code, bottom_code = cfg.data_max, cfg.data_min & ((1 << w) - 1)
    over_at, under_at = 2 * cfg.data_max + 1, 2 * cfg.data_min - 2

    @always_seq(clk.posedge, reset=rst)
    def saturate_write():
        # bounded functions: clipping 1.0 to the largest code is not an overflow, so not counted
        low = intbv(0)[w + 2:]
        valid = bool(c_sat[o_valid])
        wr_vec.en.next = valid
        done_d.next = valid and bool(c_sat[o_last])
        vec_done.next = done_d
        if valid:
            wr_vec.addr.next = c_sat[o_region:o_waddr]
            wr_vec.region.next = c_sat[o_tsel:o_region]
            wr_vec.count.next = c_sat[o_waddr:o_count]
            for lane in range(p):
                lo = lane * w
                if tq[lane] >= over_at:
                    wr_vec.data.next[lo + w:lo] = top_code
                elif tq[lane] <= under_at:
                    wr_vec.data.next[lo + w:lo] = bottom_code
                else:
                    low[:] = tq[lane][w + 1:] + 1
                    wr_vec.data.next[lo + w:lo] = low[w + 1:1]

    @always_comb
    def write_merge():
        if wr_smx.en:
            wr.en.next = 1
            wr.addr.next = wr_smx.addr
            wr.region.next = wr_smx.region
            wr.count.next = wr_smx.count
            wr.data.next = wr_smx.data
        else:
            wr.en.next = wr_vec.en
            wr.addr.next = wr_vec.addr
            wr.region.next = wr_vec.region
            wr.count.next = wr_vec.count
            wr.data.next = wr_vec.data

    smx = softmax_unit(cfg, clk, rst, smx_start, smx_done, smx_busy, dec, rd_smx, rd.data, wr_smx)
    return (dispatch, read_merge, latch, seq, softmax_holds, handshake, control_line, lanes_enable, lanes,
            saturate_write, write_merge, smx)

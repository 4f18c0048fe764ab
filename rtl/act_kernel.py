"""Activation kernel: sigmoid, tanh, hard-sigmoid and softsign of P elements per cycle from
interpolated tables, and softmax over a vector (element-serial: max, exp table, sum, one division).

The three element-wise tables are one ROM (block RAM) indexed by {table base + index}; each ROM
copy has two read ports and serves two lanes, so P lanes need P/2 copies. The softmax unit has its
own exp ROM.

Arithmetic of a lane (the golden model's, rearranged so that every stage is short):
  - index: q = (|x| << 2F) >> shift0; only the bits the table index and the fraction need are
    built, and "at or past the end" (index >= L) is decided by a per-instruction threshold on |x|
    (L is a power of two, so |x| >= 2^th). Past the end the lane reads entry L-1 with a fraction
    of exactly 1.0: T[L-1] + D[L-1] = T[L], the golden model's value there, so no table stores
    entry L.
  - f(|x|) = T[i]*2^F + D[i]*frac, and the symmetry c + k*f(|x|) (k = 1, -1, 2, -2; c = 0, +-1.0)
    with the rounding constant 2^(s-1) of the output shift s = V + F - shift1 (table values
    Q0.V, V = lut_value_bits), is summed as
    (U << F) + k*D*frac with U = c/2^F + k*T + (rounding above bit F): U is a bit pattern of T
    (k*T with c is a complement and a shift of T's bits) plus a carry, one short addition beside
    the multiplier, and the rounding constant's bits below F sit in the zero bits of U << F.
  - round and saturate like the EW kernel: the sum is registered on its own, saturation is then
    decided on it (the bits from s + W - 1 up all equal) with a coarse shift (a multiple of W)
    beside it, and the fine shift of the W output bits is in the last stage.
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, concat, enum, intbv, modbv

from . import isa
from .config import ProcessorConfig, clog2
from .interfaces import READ_LATENCY, AbufReadPort, AbufWritePort
from .lut import diff_bits, table
from .vector_unit import stream_control, vector_sequencer

# Table selection in a lane
T_SIGMOID, T_HARD_SIGMOID, T_SOFTSIGN = 0, 1, 2
TABLE_NAMES = {T_SIGMOID: "sigmoid", T_HARD_SIGMOID: "hard-sigmoid", T_SOFTSIGN: "softsign"}
REGION_E = int(isa.Region.E)


def act_latency(cfg: ProcessorConfig) -> int:
    """Cycles from the cycle an element-wise instruction presents its last word to its done pulse:
    read (READ_LATENCY), |x| (1), shifted index (1), address into the ROM's address register (1),
    ROM output register (1), multiplier input registers (1), product and U (1), sum (1), coarse
    shift and saturation decision (1), fine shift (1), done (1: the cycle after the write's en)."""
    return READ_LATENCY + 10


def rom_layout(cfg: ProcessorConfig) -> tuple[dict[int, int], int, int]:
    """The element-wise ROM: base entry of each table (T_* -> base), entry width, depth (a power
    of two). Each table has its L entries (entry L is never read, see the module docstring); the
    tables lie largest first, so each base is a multiple of its table's size and an address is
    base | index. Entry = (value << diff_bits) | difference."""
    sizes = {T_SIGMOID: cfg.lut_depth, T_HARD_SIGMOID: cfg.lut_depth, T_SOFTSIGN: cfg.softsign_lut_depth}
    base, at = {}, 0
    for t in sorted(sizes, key=lambda k: -sizes[k]):
        base[t] = at
        at += sizes[t]
    return base, cfg.lut_value_bits + diff_bits(cfg), 1 << clog2(at)


def rom_contents(cfg: ProcessorConfig) -> tuple[int, ...]:
    """Entries of the element-wise ROM (rtl.lut tables, in rom_layout's order; zero padded)."""
    base, _, depth = rom_layout(cfg)
    db = diff_bits(cfg)
    out = [0] * depth
    for t, name in TABLE_NAMES.items():
        values, diffs = table(cfg, name)
        for i in range(cfg.table_depth(name)):
            out[base[t] + i] = (values[i] << db) | diffs[i]
    return tuple(out)


@block
def table_rom(cfg: ProcessorConfig, clk, addr_a, addr_b, q_a, q_b):
    """One copy of the element-wise ROM with two read ports (two lanes).

    Ports: clk; addr_a, addr_b (in); q_a, q_b (out, registered entries, read every cycle).
    Latency 1. No reset: a ROM."""
    contents = rom_contents(cfg)
    _, eb, _ = rom_layout(cfg)
    rom = [Signal(intbv(v)[eb:]) for v in contents]

    @always(clk.posedge)
    def read():
        q_a.next = rom[addr_a]
        q_b.next = rom[addr_b]

    return read


@block
def index_window(w: int, fb: int, qw: int, ab: int, clk, mag, shift0, pe_mask, idx_mask, base, addr, fracx):
    """The table address and interpolation fraction of one magnitude, in two steps: registered,
    q = (mag << 2F) >> shift0 (only its low F + index bits) and past the end pe = mag >= 2^th
    (pe_mask = the bits of mag from th up); then combinational, from those registers (so that
    only one level of logic sits before the ROM's address register): address = base | index
    (index bits where idx_mask is set), entry L-1 past the end; fraction (F+1 bits) = q mod 2^F,
    or 2^F (exactly 1.0) past the end. idx_mask and base None: one table of 2^ab entries (every
    address bit an index bit).

    Ports: clk; mag (in, W bits unsigned), shift0, pe_mask (in, per instruction, in
    mag's cycle); idx_mask, base (in, per instruction, one cycle later); addr (out, ab bits),
    fracx (out, F+1 bits). Latency 1 from mag to addr and fracx. No reset: only valid words are
    written."""
    ext_w = w + 2 * fb
    ib = min(qw - fb, ab)   # index bits
    q = Signal(intbv(0)[qw:])
    pe = Signal(bool(0))

    @always(clk.posedge)
    def shift():
        ext = intbv(0)[ext_w:]
        sh = intbv(0)[ext_w:]
        ext[:] = mag << (2 * fb)
        sh[:] = ext >> shift0
        q.next = sh[qw:]
        pe.next = (mag & pe_mask) != 0

    if idx_mask is None:
        @always_comb
        def index():
            a = intbv(0)[ab:]
            fx = intbv(0)[fb + 1:]
            for b in range(ab):
                a[b] = pe or q[fb + b]
            if pe:
                fx[:] = 1 << fb
            else:
                fx[:] = q[fb:]
            addr.next = a
            fracx.next = fx
    else:
        @always_comb
        def index():
            a = intbv(0)[ab:]
            fx = intbv(0)[fb + 1:]
            for b in range(ib):
                if idx_mask[b]:
                    a[b] = pe or q[fb + b]
                else:
                    a[b] = base[b]
            for b in range(ib, ab):
                a[b] = base[b]
            if pe:
                fx[:] = 1 << fb
            else:
                fx[:] = q[fb:]
            addr.next = a
            fracx.next = fx

    return shift, index


@block
def act_lanes(cfg: ProcessorConfig, clk, data, smx_sel, smx_u, k2_shift0, k2_pe_mask, k3_idx_mask, k3_base,
              k4_tanh, k6_tanh, k6_ss, k6_hhi, k7_hlow, k8_coarse, k8_mask, r2, fits, neg, addr0, frac0):
    """All P lanes up to the fine shift, one process per pipeline stage for all lanes:
      1. mag = |x|, the sign
      2. q = (mag << 2F) >> shift0 (its low bits) and past-the-end, registered (index_window)
      3. table address (one level of logic from q) into the ROM's address register; fraction
         register
      4. ROM output register: T, D; the multiplier's fraction k*frac (k = +-1, +-2)
      5. the multiplier's input registers: D, k*frac (and T beside them), fabric flip-flops that
         the placer can put near the MULT18: a lane's block RAM and its multiplier lie apart on
         the die, and that one net (3.35 to 3.82 ns) plus the multiplier's 2.64 ns limited three
         of 8724a10's four placements to 139.0 to 148.7 MHz
      6. P = D * (k*frac) (a multiplier block, registered inputs and output); U = M(T) + h + neg,
         M the bit pattern of k*T + c/2^F for the function and sign
      7. sv = ((U << F) | h_low) + P, registered: the carry chain alone in its cycle
      8. r2 = the low 2W-1 bits of sv >> (coarse*W); fits = bits of sv from s+W-1 up all equal;
         neg = sv < 0
    Ports: clk; data (in, P*W-bit word, READ_LATENCY after the word's address);
    smx_sel, smx_u (in: lane 0's stage 1 takes smx_u instead of |x|, for the softmax unit);
    k2_shift0, k2_pe_mask (in: shift0 and the past-end mask, for the word in stage 2),
    k3_idx_mask, k3_base (in: address index mask and table base, stage 3), k4_tanh (stage 4),
    k6_tanh, k6_ss, k6_hhi (stage 6: tanh, softsign, the rounding constant's bits from F up,
    shifted down by F), k7_hlow (stage 7: the rounding constant's bits below F), k8_coarse,
    k8_mask (stage 8: the coarse shift in units of W, which bit pairs of sv must agree: pair i =
    bits W-1+i and W+i); r2 (out, list of P signals), fits, neg (out, P bits each); addr0 (out,
    lane 0's ROM address, combinational, max(ROM, exp table) address bits), frac0 (out, lane 0's
    fraction register): the softmax unit's exp ROM reads them.
    Latency 8 from data to r2. No reset and no enable: only valid words are written, by the
    control line beside them, and the stages advance every cycle (the kernel is busy while any
    word is in flight; when it is idle they carry don't-care words), so no net reaches every
    register of every lane. With the kernel's `busy` as their enable, that net (one LUT driving
    the clock enables of 2,781 flip-flops, 16 multipliers and the ROMs' block RAMs) made 809
    endpoints late at 150 MHz, 124.0 MHz (docs/architecture.md)."""
    p, w, fb, vb = cfg.lanes, cfg.data_bits, cfg.lut_frac_bits, cfg.lut_value_bits
    base_of, eb, depth_rom = rom_layout(cfg)
    db = diff_bits(cfg)
    ab = clog2(depth_rom)
    ib = clog2(max(cfg.lut_depth, cfg.softsign_lut_depth))
    qw = fb + ib
    abx = len(addr0)                        # lane 0 also indexes the exp table
    qwx = fb + max(ib, clog2(cfg.exp_lut_depth))
    sb = vb + fb + 2                        # sum width: |sv| <= 2^(V+F) + 2^(V-1+F)
    fw = fb + 3                             # k*frac, |k*frac| <= 2^(F+1)
    rw = 2 * w - 1                          # the bits the fine shift reads
    xw = max(sb, rw)

    mag = [Signal(intbv(0)[w:]) for _ in range(p)]   # |x| <= 2^(W-1); lane 0: or the softmax's u < 2^W
    neg1, neg2, neg3, neg4, neg5 = [Signal(intbv(0)[p:]) for _ in range(5)]
    addr = [addr0] + [Signal(intbv(0)[ab:]) for _ in range(p - 1)]
    fracx_c = [Signal(intbv(0)[fb + 1:]) for _ in range(p)]
    fracx = [frac0] + [Signal(intbv(0)[fb + 1:]) for _ in range(p - 1)]
    rom_q = [Signal(intbv(0)[eb:]) for _ in range(p)]
    tv = [Signal(intbv(0)[vb:]) for _ in range(p)]
    dv = [Signal(intbv(0)[db:]) for _ in range(p)]
    kfrac = [Signal(intbv(0, min=-(1 << (fw - 1)), max=1 << (fw - 1))) for _ in range(p)]
    tv_m = [Signal(intbv(0)[vb:]) for _ in range(p)]
    dv_m = [Signal(intbv(0)[db:]) for _ in range(p)]
    kfrac_m = [Signal(intbv(0, min=-(1 << (fw - 1)), max=1 << (fw - 1))) for _ in range(p)]
    prod = [Signal(intbv(0, min=-(1 << (db + fw - 1)), max=1 << (db + fw - 1))) for _ in range(p)]
    u = [Signal(intbv(0, min=-(1 << (vb + 1)), max=1 << (vb + 1))) for _ in range(p)]
    sv = [Signal(intbv(0, min=-(1 << (sb - 1)), max=1 << (sb - 1))) for _ in range(p)]

    @always(clk.posedge)
    def absolute():
        xv = intbv(0, min=cfg.data_min, max=cfg.data_max + 1)
        sg = intbv(0)[p:]
        for lane in range(p):
            lo = lane * w
            xv[:] = data[lo + w:lo].signed()
            sg[lane] = xv < 0
            if lane == 0 and smx_sel:
                mag[lane].next = smx_u
            elif xv < 0:
                mag[lane].next = -xv
            else:
                mag[lane].next = xv
        neg1.next = sg

    # every lane gets the full-width mask and base (lanes past 0 read only their low ab bits)
    index = [index_window(w, fb, qwx, abx, clk, mag[0], k2_shift0, k2_pe_mask, k3_idx_mask, k3_base, addr0,
                          fracx_c[0])]
    index += [index_window(w, fb, qw, ab, clk, mag[lane], k2_shift0, k2_pe_mask, k3_idx_mask, k3_base,
                           addr[lane], fracx_c[lane]) for lane in range(1, p)]

    @always(clk.posedge)
    def index_register():
        # beside the ROM's own address register
        neg2.next = neg1
        neg3.next = neg2
        for lane in range(p):
            fracx[lane].next = fracx_c[lane]

    roms = []
    for i in range(p // 2):
        a, b = 2 * i, 2 * i + 1
        roms.append(table_rom(cfg, clk, addr[a](ab, 0) if a == 0 else addr[a], addr[b], rom_q[a], rom_q[b]))

    @always(clk.posedge)
    def rom_register():
        # the ROM outputs go straight into registers; beside them k*frac for the multiplier
        y = intbv(0)[fb + 2:]
        neg4.next = neg3
        for lane in range(p):
            tv[lane].next = rom_q[lane][eb:db]
            dv[lane].next = rom_q[lane][db:]
            if k4_tanh:
                y[:] = fracx[lane] << 1
            else:
                y[:] = fracx[lane]
            if neg3[lane]:
                kfrac[lane].next = -y
            else:
                kfrac[lane].next = y

    @always(clk.posedge)
    def multiplier_inputs():
        # fabric registers between the ROM's output register (in the block RAM) and the multiplier
        neg5.next = neg4
        for lane in range(p):
            tv_m[lane].next = tv[lane]
            dv_m[lane].next = dv[lane]
            kfrac_m[lane].next = kfrac[lane]

    @always(clk.posedge)
    def product():
        # U = c/2^F + k*T + h as a bit pattern of T plus a carry:
        #   sigmoid-like  x >= 0: T;  x < 0: 2^V - T = ~T + 1
        #   tanh          x >= 0: 2T - 2^V = {~T[V-1], ~T[V-1], T[V-2:0], 0};  x < 0: 2^V - 2T = ~(that) + 1
        #   softsign      x >= 0: T;  x < 0: -T = ~T (V+2 bits) + 1
        m = intbv(0)[vb + 2:]
        tt = intbv(0)[vb:]
        top = bool(0)
        for lane in range(p):
            prod[lane].next = dv_m[lane] * kfrac_m[lane]
            if k6_tanh:
                tt[:] = concat(tv_m[lane][vb - 1:], bool(0))
                top = bool(tv_m[lane][vb - 1]) == bool(neg5[lane])
            else:
                tt[:] = tv_m[lane]
                top = bool(k6_ss) and bool(neg5[lane])
            if neg5[lane]:
                m[vb:] = ~tt
            else:
                m[vb:] = tt
            m[vb] = top
            m[vb + 1] = top
            u[lane].next = m.signed() + k6_hhi + neg5[lane]

    @always(clk.posedge)
    def combine():
        for lane in range(p):
            sv[lane].next = concat(u[lane][vb + 2:], k7_hlow).signed() + prod[lane]

    @always(clk.posedge)
    def decide():
        # saturation decided on the registered sum; the coarse shift beside it
        sh = intbv(0, min=-(1 << (xw - 1)), max=1 << (xw - 1))   # sign-extended to the window
        pairs = intbv(0)[sb - w:]
        fit = intbv(0)[p:]
        sg = intbv(0)[p:]
        for lane in range(p):
            pairs[:] = (sv[lane][sb - 1:w - 1] ^ sv[lane][sb:w]) & k8_mask
            fit[lane] = pairs == 0
            sg[lane] = sv[lane] < 0
            sh[:] = sv[lane] >> (k8_coarse * w)
            r2[lane].next = sh[rw:]
        fits.next = fit
        neg.next = sg

    return absolute, index, index_register, roms, rom_register, multiplier_inputs, product, combine, decide


# Softmax: cycles from start to done beyond the three passes (n each) and the division: the
# buffer's read latency plus 15 cycles: the cycle after start (`started`), the element pipeline and
# the pass changes.
SOFTMAX_OVERHEAD = READ_LATENCY + 15


def softmax_cycles(cfg: ProcessorConfig, n: int) -> int:
    """Cycles from the start of a softmax of n >= 1 elements to its done: 3n + (V + F + 1) +
    SOFTMAX_OVERHEAD, V + F + 1 the quotient's bits (V = lut_value_bits, F = lut_frac_bits)."""
    return 3 * n + cfg.lut_value_bits + cfg.lut_frac_bits + 1 + SOFTMAX_OVERHEAD


@block
def softmax_unit(cfg: ProcessorConfig, clk, rst, load, start, done, done_soon, done_soon_next, busy, dec, rd, rd_data, wr, u_out,
                 eaddr, fr1):
    """Softmax of `length` (>= 1) elements, element-serial, in three passes over the source:

      1. m = max(z)
      2. E_k = exp(m - z_k) from the exp table (Q0.V values, interpolated, E = 1.0 for the
         largest element), S = sum(E_k)
      3. after one restoring division Q = 2^N // S (N = 2K, K = V+F; S >= 2^K, so Q <= 2^K and
         only the quotient's low K+1 bits are computed, one per cycle):
         p_k = saturate(round(E_k * Q / 2^(N - shift1))), written to dst + k

    Ports: clk, rst; load (in: a start may come in this cycle, the kernel's ready: a register.
    The per-instruction registers take dec's fields whenever it is high, start or not, so that
    `start`, late from the issue decision, enables only busy and `started`, which starts the
    fetch a cycle later); start (in:
    only in a cycle with load), done (out, pulse in the cycle after the last write's en),
    done_soon (out: done is high in the next cycle, a register), done_soon_next (out: done_soon of
    the next cycle, combinational from registers: the kernel's own done_soon register takes it),
    busy (out: from the cycle after start to done); dec (dst, src0 and its region, length and
    one_row, shift0 = exp index shift, shift1 = output fraction bits, sampled at start); rd (AbufReadPort:
    en, region, addr out), rd_data (in, the port's data: the row holding the element); wr
    (AbufWritePort out, one element per write, replicated in every lane); u_out (out, u = m - z,
    combinational, for lane 0 of the element-wise lanes, whose index stage the softmax borrows),
    eaddr, fr1 (in: that stage's exp table address, combinational, and fraction register).
    Passes: the max and sum passes read back to back (an element's u = m - z is formed after the
    last maximum update); the output pass reads so that its first product meets the last quotient
    bit. Pipeline per element, from its address cycle a, with L = READ_LATENCY: row a+L, element
    a+L+1 (max pass: compare against its own copy of the element, so that the comparison shares no
    logic with u), u = m - z into lane 0's magnitude register a+L+2, its shifted index a+L+3, exp
    ROM address register and fraction a+L+3, ROM output register a+L+4, D*frac a+L+5, E a+L+6 (sum
    pass: S += E at its end, S a+L+7), E*Q in 17-bit pieces a+L+7, partial sums a+L+8..a+L+10,
    coarse shift and saturation a+L+11, fine shift into the write register a+L+12.
    Latency: softmax_cycles(cfg, length) from start to done. Reset: synchronous, back to IDLE."""
    p, w, fb, vb, lb = cfg.lanes, cfg.data_bits, cfg.lut_frac_bits, cfg.lut_value_bits, cfg.lane_bits
    mask = p - 1
    values, diffs = table(cfg, "exp")
    depth = cfg.exp_lut_depth
    db = max(diffs).bit_length() or 1
    eb = vb + 1 + db
    rom = [Signal(intbv((values[i] << db) | diffs[i])[eb:]) for i in range(depth)]
    ie = clog2(depth)
    qw = fb + ie
    kk = vb + fb                       # K: E = 1.0 is 2^K
    n_bits = 2 * kk                    # Q = 2^N // S
    s_bits = kk + 17                   # S < 2^16 * 2^K
    split = 17                         # operand pieces for 18x18 multiplier blocks
    e_bits = kk + 1                    # E <= 2^K
    fwb = clog2(w)
    xb = kk + 3                        # X >> (K - 1) <= 2^(K+1) + 2^K
    s0b = clog2(2 * fb + w + 1)
    State = enum("IDLE", "RUN", "DIV", "OUT")
    state = Signal(State.IDLE)
    started = Signal(bool(0))          # the cycle after a start
    P_MAX, P_SUM, P_OUT = 1, 2, 3
    sp = kk - 1                        # X is kept from bit K-1 up (N - shift1 - 1 >= K - 1)
    n = Signal(intbv(0)[17:])
    src = Signal(intbv(0)[16:])
    raddr = Signal(intbv(0)[16:])
    oaddr = Signal(intbv(0)[16:])
    fetch = Signal(bool(0))
    fpass = Signal(intbv(0)[2:])        # the pass being fetched
    fleft = Signal(intbv(0)[17:])       # elements left to fetch in the pass, this one included
    fone = Signal(bool(0))              # fleft == 1, registered beside fleft (it selects fleft's next value)
    n_one = Signal(bool(0))             # n == 1
    sum_en = Signal(bool(0))            # e_val holds a term of the sum
    sum_last = Signal(bool(0))          # e_val holds the last term of the sum
    # per-instruction constants of the output pass, built serially while the first two passes
    # run: registers set to their value for shift1 = 0 at start, then shifted shift1 times
    rb = n_bits - 1 - sp                # R = 2^(N-1-shift1): R >> (K-1) is one-hot at rb - shift1
    rone = Signal(intbv(0)[rb + 1:])    # R >> (K-1)
    tb = n_bits - sp + w - 1            # the result fits when X >> (K-1) < 2^(tb - shift1)
    thermo = Signal(intbv(0)[tb + 1:])  # bits from tb - shift1 up
    jsh = Signal(intbv(0)[6:])          # the shift after >> (K-1): N - (K-1) - shift1
    fcount = Signal(intbv(0)[6:])       # shifts left to do
    # element pipeline: pass tag and last flag of the element addressed k cycles ago
    L = READ_LATENCY
    ntag = L + 13
    tags = [Signal(intbv(0)[2:]) for _ in range(ntag)]
    lasts = [Signal(bool(0)) for _ in range(ntag)]
    lsel = [Signal(intbv(0)[lb:]) for _ in range(L)]  # the element's lane, L cycles behind its address
    # elements and their maximum in offset binary (the sign bit inverted): the maximum's comparison
    # is then unsigned, the carry out of one chain; m - z is the same in either code
    sign = 1 << (w - 1)
    z = Signal(intbv(0)[w:])
    zc = Signal(intbv(0)[w:])          # z in the max pass, for the comparison
    cmp_en = Signal(bool(0))           # zc holds an element of the max pass
    m_first = Signal(bool(0))          # no element compared yet
    m = Signal(intbv(0)[w:])
    fr2 = Signal(intbv(0)[fb + 1:])
    entry = Signal(intbv(0)[eb:])
    tq, tq2 = [Signal(intbv(0)[vb + 1:]) for _ in range(2)]
    dq = Signal(intbv(0)[db:])
    dprod = Signal(intbv(0)[db + fb + 1:])
    e_val = Signal(intbv(0)[e_bits:])
    s_sum = Signal(intbv(0)[s_bits:])
    div_rem = Signal(intbv(0)[s_bits:])
    div_step = Signal(intbv(0)[6:])
    quot = Signal(modbv(0)[kk + 1:])
    e1b, q1b = max(e_bits - split, 1), max(kk + 1 - split, 1)   # widths of the high pieces
    p00, p00d = Signal(intbv(0)[2 * split:]), Signal(intbv(0)[2 * split:])
    p01 = Signal(intbv(0)[split + q1b:])
    p10 = Signal(intbv(0)[e1b + split:])
    p11 = Signal(intbv(0)[e1b + q1b:])
    pm = Signal(intbv(0)[split + max(e1b, q1b) + 1:])
    ph = Signal(intbv(0)[vb + 1:])
    lo_hi = Signal(intbv(0)[2 * split + 2 + max(0, split - sp):])  # (p00 + pm << 17) >> min(17, K-1)
    ph2 = Signal(intbv(0)[vb + 1:])
    xq = Signal(intbv(0)[xb:])                   # (E*Q + R) >> (K-1)
    xw = min(2 * w - 1, xb)
    x2 = Signal(intbv(0)[xw:])
    ofits = Signal(bool(0))
    top_code = cfg.data_max

    @always_comb
    def read_port():
        rd.en.next = fetch
        rd.addr.next = raddr

    @always_comb
    def u_port():
        u_out.next = (m - z) & ((1 << w) - 1)   # m >= z in the sum and output passes

    @always_comb
    def done_ahead():
        # done is high after the cycle of the last element's write enable: wr.en and the last
        # element's tag at L + 12. In the next cycle wr.en is tags[L + 11] == P_OUT of this one
        # (output), and the tags move on only while busy (element_pipe; reset clears both)
        if busy:
            done_soon_next.next = tags[L + 11] == P_OUT and lasts[L + 11]
        else:
            done_soon_next.next = tags[L + 11] == P_OUT and tags[L + 12] == P_OUT and lasts[L + 12]

    @always_seq(clk.posedge, reset=rst)
    def done_register():
        done_soon.next = done_soon_next

    @always(clk.posedge)
    def constants():
        # per-instruction constants: sampled while a start may come (load), built after it
        if load:
            rone.next = 1 << rb
            thermo.next = 1 << tb
            jsh.next = n_bits - sp
            fcount.next = dec.shift1[6:]
        elif fcount != 0:
            rone.next = rone >> 1
            thermo.next = (thermo >> 1) | (1 << tb)
            jsh.next = jsh - 1
            fcount.next = fcount - 1

    @always_seq(clk.posedge, reset=rst)
    def control():
        diff = intbv(0, min=-(1 << s_bits), max=1 << s_bits)
        if fetch:  # one element per cycle; the sum pass follows the max pass without a gap
            raddr.next = raddr + 1
            fleft.next = fleft - 1
            fone.next = fleft == 2
            if fone:
                if fpass == P_MAX:
                    fpass.next = P_SUM
                    fleft.next = n
                    fone.next = n_one
                    raddr.next = src
                else:
                    fetch.next = 0
        # a start comes when the unit is idle or in the done cycle of the previous softmax (the
        # issue unit frees the ACT kernel in its done cycle): the pipelines have drained by then,
        # so the fields load in every such cycle (load) and the late start sets only the state
        if load:
            src.next = dec.src0
            raddr.next = dec.src0
            rd.region.next = dec.src0_region
            oaddr.next = dec.dst
            n.next = dec.length
            fleft.next = dec.length
            fone.next = dec.one_row      # length == 1, predecoded
            n_one.next = dec.one_row
            fpass.next = P_MAX
        # a start comes only in IDLE or OUT (see above), so RUN and DIV do not test it: the late
        # start then enables neither the divider's registers nor its step counter
        if state == State.RUN:
            # max and sum passes; the division starts after the last term of the sum
            if sum_last:
                state.next = State.DIV
                div_rem.next = 1 << (kk - 1)
                div_step.next = 0
                quot.next = 0
        elif state == State.DIV:
            # restoring division of 2^N by S, quotient bits K .. 0, one per cycle
            diff[:] = (div_rem << 1) - s_sum  # one subtraction; its sign is the comparison
            if diff >= 0:
                div_rem.next = diff
                quot.next = (quot << 1) | 1
            else:
                div_rem.next = div_rem << 1
                quot.next = quot << 1
            div_step.next = div_step + 1
            if div_step == kk - 7 - L:  # the first output element's product meets the last quotient bit
                fetch.next = 1
                fpass.next = P_OUT
                fleft.next = n
                fone.next = n_one
                raddr.next = src
            if div_step == kk:
                state.next = State.OUT
        # the start, late from the issue decision, sets only busy and `started`; the fetch and
        # the state follow from `started` a cycle later. Set from the start itself, the state's
        # reset term was the end of the decision's path: the issue unit's state -> three LUTs ->
        # a 1.94 ns net -> three LUTs -> the state's LSR, 8.11 ns (8724a10 + the ACT lanes'
        # multiplier input registers, seed 2)
        started.next = start
        if start:
            busy.next = 1
        if started:
            fetch.next = 1
            state.next = State.RUN
        # OUT: the element pipeline writes; done in the cycle after the last write's en
        if tags[L + 11] == P_OUT:
            oaddr.next = oaddr + 1
        done.next = done_soon
        if done:
            state.next = State.IDLE     # a start now enters RUN through `started`
            if not start:
                busy.next = 0

    @always(clk.posedge)
    def element_pipe():
        # tags[k] and lasts[k] hold, in cycle a+k+1, the pass and last flag of the element
        # addressed in cycle a
        lo = intbv(0, min=0, max=p * w)
        if rst:
            for k in range(ntag):
                tags[k].next = 0
                lasts[k].next = 0
            cmp_en.next = 0
            sum_en.next = 0
            sum_last.next = 0
        elif busy:
            if fetch:
                tags[0].next = fpass
            else:
                tags[0].next = 0
            lasts[0].next = fetch and fone
            for k in range(1, ntag):
                tags[k].next = tags[k - 1]
                lasts[k].next = lasts[k - 1]
            lsel[0].next = raddr[lb:]
            for k in range(1, L):
                lsel[k].next = lsel[k - 1]
            lo[:] = lsel[L - 1] * w
            z.next = rd_data[lo + w:lo] ^ sign          # a+L -> valid a+L+1
            if tags[L - 1] == P_MAX:
                zc.next = rd_data[lo + w:lo] ^ sign
            cmp_en.next = tags[L - 1] == P_MAX
            # a+L+1: u = m - z -> lane 0's magnitude, a+L+2: its shifted index, a+L+3: its address
            # -> exp ROM, its fraction register
            entry.next = rom[eaddr[ie:]]                # a+L+3 -> output a+L+4
            fr2.next = fr1
            tq.next = entry[eb:db]                      # ROM output register, a+L+4 -> a+L+5
            dq.next = entry[db:]
            tq2.next = tq
            dprod.next = dq * fr2                       # a+L+5 -> a+L+6
            e_val.next = (tq2 << fb) - dprod            # a+L+6 -> a+L+7 (exp(-u) decreases)
            sum_en.next = tags[L + 5] == P_SUM          # e_val's term in a+L+7
            sum_last.next = tags[L + 5] == P_SUM and lasts[L + 5]

    @always(clk.posedge)
    def accumulate():
        # S = sum(E), cleared while a start may come (only the enable and the clear before the registers)
        if load:
            s_sum.next = 0
        elif sum_en:
            s_sum.next = s_sum + e_val              # a+L+7

    @always(clk.posedge)
    def maximum():
        # m = max(z) over the max pass, one element per cycle: the first element loads, the
        # others load when greater (only the comparison and one gate before the enable)
        if load:
            m_first.next = 1
        elif cmp_en:
            m_first.next = 0
        if cmp_en and (m_first or zc > m):
            m.next = zc

    # the rounding constant R in the two places the sums take it: R >> 2*split beside p11, and
    # (R >> sp) mod 2^(2*split - sp) below it. With K = 16 (int8's tables) R < 2^(2*split): the
    # first is 0 and the second is all of R >> sp.
    lo_w = 2 * split - sp
    r_hi = Signal(intbv(0)[max(rb + 1 - lo_w, 1):])
    r_lo = Signal(intbv(0)[lo_w:])
    if lo_w <= rb:
        @always_comb
        def rounding_parts():
            r_hi.next = rone[rb + 1:lo_w]
            r_lo.next = rone[lo_w:]
    else:
        @always_comb
        def rounding_parts():
            r_hi.next = 0
            r_lo.next = rone

    @always(clk.posedge)
    def products():
        # p = E*Q in 17-bit pieces (multiplier blocks with registered inputs and outputs), plus
        # the rounding constant R; only the bits from K-1 up are kept
        if busy:
            p00.next = e_val[split:] * quot[split:]                 # a+L+7 -> a+L+8
            p01.next = e_val[split:] * (quot >> split)
            p10.next = (e_val >> split) * quot[split:]
            p11.next = (e_val >> split) * (quot >> split)
            pm.next = p01 + p10                                     # a+L+8 -> a+L+9
            ph.next = p11 + r_hi
            p00d.next = p00
            ph2.next = ph

    if sp >= split:
        @always(clk.posedge)
        def partial_sums():
            if busy:
                lo_hi.next = (p00d >> split) + pm                   # a+L+9 -> a+L+10
                xq.next = (lo_hi >> (sp - split)) + concat(ph2, r_lo)  # a+L+10 -> a+L+11
    else:
        @always(clk.posedge)
        def partial_sums():
            if busy:
                lo_hi.next = (p00d >> sp) + (pm << (split - sp))
                xq.next = lo_hi + concat(ph2, r_lo)

    @always_seq(clk.posedge, reset=rst)
    def output():
        xs = intbv(0)[xb:]
        t = intbv(0)[xw:]
        xs[:] = xq >> (jsh[6:fwb] * w)
        x2.next = xs[xw:]                                    # a+L+11 -> a+L+12
        ofits.next = (xq & thermo[xb:]) == 0
        wr.en.next = 0
        if tags[L + 11] == P_OUT:                                   # a+L+12 -> write register a+L+13
            t[:] = x2 >> jsh[fwb:]
            wr.en.next = 1
            wr.addr.next = oaddr
            wr.count.next = 1
            wr.region.next = REGION_E
            for lane in range(p):
                lo = lane * w
                if ofits:
                    wr.data.next[lo + w:lo] = t[w:]
                else:
                    wr.data.next[lo + w:lo] = top_code

    return (read_port, u_port, done_ahead, done_register, constants, control, element_pipe, accumulate, maximum, rounding_parts,
            products, partial_sums, output)


@block
def act_kernel(cfg: ProcessorConfig, clk, rst, ctl, dec, rd, wr):
    """Executes ACT over `length` elements: func 0-3 (sigmoid, tanh, hard-sigmoid, softsign) P
    elements per cycle through the lanes; func 4 (softmax) through the element-serial softmax unit.

    Ports:
      clk, rst  clock; synchronous active-high reset (idle, nothing in flight)
      ctl       KernelCtl: start in; ready (element-wise functions; a softmax needs the kernel
                empty, which the issue unit checks), busy, done out
      dec       Decoded fields, sampled at start: func, dst, src0, length (and one_row), shift0,
                shift1 and the regions of src0 and dst
      rd        AbufReadPort (en, region, addr out; data in); wr AbufWritePort out
    Timing, element-wise: words of P elements, one per cycle from the cycle after start; the
    next instruction may start in the cycle of the last word (vector_unit.stream_control); the
    done pulse comes act_latency(cfg) cycles after the last word, in the cycle after its write's
    en (the write lands at the end of the next cycle, WRITE_LATENCY). Busy cycles per instruction alone: ceil(length/P) + act_latency(cfg).
    Softmax: softmax_cycles() from start to done, alone in the kernel.
    Reset: synchronous, both paths idle."""
    p, w, lb = cfg.lanes, cfg.data_bits, cfg.lane_bits
    vb, fb = cfg.lut_value_bits, cfg.lut_frac_bits
    SOFTMAX = int(isa.ActFunc.SOFTMAX)
    TANH, SOFTSIGN, HARD_SIGMOID = int(isa.ActFunc.TANH), int(isa.ActFunc.SOFTSIGN), int(isa.ActFunc.HARD_SIGMOID)
    base_of, _, depth_rom = rom_layout(cfg)
    ab = clog2(depth_rom)
    s0b = clog2(2 * fb + w + 1)          # shift0 <= 2F + W
    ob = clog2(vb + fb + 1)              # s = V + F - shift1 <= V + F
    fwb = clog2(w)
    sb = vb + fb + 2
    lt_sigmoid, lt_softsign, lt_exp = clog2(cfg.lut_depth), clog2(cfg.softsign_lut_depth), clog2(cfg.exp_lut_depth)
    abx = max(ab, lt_exp)                # lane 0's address: the element-wise ROM's or the exp table's
    base_sigmoid, base_hard, base_softsign = base_of[T_SIGMOID], base_of[T_HARD_SIGMOID], base_of[T_SOFTSIGN]

    # the element-wise path and the softmax unit each get their own port signals
    rd_vec, rd_smx = AbufReadPort(cfg), AbufReadPort(cfg)
    wr_smx = AbufWritePort(cfg)
    unused = AbufReadPort(cfg)
    vec_start, smx_start = Signal(bool(0)), Signal(bool(0))
    vec_done, smx_done, smx_busy = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    smx_done_soon, smx_done_soon_next = Signal(bool(0)), Signal(bool(0))

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
    # per-instruction parameters, decoded once at start (a softmax decodes the exp table's, for lane 0's
    # index stage, which it borrows)
    s_tanh, s_ss = Signal(bool(0)), Signal(bool(0))
    s_shift0 = Signal(intbv(0)[s0b:])
    s_pe_mask = Signal(intbv(0)[w:])
    s_idx_mask = Signal(intbv(0)[abx:])
    s_base = Signal(intbv(0)[abx:])
    s_hhi = Signal(intbv(0)[vb:])
    s_hlow = Signal(intbv(0)[fb:])
    s_coarse = Signal(intbv(0)[3:])
    s_mask = Signal(intbv(0)[sb - w:])
    s_fine = Signal(intbv(0)[fwb:])
    s_region = Signal(intbv(0)[2:])

    # The latch's decodes as tables of the few bits they depend on (shift1: 6 bits; shift0: s0b
    # bits, one table per table depth), so that each bit of s_* is one small function of the issue
    # unit's registers and not a subtraction, comparisons and shifts behind the route from the
    # issue unit (the longest path of the design at 3e92579: 9.95 ns, 3.97 ns of it that route).
    # One table of 2^(2 + s0b) entries would become a block RAM; three of 2^s0b stay in LUTs.
    def shift1_fields(shift1):
        so = ((vb + fb - shift1) % 64) % (1 << ob)   # output shift s = V + F - shift1 (mod 64 for the softmax's)
        hhi = (1 << (so - 1 - fb)) % (1 << vb) if so >= fb + 1 else 0  # rounding constant 2^(s-1), high part
        hlow = 1 << (so - 1) if 1 <= so <= fb else 0            # ... low part
        mask = 0 if so >= sb - w else ((1 << (sb - w)) - 1) ^ ((1 << so) - 1)  # pairs from bit s + W - 1 up
        return (((mask << fwb | so % (1 << fwb)) << 3 | so >> fwb) << fb | hlow) << vb | hhi

    def pe_mask_of(lt, shift0):
        th = shift0 - fb + lt   # past the end of the table: |x| >= 2^th
        if th <= 0:
            return (1 << w) - 1
        return 0 if th >= w else ((1 << w) - 1) ^ ((1 << th) - 1)

    SHIFT1_TABLE = tuple(shift1_fields(v) for v in range(1 << len(dec.shift1)))
    PE_SIGMOID, PE_SOFTSIGN, PE_EXP = (tuple(pe_mask_of(lt, v) for v in range(1 << s0b))
                                       for lt in (lt_sigmoid, lt_softsign, lt_exp))
    shift1_row = Signal(intbv(0)[vb + fb + 3 + fwb + sb - w:])
    shift0_field = Signal(intbv(0)[s0b:])
    pe_sigmoid, pe_softsign, pe_exp = [Signal(intbv(0)[w:]) for _ in range(3)]

    @always_comb
    def latch_index():
        shift0_field.next = dec.shift0[s0b:]

    @always_comb
    def latch_shift1_table():
        shift1_row.next = SHIFT1_TABLE[dec.shift1]

    @always_comb
    def latch_pe_sigmoid():
        pe_sigmoid.next = PE_SIGMOID[shift0_field]

    @always_comb
    def latch_pe_softsign():
        pe_softsign.next = PE_SOFTSIGN[shift0_field]

    @always_comb
    def latch_pe_exp():
        pe_exp.next = PE_EXP[shift0_field]

    @always_seq(clk.posedge, reset=rst)
    def latch():
        lt = intbv(0)[4:]
        # sampled in every cycle a start may come (ready, a register), start or not: the late
        # start then enables none of these registers. Words of the previous instruction read them
        # up to its last word's cycle, the one in which the next may start; a softmax reads them
        # (through the control line) until its done, and ready is low until then
        if ctl.ready:
            s_tanh.next = dec.func == TANH
            s_ss.next = dec.func == SOFTSIGN
            if dec.func == SOFTMAX:
                lt[:] = lt_exp
                s_base.next = 0
                s_pe_mask.next = pe_exp
            elif dec.func == SOFTSIGN:
                lt[:] = lt_softsign
                s_base.next = base_softsign
                s_pe_mask.next = pe_softsign
            elif dec.func == HARD_SIGMOID:
                lt[:] = lt_sigmoid
                s_base.next = base_hard
                s_pe_mask.next = pe_sigmoid
            else:
                lt[:] = lt_sigmoid
                s_base.next = base_sigmoid
                s_pe_mask.next = pe_sigmoid
            s_idx_mask.next = (1 << lt) - 1
            s_shift0.next = dec.shift0[s0b:]
            s_hhi.next = shift1_row[vb:]
            s_hlow.next = shift1_row[vb + fb:vb]
            s_coarse.next = shift1_row[vb + fb + 3:vb + fb]
            s_fine.next = shift1_row[vb + fb + 3 + fwb:vb + fb + 3]
            s_mask.next = shift1_row[vb + fb + 3 + fwb + sb - w:vb + fb + 3 + fwb]
            s_region.next = dec.dst_region

    seq_valid, seq_last = Signal(bool(0)), Signal(bool(0))
    seq_count = Signal(intbv(0, min=0, max=p + 1))
    seq_waddr = Signal(intbv(0)[16:])
    seq_free_next, seq_free_if_vec_start = Signal(bool(0)), Signal(bool(0))
    seq = vector_sequencer(cfg, clk, rst, vec_start, dec, rd_vec, unused, seq_valid, seq_last, seq_count,
                           seq_waddr, seq_free_next, seq_free_if_vec_start)
    smx_holds_next = Signal(bool(0))  # in the next cycle a softmax is in flight and not done (no start now)
    smx_holds_if_start, seq_free_if_start = Signal(bool(0)), Signal(bool(0))  # the same if a start comes now

    @always_comb
    def softmax_holds():
        # the softmax unit is busy from the cycle after a start to its done (a start in a done
        # cycle keeps it busy); done follows done_soon. A start now is a softmax's (the unit takes
        # it, the sequencer stays as it is) or an element-wise one's (the sequencer takes it);
        # both outcomes from registers, so that the late start only selects (stream_control)
        holds = smx_busy and not smx_done
        smx_holds_next.next = holds and not smx_done_soon
        if dec.func == SOFTMAX:
            smx_holds_if_start.next = not smx_done_soon
            seq_free_if_start.next = seq_free_next
        else:
            smx_holds_if_start.next = holds and not smx_done_soon
            seq_free_if_start.next = seq_free_if_vec_start

    handshake = stream_control(clk, rst, ctl, seq_free_next, seq_free_if_start, smx_holds_next, smx_holds_if_start)

    # control of each word, packed LSB first: valid, last, count, waddr, region, then the decoded
    # parameters (only the bits a stage reads travel that far: synthesis drops the rest)
    nb = lb + 1
    ctl0 = ConcatSignal(s_fine, s_mask, s_coarse, s_hlow, s_hhi, s_ss, s_tanh, s_base, s_idx_mask, s_pe_mask,
                        s_shift0, s_region, seq_waddr, seq_count, seq_last, seq_valid)
    o_valid, o_last, o_count = 0, 1, 2
    o_waddr = o_count + nb
    o_region = o_waddr + 16
    o_shift0 = o_region + 2
    o_pe = o_shift0 + s0b
    o_idx = o_pe + w
    o_base = o_idx + abx
    o_tanh = o_base + abx
    o_ss = o_tanh + 1
    o_hhi = o_ss + 1
    o_hlow = o_hhi + vb
    o_coarse = o_hlow + fb
    o_mask = o_coarse + 3
    o_fine = o_mask + sb - w
    cw = len(ctl0)
    assert o_fine + fwb == cw
    L = READ_LATENCY
    t2, t3, t4, t6, t7, t8, t9 = L + 1, L + 2, L + 3, L + 5, L + 6, L + 7, L + 8
    line = [Signal(intbv(0)[cw:]) for _ in range(t9 - 1)]
    k2 = Signal(intbv(0)[o_idx:])       # the tap of each stage: the word's control in its cycle
    # stage 3's fields in signals of their own: the index stage indexes their bits, and a bit of a
    # slice of a signal does not convert to Verilog that Icarus accepts
    k3_idx = Signal(intbv(0)[abx:])
    k3_base = Signal(intbv(0)[abx:])
    k4 = Signal(intbv(0)[o_ss:])
    k6 = Signal(intbv(0)[o_hlow:])
    k7 = Signal(intbv(0)[o_coarse:])
    k8 = Signal(intbv(0)[o_fine:])
    c_sat = Signal(intbv(0)[cw:])

    @always(clk.posedge)
    def control_line():
        # the taps hold, in cycle t + X, the control of the word presented in cycle t. The line
        # moves every cycle, like the lanes: with nothing in flight only invalid words move (with
        # the kernel's `busy` as its enable, that net reached 701 flip-flops). During a softmax its
        # words are not valid and lane 0's index stage gets the softmax's parameters from it.
        if rst:
            for k in range(t9 - 1):
                line[k].next = 0
            c_sat.next = 0
        else:
            line[0].next = ctl0
            for k in range(1, t9 - 1):
                line[k].next = line[k - 1]
            k2.next = line[t2 - 2][o_idx:]
            k3_idx.next = line[t3 - 2][o_idx + abx:o_idx]
            k3_base.next = line[t3 - 2][o_base + abx:o_base]
            k4.next = line[t4 - 2][o_ss:]
            k6.next = line[t6 - 2][o_hlow:]
            k7.next = line[t7 - 2][o_coarse:]
            k8.next = line[t8 - 2][o_fine:]
            c_sat.next = line[t9 - 2]

    smx_u = Signal(intbv(0)[w:])        # the softmax's u = m - z, for lane 0's index stage
    smx_addr = Signal(intbv(0)[abx:])   # lane 0's ROM address (the exp ROM reads its low bits)
    smx_frac = Signal(intbv(0)[fb + 1:])  # lane 0's fraction register
    rw = 2 * w - 1            # the bits of the coarse-shifted sum the fine shift reads
    r2 = [Signal(intbv(0)[rw:]) for _ in range(p)]
    fits, neg = Signal(intbv(0)[p:]), Signal(intbv(0)[p:])
    lanes = act_lanes(cfg, clk, rd.data, smx_busy, smx_u, k2(o_shift0 + s0b, o_shift0),
                      k2(o_pe + w, o_pe), k3_idx, k3_base, k4(o_tanh),
                      k6(o_tanh), k6(o_ss), k6(o_hhi + vb, o_hhi), k7(o_hlow + fb, o_hlow),
                      k8(o_coarse + 3, o_coarse), k8(o_mask + sb - w, o_mask), r2, fits, neg, smx_addr, smx_frac)
    wr_vec = AbufWritePort(cfg)
    done_d = Signal(bool(0))
    top_code, bottom_code = cfg.data_max, cfg.data_min & ((1 << w) - 1)

    @always_comb
    def done_ahead():
        # vec_done follows done_d by a cycle; the softmax unit says its own
        ctl.done_soon_next.next = (c_sat[o_valid] and c_sat[o_last]) or smx_done_soon_next

    @always_seq(clk.posedge, reset=rst)
    def saturate_write():
        # stage 9: the rounded result r2 >> fine, or the saturation code stage 8 decided on
        # (bounded functions: clipping 1.0 to the largest code is not an overflow, not counted)
        t = intbv(0)[rw:]
        valid = bool(c_sat[o_valid])
        wr_vec.en.next = valid
        done_d.next = valid and bool(c_sat[o_last])
        vec_done.next = done_d
        ctl.done_soon.next = ctl.done_soon_next
        if valid:
            wr_vec.addr.next = c_sat[o_region:o_waddr]
            wr_vec.region.next = c_sat[o_shift0:o_region]
            wr_vec.count.next = c_sat[o_waddr:o_count]
            for lane in range(p):
                lo = lane * w
                t[:] = r2[lane] >> c_sat[o_fine + fwb:o_fine]
                if fits[lane]:
                    wr_vec.data.next[lo + w:lo] = t[w:]
                elif neg[lane]:
                    wr_vec.data.next[lo + w:lo] = bottom_code
                else:
                    wr_vec.data.next[lo + w:lo] = top_code

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

    smx = softmax_unit(cfg, clk, rst, ctl.ready, smx_start, smx_done, smx_done_soon, smx_done_soon_next, smx_busy, dec, rd_smx, rd.data, wr_smx, smx_u, smx_addr,
                       smx_frac)
    return (dispatch, read_merge, latch_index, latch_shift1_table, latch_pe_sigmoid, latch_pe_softsign,
            latch_pe_exp, latch, seq, softmax_holds, handshake, control_line, lanes,
            done_ahead, saturate_write, write_merge, smx)

"""Bi-WKV: the O(T) recursion against the O(T^2) weight table (spec §2.6).

Run: /usr/bin/python3 -m pytest tools/tests   or   /usr/bin/python3 tools/tests/test_bi_wkv.py
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from rwkv_ref.bi_wkv import kernel_log_scale, bi_wkv_matrix, bi_wkv_recurrent, chunk_len  # noqa: E402

F64 = torch.float64


def _rand(gen, shape, lo, hi):
    return lo + (hi - lo) * torch.rand(*shape, generator=gen, dtype=F64)


def test_recurrent_matches_matrix():
    gen = torch.Generator().manual_seed(1234)
    B, C = 2, 5
    for T in (1, 2, 7, 33, 50, 196, 300):
        for ts in (16, 32, 64):
            for k_scale in (3.0, 200.0):
                k = _rand(gen, (B, T, C), -k_scale, k_scale)
                v = _rand(gen, (B, T, C), -1, 1)
                w = _rand(gen, (C,), -8, 8) / T
                u = _rand(gen, (C,), -3, 3) / T
                yr = bi_wkv_recurrent(w, u, k, v, ts, 1e-6)
                ym = bi_wkv_matrix(w, u, k, v, ts, 1e-6)
                assert torch.isfinite(yr).all() and torch.isfinite(ym).all(), (T, ts, k_scale)
                err = (yr - ym).abs().max().item()
                assert err <= 1e-10, (T, ts, k_scale, err)


def _table_entry(w, u, k, t, j, T, ts):
    """W_tj from the table of §2.6, written out case by case (scalar floats)."""
    S = chunk_len(T, ts)
    t0 = (t // S) * S
    if j == t:
        return math.exp(k[t]) * (math.exp(u) + ((1 - math.exp(w)) if t > t0 else 0.0))
    if j < t0:
        return math.exp(k[j] - (t - j) * w)
    if j < t:
        leak = (1 - math.exp(w)) * math.exp(k[j] + (t - j) * w) if j > t0 else 0.0
        return math.exp(k[j] - (t - j - 1) * w) + leak
    return math.exp(k[j] - (j - t) * w)


def test_single_entries_one_hot():
    """With v = one-hot at token j and eps = 0, y_t * denominator_t = W_tj."""
    gen = torch.Generator().manual_seed(7)
    for T, ts in ((7, 32), (33, 16), (50, 16), (70, 32)):
        k = _rand(gen, (1, T, 1), -2, 2)
        w = _rand(gen, (1,), -4, 4) / T
        u = _rand(gen, (1,), -2, 2) / T
        kl = k[0, :, 0].tolist()
        wv, uv = w.item(), u.item()
        ones = torch.ones(1, T, 1, dtype=F64)
        # with v = 1 everywhere, y = den / (den + 0) = 1: recover den from a one-hot over all j
        den = [sum(_table_entry(wv, uv, kl, t, j, T, ts) for j in range(T)) for t in range(T)]
        kmax = max(kl)
        for j in sorted({0, 1, T // 3, T // 2, T - 2, T - 1}):
            if j < 0 or j >= T:
                continue
            v = torch.zeros(1, T, 1, dtype=F64)
            v[0, j, 0] = 1.0
            yr = bi_wkv_recurrent(w, u, k, v, ts, 0.0)[0, :, 0]
            ym = bi_wkv_matrix(w, u, k, v, ts, 0.0)[0, :, 0]
            for t in range(T):
                want = _table_entry(wv, uv, kl, t, j, T, ts) / den[t]
                assert abs(yr[t].item() - want) <= 1e-12 * max(1.0, abs(want)), (T, ts, t, j)
                assert abs(ym[t].item() - want) <= 1e-12 * max(1.0, abs(want)), (T, ts, t, j)
        # EPS enters as + eps * e^{no_t} on the unshifted denominator (no_t: the kernel's log-scale)
        yv = bi_wkv_recurrent(w, u, k, ones, ts, 1e-3)[0, :, 0]
        no = kernel_log_scale(w, u, k, ts)[0, :, 0]
        for t in range(T):
            want = den[t] / (den[t] + 1e-3 * math.exp(no[t].item()))
            assert abs(yv[t].item() - want) <= 1e-12 * max(1.0, abs(want)), (T, ts, t)


def test_paper_formula_when_one_chunk_per_token():
    """Sanity: with S = 1 (token_split >= T) every past token is in an earlier chunk, so the
    kernel weights are e^{k_j - |t-j| w} both sides and e^{u + k_t} on the diagonal."""
    gen = torch.Generator().manual_seed(3)
    T, C = 9, 3
    k = _rand(gen, (1, T, C), -1, 1)
    v = _rand(gen, (1, T, C), -1, 1)
    w = _rand(gen, (C,), -1, 1)
    u = _rand(gen, (C,), -1, 1)
    y = bi_wkv_recurrent(w, u, k, v, 64, 0.0)
    t_idx = torch.arange(T, dtype=F64)
    dist = (t_idx.view(T, 1) - t_idx.view(1, T)).abs()
    for c in range(C):
        W = torch.exp(k[0, :, c].view(1, T) - dist * w[c])
        W.diagonal().copy_(torch.exp(u[c] + k[0, :, c]))
        want = (W @ v[0, :, c]) / W.sum(1)
        assert (y[0, :, c] - want).abs().max().item() < 1e-13


def test_float32_io_and_grad():
    gen = torch.Generator().manual_seed(5)
    k = _rand(gen, (2, 49, 4), -3, 3).float().requires_grad_()
    v = _rand(gen, (2, 49, 4), -1, 1).float()
    w = (_rand(gen, (4,), -5, 3) / 49).float().requires_grad_()
    u = (_rand(gen, (4,), -1, 1) / 49).float()
    y = bi_wkv_matrix(w, u, k, v, 32, 1e-6, dtype=torch.float32)
    assert y.dtype == torch.float32
    y.sum().backward()
    assert torch.isfinite(k.grad).all() and torch.isfinite(w.grad).all()
    yr = bi_wkv_recurrent(w.detach(), u, k.detach(), v, 32, 1e-6)
    assert yr.dtype == torch.float32
    assert (yr - y.detach()).abs().max().item() < 1e-5


def _kernel_simulation(w, u, k, v, token_split):
    """Scalar float64 simulation of the three phases of the official 2024 shared-memory forward
    kernel (classification/.../cuda/wkv_cuda.cu), without its log-scale bookkeeping (exact in
    float64 for moderate k) and with EPS = 0. One channel: w, u floats; k, v lists of length T.
    Written from the kernel's arithmetic, independently of the §2.6 table."""
    T = len(k)
    S = -(-T // token_split)
    starts = [m * S for m in range(token_split)]
    lens = [max(0, min(S, T - t0)) for t0 in starts]
    # phase 1: per-chunk sums; "fwd" weights tokens by distance from the chunk start,
    # "bwd" by distance to one past the chunk end
    fwd_n, fwd_d, bwd_n, bwd_d = [], [], [], []
    for t0, L in zip(starts, lens):
        fn = fd = bn = bd = 0.0
        for i in range(t0, t0 + L):
            e = math.exp(k[i] - w * (i - t0))
            fn += e * v[i]
            fd += e
            e = math.exp(k[i] - w * (t0 + L - i))
            bn += e * v[i]
            bd += e
        fwd_n.append(fn)
        fwd_d.append(fd)
        bwd_n.append(bn)
        bwd_d.append(bd)
    y = [0.0] * T
    for m, (t0, L) in enumerate(zip(starts, lens)):
        if L <= 0:
            continue
        # phase 2: combine earlier chunks (past) and this + later chunks (future)
        pn = sum(bwd_n[i] * math.exp(-w * (m - i - 1) * S) for i in range(m))
        pd = sum(bwd_d[i] * math.exp(-w * (m - i - 1) * S) for i in range(m))
        fn = sum(fwd_n[i] * math.exp(-w * (i - m) * S) for i in range(m, token_split))
        fd = sum(fwd_d[i] * math.exp(-w * (i - m) * S) for i in range(m, token_split))
        fn -= math.exp(k[t0]) * v[t0]
        fd -= math.exp(k[t0])
        # phase 3: walk the chunk
        for i in range(t0, t0 + L):
            e = math.exp(u + k[i])
            y[i] = (fn + pn + e * v[i]) / (fd + pd + e)
            pn = math.exp(-w) * pn + math.exp(k[i]) * v[i]
            pd = math.exp(-w) * pd + math.exp(k[i])
            j = (i + 1) % T
            fn = math.exp(w) * (fn - math.exp(k[j]) * v[j])
            fd = math.exp(w) * (fd - math.exp(k[j]))
    return y


def _kernel_with_log_scales(w, u, k, v, token_split, eps):
    """The kernel's arithmetic with its (mantissa, log-scale) bookkeeping and EPS added after the
    scaling, as in classification/.../cuda_new/bi_wkv_kernel.cu. One channel, float64."""
    T = len(k)
    S = -(-T // token_split)
    MIN = -1e38
    ch = []
    for tid in range(token_split):
        t0 = S * tid
        L = min(T - t0, S)
        a = b = c = d = 0.0
        o1 = o2 = MIN
        for i in range(t0, t0 + max(L, 0)):
            no = max(o1, k[i] - w * (i - t0))
            c = math.exp(o1 - no) * c + math.exp(k[i] - w * (i - t0) - no) * v[i]
            d = math.exp(o1 - no) * d + math.exp(k[i] - w * (i - t0) - no)
            o1 = no
            ni = 2 * t0 + L - 1 - i
            ew = t0 + L - ni
            no = max(o2, k[ni] - w * ew)
            a = math.exp(o2 - no) * a + math.exp(k[ni] - w * ew - no) * v[ni]
            b = math.exp(o2 - no) * b + math.exp(k[ni] - w * ew - no)
            o2 = no
        ch.append((t0, L, a, b, c, d, o1, o2))
    y = [0.0] * T
    for tid in range(token_split):
        t0, L = ch[tid][0], ch[tid][1]
        if L <= 0:
            continue
        a = b = 0.0
        o2 = MIN
        for i in range(tid):
            ew = (tid - i - 1) * S
            no = max(ch[i][7] - w * ew, o2)
            a = a * math.exp(o2 - no) + ch[i][2] * math.exp(ch[i][7] - w * ew - no)
            b = b * math.exp(o2 - no) + ch[i][3] * math.exp(ch[i][7] - w * ew - no)
            o2 = no
        c = d = 0.0
        o1 = MIN
        for i in range(tid, token_split):
            ew = (i - tid) * S
            no = max(ch[i][6] - w * ew, o1)
            c = c * math.exp(o1 - no) + ch[i][4] * math.exp(ch[i][6] - w * ew - no)
            d = d * math.exp(o1 - no) + ch[i][5] * math.exp(ch[i][6] - w * ew - no)
            o1 = no
        c -= math.exp(k[t0] - o1) * v[t0]
        d -= math.exp(k[t0] - o1)
        for i in range(t0, t0 + L):
            no = max(o1, u + k[i], o2)
            e1, e2, e3 = math.exp(o1 - no), math.exp(o2 - no), math.exp(u + k[i] - no)
            y[i] = (c * e1 + a * e2 + e3 * v[i]) / (d * e1 + b * e2 + e3 + eps)
            i2 = (i + 1) % T
            no = max(o2 - w, k[i])
            a = math.exp(o2 - w - no) * a + math.exp(k[i] - no) * v[i]
            b = math.exp(o2 - w - no) * b + math.exp(k[i] - no)
            o2 = no
            no = max(o1 + w, k[i2] + w)
            c = math.exp(o1 + w - no) * c - math.exp(k[i2] + w - no) * v[i2]
            d = math.exp(o1 + w - no) * d - math.exp(k[i2] + w - no)
            o1 = no
    return y


def test_eps_placement_matches_kernel():
    """Large positive decays push the kernel's future log-scale above max k: EPS must be scaled
    by it, not by e^{max k}."""
    gen = torch.Generator().manual_seed(5)
    for T in (5, 49, 196):
        for decay in (-8.0, 8.0, 15.0):
            for ts in (16, 32):
                k = _rand(gen, (1, T, 2), -3, 3)
                k[0, 0] += 20.0
                v = _rand(gen, (1, T, 2), -1, 1)
                w = torch.full((2,), decay / T, dtype=F64)
                u = torch.full((2,), 0.5 / T, dtype=F64)
                y = bi_wkv_recurrent(w, u, k, v, ts, 1e-6)
                ym = bi_wkv_matrix(w, u, k, v, ts, 1e-6)
                for c in range(2):
                    want = _kernel_with_log_scales(w[c].item(), u[c].item(), k[0, :, c].tolist(),
                                                   v[0, :, c].tolist(), ts, 1e-6)
                    err = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(y[0, :, c].tolist(), want))
                    errm = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(ym[0, :, c].tolist(), want))
                    assert err < 1e-9 and errm < 1e-9, (T, decay, ts, c, err, errm)


def test_against_kernel_simulation():
    gen = torch.Generator().manual_seed(11)
    for T in (1, 2, 7, 33, 50, 196, 300):
        for ts in (16, 32):
            k = _rand(gen, (1, T, 2), -3, 3)
            v = _rand(gen, (1, T, 2), -1, 1)
            w = _rand(gen, (2,), -8, 8) / T
            u = _rand(gen, (2,), -3, 3) / T
            y = bi_wkv_recurrent(w, u, k, v, ts, 0.0)
            for c in range(2):
                want = _kernel_simulation(w[c].item(), u[c].item(), k[0, :, c].tolist(), v[0, :, c].tolist(), ts)
                err = max(abs(a - b) for a, b in zip(y[0, :, c].tolist(), want))
                assert err < 1e-11, (T, ts, c, err)


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            fn()
            print("ok", name)

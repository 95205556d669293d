"""Bi-WKV as the official CUDA kernel computes it (spec/vrwkv.md §2.6), on the CPU.

Three evaluations of the same function:

* ``bi_wkv_recurrent`` -- the O(T) chunked recursion of §2.6: a loop over tokens, vectorised over
  batch and channels, float64 inside. Used to make golden fixtures.
* ``bi_wkv_matrix`` -- the O(T^2) brute force: build the effective-weight table G[c, t, j] of §2.6
  and contract it with e^{k} v. Differentiable; used to train and to test the recursion.
* ``bi_wkv_scan`` -- the same table evaluated with chunk-local cumulative sums (no Python loop over
  tokens), O(T*C) memory, float32 by default. The fast one: used to time the PyTorch reference
  against rwkv-vision (benchmarks/e2e) and for inference at large T.

Arguments: ``w = spatial_decay / T`` and ``u = spatial_first / T`` (the caller divides by T, as the
module does), shape [C]; ``k``, ``v`` shape [B, T, C]; ``token_split`` = TOKEN_SPLIT (number of
chunks, chunk length S = ceil(T / token_split)).

Effective weight of token j in output t (t0 = start of t's chunk), per channel:

    j == t        : e^{k_t} * (e^{u} + [t > t0] (1 - e^{w}))
    j <  t0       : e^{k_j} * e^{-(t-j) w}
    t0 <= j < t   : e^{k_j} * (e^{-(t-j-1) w} + [j > t0] (1 - e^{w}) e^{(t-j) w})
    j >  t        : e^{k_j} * e^{-(j-t) w}

EPS exactly where the kernel puts it (the C++ reference computes the same): the kernel keeps its
sums as (mantissa, log-scale) pairs and adds EPS to the denominator after dividing by e^{no_t},
no_t = max(o_future, u + k_t, o_past) of its running log-scales, so

    y_t = sum_j W_tj v_j / (sum_j W_tj + eps * e^{no_t})

``kernel_log_scale`` reproduces no_t in O(T). It can exceed max k by up to |spatial_decay| (the
future scale grows by w per token even while terms are subtracted), so EPS matters for large
positive decays. The output is cast back to the dtype of ``k`` (float32 for float32 inputs).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _check(w, u, k, v):
    if k.dim() != 3 or v.shape != k.shape:
        raise ValueError(f"k, v must both be [B, T, C]; got {tuple(k.shape)} and {tuple(v.shape)}")
    C = k.shape[2]
    if w.shape != (C,) or u.shape != (C,):
        raise ValueError(f"w, u must be [C]={C}; got {tuple(w.shape)} and {tuple(u.shape)}")


def chunk_len(T: int, token_split: int) -> int:
    """Chunk length S = ceil(T / token_split) used by the kernel."""
    return max(1, math.ceil(T / token_split))


_MIN_SCALE = -1e38  # the kernel's MIN_VALUE: log-scale of an empty sum


def kernel_log_scale(w, u, k, token_split: int = 32):
    """no_t of the kernel for every token: [B, T, C] float64 (w, u [C]; k [B, T, C])."""
    f = torch.float64
    w = w.to(f)
    u = u.to(f)
    k = k.to(f)
    B, T, C = k.shape
    S = chunk_len(T, token_split)
    starts = list(range(0, T, S))
    fut, past = [], []
    for t0 in starts:
        L = min(S, T - t0)
        i = torch.arange(t0, t0 + L, dtype=f).view(1, L, 1)
        kk = k[:, t0:t0 + L]
        fut.append((kk - w * (i - t0)).amax(1))        # forward pass of the chunk
        past.append((kk - w * (t0 + L - i)).amax(1))    # backward pass of the chunk
    no = torch.empty(B, T, C, dtype=f)
    low = torch.full((B, C), _MIN_SCALE, dtype=f)
    for m, t0 in enumerate(starts):
        o_past = low.clone()
        for i in range(m):
            o_past = torch.maximum(o_past, past[i] - w * ((m - i - 1) * S))
        o_fut = low.clone()
        for i in range(m, len(starts)):
            o_fut = torch.maximum(o_fut, fut[i] - w * ((i - m) * S))
        for t in range(t0, min(t0 + S, T)):
            no[:, t] = torch.maximum(torch.maximum(o_fut, u + k[:, t]), o_past)
            o_past = torch.maximum(o_past - w, k[:, t])
            o_fut = torch.maximum(o_fut + w, k[:, (t + 1) % T] + w)
    return no


def bi_wkv_recurrent(w, u, k, v, token_split: int = 32, eps: float = 1e-6):
    """O(T) evaluation (loop over tokens), float64 inside; returns [B, T, C] in k's dtype."""
    _check(w, u, k, v)
    out_dtype = k.dtype
    B, T, C = k.shape
    f = torch.float64
    w = w.to(f)
    u = u.to(f)
    k = k.to(f)
    v = v.to(f)
    kmax = k.amax(dim=1, keepdim=True)              # [B,1,C]
    ek = torch.exp(k - kmax)                        # all in (0, 1]
    ekv = ek * v
    eu = torch.exp(u)                               # [C]
    E = torch.exp(w)
    Ei = torch.exp(-w)

    # past prefix P[t] = sum_{j<t} ek_j v_j e^{-(t-1-j) w}, and its denominator twin Pd
    P = torch.zeros(B, T + 1, C, dtype=f)
    Pd = torch.zeros(B, T + 1, C, dtype=f)
    for t in range(T):
        P[:, t + 1] = Ei * P[:, t] + ekv[:, t]
        Pd[:, t + 1] = Ei * Pd[:, t] + ek[:, t]
    # future suffix Q[t] = sum_{j>t} ek_j v_j e^{-(j-t) w}
    Q = torch.zeros(B, T, C, dtype=f)
    Qd = torch.zeros(B, T, C, dtype=f)
    for t in range(T - 2, -1, -1):
        Q[:, t] = Ei * (Q[:, t + 1] + ekv[:, t + 1])
        Qd[:, t] = Ei * (Qd[:, t + 1] + ek[:, t + 1])

    eps_t = eps * torch.exp(kernel_log_scale(w, u, k, token_split) - kmax)   # [B,T,C]
    y = torch.empty(B, T, C, dtype=f)
    S = chunk_len(T, token_split)
    for t0 in range(0, T, S):
        # state entering the chunk: earlier chunks at distance (t - j), future as suffix sums
        A = Ei * P[:, t0]
        Ad = Ei * Pd[:, t0]
        F = Q[:, t0].clone()
        Fd = Qd[:, t0].clone()
        for t in range(t0, min(t0 + S, T)):
            e = eu * ek[:, t]
            y[:, t] = (A + F + e * v[:, t]) / (Ad + Fd + e + eps_t[:, t])
            A = Ei * A + ekv[:, t]
            Ad = Ei * Ad + ek[:, t]
            if t + 1 < T:
                # the kernel removes token t+1 from the future sum with weight e^{k}, not e^{k-w}
                F = E * (F - ekv[:, t + 1])
                Fd = E * (Fd - ek[:, t + 1])
    return y.to(out_dtype)


def weight_table(w, T: int, token_split: int = 32, u=None):
    """G[c, t, j] such that W_tj = e^{k_j} G[c, t, j] (table of §2.6). Differentiable in w and u.

    Computed in the dtype of ``w``.
    """
    C = w.shape[0]
    dev, dt = w.device, w.dtype
    S = chunk_len(T, token_split)
    t = torch.arange(T, device=dev).view(T, 1)
    j = torch.arange(T, device=dev).view(1, T)
    t0 = (t // S) * S
    d = (t - j).to(dt)                              # [T,T] signed distance t - j
    wc = w.view(C, 1, 1)
    one_m_E = (1.0 - torch.exp(w)).view(C, 1, 1)

    earlier = (j < t0)
    same_past = (j >= t0) & (j < t)
    diag = (j == t)
    future = (j > t)

    g = torch.zeros(C, T, T, dtype=dt, device=dev)
    g = torch.where(earlier, torch.exp(-d * wc), g)
    leak = torch.where((j > t0) & same_past, one_m_E * torch.exp(d * wc), torch.zeros((), dtype=dt, device=dev))
    g = torch.where(same_past, torch.exp(-(d - 1.0) * wc) + leak, g)
    g = torch.where(future, torch.exp(d * wc), g)     # d < 0 here: e^{-(j-t) w}
    if u is not None:
        diag_val = torch.exp(u).view(C, 1, 1) + torch.where(t > t0, one_m_E, torch.zeros((), dtype=dt, device=dev))
        g = torch.where(diag, diag_val, g)
    return g


def bi_wkv_matrix(w, u, k, v, token_split: int = 32, eps: float = 1e-6, dtype=torch.float64):
    """O(T^2) evaluation through the weight table; differentiable. Computes in ``dtype``
    (float64 for tests, float32 for training) and returns k's dtype."""
    _check(w, u, k, v)
    out_dtype = k.dtype
    T = k.shape[1]
    w = w.to(dtype)
    u = u.to(dtype)
    k = k.to(dtype)
    v = v.to(dtype)
    G = weight_table(w, T, token_split, u)                 # [C,T,T]
    kmax = k.amax(dim=1, keepdim=True)
    ek = torch.exp(k - kmax)                               # [B,T,C]
    # batched over channels: [C,T,T] @ [C,T,B]
    B = k.shape[0]
    # one batched product over channels: [C,T,T] @ [C,T,2B] (numerator and denominator together)
    rhs = torch.cat([ek * v, ek], dim=0).permute(2, 1, 0).contiguous()
    nd = torch.bmm(G, rhs).permute(2, 1, 0)
    # The kernel's EPS scale; a constant for the gradient (its effect is ~eps relative).
    with torch.no_grad():
        eps_t = (eps * torch.exp(kernel_log_scale(w, u, k, token_split) - kmax)).to(dtype) if eps else 0.0
    return (nd[:B] / (nd[B:] + eps_t)).to(out_dtype)


def _cummax(x, dim: int, exclusive: bool = False, reverse: bool = False):
    """Cumulative maximum along ``dim`` (torch.cummax is slow on CPU: it also makes indices).

    ``exclusive``: element i gets the max over indices < i (-inf for i = 0); ``reverse``: over
    indices >= i (> i if exclusive). Log-step doubling on blocks of <= 16 elements, then the
    block maxima are scanned the same way and carried into the next blocks: about 10 element-wise
    passes for any length.
    """
    if reverse:
        return _cummax(x.flip(dim), dim, exclusive).flip(dim)
    n = x.shape[dim]
    if exclusive:
        first = torch.full_like(x.narrow(dim, 0, 1), float("-inf"))
        x = torch.cat([first, x.narrow(dim, 0, n - 1)], dim=dim)
    if n > 16 and n % 16 == 0:
        shape = x.shape
        xb = _cummax(x.reshape(shape[:dim] + (n // 16, 16) + shape[dim + 1:]), dim + 1)
        carry = _cummax(xb.select(dim + 1, 15), dim, exclusive=True).unsqueeze(dim + 1)
        return torch.maximum(xb, carry, out=xb).reshape(shape)
    d = 1
    y = x.clone()
    while d < n:
        torch.maximum(x.narrow(dim, d, n - d), x.narrow(dim, 0, n - d), out=y.narrow(dim, d, n - d))
        if 2 * d < n:
            x, y = y, x
            y.narrow(dim, 0, 2 * d).copy_(x.narrow(dim, 0, 2 * d))
        d *= 2
    return y


def _scan_log_scale(kl, lw, u, w, S: int):
    """The kernel's log-scale no_t (see ``kernel_log_scale``) from cumulative maxima, chunk-local.

    kl [B, M, S, C]: k - kmax split into M chunks of S tokens (padding = -inf); lw [S, C] = l * w
    for the local index l; u, w [C]. Returns no_t - kmax as [B, M, S, C].

    With t = t0 + i (chunk m, local index i) the kernel's two running scales are
        o_past(t) = max( max_{j<t0} (k_j - (t-j) w),  max_{t0<=j<t} (k_j - (t-1-j) w) )
        o_fut(t)  = max( max_{j>=t0} (k_j - (j-t0) w) + i w,  max_{t0<j<=t} (k_j + (t-j+1) w) )
    i.e. chunk maxima combined across chunks plus an exclusive / inclusive cumulative max inside
    the chunk. An empty scale is -inf here (the kernel's -1e38; both give a zero term).
    """
    M = kl.shape[1]
    pa = kl + lw                                      # k_l + l w   (past side)
    fb = kl - lw                                      # k_l - l w   (future side)
    nsw = torch.arange(M, dtype=kl.dtype, device=kl.device).view(M, 1) * (S * w)   # [M, C] = m S w
    # across chunks: max_{n<m} (A_n - (m-n) S w) and max_{n>=m} (B_n - (n-m) S w)
    p_max = _cummax(pa.amax(2) + nsw, 1, exclusive=True) - nsw        # [B, M, C]
    f_max = _cummax(fb.amax(2) - nsw, 1, reverse=True) + nsw
    o_past = torch.maximum(p_max.unsqueeze(2) - lw, _cummax(pa, 2, exclusive=True) - (lw - w))
    fb[:, :, 0] = float("-inf")                       # the kernel's future walk starts at t0 + 1
    o_fut = torch.maximum(f_max.unsqueeze(2) + lw, _cummax(fb, 2) + (lw + w))
    return torch.maximum(torch.maximum(o_fut, u + kl), o_past)


def _chunk_prefix(tot, fac, exclusive_reverse: bool):
    """Cross-chunk sums over the chunk axis (dim 2 of tot [x, B, M, C]) with e^{-(distance) S w}
    weights: past  X[m] = sum_{n<m} e^{-(m-n) S w} tot[n]   (exclusive_reverse False),
             future X[m] = sum_{n>m} e^{-(n-m) S w} tot[n]  (True).
    ``fac`` [M, C] = e^{(n - c) S w} for a centre chunk c (so every factor is <= e^{|spatial_decay|/2}).
    """
    if not exclusive_reverse:
        z = (tot * fac).cumsum(2) - tot * fac         # exclusive prefix sum of e^{n S w} tot
        return z / fac
    z = (tot / fac).flip(2).cumsum(2).flip(2) - tot / fac
    return z * fac


def bi_wkv_scan(w, u, k, v, token_split: int = 32, eps: float = 1e-6, dtype=None,
                exact_eps: bool = True):
    """O(T) vectorised evaluation of the kernel's weight table: cumulative sums inside chunks.

    Same arguments and result as ``bi_wkv_recurrent`` (w = spatial_decay / T, u = spatial_first / T
    [C]; k, v [B, T, C]; returns k's dtype) but with no Python loop over tokens: the tokens are
    split into the kernel's M = ceil(T / S) chunks of S = ceil(T / token_split) tokens, viewed as
    [B, M, S, C], and for t = t0 + i (chunk m, local index i) the table of §2.6 factorises as

        past   = e^{-(i-1) w} sum_{l<i} a_l  +  e^{-i w} sum_{n<m} e^{-(m-n) S w} A_n
        future = e^{  i w}   sum_{l>i} b_l  +  e^{ i w} sum_{n>m} e^{-(n-m) S w} B_n
        leak   = e^{  i w} (1 - e^{w}) sum_{0<l<=i} b_l          (includes the diagonal's leak)
        diag   = e^{u} e^{k_t}

    with a_l = e^{k_l} e^{l w}, b_l = e^{k_l} e^{-l w} (local index l), A_n, B_n their chunk totals;
    the numerator is the same with every e^{k} multiplied by v. The sums inside chunks are
    cumsums over the S axis, the sums across chunks cumsums over the M axis. Memory: about ten
    [B, T, C] tensors at the peak (linear in T).

    Numerics. k is shifted by its per-(b, c) maximum (the table is invariant to it), so e^{k} is in
    (0, 1]. The other factors are bounded: e^{+-l w} by e^{|spatial_decay| S / T} (a few % for
    token_split 32) and the cross-chunk ones by e^{|spatial_decay| / 2} (centred). In float32
    (the default for float32 inputs) nothing overflows while |spatial_decay| + ln(T max|v|) < ~85,
    and the terms lost to underflow are below e^{2 |spatial_decay| - 87} of the largest one: the
    result is accurate for |spatial_decay| up to ~30 (tested on [-8, 8] with |k| up to 200;
    official models' decays are a few units). Rounding of the exponents adds a relative error of
    ~|spatial_decay| * 6e-8. float64 inputs compute in float64 (safe to |spatial_decay| ~ 300).
    Large positive decays make the kernel's own denominator small (signed leak terms); as in the
    kernel, nothing is clamped.

    EPS. ``exact_eps=True`` adds eps * e^{no_t} exactly as the kernel does (no_t from cumulative
    maxima, ``_scan_log_scale``). ``exact_eps=False`` adds eps * e^{u + k_t} (the diagonal
    term's scale) instead: no_t >= u + k_t, and e^{no_t} is within a factor e^{|w|} of the
    largest single weight in row t, so for a row whose weights are all >= 0 the two results differ
    by less than eps * e^{|w|} relative (1e-6: below float32 resolution of this computation).
    """
    _check(w, u, k, v)
    out_dtype = k.dtype
    if dtype is None:
        dtype = torch.float64 if k.dtype == torch.float64 else torch.float32
    B, T, C = k.shape
    dev = k.device
    S = chunk_len(T, token_split)
    M = -(-T // S)
    pad = M * S - T
    w = w.to(dtype)
    u = u.to(dtype)
    k = k.to(dtype)
    v = v.to(dtype)
    kl = k - k.amax(dim=1, keepdim=True)            # <= 0
    if pad:
        kl = F.pad(kl, (0, 0, 0, pad), value=float("-inf"))   # padded tokens weigh e^{-inf} = 0
        v = F.pad(v, (0, 0, 0, pad))
    kl = kl.view(B, M, S, C)
    v = v.reshape(B, M, S, C)
    ek = torch.exp(kl)
    E = torch.exp(w)
    lw = torch.arange(S, dtype=dtype, device=dev).view(S, 1) * w    # [S, C]: l w

    # a_l = e^{k_l + l w} and b_l = e^{k_l - l w} times (v, 1): numerator [0] and denominator [1]
    # travel side by side from here on. In-chunk inclusive prefix sums over the S axis.
    P = torch.empty(2, B, M, S, C, dtype=dtype, device=dev)
    torch.mul(ek, torch.exp(lw), out=P[1])
    torch.mul(P[1], v, out=P[0])
    Q = torch.empty(2, B, M, S, C, dtype=dtype, device=dev)
    torch.mul(ek, torch.exp(-lw), out=Q[1])
    torch.mul(Q[1], v, out=Q[0])
    Pc = P.cumsum(3)
    Q.cumsum_(3)
    tot_a = Pc[:, :, :, S - 1]                       # [2, B, M, C] chunk totals
    tot_b = Q[:, :, :, S - 1]
    b0 = Q[:, :, :, 0].clone()

    # across chunks (cumsums over the M chunk totals, factors centred on the middle chunk)
    fac = torch.exp((torch.arange(M, dtype=dtype, device=dev).view(M, 1) - (M - 1) / 2) * (S * w))
    x_past = _chunk_prefix(tot_a, fac, False)        # [2, B, M, C]
    x_fut = _chunk_prefix(tot_b, fac, True)

    # past: e^{-(i-1) w} (sum_{l<i} a_l + e^{-w} X_past); sum_{l<i} = inclusive - a_i (the
    # rounding error is relative to a_i, which the diagonal term of the same row also carries)
    nd = Pc.sub_(P).add_((x_past / E).unsqueeze(3)).mul_(torch.exp(w - lw))
    del P
    # future + leak: e^{i w} (sum_{l>i} b + X_fut + (1 - E) sum_{0<l<=i} b)
    #              = e^{(i+1) w} ((Btot - b_0 + X_fut) / E + b_0 - sum_{l<=i} b)
    # (grouped so that with one token per chunk, S = 1, the in-chunk terms cancel exactly)
    r = (tot_b - b0 + x_fut).div_(E).add_(b0)
    nd.add_(Q.neg_().add_(r.unsqueeze(3)).mul_(torch.exp(lw + w)))
    del Q
    eu = torch.exp(u)
    nd[1].addcmul_(ek, eu)
    nd[0].addcmul_(ek.mul_(v), eu)
    if eps:
        if exact_eps:
            nd[1].add_(torch.exp(_scan_log_scale(kl, lw, u, w, S)).mul_(eps))
        else:
            nd[1].addcmul_(torch.exp(kl + u), torch.full((), eps, dtype=dtype, device=dev))
    y = nd[0].div_(nd[1]).view(B, M * S, C)[:, :T]
    return y.to(out_dtype)


WKV_IMPLS = ("recurrent", "matrix", "scan", "scan_fast")


def bi_wkv(w, u, k, v, token_split: int = 32, eps: float = 1e-6, impl: str = "recurrent"):
    """Dispatch on ``impl``: 'recurrent' (O(T) loop, float64), 'matrix' (O(T^2), differentiable),
    'scan' (O(T) vectorised, float32 for float32 inputs, EPS exactly as the kernel) or 'scan_fast'
    (the same with the approximate EPS of ``bi_wkv_scan(exact_eps=False)``; the fastest)."""
    if impl == "recurrent":
        return bi_wkv_recurrent(w, u, k, v, token_split, eps)
    if impl == "matrix":
        return bi_wkv_matrix(w, u, k, v, token_split, eps, dtype=torch.float64 if k.dtype == torch.float64 else torch.float32)
    if impl == "scan":
        return bi_wkv_scan(w, u, k, v, token_split, eps)
    if impl == "scan_fast":
        return bi_wkv_scan(w, u, k, v, token_split, eps, exact_eps=False)
    raise ValueError(f"unknown Bi-WKV implementation {impl!r} (use one of {WKV_IMPLS})")

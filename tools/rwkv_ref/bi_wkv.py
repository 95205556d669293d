"""Bi-WKV as the official CUDA kernel computes it (spec/vrwkv.md §2.6), on the CPU.

Two evaluations of the same function:

* ``bi_wkv_recurrent`` -- the O(T) chunked recursion of §2.6: a loop over tokens, vectorised over
  batch and channels, float64 inside. Used to make golden fixtures.
* ``bi_wkv_matrix`` -- the O(T^2) brute force: build the effective-weight table G[c, t, j] of §2.6
  and contract it with e^{k} v. Differentiable; used to train and to test the recursion.

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


def bi_wkv(w, u, k, v, token_split: int = 32, eps: float = 1e-6, impl: str = "recurrent"):
    if impl == "recurrent":
        return bi_wkv_recurrent(w, u, k, v, token_split, eps)
    if impl == "matrix":
        return bi_wkv_matrix(w, u, k, v, token_split, eps, dtype=torch.float64 if k.dtype == torch.float64 else torch.float32)
    raise ValueError(f"unknown Bi-WKV implementation {impl!r} (use 'recurrent' or 'matrix')")

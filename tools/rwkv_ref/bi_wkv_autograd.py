"""Bi-WKV for training on the CPU: the O(T) chunked scan of ``bi_wkv.bi_wkv_scan``, written
without in-place operations so that autograd can differentiate it.

Same function as ``bi_wkv.bi_wkv`` (spec/vrwkv.md §2.6, the official kernel's effective weights
with TOKEN_SPLIT chunks), same arguments: ``w = spatial_decay / T``, ``u = spatial_first / T``
[C]; ``k``, ``v`` [B, T, C]. Computes in float32 (float64 for float64 inputs).

EPS is the approximate one of ``bi_wkv_scan(exact_eps=False)``: ``eps * e^{u + k_t}`` (relative
difference to the kernel's ``eps * e^{no_t}`` below 1e-6; see that docstring). The per-(b, c)
shift of k by its maximum is detached: the table is invariant to it.

Memory: about a dozen [2, B, T, C] tensors kept for the backward pass; time a few element-wise
passes and two cumulative sums over T -- fast enough to train small Restore-RWKV models on
128x128 crops on two CPU cores (the O(T^2) ``bi_wkv_matrix`` is not, at T = 16384).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .bi_wkv import chunk_len


def bi_wkv_scan_autograd(w, u, k, v, token_split: int = 32, eps: float = 1e-6):
    if k.dim() != 3 or v.shape != k.shape:
        raise ValueError(f"k, v must both be [B, T, C]; got {tuple(k.shape)} and {tuple(v.shape)}")
    B, T, C = k.shape
    if w.shape != (C,) or u.shape != (C,):
        raise ValueError(f"w, u must be [C]={C}; got {tuple(w.shape)} and {tuple(u.shape)}")
    out_dtype = k.dtype
    dtype = torch.float64 if k.dtype == torch.float64 else torch.float32
    dev = k.device
    S = chunk_len(T, token_split)
    M = -(-T // S)
    pad = M * S - T
    w = w.to(dtype)
    u = u.to(dtype)
    k = k.to(dtype)
    v = v.to(dtype)
    kl = k - k.detach().amax(dim=1, keepdim=True)          # <= 0, shift carries no gradient
    if pad:
        kl = F.pad(kl, (0, 0, 0, pad), value=float("-inf"))  # padded tokens weigh e^{-inf} = 0
        v = F.pad(v, (0, 0, 0, pad))
    kl = kl.reshape(B, M, S, C)
    v = v.reshape(B, M, S, C)
    ek = torch.exp(kl)
    E = torch.exp(w)
    lw = torch.arange(S, dtype=dtype, device=dev).view(S, 1) * w       # [S, C]: l w

    # a_l = e^{k_l + l w}, b_l = e^{k_l - l w}; numerator (times v) and denominator stacked on dim 0
    a = ek * torch.exp(lw)
    b = ek * torch.exp(-lw)
    P = torch.stack([a * v, a])                             # [2, B, M, S, C]
    Q = torch.stack([b * v, b])
    Pc = P.cumsum(3)
    Qc = Q.cumsum(3)
    tot_a = Pc[:, :, :, S - 1]                              # [2, B, M, C]
    tot_b = Qc[:, :, :, S - 1]
    b0 = Q[:, :, :, 0]

    # across chunks, factors centred on the middle chunk (bounded by e^{|spatial_decay| / 2})
    fac = torch.exp((torch.arange(M, dtype=dtype, device=dev).view(M, 1) - (M - 1) / 2) * (S * w))
    ta = tot_a * fac
    x_past = (ta.cumsum(2) - ta) / fac                      # sum_{n<m} e^{-(m-n) S w} A_n
    tb = tot_b / fac
    x_fut = (tb.flip(2).cumsum(2).flip(2) - tb) * fac       # sum_{n>m} e^{-(n-m) S w} B_n

    past = (Pc - P + (x_past / E).unsqueeze(3)) * torch.exp(w - lw)
    r = (tot_b - b0 + x_fut) / E + b0
    fut = (r.unsqueeze(3) - Qc) * torch.exp(lw + w)
    nd = past + fut
    eu = torch.exp(u)
    num = nd[0] + ek * v * eu
    den = nd[1] + ek * eu
    if eps:
        den = den + torch.exp(kl + u) * eps
    # drop the padded tokens before dividing (their 0/0 would poison the backward pass)
    y = num.reshape(B, M * S, C)[:, :T] / den.reshape(B, M * S, C)[:, :T]
    return y.to(out_dtype)

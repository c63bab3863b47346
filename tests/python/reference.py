"""float64 numpy references written from SPEC.md, independent of the C++ references."""
import numpy as np


def as4d(x):
    x = np.asarray(x, dtype=np.float64)
    return x.reshape((1,) * (4 - x.ndim) + x.shape)


def visible(nq, nk, causal=False, window=None, layout=None, block=None):
    """[H or 1, Nq, Nk] bool: which keys each query row sees (bottom-right alignment)."""
    p = np.arange(nq)[:, None] + (nk - nq)
    j = np.arange(nk)[None, :]
    m = np.ones((nq, nk), bool)
    if causal:
        m &= j <= p
    if window is not None:
        left, right = window
        if left >= 0:
            m &= j >= p - left
        if right >= 0:
            m &= j <= p + right
    m = m[None]
    if layout is not None:
        lay = layout[:, np.arange(nq) // block][:, :, np.arange(nk) // block] != 0
        m = m & lay
    return m


def softmax_attention(q, k, v, mask=None, scale=None, lens=None, softcap=None, alibi=False):
    """O [B,H,Nq,D], lse [B,H,Nq] and weights of softmax attention; mask [1 or H, Nq, Nk]."""
    q, k, v = as4d(q), as4d(k), as4d(v)
    b, h, nq, d = q.shape
    hkv, nk = k.shape[1], k.shape[2]
    scale = 1 / np.sqrt(d) if scale is None else scale
    kk = np.repeat(k, h // hkv, axis=1)
    vv = np.repeat(v, h // hkv, axis=1)
    s = np.einsum("bhid,bhjd->bhij", q, kk) * scale
    if softcap:
        s = softcap * np.tanh(s / softcap)
    if alibi:
        slopes = 2.0 ** (-8.0 * (np.arange(h) + 1) / h)
        rel = np.arange(nk)[None, :] - (np.arange(nq)[:, None] + (nk - nq))  # j - p
        s = s + slopes[None, :, None, None] * rel[None, None]
    m = np.ones((1, 1, nq, nk), bool) if mask is None else np.broadcast_to(mask, (h, nq, nk))[None]
    m = np.broadcast_to(m, s.shape).copy()
    if lens is not None:
        for i, n in enumerate(lens):
            m[i, :, n:, :] = False
            m[i, :, :, n:] = False
    s = np.where(m, s, -np.inf)
    mx = s.max(-1, keepdims=True)
    seen = np.isfinite(mx)
    w = np.where(m, np.exp(s - np.where(seen, mx, 0)), 0)
    tot = w.sum(-1, keepdims=True)
    o = np.einsum("bhij,bhjd->bhid", w / np.where(tot > 0, tot, 1), vv)
    lse = np.where(seen[..., 0], mx[..., 0] + np.log(np.where(tot > 0, tot, 1))[..., 0], -np.inf)
    return o, lse, np.where(tot > 0, w / np.where(tot > 0, tot, 1), 0)


def linear_attention(q, k, v, causal=False, eps=1e-6):
    """SPEC's linear attention with phi = elu + 1."""
    q, k, v = as4d(q), as4d(k), as4d(v)
    phi = lambda x: np.where(x > 0, x + 1, np.exp(x))
    h, hkv = q.shape[1], k.shape[1]
    fq = phi(q)
    fk = np.repeat(phi(k), h // hkv, axis=1)
    vv = np.repeat(v, h // hkv, axis=1)
    a = np.einsum("bhid,bhjd->bhij", fq, fk)
    if causal:  # bottom-right aligned: row i sees keys j <= i + Nk - Nq
        a = np.tril(a, k.shape[2] - q.shape[2])
    return np.einsum("bhij,bhjd->bhid", a, vv) / (a.sum(-1)[..., None] + eps)

#!/usr/bin/python3
"""Fits the rational tanh of kernels/simd.hpp (simd::vtanh): tanh(x) ~ x P(x^2) / Q(x^2), P of degree 4
and Q of degree 3 with Q(0) = 1, minimising the largest relative error on 0 < x <= 9 (float32's tanh is 1
past 9). Loeb's linearisation (x P - tanh Q = 0, weighted by 1 / (tanh Q_prev)) with Lawson
reweighting towards the worst points; prints the float32 coefficients and the float64 error of the
fit with them, and the error of a float32 evaluation (numpy, no FMA: an upper estimate).
Then the same for vsoftcap's polynomial on |x| <= 1 (tanh(x) ~ x S(x^2), S of degree 5, S(0) = 1).

  scripts/fit_tanh.py
"""
import numpy as np

DEG_P, DEG_Q, LIMIT = 4, 3, 9.0


def fit(iters=200):
    x = np.concatenate([np.linspace(1e-4, LIMIT, 20000), np.geomspace(1e-6, 1e-4, 100)])
    t, y = x * x, np.tanh(x)
    w, q_prev = np.ones_like(x), np.ones_like(x)
    for _ in range(iters):
        a = np.hstack([np.stack([x * t**k for k in range(1, DEG_P + 1)], 1),
                       -np.stack([y * t**k for k in range(1, DEG_Q + 1)], 1)])
        sc = w / (y * q_prev)
        c, *_ = np.linalg.lstsq(a * sc[:, None], (y - x) * sc, rcond=None)
        p, q = np.concatenate([[1.0], c[:DEG_P]]), np.concatenate([[1.0], c[DEG_P:]])
        q_prev = np.polyval(q[::-1], t)
        err = (x * np.polyval(p[::-1], t) / q_prev - y) / y
        w = w * (np.abs(err) / np.abs(err).max()) ** 0.3 + 1e-300
        w /= w.sum()
    return p.astype(np.float32), q.astype(np.float32)


def main():
    p, q = fit()
    x = np.concatenate([np.linspace(1e-6, LIMIT, 2000001), np.geomspace(1e-30, 1e-6, 1000)])
    y = np.tanh(x)
    r64 = x * np.polyval(p.astype(np.float64)[::-1], x * x) / np.polyval(q.astype(np.float64)[::-1], x * x)
    f = np.float32
    xf = x.astype(f)
    tf = xf * xf
    pf, qf = f(p[-1]), f(q[-1])
    for k in range(DEG_P - 1, -1, -1):
        pf = pf * tf + p[k]
    for k in range(DEG_Q - 1, -1, -1):
        qf = qf * tf + q[k]
    r32 = xf * pf / qf
    print("P:", " ".join("%.9e" % v for v in p))
    print("Q:", " ".join("%.9e" % v for v in q))
    print("max relative error, float64 evaluation: %.3g" % np.max(np.abs(r64 - y) / y))
    print("max relative error, float32 evaluation (no FMA): %.3g" % np.max(np.abs(r32 - y) / y))


def fit_within_one(deg=5, iters=100):
    """tanh(x) ~ x S(x^2) on 0 < x <= 1, S(0) = 1: least squares on the relative error, Lawson-reweighted."""
    x = np.linspace(1e-6, 1.0, 200001)
    t, y = x * x, np.tanh(x) / x
    a = np.stack([t**k for k in range(1, deg + 1)], 1)
    w = np.ones_like(x)
    for _ in range(iters):
        c, *_ = np.linalg.lstsq(a * (w / y)[:, None], (y - 1) * w / y, rcond=None)
        err = (1 + a @ c - y) / y
        w = w * (np.abs(err) / np.abs(err).max()) ** 0.3 + 1e-300
        w /= w.sum()
    s = np.concatenate([[1.0], c]).astype(np.float32)
    f = np.float32
    xf = x.astype(f)
    tf = xf * xf
    sf = f(s[-1])
    for k in range(deg - 1, -1, -1):
        sf = sf * tf + s[k]
    exact = np.tanh(xf.astype(np.float64))
    print("S:", " ".join("%.9e" % v for v in s))
    print("max relative error on |x| <= 1, float64 evaluation: %.3g" % np.max(np.abs(x * np.polyval(s.astype(np.float64)[::-1], t) - np.tanh(x)) / np.tanh(x)))
    print("max relative error on |x| <= 1, float32 evaluation (no FMA): %.3g" % np.max(np.abs(xf * sf - exact) / exact))


if __name__ == "__main__":
    main()
    fit_within_one()

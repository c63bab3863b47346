"""The Python module against float64 numpy references (reference.py) and the CLI's errors."""
import math
import os
import signal
import time

import numpy as np
import pytest

import attnbench
from reference import as4d, linear_attention, softmax_attention, visible

RNG = np.random.default_rng(7)
TOL = 2e-5


def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def qkv(b=2, h=4, hkv=2, nq=7, nk=11, d=16, dtype=np.float32):
    return randn(b, h, nq, d, dtype=dtype), randn(b, hkv, nk, d, dtype=dtype), randn(b, hkv, nk, d, dtype=dtype)


def close(got, want, tol=TOL):
    got = np.asarray(got, np.float64)
    assert got.shape == want.shape
    err = np.max(np.abs(got - want)) if got.size else 0.0
    assert err <= tol * max(1.0, np.max(np.abs(want))), f"max |err| {err}"


SHAPES = [  # (B, H, Hkv, Nq, Nk, D): square, Nq < Nk (decode-like), Nq > Nk, GQA, MQA, odd D
    (1, 1, 1, 9, 9, 8),
    (2, 4, 2, 3, 17, 16),
    (1, 2, 2, 13, 5, 7),
    (2, 6, 1, 10, 10, 33),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("causal", [False, True])
def test_dense(shape, causal):
    b, h, hkv, nq, nk, d = shape
    q, k, v = qkv(b, h, hkv, nq, nk, d)
    want, _, _ = softmax_attention(q, k, v, visible(nq, nk, causal))
    close(attnbench.attention(q, k, v, causal=causal), want)


@pytest.mark.parametrize("variant", ["dense", "window:left=5,right=1", "naive"])
def test_score_modifiers(variant):
    q, k, v = qkv(1, 4, 2, 7, 12, 8)
    mask = visible(7, 12, True, window=(5, 1) if variant.startswith("window") else None)
    want, _, _ = softmax_attention(q * 3, k, v, mask, softcap=2.5, alibi=True)
    spec = variant + ("," if ":" in variant else ":") + "softcap=2.5,alibi=1"
    close(attnbench.attention(q * 3, k, v, variant=spec, causal=True), want)


@pytest.mark.parametrize("variant", ["naive", "dense_blas"])
def test_baselines(variant):
    q, k, v = qkv(nq=6, nk=9)
    want, _, _ = softmax_attention(q, k, v, visible(6, 9, True), scale=0.3)
    close(attnbench.attention(q, k, v, variant=variant, causal=True, scale=0.3), want)


@pytest.mark.parametrize("nq,nk", [(12, 12), (4, 15), (15, 6)])
@pytest.mark.parametrize("left,right,causal", [(3, 1, False), (2, 0, True), (-1, 2, False), (0, -1, False)])
def test_window(nq, nk, left, right, causal):
    q, k, v = qkv(1, 2, 1, nq, nk, 8)
    mask = visible(nq, nk, causal, window=(left, right))
    want, _, _ = softmax_attention(q, k, v, mask)
    got = attnbench.attention(q, k, v, variant=f"window:left={left},right={right}", causal=causal)
    close(got, want)


def test_positional_arguments():
    """SPEC's signature: attention(q, k, v, variant, causal, scale, dtype, threads, isa, lens)."""
    q, k, v = qkv(1, 1, 1, 8, 8, 4)
    want, _, _ = softmax_attention(q, k, v, visible(8, 8, True, window=(1, 0)), scale=0.7)
    close(attnbench.attention(q, k, v, "window:left=1,right=0", True, 0.7, "f32", 1, "auto", None), want)


@pytest.mark.parametrize("nq,nk", [(16, 16), (6, 19), (19, 6)])
@pytest.mark.parametrize("causal", [False, True])
def test_block_sparse_layout(tmp_path, nq, nk, causal):
    b, h, block = 2, 3, 4
    layout = (RNG.random((h, math.ceil(nq / block), math.ceil(nk / block))) < 0.5).astype(np.int32)
    path = tmp_path / "layout.npy"
    np.save(path, layout)
    q, k, v = qkv(b, h, 1, nq, nk, 8)
    want, _, _ = softmax_attention(q, k, v, visible(nq, nk, causal, layout=layout, block=block))
    got = attnbench.attention(q, k, v, variant=f"block_sparse:block={block},layout={path}", causal=causal)
    close(got, want)  # rows that see no key are 0 in both


def test_block_sparse_pattern_runs():
    q, k, v = qkv(1, 2, 2, 64, 64, 16)
    o = attnbench.attention(q, k, v, variant="block_sparse:pattern=bigbird,block=16,seed=3")
    assert o.shape == q.shape and np.all(np.isfinite(o))


@pytest.mark.parametrize("nq,nk,causal", [(9, 9, False), (5, 12, False), (12, 5, False), (10, 10, True), (1, 70, True),
                                          (3, 70, True), (12, 5, True)])
def test_linear(nq, nk, causal):
    q, k, v = qkv(2, 4, 2, nq, nk, 8)
    close(attnbench.attention(q, k, v, variant="linear", causal=causal), linear_attention(q, k, v, causal), 1e-4)


@pytest.mark.parametrize("rank", [2, 3, 4])
def test_rank_kept(rank):
    full = (1, 1, 6, 8) if rank == 2 else (1, 3, 6, 8) if rank == 3 else (2, 3, 6, 8)
    q, k, v = (randn(*full[4 - rank :]) for _ in range(3))
    o, lse = attnbench.attention(q, k, v, return_lse=True)
    assert o.shape == q.shape and o.dtype == np.float32
    assert lse.shape == q.shape[:-1]
    want, want_lse, _ = softmax_attention(q, k, v)
    close(o, want.reshape(q.shape))
    close(lse, want_lse.reshape(q.shape[:-1]))


def test_float64_and_strided_inputs():
    q, k, v = qkv(dtype=np.float64)
    want, _, _ = softmax_attention(q, k, v)
    close(attnbench.attention(q, k, v), want)
    # Fortran order, a transposed view and an unaligned offset view all read the same values.
    close(attnbench.attention(np.asfortranarray(q), k, v), want)
    close(attnbench.attention(q.astype(np.float32).swapaxes(1, 2).copy().swapaxes(1, 2), k, v), want)
    buf = np.empty(q.size + 1, np.float32)
    view = buf[1:].reshape(q.shape)
    view[...] = q
    close(attnbench.attention(view, k, v), want)


def test_inputs_are_not_modified():
    q, k, v = qkv()
    copies = [x.copy() for x in (q, k, v)]
    attnbench.attention(q, k, v, causal=True)
    for x, c in zip((q, k, v), copies):
        assert np.array_equal(x, c)


def test_lens():
    q, k, v = qkv(2, 2, 2, 8, 8, 8)
    lens = [3, 8]
    o, lse = attnbench.attention(q, k, v, causal=True, lens=np.array(lens), return_lse=True)
    want, want_lse, _ = softmax_attention(q, k, v, visible(8, 8, True), lens=lens)
    close(o, want)
    assert np.all(o[0, :, 3:] == 0)
    assert np.all(np.isneginf(lse[0, :, 3:]))
    close(lse[:, :, :3], want_lse[:, :, :3])


def test_lse_dense():
    q, k, v = qkv(nq=5, nk=13)
    o, lse = attnbench.attention(q, k, v, causal=True, scale=0.5, return_lse=True)
    want, want_lse, _ = softmax_attention(q, k, v, visible(5, 13, True), scale=0.5)
    close(o, want)
    close(lse, want_lse)


def test_dtype_f16_rounds_the_inputs():
    q, k, v = qkv(1, 2, 1, 9, 12, 16)
    want, _, _ = softmax_attention(*(x.astype(np.float16) for x in (q, k, v)), visible(9, 12, True))
    close(attnbench.attention(q, k, v, causal=True, dtype="f16"), want, 1e-5)


@pytest.mark.parametrize("dtype,tol", [("bf16", 8 * 2**-8), ("int8", 0.045)])
def test_dtype_bf16_int8_within_their_precision(dtype, tol):
    q, k, v = qkv(1, 2, 1, 9, 80, 16)
    want, _, _ = softmax_attention(q, k, v)
    got = attnbench.attention(q, k, v, dtype=dtype)
    err = np.max(np.abs(got - want))
    assert 0 < err <= tol * np.max(np.abs(want))


@pytest.mark.parametrize("threads", [1, 2])
def test_threads(threads):
    q, k, v = qkv(2, 4, 4, 33, 33, 16)
    want, _, _ = softmax_attention(q, k, v, visible(33, 33, True))
    close(attnbench.attention(q, k, v, causal=True, threads=threads), want)


@pytest.mark.parametrize("isa", attnbench.isas())
def test_every_isa_of_this_cpu(isa):
    q, k, v = qkv(1, 2, 1, 10, 14, 20)
    want, _, _ = softmax_attention(q, k, v, visible(10, 14, True))
    close(attnbench.attention(q, k, v, causal=True, isa=isa), want)


def test_isa_this_cpu_lacks():
    missing = [i for i in ("avx512", "avx2", "sse2", "scalar") if i not in attnbench.isas()]
    if not missing:
        pytest.skip("this CPU runs every ISA")
    with pytest.raises(attnbench.Error, match="not supported by this CPU"):
        attnbench.attention(*qkv(), isa=missing[0])


def test_weights():
    q, k, v = qkv(2, 4, 2, 6, 9, 8)
    w = attnbench.weights(q, k, v, causal=True)
    _, _, want = softmax_attention(q, k, v, visible(6, 9, True))
    close(w, want, 1e-6)
    sub = attnbench.weights(q, k, v, causal=True, heads=[3, 1], rows="2:5")
    close(sub, want[:, [3, 1], 2:5])
    w2 = attnbench.weights(q[0, 0], k[0, 0], v[0, 0], rows=[0])
    assert w2.shape == (1, 9)


def test_linear_weights():
    """phi(q_i).phi(k_j) normalised over the keys the row reads (no eps)."""
    q, k, v = qkv(1, 2, 1, 6, 6, 8)
    phi = lambda x: np.where(x > 0, x + 1, np.exp(x))
    a = np.tril(np.einsum("bhid,bhjd->bhij", phi(as4d(q)), np.repeat(phi(as4d(k)), 2, axis=1)))
    close(attnbench.weights(q, k, v, variant="linear", causal=True), a / a.sum(-1, keepdims=True), 1e-6)


def test_variants_listing():
    listed = {v["name"]: v for v in attnbench.variants()}
    for name in ("dense", "naive", "dense_blas", "window", "block_sparse", "linear"):
        assert name in listed and listed[name]["summary"]
    options = {o["name"]: o["default"] for o in listed["window"]["options"]}
    assert options["left"] == "256" and options["right"] == "0"
    assert all({"name", "default", "help"} <= set(o) for v in listed.values() for o in v["options"])
    assert {"softcap", "alibi", "sinks"} <= {o["name"] for o in listed["dense"]["options"]}
    assert listed["dense"]["score_modifiers"] and not listed["linear"]["score_modifiers"]


D300 = (randn(4, 300), randn(4, 300), randn(4, 300))


@pytest.mark.parametrize(
    "args,kwargs,message",
    [
        (D300, {}, "head size D=300 is outside 1..256"),
        ((randn(1, 3, 4, 8), randn(1, 2, 4, 8), randn(1, 2, 4, 8)), {}, "Q heads 3 is not a multiple of K/V heads 2"),
        ((randn(4, 8), randn(5, 8), randn(6, 8)), {}, r"K \[1,1,5,8\] and V \[1,1,6,8\] must have the same shape"),
        ((randn(4, 8), randn(5, 7), randn(5, 7)), {}, "head size of Q"),
        ((randn(8), randn(8), randn(8)), {}, "q: expected a 2-D"),
        ((np.zeros((0, 8), np.float32), randn(5, 8), randn(5, 8)), {}, "every dimension must be at least 1"),
        ((np.ones((4, 8), np.int64), randn(5, 8), randn(5, 8)), {}, "q: dtype int64 is not a float type"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"variant": "nope"}, "unknown variant 'nope'"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"variant": "window:left=x"}, "window"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"isa": "neon"}, "unknown ISA 'neon'"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"threads": 0}, "threads must be between 1 and 1024"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"scale": 0.0}, "scale must be a finite non-zero number"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"scale": math.inf}, "scale must be a finite non-zero number"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"dtype": "f64"}, "dtype 'f64' is not one of"),
        ((randn(2, 4, 8), randn(2, 4, 8), randn(2, 4, 8)), {"lens": [1, 2]}, "lengths must be a 1-D array of B=1"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"lens": [5]}, "lens: length 5 is outside 1..4"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"lens": [1.5]}, "lens: expected integer lengths"),
        ((randn(3, 8), randn(4, 8), randn(4, 8)), {"lens": [2]}, "needs self-attention"),
        ((randn(3, 8), randn(4, 8), randn(4, 8)), {"variant": "linear:map=softmax"}, "map=softmax is not one of"),
        ((randn(4, 8), randn(4, 8), randn(4, 8)), {"variant": "linear", "return_lse": True}, "gives no log-sum-exp"),
    ],
)
def test_errors(args, kwargs, message):
    with pytest.raises(attnbench.Error, match=message) as info:
        attnbench.attention(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("bad,what", [(np.nan, "NaN"), (np.inf, "infinite"), (1e39, "infinite")])
@pytest.mark.filterwarnings("ignore:overflow encountered in cast")  # 1e39 becomes inf in float32
def test_non_finite_inputs(bad, what):
    q, k, v = (randn(4, 8, dtype=np.float64) for _ in range(3))
    k[2, 3] = bad
    with pytest.raises(attnbench.Error, match=f"k: element 19 is {what}"):
        attnbench.attention(q, k, v)


def test_inputs_that_overflow_float32():
    q, k, v = (np.full((4, 8), 1e30, np.float32) for _ in range(3))
    with pytest.raises(attnbench.Error, match="overflow float32"):
        attnbench.attention(q, k, v)


def test_weights_errors():
    q, k, v = qkv(1, 2, 2, 4, 4, 8)
    with pytest.raises(attnbench.Error, match="heads: index 2 is outside 0..1"):
        attnbench.weights(q, k, v, heads=[2])
    with pytest.raises(attnbench.Error, match="rows: selects nothing"):
        attnbench.weights(q, k, v, rows=[])


SPEC_FIELDS = """case_id variant name batch heads kv_heads seq_q seq_kv head_dim causal threads isa time_ms
time_ms_min cv repetitions flops gflops tokens_per_s peak_gflops pct_peak density workspace_bytes max_abs_err
rel_err approx_err machine schema_version impl plan_ms dtype pass bytes gbytes_per_s bandwidth_gbs
pct_bandwidth""".split()


def test_sweep_records(tmp_path):
    out = tmp_path / "runs.jsonl"
    records = attnbench.sweep(variant=["dense", "window:left=4,right=0"], seq=[32], head_dim=16, heads=2,
                              kv_heads=1, causal="both", min_time=0.001, warmup=0, repetitions=2, out=str(out))
    assert len(records) == 4
    for r in records:
        missing = [f for f in SPEC_FIELDS if f not in r]
        assert not missing, missing
        assert r["seq_q"] == 32 and r["head_dim"] == 16 and r["heads"] == 2 and r["kv_heads"] == 1
        assert r["max_abs_err"] < 1e-4 and isinstance(r["machine"], dict)
    assert {r["causal"] for r in records} == {False, True}
    assert len(out.read_text().splitlines()) == 4
    # --resume: every case is in the file already.
    assert attnbench.sweep(variant=["dense", "window:left=4,right=0"], seq=[32], head_dim=16, heads=2, kv_heads=1,
                           causal="both", out=str(out), resume=True) == []


def test_sweep_dry_run_and_errors():
    assert attnbench.sweep(seq="16,32", head_dim=8, variant="dense", dry_run=True) == []
    with pytest.raises(attnbench.Error, match="--head-dim"):
        attnbench.sweep(seq=[16], head_dim=[300])
    with pytest.raises(attnbench.Error, match="sweep needs --seq"):
        attnbench.sweep(head_dim=8)
    with pytest.raises(attnbench.Error):
        attnbench.sweep(seq=[16], head_dim=8, no_such_option=1)


def test_sweep_gives_ctrl_c_back_to_python():
    """The sweep's SIGINT handler is removed when it ends: Ctrl-C is KeyboardInterrupt again."""
    attnbench.sweep(seq=[8], head_dim=4, variant="dense", min_time=0.001, warmup=0, repetitions=1)
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the signal is handled at the next bytecode, well before this ends


def nystromformer(q, k, v, m, iterations=6):
    """Nystromformer in float64 numpy, written from the paper (segment means, the 6-round
    iterative pseudo-inverse), independent of the C++ reference."""
    q, k, v = (as4d(x).astype(np.float64) for x in (q, k, v))
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    scale = 1 / math.sqrt(q.shape[-1])
    def means(x):
        n = x.shape[2]
        return np.stack([x[:, :, l * n // m:(l + 1) * n // m].mean(2) for l in range(m)], axis=2)
    def softmax(s):
        e = np.exp(s - s.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    ql, kl = means(q), means(k)
    k1 = softmax(scale * q @ kl.swapaxes(-1, -2))
    a = softmax(scale * ql @ kl.swapaxes(-1, -2))
    k3 = softmax(scale * ql @ k.swapaxes(-1, -2))
    eye = np.eye(m)
    z = a.swapaxes(-1, -2) / a.sum(-2).max(-1)[..., None, None]
    for _ in range(iterations):
        az = a @ z
        z = 0.25 * z @ (13 * eye - az @ (15 * eye - az @ (7 * eye - az)))
    return k1 @ (z @ (k3 @ v))


@pytest.mark.parametrize("shape", [(1, 2, 1, 37, 50, 16), (2, 4, 2, 64, 40, 33)])
def test_nystrom_against_numpy(shape):
    b, h, hkv, nq, nk, d = shape
    q, k, v = qkv(b, h, hkv, nq, nk, d)
    for isa in ["auto", "scalar"]:
        close(attnbench.attention(q, k, v, variant="nystrom:landmarks=8", isa=isa), nystromformer(q, k, v, 8), 1e-4)


def test_nystrom_exact_landmarks_equal_dense():
    q, k, v = qkv(1, 2, 2, 60, 30, 64)
    close(attnbench.attention(q, k, v, variant="nystrom:landmarks=30,pinv=exact"), softmax_attention(q, k, v)[0], 1e-4)


def test_synthesizer_is_its_weights_times_v():
    """Q and K are not read; O = softmax(R) V with the weights attnbench.weights reports."""
    q, k, v = qkv(2, 4, 2, 9, 13, 8)
    for causal in [False, True]:
        o = attnbench.attention(q, k, v, variant="synthesizer:seed=4", causal=causal)
        w = attnbench.weights(q, k, v, variant="synthesizer:seed=4", causal=causal)
        close(o, w @ np.repeat(as4d(v).astype(np.float64), 2, axis=1))
        close(attnbench.attention(q * 5, k - 1, v, variant="synthesizer:seed=4", causal=causal), o, 0)


def test_lra_variants_refuse_what_they_do_not_define():
    q, k, v = qkv(1, 2, 1, 20, 20, 8)
    for spec in ["linformer", "nystrom:landmarks=4"]:
        with pytest.raises(attnbench.Error, match="causal is not defined"):
            attnbench.attention(q, k, v, variant=spec, causal=True)
    with pytest.raises(attnbench.Error, match="landmarks=64 needs at least"):
        attnbench.attention(q, k, v, variant="nystrom")
    assert attnbench.attention(q, k, v, variant="linformer:k=8").shape == q.shape

#!/usr/bin/python3
"""CPU time per call of dense prefill per dtype (f32, bf16, int8), one or more attnbench binaries, interleaved.

On this shared VM wall-clock sweep medians swing by 2-5x between processes and within one (the
int8 / f32 ratio of one sweep ranged 1.5x-6x under load); the CPU time of a pinned one-thread run
counts less of that. Per call = (CPU of `run --time --min-time 0 --repetitions HI` minus the same
with LO repetitions) / (HI - LO): start-up, reading, store_inputs cancel. Each round runs every
(inputs, dtype, binary) in turn; the minimum over rounds is the figure (noise only adds), the
maximum is printed beside it. Inputs: gaussian, and "local" made like harness/sweep/local_inputs.cpp
(rotary-rotated shared base vector plus noise; numpy's generator, not the sweep's values).

  scripts/precision_cost.py [--bin build/attnbench [--bin OTHER]...] [--n 4096] [--head-dim 128]
                            [--inputs gaussian,local] [--isa auto] [--rounds 5]
"""
import argparse, os, resource, shutil, subprocess, sys, tempfile

import numpy as np

LO, HI = 2, 12


def cpu_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, OMP_PROC_BIND="close", OMP_PLACES="cores"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def write_inputs(kind, n, d, tmp):
    rng = np.random.default_rng(7)
    if kind == "gaussian":
        q, k, v = (rng.standard_normal((n, d)).astype(np.float32) for _ in range(3))
    else:
        u = 1.5 * rng.standard_normal(d)
        even, odd = u[0:d - 1:2], u[1:d:2]  # dims (2m, 2m + 1) turn by pos * theta_m; an odd last dim stays
        theta = 10000.0 ** (-np.arange(0, 2 * len(odd), 2) / d)

        def rotated():
            c, s = np.cos(np.arange(n)[:, None] * theta), np.sin(np.arange(n)[:, None] * theta)
            out = np.tile(u, (n, 1))
            out[:, 0:2 * len(odd):2] = c * even[: len(odd)] - s * odd
            out[:, 1:2 * len(odd):2] = s * even[: len(odd)] + c * odd
            return (out + 0.5 * rng.standard_normal((n, d))).astype(np.float32)

        k, q, v = rotated(), rotated(), rng.standard_normal((n, d)).astype(np.float32)
    paths = []
    for name, x in zip("qkv", (q, k, v)):
        paths.append(os.path.join(tmp, f"{kind}_{name}.npy"))
        np.save(paths[-1], x)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", help="attnbench binaries to compare (default build/attnbench)")
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--inputs", default="gaussian,local")
    ap.add_argument("--isa", default="auto", help="for bf16 and int8 (f32 always runs auto)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    bins = args.bin or ["build/attnbench"]
    tmp = tempfile.mkdtemp(prefix="precision_cost_")
    try:
        files = {kind: write_inputs(kind, args.n, args.head_dim, tmp) for kind in args.inputs.split(",")}
        times = {}
        for r in range(args.rounds):
            for kind, (q, k, v) in files.items():
                for dtype in ("f32", "bf16", "int8"):
                    for b in bins:
                        cmd = ["taskset", "-c", "0", b, "run", "--variant", "dense", "--q", q, "--k", k, "--v", v,
                               "--dtype", dtype, "--isa", args.isa if dtype != "f32" else "auto", "--threads", "1",
                               "--time", "--min-time", "0", "--repetitions"]
                        per_call = (cpu_seconds(cmd + [str(HI)]) - cpu_seconds(cmd + [str(LO)])) / (HI - LO)
                        times.setdefault((kind, dtype, b), []).append(1e3 * per_call)
            print(f"round {r + 1}, load {' '.join(open('/proc/loadavg').read().split()[:3])}", file=sys.stderr)
        for kind in files:
            for b in bins:
                f32 = min(times[kind, "f32", b])
                cells = [f"{dtype} {min(times[kind, dtype, b]):6.1f} ms (max {max(times[kind, dtype, b]):6.1f}) "
                         f"x{f32 / min(times[kind, dtype, b]):.2f}" for dtype in ("f32", "bf16", "int8")]
                print(f"{kind:9s} {b}: " + "  ".join(cells))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

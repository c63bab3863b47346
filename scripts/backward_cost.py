#!/usr/bin/python3
"""What a backward pass costs in CPU time: `attnbench run --grad-out` minus `attnbench run`, interleaved.

Wall-clock medians of a sweep swing by 2-5x while other jobs share the cores; the CPU time of a
one-thread child (user + sys, getrusage) does not count the time it waits for a core. Each round runs
every (binary, variant) with and without --grad-out, in turn, so drift hits all alike; the minimum
over rounds is the figure (noise only adds). The difference of the two runs is the backward plus
what only a backward run does around it: reading dO and writing dV (O(N D)), and planning for the
backward (its larger workspace allocated and first touched); the forward, reading Q, K, V and
writing O cancel. So the figures are upper bounds, a few ms high at N = 2k. GFLOP/s count the backward's
useful FLOPs as sweep does (2.5 x 4 B H N^2 D, causal half). One thread only: CPU time cannot
measure how threads scale (use `sweep --threads 1,2` on a quiet machine for that).

  scripts/backward_cost.py [--bin build/attnbench [--bin OTHER]...] [--variant dense --variant dense_blas]
                           [--n 2048] [--heads 4] [--head-dim 64,128] [--rounds 5] [--causal]
"""
import argparse, os, resource, shutil, subprocess, sys, tempfile

import numpy as np


def cpu_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", help="attnbench binaries to compare (default build/attnbench)")
    ap.add_argument("--variant", action="append", help="variant specs (default dense and dense_blas)")
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--head-dim", default="64,128", help="comma-separated list")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--causal", action="store_true")
    args = ap.parse_args()
    if args.rounds < 1 or args.n < 1 or args.heads < 1:
        ap.error("--rounds, --n and --heads must be positive")
    bins = args.bin or ["build/attnbench"]
    variants = args.variant or ["dense", "dense_blas"]
    dims = [int(d) for d in args.head_dim.split(",")]
    tmp = tempfile.mkdtemp(prefix="backward_cost_")
    try:
        measure(args, bins, variants, dims, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(args, bins, variants, dims, tmp):
    rng = np.random.default_rng(0)
    files = {}
    for d in dims:
        for name in ("q", "k", "v", "do"):
            path = os.path.join(tmp, f"{name}{d}.npy")
            np.save(path, rng.standard_normal((1, args.heads, args.n, d)).astype(np.float32))
            files[name, d] = path
    dv = os.path.join(tmp, "dv.npy")  # run --grad-out writes at least one gradient
    times = {}
    for r in range(args.rounds):
        for d in dims:
            for b in bins:
                for v in variants:
                    cmd = [b, "run", "--variant", v, "--threads", "1", "--q", files["q", d], "--k", files["k", d],
                           "--v", files["v", d], "--out", os.path.join(tmp, "o.npy")]
                    cmd += ["--causal"] if args.causal else []
                    times.setdefault((d, b, v, "fwd"), []).append(cpu_seconds(cmd))
                    times.setdefault((d, b, v, "fwdbwd"), []).append(cpu_seconds(cmd + ["--grad-out", files["do", d], "--dv", dv]))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    pairs = args.n * args.n / (2 if args.causal else 1)
    print(f"N={args.n} H={args.heads} causal={int(args.causal)} threads=1, {args.rounds} rounds: backward CPU ms "
          f"= min over rounds of run --grad-out minus min of run")
    print("| D | binary | variant | bwd CPU ms | GFLOP/s | time / first variant's |")
    print("|---:|---|---|---:|---:|---:|")
    for d in dims:
        for b in bins:
            first = None
            for v in variants:
                bwd = min(times[d, b, v, "fwdbwd"]) - min(times[d, b, v, "fwd"])
                first = first if first is not None else bwd
                gflops = 2.5 * 4 * args.heads * pairs * d / bwd * 1e-9 if bwd > 0 else float("nan")
                ratio = bwd / first if first > 0 and bwd > 0 else float("nan")  # tiny N: noise can win
                print(f"| {d} | {b} | {v} | {1e3 * bwd:.1f} | {gflops:.1f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()

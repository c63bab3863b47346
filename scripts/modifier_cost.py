#!/usr/bin/python3
"""What the score modifiers cost: CPU time of `attnbench run` per variant spec, interleaved.

On a machine other jobs share, wall-clock medians swing by 2-5x; the CPU time a one-thread run
spends (user + sys of the child, getrusage) does not count the time it waits for a core. Each
round runs every (binary, spec) once, in turn, so drift hits all alike; the minimum over rounds
is the figure (noise only adds). A tiny problem of the same binary measures start-up, subtracted
everywhere; a one-key window of the full size measures the rest of what `run` does around the
attention (reading, the range check, planning, writing O), taken off for the "attention only" ratio.

--q-scale S multiplies the (unit gaussian) queries by S, so the scores scale by S: softcap takes
its polynomial for a vector of scores inside the cap and the rational past it (simd::vsoftcap), so
its cost depends on how often scores come near C (at S = 1 and C = 30, never).

  scripts/modifier_cost.py [--bin build/attnbench [--bin OTHER]...] [--n 4096] [--heads 4] [--rounds 7] [--q-scale 1]
"""
import argparse, os, resource, shutil, subprocess, sys, tempfile

import numpy as np


# Almost no attention: its time is what `run` does around it (read, range check, plan, write).
ONE_KEY = "window:left=0,right=0"


def cpu_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", help="attnbench binaries to compare (default build/attnbench)")
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--softcap", default="30")
    ap.add_argument("--q-scale", type=float, default=1.0, help="queries times this (scores scale with it)")
    args = ap.parse_args()
    bins = args.bin or ["build/attnbench"]
    tmp = tempfile.mkdtemp(prefix="modifier_cost_")
    try:
        measure(args, bins, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(args, bins, tmp):
    rng = np.random.default_rng(0)
    files = {}
    for n, tag in ((args.n, "big"), (64, "tiny")):
        for name in "qkv":
            path = os.path.join(tmp, f"{name}_{tag}.npy")
            x = rng.standard_normal((1, args.heads, n, args.head_dim))
            np.save(path, (x * (args.q_scale if name == "q" else 1.0)).astype(np.float32))
            files[name, tag] = path
    sinks = os.path.join(tmp, "sinks.npy")
    np.save(sinks, rng.standard_normal(args.heads).astype(np.float32))
    specs = ["dense", f"dense:softcap={args.softcap}", "dense:alibi=1", f"dense:sinks={sinks}",
             f"dense:softcap={args.softcap},alibi=1,sinks={sinks}"]
    times = {}
    for r in range(args.rounds):
        for b in bins:
            for spec in specs + ["tiny", ONE_KEY]:
                tag = "tiny" if spec == "tiny" else "big"
                cmd = [b, "run", "--variant", "dense" if spec == "tiny" else spec, "--threads", "1",
                       "--q", files["q", tag], "--k", files["k", tag], "--v", files["v", tag],
                       "--out", os.path.join(tmp, "o.npy")] + (["--causal"] if args.causal else [])
                times.setdefault((b, spec), []).append(cpu_seconds(cmd))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"N={args.n} H={args.heads} D={args.head_dim} causal={int(args.causal)} q-scale={args.q_scale:g} threads=1, "
          f"{args.rounds} rounds, CPU seconds (min over rounds), start-up subtracted")
    print("| binary | spec | min CPU ms | median CPU ms | vs dense (min) | attention only |")
    print("|---|---|---:|---:|---:|---:|")
    for b in bins:
        start = min(times[b, "tiny"])
        dense = min(times[b, "dense"]) - start
        around = min(times[b, ONE_KEY]) - start  # reading, checking, planning, writing
        for spec in specs:
            t = sorted(times[b, spec])
            label = spec.replace(sinks, "SINKS.npy")
            print(f"| {b} | {label} | {1e3 * (t[0] - start):.1f} | {1e3 * (t[len(t) // 2] - start):.1f} | "
                  f"{(t[0] - start) / dense:.3f} | {(t[0] - start - around) / (dense - around):.3f} |")
        print(f"| {b} | (start-up, N=64) | {1e3 * start:.1f} | | | |")
        print(f"| {b} | ({ONE_KEY}: run's work around the attention) | {1e3 * around:.1f} | | | |")


if __name__ == "__main__":
    main()

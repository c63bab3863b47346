"""scripts/plot.py on a real (tiny) sweep with two dtypes and two passes (f32 fwd, bf16 fwd, f32 bwd:
the backward is float32 only): every figure it should draw is written, PNG and PDF, the precision
figure among them; records of different dtypes or passes never share a panel line; a malformed JSONL
line is refused with one line and exit 2.

usage: check_plots.py ATTNBENCH_BINARY (run with Debian's /usr/bin/python3: numpy, matplotlib)"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLOT = os.path.join(ROOT, "scripts", "plot.py")


def main():
    binary = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory(prefix="attnbench_plots_") as tmp:
        run = os.path.join(tmp, "run.jsonl")
        sweep = [binary, "sweep", "--variant", "dense", "--seq", "64,128", "--head-dim", "8",
                 "--dtype", "f32,bf16", "--pass", "fwd,bwd", "--min-time", "0.001", "--warmup", "0",
                 "--repetitions", "2", "--out", run, "--format", "csv"]
        done = subprocess.run(sweep, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            sys.exit(f"check_plots: the sweep failed: {done.stderr.strip()}")
        records = [json.loads(line) for line in open(run) if line.strip()]
        # bf16 bwd is skipped (float32 only): a skipped record, which plot.py leaves out.
        measured = [r for r in records if r["status"] == "ok"]
        combos = sorted({(r["dtype"], r["pass"]) for r in measured})
        if combos != [("bf16", "fwd"), ("f32", "bwd"), ("f32", "fwd")]:
            failures.append(f"expected f32 fwd, bf16 fwd and f32 bwd records, got {combos}")

        out = os.path.join(tmp, "figs")
        done = subprocess.run([sys.executable, PLOT, run, "--out", out, "--attnbench", binary], capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            failures.append(f"plot.py failed: {done.stderr.strip()}")
        for name in ("throughput_vs_n", "pct_peak_heatmap", "error_vs_n", "speedup_vs_dense", "roofline",
                     "precision_error_vs_speedup"):
            for ext in ("png", "pdf"):
                path = os.path.join(out, f"{name}.{ext}")
                if not os.path.isfile(path) or os.path.getsize(path) == 0:
                    failures.append(f"plot.py did not write {name}.{ext}")

        # One panel per (dtype, pass): the panel titles name them.
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        import plot  # noqa: E402
        keys = {plot.setting_key(r) for r in measured}
        if len(keys) != 3:
            failures.append(f"setting_key does not split dtype and pass: {sorted(keys)}")
        titles = {plot.setting_title(k) for k in keys}
        if not (any("bf16" in t for t in titles) and any("bwd" in t for t in titles)):
            failures.append(f"panel titles do not name dtype and pass: {sorted(titles)}")

        bad = os.path.join(tmp, "bad.jsonl")
        with open(bad, "w") as f:
            f.write('{"case_id": 1,,}\n')
        done = subprocess.run([sys.executable, PLOT, bad, "--out", out, "--attnbench", binary], capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 2 or len(done.stderr.strip().splitlines()) != 1:
            failures.append(f"a malformed line: exit {done.returncode}, stderr {done.stderr!r}")
    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print("check_plots: every figure written; dtypes and passes on their own panels")


if __name__ == "__main__":
    main()

"""Runs attnbench on every generated bad input (make_bad_inputs.py) and checks that each is
refused cleanly: a non-zero exit that is not a signal, exactly one line of output, no output
file and no temporary file left behind, within the case's time limit, and whatever the case's
own check asks (a refused output target is left as it was). Then checks that good input still works.

usage: check_bad_inputs.py ATTNBENCH_BINARY"""
import os
import resource
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_bad_inputs import make_cases  # noqa: E402


def main():
    binary = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory(prefix="attnbench_bad_inputs_") as tmp:
        cases = make_cases(tmp)
        before = set(os.listdir(tmp))
        for case in cases:
            name, argv = case[0], case[1]
            opts = case[2] if len(case) > 2 else {}
            limit = opts.get("seconds", 60)
            fsize = opts.get("fsize")
            preexec = (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))) if fsize else None
            try:
                r = subprocess.run([binary] + argv, capture_output=True, timeout=limit, preexec_fn=preexec)
            except subprocess.TimeoutExpired:
                failures.append("%s: hung (no exit within %g s)" % (name, limit))
                continue
            text = (r.stdout + r.stderr).decode("utf-8", "replace")
            lines = text.count("\n")
            problems = []
            if r.returncode < 0:
                problems.append("killed by signal %d" % -r.returncode)
            elif r.returncode == 0 or r.returncode > 125:
                problems.append("exit status %d" % r.returncode)
            if lines != 1 or not text.endswith("\n"):
                problems.append("%d lines of output" % lines)
            if any((ord(c) < 0x20 and c != "\n") or c == "\x7f" for c in text):
                problems.append("prints raw control characters")
            if "nan" in text.lower().split(":")[-1] and "nan" not in name.lower() and "scale" not in name:
                problems.append("prints NaN")
            left = set(os.listdir(tmp)) - before
            if left:
                problems.append("left files behind: %s" % sorted(left))
                for f in left:
                    os.remove(os.path.join(tmp, f))
            if "check" in opts:  # e.g. the refused target is still what it was
                problem = opts["check"](text)
                if problem:
                    problems.append(problem)
            if problems:
                failures.append("%s: %s\n    args: %s\n    output: %s" % (name, "; ".join(problems), argv[:12], text[:500]))
        # The battery is only meaningful if good input still runs.
        q, k = os.path.join(tmp, "q.npy"), os.path.join(tmp, "k.npy")
        ok = subprocess.run([binary, "run", "--variant", "dense", "--q", q, "--k", k, "--v", k,
                             "--out", os.path.join(tmp, "o.npy")], capture_output=True, timeout=60)
        if ok.returncode != 0:
            failures.append("good input failed: %s" % (ok.stdout + ok.stderr).decode())
    print("%d bad inputs, %d not refused cleanly" % (len(cases), len(failures)))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

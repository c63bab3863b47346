"""Interrupted sweeps lose nothing: kill -9 in the middle of `attnbench sweep --out`, the JSONL
holds only whole lines, and `--resume` completes the grid with every case exactly once (also
after a torn last line); SIGINT stops after the current case with exit 130 and the file intact.

usage: check_sweep_interrupts.py ATTNBENCH_BINARY"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

GRID = ["--variant", "dense", "--variant", "window:left=16", "--seq", "64,96,128,160", "--head-dim", "16,32,48",
        "--min-time", "0.01", "--warmup", "0", "--repetitions", "3", "--format", "csv"]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
    return ok


def expected_ids(binary):
    r = subprocess.run([binary, "sweep"] + GRID + ["--dry-run"], capture_output=True, text=True, timeout=60)
    ids = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    check(r.returncode == 0 and len(ids) == 24, "dry run lists the 24-case grid: %s" % r.stderr)
    return ids


def records(path, what):
    """The file's records; fails the check if any line is not a whole JSON object."""
    with open(path, "rb") as f:
        data = f.read()
    check(data == b"" or data.endswith(b"\n"), "%s: file ends in a partial line" % what)
    out = []
    for n, line in enumerate(data.split(b"\n")[:-1]):
        try:
            out.append(json.loads(line))
        except ValueError:
            check(False, "%s: line %d is not whole JSON: %r" % (what, n + 1, line[:80]))
    return out


def start(binary, out, resume=False):
    args = [binary, "sweep"] + GRID + ["--out", out] + (["--resume"] if resume else [])
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_lines(proc, path, n, timeout=120):
    """Waits until `path` has at least n lines; False if the sweep ended or time ran out first."""
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            with open(path, "rb") as f:
                if f.read().count(b"\n") >= n:
                    return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def resume_and_check(binary, out, ids, what):
    r = subprocess.run([binary, "sweep"] + GRID + ["--out", out, "--resume"], capture_output=True, text=True,
                       timeout=300)
    check(r.returncode == 0, "%s: --resume exit %d: %s" % (what, r.returncode, r.stderr[-300:]))
    got = [rec.get("case_id") for rec in records(out, what + " after --resume")]
    for case_id in ids:
        check(got.count(case_id) == 1, "%s: case %s appears %d times" % (what, case_id, got.count(case_id)))
    check(sorted(got) == sorted(ids), "%s: records are not exactly the grid" % what)
    check(all(rec.get("status") == "ok" for rec in records(out, what)), "%s: a case was not ok" % what)


def kill9(binary, tmp, ids):
    out = os.path.join(tmp, "kill9.jsonl")
    proc = start(binary, out)
    if not check(wait_for_lines(proc, out, 3), "kill -9: sweep wrote fewer than 3 lines before ending"):
        proc.kill()
        return
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    check(proc.returncode == -signal.SIGKILL, "kill -9: sweep was not killed (exit %s)" % proc.returncode)
    before = records(out, "kill -9")
    check(3 <= len(before) < len(ids), "kill -9 landed mid-sweep (%d of %d cases written)" % (len(before), len(ids)))
    print("kill -9 after %d of %d cases" % (len(before), len(ids)))
    # What a kill in the middle of a write could leave: the resumed run must drop it.
    with open(out, "ab") as f:
        f.write(b'{"case_id": "torn", "status": "o')
    resume_and_check(binary, out, ids, "kill -9")


def sigint(binary, tmp, ids):
    out = os.path.join(tmp, "sigint.jsonl")
    proc = start(binary, out)
    if not check(wait_for_lines(proc, out, 2), "SIGINT: sweep wrote fewer than 2 lines before ending"):
        proc.kill()
        return
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        check(False, "SIGINT: sweep did not stop within 60 s")
        return
    check(proc.returncode == 130, "SIGINT: exit %s, expected 130: %s" % (proc.returncode, err[-300:]))
    check(b"interrupted" in err, "SIGINT: no 'interrupted' message")
    done = records(out, "SIGINT")
    check(2 <= len(done) < len(ids), "SIGINT stopped mid-sweep (%d of %d cases written)" % (len(done), len(ids)))
    print("SIGINT stopped after %d of %d cases" % (len(done), len(ids)))
    resume_and_check(binary, out, ids, "SIGINT")


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="attnbench_interrupts_") as tmp:
        ids = expected_ids(binary)
        kill9(binary, tmp, ids)
        sigint(binary, tmp, ids)
        leftovers = [f for f in os.listdir(tmp) if not f.endswith(".jsonl")]
        check(not leftovers, "temporary files left behind: %s" % leftovers)
    for f in failures:
        print("FAIL " + f)
    print("sweep interrupts: %s" % ("ok" if not failures else "%d failures" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

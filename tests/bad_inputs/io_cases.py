"""Bad output targets and unbounded inputs for `attnbench` (imported by make_bad_inputs.py).

io_cases(dir) returns [(name, argv, options)]: options may hold
  "check": f(output_text) -> problem string or None, run after the case (e.g. the target is
           still a FIFO, a read-only file still holds its bytes),
  "fsize": an RLIMIT_FSIZE in bytes for the process,
  "seconds": how long the refusal may take (bounded reading must refuse quickly)."""
import os
import socket
import stat

from make_bad_inputs import ints, tensor

RECORD = (b'{"case_id": "x", "variant": "dense", "name": "dense", "batch": 1, "heads": 1, "seq_q": 64, '
          b'"seq_kv": 64, "head_dim": 16, "causal": 0, "threads": 1, "isa": "avx2", "status": "ok", '
          b'"time_ms": 1.0, "workspace_bytes": 0}\n')


def _kind(path):
    mode = os.lstat(path).st_mode
    for test, name in ((stat.S_ISLNK, "link"), (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "chardev"), (stat.S_ISDIR, "dir"), (stat.S_ISREG, "file")):
        if test(mode):
            return name
    return "other"


def _still(path, kind, data=None):
    """A check that `path` is still of `kind` (and, for a file, still holds `data`)."""
    def check(_output):
        if _kind(path) != kind:
            return "%s is now a %s, was a %s" % (path, _kind(path), kind)
        if data is not None:
            with open(path, "rb") as f:
                if f.read() != data:
                    return "%s was modified" % path
        return None
    return check


def _says(text, then=None):
    def check(output):
        if text not in output:
            return "output does not say %r" % text
        return then(output) if then else None
    return check


def io_cases(out_dir):
    def put(name, data):
        path = os.path.join(out_dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    q = put("io_q.npy", tensor([1, 2, 8, 4]))
    k = put("io_k.npy", tensor([1, 2, 8, 4]))
    jsonl = put("io_records.jsonl", RECORD)  # tabulates fine: only the target is wrong
    layout = put("io_layout.npy", ints("(1, 1, 1)", [1]))

    # Targets that are not regular files. A character device of our own when we may make one
    # (as root), so a regression never clobbers the machine's real /dev/null; else a link to it.
    fifo = os.path.join(out_dir, "io_fifo")
    os.mkfifo(fifo)
    sock_path = os.path.join(out_dir, "io_socket")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(sock_path)
    sock.close()
    null_link = os.path.join(out_dir, "io_link_to_null")
    os.symlink("/dev/null", null_link)
    try:
        chardev = os.path.join(out_dir, "io_null")
        os.mknod(chardev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:
        chardev = null_link
    dangling = os.path.join(out_dir, "io_dangling")
    os.symlink("no/such/dir/o.npy", dangling)
    read_only = put("io_read_only.npy", b"precious")
    os.chmod(read_only, 0o444)
    read_only_jsonl = put("io_read_only.jsonl", b'{"case_id": "x", "status": "ok"}\n')
    os.chmod(read_only_jsonl, 0o444)

    targets = {
        "a FIFO": (fifo, _still(fifo, "fifo")),
        "a socket": (sock_path, _still(sock_path, "socket")),
        "a character device": (chardev, _still(chardev, _kind(chardev))),
        "a link to /dev/null": (null_link, _still(null_link, "link")),
        "a dangling link": (dangling, _still(dangling, "link")),
        "a read-only file": (read_only, _still(read_only, "file", b"precious")),
        "a directory": (out_dir, None),
    }
    out = os.path.join(out_dir, "io_out.npy")
    run = ["run", "--variant", "dense", "--q", q, "--k", k, "--v", k]
    mask = ["mask", "--variant", "dense", "--seq", "64"]
    sweep = ["sweep", "--variant", "dense", "--seq", "32", "--head-dim", "8", "--min-time", "0.001",
             "--warmup", "0", "--repetitions", "1"]
    cases = []
    for what, (path, check) in targets.items():
        opts = {"check": check} if check else {}
        cases.append(("run --out is %s" % what, run + ["--out", path], opts))
        cases.append(("run --weights is %s" % what, run + ["--out", out, "--weights", path], opts))
        cases.append(("mask --out is %s" % what, mask + ["--out", path], opts))
        cases.append(("mask --png is %s" % what, mask + ["--out", out, "--png", path], opts))
        cases.append(("table --out is %s" % what, ["table", jsonl, "--preset", "lra", "--out", path], opts))
        if path != out_dir:  # sweep --out DIR is already in make_bad_inputs
            cases.append(("sweep --out is %s" % what, sweep + ["--out", path], opts))
            cases.append(("sweep --resume --out is %s" % what, sweep + ["--resume", "--out", path],
                          dict(opts, seconds=10)))
    ro_jsonl = _still(read_only_jsonl, "file", b'{"case_id": "x", "status": "ok"}\n')
    cases.append(("sweep --out is a read-only JSONL", sweep + ["--out", read_only_jsonl], {"check": ro_jsonl}))

    # An output that is an input, or another output of the same command. Each case has inputs
    # of its own, so one that is wrongly overwritten cannot spoil the cases after it.
    def own_run(tag):
        q_, k_ = put("io_%s_q.npy" % tag, tensor([1, 2, 8, 4])), put("io_%s_k.npy" % tag, tensor([1, 2, 8, 4]))
        return q_, k_, ["run", "--variant", "dense", "--q", q_, "--k", k_, "--v", k_]

    q1, _, run1 = own_run("same1")
    cases.append(("run --out is --q", run1 + ["--out", q1], {"check": _still(q1, "file", tensor([1, 2, 8, 4]))}))
    _, k2, run2 = own_run("same2")
    cases.append(("run --out is --v", run2 + ["--out", k2], {"check": _still(k2, "file", tensor([1, 2, 8, 4]))}))
    q3, _, run3 = own_run("same3")
    hard_link = os.path.join(out_dir, "io_hard_link_to_q.npy")
    os.link(q3, hard_link)
    cases.append(("run --out is a hard link to --q", run3 + ["--out", hard_link],
                  {"check": _still(q3, "file", tensor([1, 2, 8, 4]))}))
    _, k4, run4 = own_run("same4")
    cases.append(("run --weights is --k", run4 + ["--out", out, "--weights", k4],
                  {"check": _still(k4, "file", tensor([1, 2, 8, 4]))}))
    cases.append(("run --out and --weights are one file", run + ["--out", out, "--weights", out], {}))
    cases.append(("run --out and --weights are one file, spelled apart",
                  run + ["--out", out, "--weights", os.path.join(out_dir, ".", "io_out.npy")], {}))
    cases.append(("mask --out and --png are one file", mask + ["--out", out, "--png", out], {}))
    cases.append(("mask --out is the variant's layout",
                  ["mask", "--variant", "block_sparse:block=64,layout=" + layout, "--seq", "64", "--out", layout],
                  {"check": _still(layout, "file", ints("(1, 1, 1)", [1]))}))
    cases.append(("table --out is its input", ["table", jsonl, "--preset", "lra", "--out", jsonl],
                  {"check": _still(jsonl, "file", RECORD)}))

    # A write that fails midway reports its real cause and leaves no temporary file.
    cases.append(("mask over the file-size limit", ["mask", "--variant", "dense", "--seq", "1k", "--out", out],
                  {"fsize": 64 * 1024, "check": _says("File too large")}))
    cases.append(("run over the file-size limit", run + ["--out", out], {"fsize": 300, "check": _says("File too large")}))

    # Inputs that never end or are far too large: refused quickly, never read unbounded.
    quick = {"seconds": 5}
    for dev in ("/dev/zero", "/dev/urandom"):
        cases.append(("run --q %s" % dev, run[:4] + [dev, "--k", k, "--v", k, "--out", out], quick))
        cases.append(("run --lens %s" % dev, run + ["--out", out, "--lens", dev], quick))
        cases.append(("table %s" % dev, ["table", dev, "--preset", "lra"], quick))
        cases.append(("table --expect %s" % dev, ["table", jsonl, "--preset", "lra", "--expect", dev], quick))
        cases.append(("sweep --config %s" % dev, ["sweep", "--config", dev, "--dry-run"], quick))
        cases.append(("block_sparse layout=%s" % dev, mask[:2] + ["block_sparse:layout=" + dev] + mask[3:] +
                      ["--out", out], quick))
    cases.append(("run --k is a FIFO with no writer", run[:5] + [fifo, "--v", k, "--out", out], quick))
    cases.append(("run --q is a socket", run[:4] + [sock_path, "--k", k, "--v", k, "--out", out], quick))
    big_cfg = put("io_big.cfg", b"seq = 64\nhead-dim = 8\n" + b"#" * (1 << 20) + b"\n")
    cases.append(("sweep --config over 1 MiB", ["sweep", "--config", big_cfg, "--dry-run"], quick))
    long_line = put("io_long_line.jsonl", b'{"pad": "' + b"x" * (1 << 20) + b'", ' + RECORD[1:])
    cases.append(("table with a record over 1 MiB", ["table", long_line, "--preset", "lra"], quick))
    huge_layout = put("io_huge_layout.npy", ints("(1, 20000, 20000)", [1]))
    cases.append(("block_sparse layout over 2^28 cells",
                  ["mask", "--variant", "block_sparse:block=64,layout=" + huge_layout, "--seq", "64", "--out", out],
                  quick))
    return cases

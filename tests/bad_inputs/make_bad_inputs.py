"""Generates a battery of bad inputs for `attnbench`: hostile or broken .npy files and
impossible command lines. Plain Python (no NumPy) so the bytes are exactly what we say.

make_cases(dir) writes the files into `dir` and returns [(name, argv)] where argv is the
attnbench command line (without the program) that must be refused cleanly; some cases carry a
third element, options for the checker (see io_cases.py)."""
import os
import struct

FLOAT32 = "<f4"


def npy_bytes(descr="<f4", fortran="False", shape="(2, 4)", data=b"", version=1, dict_text=None, header_len=None):
    """A .npy file; any field may be made hostile. `dict_text` replaces the whole header dict."""
    text = dict_text if dict_text is not None else \
        "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    pre = 10 if version == 1 else 12
    text = text + " " * ((64 - (pre + len(text) + 1) % 64) % 64) + "\n"
    raw = text.encode("latin-1")
    n = len(raw) if header_len is None else header_len
    size = struct.pack("<H", n) if version == 1 else struct.pack("<I", n)
    return b"\x93NUMPY" + bytes([version, 0]) + size + raw + data


def floats(values):
    return struct.pack("<%df" % len(values), *values)


def tensor(shape, fill=0.5):
    n = 1
    for d in shape:
        n *= d
    return npy_bytes(shape="(%s)" % ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""),
                     data=floats([fill * ((i * 7) % 5 - 2) for i in range(n)]))


def ints(shape, values, descr="<i8"):
    fmt = {"<i8": "q", "<i4": "i"}[descr]
    return npy_bytes(descr=descr, shape=shape, data=struct.pack("<%d%s" % (len(values), fmt), *values))


def hostile_npys():
    """name -> bytes of a file that must never be accepted as Q."""
    good = floats([0.25] * 8)
    return {
        "empty": b"",
        "text": b"this is not a numpy file\n",
        "bad_magic": b"\x93NUMPX\x01\x00" + npy_bytes(data=good)[8:],
        "magic_only": b"\x93NUMPY",
        "version_9": npy_bytes(version=9, data=good),
        "version_0": npy_bytes(version=0, data=good),
        "header_len_past_eof": npy_bytes(header_len=0xFFFF, data=good),
        "header_len_absurd_v2": npy_bytes(version=2, header_len=0x7FFFFFFF, data=good),
        "header_len_absurd_v3": npy_bytes(version=3, header_len=0xFFFFFFFF, data=good),
        "header_len_zero": npy_bytes(header_len=0, data=good),
        "no_descr": npy_bytes(dict_text="{'fortran_order': False, 'shape': (2, 4), }", data=good),
        "no_shape": npy_bytes(dict_text="{'descr': '<f4', 'fortran_order': False, }", data=good),
        "no_fortran_order": npy_bytes(dict_text="{'descr': '<f4', 'shape': (2, 4), }", data=good),
        "garbage_dict": npy_bytes(dict_text="\x00\xff\x01 garbage ( ) ' :", data=good),
        "unquoted_descr": npy_bytes(dict_text="{'descr': f4, 'fortran_order': False, 'shape': (2, 4), }", data=good),
        "fortran_maybe": npy_bytes(fortran="Maybe", data=good),
        "dtype_int32": npy_bytes(descr="<i4", data=struct.pack("<8i", *range(8))),
        # float16 is read (exactly), so its non-finite values must meet the same refusal as float32's.
        "float16_inf": npy_bytes(descr="<f2", data=struct.pack("<8H", *([0x3C00] * 7 + [0x7C00]))),
        "float16_nan": npy_bytes(descr="<f2", data=struct.pack("<8H", *([0x7E00] + [0x3C00] * 7))),
        "float16_big_endian": npy_bytes(descr=">f2", data=struct.pack(">8H", *([0x3C00] * 8))),
        "float16_truncated": npy_bytes(descr="<f2", data=struct.pack("<7H", *([0x3C00] * 7))),
        "dtype_big_endian": npy_bytes(descr=">f4", data=good),
        "dtype_complex": npy_bytes(descr="<c8", data=good + good),
        "dtype_object": npy_bytes(descr="|O", data=b"\x00" * 64),
        "dtype_unicode": npy_bytes(descr="<U5", data=b"\x00" * 160),
        "dtype_zero_width": npy_bytes(descr="<f0", data=b""),
        "dtype_huge_width": npy_bytes(descr="<f99999", data=good),
        "dtype_structured": npy_bytes(dict_text="{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 4), }",
                                      data=good),
        "shape_zero_rows": npy_bytes(shape="(0, 4)"),
        "shape_zero_dim": npy_bytes(shape="(2, 0)"),
        "shape_scalar": npy_bytes(shape="()", data=floats([1.0])),
        "shape_1d": npy_bytes(shape="(8,)", data=good),
        "shape_5d": npy_bytes(shape="(1, 1, 1, 2, 4)", data=good),
        "shape_negative": npy_bytes(shape="(-2, 4)", data=good),
        "shape_float": npy_bytes(shape="(2.0, 4)", data=good),
        "shape_words": npy_bytes(shape="(two, four)", data=good),
        "shape_unclosed": npy_bytes(shape="(2, 4", data=good),
        "shape_terabytes": npy_bytes(shape="(1000000, 1000000, 64)", data=good),
        "shape_overflows_size_t": npy_bytes(shape="(999999999999, 999999999999, 999999999999, 64)", data=good),
        "shape_exabytes_multiple_of_2_64": npy_bytes(shape="(4611686018427387904,)", data=good),
        "shape_dim_past_int": npy_bytes(shape="(1, 1, 3000000000, 1)", data=good),
        "truncated_data": npy_bytes(data=good[:-3]),
        "truncated_header": npy_bytes(data=good)[:40],
        "trailing_bytes": npy_bytes(data=good + b"\x00"),
        "nan_filled": npy_bytes(data=floats([float("nan")] * 8)),
        "one_inf": npy_bytes(data=floats([0.5] * 7 + [float("inf")])),
        "float64_overflowing_float32": npy_bytes(descr="<f8", data=struct.pack("<8d", *([1e300] * 8))),
        "head_dim_257": npy_bytes(shape="(2, 257)", data=floats([0.1] * 514)),
        # A second key was ignored: the data was read with the first shape.
        "duplicate_shape": npy_bytes(dict_text="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), "
                                               "'shape': (1, 8), }", data=good),
        "duplicate_descr": npy_bytes(dict_text="{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, "
                                               "'shape': (2, 4), }", data=good),
        "duplicate_fortran_order": npy_bytes(dict_text="{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), "
                                                       "\"fortran_order\": True, }", data=good),
    }


def make_cases(out_dir):
    """Writes the inputs into out_dir; returns [(name, argv list)], each argv must be refused."""
    def put(name, data):
        path = os.path.join(out_dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    q = put("q.npy", tensor([1, 4, 10, 8]))
    k = put("k.npy", tensor([1, 2, 12, 8]))
    out = os.path.join(out_dir, "out.npy")

    def run(extra, q_=q, k_=k, v_=k, variant="dense", out_=out):
        return ["run", "--variant", variant, "--q", q_, "--k", k_, "--v", v_, "--out", out_] + extra

    cases = []
    for name, data in hostile_npys().items():
        path = put("hostile_" + name + ".npy", data)
        cases.append(("Q " + name, run([], q_=path)))
        cases.append(("V " + name, run([], v_=path)))

    # Shapes that are each fine alone but do not fit together.
    shapes = {
        "K and V differ": ([1, 4, 10, 8], [1, 2, 12, 8], [1, 2, 11, 8]),
        "batch differs": ([2, 4, 10, 8], [1, 2, 12, 8], [1, 2, 12, 8]),
        "head size differs": ([1, 4, 10, 8], [1, 2, 12, 9], [1, 2, 12, 9]),
        "H not a multiple of Hkv": ([1, 4, 10, 8], [1, 3, 12, 8], [1, 3, 12, 8]),
        "Hkv larger than H": ([1, 2, 10, 8], [1, 4, 12, 8], [1, 4, 12, 8]),
        "D over 256": ([1, 1, 2, 300], [1, 1, 2, 300], [1, 1, 2, 300]),
    }
    for i, (name, (sq, sk, sv)) in enumerate(shapes.items()):
        paths = [put("mismatch%d_%s.npy" % (i, t), tensor(s)) for t, s in zip("qkv", (sq, sk, sv))]
        cases.append((name, run([], *paths)))

    # Too little memory: naive materialises Nq x Nk scores, 400k^2 floats = 640 GB.
    long_seq = put("long_seq.npy", tensor([400000, 1]))
    cases.append(("naive needs terabytes", run([], long_seq, long_seq, long_seq, variant="naive")))

    lens_path = lambda name, data: put("lens_" + name + ".npy", data)
    self_q = put("self_q.npy", tensor([2, 2, 12, 8]))
    for name, data in {
        "float lens": tensor([2]),
        "lens wrong length": ints("(3,)", [1, 2, 3]),
        "lens zero": ints("(2,)", [0, 5]),
        "lens negative": ints("(2,)", [-1, 5]),
        "lens past N": ints("(2,)", [5, 13]),
        "lens 2-D": ints("(2, 1)", [5, 5]),
        "lens int32 huge": ints("(2,)", [2147483647, 5], descr="<i4"),
    }.items():
        cases.append((name, run(["--lens", lens_path(name.replace(" ", "_"), data)], self_q, self_q, self_q)))
    cases.append(("lens with Nq != Nk", run(["--lens", lens_path("ok", ints("(1,)", [5]))])))

    for spec in ["nope", "", ":", "dense:", "dense:=3", "dense:x", "dense:x=1", "dense:a=1,a=2", "dense,",
                 "DENSE", "dense:" + "k=v," * 1000, "\x7f\x01"]:
        cases.append(("variant spec %r" % spec[:20], run([], variant=spec)))
    for flag, values in {"--isa": ["avx9000", "", "AVX512", "auto,scalar"],
                         "--threads": ["0", "-1", "1025", "99999999999", "two", "1.5", ""],
                         "--scale": ["nan", "inf", "-inf", "0", "abc", "1e999"]}.items():
        for value in values:
            cases.append(("%s %r" % (flag, value), run([flag, value])))

    read_only = os.path.join(out_dir, "read_only")
    os.makedirs(read_only, exist_ok=True)
    for name, path in {"out in missing dir": "/nonexistent/dir/o.npy", "out is a directory": out_dir,
                       "out is empty": ""}.items():
        cases.append((name, run([], out_=path)))
    cases.append(("input is a directory", run([], q_=out_dir)))
    cases.append(("input missing", run([], q_=os.path.join(out_dir, "missing.npy"))))
    cases.append(("unknown flag", run(["--frobnicate"])))
    cases.append(("flag without value", run(["--threads"])))
    cases.append(("missing --q", ["run", "--variant", "dense", "--k", k, "--v", k, "--out", out]))
    cases += sweep_cases(out_dir)
    cases += overflow_cases(put)
    from io_cases import io_cases  # output targets and unbounded inputs (imports this module)
    cases += io_cases(out_dir)
    cases.append(("no command", []))
    cases.append(("unknown command", ["frobnicate"]))
    cases += misc_cases(out_dir)
    return cases


def overflow_cases(put):
    """A query row and a key row of 1e30 (finite, but their score overflows float32): every
    variant on every ISA must refuse, not write a row of zeros."""
    shape = [1, 2, 9, 8]
    n = 2 * 9 * 8
    def with_big_row(row, fill):
        values = [0.25 * ((i * 7) % 5 - 2) for i in range(n)]
        for d in range(8):
            values[row * 8 + d] = fill
        return npy_bytes(shape="(1, 2, 9, 8)", data=floats(values))
    q = put("overflow_q.npy", with_big_row(3, 1e30))
    k = put("overflow_k.npy", with_big_row(5, 1e30))
    v = put("overflow_v.npy", tensor(shape))
    big_v = put("overflow_big_v.npy", with_big_row(2, 3e37))
    cases = []
    for variant in ["dense", "naive", "dense_blas", "window:left=-1,right=-1", "window", "dilated", "block_sparse",
                    "block_sparse:pattern=local,block=4", "sink", "linear", "linformer:k=4", "nystrom:landmarks=3",
                    "synthesizer", "reformer:buckets=4,chunk=4", "sinkhorn"]:
        for isa in ["auto", "avx2", "sse2", "scalar"]:
            for name, (k_, v_) in {"q.k overflows": (k, v), "P.V overflows": (v, big_v)}.items():
                if variant == "synthesizer" and name == "q.k overflows":
                    continue  # it reads neither Q nor K
                cases.append(("%s: %s --isa %s" % (name, variant, isa),
                              ["run", "--variant", variant, "--q", q if k_ == k else v, "--k", k_, "--v", v_,
                               "--out", os.path.join(os.path.dirname(q), "out.npy"), "--isa", isa]))
    return cases


def sweep_cases(out_dir):
    """Impossible sweep grids, shard specs and output paths."""
    base = ["sweep", "--variant", "dense", "--seq", "64", "--head-dim", "16", "--dry-run"]
    bad = {
        "--shard": ["0/2", "3/2", "x", "1/0", "1/2/3", "-1/2", "", "1/99999999999999999999"],
        "--seq": ["0", "abc", "", "-64", "99999999999999", "1k5", "64,,128"],
        "--head-dim": ["0", "257", "300", "x"],
        "--batch": ["0", "-1"],
        "--heads": ["0"],
        "--threads": ["0", "1025", "two"],
        "--isa": ["avx9000", "AUTO"],
        "--causal": ["2", "yes"],
        "--format": ["xml"],
        "--filter": ["(", "[z-a]"],
        "--variant": ["nope", "window:left=x", ""],
        "--config": [os.path.join(out_dir, "missing.cfg"), out_dir],
        "--repetitions": ["0", "-3"],
        "--min-time": ["-1", "nan"],
    }
    cases = []
    for flag, values in bad.items():
        for value in values:
            cases.append(("sweep %s %r" % (flag, value), base + [flag, value]))
    cases.append(("sweep kv-heads not dividing heads", base + ["--heads", "4", "--kv-heads", "3"]))
    cases.append(("sweep --resume without --out", base + ["--resume"]))
    run = base[:-1]  # without --dry-run: the output path is opened
    cases.append(("sweep --out in missing dir", run + ["--out", "/nonexistent/dir/s.jsonl"]))
    cases.append(("sweep --out is a directory", run + ["--out", out_dir]))
    cases.append(("sweep without --seq", ["sweep", "--variant", "dense", "--head-dim", "16"]))
    return cases


def misc_cases(out_dir):
    """Hostile filters, integer overflow, unknown options, control characters in errors."""
    base = ["sweep", "--variant", "dense", "--seq", "64", "--head-dim", "16", "--dry-run"]
    cases = []
    # std::regex recursed once per nesting level and overflowed the stack.
    deep = "(" * 30000 + ")" * 30000
    cases.append(("sweep --filter 30000 nested parens", base + ["--filter", deep]))
    cfg = os.path.join(out_dir, "deep_filter.cfg")
    with open(cfg, "w") as f:
        f.write("filter = %s\n" % deep)
    cases.append(("sweep config filter 30000 nested parens", base + ["--config", cfg]))
    for pattern in ["(?=x)", "a**", "x{1001}", "a" * 4097]:
        cases.append(("sweep --filter %r" % pattern[:20], base + ["--filter", pattern]))

    # Integers past their type are refused, never wrapped (4294967297 = 2^32 + 1 became 1).
    for shard in ["4294967297/3", "1/4294967299", "2147483648/2147483649", "18446744073709551617/2", "+1/2",
                  " 1/2", "1/2 ", "1/+2", "1/2x", "01/1e3"]:
        cases.append(("sweep --shard %r" % shard, base + ["--shard", shard]))
    for flag, value in [("--repetitions", "4294967297"), ("--seq", "4294967297"), ("--threads", "4294967297"),
                        ("--heads", "18446744073709551617"), ("--seq", "4194304k")]:
        cases.append(("sweep %s %s" % (flag, value), base + [flag, value]))
    mask_out = os.path.join(out_dir, "mask.npy")
    for value in ["9223372036854775807k", "18446744073709551617", "4294967297"]:
        cases.append(("mask --seq %s" % value, ["mask", "--variant", "dense", "--seq", value, "--out", mask_out]))
    cases.append(("mask --heads 2^32+1", ["mask", "--variant", "dense", "--seq", "64", "--heads", "4294967297",
                                         "--out", mask_out]))
    cases.append(("peak --threads 2^32+1", ["peak", "--threads", "4294967297"]))

    # Every command refuses unknown options and stray words instead of ignoring them.
    cases += [("list --bogus", ["list", "--bogus"]), ("list stray word", ["list", "extra"]),
              ("peak --bogus", ["peak", "--bogus"]), ("peak stray word", ["peak", "extra"]),
              ("sweep stray word", base + ["extra"]), ("table --bogus", ["table", "--preset", "lra", "--bogus"]),
              ("mask stray word", ["mask", "--variant", "dense", "--seq", "64", "--out", mask_out, "extra"]),
              ("mask --bogus", ["mask", "--variant", "dense", "--seq", "64", "--out", mask_out, "--bogus"])]
    q, k = os.path.join(out_dir, "q.npy"), os.path.join(out_dir, "k.npy")  # written by make_cases
    run = ["run", "--variant", "dense", "--q", q, "--k", k, "--v", k, "--out", os.path.join(out_dir, "out.npy")]
    cases += [("run stray word", run + ["extra"]), ("run --threads 2^32+1", run + ["--threads", "4294967297"])]

    # Control characters quoted in an error are escaped: still one line, no terminal escapes.
    hostile_name = os.path.join(out_dir, "ctl\nname\x1b[2J\r.npy")
    cases.append(("missing file name with newline and ESC", run[:4] + [hostile_name] + run[5:]))
    with open(os.path.join(out_dir, "ctl_descr.npy"), "wb") as f:
        f.write(npy_bytes(descr="<f\n\x1b[2J4", data=floats([0.25] * 8)))
    cases.append(("npy descr with newline and ESC", run[:4] + [os.path.join(out_dir, "ctl_descr.npy")] + run[5:]))
    for spec in ["dense:\nx=1", "\x1b[2Jdense", "window:left=\n5", "block_sparse:layout=\n\x1b[2J.npy"]:
        cases.append(("variant spec with control bytes %r" % spec, run[:2] + [spec] + run[3:]))
    return cases

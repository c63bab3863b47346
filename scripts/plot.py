#!/usr/bin/python3
"""Figures from attnbench sweep JSONL: throughput vs N, % of peak over N x D, error vs N,
speed-up over dense, a roofline, for decode records tokens/s and % of bandwidth vs context, and with
several dtypes error against speed-up over f32 (plot_precision.py).
Writes PNG and PDF of each into --out. Records from several machines (their machine.cpu differs)
get a panel and a roof per machine, named in the titles.

Usage: scripts/plot.py RUN.jsonl... --out DIR [--attnbench PATH | --schema FILE] [--bandwidth-gbs 26]
                      [--maps ARGS...]

The field names come from the record schema (`attnbench schema --format json`, or that output saved
in a file): plot.py checks that every field it reads is there and refuses records of a newer
schema_version than the schema it was given.

(/usr/bin/python3 on purpose: Debian's numpy/matplotlib live there, not in a pyenv python.)
"""
import argparse
import collections
import json
import math
import os
import subprocess
import sys
import types

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # plot_precision.py lies beside this script
from plot_precision import plot_precision  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

# Streaming copy bandwidth of the machine the committed results ran on (measured there), for
# version 1 records, which carry no bandwidth_gbs.
DEFAULT_BANDWIDTH_GBS = 26.0
ERR_FLOOR = 1e-9  # exact zeros are drawn here on log axes
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The record fields plot.py reads, by their schema names (checked against the schema at start-up).
USED_FIELDS = ("schema_version", "case_id", "status", "variant", "batch", "heads", "kv_heads", "seq_q", "seq_kv",
               "head_dim", "causal", "threads", "isa", "time_ms", "flops", "gflops", "peak_gflops", "pct_peak",
               "bytes", "bandwidth_gbs", "rel_err", "approx_err", "tokens_per_s", "pct_bandwidth", "machine", "dtype",
               "pass", "inputs", "lens", "cos_sim")
# F.time_ms == "time_ms"; `pass` is a Python keyword, so that one is F.pass_.
F = types.SimpleNamespace(**{(name + "_" if name == "pass" else name): name for name in USED_FIELDS})


def die(message):
    print(f"plot.py: error: {message}", file=sys.stderr)
    sys.exit(2)


class Schema:
    """The record schema: its version and its fields by name."""

    def __init__(self, doc, source):
        try:
            self.version = doc["schema_version"]
            self.fields = {f["name"]: f for f in doc["fields"]}
            self.required = [name for name, f in self.fields.items() if f["required"]]
        except (KeyError, TypeError):
            die(f"{source}: not a record schema (expected schema_version and fields)")
        if not isinstance(self.version, int) or isinstance(self.version, bool):
            die(f"{source}: schema_version is not an integer")
        missing = [name for name in USED_FIELDS if name not in self.fields]
        if missing:
            die(f"record schema version {self.version} ({source}) has no field {', '.join(missing)}: "
                "plot.py and attnbench disagree")


def load_schema(args):
    """From --schema FILE, else from running `ATTNBENCH schema --format json`."""
    if args.schema:
        source = args.schema
        try:
            with open(args.schema, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            die(f"cannot read --schema {args.schema}: {e.strerror}")
    else:
        source = f"{args.attnbench} schema"
        try:
            done = subprocess.run([args.attnbench, "schema", "--format", "json"], capture_output=True, text=True,
                                  timeout=60)
        except (OSError, subprocess.SubprocessError) as e:
            die(f"cannot run {args.attnbench} ({getattr(e, 'strerror', None) or e}): build it (scripts/build), "
                "or give --attnbench PATH or --schema FILE")
        if done.returncode != 0:
            die(f"{source} failed: {done.stderr.strip() or 'exit ' + str(done.returncode)}")
        text = done.stdout
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        die(f"{source}: malformed JSON: {e.msg}")
    return Schema(doc, source)


def machine_of(r):
    """The CPU a record was measured on (its machine object's cpu string)."""
    m = r.get(F.machine)
    return str(m.get("cpu", "?")) if isinstance(m, dict) else "?"


def read_records(paths, schema):
    """Every measured record ("status" ok or absent); a bad line is a one-line error. With records
    from more than one machine each carries its machine in "_machine" (panels and roofs split by it);
    a case_id repeats only within one machine."""
    records, seen = [], set()
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.readlines()
        except OSError as e:
            die(f"cannot read {path}: {e.strerror}")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                die(f"{path}:{number}: malformed JSON: {e.msg} at column {e.colno}")
            if not isinstance(r, dict):
                die(f"{path}:{number}: expected a JSON object")
            version = r.get(F.schema_version, 1)  # records before the schema have none
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                die(f"{path}:{number}: schema_version must be a positive integer")
            if version > schema.version:
                die(f"{path}:{number}: schema_version {version} is newer than the schema plot.py was given "
                    f"({schema.version}); use a newer attnbench (--attnbench)")
            if r.get(F.status, "ok") != "ok":
                continue
            # Version 2 on: every required field; before: the ones the figures cannot do without.
            needed = schema.required if version >= 2 else (F.variant, F.seq_kv, F.head_dim, F.time_ms)
            for key in needed:
                if key not in r:
                    die(f"{path}:{number}: record has no \"{key}\" field")
            key = (machine_of(r), r.get(F.case_id))
            if key in seen:
                print(f"plot.py: warning: duplicate case_id {r[F.case_id]} ({path}:{number}); using the first",
                      file=sys.stderr)
                continue
            seen.add(key)
            records.append(r)
    if not records:
        die("no measured records in " + ", ".join(paths))
    several = len({machine_of(r) for r in records}) > 1
    for r in records:
        r["_machine"] = machine_of(r) if several else ""
    return records


def seq_label(n):
    n = int(n)
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}k"
    if n >= 1024 and n % 512 == 0:
        return f"{n / 1024:.1f}k"
    return str(n)


def setting_key(r):
    """Everything but the variant and N: records with the same key belong on one panel (so a
    bf16 or backward record never joins an f32 forward line)."""
    return (r.get(F.batch, 1), r.get(F.heads, 1), r.get(F.kv_heads, r.get(F.heads, 1)), r[F.head_dim],
            bool(r.get(F.causal, False)), r.get(F.threads, 1), r.get(F.isa, "?"), r.get(F.dtype, "f32"),
            r.get(F.pass_, "fwd"), r.get(F.inputs, "gaussian"), r.get("_machine", ""))


def short_machine(name, width=40):
    return name if len(name) <= width else name[: width - 3] + "..."


def setting_title(key, skip=()):
    b, h, hkv, d, causal, t, isa, dtype, pass_, inputs, machine = key
    parts = {"B": f"B={b}", "H": f"H={h}" + (f"/{hkv}kv" if hkv != h else ""), "D": f"D={d}",
             "causal": "causal" if causal else "non-causal", "threads": f"{t} thr", "isa": isa}
    # The newer case parameters only when not the default.
    parts.update({k: v for k, v, default in (("dtype", dtype, "f32"), ("pass", pass_, "fwd"), ("inputs", inputs, "gaussian"))
                  if v != default})
    title = ", ".join(v for k, v in parts.items() if k not in skip)
    return title + ("\n" + short_machine(machine) if machine else "")


class Palette:
    """One colour and marker per variant, the same in every figure."""

    def __init__(self, variants):
        cmap = plt.get_cmap("tab10")
        markers = "osD^vP*Xh<>"
        self.style = {v: (cmap(i % 10), markers[i % len(markers)]) for i, v in enumerate(variants)}

    def kw(self, variant):
        color, marker = self.style[variant]
        return dict(color=color, marker=marker, markersize=4, linewidth=1.4, label=variant)


def variants_in_order(records):
    order = []
    for r in records:
        if r[F.variant] not in order:
            order.append(r[F.variant])
    return sorted(order, key=lambda v: (v != "dense", order.index(v)))


def log2_seq_axis(ax, ns):
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(ns))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: seq_label(x)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("sequence length N (Nq = Nk)")


ISA_INDEX = 6  # setting_key(r)[ISA_INDEX] is the ISA


def panels(records):
    """Records by setting_key. Variants that ignore the ISA (naive, dense_blas: isa "any") join
    every ISA's panel of the same setting, as `attnbench table` shows them beside every ISA."""
    groups = collections.OrderedDict()
    for r in sorted((r for r in records if r.get(F.isa) != "any"), key=setting_key):
        groups.setdefault(setting_key(r), []).append(r)
    without_isa = lambda k: k[:ISA_INDEX] + k[ISA_INDEX + 1:]  # noqa: E731
    for r in (r for r in records if r.get(F.isa) == "any"):
        key = setting_key(r)
        matches = [k for k in groups if k[ISA_INDEX] != "any" and without_isa(k) == without_isa(key)]
        for k in matches or [key]:
            groups.setdefault(k, []).append(r)
    return groups


def grid_figure(count, width=5.2, height=3.8):
    cols = min(count, 3)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:count])


def save(fig, out_dir, name, written):
    fig.tight_layout()
    for ext in ("png", "pdf"):
        path = os.path.join(out_dir, f"{name}.{ext}")
        tmp = path + ".tmp"
        fig.savefig(tmp, dpi=150, format=ext, metadata={"CreationDate": None} if ext == "pdf" else {})
        os.replace(tmp, path)  # never a half-written figure
        written.append(path)
    plt.close(fig)


def legend(fig, axes):
    handles, labels = {}, []
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = h
                labels.append(label)
    # Below the panels; savefig's tight bounding box grows to include it.
    fig.legend([handles[label] for label in labels], labels, loc="upper center", ncol=min(len(labels), 4),
               frameon=False, bbox_to_anchor=(0.5, 0.0))


def plot_series(records, palette, out_dir, written, name, ylabel, value, logy=True, title=None, reference=None):
    groups = panels(records)
    fig, axes = grid_figure(len(groups))
    drawn = False
    for ax, (key, rs) in zip(axes, groups.items()):
        ns = set()
        for variant in variants_in_order(rs):
            points = sorted((r[F.seq_kv], value(r, rs)) for r in rs if r[F.variant] == variant)
            points = [(n, y) for n, y in points if y is not None and math.isfinite(y)]
            if not points:
                continue
            ns.update(n for n, _ in points)
            ax.plot(*zip(*points), **palette.kw(variant))
            drawn = True
        if reference is not None:
            ax.axhline(reference, color="0.4", linewidth=0.8, linestyle=":")
        if ns:
            log2_seq_axis(ax, ns)
        if logy:
            ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.set_title(setting_title(key), fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        ax.grid(True, which="minor", alpha=0.1)
    if not drawn:
        plt.close(fig)
        return
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    legend(fig, axes)
    save_no_layout(fig, out_dir, name, written)


def plot_decode(records, out_dir, written):
    """Decode records (Nq < Nk): new tokens/s and % of the measured read bandwidth against the
    context length, one line per (variant, KV-cache dtype, Nq): a colour per dtype, a marker per
    Nq; a panel per setting (llama.cpp's report style)."""
    decode = [r for r in records if r[F.seq_q] < r[F.seq_kv] and r.get(F.tokens_per_s) is not None]
    if not decode:
        return
    for name, field, ylabel, logy in (("decode_tokens_per_s", F.tokens_per_s, "new tokens/s", True),
                                      ("decode_pct_bandwidth", F.pct_bandwidth, "% of measured read bandwidth", False)):
        groups = panels(decode)
        fig, axes = grid_figure(len(groups))
        for ax, (key, rs) in zip(axes, groups.items()):
            dtypes = sorted({r.get(F.dtype, "f32") for r in rs}, key=lambda d: ("f32", "bf16", "f16", "int8").index(d)
                            if d in ("f32", "bf16", "f16", "int8") else 9)
            for variant in variants_in_order(rs):
                for c, dtype in enumerate(dtypes):
                    for i, nq in enumerate(sorted({r[F.seq_q] for r in rs})):
                        pts = sorted((r[F.seq_kv], r.get(field)) for r in rs
                                     if r[F.variant] == variant and r[F.seq_q] == nq and r.get(F.dtype, "f32") == dtype
                                     and r.get(field) is not None)
                        if pts:
                            ax.plot(*zip(*pts), marker="os^Dv"[i % 5], markersize=4, linewidth=1.4,
                                    color=plt.get_cmap("tab10")(c), label=f"{variant} {dtype}, Nq={nq}")
            log2_seq_axis(ax, {r[F.seq_kv] for r in rs})
            ax.set_xlabel("context length Nk")
            if logy:
                ax.set_yscale("log")
            else:
                ax.set_ylim(0, 110)
            ax.set_ylabel(ylabel)
            ax.set_title(setting_title(key), fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
        fig.tight_layout()
        legend(fig, axes)
        save_no_layout(fig, out_dir, name, written)


def dense_time(rs, r):
    for d in rs:
        if d[F.variant] == "dense" and d[F.seq_kv] == r[F.seq_kv] and d.get(F.seq_q) == r.get(F.seq_q):
            return d[F.time_ms]
    return None


def plot_pct_peak_heatmap(records, out_dir, written):
    """% of FMA peak over N x D, one panel per variant (and per setting other than D)."""
    with_peak = [r for r in records if r.get(F.pct_peak) is not None]
    if not with_peak:
        return
    groups = collections.OrderedDict()
    for r in with_peak:
        b, h, hkv, d, *rest = setting_key(r)
        groups.setdefault((r[F.variant], (b, h, hkv, 0, *rest)), []).append(r)
    order = variants_in_order(with_peak)
    keys = sorted(groups, key=lambda k: (order.index(k[0]), k[1]))
    fig, axes = grid_figure(len(keys), width=4.6, height=3.6)
    vmax = max(r[F.pct_peak] for r in with_peak)
    image = None
    for ax, key in zip(axes, keys):
        rs = groups[key]
        ns = sorted({r[F.seq_kv] for r in rs})
        ds = sorted({r[F.head_dim] for r in rs})
        cells = [[math.nan] * len(ns) for _ in ds]
        for r in rs:
            cells[ds.index(r[F.head_dim])][ns.index(r[F.seq_kv])] = r[F.pct_peak]
        image = ax.imshow(cells, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=vmax)
        for i, row in enumerate(cells):
            for j, v in enumerate(row):
                if not math.isnan(v):
                    ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if v < 0.6 * vmax else "black")
        ax.set_xticks(range(len(ns)), [seq_label(n) for n in ns])
        ax.set_yticks(range(len(ds)), [str(d) for d in ds])
        ax.set_xlabel("sequence length N")
        ax.set_ylabel("head dim D")
        ax.set_title(f"{key[0]}\n{setting_title(key[1], skip=('D',))}", fontsize=8)
    fig.tight_layout()
    fig.subplots_adjust(wspace=0.35)
    fig.colorbar(image, ax=axes, label="% of measured FMA peak", shrink=0.9)
    save_no_layout(fig, out_dir, "pct_peak_heatmap", written)


def save_no_layout(fig, out_dir, name, written):
    for ext in ("png", "pdf"):
        path = os.path.join(out_dir, f"{name}.{ext}")
        tmp = path + ".tmp"
        # No creation date in the PDF: re-rendering the same JSONL gives the same bytes.
        fig.savefig(tmp, dpi=150, format=ext, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else {})
        os.replace(tmp, path)
        written.append(path)
    plt.close(fig)


def record_bytes(r):
    """The least bytes the computation moves, as the record says (`bytes`); version 1 records have
    none and get the same count from the shape: Q, K, V and O in float32, each once."""
    if r.get(F.bytes):
        return float(r[F.bytes])
    b, h, hkv = r.get(F.batch, 1), r.get(F.heads, 1), r.get(F.kv_heads, r.get(F.heads, 1))
    nq, nk, d = r.get(F.seq_q, r[F.seq_kv]), r[F.seq_kv], r[F.head_dim]
    return 4.0 * d * (2 * b * h * nq + 2 * b * hkv * nk)


def plot_roofline(records, palette, out_dir, written, bandwidth_default):
    rs = [r for r in records if r.get(F.flops) and r.get(F.gflops) and r.get(F.peak_gflops)]
    if not rs:
        return
    # One roof per (machine, threads, ISA), from the records' own FMA peak and measured read bandwidth.
    roofs, guessed = {}, False
    for r in rs:
        key = (r.get("_machine", ""), r.get(F.threads, 1), r.get(F.isa, "?"))
        peak, bandwidth = roofs.get(key, (0.0, 0.0))
        roofs[key] = (max(peak, r[F.peak_gflops]), max(bandwidth, r.get(F.bandwidth_gbs) or 0.0))
    for key, (peak, bandwidth) in roofs.items():
        if bandwidth <= 0:  # version 1 records: no bandwidth_gbs
            roofs[key], guessed = (peak, bandwidth_default), True
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    intensities = [r[F.flops] / record_bytes(r) for r in rs]
    ridges = [peak / bandwidth for peak, bandwidth in roofs.values()]  # where each memory roof meets its compute roof
    lo, hi = min(min(intensities), min(ridges)) / 4, max(max(intensities), max(ridges)) * 4
    xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    # Roofs are told apart by line style and named in the legend: text beside each roof overlapped
    # as soon as two machines (or ISAs) had similar peaks.
    styles = ["-", "--", ":", "-."]
    for i, ((machine, threads, isa), (peak, bandwidth)) in enumerate(sorted(roofs.items())):
        where = f"{short_machine(machine, 32)}, " if machine else ""
        ax.plot(xs, [min(peak, bandwidth * x) for x in xs], color="0.25", linewidth=1.2, linestyle=styles[i % 4],
                label=f"roof: {where}{threads} thr, {isa}: {peak:.0f} GFLOP/s, {bandwidth:.0f} GB/s")
    source = "records' bandwidth_gbs" if not guessed else f"--bandwidth-gbs {bandwidth_default:g} where records have none"
    ax.text(0.02, 0.02, f"memory roofs: {source}", transform=ax.transAxes, ha="left", va="bottom", fontsize=7,
            color="0.25")
    for variant in variants_in_order(rs):
        pts = sorted((r[F.flops] / record_bytes(r), r[F.gflops]) for r in rs if r[F.variant] == variant)
        kw = palette.kw(variant)
        kw.update(linestyle="none", alpha=0.85)
        ax.plot(*zip(*pts), **kw)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (useful FLOPs / least bytes moved: flops / bytes)")
    ax.set_ylabel("throughput (GFLOP/s, useful FLOPs)")
    ax.set_title("Roofline: every measured case", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.1)
    # Below the axes, so neither the roofs' names nor the variants cover a point.
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    save_no_layout(fig, out_dir, "roofline", written)


def forward_maps(args, out_dir):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot_maps.py")
    if not os.path.exists(script):
        die("--maps: scripts/plot_maps.py is not in this checkout")
    # plot_maps.py writes one figure file: put it beside the others unless told otherwise.
    command = [sys.executable, script] + args + ([] if "--out" in args else ["--out", os.path.join(out_dir, "maps.png")])
    if subprocess.call(command) != 0:
        die("plot_maps.py failed: " + " ".join(command))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("jsonl", nargs="+", help="sweep output (attnbench sweep --out)")
    parser.add_argument("--out", required=True, help="directory for the PNG and PDF figures")
    parser.add_argument("--attnbench", default=os.environ.get("ATTNBENCH", os.path.join(ROOT, "build", "attnbench")),
                        help="the attnbench binary whose `schema --format json` names the record fields "
                             "(default $ATTNBENCH, else build/attnbench of this checkout)")
    parser.add_argument("--schema", help="read the record schema from this file (saved `attnbench schema --format json`) "
                                         "instead of running --attnbench")
    parser.add_argument("--bandwidth-gbs", type=float, default=DEFAULT_BANDWIDTH_GBS,
                        help="memory bandwidth for the roofline of version 1 records, which carry no bandwidth_gbs "
                             f"(default {DEFAULT_BANDWIDTH_GBS:g}, this machine's streaming copy)")
    parser.add_argument("--maps", nargs=argparse.REMAINDER, default=None,
                        help="last option: run scripts/plot_maps.py with the arguments that follow "
                             "(attention-weight heatmaps, e.g. --maps W.npy M.npy --titles weights mask)")
    args = parser.parse_args()
    if not (args.bandwidth_gbs > 0 and math.isfinite(args.bandwidth_gbs)):
        die("--bandwidth-gbs must be a positive number")
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        die(f"cannot create {args.out}: {e.strerror}")

    records = read_records(args.jsonl, load_schema(args))
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 9, "savefig.bbox": "tight"})
    palette = Palette(variants_in_order(records))
    written = []
    plot_series(records, palette, args.out, written, "throughput_vs_n", "throughput (GFLOP/s, useful FLOPs)",
                lambda r, rs: r.get(F.gflops), title="Throughput vs sequence length")
    plot_pct_peak_heatmap(records, args.out, written)
    plot_series(records, palette, args.out, written, "error_vs_n", "relative error vs float64 reference",
                lambda r, rs: max(r.get(F.rel_err) or 0.0, ERR_FLOOR) if F.rel_err in r else None,
                title=f"Error vs sequence length (max |O - O_ref| / max |O_ref|; 0 drawn at {ERR_FLOOR:g})")
    if any(r.get(F.approx_err) for r in records):
        plot_series(records, palette, args.out, written, "approx_err_vs_n", "||O - O_dense||_F / ||O_dense||_F",
                    lambda r, rs: max(r.get(F.approx_err) or 0.0, ERR_FLOOR) if F.approx_err in r else None,
                    title=f"Approximation error vs exact dense attention (0 drawn at {ERR_FLOOR:g})")
    if any(r[F.variant] == "dense" for r in records):
        plot_series(records, palette, args.out, written, "speedup_vs_dense", "speed-up over dense (dense time / time)",
                    lambda r, rs: (dense_time(rs, r) / r[F.time_ms]) if dense_time(rs, r) else None,
                    title="Speed-up over dense (median times)", reference=1.0)
    plot_roofline(records, palette, args.out, written, args.bandwidth_gbs)
    plot_decode(records, args.out, written)
    plot_precision(records, args.out, written, F, save_no_layout)
    if args.maps is not None:
        forward_maps(args.maps, args.out)
    for path in written:
        print(path)


if __name__ == "__main__":
    main()

"""The precision figure (issue 17), drawn by scripts/plot.py when the records hold more than one
dtype: error against float64 versus speed-up over f32, one colour per dtype, one marker per input
kind, filled for prefill (Nq = Nk) and open for decode (Nq < Nk). Two panels: rel_err and
1 - cos_sim (log scales). The speed-up is the f32 median over this median for the record of the
same setting (shape, inputs, threads, ISA, pass) and N, as `attnbench table --preset precision`
computes it; a record without an f32 twin is left out.
"""
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, NullFormatter

DTYPE_ORDER = ("f32", "bf16", "f16", "int8")
ERR_FLOOR = 1e-9  # exact zeros are drawn here on log axes


# The ISA an f32 case of the same --isa request runs at (kernels/impl_list.hpp, case_isa): the
# sweep runs bf16 and int8 at avx512bf16 or amx where f32 is an avx512 case.
F32_ISA = {"avx512bf16": "avx512", "amx": "avx512"}


def twin_key(r, F):
    """Everything but the dtype, with the ISA at its f32 level: the f32 record with this key is r's
    reference."""
    isa = r.get(F.isa, "?")
    return (r[F.variant], r.get(F.batch, 1), r.get(F.heads, 1), r.get(F.kv_heads, r.get(F.heads, 1)), r.get(F.seq_q),
            r[F.seq_kv], r[F.head_dim], bool(r.get(F.causal, False)), r.get(F.threads, 1), F32_ISA.get(isa, isa),
            r.get(F.pass_, "fwd"), r.get(F.inputs, "gaussian"), r.get(F.lens, ""))


def points(records, F):
    """(dtype, inputs, decode, speed-up, rel_err, 1 - cos_sim) for every record with an f32 twin."""
    f32 = {twin_key(r, F): r for r in records if r.get(F.dtype, "f32") == "f32"}
    out = []
    for r in records:
        base = f32.get(twin_key(r, F))
        if base is None or r.get(F.rel_err) is None:
            continue
        cos = r.get(F.cos_sim)
        out.append((r.get(F.dtype, "f32"), r.get(F.inputs, "gaussian"), r.get(F.seq_q, r[F.seq_kv]) < r[F.seq_kv],
                    base[F.time_ms] / r[F.time_ms], max(r[F.rel_err], ERR_FLOOR),
                    max(1.0 - cos, ERR_FLOOR) if cos is not None else None))
    return out


def plot_precision(records, out_dir, written, F, save):
    """Writes precision_error_vs_speedup.{png,pdf} when the records hold a non-f32 dtype with an
    f32 twin; `save(fig, out_dir, name, written)` is plot.py's figure writer."""
    pts = points(records, F)
    if not any(p[0] != "f32" for p in pts):
        return
    dtypes = [d for d in DTYPE_ORDER if any(p[0] == d for p in pts)] + sorted({p[0] for p in pts} - set(DTYPE_ORDER))
    inputs = sorted({p[1] for p in pts})
    colors = {d: plt.get_cmap("tab10")(i) for i, d in enumerate(dtypes)}
    markers = {kind: "o^sD"[i % 4] for i, kind in enumerate(inputs)}
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.0))
    for ax, column, ylabel in ((axes[0], 4, "rel_err = max|O - O_ref| / max|O_ref|"),
                               (axes[1], 5, "1 - cos_sim(O, O_ref)")):
        for d in dtypes:
            for kind in inputs:
                for decode in (False, True):
                    xy = [(p[3], p[column]) for p in pts
                          if p[0] == d and p[1] == kind and p[2] == decode and p[column] is not None]
                    if not xy:
                        continue
                    ax.scatter(*zip(*xy), s=28, marker=markers[kind], linewidths=1.2,
                               facecolors="none" if decode else colors[d], edgecolors=colors[d],
                               label=f"{d}, {kind}, {'decode' if decode else 'prefill'}")
        ax.axvline(1.0, color="0.4", linewidth=0.8, linestyle=":")
        ax.set_yscale("log")
        ax.set_xscale("log", base=2)  # 0.5x and 2x equally far from 1x
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}x"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("speed-up over f32 (f32 median / median, same case)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_title("Error against float64 vs speed-up", fontsize=9)
    axes[1].set_title(f"1 - cosine similarity vs speed-up (0 drawn at {ERR_FLOOR:g})", fontsize=9)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.tight_layout()
    fig.legend(handles, labels, loc="upper center", ncol=4, frameon=False, bbox_to_anchor=(0.5, 0.0), fontsize=7)
    save(fig, out_dir, "precision_error_vs_speedup", written)

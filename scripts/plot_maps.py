#!/usr/bin/python3
"""Heatmaps of attention weights (`attnbench run --weights W.npy`) and masks
(`attnbench mask --out M.npy`) side by side, one panel per file.

    scripts/plot_maps.py W_dense.npy W_window.npy MASK_bigbird.npy \
        --titles dense window bigbird --out maps.png [--batch 0] [--head 0] [--log]

Weights are [B, heads, rows, Nk] float32 (one batch item and head is drawn); masks are
uint8 [1 or H, N, N] (one head is drawn). Large maps are shrunk by block means so each
panel stays at most --max-px cells a side; the axes still count token positions (keys across,
query rows down), not shrunk cells. Other scripts may import plot_maps() or draw_maps().
"""
import argparse
import sys

import numpy as np


def load_map(path, batch=0, head=0):
    """The 2-D map in a weights or mask .npy file, and whether it is a mask."""
    a = np.load(path)
    if a.ndim == 4:  # weights [B, heads, rows, Nk]
        if batch >= a.shape[0] or head >= a.shape[1]:
            raise ValueError(f"{path}: batch {batch} / head {head} outside shape {a.shape}")
        return a[batch, head].astype(np.float64), False
    if a.ndim == 3:  # mask [1 or H, N, N]
        return a[min(head, a.shape[0] - 1)].astype(np.float64), a.dtype == np.uint8
    if a.ndim == 2:
        return a.astype(np.float64), a.dtype == np.uint8
    raise ValueError(f"{path}: expected a 2-D, 3-D mask or 4-D weights array, got shape {a.shape}")


def shrink(m, max_px):
    """Block means so neither side exceeds max_px (keeps the share of mass / visible pairs)."""
    step = max(1, -(-max(m.shape) // max_px))
    if step == 1:
        return m
    r, c = -(-m.shape[0] // step), -(-m.shape[1] // step)
    padded = np.full((r * step, c * step), np.nan)
    padded[: m.shape[0], : m.shape[1]] = m
    return np.nanmean(padded.reshape(r, step, c, step), axis=(1, 3))


def draw_maps(paths, titles=None, batch=0, head=0, log=False, max_px=512):
    """The figure, one panel per file, axes in token positions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    titles = titles or paths
    fig, axes = plt.subplots(1, len(paths), figsize=(4.2 * len(paths), 4.2), squeeze=False)
    for ax, path, title in zip(axes[0], paths, titles):
        m, is_mask = load_map(path, batch, head)
        rows, keys = m.shape
        m = shrink(m, max_px)
        # The image spans the map's real extent: a shrunk cell covers `step` positions, and the
        # last one may cover fewer, so the cell edges are scaled, not the tick labels.
        step = max(1, -(-max(rows, keys) // max_px))
        extent = (0, m.shape[1] * step, m.shape[0] * step, 0)
        if is_mask:
            im = ax.imshow(m, cmap="gray", vmin=0, vmax=1, interpolation="nearest", extent=extent)
        else:
            positive = m[m > 0]
            norm = LogNorm(vmin=max(positive.min(), 1e-8), vmax=positive.max()) if log and positive.size else None
            im = ax.imshow(np.where(m > 0, m, np.nan) if log else m, cmap="viridis", norm=norm,
                           interpolation="nearest", extent=extent)
        ax.set_xlim(0, keys)
        ax.set_ylim(rows, 0)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        ax.set_title(title)
        ax.set_xlabel("key position")
        # Weights files hold the rows `run --weights-rows` kept: their index in the file.
        ax.set_ylabel("query position" if is_mask else "query row (as saved)")
    fig.tight_layout()
    return fig


def plot_maps(paths, titles=None, out="maps.png", batch=0, head=0, log=False, max_px=512):
    import matplotlib.pyplot as plt

    fig = draw_maps(paths, titles, batch, head, log, max_px)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="weights [B,heads,rows,Nk] or mask [1 or H,N,N] .npy files")
    ap.add_argument("--titles", nargs="+", help="one title per file (default: the file names)")
    ap.add_argument("--out", default="maps.png", help="output image (default maps.png)")
    ap.add_argument("--batch", type=int, default=0, help="batch item of weights files (default 0)")
    ap.add_argument("--head", type=int, default=0, help="head (index into the file's heads; default 0)")
    ap.add_argument("--log", action="store_true", help="log colour scale for weights")
    ap.add_argument("--max-px", type=int, default=512, help="cells per panel side at most (default 512)")
    a = ap.parse_args(argv)
    if a.titles and len(a.titles) != len(a.files):
        ap.error(f"--titles has {len(a.titles)} entries for {len(a.files)} files")
    try:
        plot_maps(a.files, a.titles, a.out, a.batch, a.head, a.log, a.max_px)
    except (OSError, ValueError) as e:
        print(f"plot_maps.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""scripts/plot.py and scripts/plot_maps.py: help text, records from two machines, map axes."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
matplotlib = pytest.importorskip("matplotlib")


def load_script(name):
    spec = importlib.util.spec_from_file_location(name.replace(".py", ""), os.path.join(ROOT, "scripts", name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plot_help_is_whole_sentences():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "plot.py"), "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "error vs N,\nspeed-up over dense, a roofline" in out
    assert "Writes PNG and PDF of each into --out." in out


def record(cpu, gflops):
    return {"case_id": "c1", "variant": "dense", "seq_q": 1024, "seq_kv": 1024, "head_dim": 64, "time_ms": 2.0,
            "flops": 2.7e8, "gflops": gflops, "peak_gflops": 2 * gflops, "bandwidth_gbs": 20.0,
            "machine": {"cpu": cpu}}


def test_records_from_two_machines_get_their_own_panels_and_roofs(tmp_path, monkeypatch):
    plot = load_script("plot.py")
    schema = plot.Schema({"schema_version": 2, "fields": [{"name": n, "required": False} for n in plot.USED_FIELDS]},
                         "test")
    paths = []
    for name, cpu, gflops in (("a.jsonl", "CPU A", 100.0), ("b.jsonl", "CPU B", 150.0)):
        path = tmp_path / name
        path.write_text(json.dumps(record(cpu, gflops)) + "\n")
        paths.append(str(path))
    records = plot.read_records(paths, schema)
    assert len(records) == 2  # the same case_id on two machines is two measurements
    keys = {plot.setting_key(r) for r in records}
    assert len(keys) == 2
    assert sorted(plot.setting_title(k).split("\n")[1] for k in keys) == ["CPU A", "CPU B"]

    figures = []
    monkeypatch.setattr(plot, "save_no_layout", lambda fig, *args: figures.append(fig))
    plot.plot_roofline(records, plot.Palette(["dense"]), str(tmp_path), [], 26.0)
    texts = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    roofs = [t for t in texts if t.startswith("roof: ")]
    assert len(roofs) == 2
    assert any("CPU A" in t and "200 GFLOP/s" in t for t in roofs)
    assert any("CPU B" in t and "300 GFLOP/s" in t for t in roofs)

    # One machine: titles stay as they were, without a machine line.
    single = plot.read_records(paths[:1], schema)
    assert "\n" not in plot.setting_title(plot.setting_key(single[0]))


def test_maps_axes_count_token_positions(tmp_path):
    plot_maps = load_script("plot_maps.py")
    mask = np.zeros((1, 1000, 1000), np.uint8)
    mask[0, :, :10] = 1
    path = tmp_path / "m.npy"
    np.save(path, mask)
    fig = plot_maps.draw_maps([str(path)], max_px=64)
    ax = fig.axes[0]
    assert ax.get_xlim() == (0, 1000)
    assert ax.get_ylim() == (1000, 0)
    image = ax.images[0]
    assert image.get_array().shape == (63, 63)  # shrunk 16-fold ...
    assert list(image.get_extent()) == [0, 1008, 1008, 0]  # ... drawn over the positions it covers
    assert ax.get_xlabel() == "key position"

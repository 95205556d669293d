#!/usr/bin/python3
"""Plot the resolution sweep of benchmarks/e2e/compare.py --suite sweep (log-log PNG).

Left: time per image (median latency / batch) against the number of tokens; right: peak RSS of
the process against the number of tokens. One line per contender and thread count; a dashed
slope-1 reference line (time or memory proportional to tokens) through the first point of the
first series. Skipped points are left out (their reasons are in the JSON).

  /usr/bin/python3 benchmarks/plot_sweep.py [benchmarks/e2e/sweep.json] [-o benchmarks/sweep.png]

Needs python3-matplotlib (scripts/packages-tools.txt).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LABEL = {"rwkv_vision": "rwkv-vision", "torch_vrwkv": "PyTorch VRWKV", "torch_vit": "PyTorch ViT",
         "matmul_ceiling": "matmul ceiling"}
COLOR = {"rwkv_vision": "tab:red", "torch_vrwkv": "tab:blue", "torch_vit": "tab:green",
         "matmul_ceiling": "tab:gray"}


def series(results, value):
    """{(contender, threads, model): [(tokens, value), ...]} over the results with status ok."""
    out = {}
    for r in results:
        if r.get("status") != "ok":
            continue
        y = value(r)
        if y is None:
            continue
        out.setdefault((r["contender"], r["threads"], r.get("arch") or r["model"]), []).append((r["tokens"], y))
    return {k: sorted(v) for k, v in out.items()}


def plot(data, out_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = data["results"]
    panels = [
        ("time per image (ms)", lambda r: r["latency_ms"]["median"] / r["batch"]),
        ("peak RSS (MB)", lambda r: r.get("peak_rss_mb")),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    for ax, (ylabel, value) in zip(axes, panels):
        ser = series(res, value)
        for (contender, threads, model), pts in sorted(ser.items()):
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="o", color=COLOR.get(contender), linestyle="-" if threads == 1 else "--",
                    label=f"{LABEL.get(contender, contender)} ({model}), {threads} thread{'s' if threads > 1 else ''}")
        if ser:
            # anchor on rwkv-vision's first point when there is one
            anchor = sorted(ser.items(), key=lambda kv: (kv[0][0] != "rwkv_vision", kv[0]))[0][1]
            x0, y0 = anchor[0]
            xmax = max(x for pts in ser.values() for x, _ in pts)
            ax.plot([x0, xmax], [y0, y0 * xmax / x0], color="black", linestyle=":", linewidth=1,
                    label="slope 1 (linear in tokens)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("tokens (input pixels / 16²)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    m = data.get("machine", {})
    fig.suptitle(f"{data.get('suite', '')}: {m.get('cpu_model', '')}, fp32, batch 1, {m.get('date', '')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    return out_path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("json", nargs="?", default=os.path.join(HERE, "e2e", "sweep.json"))
    p.add_argument("-o", "--out", default=os.path.join(HERE, "sweep.png"))
    a = p.parse_args(argv)
    with open(a.json) as f:
        data = json.load(f)
    print(plot(data, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

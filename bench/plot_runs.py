"""bench/runs.png from the runs half's results (bench/run writes them to a JSON file):
first-token p50/p99 and the RSS peak against N concurrent streamed runs, ours beside
Agno's. Run by bench/run with the bench Python (matplotlib).

    python bench/plot_runs.py runs.json bench/runs.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display: a file only
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

STYLE = {"ours": "tab:blue", "Agno": "tab:orange"}
PLAIN = FuncFormatter(lambda v, _: f"{v:g}")  # 1000, not 10^3


def log_axes(ax, logy: bool = True) -> None:
    ax.set(xscale="log", yscale="log" if logy else "linear")
    if not logy:
        ax.set_ylim(bottom=0)
    for axis in (ax.xaxis, ax.yaxis) if logy else (ax.xaxis,):
        axis.set_major_formatter(PLAIN)
        axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()


def series(side: dict, key) -> tuple:
    ns = sorted(side["n"], key=int)
    return [int(n) for n in ns], [key(side["n"][n]) for n in ns]


def first_token(ax, r: dict) -> None:
    for name in ("ours", "Agno"):
        if name not in r:
            continue
        for p, dash in (("p50", "-"), ("p99", "--")):
            ns, v = series(r[name], lambda st: st["ttft_ms"].get(p))
            pts = [(n, y) for n, y in zip(ns, v) if y is not None]
            if pts:
                ax.plot(*zip(*pts), dash, marker="o", color=STYLE[name], label=f"{name} {p}")
    ax.set(xlabel="N concurrent streamed runs", ylabel="first token, ms",
           title="First-token time (the model's own: 0 ms)")
    log_axes(ax)


def memory(ax, r: dict) -> None:
    for name in ("ours", "Agno"):
        if name in r:
            ns, v = series(r[name], lambda st: st["rss_peak_mib"])
            ax.plot(ns, v, marker="o", color=STYLE[name], label=f"{name} RSS peak")
    ax.set(xlabel="N concurrent streamed runs", ylabel="MiB", title="Server RSS peak during the step")
    log_axes(ax, logy=False)


def main(src: str, png: str) -> None:
    with open(src) as f:
        r = json.load(f)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    first_token(left, r)
    memory(right, r)
    chunks, interval = r["script"][r["series"]]
    fig.suptitle(f"Streamed runs, {chunks} chunks x {interval} ms, scripted model ({r.get('date', '')})")
    fig.tight_layout()
    fig.savefig(png, dpi=100)


if __name__ == "__main__":
    main(*sys.argv[1:3])

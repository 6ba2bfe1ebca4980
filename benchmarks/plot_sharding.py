"""Draw the sharding break-even figure from ``bench_distributed.py --json``'s file.

The speed-up of 2 local Ray actors over one process, against the population size: as
measured (the actors and the driver sharing the machine's cores), and on free cores
(one process / (half the population + Ray's overhead): what 2 actors give when each has
a core of its own). Sharding pays above 1, the break-even line.

Run from the repository root (matplotlib installed)::

    python benchmarks/bench_distributed.py --engines numpy,numba --rounds 2 --json sharding.json
    python benchmarks/plot_sharding.py sharding.json docs/figures/sharding.png
"""

from __future__ import annotations

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", help="the JSON file of bench_distributed.py --json")
    parser.add_argument("figure", help="the PNG to write")
    args = parser.parse_args()
    with open(args.results) as file:
        results = json.load(file)
    series: dict[tuple[str, str], list[dict]] = {}
    for row in results["rows"]:
        series.setdefault((row["engine"], row["config"]), []).append(row)
    figure, axes = plt.subplots(figsize=(8.6, 4.2), dpi=110)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for colour, ((engine, config), rows) in zip(colours, sorted(series.items()), strict=False):
        rows.sort(key=lambda row: row["users"])
        users = [row["users"] for row in rows]
        measured = [row["one"][0] / row["sharded"][0] for row in rows]
        free = [row["one"][0] / (row["half"][0] + row["overhead"][0]) for row in rows]
        label = f"{engine}, {config}"
        axes.plot(users, measured, "o-", color=colour, label=f"{label}: measured")
        axes.plot(users, free, "s--", color=colour, label=f"{label}: on free cores")
    axes.axhline(1.0, color="black", linewidth=0.8)
    axes.text(users[0], 1.03, "break-even: sharding pays above", fontsize=8, va="bottom")
    axes.set_xscale("log")
    axes.set_xlabel("users in the population")
    axes.set_ylabel("speed-up of 2 Ray actors (× one process)")
    axes.set_title("Sharding one population over 2 local Ray actors", fontsize=10)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="engine, settings")
    figure.tight_layout()
    figure.savefig(args.figure)


if __name__ == "__main__":
    main()

"""The table of docs/on-the-fly.md from a pytest-benchmark JSON file of bench/test_bench_on_the_fly.py.

    python -m pytest bench/test_bench_on_the_fly.py --benchmark-only --benchmark-json=otf.json
    python bench/report_on_the_fly.py otf.json

Rates are images per second of the median time per batch of 16, [slowest, fastest] round in
brackets. "keeps up" compares training on the fly with training on ready trajectories (a cache)
in the same run: the slowdown is cached time / on-the-fly time, 1.00 when the data never waits.
"core share" is the trainer's rate over the producer's (both per core): the share of one core the
producer needs to keep up with one core of training.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _rates(bench: dict) -> tuple[float, float, float]:
    """(median, slowest, fastest) images/s of one benchmark."""
    batch = bench["extra_info"]["batch"]
    stats = bench["stats"]
    return batch / stats["median"], batch / stats["max"], batch / stats["min"]


def table(path: Path) -> str:
    data = json.loads(path.read_text())
    rows: dict[str, dict[str, dict]] = {}
    for b in data["benchmarks"]:
        rows.setdefault(b["group"], {})[b["name"].split("[")[0].removeprefix("test_")] = b
    lines = [
        "| size | C | producer (images/s) | training, cached (images/s) | training on the fly (images/s) "
        "| waiting for data | on the fly / cached | core share |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for group in sorted(rows, key=lambda g: (int(g.split("_")[3]), g)):
        r = rows[group]
        if not {"producer", "train_cached", "train_on_the_fly"} <= set(r):
            continue
        _, _, _, size, channels = group.split("_")
        cells = []
        for name in ("producer", "train_cached", "train_on_the_fly"):
            mid, lo, hi = _rates(r[name])
            cells.append(f"{mid:.1f} [{lo:.1f}, {hi:.1f}]")
        ratio = r["train_cached"]["stats"]["median"] / r["train_on_the_fly"]["stats"]["median"]
        wait = r["train_on_the_fly"]["extra_info"].get("wait_fraction", float("nan"))
        share = r["producer"]["stats"]["median"] / r["train_cached"]["stats"]["median"]
        c = channels.removesuffix("ch")
        lines.append(f"| {size}² | {c} | {' | '.join(cells)} | {wait:.1%} | {ratio:.2f} | {share:.0%} |")
    info = data.get("machine_info", {})
    commit = data.get("commit_info", {})
    lines.append("")
    lines.append(
        f"Machine: {info.get('cpu', {}).get('brand_raw', '?')}, {info.get('cpu', {}).get('count', '?')} "
        f"cores; commit {commit.get('id', '?')[:10]}{' (dirty)' if commit.get('dirty') else ''}; "
        f"{data.get('datetime', '?')}."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python bench/report_on_the_fly.py BENCH.json")
    print(table(Path(sys.argv[1])))

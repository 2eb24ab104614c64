"""Tables for bench/RESULTS.md from one pytest-benchmark JSON file.

    python -m pytest bench --benchmark-only --benchmark-json=bench.json
    python bench/report.py bench.json
    python bench/report.py bench.json --peers   # only the peer-solver tables

Ratios are scipy time / fpscore time from the same run (> 1: fpscore faster). The tables of the
peer solvers (PARDISO, UMFPACK) come from bench/report_peers.py and follow when the file has them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_peers import peer_tables

SIZES = (32, 64, 128, 256)


def _load(path: Path) -> dict[tuple[str, str], dict]:
    data = json.loads(path.read_text())
    out = {}
    for b in data["benchmarks"]:
        name = b["name"].split("[")[0].removeprefix("test_")
        if (b.get("params") or {}).get("threads") == 2:
            name += "_two_threads"
        stats = b["stats"]
        out[(b["group"], name)] = {"median": stats["median"], "iqr": stats["iqr"], **b.get("extra_info", {})}
    return out


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _targets(r: dict) -> list[str]:
    lines = [
        "## Batched FP path (one thread): refactor + solve per system vs spsolve per system",
        "",
        "| size | batch | lanes | fpscore per system | spsolve | ratio | factor only per system "
        "| flop rate |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in SIZES:
        rs, fac = (
            r.get((f"batched_{s}", "fpscore_batched_refactor_solve")),
            r.get((f"batched_{s}", "fpscore_batched_factor")),
        )
        sp = r.get((f"batched_{s}", "scipy_spsolve_per_system"))
        if not (rs and fac and sp):
            continue
        per = rs["median"] / rs["batch"]
        fper = fac["median"] / fac["batch"]
        lines.append(
            f"| {s}² | {rs['batch']} | {rs.get('lanes', '')} | {_ms(per)} | {_ms(sp['median'])} "
            f"| {sp['median'] / per:.1f}× | {_ms(fper)} | {fac['factor_flops'] / fper / 1e9:.1f} GF/s |"
        )
    lines += [
        "",
        "## Single matrix: SparseLU from scratch and refactor + solve vs spsolve",
        "",
        "| size | threads | from scratch | refactor + solve | spsolve | ratio (scratch) | ratio (refactor) "
        "| fill fpscore | fill SuperLU COLAMD | factor values per system |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in SIZES:
        g = f"sparse_lu_{s}"
        sp = r.get((g, "scipy_spsolve"))
        for suffix in ("", "_two_threads"):
            fs = r.get((g, f"fpscore_factor_solve{suffix}"))
            rf = r.get((g, f"fpscore_refactor_solve{suffix}"))
            if not (fs and rf and sp):
                continue
            lines.append(
                f"| {s}² | {fs.get('threads', 1)} | {_ms(fs['median'])} | {_ms(rf['median'])} "
                f"| {_ms(sp['median'])} "
                f"| {sp['median'] / fs['median']:.1f}× | {sp['median'] / rf['median']:.1f}× | {fs['fill']:,} "
                f"| {sp['fill']:,} | {8 * fs['stored'] / 2**20:.2f} MiB |"
            )
    lines += [
        "",
        "## One channel, whole FP solve (N = 20, Picard, tol 1e-8, one thread)",
        "",
        "| size | fpscore | scipy reference | ratio | iterations |",
        "|---:|---:|---:|---:|---:|",
    ]
    for s in SIZES:
        f, sp = r.get((f"solver_{s}", "fpscore_solve")), r.get((f"solver_{s}", "scipy_solve"))
        if f and sp:
            lines.append(
                f"| {s}² | {_ms(f['median'])} | {_ms(sp['median'])} | {sp['median'] / f['median']:.1f}× "
                f"| {f.get('picard_iterations', '')} |"
            )
    f, sp = r.get(("end_to_end", "fpscore_image")), r.get(("end_to_end", "scipy_image"))
    if f and sp:
        lines += [
            "",
            "## End to end: one image, 3 × 32², VE σ = 2, N = 20, Picard tol 1e-8, one thread",
            "",
            f"fpscore {_ms(f['median'])}, scipy reference {_ms(sp['median'])}: "
            f"**{sp['median'] / f['median']:.0f}×** ({f['iterations']} fixed-point iterations in 20 steps, "
            f"max |Δm| vs the reference {f['max_abs_diff_vs_scipy']:.1e}).",
        ]
    t = r.get(("throughput", "fpscore_throughput"))
    if t:
        lines += [
            "",
            "## Throughput, all cores",
            "",
            f"{t['images']} images × 3 × 32² per call on {t['threads']} threads: "
            f"{t['images_per_s']:.0f} images/s, so 50,000 images take "
            f"**{t['projected_50k_s'] / 60:.1f} min** (projected from the measured rate).",
        ]
    m = r.get(("machine", "single_thread_peak"))
    if m:
        lines += [
            "",
            f"Practical single-thread peak (numpy float64 matmul 2000², one BLAS thread): "
            f"**{m['matmul_gflops_one_thread']:.1f} GF/s**.",
        ]
    return lines


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or (len(argv) == 3 and argv[2] != "--peers"):
        print(__doc__)
        return 2
    if len(argv) == 3:
        print("\n".join(peer_tables(_load(Path(argv[1])))))
        return 0
    records = _load(Path(argv[1]))
    peers = peer_tables(records)
    print("\n".join(_targets(records) + (["", *peers] if peers else [])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

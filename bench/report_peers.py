"""The peer-solver tables (bench/test_bench_peers.py) for bench/RESULTS.md; bench/report.py prints them.

Times: median and interquartile range (IQR) of the rounds of one run. Speed-up: peer time / fpscore
time from the same run (> 1: fpscore faster), from scratch against from scratch and refactor +
solve against each peer's reuse of its analysis. Targets: on the FP matrices fpscore ≥ 3× PARDISO
from scratch and ≥ 2× its refactor + solve; on the general matrices ≥ 1× PARDISO both ways;
≥ 3× UMFPACK both ways everywhere. A row where fpscore's answer missed the residual tolerance
is marked † and counts as not met.
"""

from __future__ import annotations

SOLVERS = (  # (benchmark name, column title)
    ("fpscore_scratch", "fpscore scratch"),
    ("fpscore_refactor", "fpscore refactor + solve"),
    ("superlu_scratch", "SuperLU scratch"),
    ("pardiso_scratch", "PARDISO scratch"),
    ("pardiso_refactor", "PARDISO numeric + solve"),
    ("umfpack_scratch", "UMFPACK scratch"),
    ("umfpack_refactor", "UMFPACK numeric + solve"),
)
SPEEDUPS = (  # (fpscore row, peer row, column title)
    ("fpscore_scratch", "superlu_scratch", "vs SuperLU"),
    ("fpscore_scratch", "pardiso_scratch", "vs PARDISO scratch"),
    ("fpscore_refactor", "pardiso_refactor", "vs PARDISO refactor"),
    ("fpscore_scratch", "umfpack_scratch", "vs UMFPACK scratch"),
    ("fpscore_refactor", "umfpack_refactor", "vs UMFPACK refactor"),
)


def targets(matrix: str) -> dict[tuple[str, str], float]:
    """(fpscore row, peer row) -> the speed-up fpscore must reach on this matrix."""
    on_fp = matrix.startswith("fp_")
    return {
        ("fpscore_scratch", "pardiso_scratch"): 3.0 if on_fp else 1.0,
        ("fpscore_refactor", "pardiso_refactor"): 2.0 if on_fp else 1.0,
        ("fpscore_scratch", "umfpack_scratch"): 3.0,
        ("fpscore_refactor", "umfpack_refactor"): 3.0,
    }


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _cell(row: dict | None) -> str:
    if row is None:
        return "—"
    mark = "" if row.get("accurate", True) else " †"
    return f"{_time(row['median'])} ({_time(row['iqr'])}){mark}"


def _matrices(r: dict[tuple[str, str], dict]) -> list[str]:
    groups = {g.removeprefix("peers_") for g, _ in r if g.startswith("peers_")}

    def order(m: str) -> tuple[int, int, str]:
        return (0, int(m.removeprefix("fp_")), m) if m.startswith("fp_") else (1, 0, m)

    return sorted(groups, key=order)


def peer_tables(r: dict[tuple[str, str], dict]) -> list[str]:
    """Markdown lines; r maps (group, benchmark name) to {median, iqr, extra_info...}."""
    matrices = _matrices(r)
    if not matrices:
        return []
    lines = [
        "## Sparse direct solvers side by side (one thread each)",
        "",
        "Time per call: median (interquartile range in brackets) of one run's rounds. † fpscore's "
        "answer missed the residual tolerance (the residuals are listed below).",
        "",
        "| matrix | n | nnz | " + " | ".join(title for _, title in SOLVERS) + " |",
        "|---|---:|---:|" + "---:|" * len(SOLVERS),
    ]
    for m in matrices:
        rows = {name: r.get((f"peers_{m}", name)) for name, _ in SOLVERS}
        any_row = next(row for row in rows.values() if row is not None)
        lines.append(
            f"| {m} | {any_row['n']:,} | {any_row['nnz_A']:,} | "
            + " | ".join(_cell(rows[name]) for name, _ in SOLVERS)
            + " |"
        )
    lines += [
        "",
        "Speed-up of fpscore: peer time / fpscore time (> 1: fpscore faster), target in brackets, "
        "bold where missed.",
        "",
        "| matrix | " + " | ".join(title for *_, title in SPEEDUPS) + " | targets met |",
        "|---|" + "---:|" * len(SPEEDUPS) + "---|",
    ]
    for m in matrices:
        need = targets(m)
        cells, missed, unknown = [], [], []
        for ours, peer, title in SPEEDUPS:
            a, b = r.get((f"peers_{m}", ours)), r.get((f"peers_{m}", peer))
            goal = need.get((ours, peer))
            if a is None or b is None:
                cells.append("—")
                if goal is not None:
                    unknown.append(title)
                continue
            ratio = b["median"] / a["median"]
            ok = a.get("accurate", True) and (goal is None or ratio >= goal)
            text = f"{ratio:.2f}×" + ("" if a.get("accurate", True) else " †")
            if goal is not None:
                text += f" (≥ {goal:g})"
                if not ok:
                    text = f"**{text}**"
                    missed.append(title)
            cells.append(text)
        verdict = "yes" if not missed else "no: " + ", ".join(missed)
        if unknown:
            verdict += " (not measured: " + ", ".join(unknown) + ")"
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {verdict} |")
    inaccurate = [
        (m, name, row["residual"])
        for m in matrices
        for name, _ in SOLVERS
        if (row := r.get((f"peers_{m}", name))) is not None and not row.get("accurate", True)
    ]
    residuals = ", ".join(
        f"{m}: {r[(f'peers_{m}', 'fpscore_scratch')]['residual']:.1e}"
        for m in matrices
        if (f"peers_{m}", "fpscore_scratch") in r
    )
    lines += ["", f"fpscore's relative residual ‖Ax − b‖∞/‖b‖∞ from scratch: {residuals}."]
    if inaccurate:
        lines.append(
            "Over the tolerance: " + ", ".join(f"{m} {name} ({res:.1e})" for m, name, res in inaccurate) + "."
        )
    return lines

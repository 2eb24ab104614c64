"""The report of an experiment: time to a target SSIM per arm, table.md and curves.png from results.json.

Statistics are over seeds. A run with ``"complete": false`` is unfinished: it is drawn (dashed) in the plot,
and in the tables it counts only for the targets it has already reached (an unfinished run that has not
reached a target yet is left out of that target's N, since it may still reach it).
"""

from __future__ import annotations

import json
import math
import numbers
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..._atomic import atomic_write

RESULTS_NAME = "results.json"
TABLE_NAME = "table.md"
CURVES_NAME = "curves.png"
REFERENCE_ARM = "embed"
# A fixed qualitative palette (matplotlib's tab10): arm i gets colour i, the same for all of its seeds.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
DASH = "—"


# --------------------------------------------------------------------------------------------------
# checks


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_results(results: object, where: str) -> None:
    """ValueError naming `where` and the first missing or malformed field of a results dict."""
    if not isinstance(results, Mapping):
        raise ValueError(f"{where}: expected a JSON object at the top level, got {type(results).__name__}")
    config = results.get("config")
    if not isinstance(config, Mapping):
        raise ValueError(f"{where}: missing 'config' (an object with 'targets')")
    targets = config.get("targets")
    if (
        not isinstance(targets, Sequence)
        or isinstance(targets, str)
        or not targets
        or not all(_is_number(t) for t in targets)
    ):
        raise ValueError(f"{where}: 'config.targets' must be a non-empty list of numbers, got {targets!r}")
    arms = results.get("arms")
    if not isinstance(arms, Mapping):
        raise ValueError(f"{where}: missing 'arms' (an object mapping arm names to their runs)")
    for name, arm in arms.items():
        if not isinstance(arm, Mapping) or not isinstance(arm.get("runs"), Sequence):
            raise ValueError(f"{where}: arm {name!r} has no 'runs' list")
        for i, run in enumerate(arm["runs"]):
            if not isinstance(run, Mapping) or not isinstance(run.get("curve"), Sequence):
                raise ValueError(f"{where}: arm {name!r}, run {i} has no 'curve' list")
            for j, point in enumerate(run["curve"]):
                _check_point(point, f"{where}: arm {name!r}, run {i}, curve point {j}")


def _check_point(point: object, where: str) -> None:
    if not isinstance(point, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(point).__name__}")
    for key in ("step", "train_seconds", "ssim"):
        if key not in point:
            raise ValueError(f"{where}: missing {key!r}")
        if not _is_number(point[key]):
            raise ValueError(f"{where}: {key!r} must be a number, got {point[key]!r}")


# --------------------------------------------------------------------------------------------------
# statistics


def time_to_target(curve: Sequence[Mapping[str, Any]], target: float) -> dict[str, Any] | None:
    """The first evaluation (in curve order) with ssim ≥ target: {"train_seconds", "step"}; None if none."""
    for j, point in enumerate(curve):
        _check_point(point, f"curve point {j}")
        if point["ssim"] >= target:
            return {"train_seconds": float(point["train_seconds"]), "step": int(point["step"])}
    return None


def _stats(values: Sequence[float]) -> dict[str, float] | None:
    """mean, sd (ddof=1 from two values on, else 0), min and max; None for no values."""
    if not values:
        return None
    return {
        "mean": statistics.fmean(values),
        "sd": statistics.stdev(values) if len(values) >= 2 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def _best_ssim(curve: Sequence[Mapping[str, Any]]) -> float | None:
    finite = [float(p["ssim"]) for p in curve if math.isfinite(p["ssim"])]
    return max(finite) if finite else None


def _reference_arm(arms: Mapping[str, Any]) -> str | None:
    if REFERENCE_ARM in arms:
        return REFERENCE_ARM
    return next(iter(arms), None)


def summarize_results(results: Mapping[str, Any]) -> dict[str, Any]:
    """Per arm and target: seeds reached/run, time and step statistics, ratios to the reference arm.

    Returns {"reference": arm name or None, "targets": [...], "arms": {name: arm summary}} where an arm
    summary is {"kind", "runs", "unfinished", "best_ssim": [{"seed", "best_ssim", "complete"}],
    "targets": {target: {"target", "reached", "seeds", "unfinished_pending", "seconds", "steps", "per_seed",
    "ratio", "ratio_range"}}}. "seconds" and "steps" are {"mean", "sd", "min", "max"} over the seeds that
    reached the target (None when none did); "seeds" counts the finished runs plus the unfinished ones that
    reached it ("unfinished_pending": the unfinished ones left out). "ratio" = mean seconds of this arm / mean
    seconds of the reference arm (> 1: the reference is faster) and "ratio_range" = [min(arm)/max(ref),
    max(arm)/min(ref)], both None for the reference arm itself or when either arm never reached the target.
    """
    _check_results(results, "results")
    targets = [float(t) for t in results["config"]["targets"]]
    arms_in = results["arms"]
    reference = _reference_arm(arms_in)
    arms: dict[str, Any] = {}
    for name, arm in arms_in.items():
        runs = arm["runs"]
        per_target: dict[float, Any] = {}
        for target in targets:
            per_seed: list[dict[str, Any]] = []
            counted: list[Any] = []
            pending = 0
            for i, run in enumerate(runs):
                complete = bool(run.get("complete", True))
                hit = time_to_target(run["curve"], target)
                if hit is None and not complete:
                    pending += 1
                    continue
                counted.append(run.get("seed", i))
                if hit is not None:
                    per_seed.append({"seed": run.get("seed", i), "complete": complete, **hit})
            per_target[target] = {
                "target": target,
                "reached": len(per_seed),
                "seeds": len(counted),
                "counted_seeds": counted,
                "unfinished_pending": pending,
                "seconds": _stats([h["train_seconds"] for h in per_seed]),
                "steps": _stats([float(h["step"]) for h in per_seed]),
                "per_seed": per_seed,
                "ratio": None,
                "ratio_range": None,
            }
        arms[name] = {
            "kind": arm.get("kind"),
            "runs": len(runs),
            "unfinished": sum(not r.get("complete", True) for r in runs),
            "best_ssim": [
                {
                    "seed": r.get("seed", i),
                    "best_ssim": _best_ssim(r["curve"]),
                    "complete": bool(r.get("complete", True)),
                }
                for i, r in enumerate(runs)
            ],
            "targets": per_target,
        }
    if reference is not None:
        for name, arm in arms.items():
            if name == reference:
                continue
            for target, cell in arm["targets"].items():
                ref, other = arms[reference]["targets"][target]["seconds"], cell["seconds"]
                if ref is None or other is None or ref["mean"] <= 0.0:
                    continue
                cell["ratio"] = other["mean"] / ref["mean"]
                if ref["min"] > 0.0:
                    cell["ratio_range"] = [other["min"] / ref["max"], other["max"] / ref["min"]]
        for name, arm in arms.items():
            if name != reference:
                for target, cell in arm["targets"].items():
                    cell["paired"] = _paired(arms[reference]["targets"][target], cell)
    return {"reference": reference, "targets": targets, "arms": arms}


def _paired(ref: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any] | None:
    """The same seeds of two arms (the same initial network): the differences in steps to the target
    (other − reference) where both reached it, and which reached it first, over the seeds both arms
    have finished or reached it on (a seed reached by one arm only counts for that one)."""
    ref_steps = {h["seed"]: h["step"] for h in ref["per_seed"]}
    other_steps = {h["seed"]: h["step"] for h in other["per_seed"]}
    both = set(ref["counted_seeds"]) & set(other["counted_seeds"])  # seeds both arms have a say on
    seeds = sorted(both & (set(ref_steps) | set(other_steps)), key=str)
    if not seeds:
        return None
    diffs = [float(other_steps[s] - ref_steps[s]) for s in seeds if s in ref_steps and s in other_steps]
    first = {"reference": 0, "tie": 0, "other": 0}
    for s in seeds:
        a, b = ref_steps.get(s, math.inf), other_steps.get(s, math.inf)
        first["reference" if a < b else "other" if b < a else "tie"] += 1
    return {"step_differences": _stats(diffs), "n": len(diffs), "first": first}


# --------------------------------------------------------------------------------------------------
# table.md


def _md(text: object) -> str:
    """A value safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _num(value: object, fmt: str) -> str:
    return format(value, fmt) if _is_number(value) else DASH


def _hardware_line(hardware: Mapping[str, Any]) -> str:
    parts = [str(hardware.get("cpu") or "unknown CPU")]
    if hardware.get("cores") is not None:
        parts.append(f"{hardware['cores']} cores")
    if hardware.get("device"):
        parts.append(f"device {hardware['device']}")
    if hardware.get("gpu"):
        parts.append(f"GPU {hardware['gpu']}")
    return ", ".join(parts)


def _options_text(arm: Mapping[str, Any]) -> str:
    parts = [f"kind {arm.get('kind', '?')}"]
    options = arm.get("options")
    if isinstance(options, Mapping) and options:
        parts.append(", ".join(f"{k}={v}" for k, v in options.items()))
    if arm.get("embedding"):
        parts.append(f"embedding {arm['embedding']}")
    if arm.get("sampler"):
        parts.append(f"sampler {arm['sampler']}")
    return "; ".join(parts)


def _table_text(results: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    config = results["config"]
    hardware = results.get("hardware") if isinstance(results.get("hardware"), Mapping) else {}
    versions = results.get("versions") if isinstance(results.get("versions"), Mapping) else {}
    reference = summary["reference"]
    lines = [f"# Experiment: {config.get('scenario', '?')}", ""]
    if results.get("created"):
        lines.append(f"- created: {results['created']}")
    lines.append(f"- hardware: {_hardware_line(hardware)}")
    version_parts = [f"fpscore {results['fpscore_version']}"] if results.get("fpscore_version") else []
    version_parts += [f"{k} {v}" for k, v in versions.items() if not (k == "fpscore" and version_parts)]
    lines.append(f"- versions: {', '.join(version_parts) or 'unknown'}")
    lines.append(f"- budget: {_num(config.get('budget_seconds'), '.1f')} s of training per run")
    seeds = config.get("seeds")
    lines.append(f"- seeds: {', '.join(map(str, seeds)) if isinstance(seeds, Sequence) else '?'}")
    lines.append(f"- evaluation every {_num(config.get('eval_every_seconds'), '.1f')} s of training")
    lines.append(f"- targets: SSIM ≥ {', '.join(f'{t:g}' for t in summary['targets'])}")
    lines.append("")

    arms_in = results["arms"]
    if arms_in:
        lines += ["## Arms", ""]
        lines += [f"- {_md(name)}: {_md(_options_text(arm))}" for name, arm in arms_in.items()]
        lines.append("")

    embeddings = results.get("embeddings")
    if isinstance(embeddings, Mapping) and embeddings:
        lines += [
            "## Embedding strength",
            "",
            "| embedding | used by | mean abs displacement | max abs displacement "
            "| fraction outside unit range | pre-computation s |",
            "|---|---|---|---|---|---|",
        ]
        for key, emb in embeddings.items():
            emb = emb if isinstance(emb, Mapping) else {}
            users = [name for name, arm in arms_in.items() if arm.get("embedding") == key]
            numbers = [
                _num(emb.get("mean_abs_displacement"), ".3f"),
                _num(emb.get("max_abs_displacement"), ".3f"),
                _num(emb.get("fraction_outside_unit"), ".3f"),
                _num(emb.get("precompute_seconds"), ".1f"),
            ]
            lines.append(f"| {_md(key)} | {_md(', '.join(users) or DASH)} | {' | '.join(numbers)} |")
        lines.append("")

    lines += ["## Time to target SSIM", ""]
    if not arms_in:
        lines += ["No arms yet.", ""]
    else:
        ref_text = _md(reference)
        lines += [
            f"| target | arm | reached | time s (mean ± sd) | steps (mean ± sd) | ratio to {ref_text} "
            f"| paired steps − {ref_text} | fewer steps: {ref_text}/tie/arm |",
            "|---|---|---|---|---|---|---|---|",
        ]
        any_pending = False
        for target in summary["targets"]:
            for name, arm in summary["arms"].items():
                cell = arm["targets"][target]
                reached = f"{cell['reached']}/{cell['seeds']}"
                if cell["unfinished_pending"]:
                    reached += " †"
                    any_pending = True
                sec, steps = cell["seconds"], cell["steps"]
                time_text = f"{sec['mean']:.1f} ± {sec['sd']:.1f}" if sec else DASH
                steps_text = f"{steps['mean']:.0f} ± {steps['sd']:.0f}" if steps else DASH
                if name == reference:
                    ratio_text = "reference"
                elif cell["ratio"] is None:
                    ratio_text = DASH
                elif cell["ratio_range"] is None:
                    ratio_text = f"{cell['ratio']:.2f}"
                else:
                    lo, hi = cell["ratio_range"]
                    ratio_text = f"{cell['ratio']:.2f} ({lo:.2f}–{hi:.2f})"
                paired = cell.get("paired")
                if name == reference or paired is None:
                    paired_text = first_text = DASH
                else:
                    d = paired["step_differences"]
                    paired_text = f"{d['mean']:+.0f} ± {d['sd']:.0f} (n = {paired['n']})" if d else DASH
                    first_text = "{reference}/{tie}/{other}".format(**paired["first"])
                lines.append(
                    f"| {target:g} | {_md(name)} | {reached} | {time_text} | {steps_text} | {ratio_text} "
                    f"| {paired_text} | {first_text} |"
                )
        lines += [
            "",
            "Time: training seconds at the first evaluation with SSIM ≥ target (pre-computation included), "
            f"over the seeds that reached it. Ratio: mean time of the arm / mean time of {ref_text} "
            f"(> 1: {ref_text} is faster); in brackets min(arm)/max({ref_text}) – max(arm)/min({ref_text}) "
            "over the seeds. Paired: the same seed gives both arms the same initial network (and, between "
            "embedding arms and the control, the same random draws); steps to the target of the arm minus "
            f"those of {ref_text}, over the seeds where "
            f"both reached it, and on how many seeds {ref_text} reached it first, at the same evaluation, "
            "or later (a seed reached by one arm only counts for it).",
        ]
        if any_pending:
            lines += ["", "† N leaves out unfinished runs that have not reached this target yet."]
        lines += ["", "## Best SSIM per seed", ""]
        any_unfinished = False
        for name, arm in summary["arms"].items():
            parts = []
            for entry in arm["best_ssim"]:
                mark = "" if entry["complete"] else "*"
                any_unfinished |= not entry["complete"]
                parts.append(f"{_num(entry['best_ssim'], '.3f')}{mark} (seed {entry['seed']})")
            lines.append(f"- {_md(name)}: {', '.join(parts) or 'no runs'}")
        if any_unfinished:
            lines += ["", "\\* unfinished run"]
    lines += _final_samplers_text(results)
    lines.append("")
    return "\n".join(lines)


def _final_samplers_text(results: Mapping[str, Any]) -> list[str]:
    """The samplers compared on each finished model (setting final_samplers): SSIM and NFE per sample,
    mean and range over the seeds."""
    rows = []
    for name, arm in results.get("arms", {}).items():
        per_sampler: dict[str, list[Mapping[str, Any]]] = {}
        for run in arm.get("runs", []):
            for sampler, v in (run.get("final_samplers") or {}).items():
                per_sampler.setdefault(sampler, []).append(v)
        for sampler, values in per_sampler.items():
            ssim = [float(v["ssim"]) for v in values]
            nfe = [float(v["nfe_per_sample"]) for v in values]
            rows.append(
                f"| {_md(name)} | {_md(sampler)} | {len(values)} | {statistics.fmean(ssim):.3f} "
                f"[{min(ssim):.3f}, {max(ssim):.3f}] | {statistics.fmean(nfe):.1f} |"
            )
    if not rows:
        return []
    return [
        "",
        "## Samplers on the trained models",
        "",
        "| arm | sampler | seeds | SSIM, mean [min, max] | network evaluations per sample |",
        "|---|---|---:|---:|---:|",
        *rows,
        "",
        "Each finished model (EMA weights) sampled the same prior noise with each sampler; SSIM against "
        "the training images; evaluations of the score network per sample, counted (DLG: its "
        "initialisation, Langevin steps and hand-offs; the noise classifier's evaluations not included).",
    ]


def write_table(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write the Markdown report (header, embedding strength, time-to-target table, best SSIM) atomically."""
    path = Path(path)
    text = _table_text(results, summarize_results(results))
    with atomic_write(path, per_process=True) as f:
        f.write(text.encode("utf-8"))
    return path


# --------------------------------------------------------------------------------------------------
# curves.png


def plot_curves(results: Mapping[str, Any], path: str | Path, *, dpi: int = 120) -> Path:
    """Write a PNG of SSIM against training seconds: one colour per arm, one thin line per seed (dashed when
    unfinished), the targets as labelled horizontal rules. Written atomically; returns the path."""
    # A Figure on its own Agg canvas: no pyplot, so no display is needed and the caller's backend stays.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    _check_results(results, "results")
    path = Path(path)
    config = results["config"]
    hardware = results.get("hardware") if isinstance(results.get("hardware"), Mapping) else {}
    targets = [float(t) for t in config["targets"]]

    # evaluations scheduled by steps are drawn against steps: the seconds of a busy machine would blur them
    by_steps = bool(config.get("eval_every_steps"))
    x_key = "step" if by_steps else "train_seconds"
    x_label = "training steps" if by_steps else "training seconds (pre-computation included)"
    # left: the whole curve; right: the same curves near the targets, where the arms differ
    fig = Figure(figsize=(11.0, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    lowest = 0.0
    handles = []
    any_unfinished = False
    for k, (name, arm) in enumerate(results["arms"].items()):
        colour = PALETTE[k % len(PALETTE)]
        for run in arm["runs"]:
            curve = run["curve"]
            xs = [float(p[x_key]) for p in curve]
            ys = [float(p["ssim"]) for p in curve]
            complete = bool(run.get("complete", True))
            any_unfinished |= not complete
            for ax in axes:
                ax.plot(
                    xs, ys, color=colour, lw=1.0, ls="-" if complete else "--", marker="o", ms=3, alpha=0.8
                )
            finite = [y for y in ys if math.isfinite(y)]
            if finite:
                lowest = min(lowest, min(finite))
        handles.append(Line2D([], [], color=colour, lw=1.5, marker="o", ms=3, label=name))
    if any_unfinished:
        handles.append(Line2D([], [], color="black", lw=1.0, ls="--", label="unfinished run"))
    zoom_low = max(lowest, min(targets) - 0.05)
    for ax, low in zip(axes, (lowest, zoom_low), strict=True):
        for target in targets:
            ax.axhline(target, color="0.45", lw=0.8, ls=":", zorder=0)
        ax.set_ylim(low, 1.0)
        ax.set_xlim(left=0.0)
        ax.set_xlabel(x_label)
        ax.grid(True, alpha=0.25)
    axes[1].set_yticks(sorted({*targets, 1.0}))
    axes[0].set_ylabel("mean SSIM of the samples")
    axes[1].set_title("near the targets (dotted)", fontsize=9)
    fig.suptitle(f"{config.get('scenario', '?')} — {_hardware_line(hardware)}", fontsize=10)
    if handles:
        axes[0].legend(handles=handles, loc="lower right", fontsize=8, title="arm", title_fontsize=8)
    with atomic_write(path, per_process=True) as f:
        fig.savefig(f, format="png", dpi=dpi)
    return path


# --------------------------------------------------------------------------------------------------
# the whole report


def load_results(path: str | Path) -> dict[str, Any]:
    """Read and check a results.json; ValueError naming the file and what is missing or malformed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file (the experiment writes it into its run folder)") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot be read: {e}") from e
    try:
        results = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    _check_results(results, str(path))
    return results


def write_report(run_dir: str | Path) -> dict[str, Any]:
    """Read `run_dir/results.json`, write `table.md` and `curves.png` next to it (atomically), return the
    summary of summarize_results."""
    run_dir = Path(run_dir)
    results = load_results(run_dir / RESULTS_NAME)
    summary = summarize_results(results)
    write_table(results, run_dir / TABLE_NAME)
    plot_curves(results, run_dir / CURVES_NAME)
    return summary

"""The experiment report: time to target, statistics over seeds, ratios, table.md and curves.png."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fpscore.evaluation.experiment.report import (
    plot_curves,
    summarize_results,
    time_to_target,
    write_report,
    write_table,
)


def curve(ssims: list[float], *, start: float = 0.0, every: float = 2.0, steps_every: int = 10) -> list[dict]:
    """Evaluations at train_seconds start, start + every, ... and steps 0, steps_every, ..."""
    return [
        {"step": j * steps_every, "train_seconds": start + j * every, "ssim": s, "psnr": 10.0, "mse": 0.1}
        for j, s in enumerate(ssims)
    ]


def results_dict() -> dict[str, Any]:
    """Three arms with known answers for the target 0.9 (0.99 is reached by no one).

    embed: reaches 0.9 at seconds 10, 12, 14 (steps 50, 60, 70) -> mean 12, sd 2; mean steps 60, sd 10.
    ddpm: reaches 0.9 at seconds 20, 30 (steps 100, 150); seed 2 never does -> 2/3, mean 25, sd sqrt(50).
    edm: seed 0 reaches 0.9 at 40 s (step 200); seed 1 is unfinished and below 0.9 (left out: 1/1).
    ratio ddpm/embed = 25/12; range 20/14 .. 30/10. ratio edm/embed = 40/12; range 40/14 .. 40/10.
    """
    embed_runs = [
        {"seed": s, "complete": True, "precompute_seconds": 1.0, "curve": curve([0.1] * k + [0.9, 0.95])}
        for s, k in zip([0, 1, 2], [5, 6, 7], strict=True)
    ]
    return {
        "fpscore_version": "0.9",
        "created": "2025-01-01T00:00:00",
        "config": {
            "scenario": "one32",
            "targets": [0.9, 0.99],
            "seeds": [0, 1, 2],
            "budget_seconds": 60.0,
            "eval_every_seconds": 2.0,
        },
        "hardware": {"cpu": "Test CPU", "cores": 2, "device": "cpu", "gpu": None},
        "versions": {"python": "3.11", "torch": "2.13.0", "numpy": "2.0"},
        "embeddings": {
            "emb-a": {
                "precompute_seconds": 1.26,
                "mean_abs_displacement": 0.1834,
                "max_abs_displacement": 0.9012,
                "fraction_outside_unit": 0.1511,
                "params": {"T": 1.0},
            }
        },
        "arms": {
            "ddpm": {
                "kind": "ddpm",
                "options": {},
                "sampler": "ancestral 40",
                "runs": [
                    {"seed": 0, "complete": True, "curve": curve([0.2] * 10 + [0.91])},
                    {"seed": 1, "complete": True, "curve": curve([0.2] * 15 + [0.92])},
                    {"seed": 2, "complete": True, "curve": curve([0.2, 0.5, 0.7])},
                ],
            },
            "embed": {
                "kind": "embed",
                "options": {"strength": 1.0, "init": "intensity", "loss": "dsm"},
                "embedding": "emb-a",
                "sampler": "ancestral 40 + Tweedie",
                "runs": embed_runs,
            },
            "edm": {
                "kind": "edm",
                "runs": [
                    {"seed": 0, "complete": True, "curve": curve([0.3] * 20 + [0.93])},
                    {"seed": 1, "complete": False, "curve": curve([-0.05, 0.4, 0.6])},
                ],
            },
        },
    }


# --------------------------------------------------------------------------------------------------
# time_to_target


def test_time_to_target_first_evaluation_at_or_above() -> None:
    c = curve([0.1, 0.5, 0.85, 0.92, 0.8, 0.97])
    assert time_to_target(c, 0.9) == {"train_seconds": 6.0, "step": 30}
    assert time_to_target(c, 0.95) == {"train_seconds": 10.0, "step": 50}


def test_time_to_target_equal_counts_and_not_reached() -> None:
    c = curve([0.1, 0.9, 0.95])
    assert time_to_target(c, 0.9) == {"train_seconds": 2.0, "step": 10}
    assert time_to_target(c, 0.96) is None
    assert time_to_target([], 0.5) is None


def test_time_to_target_bad_point() -> None:
    points = [{"step": 0, "train_seconds": 0.0, "ssim": 0.1}, {"step": 1, "train_seconds": 1.0}]
    with pytest.raises(ValueError, match=r"curve point 1: missing 'ssim'"):
        time_to_target(points, 0.5)


# --------------------------------------------------------------------------------------------------
# statistics


def test_summary_statistics_of_the_reference_arm() -> None:
    s = summarize_results(results_dict())
    assert s["reference"] == "embed"
    assert s["targets"] == [0.9, 0.99]
    cell = s["arms"]["embed"]["targets"][0.9]
    assert (cell["reached"], cell["seeds"]) == (3, 3)
    assert cell["seconds"] == pytest.approx({"mean": 12.0, "sd": 2.0, "min": 10.0, "max": 14.0})
    assert cell["steps"] == pytest.approx({"mean": 60.0, "sd": 10.0, "min": 50.0, "max": 70.0})
    assert [h["seed"] for h in cell["per_seed"]] == [0, 1, 2]
    assert cell["ratio"] is None and cell["ratio_range"] is None
    assert [b["best_ssim"] for b in s["arms"]["embed"]["best_ssim"]] == pytest.approx([0.95] * 3)


def test_summary_ratio_and_range() -> None:
    s = summarize_results(results_dict())
    ddpm = s["arms"]["ddpm"]["targets"][0.9]
    assert (ddpm["reached"], ddpm["seeds"]) == (2, 3)
    assert ddpm["seconds"]["mean"] == pytest.approx(25.0)
    assert ddpm["seconds"]["sd"] == pytest.approx(math.sqrt(50.0))
    assert ddpm["ratio"] == pytest.approx(25.0 / 12.0)
    assert ddpm["ratio_range"] == pytest.approx([20.0 / 14.0, 30.0 / 10.0])
    assert [b["best_ssim"] for b in s["arms"]["ddpm"]["best_ssim"]] == pytest.approx([0.91, 0.92, 0.7])


def test_summary_target_reached_by_no_one() -> None:
    s = summarize_results(results_dict())
    for arm in s["arms"].values():
        cell = arm["targets"][0.99]
        assert cell["reached"] == 0
        assert cell["seconds"] is None and cell["steps"] is None
        assert cell["ratio"] is None and cell["ratio_range"] is None


def test_summary_unfinished_run_counts_only_once_reached() -> None:
    s = summarize_results(results_dict())
    edm = s["arms"]["edm"]
    assert edm["runs"] == 2 and edm["unfinished"] == 1
    cell = edm["targets"][0.9]
    assert (cell["reached"], cell["seeds"], cell["unfinished_pending"]) == (1, 1, 1)
    assert cell["seconds"] == pytest.approx({"mean": 40.0, "sd": 0.0, "min": 40.0, "max": 40.0})
    assert cell["ratio"] == pytest.approx(40.0 / 12.0)
    assert cell["ratio_range"] == pytest.approx([40.0 / 14.0, 40.0 / 10.0])

    # Once the unfinished run has reached the target, it counts.
    r = results_dict()
    r["arms"]["edm"]["runs"][1]["curve"] = curve([0.5, 0.95])
    cell = summarize_results(r)["arms"]["edm"]["targets"][0.9]
    assert (cell["reached"], cell["seeds"], cell["unfinished_pending"]) == (2, 2, 0)
    assert cell["per_seed"][1] == {"seed": 1, "complete": False, "train_seconds": 2.0, "step": 10}
    assert cell["seconds"]["mean"] == pytest.approx(21.0)


def test_summary_reference_is_first_arm_without_embed() -> None:
    r = results_dict()
    r["arms"] = {k: r["arms"][k] for k in ("edm", "ddpm")}
    s = summarize_results(r)
    assert s["reference"] == "edm"
    assert s["arms"]["ddpm"]["targets"][0.9]["ratio"] == pytest.approx(25.0 / 40.0)


def test_summary_of_no_arms() -> None:
    r = results_dict()
    r["arms"] = {}
    assert summarize_results(r) == {"reference": None, "targets": [0.9, 0.99], "arms": {}}


# --------------------------------------------------------------------------------------------------
# table.md and curves.png


def test_table_contents(tmp_path: Path) -> None:
    path = write_table(results_dict(), tmp_path / "table.md")
    text = path.read_text(encoding="utf-8")
    assert "one32" in text and "Test CPU" in text and "torch 2.13.0" in text and "fpscore 0.9" in text
    assert "60.0 s" in text and "0, 1, 2" in text and "every 2.0 s" in text
    # embedding strength
    assert "| emb-a | embed | 0.183 | 0.901 | 0.151 | 1.3 |" in text
    # the time-to-target rows
    assert "| target | arm | reached | time s (mean ± sd) | steps (mean ± sd) | ratio to embed |" in text
    assert "| 0.9 | embed | 3/3 | 12.0 ± 2.0 | 60 ± 10 | reference |" in text
    assert "| 0.9 | ddpm | 2/3 | 25.0 ± 7.1 | 125 ± 35 | 2.08 (1.43–3.00) |" in text
    assert "| 0.9 | edm | 1/1 † | 40.0 ± 0.0 | 200 ± 0 | 3.33 (2.86–4.00) |" in text
    assert "| 0.99 | ddpm | 0/3 | — | — | — |" in text
    assert "| 0.99 | embed | 0/3 | — | — | reference |" in text
    # best SSIM per seed, the unfinished run marked
    assert "- ddpm: 0.910 (seed 0), 0.920 (seed 1), 0.700 (seed 2)" in text
    assert "- edm: 0.930 (seed 0), 0.600* (seed 1)" in text
    assert "unfinished" in text


def test_table_escapes_arm_names(tmp_path: Path) -> None:
    r = results_dict()
    r["arms"]["a|b"] = r["arms"].pop("ddpm")
    text = write_table(r, tmp_path / "table.md").read_text(encoding="utf-8")
    assert "| 0.9 | a\\|b | 2/3 |" in text


def test_plot_writes_png(tmp_path: Path) -> None:
    path = plot_curves(results_dict(), tmp_path / "curves.png")
    assert path.stat().st_size > 0
    with Image.open(path) as im:
        im.load()
        assert im.format == "PNG"
        assert im.size[0] > 100 and im.size[1] > 100


def test_write_report(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text(json.dumps(results_dict()), encoding="utf-8")
    summary = write_report(tmp_path)
    assert summary["arms"]["embed"]["targets"][0.9]["seconds"]["mean"] == pytest.approx(12.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "results.json", "table.md"]
    assert "| 0.9 | embed | 3/3 | 12.0 ± 2.0 |" in (tmp_path / "table.md").read_text(encoding="utf-8")
    with Image.open(tmp_path / "curves.png") as im:
        im.load()
    json.dumps(summary)  # serialisable as it is


def test_report_module_does_not_import_torch() -> None:
    import ast

    import fpscore.evaluation.experiment.report as report

    tree = ast.parse(Path(report.__file__).read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not any(name.split(".")[0] == "torch" for name in names)


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "table.md"
    path.write_text("old", encoding="utf-8")
    bad = results_dict()
    del bad["arms"]["embed"]["runs"][0]["curve"][3]["ssim"]
    with pytest.raises(ValueError):
        write_table(bad, path)
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]


# --------------------------------------------------------------------------------------------------
# bad results.json


def test_missing_results_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"results\.json.*no such file"):
        write_report(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_results_json_not_json(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"results\.json.*not valid JSON"):
        write_report(tmp_path)


def _broken(edit: Any) -> dict[str, Any]:
    r = copy.deepcopy(results_dict())
    edit(r)
    return r


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.pop("config"), "missing 'config'"),
        (lambda r: r["config"].pop("targets"), r"'config\.targets' must be"),
        (lambda r: r["config"].update(targets=[]), r"'config\.targets' must be"),
        (lambda r: r.pop("arms"), "missing 'arms'"),
        (lambda r: r["arms"]["edm"].pop("runs"), "arm 'edm' has no 'runs'"),
        (lambda r: r["arms"]["edm"]["runs"][1].pop("curve"), "arm 'edm', run 1 has no 'curve'"),
        (lambda r: r["arms"]["ddpm"]["runs"][0]["curve"][2].pop("train_seconds"), "curve point 2: missing"),
        (lambda r: r["arms"]["ddpm"]["runs"][0]["curve"][2].update(ssim="high"), "'ssim' must be a number"),
    ],
)
def test_malformed_results_json(tmp_path: Path, edit: Any, message: str) -> None:
    (tmp_path / "results.json").write_text(json.dumps(_broken(edit)), encoding="utf-8")
    with pytest.raises(ValueError, match=r"results\.json: .*" + message):
        write_report(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_top_level_not_an_object(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"results\.json: expected a JSON object"):
        write_report(tmp_path)


def test_paired_step_differences_by_seed() -> None:
    # ddpm reaches 0.9 at steps 100 (seed 0) and 150 (seed 1), never on seed 2; embed at 50, 60, 70
    paired = summarize_results(results_dict())["arms"]["ddpm"]["targets"][0.9]["paired"]
    assert paired["n"] == 2
    assert paired["step_differences"]["mean"] == pytest.approx(70.0)
    assert paired["step_differences"]["sd"] == pytest.approx(math.sqrt(800.0))
    assert paired["first"] == {"reference": 3, "tie": 0, "other": 0}
    assert summarize_results(results_dict())["arms"]["ddpm"]["targets"][0.99]["paired"] is None

"""`fpscore experiment`: configuration checks before any training, the smoke preset end to end (files
and their consistency), the baselines' arms, and resuming an interrupted experiment."""

import itertools
import json
import re

import numpy as np
import pytest

from fpscore.evaluation.experiment import build_config, parse_arm, time_to_target
from fpscore.evaluation.experiment.config import ExperimentConfig

torch = pytest.importorskip("torch")
pytest.importorskip("ot")
pytestmark = pytest.mark.torch

from fpscore.evaluation.experiment.runner import check, run_experiment  # noqa: E402


def quiet(*lines):
    return None


# -- configuration --------------------------------------------------------------------------------


def test_arm_names_and_options():
    arm = parse_arm("embed:strength=0.5,init=value-kde")
    assert arm.kind == "embed" and arm.options == {"strength": 0.5, "init": "value-kde"}
    assert arm.name == "embed:init=value-kde,strength=0.5" and arm.strength == 0.5
    assert parse_arm("control").strength == 0.0 and parse_arm("embed").strength == 1.0
    assert parse_arm("ddpm:sampler=ddim,steps=20").options == {"sampler": "ddim", "steps": 20}
    assert parse_arm("control:model=cunet").options == {"model": "cunet"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["arms=['embed', 'dpm']"], "unknown arm 'dpm'"),
        (["arms=['embed:strenght=2']"], "not an option of embed"),
        (["arms=['embed:model=resnet']"], "model must be one of"),
        (["arms=['ddpm:model=cunet']"], "not an option of ddpm"),
        (["model=resnet"], "model must be one of"),
        (["ode_steps=0"], "ode_steps"),
        (["arms=['embed', 'embed']"], "listed twice"),
        (["size=18", "channel_mult=[1, 2, 2]"], "multiple of 4"),
        (["images=['astronaut', 'nosuch']"], "unknown sample images"),
        (["data='/no/such/file.npz'"], "no data file"),
        (["condition_weight=1.5"], "condition_weight"),
        (["stop_at=2"], "stop_at"),
        (["targets=[0.9, 1.5]"], "targets"),
        (["device=tpu"], "device"),
        (["nosuch=1"], "unknown experiment setting"),
    ],
)
def test_bad_settings_fail_before_anything_runs(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        build_config("smoke", overrides=change)


def test_unknown_preset_and_scenario():
    with pytest.raises(ValueError, match="unknown preset 'fast'"):
        build_config("fast")
    with pytest.raises(ValueError, match="unknown scenario"):
        build_config("smoke", scenario="one128")


def test_data_file_without_the_index_fails_before_training(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, images=np.random.default_rng(0).uniform(0, 1, (2, 16, 16, 3)).astype(np.float32))
    cfg = build_config("smoke", overrides=[f"data='{path}'", "indices=[5]"])
    with pytest.raises(ValueError, match=r"cannot take images \[5\]"):
        run_experiment(cfg, tmp_path / "run", log=quiet)
    assert not (tmp_path / "run").exists()
    ok = build_config("smoke", overrides=[f"data='{path}'", "indices=[1]"])
    assert check(ok).shape == (1, 3, 16, 16)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_gpu_asked_for_without_one(tmp_path):
    cfg = build_config("smoke", overrides=["device=cuda"])
    with pytest.raises(ValueError, match="no CUDA GPU"):
        run_experiment(cfg, tmp_path / "run", log=quiet)
    assert not (tmp_path / "run").exists()


def test_refuses_a_folder_it_did_not_create(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        run_experiment(build_config("smoke"), tmp_path, log=quiet)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_config_files_and_presets(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('arms = ["embed", "embed:strength=2"]\nseeds = [3, 4]\n')
    cfg = build_config("quick", path, ["budget_seconds=10"])
    assert cfg.arms == ("embed", "embed:strength=2") and cfg.seeds == (3, 4) and cfg.budget_seconds == 10
    paper = build_config("paper", scenario="one64")
    assert paper.image_size == 64 and paper.sigma == 2.0 and paper.fp_steps == 10
    assert build_config("paper").sigma == 5.0  # one CIFAR image: σ = 5, N = 20
    conditional = build_config("quick", scenario="three32-conditional")
    assert conditional.weight == 0.6 and conditional.image_count == 3
    assert isinstance(ExperimentConfig.from_dict(cfg.to_dict()), ExperimentConfig)


# -- running ----------------------------------------------------------------------------------------


def _consistent(results, out):
    cfg = results["config"]
    assert set(results) >= {"config", "hardware", "versions", "arms", "embeddings"}
    for name, arm in results["arms"].items():
        assert [r["seed"] for r in arm["runs"]] == cfg["seeds"], name
        for run in arm["runs"]:
            assert run["complete"]
            curve = run["curve"]
            assert curve, name
            seconds = [p["train_seconds"] for p in curve]
            steps = [p["step"] for p in curve]
            assert all(b > a for a, b in itertools.pairwise(seconds))
            assert all(b > a for a, b in itertools.pairwise(steps))
            assert all(0 <= p["mse"] <= 1 and -1 <= p["ssim"] <= 1 for p in curve)
            assert run["steps"] == steps[-1]
            # the budget ends the run: its last evaluation is at or past it, the one before is not
            assert seconds[-1] >= cfg["budget_seconds"] or max(p["ssim"] for p in curve) >= cfg["stop_at"]
            # the run folder's metrics: each logged step once
            log = out / "arms" / parse_arm(name).slug / f"seed-{run['seed']}" / "metrics.jsonl"
            logged = [json.loads(line)["step"] for line in log.read_text().splitlines()]
            assert logged == sorted(set(logged)) and logged[-1] <= steps[-1]
    table = (out / "table.md").read_text()
    for name in results["arms"]:
        assert f"| {name} |" in table


def test_smoke_preset_writes_consistent_files(tmp_path):
    out = tmp_path / "run"
    results = run_experiment(build_config("smoke"), out, log=quiet)
    assert {p.name for p in out.iterdir()} >= {"results.json", "curves.png", "table.md", "config.toml"}
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(results))
    assert list(results["arms"]) == ["embed", "control"]
    _consistent(results, out)
    emb = next(iter(results["embeddings"].values()))
    assert 0 < emb["mean_abs_displacement"] <= emb["max_abs_displacement"]
    assert emb["precompute_seconds"] > 0
    embed_curve = results["arms"]["embed"]["runs"][0]["curve"]
    control_curve = results["arms"]["control"]["runs"][0]["curve"]
    # the embedding arm's clock starts with its pre-computation; the control's does not
    assert embed_curve[0]["train_seconds"] > emb["precompute_seconds"]
    assert results["arms"]["control"]["runs"][0]["precompute_seconds"] == 0
    assert control_curve[0]["train_seconds"] < embed_curve[0]["train_seconds"] + 60
    # the table reports what the curves say
    from fpscore.evaluation.experiment.report import summarize_results

    low = min(p["ssim"] for p in embed_curve)
    hit = time_to_target(embed_curve, low)
    assert hit is not None and hit["step"] == next(p["step"] for p in embed_curve if p["ssim"] >= low)
    summary = summarize_results(results)
    assert set(summary["arms"]) == {"embed", "control"}
    from PIL import Image

    with Image.open(out / "curves.png") as im:
        assert im.width > 100 and im.height > 100


def test_baseline_arms_and_the_conditional_start(tmp_path):
    cfg = build_config(
        "smoke",
        scenario="three32-conditional",
        overrides=[
            "size=16",
            "arms=['control', 'ddpm', 'ddpm:sampler=ddim,steps=10', 'edm']",
            "budget_seconds=1.0",
            "eval_every_seconds=1.0",
            "n_samples=3",
        ],
    )
    results = run_experiment(cfg, tmp_path / "run", log=quiet)
    assert results["derived"]["images"] == 3 and results["derived"]["condition_weight"] == 0.6
    _consistent(results, tmp_path / "run")
    assert results["arms"]["ddpm"]["sampler"] == "ancestral, 1000 steps"
    # from noised data (w = 0.6) even an untrained network keeps the image's structure
    first = results["arms"]["edm"]["runs"][0]["curve"][0]
    assert first["ssim"] > 0.1


def test_an_interrupted_experiment_resumes_the_arm_it_was_in(tmp_path, monkeypatch):
    from fpscore.evaluation.experiment import runner

    cfg = build_config("smoke", overrides=["budget_seconds=6", "eval_every_seconds=1"])
    out = tmp_path / "run"
    calls = {"n": 0}
    original = runner.ArmSeed.evaluate

    def crash_in_control(self):
        point = original(self)
        if self.arm.kind == "control":
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
        return point

    monkeypatch.setattr(runner.ArmSeed, "evaluate", crash_in_control)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, out, log=quiet)
    partial = json.loads((out / "results.json").read_text())
    embed_before = partial["arms"]["embed"]["runs"][0]
    assert embed_before["complete"] and not partial["arms"]["control"]["runs"][0]["complete"]
    kept = partial["arms"]["control"]["runs"][0]["curve"]
    assert len(kept) == 1

    monkeypatch.setattr(runner.ArmSeed, "evaluate", original)
    changed = build_config("smoke", overrides=["budget_seconds=7", "eval_every_seconds=1"])
    with pytest.raises(ValueError, match=re.escape("budget_seconds: 6.0 → 7.0")):
        run_experiment(changed, out, log=quiet)
    lines = []
    results = run_experiment(cfg, out, log=lines.append)
    assert any("resuming" in line for line in lines)
    assert results["arms"]["embed"]["runs"][0] == embed_before  # the finished arm is not run again
    control = results["arms"]["control"]["runs"][0]["curve"]
    assert control[0] == kept[0] and len(control) >= 2
    _consistent(results, out)


def test_evaluation_by_steps_is_independent_of_the_clock(tmp_path):
    cfg = build_config(
        "smoke", overrides=["budget_seconds=1000", "max_steps=6", "eval_every_steps=2", "stop_at=0"]
    )
    results = run_experiment(cfg, tmp_path / "run", log=quiet)
    for arm in results["arms"].values():
        assert [p["step"] for p in arm["runs"][0]["curve"]] == [2, 4, 6]
    # the same steps, seeds and draws give the same curves: steps do not depend on the machine's load
    again = run_experiment(cfg, tmp_path / "again", log=quiet)
    for name, arm in results["arms"].items():
        first = [p["ssim"] for p in arm["runs"][0]["curve"]]
        assert first == [p["ssim"] for p in again["arms"][name]["runs"][0]["curve"]]


def test_a_cunet_arm_trains_the_continuous_unet(tmp_path):
    from fpscore.evaluation.experiment.runner import trainer_config

    cfg = build_config("smoke", overrides=["arms=['control', 'control:model=cunet']", "ode_steps=1"])
    arms = cfg.parsed_arms()
    assert [trainer_config(cfg, a, 0, 3).model.kind for a in arms] == ["unet", "cunet"]
    assert trainer_config(cfg, arms[1], 0, 3).model.ode_steps == 1
    smoke = build_config("smoke", overrides=["arms=['control:model=cunet']"])
    results = run_experiment(smoke, tmp_path / "r", log=quiet)
    run = results["arms"]["control:model=cunet"]["runs"][0]
    assert run["curve"] and all(0.0 <= p["ssim"] <= 1.0 for p in run["curve"])


def test_final_samplers_compare_dlg_with_the_integrators(tmp_path):
    overrides = [
        "arms=['control']",
        "final_samplers=['heun', 'dlg']",
        "classifier_levels=4",
        "classifier_steps=3",
        "dlg_skip=2",
    ]
    results = run_experiment(build_config("smoke", overrides=overrides), tmp_path / "r", log=quiet)
    final = results["arms"]["control"]["runs"][0]["final_samplers"]
    assert set(final) == {"heun", "dlg"}
    cfg = build_config("smoke", overrides=overrides)
    # Heun: 2 evaluations per step (the last time is t_min > 0), then Tweedie's; DLG adds its
    # Langevin steps and initialisation: more evaluations per sample
    assert final["heun"]["nfe_per_sample"] == 2 * cfg.sample_steps + 1
    assert final["dlg"]["nfe_per_sample"] > cfg.dlg_skip
    assert all(-1.0 <= v["ssim"] <= 1.0 for v in final.values())  # SSIM's range; a smoke model's is near 0
    assert (tmp_path / "r" / "noise_classifier" / "noise_classifier.pt").is_file()
    assert "## Samplers on the trained models" in (tmp_path / "r" / "table.md").read_text()
    with pytest.raises(ValueError, match="final_samplers: unknown"):
        build_config("smoke", overrides=["final_samplers=['magic']"])
    with pytest.raises(ValueError, match="dlg_skip"):
        build_config("smoke", overrides=["dlg_skip=0"])

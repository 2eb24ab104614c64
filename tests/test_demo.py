"""`fpscore demo`: the folders it writes into, the comparison sentence, and both arms on a tiny setting."""

import json
from pathlib import Path

import pytest

from fpscore.cli import main
from fpscore.evaluation.demo import MARKER, ArmResult, compare_arms, prepare_demo_folder, run_demo


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under root with the bytes of its files (None for folders)."""
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in root.rglob("*")}


# -- the output folder (no training) ---------------------------------------------------------------


def test_refuses_a_folder_it_did_not_create(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "thesis.txt").write_text("years of work")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    before = _tree(tmp_path)

    with pytest.raises(ValueError, match="choose a new or empty folder") as err:
        prepare_demo_folder(results)
    assert str(results) in str(err.value)
    with pytest.raises(ValueError, match="is a file"):
        prepare_demo_folder(a_file)
    marker_dir = tmp_path / "marker-is-a-folder"
    (marker_dir / MARKER).mkdir(parents=True)
    with pytest.raises(ValueError, match="not created by"):
        prepare_demo_folder(marker_dir)
    (marker_dir / MARKER).rmdir()
    marker_dir.rmdir()

    # through run_demo: refused before anything is loaded or computed
    import fpscore.data

    def must_not_run(*args, **kwargs):
        raise AssertionError("the demo started computing in a folder it must refuse")

    monkeypatch.setattr(fpscore.data, "load_sample_images", must_not_run)
    with pytest.raises(ValueError, match="fpscore-demo"):
        run_demo(results, progress=False, log=lambda s: None)

    # through the CLI: the message on stderr, exit status 2
    assert main(["demo", "--out", str(results), "--no-progress"]) == 2
    err_text = capsys.readouterr().err
    assert "fpscore demo: error:" in err_text and str(results) in err_text
    assert _tree(tmp_path) == before  # nothing written, nothing removed


def test_accepts_new_empty_and_own_folders(tmp_path):
    new = tmp_path / "a" / "new"
    assert prepare_demo_folder(new) == new
    stamp = json.loads((new / MARKER).read_text())
    assert stamp["created_by"] == "fpscore demo" and stamp["fpscore_version"] and stamp["created"]

    empty = tmp_path / "empty"
    empty.mkdir()
    prepare_demo_folder(empty)
    assert sorted(p.name for p in empty.iterdir()) == [MARKER]

    (new / "run-embed").mkdir()
    (new / "demo.png").write_bytes(b"png")
    before = _tree(new)
    assert prepare_demo_folder(new) == new  # its own folder: accepted as it is
    assert _tree(new) == before


def _arm(name: str, steps: int, ssim: float, to_target: tuple[int, float] | None) -> ArmResult:
    return ArmResult(
        name=name,
        run_dir=Path(f"run-{name}"),
        steps=steps,
        final_ssim=ssim,
        best_ssim=ssim,
        final_psnr=20.0,
        reached_target=to_target is not None,
        train_seconds=0.2 * steps,
        eval_seconds=5.0,
        steps_to_target=None if to_target is None else to_target[0],
        seconds_to_target=None if to_target is None else to_target[1],
    )


def test_comparison_sentence():
    embed, control = _arm("embed", 175, 0.91, (175, 32.4)), _arm("control", 200, 0.92, (200, 37.0))
    assert compare_arms(embed, control, 0.9) == (
        "embedding reached SSIM 0.90 after 175 steps (32 s of training), the control after 200 steps (37 s)"
    )
    missed = _arm("control", 1500, 0.85, None)
    assert compare_arms(embed, missed, 0.9) == (
        "embedding reached SSIM 0.90 after 175 steps (32 s); "
        "the control (no embedding) did not reach SSIM 0.90 within 1500 steps (final SSIM 0.850)"
    )
    assert compare_arms(embed, None, 0.9) == "embedding reached SSIM 0.90 after 175 steps (32 s)"
    busy = _arm("control", 200, 0.92, (200, 120.0))
    busy.train_seconds = 120.0
    assert compare_arms(embed, busy, 0.9).endswith(
        "(the arms trained at 5.0 and 1.7 steps/s: the machine was busier during one of them, "
        "so compare the steps)"
    )


# -- the demo itself, both arms on a tiny setting ------------------------------------------------------


@pytest.mark.torch
def test_demo_smoke(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "demo"
    tiny = dict(max_steps=4, eval_every=2, sample_steps=3, n_samples=2, progress=False, log=lambda s: None)
    result = run_demo(out, **tiny)
    assert (out / MARKER).is_file()
    assert result.steps == 4 and [c["step"] for c in result.curve] == [2, 4]
    assert result.control is not None and result.embed is not None
    assert result.control.steps == 4 and [c["step"] for c in result.control.curve] == [2, 4]
    for arm in (result.embed, result.control):
        assert arm.train_seconds > 0 and arm.eval_seconds > 0
        assert 0 < arm.curve[0]["train_seconds"] < arm.curve[1]["train_seconds"] <= arm.train_seconds
        assert (out / f"run-{arm.name}" / "checkpoints").is_dir()
    # the control is the same pipeline with the embedding off: other training data, other losses
    assert "scores_zero = true" in (out / "run-control" / "config.toml").read_text()
    assert "scores_zero = false" in (out / "run-embed" / "config.toml").read_text()
    assert result.control.curve[0]["loss"] != result.curve[0]["loss"]
    assert result.png.is_file() and "control" in (out / "summary.txt").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 4 and 0 <= summary["final"]["ssim"] <= 1
    assert set(summary["arms"]) == {"embed", "control"} and summary["comparison"] == result.comparison()

    # a rerun in its own folder replaces its runs and outputs, and nothing else
    (out / "notes.txt").write_text("kept")
    again = run_demo(out, arms=("embed",), **tiny)
    assert again.control is None and not (out / "run-control").exists()
    assert (out / "notes.txt").read_text() == "kept"
    assert "control" not in json.loads((out / "summary.json").read_text())["arms"]

"""Choosing where the Fokker–Planck batch runs: backend names, FPSCORE_BACKEND, the errors of a
build or machine without CUDA, and build_info. The CUDA solves themselves are in test_cuda.py."""

from __future__ import annotations

import numpy as np
import pytest

import fpscore
from fpscore import _core
from fpscore.numerics.backend import resolve_backend

CUDA_HERE = _core.cuda_compiled() and _core.cuda_device_count() > 0


def small_problem(**kw):
    m0 = -0.05 * np.add.outer(np.arange(6.0) - 2.5, np.arange(5.0) - 2) ** 2
    return fpscore.solve_log_density(m0, fpscore.VESDE(2.0), n_steps=3, **kw)


def test_has_cuda_agrees_with_the_build_and_the_devices() -> None:
    assert fpscore.has_cuda() is CUDA_HERE
    assert fpscore.available_backends() == (["cpu", "cuda"] if CUDA_HERE else ["cpu"])


def test_cpu_by_name() -> None:
    assert resolve_backend("cpu") == "cpu"


def test_auto_follows_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FPSCORE_BACKEND", raising=False)
    assert resolve_backend("auto") == ("cuda" if CUDA_HERE else "cpu")


@pytest.mark.parametrize("value", ["cpu", "auto", ""])
def test_environment_variable_chooses_for_auto(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FPSCORE_BACKEND", value)
    expected = "cpu" if value == "cpu" or not CUDA_HERE else "cuda"
    assert resolve_backend("auto") == expected
    assert resolve_backend("cpu") == "cpu"  # an explicit name wins over the variable


def test_environment_variable_must_name_a_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FPSCORE_BACKEND", "gpu")
    with pytest.raises(ValueError, match="FPSCORE_BACKEND must be one of"):
        small_problem(backend="auto")


@pytest.mark.parametrize("value", ["gpu", "", "CPU", 1, None])
def test_unknown_backend(value: object) -> None:
    with pytest.raises(ValueError, match="backend"):
        small_problem(backend=value)


@pytest.mark.skipif(CUDA_HERE, reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    why = "no CUDA device is present" if _core.cuda_compiled() else "this build has no CUDA backend"
    with pytest.raises(ValueError, match=f"backend 'cuda' is not available: {why}"):
        small_problem(backend="cuda")
    monkeypatch.setenv("FPSCORE_BACKEND", "cuda")
    with pytest.raises(ValueError, match="backend 'cuda' is not available"):
        small_problem()
    # The module's own entry point refuses it as well (nothing reaches a device).
    if not _core.cuda_compiled():
        with pytest.raises(ValueError, match="FPSCORE_CUDA=ON"):
            _core.solve_log_density(
                np.zeros((1, 5, 5)), np.linspace(0, 1, 3), np.ones(3), 1.0, "zero", "central", "picard",
                1e-8, 50, 1, backend="cuda",
            )


@pytest.mark.parametrize(("kw", "exc"), [({"device": -1}, ValueError), ({"device": 0.5}, TypeError),
                                         ({"max_chunk": -2}, ValueError), ({"max_chunk": "4"}, TypeError)])
def test_device_options_are_checked(kw: dict[str, object], exc: type[Exception]) -> None:
    with pytest.raises(exc, match=next(iter(kw))):
        small_problem(backend="cpu", **kw)


def test_cpu_results_do_not_depend_on_the_device_options() -> None:
    plain = small_problem(backend="cpu")
    other = small_problem(backend="cpu", device=3, max_chunk=1)
    np.testing.assert_array_equal(plain.m, other.m)


def test_build_info() -> None:
    info = fpscore.build_info()
    assert info["version"] == fpscore.__version__
    assert info["simd_levels"] == fpscore.simd_levels() and info["simd_level"] == fpscore.simd_level()
    assert info["backends"] == fpscore.available_backends()
    cuda = info["cuda"]
    assert set(cuda) == {"compiled", "architectures", "runtime", "devices"}
    assert cuda["compiled"] is bool(_core.cuda_compiled())
    assert len(cuda["devices"]) == _core.cuda_device_count()
    if cuda["compiled"]:
        assert cuda["architectures"] and all(a.isdigit() for a in cuda["architectures"].split(","))
    else:
        assert cuda["architectures"] == "" and cuda["devices"] == []


def test_error_types_exist_in_every_build() -> None:
    assert issubclass(fpscore.CudaError, RuntimeError)
    assert issubclass(fpscore.DeviceMemoryError, MemoryError)


@pytest.mark.skipif(CUDA_HERE, reason="this machine has CUDA")
def test_precompute_on_cuda_without_cuda_touches_nothing(tmp_path) -> None:
    images = np.random.default_rng(0).random((2, 1, 8, 8))
    with pytest.raises(ValueError, match="backend 'cuda' is not available"):
        fpscore.precompute(images, tmp_path / "cache", fpscore.VESDE(2.0), n_steps=3, device="cuda")
    assert not (tmp_path / "cache").exists()


def test_cli_precompute_device(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from fpscore import cli

    args = ["precompute", "samples", str(tmp_path / "c"), "--count", "1", "--size", "8", "--n-steps", "3"]
    assert cli.main([*args, "--device", "cpu", "--no-progress"]) == 0
    assert "1 images" in capsys.readouterr().out
    if not CUDA_HERE:
        assert cli.main([*args, "--device", "cuda", "--no-progress"]) == 2
        assert "backend 'cuda' is not available" in capsys.readouterr().err

"""The CUDA backend against the CPU solver, on a machine with a GPU and a build with
FPSCORE_CUDA=ON (skipped elsewhere). Both iterate to a tolerance far below the comparison's, so
that the two fixed points are compared rather than where each iteration happened to stop."""

from __future__ import annotations

import numpy as np
import pytest

import fpscore
from fpscore import _core

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not fpscore.has_cuda(), reason="needs a CUDA build of fpscore and a CUDA device"),
]

PARITY = 1e-10
TOL = 1e-13


def image_batch(batch: int, size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    base = -3.0 * ((x - 0.5) ** 2 + (y - 0.4) ** 2)
    return base + 0.3 * rng.standard_normal((batch, size, size))


def ring_values(batch: int, size: int):
    def at(t: float) -> np.ndarray:
        return np.full((batch, size + 2, size + 2), -1.0 - 0.5 * t)

    return at


def both(m0: np.ndarray, **kw) -> tuple[fpscore.FPSolution, fpscore.FPSolution]:
    kw.setdefault("sde", fpscore.VESDE(2.0))
    sde = kw.pop("sde")
    cpu = fpscore.solve_log_density(m0, sde, backend="cpu", **kw)
    gpu = fpscore.solve_log_density(m0, sde, backend="cuda", **kw)
    return cpu, gpu


def assert_parity(cpu: fpscore.FPSolution, gpu: fpscore.FPSolution) -> None:
    scale = np.maximum(1.0, np.abs(cpu.m))
    assert np.max(np.abs(gpu.m - cpu.m) / scale) <= PARITY
    assert np.max(np.abs(gpu.score - cpu.score)) <= PARITY * max(1.0, float(np.max(np.abs(cpu.score))))
    assert gpu.m.shape == cpu.m.shape and gpu.score.shape == cpu.score.shape


@pytest.mark.parametrize("bc", ["zero", "dirichlet", "neumann", "periodic"])
@pytest.mark.parametrize("scheme", ["central", "upwind"])
@pytest.mark.parametrize("iteration", ["picard", "policy"])
def test_every_boundary_scheme_and_iteration(bc: str, scheme: str, iteration: str) -> None:
    m0 = image_batch(5, 16)
    extra = {"bc_values": ring_values(5, 16)} if bc == "dirichlet" else {}
    cpu, gpu = both(m0, bc=bc, scheme=scheme, iteration=iteration, tol=TOL, max_iter=200, n_steps=10, **extra)
    assert_parity(cpu, gpu)


def test_vp_drift() -> None:
    cpu, gpu = both(image_batch(3, 24), sde=fpscore.VPSDE(0.1, 20.0), tol=TOL, max_iter=200)
    assert_parity(cpu, gpu)


@pytest.mark.parametrize("batch", [1, 7, 1000, 10_000])
def test_batch_sizes(batch: int) -> None:
    cpu, gpu = both(image_batch(batch, 8), tol=1e-12, n_steps=8)
    assert_parity(cpu, gpu)


@pytest.mark.parametrize("size", [8, 32, 64, 128, 256])
def test_grid_sizes(size: int) -> None:
    cpu, gpu = both(image_batch(2, size), tol=1e-12, n_steps=5, max_iter=100)
    assert_parity(cpu, gpu)


def test_chunks_give_the_same_result() -> None:
    m0 = image_batch(10, 16)
    kw = {"backend": "cuda", "tol": TOL, "max_iter": 200}
    whole = fpscore.solve_log_density(m0, fpscore.VESDE(2.0), **kw)
    chunked = fpscore.solve_log_density(m0, fpscore.VESDE(2.0), max_chunk=3, **kw)
    np.testing.assert_allclose(chunked.m, whole.m, rtol=0, atol=PARITY)


def test_default_tolerance_is_within_tol_of_the_cpu() -> None:
    cpu, gpu = both(image_batch(4, 32))
    assert np.max(np.abs(gpu.m - cpu.m) / np.maximum(1.0, np.abs(cpu.m))) <= 1e-6


def test_nan_is_rejected_before_the_device() -> None:
    m0 = image_batch(2, 8)
    m0[1, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fpscore.solve_log_density(m0, fpscore.VESDE(2.0), backend="cuda")


def test_overflow_names_the_member_as_on_the_cpu() -> None:
    m0 = image_batch(6, 8)
    m0[4] = np.where(np.indices((8, 8)).sum(0) % 2, 1e200, -1e200)
    messages = []
    for backend in ("cpu", "cuda"):
        with pytest.raises(fpscore.ConvergenceError) as caught:
            fpscore.solve_log_density(m0, fpscore.VESDE(2.0), backend=backend, max_chunk=4)
        messages.append(str(caught.value))
    assert all("batch member 4" in m and "step n=1" in m for m in messages), messages


def test_no_convergence_names_the_step() -> None:
    with pytest.raises(fpscore.ConvergenceError, match="did not converge in max_iter=1"):
        fpscore.solve_log_density(image_batch(2, 8), fpscore.VESDE(2.0), backend="cuda", max_iter=1)


def test_a_step_too_large_fails_alike() -> None:
    """Central differences far past diagonal dominance (a strong drift, tiny g): whatever the CPU
    does (solve or raise), the device does the same."""
    m0 = image_batch(3, 12)
    drift = np.stack([np.full((12, 12), 400.0), np.full((12, 12), -300.0)])
    kw = {"sde": fpscore.ConstantSDE(0.01), "drift": drift, "n_steps": 2, "T": 50.0}
    outcome = []
    for backend in ("cpu", "cuda"):
        try:
            outcome.append(fpscore.solve_log_density(m0, backend=backend, **kw))
        except (fpscore.ConvergenceError, fpscore.SingularMatrixError) as e:
            outcome.append(type(e))
    if isinstance(outcome[0], type):
        assert outcome[1] is outcome[0]
    else:
        assert_parity(outcome[0], outcome[1])


def test_out_of_memory_is_a_clear_error() -> None:
    with pytest.raises(fpscore.DeviceMemoryError, match="cudaMalloc"):
        _core._cuda_try_allocate(1 << 50)
    _core._cuda_try_allocate(1 << 20)  # and the device is still usable
    sol = fpscore.solve_log_density(image_batch(1, 8), fpscore.VESDE(2.0), backend="cuda")
    assert sol.m.shape == (21, 1, 8, 8)


def test_build_info_names_the_device() -> None:
    info = fpscore.build_info()["cuda"]
    assert info["compiled"] and info["devices"]
    assert all("sm_" in name for name in info["devices"])

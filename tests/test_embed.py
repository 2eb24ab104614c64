"""initial_log_density and embed against hand computations (DESIGN §1, §3)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import fpscore

RNG = np.random.default_rng(7)


def _zero_solution(n_steps: int, T: float, batch: tuple[int, ...], shape: tuple[int, int]) -> SimpleNamespace:
    return SimpleNamespace(
        times=np.linspace(0.0, T, n_steps + 1), score=np.zeros((n_steps + 1, *batch, 2, *shape))
    )


# --------------------------------------------------------------------------------------------------
# Image drift of the SDEs
# --------------------------------------------------------------------------------------------------


def test_image_drift() -> None:
    x = RNG.random((2, 3, 4))
    np.testing.assert_array_equal(fpscore.VESDE(2.0).drift(x, 0.3), np.zeros_like(x))
    np.testing.assert_array_equal(fpscore.ConstantSDE(0.5).drift(x, 0.3), np.zeros_like(x))
    beta = 0.1 + 0.3 * (20.0 - 0.1)
    np.testing.assert_allclose(fpscore.VPSDE(0.1, 20.0).drift(x, 0.3), -0.5 * beta * x, rtol=1e-15)


# --------------------------------------------------------------------------------------------------
# embed
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sde", [fpscore.VESDE(2.0), fpscore.ConstantSDE(0.7)], ids=repr)
def test_zero_score_without_drift_keeps_the_image(sde: fpscore.SDE) -> None:
    x = RNG.random((2, 3, 5, 6))
    out = fpscore.embed(x, _zero_solution(7, 1.0, (2, 3), (5, 6)), sde)
    assert out.shape == (8, 2, 3, 5, 6)
    for n in range(8):
        np.testing.assert_array_equal(out[n], x)


def test_zero_score_vp_is_the_drift_transport() -> None:
    """xⁿ = Π_{k≤n} (1 − ½β(t_k)Δt) x⁰ with β(t) = β_min + t(β_max − β_min)."""
    beta_min, beta_max, N, T = 0.1, 20.0, 10, 1.0
    x = RNG.random((3, 4, 4))
    out = fpscore.embed(x, _zero_solution(N, T, (3,), (4, 4)), fpscore.VPSDE(beta_min, beta_max))
    dt = T / N
    factor = 1.0
    for n in range(1, N + 1):
        t = n * dt
        factor *= 1.0 - 0.5 * (beta_min + t * (beta_max - beta_min)) * dt
        np.testing.assert_allclose(out[n], factor * x, rtol=1e-12, atol=1e-15)


def _central_score(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∂ₓm (along columns) and ∂ᵧm (along rows), h = 1, with the zero ghost ring of bc="zero"."""
    p = np.pad(m, 1)
    return (p[1:-1, 2:] - p[1:-1, :-2]) / 2.0, (p[2:, 1:-1] - p[:-2, 1:-1]) / 2.0


@pytest.mark.parametrize("reduce", ["sum", "x", "y"])
def test_one_step_matches_a_hand_computation(reduce: str) -> None:
    """x¹ = x⁰ − ½ g(t₁)² S(∇m¹) Δt, the score taken by hand from the solver's m¹."""
    sigma, T = 2.0, 0.5
    x = RNG.random((1, 5, 5))
    sde = fpscore.VESDE(sigma)
    sol = fpscore.solve_log_density(fpscore.initial_log_density(x), sde, n_steps=1, T=T, bc="zero")
    dx, dy = _central_score(sol.m[1, 0])
    S = {"sum": dx + dy, "x": dx, "y": dy}[reduce]
    expected = x[0] - 0.5 * (sigma**T) ** 2 * S * T
    out = fpscore.embed(x, sol, sde, reduce=reduce)
    np.testing.assert_array_equal(out[0], x)
    np.testing.assert_allclose(out[1, 0], expected, rtol=1e-12, atol=1e-14)


def test_vp_one_step_with_a_hand_made_score() -> None:
    x = RNG.random((2, 4, 4))
    score = np.zeros((3, 2, 2, 4, 4))
    score[1, :, 0] = 0.3  # ∂ₓm
    score[1, :, 1] = -0.1  # ∂ᵧm
    score[2] = RNG.standard_normal((2, 2, 4, 4))
    sol = SimpleNamespace(times=np.array([0.0, 0.25, 0.5]), score=score)
    sde = fpscore.VPSDE(1.0, 3.0)
    out = fpscore.embed(x, sol, sde)
    b1, b2 = 1.0 + 0.25 * 2.0, 1.0 + 0.5 * 2.0
    x1 = x + (-0.5 * b1 * x - 0.5 * b1 * (0.3 - 0.1)) * 0.25
    x2 = x1 + (-0.5 * b2 * x1 - 0.5 * b2 * (score[2, :, 0] + score[2, :, 1])) * 0.25
    np.testing.assert_allclose(out[1], x1, rtol=1e-13)
    np.testing.assert_allclose(out[2], x2, rtol=1e-13)


@pytest.mark.parametrize("shape", [(3, 6, 5), (2, 3, 6, 5)])
def test_shapes_and_dtypes(shape: tuple[int, ...]) -> None:
    x = RNG.random(shape).astype(np.float32)
    m0 = fpscore.initial_log_density(x)
    assert m0.shape == shape and m0.dtype == np.float64
    sde = fpscore.VESDE(2.0)
    sol = fpscore.solve_log_density(m0, sde, n_steps=4)
    out = fpscore.embed(x, sol, sde)
    assert out.shape == (5, *shape) and out.dtype == np.float64
    np.testing.assert_array_equal(out[0], x.astype(np.float64))


def test_mismatched_solution_is_explained() -> None:
    x = RNG.random((2, 3, 5, 5))
    sde = fpscore.VESDE(2.0)
    sol = fpscore.solve_log_density(fpscore.initial_log_density(x[0]), sde, n_steps=2)  # batch (3,)
    with pytest.raises(ValueError, match=r"batch shape \(\.\.\., C\) = \(2, 3\)"):
        fpscore.embed(x, sol, sde)
    with pytest.raises(ValueError, match="initial_log_density"):
        fpscore.embed(
            x[:, :, :4], fpscore.solve_log_density(fpscore.initial_log_density(x), sde, n_steps=2), sde
        )


def test_embed_bad_arguments() -> None:
    x = RNG.random((1, 4, 4))
    sol = _zero_solution(2, 1.0, (1,), (4, 4))
    with pytest.raises(ValueError, match="unknown reduce"):
        fpscore.embed(x, sol, fpscore.VESDE(2.0), reduce="mean")
    with pytest.raises(TypeError, match="fpscore SDE"):
        fpscore.embed(x, sol, "ve")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="solve_log_density"):
        fpscore.embed(x, object(), fpscore.VESDE(2.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        fpscore.embed(np.full((1, 4, 4), np.nan), sol, fpscore.VESDE(2.0))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        fpscore.embed(x[0], sol, fpscore.VESDE(2.0))


# --------------------------------------------------------------------------------------------------
# initial_log_density
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("init", ["intensity", "value-kde"])
def test_density_has_mean_one_per_channel(init: str) -> None:
    x = RNG.random((2, 3, 8, 8))
    m = fpscore.initial_log_density(x, init)
    assert m.shape == x.shape
    np.testing.assert_allclose(np.exp(m).mean(axis=(-2, -1)), 1.0, rtol=1e-12)


@pytest.mark.parametrize("init", ["intensity", "value-kde"])
def test_constant_image_gives_zero(init: str) -> None:
    m = fpscore.initial_log_density(np.full((3, 6, 6), 0.4), init)
    np.testing.assert_allclose(m, 0.0, atol=1e-14)


def test_intensity_without_smoothing_by_hand() -> None:
    x = RNG.random((1, 4, 5))
    eps = 0.05
    p = x[0] + eps
    expected = np.log(p / p.mean())
    np.testing.assert_allclose(fpscore.initial_log_density(x, sigma_s=0.0, eps=eps)[0], expected, rtol=1e-13)


def test_intensity_smoothing_flattens() -> None:
    x = np.zeros((1, 9, 9))
    x[0, 4, 4] = 1.0
    sharp = fpscore.initial_log_density(x, sigma_s=0.0)
    smooth = fpscore.initial_log_density(x, sigma_s=1.5)
    assert np.ptp(smooth) < np.ptp(sharp)
    assert np.argmax(smooth) == 4 * 9 + 4  # still peaked at the bright pixel


def test_value_kde_by_hand() -> None:
    """Brute-force Gaussian KDE over the pairs (x[i, j], x[j, i]) at each pixel's own pair."""
    x = RNG.random((1, 3, 3))
    b = 0.2
    v = x[0]
    k = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            for a in range(3):
                for c in range(3):
                    d2 = (v[i, j] - v[a, c]) ** 2 + (v[j, i] - v[c, a]) ** 2
                    k[i, j] += math.exp(-d2 / (2 * b * b)) / (2 * math.pi * b * b * 9)
    expected = np.log(k / k.mean())
    m = fpscore.initial_log_density(x, "value-kde", bandwidth=b, eps=0.0)
    np.testing.assert_allclose(m[0], expected, rtol=1e-12, atol=1e-14)


def test_value_kde_needs_square_images() -> None:
    with pytest.raises(ValueError, match=r"H == W.*4×5"):
        fpscore.initial_log_density(RNG.random((1, 4, 5)), "value-kde")


def test_zero_density_is_an_error_not_minus_infinity() -> None:
    x = RNG.random((2, 6, 6))
    x[1, :3] = 0.0
    with pytest.raises(ValueError, match=r"zero or negative.*eps > 0"):
        fpscore.initial_log_density(x, sigma_s=0.0, eps=0.0)
    assert np.all(np.isfinite(fpscore.initial_log_density(x, sigma_s=0.0, eps=1e-3)))


@pytest.mark.parametrize(
    ("images", "error", "match"),
    [
        (np.full((1, 4, 4), np.nan), ValueError, "NaN or inf"),
        (np.full((1, 4, 4), np.inf), ValueError, "NaN or inf"),
        (np.zeros((4, 4)), ValueError, "at least 3 dimensions"),
        (-np.ones((1, 4, 4)), ValueError, r"in \[0, 1\]"),
        (np.full((1, 4, 4), 200.0), ValueError, "divide by 255"),
        (np.array([[["a"]]]), TypeError, "real"),
        (np.zeros((1, 0, 4)), ValueError, "empty"),
    ],
)
def test_initial_log_density_rejects_bad_images(images: np.ndarray, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        fpscore.initial_log_density(images)


def test_initial_log_density_rejects_bad_parameters() -> None:
    x = RNG.random((1, 4, 4))
    with pytest.raises(ValueError, match="unknown init"):
        fpscore.initial_log_density(x, "kde")
    with pytest.raises(ValueError, match="eps"):
        fpscore.initial_log_density(x, eps=-1.0)
    with pytest.raises(ValueError, match="sigma_s"):
        fpscore.initial_log_density(x, sigma_s=-1.0)
    with pytest.raises(ValueError, match="bandwidth"):
        fpscore.initial_log_density(x, "value-kde", bandwidth=0.0)

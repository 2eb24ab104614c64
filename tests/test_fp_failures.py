"""Failures inside the FP solver name the batch member (its index in the caller's batch, and its
leading index of m0) and the time step, and say what to change (DESIGN §2.2): a system that
cannot be factorised is a ConvergenceError when the step size is the cause, never an error about
a "lane" of an internal pack."""

from __future__ import annotations

import re

import numpy as np
import pytest

import fpscore

SHAPE = (16, 16)


def _batch(count: int, bad: int, scale: float, seed: int = 0) -> np.ndarray:
    """`count` smooth fields; member `bad` scaled by `scale` (finite, but far too steep)."""
    m0 = np.random.default_rng(seed).normal(scale=0.3, size=(count, *SHAPE))
    m0[bad] *= scale
    return m0


def _assert_step_advice(message: str, scheme: str) -> None:
    for name in ("dt=0.25", "g=", "max|v|=", "h=1"):
        assert name in message, message
    assert "n_steps" in message
    if scheme == "central":
        assert "max|v|*h <= g^2" in message and 'scheme="upwind"' in message
    assert "lane" not in message  # the internal pack is no business of the caller


# Member 9 of 11 sits in the second pack (lane 1 of 8, or lane 1 of the third pack of 4):
# its pack position differs from its batch index at every kernel level.
@pytest.mark.parametrize("iteration", ["picard", "policy"])
@pytest.mark.parametrize("scheme", ["central", "upwind"])
def test_non_finite_system_names_member_and_step(scheme, iteration):
    m0 = _batch(11, bad=9, scale=1e200)
    with pytest.raises(fpscore.ConvergenceError) as info:
        fpscore.solve_log_density(m0, fpscore.VESDE(2.0), n_steps=4, scheme=scheme, iteration=iteration)
    message = str(info.value)
    assert "batch member 9" in message
    assert "step n=1 (t=0.25)" in message
    assert "non-finite" in message
    _assert_step_advice(message, scheme)


def test_lost_diagonal_dominance_is_a_convergence_error():
    # Finite values, but max|v|*h >> g^2: the central scheme's matrix is far from diagonally
    # dominant and a pivot falls below the static-pivoting threshold.
    m0 = _batch(11, bad=9, scale=1e15)
    with pytest.raises(fpscore.ConvergenceError) as info:
        fpscore.solve_log_density(m0, fpscore.VESDE(2.0), n_steps=4, scheme="central")
    message = str(info.value)
    assert "batch member 9" in message and "step n=1 (t=0.25)" in message
    assert "lost diagonal dominance" in message
    _assert_step_advice(message, "central")


def test_ill_conditioned_upwind_step_is_a_convergence_error():
    m0 = _batch(11, bad=9, scale=1e15)
    with pytest.raises(fpscore.ConvergenceError) as info:
        fpscore.solve_log_density(m0, fpscore.VESDE(2.0), n_steps=4, scheme="upwind")
    message = str(info.value)
    assert "batch member 9" in message and "step n=1 (t=0.25)" in message
    assert "max|v|*dt/h" in message
    _assert_step_advice(message, "upwind")


def test_member_is_named_by_its_leading_index():
    # (image, channel) batches: the flat member 5 is m0[2, 1].
    m0 = np.random.default_rng(1).normal(scale=0.3, size=(3, 2, *SHAPE))
    m0[2, 1] *= 1e200
    with pytest.raises(fpscore.ConvergenceError) as info:
        fpscore.solve_log_density(m0, fpscore.VESDE(2.0), n_steps=4)
    message = str(info.value)
    assert "batch member 5 (m0[2, 1] of leading shape (3, 2))" in message
    assert "step n=1 (t=0.25)" in message


def test_unstable_step_size_names_dt_g_and_speed():
    # A steep (finite) member with a large dt: Picard does not contract under the central scheme.
    rng = np.random.default_rng(2)
    m0 = rng.normal(scale=0.3, size=(3, *SHAPE))
    m0[1] = rng.normal(scale=30.0, size=SHAPE)
    with pytest.raises(fpscore.ConvergenceError) as info:
        fpscore.solve_log_density(m0, fpscore.VESDE(2.0), n_steps=4, scheme="central")
    message = str(info.value)
    assert "batch member 1" in message and "step n=1 (t=0.25)" in message
    speed = float(re.search(r"max\|v\|=([0-9.e+]+)", message).group(1))
    assert speed * 1.0 > 1.18921**2  # reported as past the dominance limit
    _assert_step_advice(message, "central")

"""Property-based tests of fpscore.solve_log_density, fpscore.fp_system and the SDEs: random
fields of every shape (1×1 and empty included), dtype and memory layout, NaN/inf, extreme values,
wrong option strings and wrong types. Each call returns a valid solution or raises the documented
exception (TypeError, ValueError, ConvergenceError, SingularMatrixError)."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("hypothesis")

import numpy as np
import scipy.sparse as sp
from fuzz_strategies import (
    BAD_POSITIVE,
    STRANGE_STRINGS,
    WRONG_TYPES,
    as_dtype,
    layout,
    layouts,
    nasty_floats,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fpscore
from fpscore.numerics.solver import BOUNDARIES, ITERATIONS, SCHEMES

SOLVER_ERRORS = (fpscore.ConvergenceError, fpscore.SingularMatrixError)


@st.composite
def sdes(draw):
    kind = draw(st.sampled_from(["constant", "ve", "vp"]))
    if kind == "constant":
        return fpscore.ConstantSDE(draw(st.sampled_from([0.1, 0.5, 1.0, 2.0])))
    if kind == "ve":
        return fpscore.VESDE(draw(st.sampled_from([0.5, 2.0, 5.0])))
    return fpscore.VPSDE(*draw(st.sampled_from([(0.1, 1.0), (0.1, 20.0), (1.0, 1.0)])))


@st.composite
def fields(draw):
    """A smooth-ish random m0 of shape (..., H, W), H, W >= 3, in a random dtype and layout."""
    lead = draw(st.sampled_from([(), (1,), (3,), (2, 2), (1, 1, 2)]))
    H, W = draw(st.integers(3, 6)), draw(st.integers(3, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    amp = draw(st.sampled_from([0.0, 0.1, 1.0, 3.0]))
    m0 = amp * rng.uniform(-1, 1, (*lead, H, W))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int32]))
    return layout(as_dtype(m0, dtype), draw(layouts))


@settings(max_examples=120)
@given(
    fields(),
    sdes(),
    st.integers(1, 3),
    st.sampled_from([0.25, 1.0]),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.sampled_from([b for b in BOUNDARIES if b != "dirichlet"]),
    st.sampled_from(SCHEMES),
    st.sampled_from(ITERATIONS),
    st.sampled_from([None, 1, 2]),
)
def test_solve_log_density_valid(m0, sde, n_steps, T, h, bc, scheme, iteration, threads):
    before = np.array(m0)
    try:
        sol = fpscore.solve_log_density(
            m0, sde, n_steps, T, h, bc, scheme=scheme, iteration=iteration, threads=threads
        )
    except SOLVER_ERRORS as e:
        # Only a step too large for the field may fail, and the message says what to change.
        assert "batch member" in str(e)
        return
    lead, (H, W) = m0.shape[:-2], m0.shape[-2:]
    assert sol.times.shape == (n_steps + 1,) and sol.times[0] == 0.0 and math.isclose(sol.times[-1], T)
    assert sol.m.shape == (n_steps + 1, *lead, H, W)
    assert sol.score.shape == (n_steps + 1, *lead, 2, H, W)
    assert sol.iterations.shape == (n_steps,) and np.all(sol.iterations >= 1)
    assert np.all(np.isfinite(sol.m)) and np.all(np.isfinite(sol.score))
    np.testing.assert_array_equal(sol.m[0], before.astype(np.float64))
    np.testing.assert_array_equal(m0, before)  # the input is not written to


@settings(max_examples=100)
@given(
    st.one_of(
        st.tuples(st.integers(0, 4), st.integers(0, 4)),
        st.tuples(st.integers(0, 2), st.integers(0, 4), st.integers(0, 4)),
        st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 4), st.integers(0, 4)),
        st.tuples(st.integers(0, 5)),
        st.just(()),
    ),
    st.sampled_from([None, np.nan, np.inf, -np.inf, "complex", "bool", "object", "str"]),
)
@example((1, 1), None)
@example((0, 3), None)
@example((2, 0, 3, 3), None)
@example((3, 3), np.nan)
def test_solve_log_density_bad_fields(shape, bad):
    m0 = np.zeros(shape)
    if bad in ("complex", "bool", "object", "str"):
        m0 = m0.astype({"complex": complex, "bool": bool, "object": object, "str": str}[bad])
        expected = TypeError
    else:
        if bad is not None and m0.size:
            m0.flat[m0.size // 2] = bad
        ok = len(shape) >= 2 and shape[-2] >= 3 and shape[-1] >= 3 and m0.size > 0 and (bad is None)
        if ok:
            sol = fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), 1)
            assert sol.m.shape == (2, *shape)
            return
        expected = ValueError
    with pytest.raises(expected):
        fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), 1)
    with pytest.raises(expected):
        fpscore.fp_system(m0, m0, g=1.0, dt=0.1)


def _wrong_number():
    return st.one_of(st.sampled_from(BAD_POSITIVE), st.sampled_from(WRONG_TYPES), st.booleans())


@settings(max_examples=150)
@given(
    st.sampled_from(
        ["n_steps", "T", "h", "tol", "max_iter", "threads", "bc", "scheme", "iteration", "backend"]
    ),
    st.one_of(
        _wrong_number(),
        STRANGE_STRINGS,
        st.integers(-(2**70), 0),
        st.sampled_from([2**31, 2**63, 1.5, -0.5]),
    ),
)
@example("threads", 2**31)
@example("max_iter", 2**31)
@example("n_steps", 0)
@example("T", -1.0)
def test_solve_log_density_bad_options(name, value):
    """Every wrong option is a ValueError (wrong value) or a TypeError (wrong type)."""
    m0 = np.zeros((3, 3))
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "threads" and (
        value is None or (isinstance(value, int) and not isinstance(value, bool) and value == 0)
    ):
        fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), 1, threads=value)
        return
    if name in ("T", "h", "tol") and is_number and 0 < value < math.inf:
        sol = fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), **{"n_steps": 1, name: value})
        assert np.all(np.isfinite(sol.m))  # a positive value is valid
        return
    with pytest.raises((ValueError, TypeError)) as info:
        fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), **{"n_steps": 1, name: value})
    if name in ("bc", "scheme", "iteration", "backend"):
        assert info.type is ValueError
    elif is_number and (isinstance(value, int) or name in ("T", "h", "tol")):
        assert info.type is ValueError, info.value  # a number of the right kind: never a TypeError
    elif is_number:
        assert info.type is TypeError, info.value  # a float count


@settings(max_examples=60)
@given(st.sampled_from((*WRONG_TYPES, fpscore.VESDE, "ve", 1.0)))
def test_solve_log_density_bad_sde(sde):
    with pytest.raises(TypeError):
        fpscore.solve_log_density(np.zeros((3, 3)), sde)


@settings(max_examples=80)
@given(
    st.sampled_from([(), (2,), (2, 1)]),
    st.integers(3, 5),
    st.one_of(
        st.sampled_from(["ok", "scalar", "nan", "complex", "none", "list"]),
        st.tuples(st.integers(0, 3), st.integers(0, 8), st.integers(0, 8)),
    ),
    st.sampled_from(["zero", "dirichlet", "neumann"]),
)
def test_solve_log_density_dirichlet_values(lead, H, ret, bc):
    """bc_values: a callable returning (..., H+2, W+2) or something broadcasting to it; anything
    else is a ValueError or TypeError."""
    m0 = np.zeros((*lead, H, H))
    ring = (*lead, H + 2, H + 2)

    def values(t):
        if ret == "ok":
            return np.full(ring, 0.5)
        if ret == "scalar":
            return 0.25
        if ret == "nan":
            return np.full(ring, np.nan)
        if ret == "complex":
            return np.zeros(ring, complex)
        if ret == "none":
            return None
        if ret == "list":
            return [[0.0]]
        return np.zeros(ret)

    if bc != "dirichlet":
        with pytest.raises(ValueError, match="bc_values"):
            fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), 1, bc=bc, bc_values=values)
        return
    try:
        broadcastable = ret in ("ok", "scalar", "list") or (
            isinstance(ret, tuple) and np.broadcast_shapes(ret, ring) == ring
        )
    except ValueError:
        broadcastable = False
    if broadcastable:
        sol = fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), 1, bc=bc, bc_values=values)
        assert sol.m.shape == (2, *lead, H, H) and np.all(np.isfinite(sol.m))
        return
    with pytest.raises(TypeError if ret in ("complex", "none") else ValueError):
        fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), 1, bc=bc, bc_values=values)


def test_dirichlet_without_values_is_a_value_error():
    for values in (None, np.zeros((5, 5)), "f"):
        with pytest.raises(ValueError, match="bc_values"):
            fpscore.solve_log_density(
                np.zeros((3, 3)), fpscore.ConstantSDE(1.0), 1, bc="dirichlet", bc_values=values
            )


@settings(max_examples=80)
@given(st.integers(3, 6), st.integers(3, 6), nasty_floats, st.sampled_from([0.0, 0.1, 1.0, 1e3]), layouts)
def test_solve_log_density_extreme_values(H, W, value, g, kind):
    """Huge or tiny values in m0: a finite solution or ConvergenceError, never a hang or inf."""
    m0 = np.zeros((H, W))
    m0[H // 2, W // 2] = value
    m0 = layout(m0, kind)
    sde = fpscore.ConstantSDE(g) if g > 0 else fpscore.ConstantSDE(1e-300)
    try:
        sol = fpscore.solve_log_density(m0, sde, 2, max_iter=20)
    except SOLVER_ERRORS:
        return
    assert np.all(np.isfinite(sol.m)) and np.all(np.isfinite(sol.score))


@settings(max_examples=100)
@given(
    st.integers(3, 6),
    st.integers(3, 6),
    st.sampled_from(BOUNDARIES),
    st.sampled_from(SCHEMES),
    st.sampled_from([0.0, 0.5, 2.0]),
    st.sampled_from([1e-3, 0.1, 1.0]),
    st.sampled_from([0.5, 1.0]),
    st.booleans(),
    layouts,
)
def test_fp_system_valid(H, W, bc, scheme, g, dt, h, with_drift, kind):
    rng = np.random.default_rng(H * 7 + W)
    m = layout(rng.uniform(-1, 1, (H, W)), kind)
    ghosts = np.zeros((H + 2, W + 2)) if bc == "dirichlet" else None
    drift = layout(rng.uniform(-0.1, 0.1, (2, H, W)), kind) if with_drift else None
    A, b = fpscore.fp_system(m, m, g=g, dt=dt, h=h, bc=bc, ghosts=ghosts, scheme=scheme, drift=drift)
    n = H * W
    assert isinstance(A, sp.csr_matrix) and A.shape == (n, n) and b.shape == (n,)
    assert np.all(np.isfinite(A.data)) and np.all(np.isfinite(b))
    # The system solves: one fixed-point iterate is finite.
    x = fpscore.SparseLU(A).solve(b)
    np.testing.assert_allclose(A @ x, b, atol=1e-8 * max(1.0, np.abs(b).max()))


@settings(max_examples=100)
@given(
    st.sampled_from(["g", "dt", "h", "bc", "scheme", "m_lag", "drift", "ghosts"]),
    st.one_of(
        _wrong_number(),
        STRANGE_STRINGS,
        st.sampled_from(["shape", "nan", "complex", "ignored"]),
    ),
)
@example("g", 0.0)
@example("ghosts", "shape")
@example("ghosts", "ignored")  # ghosts with bc="zero" were silently ignored
def test_fp_system_bad_arguments(name, value):
    m = np.zeros((4, 4))
    kwargs = {"g": 1.0, "dt": 0.1, "h": 1.0, "bc": "zero", "scheme": "central"}
    m_lag = m
    if name in ("m_lag", "drift", "ghosts") and value in ("shape", "nan", "complex"):
        arr = {"m_lag": np.zeros((4, 4)), "drift": np.zeros((2, 4, 4)), "ghosts": np.zeros((6, 6))}[name]
        if value == "shape":
            arr = arr[..., :-1]
        elif value == "nan":
            arr = arr.copy()
            arr.flat[0] = np.nan
        else:
            arr = arr.astype(complex)
        value = arr
    if name in ("drift", "ghosts") and value is None:
        return  # no drift, no ghosts: valid
    if name == "ghosts":
        kwargs["bc"] = "dirichlet"
        if isinstance(value, str) and value == "ignored":
            kwargs["bc"], value = "zero", np.zeros((6, 6))
    if name == "m_lag":
        m_lag = value
    else:
        kwargs[name] = value
    if name == "g" and isinstance(value, float) and value == 0.0:  # g = 0 is allowed (g >= 0)
        A, _ = fpscore.fp_system(m, m_lag, **kwargs)
        assert A.shape == (16, 16)
        return
    with pytest.raises((ValueError, TypeError)):
        fpscore.fp_system(m, m_lag, **kwargs)


@settings(max_examples=150)
@given(
    st.sampled_from(["VESDE", "VPSDE", "ConstantSDE"]),
    st.one_of(nasty_floats, st.sampled_from(BAD_POSITIVE), st.sampled_from(WRONG_TYPES), st.integers(-3, 3)),
    st.one_of(nasty_floats, st.sampled_from(BAD_POSITIVE), st.integers(-3, 3)),
)
@example("VESDE", 1.0, 1.0)
@example("VPSDE", 2.0, 1.0)
@example("ConstantSDE", 1e300, 0.0)  # g² overflowed: OverflowError from diffusion_integral
def test_sde_parameters(kind, a, b):
    """Constructors take finite positive parameters (VESDE: sigma != 1; VPSDE: beta_max >= beta_min)
    and give non-negative g(t), λ(t) and α(t) on [0, 1]; anything else is ValueError/TypeError."""
    cls = getattr(fpscore, kind)
    args = (a, b) if kind == "VPSDE" else (a,)
    try:
        sde = cls(*args)
    except (ValueError, TypeError):
        numbers = [x for x in args if isinstance(x, (int, float)) and not isinstance(x, bool)]
        if len(numbers) == len(args) and all(math.isfinite(x) and x > 0 for x in numbers):
            assert (kind == "VESDE" and a == 1.0) or (kind == "VPSDE" and b < a) or a * a == math.inf
        return
    t = np.linspace(0.0, 1.0, 5)
    with np.errstate(over="ignore"):
        g, std, alpha = sde.g(t), sde.marginal_std(t), sde.alpha(t)
    assert g.shape == std.shape == alpha.shape == (5,)
    assert np.all(g >= 0) and np.all(std >= 0) and np.all(alpha > 0) | np.all(alpha >= 0)
    assert std[0] == 0.0 and alpha[0] == 1.0
    assert type(sde)(**sde.parameters()).parameters() == sde.parameters()


@settings(max_examples=80)
@given(
    st.sampled_from([(), (2,)]),
    st.integers(3, 5),
    st.integers(1, 3),
    st.sampled_from(
        [
            "field",
            "levels",
            "callable",
            "bad_levels",
            "shape",
            "nan",
            "callable_nan",
            "callable_shape",
            "callable_none",
            "complex",
            "scalar",
            "string",
            "huge",
        ]
    ),
    layouts,
)
def test_solve_log_density_drift(lead, H, n_steps, how, kind):
    """drift: (2, H, W), (N+1, 2, H, W) or a callable t -> (2, H, W); anything else is a
    ValueError (wrong shape or values) or TypeError (not a real array)."""
    m0 = np.zeros((*lead, H, H))
    field = np.full((2, H, H), 0.01)
    drift = {
        "field": layout(field, kind),
        "levels": layout(np.stack([field] * (n_steps + 1)), kind),
        "callable": lambda t: field * t,
        "bad_levels": np.stack([field] * (n_steps + 2)),
        "shape": field[..., :-1],
        "nan": field * np.nan,
        "callable_nan": lambda t: field * np.nan,
        "callable_shape": lambda t: field[0],
        "callable_none": lambda t: None,
        "complex": field.astype(complex),
        "scalar": 0.5,
        "string": "f",
        "huge": field * 1e300,
    }[how]
    if how in ("field", "levels", "callable", "huge"):
        try:
            sol = fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), n_steps, drift=drift)
        except SOLVER_ERRORS:
            assert how == "huge"
            return
        assert sol.m.shape == (n_steps + 1, *lead, H, H) and np.all(np.isfinite(sol.m))
        return
    expected = TypeError if how in ("callable_none", "complex", "string") else ValueError
    with pytest.raises(expected):
        fpscore.solve_log_density(m0, fpscore.ConstantSDE(1.0), n_steps, drift=drift)

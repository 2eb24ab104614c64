"""Property-based tests of the embedding side of the public API: initial_log_density, embed,
grid_coordinates, precompute (PrecomputeParams) and simd_level. Random images of every shape,
dtype and layout, NaN/inf and out-of-range values, tiny and huge parameters, wrong strings and
types: each call returns a valid result or raises ValueError / TypeError."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("hypothesis")

import numpy as np
from fuzz_strategies import BAD_POSITIVE, STRANGE_STRINGS, WRONG_TYPES, as_dtype, layout, layouts
from hypothesis import example, given, settings
from hypothesis import strategies as st

import fpscore
from fpscore.embedding.density import INITS
from fpscore.embedding.params import PrecomputeParams
from fpscore.embedding.transport import REDUCTIONS


@st.composite
def images(draw, min_side: int = 1):
    lead = draw(st.sampled_from([(1,), (3,), (2, 1), (2, 3), (1, 1, 2)]))
    H = draw(st.integers(min_side, 6))
    W = draw(st.sampled_from([H, draw(st.integers(min_side, 6))]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["uniform", "binary", "constant", "tiny"]))
    shape = (*lead, H, W)
    if kind == "uniform":
        x = rng.uniform(0, 1, shape)
    elif kind == "binary":
        x = (rng.random(shape) < 0.5).astype(float)
    elif kind == "constant":
        x = np.full(shape, draw(st.sampled_from([0.0, 0.5, 1.0])))
    else:
        x = rng.uniform(0, 1, shape) * draw(st.sampled_from([1e-300, 5e-324, 1e-12]))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.uint8, np.int64]))
    if np.issubdtype(dtype, np.integer):
        x = np.rint(x)
    return layout(as_dtype(x, dtype), draw(layouts))


@settings(max_examples=150)
@given(
    images(),
    st.sampled_from(INITS),
    st.sampled_from([0.0, 0.5, 1.0, 3.0, 1e-300, 1e300]),
    st.sampled_from([0.0, 1e-300, 1e-2, 1.0, 1e300]),
    st.sampled_from([None, 1e-300, 5e-324, 0.05, 1.0, 1e300]),
)
@example(np.array([[[0.0, 1e-200], [1e-200, 0.0]]]), "value-kde", 1.0, 0.01, None)
@example(np.full((1, 3, 3), 0.5), "value-kde", 1.0, 0.0, 1e-200)
@example(np.full((1, 1, 1), 0.5), "intensity", 1e300, 0.0, None)  # scipy: "Maximum allowed size"
def test_initial_log_density(x, init, sigma_s, eps, bandwidth):
    """m⁰ has the images' shape, is finite and exp(m⁰) averages 1 over each field; or the
    documented ValueError (zero density with eps = 0, non-square images for value-kde)."""
    before = np.array(x)
    try:
        m = fpscore.initial_log_density(x, init, sigma_s=sigma_s, eps=eps, bandwidth=bandwidth)
    except ValueError as e:
        msg = str(e)
        zero_density = "zero or negative" in msg and eps == 0.0
        non_square = init == "value-kde" and x.shape[-2] != x.shape[-1] and "square" in msg
        assert zero_density or non_square, msg
        return
    assert m.shape == x.shape and m.dtype == np.float64
    assert np.all(np.isfinite(m))
    np.testing.assert_allclose(np.exp(m).mean(axis=(-2, -1)), 1.0, rtol=1e-9)
    np.testing.assert_array_equal(x, before)


@settings(max_examples=120)
@given(
    st.one_of(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
        st.tuples(st.integers(0, 4), st.integers(0, 4)),
        st.tuples(st.integers(0, 4)),
        st.just(()),
    ),
    st.sampled_from([None, np.nan, np.inf, -np.inf, -0.5, 1.5, 255.0, "complex", "bool", "object", "str"]),
    st.sampled_from(INITS),
)
@example((1, 1, 1), None, "intensity")
@example((1, 0, 3), None, "intensity")
@example((3, 3), None, "intensity")
@example((1, 1, 2), None, "value-kde")
def test_initial_log_density_bad_images(shape, bad, init):
    x = np.full(shape, 0.5)
    if bad in ("complex", "bool", "object", "str"):
        x = x.astype({"complex": complex, "bool": bool, "object": object, "str": str}[bad])
        with pytest.raises(TypeError):
            fpscore.initial_log_density(x, init)
        return
    if bad is not None and x.size:
        x.flat[x.size // 2] = bad
    square = len(shape) >= 2 and shape[-1] == shape[-2]
    if len(shape) >= 3 and x.size and bad is None and (square or init != "value-kde"):
        assert fpscore.initial_log_density(x, init).shape == shape
        return
    with pytest.raises(ValueError):
        fpscore.initial_log_density(x, init)


@settings(max_examples=100)
@given(
    st.sampled_from(["init", "sigma_s", "eps", "bandwidth"]),
    st.one_of(
        STRANGE_STRINGS,
        st.sampled_from(BAD_POSITIVE),
        st.sampled_from(WRONG_TYPES),
        st.booleans(),
    ),
)
@example("bandwidth", 0.0)
@example("init", None)
def test_initial_log_density_bad_options(name, value):
    x = np.full((1, 3, 3), 0.5)
    kwargs = {"init": "value-kde" if name == "bandwidth" else "intensity", name: value}
    if name in ("sigma_s", "eps") and isinstance(value, float) and value == 0.0:
        assert np.all(np.isfinite(fpscore.initial_log_density(x, **kwargs)))  # >= 0 is allowed
        return
    if name == "bandwidth" and value is None:
        assert np.all(np.isfinite(fpscore.initial_log_density(x, **kwargs)))
        return
    with pytest.raises((ValueError, TypeError)) as info:
        fpscore.initial_log_density(x, **kwargs)
    if isinstance(value, float) or name == "init":
        assert info.type is ValueError


class _Sol:
    def __init__(self, times, score):
        self.times, self.score = times, score


@settings(max_examples=100)
@given(
    images(min_side=1),
    st.sampled_from(["constant", "ve", "vp"]),
    st.integers(0, 3),
    st.sampled_from(REDUCTIONS),
    layouts,
)
def test_embed_valid(x, kind, n_steps, reduce, kind_layout):
    sde = {"constant": fpscore.ConstantSDE(1.0), "ve": fpscore.VESDE(2.0), "vp": fpscore.VPSDE()}[kind]
    times = np.linspace(0.0, 1.0, n_steps + 1)
    rng = np.random.default_rng(x.size)
    score = layout(rng.normal(size=(n_steps + 1, *x.shape[:-2], 2, *x.shape[-2:])), kind_layout)
    out = fpscore.embed(x, _Sol(times, score), sde, reduce)
    assert out.shape == (n_steps + 1, *x.shape) and np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[0], np.asarray(x, dtype=np.float64))


@settings(max_examples=100)
@given(
    st.sampled_from(["times", "score", "sol", "sde", "reduce", "images"]),
    st.sampled_from(["shape", "nan", "decreasing", "complex", "none", "scalar", "string"]),
)
@example("times", "decreasing")
@example("sol", "none")
def test_embed_bad_arguments(what, how):
    x = np.full((1, 3, 3), 0.5)
    times = np.linspace(0.0, 1.0, 3)
    score = np.zeros((3, 1, 2, 3, 3))
    sol, sde, reduce = _Sol(times, score), fpscore.ConstantSDE(1.0), "sum"

    def spoil(arr):
        if how == "shape":
            return arr[..., :-1]
        if how == "nan":
            out = np.array(arr, dtype=float)
            out.flat[-1] = np.nan
            return out
        if how == "decreasing":
            return arr[::-1] if arr.ndim == 1 else arr * -1
        if how == "complex":
            return arr.astype(complex)
        if how == "none":
            return None
        if how == "scalar":
            return 1.0
        return "abc"

    if what == "times":
        sol = _Sol(spoil(times), score)
    elif what == "score":
        sol = _Sol(times, spoil(score))
    elif what == "sol":
        sol = {"none": None, "string": "sol", "scalar": 1.0}.get(how, object())
    elif what == "sde":
        sde = {"none": None, "string": "ve", "scalar": 1.0}.get(how, fpscore.ConstantSDE)
    elif what == "reduce":
        reduce = {"none": None, "string": "xy", "scalar": 1.0}.get(how, "SUM")
    else:
        x = spoil(x)
    valid = (what == "score" and how == "decreasing") or (what == "images" and how == "decreasing")
    if valid:  # a negated score or mirrored image is still valid input
        assert fpscore.embed(x, sol, sde, reduce).shape == (3, 1, 3, 3)
        return
    with pytest.raises((ValueError, TypeError)):
        fpscore.embed(x, sol, sde, reduce)


@settings(max_examples=150)
@given(
    st.one_of(
        st.tuples(st.integers(-2, 8), st.integers(-2, 8)),
        st.tuples(st.sampled_from([2.5, 3.0, "3", None, np.int64(3), True]), st.integers(1, 4)),
        st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple),
        st.sampled_from([None, 3, "33"]),
    ),
    st.one_of(
        st.sampled_from([1.0, 0.5, 2, 1e-300, 1e300]),
        st.sampled_from(BAD_POSITIVE),
        st.sampled_from(WRONG_TYPES),
    ),
)
@example((2.5, 3), 1.0)  # a float height: np.arange(2.5) silently made 3 rows
@example((-1, 3), 1.0)  # a negative height: silently empty coordinates
@example((3, 3), float("nan"))  # NaN spacing: NaN coordinates
def test_grid_coordinates(shape, h):
    """(H, W) positive integers and a finite h > 0: coordinates of shape (H, W), centred, with
    spacing h. Anything else: ValueError (wrong value) or TypeError (wrong type)."""
    ints = isinstance(shape, tuple) and len(shape) == 2
    ints = ints and all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape)
    good_h = isinstance(h, (int, float)) and not isinstance(h, bool) and math.isfinite(h) and h > 0
    if ints and min(shape) >= 1 and good_h:
        x, y = fpscore.grid_coordinates(shape, h)
        assert x.shape == y.shape == tuple(shape)
        np.testing.assert_allclose(x.mean(), 0.0, atol=1e-9 * h * max(shape))
        if shape[1] > 1:
            np.testing.assert_allclose(np.diff(x, axis=1), h, rtol=1e-12)
        if shape[0] > 1:
            np.testing.assert_allclose(np.diff(y, axis=0), h, rtol=1e-12)
        return
    with pytest.raises((ValueError, TypeError)):
        fpscore.grid_coordinates(shape, h)
    with pytest.raises((ValueError, TypeError)):
        fpscore.padded_coordinates(shape, h)


@settings(max_examples=100)
@given(
    st.sampled_from([f.name for f in PrecomputeParams.__dataclass_fields__.values()]),
    st.one_of(
        STRANGE_STRINGS,
        st.sampled_from(BAD_POSITIVE),
        st.sampled_from(WRONG_TYPES),
        st.integers(-3, 0),
        st.just(2**31),
    ),
)
@example("bc", "dirichlet")
@example("dtype", "int8")
@example("shard_size", 0)
def test_precompute_params(name, value):
    """PrecomputeParams validates on construction: a wrong value is ValueError or TypeError;
    an accepted one round-trips through its manifest."""
    try:
        params = PrecomputeParams(**{name: value})
    except (ValueError, TypeError):
        return
    manifest = params.manifest(fpscore.ConstantSDE(1.0))
    if name in ("store_every", "store_levels"):  # recorded resolved, and only when not every level
        assert manifest.get("store_levels", list(range(params.n_steps + 1))) == params.stored_levels()
        return
    init_params = ("sigma_s", "eps", "bandwidth", "kde_method")
    assert manifest[name if name not in init_params else "init_params"] is not None


@settings(max_examples=15)
@given(
    st.sampled_from([(1, 1, 3, 3), (2, 1, 3, 4), (1, 2, 4, 4)]),
    st.sampled_from(["zero", "neumann", "periodic"]),
    st.sampled_from(INITS),
    st.sampled_from(["float32", "float64"]),
    st.booleans(),
)
def test_precompute_tiny(tmp_path_factory, shape, bc, init, dtype, store_scores):
    if init == "value-kde" and shape[-1] != shape[-2]:
        return
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, shape)
    cache = tmp_path_factory.mktemp("cache")
    summary = fpscore.precompute(
        x,
        cache,
        fpscore.ConstantSDE(1.0),
        n_steps=2,
        bc=bc,
        init=init,
        dtype=dtype,
        store_scores=store_scores,
        progress=False,
        threads=1,
    )
    assert summary is not None
    c = fpscore.open_cache(cache)
    assert c is not None


@settings(max_examples=40)
@given(
    st.one_of(
        st.sampled_from([(0, 1, 3, 3), (1, 1, 2, 3), (1, 3, 3), (1, 1, 3, 3, 1)]),
        st.sampled_from(["nan", "neg", "big", "complex"]),
    ),
    st.sampled_from(["ok", "sde", "threads", "option"]),
)
def test_precompute_bad_arguments(tmp_path_factory, images_case, arg):
    if isinstance(images_case, tuple):
        x = np.full(images_case, 0.5)
    else:
        x = np.full((1, 1, 3, 3), 0.5)
        if images_case == "complex":
            x = x.astype(complex)
        else:
            x[0, 0, 1, 1] = {"nan": np.nan, "neg": -0.1, "big": 2.0}[images_case]
    kwargs = {"progress": False, "n_steps": 1}
    sde = fpscore.ConstantSDE(1.0)
    if arg == "sde":
        sde = "ve"
    elif arg == "threads":
        kwargs["threads"] = -1
    elif arg == "option":
        kwargs["bc"] = "dirichlet"
    with pytest.raises((ValueError, TypeError)):
        fpscore.precompute(x, tmp_path_factory.mktemp("bad"), sde, **kwargs)


def test_simd_level_is_one_of_the_levels():
    level = fpscore.simd_level()
    assert level in fpscore.simd_levels()
    assert fpscore.simd_levels()[0] == "baseline"


def test_huge_sigma_s_is_the_mean_and_fast():
    """Found by test_initial_log_density: sigma_s=1e300 failed inside scipy ("Maximum allowed size
    exceeded") and sigma_s=1e6 built a kernel of 8e6 taps. A Gaussian far wider than the image
    leaves its mean: m⁰ is 0 everywhere."""
    import time

    x = np.random.default_rng(0).uniform(0, 1, (2, 5, 7))
    start = time.perf_counter()
    for sigma in (1e6, 1e300):
        np.testing.assert_allclose(fpscore.initial_log_density(x, sigma_s=sigma), 0.0, atol=1e-12)
    assert time.perf_counter() - start < 5.0
    # Just below the switch the result is already flat to rounding.
    m = fpscore.initial_log_density(x, sigma_s=69.0)
    np.testing.assert_allclose(m, 0.0, atol=1e-5)


@pytest.mark.parametrize("bandwidth", [1e-200, 5e-324])
def test_tiny_kde_bandwidth_is_no_zero_division(bandwidth):
    """Found by test_initial_log_density: a bandwidth (given, or Scott's rule on values spread by
    1e-200) below 1.5e-162 made b*b underflow to 0 and raised ZeroDivisionError."""
    x = np.zeros((1, 4, 4))
    x[0, 1, 2] = 1e-200
    for b in (bandwidth, None):
        m = fpscore.initial_log_density(x, "value-kde", bandwidth=b)
        assert np.all(np.isfinite(m))

"""init="value-kde": the exact kernel sums against a brute-force loop, the binned method against the
exact one (photographs, random, two-valued and constant fields; sizes 16–64; bandwidths down to
very small ones), batching, errors, and the method's place in the cache parameters."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import numpy as np
import pytest

import fpscore
from fpscore import cli
from fpscore.embedding import value_kde
from fpscore.embedding.params import PrecomputeParams

RNG = np.random.default_rng(2024)
# The agreement the binned method must reach with the exact one, in m⁰ = log p⁰.
TOLERANCE = 1e-3


def _log_density(x: np.ndarray, method: str, bandwidth: float | None, eps: float) -> np.ndarray:
    return fpscore.initial_log_density(x, "value-kde", bandwidth=bandwidth, eps=eps, kde_method=method)


def _photo(name: str, size: int) -> np.ndarray:
    return fpscore.data.load_sample_images(classes=[name], size=size, channels=None).images[0]


def _fields(kind: str, size: int) -> np.ndarray:
    """(C, size, size) test fields of one kind, values in [0, 1]."""
    if kind in ("astronaut", "camera", "coins"):
        return _photo(kind, size)
    if kind == "random":
        return RNG.random((2, size, size))
    if kind == "8-bit":
        return np.round(RNG.random((1, size, size)) * 255.0) / 255.0
    if kind == "two-valued":  # 30 % at 0.9, the rest at 0.1
        return np.where(RNG.random((1, size, size)) < 0.3, 0.9, 0.1)
    if kind == "one-odd-pixel":  # Scott's bandwidth is tiny next to the range of values
        x = np.zeros((1, size, size))
        x[0, 1, 2] = 1.0
        return x
    assert kind == "constant"
    return np.full((1, size, size), 0.3)


def test_exact_against_a_brute_force_loop() -> None:
    """8×8 fields: the Gaussian KDE over the 64 pairs (x[i, j], x[j, i]), summed pair by pair, with
    Scott's rule std·n^(-1/6) (population std) or a given bandwidth; then the mean-1 normalisation
    and the floor eps as documented."""
    x = RNG.random((2, 8, 8))
    for bandwidth in (None, 0.15):
        for eps in (0.0, 0.05):
            got = _log_density(x, "exact", bandwidth, eps)
            for f in range(2):
                v = x[f]
                b = bandwidth or statistics.pstdev(v.ravel().tolist()) * 64 ** (-1 / 6)
                k = np.zeros((8, 8))
                for i in range(8):
                    for j in range(8):
                        for a in range(8):
                            for c in range(8):
                                d2 = (v[i, j] - v[a, c]) ** 2 + (v[j, i] - v[c, a]) ** 2
                                k[i, j] += math.exp(-d2 / (2 * b * b))
                p = k / k.mean() + eps if eps > 0 else k
                np.testing.assert_allclose(got[f], np.log(p / p.mean()), rtol=1e-12, atol=1e-13)


SIZES = (16, 32, 64)
KINDS = ("astronaut", "camera", "coins", "random", "8-bit", "two-valued", "one-odd-pixel", "constant")
# None: Scott's rule. 0.004 and 0.002: very small bandwidths, where a grid needs the most nodes (up
# to 2000 per axis); most fields fall back to the exact sum there (coins at 64×64, with a narrower
# range of values, stays on the grid at 0.004); the grid itself is tested there below.
BANDWIDTHS = (None, 0.002, 0.004, 0.03, 0.2, 1.0)
# At 64×64 the exact reference costs 0.1–0.5 s per field and bandwidth: fewer of them.
BANDWIDTHS_64 = (None, 0.002, 0.004, 0.2)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", KINDS)
def test_binned_matches_exact(kind: str, size: int) -> None:
    x = _fields(kind, size)
    worst = 0.0
    for bandwidth in BANDWIDTHS_64 if size == 64 else BANDWIDTHS:
        for eps in (1e-2, 0.0) if size < 64 or bandwidth is None else (1e-2,):
            exact = _log_density(x, "exact", bandwidth, eps)
            binned = _log_density(x, "binned", bandwidth, eps)
            assert binned.shape == x.shape and np.all(np.isfinite(binned))
            np.testing.assert_allclose(np.exp(binned).mean(axis=(-2, -1)), 1.0, rtol=1e-12)
            worst = max(worst, float(np.abs(binned - exact).max()))
    assert worst <= TOLERANCE, f"max |Δ log p| = {worst:.2e} for {kind} at {size}×{size}"


@pytest.mark.parametrize("kind", ["astronaut", "camera", "coins", "random"])
def test_photographs_take_the_grid_at_scotts_bandwidth(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 64×64 with Scott's rule the binned method runs on its grid: no exact kernel sum is
    evaluated (the agreement above is then the grid's, not a fallback's)."""

    def no_exact(*args: object, **kwargs: object) -> None:
        raise AssertionError("the exact sum was used")

    monkeypatch.setattr(value_kde, "_exact_sums", no_exact)
    m = _log_density(_fields(kind, 64), "binned", None, 1e-2)
    assert np.all(np.isfinite(m))


@pytest.mark.parametrize("bandwidth", [0.004, 0.002])
def test_the_grid_rule_holds_at_very_small_bandwidths(
    bandwidth: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the fallback turned off, the grid (spacing b/4: 1000 to 2000 nodes per axis here) still
    agrees with the exact sum: its error does not grow as b shrinks."""
    x = np.concatenate([_fields("camera", 24), _fields("random", 24)[:1]])
    exact = _log_density(x, "exact", bandwidth, 1e-2)

    def no_exact(*args: object, **kwargs: object) -> None:
        raise AssertionError("the exact sum was used")

    monkeypatch.setattr(value_kde, "_WORK_PER_CUBED_NODE", 0.0)
    monkeypatch.setattr(value_kde, "_exact_sums", no_exact)
    binned = _log_density(x, "binned", bandwidth, 1e-2)
    assert float(np.abs(binned - exact).max()) <= TOLERANCE


def test_a_very_small_bandwidth_falls_back_to_the_exact_sum(monkeypatch: pytest.MonkeyPatch) -> None:
    """b = 0.002 on values spread over [0, 1]: a grid of spacing b/4 would have 2000² nodes, more
    work than the exact sum, so the exact sum over distinct pairs is taken."""
    calls: list[int] = []
    exact_sums = value_kde._exact_sums

    def counting(a: np.ndarray, *args: object, **kwargs: object) -> np.ndarray:
        calls.append(a.size)
        return exact_sums(a, *args, **kwargs)

    monkeypatch.setattr(value_kde, "_exact_sums", counting)
    x = RNG.random((1, 32, 32))
    x[0, 0, 0], x[0, 0, 1] = 0.0, 1.0
    _log_density(x, "binned", 0.002, 1e-2)
    assert calls == [32 * 32]


def test_constant_and_two_valued_fields_keep_scotts_rule() -> None:
    """A constant field: all its pairs coincide, so every kernel is 1 whatever Scott's rule gives
    (b = 1 for a spread of exactly 0, or a rounding-level b) and m⁰ = 0. A two-valued field has at
    most four distinct pairs, and its m⁰ one value per distinct pair."""
    for method in ("binned", "exact"):
        np.testing.assert_allclose(_log_density(np.full((2, 9, 9), 0.7), method, None, 1e-2), 0.0, atol=1e-14)
    x = np.where(RNG.random((1, 16, 16)) < 0.5, 1.0, 0.0)
    for method in ("binned", "exact"):
        m = _log_density(x, method, None, 0.0)[0]
        pair = x[0] * 2 + x[0].T  # 0..3: the pixel's pair of values
        for code in range(4):
            if np.any(pair == code):
                assert np.ptp(m[pair == code]) < 1e-12


def test_batches_of_different_fields_equal_one_at_a_time() -> None:
    """Fields with very different ranges and bandwidths, in one (n, C, H, W) call and one by one:
    batching pads grids to a common size, which changes only rounding."""
    x = np.stack(
        [
            np.stack([RNG.random((24, 24)), 0.5 + 0.01 * RNG.random((24, 24))]),
            np.stack([_photo("camera", 24)[0], np.full((24, 24), 0.2)]),
            np.stack([np.where(RNG.random((24, 24)) < 0.1, 0.8, 0.3), 0.3 * RNG.random((24, 24))]),
        ]
    )
    together = _log_density(x, "binned", None, 1e-2)
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            alone = _log_density(x[i, c][None], "binned", None, 1e-2)[0]
            np.testing.assert_allclose(together[i, c], alone, rtol=0, atol=1e-12)


def test_scott_bandwidths_are_std_times_n_to_the_minus_one_sixth() -> None:
    values = RNG.random((3, 100))
    values[2] = 0.5  # spread exactly 0 (0.4 would leave a rounding-level spread of 5e-17)
    b = value_kde.field_bandwidths(values, None)
    for f in range(2):
        assert b[f] == pytest.approx(statistics.pstdev(values[f].tolist()) * 100 ** (-1 / 6), rel=1e-12)
    assert b[2] == 1.0
    np.testing.assert_array_equal(value_kde.field_bandwidths(values, 0.25), [0.25] * 3)


@pytest.mark.parametrize("method", ["binned", "exact"])
def test_errors_stay_as_they_are(method: str) -> None:
    with pytest.raises(ValueError, match=r"H == W.*4×5"):
        fpscore.initial_log_density(RNG.random((1, 4, 5)), "value-kde", kde_method=method)
    x = RNG.random((1, 4, 4))
    x[0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fpscore.initial_log_density(x, "value-kde", kde_method=method)
    with pytest.raises(ValueError, match="bandwidth"):
        fpscore.initial_log_density(RNG.random((1, 4, 4)), "value-kde", bandwidth=-1.0, kde_method=method)


@pytest.mark.parametrize("bad", ["fft", "", "Binned", None, 3])
def test_unknown_kde_method_is_named(bad: object) -> None:
    for init in ("value-kde", "intensity"):
        with pytest.raises(ValueError, match=r"kde_method.*'binned', 'exact'"):
            fpscore.initial_log_density(RNG.random((1, 4, 4)), init, kde_method=bad)  # type: ignore[arg-type]


def test_kde_method_is_a_value_kde_parameter_of_the_cache(tmp_path: Path) -> None:
    sde = fpscore.VESDE(2.0)
    assert PrecomputeParams(init="value-kde").manifest(sde)["init_params"] == {
        "bandwidth": None,
        "kde_method": "binned",
        "eps": 0.01,
    }
    assert "kde_method" not in PrecomputeParams().manifest(sde)["init_params"]
    with pytest.raises(ValueError, match="kde_method"):
        PrecomputeParams(init="value-kde", kde_method="fft")
    images = RNG.random((2, 1, 6, 6))
    options = {"init": "value-kde", "n_steps": 2, "progress": False, "threads": 1}
    fpscore.precompute(images, tmp_path / "cache", sde, kde_method="exact", **options)
    # A cache made by the other method (or before the option existed) is a different computation.
    with pytest.raises(ValueError, match=r"init_params\.kde_method: 'exact' → 'binned'"):
        fpscore.precompute(images, tmp_path / "cache", sde, **options)
    cached = fpscore.open_cache(tmp_path / "cache")
    assert cached is not None


def test_the_command_line_has_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["precompute", "samples", str(tmp_path / "cache"), "--count", "1", "--size", "8"]
    assert cli.main([*args, "--init", "value-kde", "--kde-method", "exact", "--dry-run"]) == 0
    parameters = json.loads(capsys.readouterr().out)["parameters"]
    assert parameters["init_params"]["kde_method"] == "exact"

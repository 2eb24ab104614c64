"""init="value-kde": the binned kernel sums against the exact ones, on one RGB image.

Groups value_kde_{size} (size 32, 64): skimage's astronaut resized to size×size (3 channels),
Scott's bandwidth, eps = 0.01, through `fpscore.initial_log_density`:
- exact: kde_method="exact", every pair against every pair ((H·W)² kernel evaluations per channel);
- binned: kde_method="binned" (the default). extra_info: speedup (the exact median over the binned
  median, both from this run), interleaved_speedup (the median ratio over 3 back-to-back pairs: one
  exact call against the median of 5 binned ones; less sensitive to a change of load between the
  two benchmarks), images_per_s, and
  max_abs_diff (max |Δ m⁰| against the exact method).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import fpscore

SIZES = (32, 64)
_MEDIANS: dict[int, float] = {}
_EXACT: dict[int, np.ndarray] = {}


def _sizes() -> list:
    return [pytest.param(s, id=str(s), marks=pytest.mark.benchmark(group=f"value_kde_{s}")) for s in SIZES]


def _image(size: int) -> np.ndarray:
    return fpscore.data.load_sample_images(classes=["astronaut"], size=size).images


def _log_density(x: np.ndarray, method: str) -> np.ndarray:
    return fpscore.initial_log_density(x, "value-kde", kde_method=method)


def _exact(size: int) -> np.ndarray:
    if size not in _EXACT:
        _EXACT[size] = _log_density(_image(size), "exact")
    return _EXACT[size]


def _seconds(method: str, x: np.ndarray, repeats: int = 1) -> float:
    """The median time of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _log_density(x, method)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@pytest.mark.parametrize("size", _sizes())
def test_exact(benchmark, size):
    x = _image(size)
    m = benchmark.pedantic(_log_density, args=(x, "exact"), rounds=3, iterations=1, warmup_rounds=0)
    _EXACT[size] = m
    if benchmark.stats:
        _MEDIANS[size] = benchmark.stats.stats.median
    benchmark.extra_info.update(size=size, channels=x.shape[1])


@pytest.mark.parametrize("size", _sizes())
def test_binned(benchmark, size):
    x = _image(size)
    m = benchmark(_log_density, x, "binned")
    diff = float(np.max(np.abs(m - _exact(size))))
    assert diff <= 1e-3, f"binned and exact differ by {diff:.2e} in log-density"
    benchmark.extra_info.update(size=size, channels=x.shape[1], max_abs_diff=diff)
    if benchmark.stats:
        binned = benchmark.stats.stats.median
        pairs = [_seconds("exact", x) / _seconds("binned", x, repeats=5) for _ in range(3)]
        benchmark.extra_info.update(
            speedup=_MEDIANS[size] / binned if size in _MEDIANS else None,
            interleaved_speedup=float(np.median(pairs)),
            images_per_s=1.0 / binned,
        )

"""init="value-kde": the binned kernel sums against the exact ones, on one RGB image.

Groups value_kde_{size}_{bandwidth}: skimage's astronaut resized to size×size (3 channels), eps =
0.01, through `fpscore.initial_log_density`; 32 and 64 with Scott's bandwidth (the default), and at
64 two very small bandwidths: 0.004 (a grid of about 800² nodes) and 0.002 (the grid would cost more
than the exact sum: the binned method falls back to the exact sum over distinct pairs).
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

CASES = ((32, None), (64, None), (64, 0.004), (64, 0.002))
_MEDIANS: dict[tuple[int, float | None], float] = {}
_EXACT: dict[tuple[int, float | None], np.ndarray] = {}


def _cases() -> list:
    params = []
    for size, bandwidth in CASES:
        name = f"{size}_{'scott' if bandwidth is None else bandwidth}"
        params.append(
            pytest.param(size, bandwidth, id=name, marks=pytest.mark.benchmark(group=f"value_kde_{name}"))
        )
    return params


def _image(size: int) -> np.ndarray:
    return fpscore.data.load_sample_images(classes=["astronaut"], size=size).images


def _log_density(x: np.ndarray, method: str, bandwidth: float | None) -> np.ndarray:
    return fpscore.initial_log_density(x, "value-kde", bandwidth=bandwidth, kde_method=method)


def _exact(size: int, bandwidth: float | None) -> np.ndarray:
    if (size, bandwidth) not in _EXACT:
        _EXACT[size, bandwidth] = _log_density(_image(size), "exact", bandwidth)
    return _EXACT[size, bandwidth]


def _seconds(method: str, x: np.ndarray, bandwidth: float | None, repeats: int = 1) -> float:
    """The median time of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _log_density(x, method, bandwidth)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@pytest.mark.parametrize(("size", "bandwidth"), _cases())
def test_exact(benchmark, size, bandwidth):
    x = _image(size)
    m = benchmark.pedantic(
        _log_density, args=(x, "exact", bandwidth), rounds=3, iterations=1, warmup_rounds=0
    )
    _EXACT[size, bandwidth] = m
    if benchmark.stats:
        _MEDIANS[size, bandwidth] = benchmark.stats.stats.median
    benchmark.extra_info.update(size=size, bandwidth=bandwidth, channels=x.shape[1])


@pytest.mark.parametrize(("size", "bandwidth"), _cases())
def test_binned(benchmark, size, bandwidth):
    x = _image(size)
    m = benchmark(_log_density, x, "binned", bandwidth)
    diff = float(np.max(np.abs(m - _exact(size, bandwidth))))
    assert diff <= 1e-3, f"binned and exact differ by {diff:.2e} in log-density"
    benchmark.extra_info.update(size=size, bandwidth=bandwidth, channels=x.shape[1], max_abs_diff=diff)
    if benchmark.stats:
        binned = benchmark.stats.stats.median
        pairs = [
            _seconds("exact", x, bandwidth) / _seconds("binned", x, bandwidth, repeats=5) for _ in range(3)
        ]
        exact = _MEDIANS.get((size, bandwidth))
        benchmark.extra_info.update(
            speedup=exact / binned if exact else None,
            interleaved_speedup=float(np.median(pairs)),
            images_per_s=1.0 / binned,
        )

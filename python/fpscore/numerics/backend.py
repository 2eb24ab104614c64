"""Where the Fokker–Planck batch runs: the CPU core, or the CUDA backend of a build that has it
(`pip install . -Ccmake.define.FPSCORE_CUDA=ON`) on a machine with an NVIDIA GPU."""

from __future__ import annotations

import os
from typing import Any

from .. import _core
from .._validation import choice

BACKENDS = ("cpu", "cuda")
BACKEND_CHOICES = ("auto", *BACKENDS)
BACKEND_VARIABLE = "FPSCORE_BACKEND"


def has_cuda() -> bool:
    """Whether solves can run on CUDA: the backend is compiled in and a device is present."""
    return bool(_core.cuda_compiled()) and int(_core.cuda_device_count()) > 0


def available_backends() -> list[str]:
    """The backends solve_log_density can run on here ("cpu" always, then "cuda" when has_cuda())."""
    return ["cpu", "cuda"] if has_cuda() else ["cpu"]


def resolve_backend(backend: str) -> str:
    """"cpu" or "cuda" for a requested backend. "auto" is the environment variable
    FPSCORE_BACKEND when it is set (cpu, cuda or auto), else CUDA when has_cuda(), else the CPU.
    Raises ValueError for an unknown name and for "cuda" where it is not available."""
    requested = choice("backend", backend, BACKEND_CHOICES)  # like every option string: ValueError
    if requested == "auto":
        from_env = os.environ.get(BACKEND_VARIABLE, "").strip().lower()
        if from_env and from_env not in BACKEND_CHOICES:
            raise ValueError(f"{BACKEND_VARIABLE} must be one of {BACKEND_CHOICES}, got {from_env!r}")
        requested = from_env if from_env and from_env != "auto" else ("cuda" if has_cuda() else "cpu")
    if requested == "cuda" and not has_cuda():
        why = (
            "no CUDA device is present"
            if _core.cuda_compiled()
            else "this build has no CUDA backend (install with pip install . -Ccmake.define.FPSCORE_CUDA=ON)"
        )
        raise ValueError(f"backend 'cuda' is not available: {why}; available: {available_backends()}")
    return requested


def build_info() -> dict[str, Any]:
    """What this build of fpscore holds: its version, the CPU kernel levels (those the CPU can
    run and the one in use), and the CUDA backend (compiled or not, the architectures of its
    kernels, the CUDA runtime, the devices present)."""
    return {
        "version": _core.__version__,
        "simd_levels": [str(level) for level in _core.simd_levels()],
        "simd_level": str(_core.simd_level()),
        "cuda": dict(_core.cuda_info()),
        "backends": available_backends(),
    }

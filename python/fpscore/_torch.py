"""PyTorch, imported once for the training, sampling and model modules (torch stays optional)."""

from __future__ import annotations

INSTALL_HINT = 'pip install torch==2.13.0 (or pip install "fpscore[train]")'

try:
    import torch
except ImportError as err:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "fpscore's networks, losses, samplers and trainer need PyTorch, which is not installed: "
        + INSTALL_HINT
    ) from err

__all__ = ["INSTALL_HINT", "torch"]

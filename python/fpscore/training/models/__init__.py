"""Score networks (torch). `UNet` and `CUNet` (the continuous U-Net) predict ε̂; `EpsilonScore`
wraps one as the score −ε̂/λ(t); `complexity` counts their parameters and multiply-accumulates."""

from .cunet import CUNet
from .unet import TIME_EMBEDDINGS, EDMPreconditioned, EpsilonScore, UNet, time_features

__all__ = ["TIME_EMBEDDINGS", "CUNet", "EDMPreconditioned", "EpsilonScore", "UNet", "time_features"]

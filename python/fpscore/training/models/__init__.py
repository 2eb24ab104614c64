"""Score networks (torch). `UNet` predicts ε̂; `EpsilonScore` wraps it as the score −ε̂/λ(t)."""

from .unet import TIME_EMBEDDINGS, EDMPreconditioned, EpsilonScore, UNet, time_features

__all__ = ["TIME_EMBEDDINGS", "EDMPreconditioned", "EpsilonScore", "UNet", "time_features"]

"""A continuous U-Net (cU-Net; Calvo-Ordoñez et al., "The Missing U for Efficient Diffusion Models",
arXiv 2310.20092), ε-parameterised like `UNet`.

Each stage of the U is a neural-ODE block instead of a stack of residual blocks: the features h
follow dh/ds = f(h; temb) over s ∈ [0, 1], integrated with fixed-step RK4 (`ode_steps` steps, four
evaluations of f each). The vector field f is GroupNorm → 3×3 conv → softplus → GroupNorm →
FiLM (a scale and a shift per channel from the time embedding) → 3×3 conv → softplus; the block
returns h(1) = h(0) + ∫ f ds, a residual update by construction.

Layout: a stem (GroupNorm → 3×3 conv → softplus → GroupNorm → 1×1 conv to 2·channels); per level
of `channel_mult`, an ODE block, then (except at the lowest level) a 1×1 conv to the next width and
bilinear down-sampling by 2; self-attention at the lowest resolution; the decoder mirrors it, with
bilinear up-sampling, the encoder's features concatenated, a 1×1 conv and an ODE block per level;
a 1×1 head onto the image channels, initialised at zero so that a new network predicts ε̂ = 0.

Unlike the released code of the paper, whose blocks never receive the time embedding (a denoiser
blind to the noise level), every block here is conditioned on t through its FiLM layer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ..._torch import torch
from ..._validation import positive_int
from .unet import AttnBlock, _norm, _zero, check_unet_options, time_features

nn = torch.nn
F = torch.nn.functional


class FiLM(nn.Module):
    """h·(1 + scale(temb)) + shift(temb); both start at zero (the identity)."""

    def __init__(self, temb_dim: int, channels: int) -> None:
        super().__init__()
        self.linear = _zero(nn.Linear(temb_dim, 2 * channels))

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.linear(F.silu(temb))[:, :, None, None].chunk(2, dim=1)
        return h * (1.0 + scale) + shift


class VectorField(nn.Module):
    """f(h; temb) of an ODE block."""

    def __init__(self, channels: int, temb_dim: int) -> None:
        super().__init__()
        self.norm1 = _norm(channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = _norm(channels)
        self.film = FiLM(temb_dim, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = F.softplus(self.conv1(self.norm1(h)))
        return F.softplus(self.conv2(self.film(self.norm2(h), temb)))


class ODEBlock(nn.Module):
    """h(1) from h(0) = x along dh/ds = f(h; temb), `steps` classical RK4 steps."""

    def __init__(self, channels: int, temb_dim: int, steps: int) -> None:
        super().__init__()
        self.field = VectorField(channels, temb_dim)
        self.steps = steps

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h, ds = x, 1.0 / self.steps
        for _ in range(self.steps):
            k1 = self.field(h, temb)
            k2 = self.field(h + 0.5 * ds * k1, temb)
            k3 = self.field(h + 0.5 * ds * k2, temb)
            k4 = self.field(h + ds * k3, temb)
            h = h + (ds / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return h


def _resample(x: torch.Tensor, factor: float) -> torch.Tensor:
    return F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)


class CUNet(nn.Module):
    """ε̂(x, t) for images (B, image_channels, image_size, image_size) and times t (B,).

    channels (nf): the stem widens the image to 2·nf; level k has 2·nf·channel_mult[k] channels.
    ode_steps: RK4 steps per ODE block (each costs four evaluations of its vector field).
    """

    def __init__(
        self,
        image_channels: int = 3,
        image_size: int = 32,
        channels: int = 16,
        channel_mult: Sequence[int] = (1, 2, 4),
        ode_steps: int = 2,
        time_embedding: str = "fourier",
        time_scale: float = 1000.0,
    ) -> None:
        super().__init__()
        image_channels, image_size, channels, channel_mult, time_scale = check_unet_options(
            image_channels, image_size, channels, channel_mult, time_embedding, time_scale
        )
        ode_steps = positive_int("ode_steps", ode_steps)
        self.image_channels, self.image_size = image_channels, image_size
        self.channels, self.time_embedding, self.time_scale = channels, time_embedding, time_scale
        temb_dim = 4 * channels
        self.temb = nn.Sequential(nn.Linear(channels, temb_dim), nn.SiLU(), nn.Linear(temb_dim, temb_dim))
        widths = [2 * channels * m for m in channel_mult]
        self.stem = nn.Sequential(
            _norm(image_channels),
            nn.Conv2d(image_channels, channels, 3, padding=1),
            nn.Softplus(),
            _norm(channels),
            nn.Conv2d(channels, widths[0], 1),
        )
        self.encoder = nn.ModuleList(ODEBlock(w, temb_dim, ode_steps) for w in widths)
        self.narrow = nn.ModuleList(nn.Conv2d(a, b, 1) for a, b in itertools.pairwise(widths))
        self.attention = AttnBlock(widths[-1])
        self.middle = ODEBlock(widths[-1], temb_dim, ode_steps)
        # Decoder level k (from the lowest up): the features of level k+1 up-sampled, joined with
        # the encoder's at level k, a 1×1 conv to level k's width, an ODE block.
        upward = list(reversed(range(len(widths) - 1)))
        self.merge = nn.ModuleList(nn.Conv2d(widths[k + 1] + widths[k], widths[k], 1) for k in upward)
        self.decoder = nn.ModuleList(ODEBlock(widths[k], temb_dim, ode_steps) for k in upward)
        self.head = _zero(nn.Conv2d(widths[0], image_channels, 1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, device=x.device).reshape(-1).expand(x.shape[0])
        temb = self.temb(time_features(t, self.channels, self.time_embedding, self.time_scale).to(x.dtype))
        h = self.stem(x)
        skips = []
        for k, block in enumerate(self.encoder):
            h = block(h, temb)
            if k < len(self.narrow):
                skips.append(h)
                h = _resample(self.narrow[k](h), 0.5)
        h = self.middle(self.attention(h), temb)
        for merge, block in zip(self.merge, self.decoder, strict=True):
            h = merge(torch.cat([_resample(h, 2.0), skips.pop()], dim=1))
            h = block(h, temb)
        return self.head(h)

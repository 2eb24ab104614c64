"""A DDPM/NCSN-style U-Net, ε-parameterised (DESIGN §5).

The network maps a noisy image x̃ at time t to ε̂(x̃, t), the estimate of the unit Gaussian noise in
x̃ = α(t)·x + λ(t)·z. `EpsilonScore` turns it into the score s(x, t) = −ε̂(x, t)/λ(t) that the
samplers take.

Layout (Ho et al. 2020, the score_sde "ddpm" model): a 3×3 input convolution, then per resolution
`num_res_blocks` residual blocks (GroupNorm, SiLU, 3×3 convolutions, the time embedding added after the
first convolution, dropout before the second), self-attention at the resolutions in `attn_resolutions`,
a stride-2 downsampling convolution between resolutions; a middle block (residual, attention,
residual); the mirrored upsampling path with skip connections; GroupNorm, SiLU and a 3×3 output
convolution. The last convolution of every residual branch, of every attention block and of the
output start at zero, so a new network predicts ε̂ = 0.

The paper's CIFAR-10 model is the default: channels 128, channel_mult (1, 2, 2, 2), 2 residual blocks
per resolution, attention at 16×16, dropout 0.1. Tests use channels 8–16 on 8×8 images.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from ..._torch import torch
from ..._validation import optional_count, positive_float, positive_int
from ...sde import SDE
from ..config import TIME_EMBEDDINGS

nn = torch.nn
F = torch.nn.functional


def _num_groups(channels: int) -> int:
    """GroupNorm groups: 32 for wide layers, about 4 channels per group for narrow ones."""
    limit = max(1, min(32, channels // 4))
    return max(d for d in range(1, limit + 1) if channels % d == 0)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(_num_groups(channels), channels, eps=1e-6)


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


def time_features(t: torch.Tensor, dim: int, kind: str = "fourier", scale: float = 1000.0) -> torch.Tensor:
    """The (B, dim) time features fed to the embedding MLP.

    "fourier": sines and cosines of `scale`·t at geometric frequencies 1 … 1/10000 (the DDPM
    positional embedding of the paper's code, where `scale` maps t ∈ [0, 1] to a step index);
    "linear": t itself, repeated on every feature (the paper's "linear" embedding).
    """
    t = t.reshape(-1).to(torch.float32)
    if kind == "linear":
        return t[:, None].expand(-1, dim)
    if kind != "fourier":
        raise ValueError(f"time_embedding must be one of {TIME_EMBEDDINGS}, got {kind!r}")
    half = dim // 2
    freqs = torch.exp(
        -math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / max(1, half - 1)
    )
    args = (scale * t)[:, None] * freqs[None, :]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, dim - 2 * half))


def check_unet_options(
    image_channels: int,
    image_size: int,
    channels: int,
    channel_mult: Sequence[int],
    time_embedding: str,
    time_scale: float,
) -> tuple[int, int, int, tuple[int, ...], float]:
    """The options every U-shaped network of this package shares, checked: positive sizes, channel_mult
    as a tuple of positive integers with one halving of image_size per extra level, a known time
    embedding and a positive time scale."""
    image_channels = positive_int("image_channels", image_channels)
    image_size = positive_int("image_size", image_size)
    channels = positive_int("channels", channels)
    levels = tuple(positive_int("channel_mult", m) for m in channel_mult)
    if not levels:
        raise ValueError("channel_mult must name at least one level, got ()")
    if time_embedding not in TIME_EMBEDDINGS:
        raise ValueError(f"time_embedding must be one of {TIME_EMBEDDINGS}, got {time_embedding!r}")
    if image_size % 2 ** (len(levels) - 1):
        raise ValueError(
            f"image_size {image_size} must be divisible by 2^{len(levels) - 1} "
            f"for channel_mult {levels} (one halving per extra level)"
        )
    return image_channels, image_size, channels, levels, positive_float("time_scale", time_scale)


class ResBlock(nn.Module):
    """GroupNorm → SiLU → conv, + time embedding, GroupNorm → SiLU → dropout → conv, + skip."""

    def __init__(self, in_ch: int, out_ch: int, temb_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = _norm(in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.temb = nn.Linear(temb_dim, out_ch)
        self.norm2 = _norm(out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = _zero(nn.Conv2d(out_ch, out_ch, 3, padding=1))
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over the H·W positions, with a residual connection."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = _norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = _zero(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(1)
        a = F.scaled_dot_product_attention(q, k, v)  # (B, HW, C), softmax(q kᵀ/√C) v
        return x + self.proj(a.transpose(-1, -2).reshape(b, c, h, w))


class Downsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    """ε̂(x, t) for images (B, image_channels, image_size, image_size) and times t (B,)."""

    def __init__(
        self,
        image_channels: int = 3,
        image_size: int = 32,
        channels: int = 128,
        channel_mult: Sequence[int] = (1, 2, 2, 2),
        num_res_blocks: int = 2,
        attn_resolutions: Sequence[int] = (16,),
        dropout: float = 0.1,
        time_embedding: str = "fourier",
        time_scale: float = 1000.0,
    ) -> None:
        super().__init__()
        image_channels, image_size, channels, channel_mult, time_scale = check_unet_options(
            image_channels, image_size, channels, channel_mult, time_embedding, time_scale
        )
        if num_res_blocks is None:
            raise TypeError("num_res_blocks must be an integer >= 0, got None")
        num_res_blocks = optional_count("num_res_blocks", num_res_blocks)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real):
            raise TypeError(f"dropout must be a real number, got {type(dropout).__name__}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.image_channels, self.image_size = image_channels, image_size
        self.channels, self.time_embedding, self.time_scale = channels, time_embedding, time_scale
        temb_dim = 4 * channels
        self.temb = nn.Sequential(nn.Linear(channels, temb_dim), nn.SiLU(), nn.Linear(temb_dim, temb_dim))
        self.conv_in = nn.Conv2d(image_channels, channels, 3, padding=1)

        self.down = nn.ModuleList()
        skips, ch, res = [channels], channels, image_size
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                block = nn.ModuleList([ResBlock(ch, channels * mult, temb_dim, dropout)])
                ch = channels * mult
                if res in attn_resolutions:
                    block.append(AttnBlock(ch))
                self.down.append(block)
                skips.append(ch)
            if level != len(channel_mult) - 1:
                self.down.append(nn.ModuleList([Downsample(ch)]))
                skips.append(ch)
                res //= 2

        self.mid = nn.ModuleList(
            [ResBlock(ch, ch, temb_dim, dropout), AttnBlock(ch), ResBlock(ch, ch, temb_dim, dropout)]
        )

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mult))):
            for _ in range(num_res_blocks + 1):
                block = nn.ModuleList([ResBlock(ch + skips.pop(), channels * mult, temb_dim, dropout)])
                ch = channels * mult
                if res in attn_resolutions:
                    block.append(AttnBlock(ch))
                self.up.append(block)
            if level != 0:
                self.up.append(nn.ModuleList([Upsample(ch)]))
                res *= 2
        assert not skips

        self.norm_out = _norm(ch)
        self.conv_out = _zero(nn.Conv2d(ch, image_channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, device=x.device).reshape(-1).expand(x.shape[0])
        temb = self.temb(time_features(t, self.channels, self.time_embedding, self.time_scale).to(x.dtype))
        hs = [self.conv_in(x)]
        for block in self.down:
            h = hs[-1]
            for layer in block:
                h = layer(h, temb) if isinstance(layer, ResBlock) else layer(h)
            hs.append(h)
        h = self.mid[0](hs[-1], temb)
        h = self.mid[2](self.mid[1](h), temb)
        for block in self.up:
            for layer in block:
                if isinstance(layer, ResBlock):
                    h = layer(torch.cat([h, hs.pop()], dim=1), temb)
                else:
                    h = layer(h)
        assert not hs
        return self.conv_out(F.silu(self.norm_out(h)))


def _check_net_and_sde(net: object, sde: object) -> None:
    # A non-module network would not move with .to() nor appear in state_dict(); a wrong SDE fails
    # only at the first forward pass.
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module (an ε-network), got {type(net).__name__}")
    if not isinstance(sde, SDE):
        raise TypeError(f"sde must be an fpscore SDE (VESDE, VPSDE, ConstantSDE), got {type(sde).__name__}")


class EDMPreconditioned(nn.Module):
    """ε̂ from a network F with EDM's preconditioning (Karras et al. 2022), for any SDE.

    With σ = λ(t)/α(t) and x' = x/α(t) − μ (μ = data_mean), EDM's denoiser is
    D = μ + c_skip·x' + c_out·F(c_in·x', t) with c_skip = σ_d²/(σ² + σ_d²),
    c_out = σ·σ_d/√(σ² + σ_d²), c_in = 1/√(σ² + σ_d²) (σ_d = sigma_data), and ε̂ = (x/α − D)/σ:

        ε̂ = σ·x'/(σ² + σ_d²) − σ_d·F(c_in·x', t)/√(σ² + σ_d²).

    At small σ the network predicts −ε̂ directly; at large σ it predicts (a scaled) x̂₀, which stays
    right for inputs away from the training distribution (a prior whose mean is not the data's).
    """

    def __init__(self, net: nn.Module, sde, sigma_data: float = 0.25, data_mean: float = 0.5) -> None:
        super().__init__()
        _check_net_and_sde(net, sde)
        sigma_data = positive_float("sigma_data", sigma_data)
        if isinstance(data_mean, bool) or not isinstance(data_mean, numbers.Real):
            raise TypeError(f"data_mean must be a real number, got {type(data_mean).__name__}")
        if not math.isfinite(data_mean):
            raise ValueError(f"data_mean must be finite, got {data_mean}")
        self.net, self.sde = net, sde
        self.sigma_data, self.data_mean = float(sigma_data), float(data_mean)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1).expand(x.shape[0])
        shape = (-1, *([1] * (x.ndim - 1)))
        alpha = self.sde.alpha(t).reshape(shape)
        sigma = self.sde.marginal_std(t).reshape(shape) / alpha
        sd2 = self.sigma_data**2
        norm = torch.sqrt(sigma**2 + sd2)
        xc = x / alpha - self.data_mean
        return sigma * xc / norm**2 - self.sigma_data * self.net(xc / norm, t) / norm


class EpsilonScore(nn.Module):
    """The score s(x, t) = −ε̂(x, t)/λ(t) of an ε-network, the callable the samplers take."""

    def __init__(self, net: nn.Module, sde) -> None:
        super().__init__()
        _check_net_and_sde(net, sde)
        self.net = net
        self.sde = sde

    def eps(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(x, t)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device).reshape(-1).expand(x.shape[0])
        lam = self.sde.marginal_std(t)
        return -self.net(x, t) / lam.reshape(-1, *([1] * (x.ndim - 1)))

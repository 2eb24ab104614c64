"""What a network costs, counted from its layers: parameters, and multiply-accumulates (MACs) of one
forward pass measured by running it once with hooks on every layer that multiplies.

Counted: Conv2d (output elements × in_channels/groups × kernel area), Linear (output elements ×
in_features), and the attention products of `AttnBlock` (QKᵀ and the weighted sum of V: 2·(HW)²·C
per image). Not counted: normalisation, activations, additions, interpolation (a few operations
per element, against hundreds per element for a 3×3 convolution). Layers called several times (the
vector field of a cU-Net ODE block, four times per RK4 step) count every call.
"""

from __future__ import annotations

from ..._torch import torch
from .unet import AttnBlock

nn = torch.nn


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, image_channels: int, image_size: int) -> int:
    """MACs of one forward pass of one image (B = 1) at time t = 0.5."""
    total = 0

    def conv(module: nn.Conv2d, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    def linear(module: nn.Linear, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    def attention(_module: AttnBlock, inputs, _output) -> None:
        nonlocal total
        b, c, h, w = inputs[0].shape
        total += 2 * b * (h * w) ** 2 * c

    handles = []
    for layer in model.modules():
        if isinstance(layer, nn.Conv2d):
            handles.append(layer.register_forward_hook(conv))
        elif isinstance(layer, nn.Linear):
            handles.append(layer.register_forward_hook(linear))
        elif isinstance(layer, AttnBlock):
            handles.append(layer.register_forward_hook(attention))
    try:
        with torch.no_grad():
            model(torch.zeros(1, image_channels, image_size, image_size), torch.full((1,), 0.5))
    finally:
        for handle in handles:
            handle.remove()
    return total

"""torch.nn modules for the neutral layers that PyTorch has no exact built-in for.

Spectral normalisation follows Miyato et al.'s original code (only u is kept):
v = normalize(W^T u), u' = normalize(W v), sigma = u'^T W v; a training call stores u'.
W is the kernel as an (out, -1) matrix; u' and v carry no gradient, as in torch's own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _normalize(x: torch.Tensor) -> torch.Tensor:
    return x / torch.clamp(torch.linalg.vector_norm(x), min=1e-12)


def spectral_normalized(module: nn.Module, weight: torch.Tensor) -> torch.Tensor:
    """`weight / sigma`, updating the module's `sn_u` buffer when it is training."""
    matrix = weight.reshape(weight.shape[0], -1)
    with torch.no_grad():
        v = _normalize(matrix.t() @ module.sn_u)
        u = _normalize(matrix @ v) if module.training else module.sn_u
        if module.training:
            module.sn_u.copy_(u)
    return weight / torch.dot(u, matrix @ v)


class SNLinear(nn.Linear):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer("sn_u", torch.zeros(self.out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, spectral_normalized(self, self.weight), self.bias)


class SNConv2d(nn.Conv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer("sn_u", torch.zeros(self.out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, spectral_normalized(self, self.weight), self.bias)


class Crop2d(nn.Module):
    """Removes (top, bottom, left, right) pixels of an NCHW tensor: a transposed conv's crop."""

    def __init__(self, top: int, bottom: int, left: int, right: int):
        super().__init__()
        self.top, self.bottom, self.left, self.right = top, bottom, left, right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2], x.shape[3]
        return x[:, :, self.top : h - self.bottom, self.left : w - self.right]


class MaskedDropout(nn.Module):
    """x * mask / (1 - rate) in training, with the keep-mask set by the caller (`mask`,
    channels-last like every canonical tensor); the identity in inference."""

    def __init__(self, rate: float):
        super().__init__()
        self.rate = rate
        self.mask: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        if self.mask is None:
            raise RuntimeError("a Dropout layer in training needs its keep-mask from the core")
        mask = self.mask.permute(0, 3, 1, 2) if self.mask.dim() == 4 else self.mask
        return x * mask / (1.0 - self.rate)

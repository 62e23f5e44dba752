"""Native torch.nn modules built from aigc's neutral layer specs.

Inside the module, image tensors are NCHW as PyTorch expects; at its boundary the module
takes and returns aigc's channels-last tensors, so `net.native(x)` and `net(x)` agree.
Flatten and Reshape therefore order elements H, W, C like the canonical layout.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from aigc import specs as S

from .layers import Crop2d, MaskedDropout, SNConv2d, SNLinear


def _to_channels_first(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2) if x.dim() == 4 else x


def _to_channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1) if x.dim() == 4 else x


class Flatten(nn.Module):
    """Flattens in canonical H, W, C order."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(_to_channels_last(x), 1)


class Reshape(nn.Module):
    """Reshapes to a canonical channels-last shape, then holds it channels-first."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _to_channels_first(torch.reshape(_to_channels_last(x), (x.shape[0], *self.shape)))


class ChannelsLast(nn.Module):
    """The native module: channels-last at the boundary, a plain nn.Sequential inside."""

    def __init__(self, body: nn.Sequential):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _to_channels_last(self.body(_to_channels_first(x)))


# canonical <-> native layout, per tensor kind
_TO_CANONICAL = {
    "dense_kernel": lambda a: a.T,  # (out, in) -> (in, out)
    "conv_kernel": lambda a: a.transpose(2, 3, 1, 0),  # (out, in, kh, kw) -> (kh, kw, in, out)
    "conv_transpose_kernel": lambda a: a.transpose(2, 3, 1, 0),  # (in, out, kh, kw) -> (kh, kw, out, in)
}
_FROM_CANONICAL = {
    "dense_kernel": lambda a: a.T,
    "conv_kernel": lambda a: a.transpose(3, 2, 0, 1),
    "conv_transpose_kernel": lambda a: a.transpose(3, 2, 0, 1),
}


def _activation(layer: S.Activation) -> nn.Module:
    if layer.kind == "relu":
        return nn.ReLU()
    if layer.kind == "leaky_relu":
        return nn.LeakyReLU(layer.slope)
    return {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[layer.kind]()


class TorchNet:
    """A `NetworkSpec` built as an nn.Module, with canonical names for its tensors."""

    def __init__(self, spec: S.NetworkSpec, device: torch.device):
        self.spec = spec
        self.params: dict[str, torch.Tensor] = {}
        self.states: dict[str, torch.Tensor] = {}
        self._kinds: dict[str, str] = {}
        modules = []
        for i, (layer, shape) in enumerate(zip(spec.layers, spec.shapes())):
            modules.append(self._module(i, layer, shape))
        self.native = ChannelsLast(nn.Sequential(*modules)).to(device)
        body = self.native.body
        self.params = {k: body.get_parameter(f"{k.split('.')[0]}.{a}") for k, a in self.params.items()}
        self.states = {k: body.get_buffer(f"{k.split('.')[0]}.{a}") for k, a in self.states.items()}
        self.dropouts = [m for m in body if isinstance(m, MaskedDropout)]
        self.device = device

    def _weights(self, i: int, layer: S.Layer, kind: str, prefix: str = "") -> None:
        """Canonical names of a kernel layer's tensors -> their attribute paths in module i."""
        self.params[f"{i}.kernel"] = f"{prefix}weight"
        self._kinds[f"{i}.kernel"] = kind
        if layer.bias:
            self.params[f"{i}.bias"] = f"{prefix}bias"
        if getattr(layer, "spectral_norm", False):
            self.states[f"{i}.sn_u"] = f"{prefix}sn_u"

    def _module(self, i: int, layer: S.Layer, shape: tuple[int, ...]) -> nn.Module:
        if isinstance(layer, S.Dense):
            self._weights(i, layer, "dense_kernel")
            return (SNLinear if layer.spectral_norm else nn.Linear)(shape[0], layer.units, bias=layer.bias)
        if isinstance(layer, S.Conv2d):
            (t, b), (lft, r) = layer.pads(shape)
            symmetric = t == b == lft == r
            cls = SNConv2d if layer.spectral_norm else nn.Conv2d
            conv = cls(
                shape[-1], layer.filters, layer.kernel, layer.stride, padding=t if symmetric else 0, bias=layer.bias
            )
            if symmetric:
                self._weights(i, layer, "conv_kernel")
                return conv
            self._weights(i, layer, "conv_kernel", prefix="1.")
            return nn.Sequential(nn.ZeroPad2d((lft, r, t, b)), conv)
        if isinstance(layer, S.ConvTranspose2d):
            (t, b), (lft, r) = layer.crops(shape)
            symmetric = t == b == lft == r
            conv = nn.ConvTranspose2d(
                shape[-1], layer.filters, layer.kernel, layer.stride, padding=t if symmetric else 0, bias=layer.bias
            )
            if symmetric:
                self._weights(i, layer, "conv_transpose_kernel")
                return conv
            self._weights(i, layer, "conv_transpose_kernel", prefix="0.")
            return nn.Sequential(conv, Crop2d(t, b, lft, r))
        if isinstance(layer, S.Embedding):
            self.params[f"{i}.embeddings"] = "weight"
            return nn.Embedding(layer.num, layer.dim)
        if isinstance(layer, S.Dropout):
            return MaskedDropout(layer.rate)
        if isinstance(layer, S.BatchNorm):
            self.params.update({f"{i}.gamma": "weight", f"{i}.beta": "bias"})
            self.states.update({f"{i}.running_mean": "running_mean", f"{i}.running_var": "running_var"})
            cls = nn.BatchNorm1d if len(shape) == 1 else nn.BatchNorm2d
            return cls(shape[-1], eps=layer.eps, momentum=layer.momentum)
        if isinstance(layer, S.Activation):
            return _activation(layer)
        if isinstance(layer, S.Reshape):
            return Reshape(layer.shape)
        if isinstance(layer, S.Flatten):
            return Flatten()
        raise TypeError(f"the torch backend cannot build {type(layer).__name__}")

    def __call__(self, x: torch.Tensor, training: bool, masks: list | None = None) -> torch.Tensor:
        if self.native.training != training:
            self.native.train(training)
        for module, mask in zip(self.dropouts, masks or [None] * len(self.dropouts)):
            module.mask = mask
        return self.native(x)

    def to_canonical(self, name: str, value: torch.Tensor) -> np.ndarray:
        array = value.detach().cpu().numpy()
        convert = _TO_CANONICAL.get(self._kinds.get(name, ""))
        return np.array(convert(array) if convert else array, order="C")  # a copy: never aliases the tensor

    def from_canonical(self, name: str, array: np.ndarray) -> torch.Tensor:
        convert = _FROM_CANONICAL.get(self._kinds.get(name, ""))
        array = np.array(convert(array) if convert else array, order="C")
        return torch.from_numpy(array).to(self.device)

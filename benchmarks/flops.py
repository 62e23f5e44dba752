"""Model FLOPs of one training step, counted from the neutral specs (no framework).

Only matrix-multiply-class work is counted (Dense now; convolutions plug in with one
`FORWARD` entry each), because that is what the fp32 GEMM rate measures; activations,
BatchNorm, losses and Adam are elementwise and left out. A multiply-add is 2 FLOPs.

Per layer and sample, forward: Dense 2 * in * out (Conv2d will be
2 * kh * kw * cin * cout * Hout * Wout). A backward pass costs per layer the forward's
FLOPs once for the weight gradient (dW, when the network's weights are trained in this
pass) and once for the input gradient (dX, unless nothing upstream needs it: the first
layer of a network whose input needs no gradient). So a network trained on data costs
2F - F_first backward, one only backpropagated through costs F.

A GAN step (batch B, PacGAN packing p: D sees B/p rows of p samples) counts G once:

    forward   G(z) on B, D(real) and D(fake) on B/p for D's update, D(fake) on B/p for G's
    backward  D(real), D(fake): dW, no dX (data, and a fake behind stop_gradient)
              D(fake) in G's update: dX only (D's weights are not updated there)
              G: dW and dX, but no dX for its first layer (z needs no gradient)

A VAE step (batch B): forward E and Dec on B; backward Dec with dW and dX (the gradient
flows on into the encoder through z), E with dW but no dX for its first layer.

These are the model's FLOPs, the same for every implementation of a configuration: work an
implementation repeats (the keras.io GAN step runs G(z) twice) is not counted.
"""

from __future__ import annotations

from collections.abc import Callable

from aigc import specs as S


# layer type -> FLOPs of its forward pass for one sample, given the per-sample input shape
def _conv(layer: S.Conv2d, shape: tuple[int, ...]) -> int:
    """2 * kh * kw * C_in per output element (multiply-adds over the receptive field)."""
    h, w, _ = S.output_shape(layer, shape)
    return 2 * layer.kernel * layer.kernel * shape[-1] * layer.filters * h * w


def _conv_transpose(layer: S.ConvTranspose2d, shape: tuple[int, ...]) -> int:
    """Every input pixel scatters a kh x kw x C_out patch: 2 * kh * kw * C_in * C_out per
    input pixel (the cropped border is computed too)."""
    return 2 * layer.kernel * layer.kernel * shape[-1] * layer.filters * shape[0] * shape[1]


FORWARD: dict[type, Callable[[object, tuple[int, ...]], int]] = {
    S.Dense: lambda layer, shape: 2 * shape[0] * layer.units,
    S.Conv2d: _conv,
    S.ConvTranspose2d: _conv_transpose,
}


def layer_flops(net: S.NetworkSpec) -> list[int]:
    """Forward FLOPs per sample of every layer of `net` (0 for elementwise/shape layers)."""
    return [
        FORWARD[type(layer)](layer, shape) if type(layer) in FORWARD else 0
        for layer, shape in zip(net.layers, net.shapes())
    ]


def forward(net: S.NetworkSpec) -> int:
    return sum(layer_flops(net))


def backward(net: S.NetworkSpec, weights: bool, inputs: bool) -> int:
    """FLOPs per sample of backpropagating through `net`: dW if `weights`, dX wherever a
    gradient has to flow further (every layer if `inputs`, else all but the first)."""
    per_layer = [f for f in layer_flops(net) if f]
    dw = sum(per_layer) if weights else 0
    if inputs:
        return dw + sum(per_layer)
    return dw + (sum(per_layer[1:]) if weights else 0)


def gan_step(G: S.NetworkSpec, D: S.NetworkSpec, batch: int, pack: int = 1) -> int:
    rows = batch // pack
    fwd = batch * forward(G) + 3 * rows * forward(D)
    bwd = 2 * rows * backward(D, weights=True, inputs=False)
    bwd += rows * backward(D, weights=False, inputs=True) + batch * backward(G, weights=True, inputs=False)
    return fwd + bwd


def vae_step(E: S.NetworkSpec, Dec: S.NetworkSpec, batch: int) -> int:
    fwd = forward(E) + forward(Dec)
    bwd = backward(Dec, weights=True, inputs=True) + backward(E, weights=True, inputs=False)
    return batch * (fwd + bwd)


def step_flops(family: str, specs: dict[str, S.NetworkSpec], batch: int, pack: int = 1) -> int:
    """Model FLOPs of one training step of a model family ("gan", "vae") on `batch` samples."""
    if family == "gan":
        return gan_step(specs["G"], specs["D"], batch, pack)
    if family == "vae":
        return vae_step(specs["E"], specs["Dec"], batch)
    raise ValueError(f"no FLOP accounting for model family {family!r}; add one to benchmarks/flops.py")


def config_flops(cfg) -> int:
    """Model FLOPs of one step of a resolved aigc config at its `train.batch_size`."""
    from aigc import data, models

    entry = models.REGISTRY[cfg.model.name]
    dataset = data.load(cfg.data, cfg.seed)
    specs = entry.architecture(cfg.model, dataset.sample_shape, dataset.kind)
    return step_flops(entry.family.family, specs, cfg.train.batch_size, getattr(cfg.model, "pack", 1))

"""MLP architectures as neutral specs: `mlp_gan` and `mlp_vae`."""

from __future__ import annotations

import math

from ..schema import MAX_DEPTH, Field, Schema, Section
from ..specs import Activation, BatchNorm, Dense, Flatten, Layer, NetworkSpec, Reshape
from .gan import GAN_OPTIONS, d_outputs, g_inputs

NORMS = ("none", "batchnorm")

MLP_GAN: Schema = {
    "latent_dim": Field(int, 2, minimum=1, help="size of the noise z"),
    "hidden": Field(int, 128, minimum=1, help="width of every hidden layer"),
    "depth": Field(int, 3, minimum=1, maximum=MAX_DEPTH, help="hidden layers in G and in D"),
    "g_widths": Field(list, [], help="G's hidden widths, e.g. [256, 512, 1024]; [] = depth x hidden"),
    "d_widths": Field(list, [], help="D's hidden widths, e.g. [1024, 512, 256]; [] = depth x hidden"),
    "g_norm": Field(str, "none", choices=NORMS, help="normalisation in G: none or batchnorm"),
    "d_norm": Field(str, "none", choices=NORMS, help="normalisation in D: none or batchnorm"),
    "activation": Field(str, "relu", choices=("relu", "leaky_relu"), help="hidden activation (D and G)"),
    "slope": Field(float, 0.2, minimum=0.0, help="LeakyReLU negative slope"),
    **GAN_OPTIONS,
    "pack": Field(int, 1, minimum=1, help="PacGAN packing: D judges this many samples at once"),
    "bn_momentum": Field(float, 0.1, minimum=0.0, maximum=1.0, help="weight of the new batch statistic"),
    "bn_eps": Field(float, 1e-5, minimum=0.0, help="BatchNorm's epsilon"),
}

MLP_VAE: Schema = {
    "latent_dim": Field(int, 8, minimum=1, help="size of the latent z"),
    "hidden": Field(int, 256, minimum=1, help="width of every hidden layer"),
    "depth": Field(int, 2, minimum=1, maximum=MAX_DEPTH, help="hidden layers in the encoder and in the decoder"),
    "norm": Field(str, "none", choices=NORMS, help="normalisation after each hidden Dense: none or batchnorm"),
    "activation": Field(str, "relu", choices=("relu", "leaky_relu"), help="hidden activation (encoder and decoder)"),
    "slope": Field(float, 0.2, minimum=0.0, help="LeakyReLU negative slope"),
    "likelihood": Field(
        str,
        "bernoulli",
        choices=("bernoulli", "gaussian"),
        help="the decoder's likelihood: bernoulli or gaussian (with std)",
    ),
    "std": Field(float, 1.0, minimum=1e-6, help="decoder std for the gaussian likelihood"),
    "beta": Field(float, 1.0, minimum=0.0, help="weight of the KL term"),
    "bn_momentum": Field(float, 0.1, minimum=0.0, maximum=1.0, help="weight of the new batch statistic"),
    "bn_eps": Field(float, 1e-5, minimum=0.0, help="BatchNorm's epsilon"),
}


def mlp(
    input_shape: tuple[int, ...],
    widths: list[int],
    out_dim: int,
    *,
    norm: str,
    activation: str,
    slope: float,
    bn: tuple[float, float],
    output: str | None = None,
    out_shape: tuple[int, ...] | None = None,
) -> NetworkSpec:
    """Flatten -> [Dense -> (BatchNorm) -> activation] * len(widths) -> Dense -> output."""
    layers: list[Layer] = [Flatten()] if len(input_shape) != 1 else []
    for width in widths:
        # A bias before BatchNorm is cancelled by its mean subtraction: its gradient is pure
        # rounding noise, which Adam would turn into lr-sized random steps.
        layers.append(Dense(width, bias=norm != "batchnorm"))
        if norm == "batchnorm":
            layers.append(BatchNorm(momentum=bn[0], eps=bn[1]))
        layers.append(Activation(activation, slope))
    layers.append(Dense(out_dim))
    if output is not None:
        layers.append(Activation(output))
    if out_shape is not None and len(out_shape) != 1:
        layers.append(Reshape(out_shape))
    return NetworkSpec(tuple(input_shape), tuple(layers))


def packed_shape(sample_shape: tuple[int, ...], pack: int) -> tuple[int, ...]:
    """PacGAN (Lin et al., 2018): D sees `pack` samples concatenated into one input."""
    return sample_shape if pack == 1 else (pack * math.prod(sample_shape),)


def mlp_gan(cfg: Section, sample_shape: tuple[int, ...], data_kind: str) -> dict[str, NetworkSpec]:
    """Images get a tanh output (data in [-1, 1]); points an unbounded linear one."""
    output = "tanh" if data_kind == "images" else None
    widths = [cfg.hidden] * cfg.depth
    common = dict(activation=cfg.activation, slope=cfg.slope, bn=(cfg.bn_momentum, cfg.bn_eps))
    dim = math.prod(sample_shape)
    g_widths, d_widths = cfg.g_widths or widths, cfg.d_widths or widths
    return {
        "G": mlp((g_inputs(cfg),), g_widths, dim, norm=cfg.g_norm, output=output, out_shape=sample_shape, **common),
        "D": mlp(packed_shape(sample_shape, cfg.pack), d_widths, d_outputs(cfg), norm=cfg.d_norm, **common),
    }


def mlp_vae(cfg: Section, sample_shape: tuple[int, ...], data_kind: str) -> dict[str, NetworkSpec]:
    widths = [cfg.hidden] * cfg.depth
    common = dict(norm=cfg.norm, activation=cfg.activation, slope=cfg.slope, bn=(cfg.bn_momentum, cfg.bn_eps))
    k = cfg.latent_dim
    return {
        "E": mlp(sample_shape, widths, 2 * k, **common),
        "Dec": mlp((k,), widths[::-1], math.prod(sample_shape), out_shape=sample_shape, **common),
    }

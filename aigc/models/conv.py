"""Convolutional architectures as neutral specs: `dcgan`, `cgan`, `conv_vae`, `cvae`.

All convolutions use 4x4 kernels, stride 2 and "same" padding (for even sizes the same as
PyTorch's padding=1, so DCGAN's usual PyTorch and Keras versions are one model). An image of
side 28 is built from 7x7 (two upsamplings), one of side 32 (or any multiple of 8) from 4x4.
"""

from __future__ import annotations

from ..schema import Field, Schema, Section
from ..specs import (
    Activation,
    BatchNorm,
    Conv2d,
    ConvTranspose2d,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    Layer,
    NetworkSpec,
    Reshape,
)
from .gan import GAN_OPTIONS, d_outputs, g_inputs
from .mlp import NORMS

KERNEL = 4

DCGAN: Schema = {
    "latent_dim": Field(int, 100, minimum=1, help="size of the noise z"),
    "channels": Field(int, 64, minimum=1, help="D's first conv width; G mirrors it (doubling per level)"),
    "g_norm": Field(str, "batchnorm", choices=NORMS, help="normalisation in G: batchnorm or none"),
    "d_norm": Field(
        str,
        "batchnorm",
        choices=NORMS + ("spectral", "spectral_conv"),
        help="normalisation in D: batchnorm, none, spectral (spectral norm on every layer) or "
        "spectral_conv (on the convolutions only; the Dense layers plain)",
    ),
    "g_activation": Field(
        str, "relu", choices=("relu", "leaky_relu"), help="Radford et al.: relu; the Keras tutorial: leaky_relu"
    ),
    "slope": Field(float, 0.2, minimum=0.0, help="LeakyReLU negative slope (D always uses LeakyReLU)"),
    "g_out_stride": Field(
        int, 2, choices=(1, 2), help="1: upsample to full size, then a stride-1 conv to the image (the Keras tutorial)"
    ),
    "d_dropout": Field(
        float,
        0.0,
        minimum=0.0,
        maximum=0.9,
        help="Dropout rate after each of D's LeakyReLUs (the TensorFlow tutorial: 0.3); 0 = none",
    ),
    "d_hidden": Field(
        int,
        0,
        minimum=0,
        help="a Dense hidden layer of this width ([norm], LeakyReLU) before D's outputs, shared by "
        "D and InfoGAN's Q (InfoGAN's MNIST D: 1024); 0 = none (Radford et al.)",
    ),
    "g_hidden": Field(
        int,
        0,
        minimum=0,
        help="a Dense hidden layer of this width ([norm], activation) before G's first map "
        "(InfoGAN's MNIST G: 1024); 0 = none (Radford et al.)",
    ),
    **GAN_OPTIONS,
    "bn_momentum": Field(float, 0.1, minimum=0.0, maximum=1.0, help="weight of the new batch statistic"),
    "bn_eps": Field(float, 1e-5, minimum=0.0, help="BatchNorm's epsilon"),
}

LABELS: Schema = {
    "num_classes": Field(int, 10, minimum=2, help="classes of the labels the model is conditioned on"),
    "label_dim": Field(int, 50, minimum=1, help="size of the learned label embedding"),
}

CONV_VAE: Schema = {
    "latent_dim": Field(int, 16, minimum=1, help="size of the latent z"),
    "channels": Field(int, 32, minimum=1, help="the encoder's first conv width (doubling per level)"),
    "likelihood": Field(
        str,
        "bernoulli",
        choices=("bernoulli", "gaussian"),
        help="the decoder's likelihood: bernoulli (binary or grey pixels) or gaussian (with std)",
    ),
    "std": Field(float, 1.0, minimum=1e-6, help="decoder std for the gaussian likelihood"),
    "beta": Field(float, 1.0, minimum=0.0, help="weight of the KL term"),
}


def levels(side: int) -> int:
    """How many stride-2 levels lie between the image and the smallest feature map."""
    if side % 8 == 0:
        return 3
    if side % 4 == 0:
        return 2
    raise ValueError(f"convolutional models need an image side divisible by 4 (28, 32, 64, ...), got {side}")


def _image(sample_shape: tuple[int, ...]) -> tuple[int, int]:
    if len(sample_shape) != 3 or sample_shape[0] != sample_shape[1]:
        raise ValueError(f"convolutional models need square images (H, W, C), got {sample_shape}")
    return sample_shape[0], sample_shape[2]


def _norm(kind: str, cfg: Section) -> list[Layer]:
    return [BatchNorm(cfg.bn_momentum, cfg.bn_eps)] if kind == "batchnorm" else []


def dcgan_generator(cfg: Section, sample_shape: tuple[int, ...], input_dim: int) -> NetworkSpec:
    """Dense to the smallest map, then stride-2 transposed convs halving the width down to
    `channels`, then a transposed conv to the image with tanh. With `g_out_stride` 2 the last
    one also upsamples (Radford et al.); with 1 it keeps the size (the Keras tutorial)."""
    side, channels = _image(sample_shape)
    n, act = levels(side), Activation(cfg.g_activation, cfg.slope)
    ups = n - 1 if cfg.g_out_stride == 2 else n
    base, width = side // 2**n, cfg.channels * 2**ups
    bn = cfg.g_norm == "batchnorm"
    hidden = cfg.g_hidden
    layers: list[Layer] = [Dense(hidden, bias=not bn), *_norm(cfg.g_norm, cfg), act] if hidden else []
    layers += [
        Dense(base * base * width, bias=not bn),
        *_norm(cfg.g_norm, cfg),
        act,
        Reshape((base, base, width)),
    ]
    for _ in range(ups):
        width //= 2
        layers += [ConvTranspose2d(width, KERNEL, 2, "same", bias=not bn), *_norm(cfg.g_norm, cfg), act]
    layers += [ConvTranspose2d(channels, KERNEL, cfg.g_out_stride, "same"), Activation("tanh")]
    return NetworkSpec((input_dim,), tuple(layers))


def dcgan_discriminator(cfg: Section, input_shape: tuple[int, ...]) -> NetworkSpec:
    """Conv (no norm on the first level), [norm], LeakyReLU, [Dropout] per level; Flatten;
    [`d_hidden`: Dense, [norm], LeakyReLU, [Dropout]]; Dense logits (one, and InfoGAN's code
    logits)."""
    side, _ = _image(input_shape)
    norm = cfg.d_norm
    sn_conv, sn_dense = norm in ("spectral", "spectral_conv"), norm == "spectral"
    layers: list[Layer] = []
    for i in range(levels(side) + (side % 8 != 0)):  # 28 -> 14 -> 7 -> 4, 32 -> 16 -> 8 -> 4
        bn = norm == "batchnorm" and i > 0
        layers += [Conv2d(cfg.channels * 2**i, KERNEL, 2, "same", bias=not bn, spectral_norm=sn_conv)]
        layers += [*_norm("batchnorm" if bn else "none", cfg), Activation("leaky_relu", cfg.slope)]
        layers += [Dropout(cfg.d_dropout)] if cfg.d_dropout else []
    layers += [Flatten()]
    if hidden := cfg.d_hidden:
        bn = norm == "batchnorm"
        layers += [Dense(hidden, bias=not bn, spectral_norm=sn_dense), *_norm("batchnorm" if bn else "none", cfg)]
        layers += [Activation("leaky_relu", cfg.slope)] + ([Dropout(cfg.d_dropout)] if cfg.d_dropout else [])
    layers += [Dense(d_outputs(cfg), spectral_norm=sn_dense)]
    return NetworkSpec(tuple(input_shape), tuple(layers))


def label_map(cfg: Section, side: int) -> NetworkSpec:
    """Labels -> a learned side x side x 1 map, concatenated to an image as one more channel."""
    return NetworkSpec((), (Embedding(cfg.num_classes, cfg.label_dim), Dense(side * side), Reshape((side, side, 1))))


def label_vector(cfg: Section) -> NetworkSpec:
    """Labels -> a learned vector, concatenated to a latent code."""
    return NetworkSpec((), (Embedding(cfg.num_classes, cfg.label_dim),))


def dcgan(cfg: Section, sample_shape: tuple[int, ...], data_kind: str) -> dict[str, NetworkSpec]:
    return {
        "G": dcgan_generator(cfg, sample_shape, g_inputs(cfg)),
        "D": dcgan_discriminator(cfg, sample_shape),
    }


def cgan(cfg: Section, sample_shape: tuple[int, ...], data_kind: str) -> dict[str, NetworkSpec]:
    """DCGAN with a label embedding concatenated to z and a label map to D's input channels."""
    side, channels = _image(sample_shape)
    return {
        "G": dcgan_generator(cfg, sample_shape, g_inputs(cfg) + cfg.label_dim),
        "D": dcgan_discriminator(cfg, (side, side, channels + 1)),
        "G_label": label_vector(cfg),
        "D_label": label_map(cfg, side),
    }


def conv_encoder(cfg: Section, input_shape: tuple[int, ...]) -> NetworkSpec:
    side, _ = _image(input_shape)
    layers: list[Layer] = []
    for i in range(levels(side)):
        layers += [Conv2d(cfg.channels * 2**i, KERNEL, 2, "same"), Activation("relu")]
    return NetworkSpec(tuple(input_shape), (*layers, Flatten(), Dense(2 * cfg.latent_dim)))


def conv_decoder(cfg: Section, sample_shape: tuple[int, ...], input_dim: int) -> NetworkSpec:
    """Mirrors the encoder; outputs logits (bernoulli) or means (gaussian) per pixel."""
    side, channels = _image(sample_shape)
    n = levels(side)
    base, width = side // 2**n, cfg.channels * 2 ** (n - 1)
    layers: list[Layer] = [Dense(base * base * width), Activation("relu"), Reshape((base, base, width))]
    for _ in range(n - 1):
        width //= 2
        layers += [ConvTranspose2d(width, KERNEL, 2, "same"), Activation("relu")]
    layers += [ConvTranspose2d(channels, KERNEL, 2, "same")]
    return NetworkSpec((input_dim,), tuple(layers))


def conv_vae(cfg: Section, sample_shape: tuple[int, ...], data_kind: str) -> dict[str, NetworkSpec]:
    return {"E": conv_encoder(cfg, sample_shape), "Dec": conv_decoder(cfg, sample_shape, cfg.latent_dim)}


def cvae(cfg: Section, sample_shape: tuple[int, ...], data_kind: str) -> dict[str, NetworkSpec]:
    """conv_vae with a label map as one more input channel and a label vector beside z."""
    side, channels = _image(sample_shape)
    return {
        "E": conv_encoder(cfg, (side, side, channels + 1)),
        "Dec": conv_decoder(cfg, sample_shape, cfg.latent_dim + cfg.label_dim),
        "E_label": label_map(cfg, side),
        "Dec_label": label_vector(cfg),
    }

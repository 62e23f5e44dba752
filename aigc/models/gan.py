"""The GAN family: a generator G(z) and a discriminator D(x) that outputs logits, and its
training step (`GAN.step`), written once for every backend.

Optional parts, all chosen by the architecture or the config:
- class conditioning: a `G_label` net (labels -> a vector concatenated to z) and a `D_label`
  net (labels -> a vector or feature map concatenated to D's input), trained with G and D;
- `n_critic` discriminator updates per generator update, WGAN-GP's gradient penalty and the
  R1 penalty on real data, and a discriminator learning rate of its own (two time scales);
- an exponential moving average of the generator's weights (`<net>_ema`), used for sampling;
- InfoGAN's categorical latent code (Chen et al., 2016; `info_codes`): G's input is z and a
  one-hot code drawn uniformly, D has `info_codes` more outputs per sample (the Q head,
  sharing D's body), and both add `info_weight` times the cross-entropy of Q's guess of the
  code of G's samples (the mutual-information bound), so each code value comes to mean one
  kind of sample and G need not spread one continuous map over separate modes or classes.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .. import dropout, losses
from ..backends import Backend, Tensor
from ..losses import GAN_LOSSES
from ..optim import Adam
from ..schema import Field, Schema
from ..specs import BatchNorm
from ..weights import get_weights, set_weights
from .base import Model

# The config keys every GAN architecture shares.
GAN_OPTIONS: Schema = {
    "loss": Field(
        str,
        "non_saturating",
        choices=GAN_LOSSES,
        help="the GAN loss on D's raw outputs: non_saturating, minimax, wasserstein, hinge or least_squares",
    ),
    "hinge_margin": Field(
        float,
        1.0,
        minimum=1e-6,
        maximum=1e6,
        help="the hinge loss's margin m: E[relu(m - D(x))] + E[relu(m + D(G(z)))] (1 in Lim & Ye and Miyato et al.); "
        "below 1 where spectral norm keeps D's outputs within +-1, so the margins never bite",
    ),
    "n_critic": Field(int, 1, minimum=1, help="discriminator updates per generator update (WGAN: 5)"),
    "gp_weight": Field(float, 0.0, minimum=0.0, help="WGAN-GP gradient penalty weight (10 in the paper); 0 = off"),
    "gp_every": Field(
        int,
        1,
        minimum=1,
        maximum=10**6,
        help="lazy gradient penalty (as r1_every): WGAN-GP's penalty on the first step and then one step in this "
        "many, weighted by it (gp_weight * gp_every); 1 = every step",
    ),
    "r1_gamma": Field(
        float,
        0.0,
        minimum=0.0,
        help="R1 penalty (Mescheder et al., 2018): gamma / 2 * E||grad_x D(x)||^2 on real data, per D input; 0 = off",
    ),
    "r1_every": Field(
        int,
        1,
        minimum=1,
        maximum=10**6,
        help="lazy R1 (StyleGAN2, Karras et al., 2020): the penalty on the first step and then one step in this "
        "many, weighted by it (gamma * r1_every), which saves most of its cost; 1 = every step",
    ),
    "d_lr": Field(
        float,
        0.0,
        minimum=0.0,
        help="D's learning rate (two time-scale update rule, Heusel et al., 2017); 0 = optim.lr",
    ),
    "ema": Field(
        float, 0.0, minimum=0.0, below=1.0, help="decay of the generator's weight average used for sampling; 0 = off"
    ),
    "info_codes": Field(
        int,
        0,
        minimum=0,
        maximum=1000,
        help="InfoGAN (Chen et al., 2016): values of a categorical latent code appended to z (one-hot), which D's "
        "extra outputs learn to recognise in G's samples; 0 = off",
    ),
    "info_weight": Field(
        float, 1.0, minimum=0.0, help="weight of InfoGAN's code cross-entropy in D's and G's losses (the paper: 1)"
    ),
    "precise_bn": Field(
        int,
        0,
        minimum=0,
        maximum=10**6,
        help="after the last step, re-estimate the sampling generator's BatchNorm statistics with its final weights "
        "(training-mode passes of this many fresh samples until the running averages' old values weigh < 1e-4); "
        "0 = sample with the running averages of the last batches",
    ),
}


def g_inputs(cfg) -> int:
    """G's input size: the noise z, then the one-hot InfoGAN code (`info_codes`)."""
    return cfg.latent_dim + cfg.info_codes


def d_outputs(cfg) -> int:
    """D's outputs per input: the real/fake logit, then Q's code logits for each of the
    `pack` samples it judges at once (InfoGAN)."""
    return 1 + getattr(cfg, "pack", 1) * cfg.info_codes


GENERATOR_NETS = ("G", "G_label")
DISCRIMINATOR_NETS = ("D", "D_label")
SELECT_CHUNK = 1000  # draws per G and D call of `GAN.select_by_d`
TRUNCATION_MIN = 0.05  # the smallest bound on |z|: below it the redrawing would rarely end


def check_keep(keep: float, model: Model | None = None) -> None:
    """`keep`, the fraction of draws that discriminator rejection keeps: in (0, 1]; below 1,
    only for a `model` whose D judges one sample at a time (a GAN without packing)."""
    if not (isinstance(keep, (int, float)) and 0.0 < keep <= 1.0):
        raise ValueError(f"keep {keep!r}: expected a fraction of the draws in (0, 1] (1: keep every draw)")
    if model is None or keep == 1.0:
        return
    if model.family != "gan":
        raise ValueError(f"keep {keep}: only a GAN has a discriminator to choose its samples with")
    if model.pack > 1:
        raise ValueError(f"keep {keep}: D judges packs of {model.pack} samples (model.pack), not one")


def check_truncation(truncation: float | None, model: Model | None = None) -> None:
    """`truncation`, the truncation trick's bound on |z| (Brock et al., 2019): None (plain
    N(0, I) noise) or a finite number >= TRUNCATION_MIN; with the model, only for a GAN."""
    if truncation is None:
        return
    if not (isinstance(truncation, (int, float)) and math.isfinite(truncation) and truncation >= TRUNCATION_MIN):
        raise ValueError(
            f"truncation {truncation!r}: expected a bound on |z| of at least {TRUNCATION_MIN} (omit it for plain noise)"
        )
    if model is not None and model.family != "gan":
        raise ValueError(f"truncation {truncation}: only a GAN's samples come from noise it can truncate")


def pack_samples(backend: Backend, x: Tensor, size: int) -> Tensor:
    """(B, ...) -> (B / size, size * prod(...)): PacGAN's packed discriminator input."""
    if size == 1:
        return x
    per_sample = 1
    for d in tuple(x.shape)[1:]:
        per_sample *= int(d)
    return backend.ops.reshape(x, (-1, size * per_sample))


class GAN(Model):
    family = "gan"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        m = self.cfg.model
        self.n_critic = m.n_critic  # discriminator updates per generator update
        self.pack = getattr(m, "pack", 1)  # PacGAN (mlp_gan's key): D judges `pack` samples at once
        self.ema_decay = float(np.float32(m.ema))  # exactly a float32: the same constant on both backends
        self.info_codes = m.info_codes
        if self.ema_decay:
            for name in self.generator_nets:  # not in `specs`: never drawn, copied from the live net
                self.nets[f"{name}_ema"] = self.backend.build(self.specs[name])

    @property
    def generator_nets(self) -> list[str]:
        return [n for n in GENERATOR_NETS if n in self.specs]

    @property
    def conditional(self) -> bool:
        return "G_label" in self.specs

    @property
    def batch_multiple(self) -> int:
        return self.cfg.model.n_critic

    @property
    def data_range(self):
        return (-1.0, 1.0) if self.data_kind == "images" else None

    def build_optimizers(self) -> dict[str, Adam]:
        # The discriminator steps n_critic times per training step: its schedule counts those.
        m = self.cfg.model
        d_adam = replace(self.adam, lr=m.d_lr or self.adam.lr, total_steps=self.adam.total_steps * m.n_critic)
        nets = lambda names: {n: self.nets[n] for n in names if n in self.nets}
        return {
            "G": Adam(self.backend, nets(GENERATOR_NETS), self.adam),
            "D": Adam(self.backend, nets(DISCRIMINATOR_NETS), d_adam),
        }

    def initialize(self, rng: np.random.Generator) -> None:
        """Draw the weights; the generator's average starts at the initial weights."""
        super().initialize(rng)
        for name in self.generator_nets:
            if f"{name}_ema" in self.nets:
                set_weights(self.backend, self.nets[f"{name}_ema"], get_weights(self.backend, self.nets[name]))

    @property
    def latent_dim(self) -> int:
        return self.cfg.model.latent_dim

    @property
    def d_calls_per_update(self) -> int:
        """D's calls in one critic update: real, fake, then interpolates under WGAN-GP's penalty
        and real data again under R1's."""
        m = self.cfg.model
        return 2 + bool(m.gp_weight) + bool(m.r1_gamma)

    @property
    def d_calls(self) -> int:
        """How many times a step calls D: every critic update's calls, then once for the
        generator; each call gets its own dropout keep-masks."""
        return self.n_critic * self.d_calls_per_update + 1

    def latent(
        self, rng: np.random.Generator, n: int, codes: np.ndarray | None = None, truncation: float | None = None
    ) -> np.ndarray:
        """G's input for n samples: standard normal noise z, then with `info_codes` the one-hot
        InfoGAN code (`codes`, or drawn uniformly from `rng` after z). `truncation` t: the
        truncation trick, every entry of z outside [-t, t] drawn again until it falls inside."""
        z = rng.standard_normal((n, self.latent_dim), dtype=np.float32)
        if truncation is not None:
            outside = np.abs(z) > truncation
            while outside.any():
                z[outside] = rng.standard_normal(int(outside.sum()), dtype=np.float32)
                outside = np.abs(z) > truncation
        codes = self.check_codes(n, codes)
        if not self.info_codes:
            return z
        codes = rng.integers(0, self.info_codes, n) if codes is None else codes
        return np.concatenate([z, np.eye(self.info_codes, dtype=np.float32)[codes]], axis=1)

    def check_codes(self, n: int, codes: np.ndarray | None) -> np.ndarray | None:
        """`codes` for n samples as an array (None: to be drawn), if the model has InfoGAN's
        code and they are n of its values."""
        if codes is None:
            return None
        if not self.info_codes:
            raise ValueError(f"{self.cfg.model.name} has no latent code (model.info_codes is 0): it takes no codes")
        codes = np.asarray(codes)
        if codes.shape != (n,) or codes.dtype.kind not in "iu" or codes.min() < 0 or codes.max() >= self.info_codes:
            raise ValueError(f"codes: {n} integers in [0, {self.info_codes}) expected")
        return codes

    def random_inputs(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        inputs = {"z": self.latent(rng, n)}
        if self.cfg.model.gp_weight:
            inputs["alpha"] = rng.uniform(size=(n,) + (1,) * len(self.sample_shape)).astype(np.float32)
        keep = dropout.draw(self.specs["D"], rng, self.d_calls, n // self.n_critic // self.pack)
        if keep is not None:
            inputs["d_keep"] = keep
        return inputs

    # -- the networks, with labels where the model is conditional ----------------------------
    def _generate(self, z, labels, training: bool):
        return self.with_labels("G", "G_label", z, labels, training)

    def _discriminate(self, x, labels, training: bool, masks: list | None = None):
        return self.with_labels("D", "D_label", x, labels, training, masks)

    # -- the training step ---------------------------------------------------------------------
    def step(
        self,
        real: Tensor,
        z: Tensor,
        labels: Tensor | None = None,
        alpha: Tensor | None = None,
        d_keep: Tensor | None = None,
        r1: bool = True,
        gp: bool = True,
    ) -> dict[str, Tensor]:
        """`n_critic` discriminator updates on consecutive slices of the batch (real rows, noise,
        interpolation weights), then one generator update on the last slice's G(z), computed
        once (as the PyTorch DCGAN tutorial does; G is unchanged in between). Conditional models
        generate with the real labels.
        `d_keep`: D's dropout keep-masks for every call (`d_calls`), or None. `r1` / `gp`: whether
        this step's D updates take the R1 penalty (`model.r1_gamma`) / WGAN-GP's
        (`model.gp_weight`); the lazy penalties skip them on all but one step in
        `model.r1_every` / `model.gp_every`, python values fixed when the step is compiled.
        A skipped penalty keeps its D call's dropout masks unused, so the others keep theirs."""
        backend, ops, m = self.backend, self.backend.ops, self.cfg.model
        g_opt, d_opt = self.optimizers["G"], self.optimizers["D"]
        rows = int(real.shape[0]) // self.n_critic
        per_update = self.d_calls_per_update

        k = self.info_codes

        def judge(x, y, call):
            """D's outputs: the real/fake logits, and with InfoGAN Q's code logits per sample."""
            masks = dropout.split(backend, self.specs["D"], d_keep, call)
            out = self._discriminate(pack_samples(backend, x, self.pack), y, True, masks)
            return (out[:, :1], ops.reshape(out[:, 1:], (-1, k))) if k else (out, None)

        def critic(y, call):
            return lambda x: judge(x, y, call)[0]

        def code_loss(q, zi):
            """InfoGAN: -E log Q(c | G(z, c)), the code c being z's one-hot tail."""
            return losses.categorical_nll(ops, q, zi[:, self.latent_dim :])

        aux: dict[str, Tensor] = {}
        for i in range(self.n_critic):
            part = slice(i * rows, (i + 1) * rows)
            r, zi = real[part], z[part]
            y = None if labels is None else labels[part]
            if i == self.n_critic - 1:  # G(z) of the last update is recorded once and reused for G's update
                fake, pullback = backend.forward_for_grad(lambda zi=zi, y=y: self._generate(zi, y, True), g_opt.params)
            else:
                fake = self._generate(zi, y, True)
            fake = ops.stop_gradient(fake)

            def d_objective(r=r, y=y, zi=zi, fake=fake, part=part, call=i * per_update):
                (real_logits, _), (fake_logits, q) = judge(r, y, call), judge(fake, y, call + 1)
                loss = losses.discriminator_loss(ops, m.loss, real_logits, fake_logits, m.hinge_margin)
                penalties, calls = {}, iter(range(call + 2, call + per_update))  # D's calls for the penalties
                gp_call = next(calls) if m.gp_weight else None
                if m.gp_weight and gp:
                    a = alpha[part]
                    x_hat = a * r + (1.0 - a) * fake
                    penalties["gp"] = losses.gradient_penalty(backend, critic(y, gp_call), x_hat)
                    loss = loss + (m.gp_weight * m.gp_every) * penalties["gp"]
                if m.r1_gamma and r1:
                    penalties["r1"] = losses.r1_penalty(backend, critic(y, next(calls)), r, self.pack)
                    loss = loss + 0.5 * (m.r1_gamma * m.r1_every) * penalties["r1"]
                if k:
                    penalties["info"] = code_loss(q, zi)
                    loss = loss + m.info_weight * penalties["info"]
                return loss, penalties

            d_loss, aux, d_grads = backend.value_and_grad(d_objective, d_opt.params)
            d_opt.apply(d_grads)

        def g_objective(fake):
            logits, q = judge(fake, y, self.n_critic * per_update)
            loss = losses.generator_loss(ops, m.loss, logits)
            return (loss + m.info_weight * code_loss(q, zi) if k else loss), {}

        g_loss, _, g_grads = pullback(g_objective)
        g_opt.apply(g_grads)
        self._update_average()
        return {"d_loss": d_loss, "g_loss": g_loss, **aux}

    def step_options(self) -> dict[str, bool]:
        """Lazy penalties (`model.r1_every` / `model.gp_every` k > 1): the penalty on steps 0,
        k, 2k, ... counted by D's optimizer (so a resumed run keeps the rhythm), through a
        second compiled step for each combination."""
        m, step = self.cfg.model, self.optimizers["D"].updates // self.n_critic
        options = {}
        if m.r1_every > 1 and m.r1_gamma:
            options["r1"] = step % m.r1_every == 0
        if m.gp_every > 1 and m.gp_weight:
            options["gp"] = step % m.gp_every == 0
        return options

    def _update_average(self) -> None:
        """The generator's weight average (`ema`): average <- decay * average + (1 - decay) *
        live for weights; BatchNorm's statistics are copied."""
        decay = self.ema_decay
        fused = getattr(self.backend, "moving_average", None)  # optional: the same arithmetic, in place
        for name in self.generator_nets if decay else ():
            live, average = self.nets[name], self.nets[f"{name}_ema"]
            if fused is not None:
                fused([average.params[k] for k in live.params], list(live.params.values()), decay)
            else:
                for k in live.params:
                    self.backend.assign(average.params[k], decay * average.params[k] + (1.0 - decay) * live.params[k])
            for k in live.states:
                self.backend.assign(average.states[k], live.states[k])

    # -- after training, and sampling ----------------------------------------------------------
    def finish_training(self, rng: np.random.Generator) -> None:
        """Precise BatchNorm (`precise_bn`; Wu & Johnson, 2021): the running statistics are an
        average over the last few batches, and a generator can be so sensitive to them that
        that average's noise moves its samples off the modes (gan_ring8 at data.scale 3: 65%
        high quality with the running averages, 95% with the population's). Training-mode
        passes of fresh noise through the sampling generator, weights frozen, replace them.
        They start from BatchNorm's initial values (mean 0, variance 1), not from the running
        averages, so the result depends on the final weights alone: a run resumed from a
        checkpoint written by an earlier finish ends with the same statistics as a straight one."""
        n = self.cfg.model.precise_bn
        suffix = "_ema" if self.ema_decay else ""
        norms = [
            layer for name in self.generator_nets for layer in self.specs[name].layers if isinstance(layer, BatchNorm)
        ]
        if not n or not norms:
            return
        m = min(layer.momentum for layer in norms)
        passes = 1 if m >= 1.0 else math.ceil(math.log(1e-4) / math.log1p(-m)) if m > 0 else 0
        t = self.backend.tensor
        for name in self.generator_nets:
            states = self.nets[f"{name}{suffix}"].states
            for key, var in states.items():
                if key.endswith((".running_mean", ".running_var")):
                    initial = np.zeros if key.endswith("mean") else np.ones
                    self.backend.assign(var, t(initial(tuple(var.shape), np.float32)))
        for _ in range(passes):
            z = self.latent(rng, n)
            labels = self.sample_labels(n, None)
            y = None if labels is None else t(np.asarray(labels, np.int64))
            self.with_labels(f"G{suffix}", f"G_label{suffix}", t(z), y, training=True)

    def generate(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """G(z) in inference mode (the weight average where there is one), in the data's range;
        `z` is G's whole input (`latent`: with InfoGAN the one-hot code follows the noise)."""
        return self.from_model_range(self.backend.numpy(self._sampler(z, labels)))

    def _sampler(self, z: np.ndarray, labels: np.ndarray | None) -> Tensor:
        """The sampling generator's output (in the model's range) for G's whole input `z`."""
        t = self.backend.tensor
        y = None if labels is None else t(np.asarray(labels, np.int64))
        suffix = "_ema" if self.ema_decay else ""
        return self.with_labels(f"G{suffix}", f"G_label{suffix}", t(np.asarray(z, np.float32)), y, training=False)

    def sample(
        self,
        n: int,
        seed: int = 0,
        labels: np.ndarray | None = None,
        codes: np.ndarray | None = None,
        keep: float = 1.0,
        truncation: float | None = None,
    ) -> np.ndarray:
        """n samples; the noise comes from NumPy's generator seeded with `seed`, so equal
        weights give equal samples on every backend. Conditional models take `labels`
        (default: 0, 1, 2, ... cycling over the classes); InfoGAN models take `codes`
        (default: drawn uniformly). `keep` other than 1: discriminator rejection (`select_by_d`);
        `truncation` t: z's entries drawn within [-t, t] (the truncation trick, `latent`)."""
        check_truncation(truncation, self)
        if keep != 1.0:
            return self.select_by_d(n, seed, labels, codes, keep, truncation)
        z = self.latent(np.random.default_rng(seed), n, codes, truncation)
        return self.generate(z, self.sample_labels(n, labels))

    def select_by_d(
        self,
        n: int,
        seed: int,
        labels: np.ndarray | None,
        codes: np.ndarray | None,
        keep: float,
        truncation: float | None = None,
    ) -> np.ndarray:
        """Discriminator rejection sampling (Azadi et al., 2019) in its top-fraction form: for
        each group of samples that asks for one label (and code), ceil(size / keep) are drawn
        and the `size` that D scores as most real are kept, in the order drawn. D's logit
        estimates log p_data / p_G, so the dropped draws are those G makes too often for the
        data: ambiguous or malformed digits. Fewer distinct draws survive, so the recall can
        fall; `keep` = 1 is plain sampling."""
        check_keep(keep, self)
        rng = np.random.default_rng(seed)
        labels, codes = self.sample_labels(n, labels), self.check_codes(n, codes)
        keys = np.stack([np.zeros(n, np.int64) if a is None else np.asarray(a, np.int64) for a in (labels, codes)], 1)
        out = np.empty((n, *self.sample_shape), np.float32)
        for key in np.unique(keys, axis=0):
            where = np.flatnonzero((keys == key).all(axis=1))
            drawn = math.ceil(len(where) / keep)
            z = self.latent(rng, drawn, None if codes is None else np.full(drawn, key[1]), truncation)
            y = None if labels is None else np.full(drawn, key[0])
            x, score = [], []
            for i in range(0, drawn, SELECT_CHUNK):
                g = self._sampler(z[i : i + SELECT_CHUNK], None if y is None else y[i : i + SELECT_CHUNK])
                yt = None if y is None else self.backend.tensor(y[i : i + SELECT_CHUNK])
                score.append(self.backend.numpy(self._discriminate(g, yt, training=False))[:, 0])
                x.append(self.backend.numpy(g))
            best = np.sort(np.argsort(-np.concatenate(score), kind="stable")[: len(where)])
            out[where] = self.from_model_range(np.concatenate(x)[best])
        return out

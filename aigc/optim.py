"""Adam, written once: the exact formula both backends run.

For step t = 1, 2, ... and every parameter p with gradient g (float32 throughout):

    m       <- m + (g - m) * (1 - beta1)
    v       <- v + (g * g - v) * (1 - beta2)
    b1t     <- b1t * beta1          (running products, b1t = beta1^t, no pow())
    b2t     <- b2t * beta2
    alpha   <- lr_t * sqrt(1 - b2t) / (1 - b1t)           (one scalar per step)
    eps_hat <- eps * sqrt(1 - b2t)                         (one scalar per step)
    p       <- p - (m * alpha) / (sqrt(v) + eps_hat)

with lr_t = lr (schedule "constant") or lr * (1 - (t - 1) / T) (schedule "linear", T total
steps), t kept as a float32 counter.

This is PyTorch's `torch.optim.Adam` placement of epsilon (added to the bias-corrected
sqrt(v)): (m * alpha) / (sqrt(v) + eps_hat) = lr_t * (m / c1) / (sqrt(v / c2) + eps) with
c = 1 - beta^t; Keras' "epsilon hat" would be a constant eps_hat. The rounding is that of
TensorFlow's fused `ResourceApplyAdam` kernel (given eps_hat as its epsilon), so the
TensorFlow backend runs one kernel per tensor. The bias-correction powers are running
float32 products so that no backend's pow() rounding enters the trajectory.

The per-tensor update is `update_generic` below, written with the backend's ops. A backend
may offer `adam_update(params, grads, m, v, coefficients)` that runs the same operations in
the same order, rounding for rounding, in fewer kernel launches (torch: the same ops on flat
buffers of all weights, m and v; TensorFlow: `ResourceApplyAdam`); `tests/test_optim.py`
holds each bit-identical to `update_generic` on its own backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import distributed
from .backends import Backend, BuiltNetwork, Tensor
from .errors import CheckpointError


def _f32(x: float) -> float:
    """A python float that is exactly a float32, so both frameworks see the same constant."""
    return float(np.float32(x))


@dataclass(frozen=True)
class AdamConfig:
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    eps: float = 1e-8
    schedule: str = "constant"
    total_steps: int = 0


@dataclass(frozen=True)
class Coefficients:
    """One step's constants: float32 python floats, or 0-d tensors where they change per step."""

    beta1: float
    beta2: float
    one_minus_beta1: float
    one_minus_beta2: float
    b1t: Any  # beta1^t (tensor), as ResourceApplyAdam's beta1_power
    b2t: Any  # beta2^t (tensor)
    lr: Any  # float, or a tensor under the linear schedule
    eps_hat: Any  # eps * sqrt(1 - beta2^t) (tensor)
    alpha: Any  # lr * sqrt(1 - beta2^t) / (1 - beta1^t) (tensor)


def update_generic(backend: Backend, params: list, grads: list, ms: list, vs: list, k: Coefficients) -> None:
    """The per-tensor update, in the backend's ops (the operation order is the definition)."""
    assign, sqrt = backend.assign, backend.ops.sqrt
    for p, g, m, v in zip(params, grads, ms, vs):
        m_new = m + (g - m) * k.one_minus_beta1
        v_new = v + (g * g - v) * k.one_minus_beta2
        assign(m, m_new)
        assign(v, v_new)
        assign(p, p - (m_new * k.alpha) / (sqrt(v_new) + k.eps_hat))


class Adam:
    """Adam over the trainable tensors of one or more networks; state lives on the backend."""

    def __init__(self, backend: Backend, nets: dict[str, BuiltNetwork], config: AdamConfig):
        self.backend, self.nets, self.config = backend, nets, config
        self.slots = [(prefix, name) for prefix, net in nets.items() for name in net.params]
        self.params = [nets[prefix].params[name] for prefix, name in self.slots]
        zeros = lambda p: backend.variable(np.zeros(tuple(p.shape), np.float32))
        self.m = [zeros(p) for p in self.params]
        self.v = [zeros(p) for p in self.params]
        # beta1^t, beta2^t and t in one variable: one tensor to read, update and write per step
        # instead of three (under XLA each is a kernel of its own, see the README's benchmarks)
        self.powers = backend.variable(np.array([1.0, 1.0, 0.0], np.float32))
        b1, b2 = _f32(config.beta1), _f32(config.beta2)
        self._powers_scale = backend.tensor(np.array([b1, b2, 1.0], np.float32))
        self._powers_shift = backend.tensor(np.array([0.0, 0.0, 1.0], np.float32))

    def apply(self, grads: list[Tensor]) -> None:
        grads = distributed.current().reduce(self.backend, list(grads))  # data-parallel: every rank's, in rank order
        c = self.config
        b1, b2, lr, eps = _f32(c.beta1), _f32(c.beta2), _f32(c.lr), _f32(c.eps)
        one_minus_b1, one_minus_b2 = _f32(1 - np.float32(c.beta1)), _f32(1 - np.float32(c.beta2))
        # (b1t * beta1, b2t * beta2, t + 1): the products and the sum round as when written apart
        powers = self.powers * self._powers_scale + self._powers_shift
        self.backend.assign(self.powers, powers)
        b1t, b2t, t = powers[0], powers[1], powers[2]
        if c.schedule == "linear":
            lr = lr * (1.0 - (t - 1.0) / float(max(c.total_steps, 1)))
        sqrt_c2 = self.backend.ops.sqrt(1.0 - b2t)
        alpha = lr * sqrt_c2 / (1.0 - b1t)  # ResourceApplyAdam's order: (lr * sqrt(c2)) / c1
        k = Coefficients(b1, b2, one_minus_b1, one_minus_b2, b1t, b2t, lr, eps * sqrt_c2, alpha)
        fused = getattr(self.backend, "adam_update", None)
        if fused is not None:
            fused(self.params, list(grads), self.m, self.v, k)
        else:
            update_generic(self.backend, self.params, list(grads), self.m, self.v, k)

    @property
    def updates(self) -> int:
        """How many updates it has applied (t, read from the device)."""
        return int(np.asarray(self.backend.numpy(self.powers))[2])

    def state_dict(self) -> dict[str, np.ndarray]:
        """Canonical-layout optimizer state, for checkpoints."""
        to_np = self.backend.numpy
        b1t, b2t, t = (np.asarray(x) for x in to_np(self.powers))
        out = {"b1t": b1t, "b2t": b2t, "t": t}
        for (prefix, name), m, v in zip(self.slots, self.m, self.v):
            net = self.nets[prefix]
            out[f"m.{prefix}.{name}"] = net.to_canonical(name, m)
            out[f"v.{prefix}.{name}"] = net.to_canonical(name, v)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Assign the state; every tensor's presence and shape is checked first (CheckpointError)."""
        expected: dict[str, tuple[int, ...]] = {"b1t": (), "b2t": (), "t": ()}
        for prefix, name in self.slots:
            shape = {p.name: tuple(p.shape) for p in self.nets[prefix].spec.params()}[name]
            expected[f"m.{prefix}.{name}"] = expected[f"v.{prefix}.{name}"] = shape
        missing = sorted(set(expected) - set(state))
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise CheckpointError(f"optimizer state does not match the model: missing {missing[:3]}{more}")
        for key, shape in expected.items():
            got = tuple(np.shape(state[key]))
            if got != shape and not (shape == () and got in ((1,),)):
                raise CheckpointError(f"optimizer tensor {key!r} has shape {got}, the model needs {shape}")
        assign, tensor = self.backend.assign, self.backend.tensor
        powers = [np.asarray(state[key], np.float32).reshape(()) for key in ("b1t", "b2t", "t")]
        assign(self.powers, tensor(np.stack(powers)))
        for (prefix, name), m, v in zip(self.slots, self.m, self.v):
            net = self.nets[prefix]
            assign(m, net.from_canonical(name, state[f"m.{prefix}.{name}"]))
            assign(v, net.from_canonical(name, state[f"v.{prefix}.{name}"]))

"""Adam, written once: the exact formula both backends run.

For step t = 1, 2, ... and every parameter p with gradient g (float32 throughout):

    m   <- beta1 * m + (1 - beta1) * g
    v   <- beta2 * v + (1 - beta2) * g * g
    b1t <- b1t * beta1          (running products, b1t = beta1^t, no pow())
    b2t <- b2t * beta2
    p   <- p - lr_t * (m / (1 - b1t)) / (sqrt(v / (1 - b2t)) + eps)

with lr_t = lr (schedule "constant") or lr * (1 - (t - 1) / T) (schedule "linear", T total
steps), t kept as a float32 counter.

This is PyTorch's `torch.optim.Adam` placement of epsilon (added to the bias-corrected
sqrt(v)), not Keras' "epsilon hat". The bias-correction powers are running float32
products so that no backend's pow() rounding enters the trajectory.

The per-tensor update is `update_generic` below, written with the backend's ops. A backend
may offer `adam_update(params, grads, m, v, coefficients)` that runs the same operations in
the same order, rounding for rounding, in fewer kernel launches (torch: in-place multi-tensor
`_foreach` ops; a test holds it bit-identical to `update_generic`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend import Backend, Net, Tensor


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
    eps: float
    lr: Any  # float, or a tensor under the linear schedule
    c1: Any  # 1 - beta1^t (tensor)
    c2: Any  # 1 - beta2^t (tensor)


def update_generic(backend: Backend, params: list, grads: list, ms: list, vs: list, k: Coefficients) -> None:
    """The per-tensor update, in the backend's ops (the operation order is the definition)."""
    assign, sqrt = backend.assign, backend.ops.sqrt
    for p, g, m, v in zip(params, grads, ms, vs):
        m_new = k.beta1 * m + k.one_minus_beta1 * g
        v_new = k.beta2 * v + k.one_minus_beta2 * (g * g)
        assign(m, m_new)
        assign(v, v_new)
        assign(p, p - k.lr * (m_new / k.c1) / (sqrt(v_new / k.c2) + k.eps))


class Adam:
    """Adam over the trainable tensors of one or more networks; state lives on the backend."""

    def __init__(self, backend: Backend, nets: dict[str, Net], config: AdamConfig):
        self.backend, self.nets, self.config = backend, nets, config
        self.slots = [(prefix, name) for prefix, net in nets.items() for name in net.params]
        self.params = [nets[prefix].params[name] for prefix, name in self.slots]
        zeros = lambda p: backend.variable(np.zeros(tuple(p.shape), np.float32))  # noqa: E731
        self.m = [zeros(p) for p in self.params]
        self.v = [zeros(p) for p in self.params]
        self.b1t = backend.variable(np.ones((), np.float32))
        self.b2t = backend.variable(np.ones((), np.float32))
        self.t = backend.variable(np.zeros((), np.float32))

    def apply(self, grads: list[Tensor]) -> None:
        c = self.config
        b1, b2, lr, eps = _f32(c.beta1), _f32(c.beta2), _f32(c.lr), _f32(c.eps)
        one_minus_b1, one_minus_b2 = _f32(1 - np.float32(c.beta1)), _f32(1 - np.float32(c.beta2))
        assign = self.backend.assign
        b1t = self.b1t * b1
        b2t = self.b2t * b2
        t = self.t + 1.0
        assign(self.b1t, b1t)
        assign(self.b2t, b2t)
        assign(self.t, t)
        if c.schedule == "linear":
            lr = lr * (1.0 - (t - 1.0) / float(max(c.total_steps, 1)))
        k = Coefficients(b1, b2, one_minus_b1, one_minus_b2, eps, lr, 1.0 - b1t, 1.0 - b2t)
        fused = getattr(self.backend, "adam_update", None)
        if fused is not None:
            fused(self.params, list(grads), self.m, self.v, k)
        else:
            update_generic(self.backend, self.params, list(grads), self.m, self.v, k)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Canonical-layout optimizer state, for checkpoints."""
        to_np = self.backend.numpy
        out = {"b1t": to_np(self.b1t), "b2t": to_np(self.b2t), "t": to_np(self.t)}
        for (prefix, name), m, v in zip(self.slots, self.m, self.v):
            net = self.nets[prefix]
            out[f"m.{prefix}.{name}"] = net.to_canonical(name, m)
            out[f"v.{prefix}.{name}"] = net.to_canonical(name, v)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        assign, tensor = self.backend.assign, self.backend.tensor
        for key, var in (("b1t", self.b1t), ("b2t", self.b2t), ("t", self.t)):
            assign(var, tensor(np.asarray(state[key], np.float32).reshape(())))
        for (prefix, name), m, v in zip(self.slots, self.m, self.v):
            net = self.nets[prefix]
            assign(m, net.from_canonical(name, state[f"m.{prefix}.{name}"]))
            assign(v, net.from_canonical(name, state[f"v.{prefix}.{name}"]))

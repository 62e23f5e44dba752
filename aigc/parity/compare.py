"""Comparing two traces: a table of quantities, their differences, tolerances, pass/fail.

Quantities up to the model family's strict horizon are checked against the tolerances in
`tolerances.py`; later ones are listed for information only, because float32 rounding
amplified by the training dynamics separates two runs after that (the divergence report
measures this, and shows a 1-ulp perturbation of one backend separates the same way).

One exception inside the horizon, `adam_eps_regime`: Adam's first step moves a weight by
u = lr * g / (|g| + eps). Where |g| is of eps's size (a gradient whose true value is ~0, a
remainder of cancelling terms) u is linear in g with slope lr / eps, so a gradient
difference of 1e-9, far inside the gradient tolerance, moves the weight by up to lr. Such
a weight is excused from the weight rows when the gradients implied by both backends'
first steps, g = eps * (u / lr) / (1 - |u / lr|), agree within GRAD_ATOL; the excused
count and their largest difference are reported in their own row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import tolerances as tol
from .trace import Trace


@dataclass
class Row:
    quantity: str
    max_abs: float
    max_rel: float
    rtol: float | None  # None: reported, not checked
    atol: float | None
    scale: float  # max |x| over both traces: what rtol is relative to

    @property
    def checked(self) -> bool:
        return self.rtol is not None

    @property
    def passed(self) -> bool:
        return not self.checked or self.max_abs <= self.atol + self.rtol * self.scale


def _diff(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = float(max(np.max(np.abs(a)), np.max(np.abs(b)))) if a.size else 0.0
    return d, d / scale if scale > 0 else 0.0, scale


def _row(name: str, a, b, checked: bool, rtol: float, atol: float) -> Row:
    d, rel, scale = _diff(a, b)
    return Row(name, d, rel, rtol if checked else None, atol if checked else None, scale)


def weight_divergence(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Max over tensors of max|a - b| / max|a|: the curve the divergence report plots."""
    return max(_diff(a[k], b[k])[1] for k in a)


def adam_eps_regime(a: Trace, b: Trace) -> dict[str, np.ndarray]:
    """Per weight tensor, the elements whose step-1 difference is Adam's first step at |g| ~ eps
    explained by implied gradients within GRAD_ATOL (module docstring). Only tensors that
    took exactly one Adam step by trace step 1 (a critic with n_critic > 1 took more)."""
    if not {0, 1} <= set(a.weights) & set(b.weights):
        return {}
    optim = a.config["optim"]
    lr, eps = np.float64(np.float32(optim["lr"])), np.float64(np.float32(optim["eps"]))
    one_step = a.config["model"].get("n_critic", 1) == 1
    excused = {}
    for key in a.weights[1]:
        net, _, name = key.partition(".")
        if net.endswith("_ema") or not name.endswith(("kernel", "bias", "gamma", "beta", "embeddings")):
            continue
        if net.startswith("D") and not one_step:
            continue
        implied = []
        for t in (a, b):
            ratio = np.clip((np.asarray(t.weights[0][key], np.float64) - t.weights[1][key]) / lr, -1.0, 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                implied.append(eps * ratio / (1.0 - np.abs(ratio)))
        gap = np.abs(np.asarray(a.weights[1][key], np.float64) - b.weights[1][key])
        with np.errstate(invalid="ignore"):
            mask = (gap > tol.TRAJECTORY_WEIGHT_ATOL) & (np.abs(implied[0] - implied[1]) <= tol.GRAD_ATOL)
        if mask.any():
            excused[key] = mask
    return excused


def compare(a: Trace, b: Trace) -> list[Row]:
    """Rows for losses (per strict window and after), weights and samples at each snapshot."""
    if a.metric_names != b.metric_names or a.steps != b.steps:
        raise ValueError(f"traces differ in shape: {a.metric_names} x {a.steps} vs {b.metric_names} x {b.steps}")
    horizon = tol.strict_horizon(a.config["model"]["name"])
    rows = []
    for j, name in enumerate(a.metric_names):
        strict = min(horizon, a.steps)
        rows.append(
            _row(
                f"loss.{name} steps 1-{strict}",
                a.losses[:strict, j],
                b.losses[:strict, j],
                True,
                tol.TRAJECTORY_LOSS_RTOL,
                tol.TRAJECTORY_LOSS_ATOL,
            )
        )
        if a.steps > strict:
            rows.append(
                _row(
                    f"loss.{name} steps {strict + 1}-{a.steps}", a.losses[strict:, j], b.losses[strict:, j], False, 0, 0
                )
            )
    excused = adam_eps_regime(a, b)
    for step in sorted(set(a.weights) & set(b.weights)):
        checked = step <= horizon
        names = sorted(a.weights[step])
        keep = {k: ~excused[k].ravel() if checked and k in excused else slice(None) for k in names}
        wa = np.concatenate([a.weights[step][k].ravel()[keep[k]] for k in names])
        wb = np.concatenate([b.weights[step][k].ravel()[keep[k]] for k in names])
        rows.append(_row(f"weights @ step {step}", wa, wb, checked, 0.0, tol.TRAJECTORY_WEIGHT_ATOL))
        if checked and excused and step >= 1:
            ea = np.concatenate([a.weights[step][k].ravel()[excused[k].ravel()] for k in excused])
            eb = np.concatenate([b.weights[step][k].ravel()[excused[k].ravel()] for k in excused])
            rows.append(_row(f"  {len(ea)} at |g|~eps (Adam) @ {step}", ea, eb, False, 0, 0))
        rows.append(
            _row(
                f"samples @ step {step}",
                a.samples[step],
                b.samples[step],
                checked,
                0.0,
                tol.SAMPLE_ATOL if step == 0 else tol.TRAJECTORY_SAMPLE_ATOL,
            )
        )
    return rows


def format_table(rows: list[Row], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'quantity':<34} {'max abs diff':>12} {'max rel diff':>12} {'tolerance':>18}  result")
    for r in rows:
        t = f"{r.atol:.0e}+{r.rtol:.0e}*|x|" if r.checked and r.rtol else (f"{r.atol:.0e}" if r.checked else "-")
        result = ("pass" if r.passed else "FAIL") if r.checked else "info"
        lines.append(f"{r.quantity:<34} {r.max_abs:>12.3e} {r.max_rel:>12.3e} {t:>18}  {result}")
    failed = sum(r.checked and not r.passed for r in rows)
    checked = sum(r.checked for r in rows)
    lines.append(f"{checked - failed} passed, {failed} failed")
    return "\n".join(lines)

"""Comparing two traces: a table of quantities, their differences, tolerances, pass/fail.

Quantities up to the model family's strict horizon are checked against the tolerances in
`tolerances.py`; later ones are listed for information only, because float32 rounding
amplified by the training dynamics separates two runs after that (the divergence report
measures this, and shows a 1-ulp perturbation of one backend separates the same way).
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


def compare(a: Trace, b: Trace) -> list[Row]:
    """Rows for losses (per strict window and after), weights and samples at each snapshot."""
    if a.metric_names != b.metric_names or a.steps != b.steps:
        raise ValueError(f"traces differ in shape: {a.metric_names} x {a.steps} vs {b.metric_names} x {b.steps}")
    horizon = tol.strict_horizon(a.config["model"]["name"])
    rows = []
    for j, name in enumerate(a.metric_names):
        strict = min(horizon, a.steps)
        rows.append(_row(f"loss.{name} steps 1-{strict}", a.losses[:strict, j], b.losses[:strict, j], True,
                         tol.TRAJECTORY_LOSS_RTOL, tol.TRAJECTORY_LOSS_ATOL))
        if a.steps > strict:
            rows.append(_row(f"loss.{name} steps {strict + 1}-{a.steps}", a.losses[strict:, j], b.losses[strict:, j],
                             False, 0, 0))
    for step in sorted(set(a.weights) & set(b.weights)):
        checked = step <= horizon
        names = sorted(a.weights[step])
        wa = np.concatenate([a.weights[step][k].ravel() for k in names])
        wb = np.concatenate([b.weights[step][k].ravel() for k in names])
        rows.append(_row(f"weights @ step {step}", wa, wb, checked, 0.0, tol.TRAJECTORY_WEIGHT_ATOL))
        rows.append(_row(f"samples @ step {step}", a.samples[step], b.samples[step], checked, 0.0,
                         tol.SAMPLE_ATOL if step == 0 else tol.TRAJECTORY_SAMPLE_ATOL))
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

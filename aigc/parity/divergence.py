"""The divergence report: how far the backends' weights drift apart, step by step.

For each config, runs from the same weights, batches and noise: one per installed backend,
and the first backend (torch) again with one initial weight moved by one float32 ulp. If
each pair of backends (torch vs TensorFlow, ...) grows like torch-vs-perturbed-torch, the
difference is float32 rounding amplified by the training dynamics, not a mismatch between
the backends.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from .compare import weight_divergence
from .trace import record

LABELS = {"tensorflow": "TensorFlow", "jax": "JAX"}  # as the tables name the backends


def curves(config_path: str, steps: int, every: int = 10, backends: list[str] | None = None) -> dict:
    """Per pair of `backends` (default: every installed one) "A_vs_B", and for the control
    "A_vs_A_1ulp" (A the first), the max relative weight difference at each snapshot step;
    "loss_rel_..." the same for the losses at every step."""
    from .. import backends as registry
    from .. import config

    names = backends or registry.installed()
    snaps = sorted({0, 1, 2, 5, *range(every, steps + 1, every)})
    load = lambda b: config.load(config_path, [f"backend={b}", "train.progress=false"])
    runs = {b: record(load(b), steps, snapshots=snaps) for b in names}
    first = names[0]
    runs[f"{first}_1ulp"] = record(load(first), steps, perturb=True, snapshots=snaps)
    loss_rel = lambda a, b: np.abs(a.losses - b.losses).max(axis=1) / np.maximum(np.abs(a.losses).max(axis=1), 1e-12)
    pairs = [*itertools.combinations(names, 2), (first, f"{first}_1ulp")]
    out = {"config": config_path, "model": runs[first].config["model"]["name"], "steps": snaps, "pairs": pairs}
    for a, b in pairs:
        out[f"{a}_vs_{b}"] = [weight_divergence(runs[a].weights[s], runs[b].weights[s]) for s in snaps]
    for a, b in pairs:
        out[f"loss_rel_{a}_vs_{b}"] = loss_rel(runs[a], runs[b]).tolist()
    return out


def _pairs(r: dict) -> list[tuple[str, str, str]]:
    """(key, label, line style) per curve of a result; results written before "pairs" compared torch
    and TensorFlow."""
    pairs = r.get("pairs", [("torch", "tensorflow"), ("torch", "torch_1ulp")])
    out = []
    for a, b in pairs:
        control = b == f"{a}_1ulp"
        label = (
            f"{LABELS.get(a, a)} vs {LABELS.get(a, a)} (1 ulp)"
            if control
            else f"{LABELS.get(a, a)} vs {LABELS.get(b, b)}"
        )
        out.append((f"{a}_vs_{b}", label, "--" if control else "-"))
    return out


def table(results: list[dict], at: tuple[int, ...] = (1, 10, 20, 50, 100, 200, 500)) -> str:
    """Markdown: max relative weight difference at selected steps."""
    head = "| model | pair | " + " | ".join(f"step {s}" for s in at) + " |"
    lines = [head, "|" + "---|" * (len(at) + 2)]
    for r in results:
        for key, label, _ in _pairs(r):
            cells = [f"{r[key][r['steps'].index(s)]:.1e}" if s in r["steps"] else "" for s in at]
            lines.append(f"| {r['model']} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4), dpi=100, squeeze=False)
    for ax, r in zip(axes[0], results):
        x = np.array(r["steps"][1:])
        for key, label, style in _pairs(r):
            ax.semilogy(x, np.maximum(r[key][1:], 1e-9), style, label=label.replace(" (1 ulp)", ", 1 ulp moved"))
        ax.set_xlabel("step")
        ax.set_ylabel("max relative weight difference")
        ax.set_title(r["model"])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(config_paths: list[str], steps: int, out: Path, backends: list[str] | None = None) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    results = [curves(p, steps, backends=backends) for p in config_paths]
    (out / "divergence.json").write_text(json.dumps(results, indent=1) + "\n")
    plot(results, out / "divergence.png")
    print(table(results))
    print(f"wrote {out / 'divergence.png'} and {out / 'divergence.json'}")
    return results

"""The divergence report: how far two backends' weights drift apart, step by step.

For each config, three runs from the same weights, batches and noise: torch, TensorFlow,
and torch again with one initial weight moved by one float32 ulp. If torch-vs-TensorFlow
grows like torch-vs-perturbed-torch, the difference is float32 rounding amplified by the
training dynamics, not a mismatch between the backends.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .compare import weight_divergence
from .trace import record


def curves(config_path: str, steps: int, every: int = 10) -> dict:
    from .. import config

    snaps = sorted({0, 1, 2, 5, *range(every, steps + 1, every)})
    load = lambda b: config.load(config_path, [f"backend={b}", "train.progress=false"])
    torch_run = record(load("torch"), steps, snapshots=snaps)
    tf_run = record(load("tensorflow"), steps, snapshots=snaps)
    control = record(load("torch"), steps, perturb=True, snapshots=snaps)
    loss_rel = lambda a, b: np.abs(a.losses - b.losses).max(axis=1) / np.maximum(np.abs(a.losses).max(axis=1), 1e-12)
    return {
        "config": config_path,
        "model": torch_run.config["model"]["name"],
        "steps": snaps,
        "torch_vs_tensorflow": [weight_divergence(torch_run.weights[s], tf_run.weights[s]) for s in snaps],
        "torch_vs_torch_1ulp": [weight_divergence(torch_run.weights[s], control.weights[s]) for s in snaps],
        "loss_rel_torch_vs_tensorflow": loss_rel(torch_run, tf_run).tolist(),
        "loss_rel_torch_vs_torch_1ulp": loss_rel(torch_run, control).tolist(),
    }


def table(results: list[dict], at: tuple[int, ...] = (1, 10, 20, 50, 100, 200, 500)) -> str:
    """Markdown: max relative weight difference at selected steps."""
    head = "| model | pair | " + " | ".join(f"step {s}" for s in at) + " |"
    lines = [head, "|" + "---|" * (len(at) + 2)]
    for r in results:
        for key, label in (
            ("torch_vs_tensorflow", "torch vs TensorFlow"),
            ("torch_vs_torch_1ulp", "torch vs torch (1 ulp)"),
        ):
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
        ax.semilogy(x, np.maximum(r["torch_vs_tensorflow"][1:], 1e-9), label="torch vs TensorFlow")
        ax.semilogy(x, np.maximum(r["torch_vs_torch_1ulp"][1:], 1e-9), "--", label="torch vs torch, 1 ulp moved")
        ax.set_xlabel("step")
        ax.set_ylabel("max relative weight difference")
        ax.set_title(r["model"])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(config_paths: list[str], steps: int, out: Path) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    results = [curves(p, steps) for p in config_paths]
    (out / "divergence.json").write_text(json.dumps(results, indent=1) + "\n")
    plot(results, out / "divergence.png")
    print(table(results))
    print(f"wrote {out / 'divergence.png'} and {out / 'divergence.json'}")
    return results

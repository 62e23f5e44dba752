"""Sample pictures: a PNG grid for images (Pillow), a scatter plot for 2-D points (matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def image_grid(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """NHWC images in [0, 1] -> one uint8 (H', W', C) grid with 1-pixel gaps."""
    n, h, w, c = images.shape
    cols = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.ones((rows * (h + 1) + 1, cols * (w + 1) + 1, c), np.float32)
    for i, img in enumerate(np.clip(images, 0.0, 1.0)):
        r, q = divmod(i, cols)
        grid[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + q * (w + 1) : 1 + q * (w + 1) + w] = img
    return (grid * 255).round().astype(np.uint8)


def save_image_grid(images: np.ndarray, path: str | Path, scale: int = 4, columns: int | None = None) -> None:
    from PIL import Image

    grid = image_grid(images, columns)
    mode = "L" if grid.shape[2] == 1 else "RGB"
    img = Image.fromarray(grid[..., 0] if mode == "L" else grid, mode)
    img.resize((img.width * scale, img.height * scale), Image.NEAREST).save(path)


def save_scatter(points: np.ndarray, path: str | Path, centers: np.ndarray | None = None, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, label="samples")
    if centers is not None:
        ax.scatter(centers[:, 0], centers[:, 1], s=30, marker="x", color="red", label="modes")
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def save_samples(
    samples: np.ndarray,
    path: str | Path,
    centers: np.ndarray | None = None,
    title: str = "",
    columns: int | None = None,
) -> None:
    """Images (rank 4) as a grid (`columns` per row), points (rank 2) as a scatter plot."""
    if samples.ndim == 4:
        save_image_grid(samples, path, columns=columns)
    else:
        save_scatter(samples, path, centers, title)

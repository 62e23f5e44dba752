"""The 8x8 handwritten digits that scikit-learn ships inside its package (no download)."""

from __future__ import annotations

import numpy as np

from ..errors import DatasetError


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Images NHWC float32 in [0, 1] (1797 x 8 x 8 x 1) and their labels."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise DatasetError("the digits dataset ships with scikit-learn: pip install scikit-learn") from None
    bunch = sk_load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[..., None]
    return images, bunch.target.astype(np.int64)

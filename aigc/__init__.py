"""aigc: GANs and VAEs written once, trained on PyTorch or TensorFlow/Keras.

This package never imports a framework; backends are plugins (`aigc.backends` entry points).
"""

from __future__ import annotations

__version__ = "0.1.0"


def train(*args, **kwargs):
    """See `aigc.api.train`."""
    from .api import train as _train

    return _train(*args, **kwargs)


def load(*args, **kwargs):
    """See `aigc.api.load`."""
    from .api import load as _load

    return _load(*args, **kwargs)


__all__ = ["train", "load", "__version__"]

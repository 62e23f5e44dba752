"""The training batches, prepared one step ahead in a background thread.

A batch is gathered from the dataset, binarised if the dataset asks for a fresh draw per
batch, and mapped to the model's range while the previous step runs. What a batch holds
depends only on the run's seed and the batch's position, never on timing or on the step's
noise generator, so resuming from a checkpoint's position gives exactly the same batches.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import numpy as np

from ..data import Dataset, binarize
from .batches import Batches

AHEAD = 2  # batches prepared ahead of the step


class Feed:
    """`next()` returns the next batch; `state()` is the position after the last one returned
    (what a checkpoint stores), `seek()` continues from such a position. Use it as a context
    manager (or call `close()`) so the thread stops."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        seed: int,
        to_model_range: Callable[[np.ndarray], np.ndarray],
        labels: bool = False,
    ):
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.to_model_range, self.labels = to_model_range, labels
        self._position = {"epoch": 0, "offset": 0}
        self._thread: threading.Thread | None = None

    def prepare(self, batches: Batches) -> tuple[np.ndarray, np.ndarray | None, dict]:
        """The next batch from `batches`, ready for the step, its labels if the feed was
        asked for them, and the position after it."""
        idx = batches.next()
        x = self.dataset.x[idx]
        position = batches.state()
        if self.dataset.binarize_each_batch:
            x = binarize.bernoulli(x, binarize.dynamic_rng(self.seed, **position))
        return self.to_model_range(x), self.dataset.labels[idx] if self.labels else None, position

    def next(self) -> np.ndarray:
        return self.next_labeled()[0]

    def next_labeled(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The next batch and its labels (None unless the feed was built with `labels=True`)."""
        if self._thread is None:
            self._start()
        item = self._queue.get()
        if isinstance(item, BaseException):
            self.close()
            raise item
        batch, labels, self._position = item
        return batch, labels

    def state(self) -> dict:
        return dict(self._position)

    def seek(self, epoch: int, offset: int) -> None:
        """Continue after the batch that ended at `offset` of `epoch`; batches prepared ahead are dropped."""
        self.close()
        self._position = {"epoch": epoch, "offset": offset}

    def close(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                self._queue.get(timeout=0.01)
            except queue.Empty:
                pass
        self._thread = None

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        batches = Batches(len(self.dataset.x), self.batch_size, self.seed, **self._position)
        self._queue: queue.Queue = queue.Queue(maxsize=AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._produce, args=(batches, self._queue, self._stop), name="aigc-feed", daemon=True
        )
        self._thread.start()

    def _produce(self, batches: Batches, out: queue.Queue, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                out.put(self.prepare(batches))
        except BaseException as exc:  # handed to the training thread, raised by next()
            out.put(exc)

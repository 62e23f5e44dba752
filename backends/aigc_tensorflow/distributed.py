"""TensorFlow's MultiWorkerMirroredStrategy for aigc's data-parallel world (aigc/distributed).

The strategy reads TF_CONFIG, starts this worker's server and configures TensorFlow's
collective ops; it must exist before TensorFlow's runtime starts (`TensorFlowBackend.join`
is called before any model is built). aigc's variables stay ordinary variables: every rank
starts from the same seed and applies the same reduced gradients, so they stay identical
without mirroring. A training step runs inside `strategy.run` (one replica per worker).

The gathers are the strategy's collective op, `CollectiveGatherV2`, called directly in a
group of aigc's own: every rank's tensor in rank order, no arithmetic, so the core's own
sum in rank order decides the rounding. (The replica context's `all_gather` pads for
tensors of unequal shapes, gathering the shapes first: traced, a DCGAN step took 7x as
long to build and each gather 3x as long to run.) Instance keys are taken in program
order at trace time, the same on every rank, as the strategy does for its own.
"""

from __future__ import annotations

import itertools

import tensorflow as tf

from aigc.distributed import Launch, World

from .batchnorm import PinnedBatchNorm

GROUP_KEY = 0x5E15  # aigc's collective group (the strategy numbers its own from 1)
_made: dict = {}


def collectives(launch: Launch) -> TensorFlowCollectives:
    """The process's one strategy: TensorFlow's collectives are configured once, at start."""
    if launch not in _made:
        _made[launch] = TensorFlowCollectives(launch)
    return _made[launch]


class TensorFlowCollectives:
    def __init__(self, launch: Launch):
        self.size = launch.size
        self.strategy = tf.distribute.MultiWorkerMirroredStrategy()
        if self.strategy.num_replicas_in_sync != launch.size:
            raise RuntimeError(f"TF_CONFIG's {launch.size} workers make {self.strategy.num_replicas_in_sync} replicas")
        self._keys = itertools.count(1 << 20)
        self._gather_host = tf.function(lambda x: self.strategy.run(self._stacked, args=(x,)))

    def _stacked(self, x):
        """(size, *x.shape): every rank's x in rank order."""
        return tf.raw_ops.CollectiveGatherV2(
            input=tf.expand_dims(x, 0),
            group_size=self.size,
            group_key=GROUP_KEY,
            instance_key=next(self._keys),
            ordering_token=[],
        )

    def gather(self, x) -> list:
        every = self._stacked(x)
        return [every[i] for i in range(self.size)]

    def gather_host(self, x):
        return self._gather_host(tf.constant(x)).numpy()

    def wrap_step(self, fn):
        @tf.autograph.experimental.do_not_convert
        def step(*args, **kwargs):
            return self.strategy.run(fn, args=args, kwargs=kwargs)

        return step

    def sync_batchnorm(self, net, world: World) -> None:
        for layer in net.native.layers:
            if isinstance(layer, PinnedBatchNorm):
                layer.sync = lambda x, gamma, beta, eps: synced_normalize(world, x, gamma, beta, eps)

    def peer_failure(self, exc: BaseException) -> bool:
        return isinstance(exc, (tf.errors.UnavailableError, tf.errors.CancelledError, tf.errors.DeadlineExceededError))

    def close(self) -> None:
        pass


def synced_normalize(world: World, x, gamma, beta, eps: float):
    """None outside a training step (the layer's own statistics), else (y, mean, biased
    variance, count) over every rank's rows: `batchnorm._normalize` with its sums gathered
    and added in rank order, forward (two passes) and backward."""
    if not world.stepping:
        return None
    axes = list(range(len(x.shape) - 1))
    n = float(x.shape.num_elements() // x.shape[-1] * world.size)

    @tf.custom_gradient
    def normalize(x, gamma, beta):
        mean = world.sum(tf.reduce_sum(x, axes)) / n
        centered = x - mean
        var = world.sum(tf.reduce_sum(tf.square(centered), axes)) / n
        invstd = tf.math.rsqrt(var + eps)
        scale = invstd * gamma
        y = x * scale + (beta - mean * scale)

        def grad(dy, _dmean, _dvar):
            local_dy, local_dot = tf.reduce_sum(dy, axes), tf.reduce_sum(centered * dy, axes)
            both = world.sum(tf.concat([local_dy, local_dot], 0))
            c = tf.shape(local_dy)[0]
            sum_dy, dot = both[:c], both[c:]
            k = dot * invstd * invstd / n
            dx = (dy * scale - (sum_dy / n) * scale) - centered * (k * scale)
            return dx, local_dot * invstd, local_dy

        return (y, tf.stop_gradient(mean), tf.stop_gradient(var)), grad

    return (*normalize(x, gamma, beta), n)

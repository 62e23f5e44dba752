"""torch.distributed for aigc's data-parallel world (aigc/distributed): gloo on the CPU,
NCCL on CUDA; the process group comes from torchrun's variables (`env://`).

The core decides what is reduced and in which order; this module gives it `all_gather`
(each rank's tensor, in rank order: no arithmetic, so exact) and BatchNorm whose batch
statistics and their gradients are sums over every rank's rows (`world.sum`).
"""

from __future__ import annotations

import atexit
import datetime
import types

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from aigc.distributed import Launch, World

TIMEOUT_S = 1800  # a collective waits this long for a peer that is alive (rank 0 evaluating)


class TorchCollectives:
    def __init__(self, launch: Launch, device: torch.device):
        self.size, self.device = launch.size, device
        if not dist.is_initialized():
            engine = "nccl" if device.type == "cuda" else "gloo"
            dist.init_process_group(engine, timeout=datetime.timedelta(seconds=TIMEOUT_S))
            atexit.register(_destroy)
        if dist.get_world_size() != launch.size or dist.get_rank() != launch.rank:
            raise RuntimeError("torch.distributed's rank and size differ from the launch's")

    def gather(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x.detach().contiguous()
        out = [torch.empty_like(x) for _ in range(self.size)]
        dist.all_gather(out, x)
        return out

    def gather_host(self, x: np.ndarray) -> np.ndarray:
        parts = self.gather(torch.from_numpy(np.ascontiguousarray(x)).to(self.device))
        return np.stack([p.cpu().numpy() for p in parts])

    def wrap_step(self, fn):
        return fn

    def sync_batchnorm(self, net, world: World) -> None:
        """Each BatchNorm module of the net takes synchronised statistics while `world` steps
        (its own forward otherwise: evaluation, sampling, precise BatchNorm)."""
        for module in net.native.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and not hasattr(module, "_aigc_local_forward"):
                module._aigc_local_forward = module.forward
                module.forward = types.MethodType(_synced_forward(world), module)

    def peer_failure(self, exc: BaseException) -> bool:
        return isinstance(exc, dist.DistError) or (
            isinstance(exc, RuntimeError) and any(s in str(exc) for s in ("Connection closed", "Gloo", "NCCL", "peer"))
        )

    def close(self) -> None:
        """Nothing: the process group serves every run of the process; it ends with it."""


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def _synced_forward(world: World):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and world.stepping):
            return self._aigc_local_forward(x)
        shape = (1, -1) + (1,) * (x.dim() - 2)  # channel axis 1 (NCHW inside the module)
        n = float(x.numel() // x.shape[1] * world.size)
        y, mean, var = _SyncedNorm.apply(x, self.weight, self.bias, self.eps, world, shape, n)
        m = self.momentum
        with torch.no_grad():
            self.running_mean.mul_(1.0 - m).add_(mean, alpha=m)
            self.running_var.mul_(1.0 - m).add_(var * (n / (n - 1.0)), alpha=m)
            self.num_batches_tracked.add_(1)
        return y

    return forward


class _SyncedNorm(torch.autograd.Function):
    """BatchNorm over the global batch: y = x * scale + (beta - mean * scale), mean and the
    biased variance from every rank's sums (two passes, as one process computes them);
    backward: dx from the global sums of dy and dy * (x - mean), gamma's and beta's
    gradients from this rank's rows (the core sums the ranks' gradients)."""

    @staticmethod
    def forward(ctx, x, gamma, beta, eps, world, shape, n):
        axes = [0] + list(range(2, x.dim()))
        mean = world.sum(x.sum(axes)) / n
        centered = x - mean.reshape(shape)
        var = world.sum((centered * centered).sum(axes)) / n
        invstd = torch.rsqrt(var + eps)
        scale = invstd * gamma
        y = x * scale.reshape(shape) + (beta - mean * scale).reshape(shape)
        ctx.save_for_backward(centered, invstd, scale)
        ctx.world, ctx.shape, ctx.axes, ctx.n = world, shape, axes, n
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def backward(ctx, dy, _dmean, _dvar):
        centered, invstd, scale = ctx.saved_tensors
        shape, n, c = ctx.shape, ctx.n, invstd.numel()
        local_dy, local_dot = dy.sum(ctx.axes), (centered * dy).sum(ctx.axes)
        both = ctx.world.sum(torch.cat([local_dy, local_dot]))
        sum_dy, dot = both[:c], both[c:]
        k = dot * invstd * invstd / n
        dx = (dy * scale.reshape(shape) - (sum_dy / n * scale).reshape(shape)) - centered * (k * scale).reshape(shape)
        return dx, local_dot * invstd, local_dy, None, None, None, None


def launch(nproc: int, argv: list[str], port: int | None, out: str) -> int:
    """`aigc *argv` in `nproc` workers started by torch's own launcher (torchrun, standalone
    on this machine: its rendezvous on a free port, or on `port`); a failed worker is one
    line naming its rank (torchrun stops the others). torchrun starts its workers in
    sessions of their own and forwards SIGINT/SIGTERM to them once: each saves its
    checkpoint at the step boundary, as one process does."""
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    from aigc.distributed.launch import cause, describe_exit, failed, free_ports

    if port is None:
        rendezvous = ["--standalone"]
    else:
        endpoint = f"127.0.0.1:{free_ports(1, port)[0]}"
        rendezvous = ["--nnodes", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint]
    args = get_args_parser().parse_args([*rendezvous, "--nproc-per-node", str(nproc), "-m", "aigc", *argv])
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)  # its report: our one line
    try:
        run(args)
    except SignalException as exc:
        return 128 + int(exc.sigval)
    except ChildFailedError as exc:
        codes = {f.exitcode for f in exc.failures.values()}
        if codes <= {130, 143}:
            return max(codes)  # interrupted: the workers said so themselves
        rank = cause({r: f.exitcode for r, f in exc.failures.items()})
        raise failed(rank, nproc, describe_exit(exc.failures[rank].exitcode), out) from None
    return 0

"""What the timer needs from each framework: wait for the device, peak device memory, versions.

Imported only inside a worker process, which imports just the framework it measures.
"""

from __future__ import annotations

from collections.abc import Callable


def set_threads(framework: str, setting: int | str | None) -> int | None:
    """Import the framework (torch before anything else) and give it the threads that
    `train.threads=setting` would (None or `framework`: its default, one per core); the
    number set, or None."""
    from aigc import threads

    if framework == "jax":  # XLA's threads are fixed when it starts: set before the import
        if setting in (None, threads.FRAMEWORK):
            return None
        from aigc_jax import JaxBackend

        n = threads.choose(threads.parse_setting(setting)).threads
        JaxBackend().set_threads(n)
        return JaxBackend().get_threads()
    if framework == "torch":
        import torch
    else:
        import tensorflow as tf
    if setting in (None, threads.FRAMEWORK):
        return None
    n = threads.choose(threads.parse_setting(setting)).threads
    if framework == "torch":
        torch.set_num_threads(n)
    else:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
    return n


def strict_fp32(framework: str) -> None:
    """No TF32 (TensorFlow's default on Ampere and later GPUs, torch's for cuDNN convolutions):
    the models' steps and the GEMM reference all run in true fp32. aigc's backends set these
    switches when they are created, so a worker calls this again after building a model."""
    if framework == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return
    if framework == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
        return
    import tensorflow as tf

    tf.config.experimental.enable_tensor_float_32_execution(False)


def tf_device(device: str) -> str:
    """aigc's device name ("cpu", "cuda", "cuda:1") as TensorFlow names it."""
    return "/CPU:0" if device == "cpu" else f"/GPU:{device.partition(':')[2] or '0'}"


def sync(framework: str, device: str) -> Callable[[], None]:
    """A function that returns once the device has finished the work queued so far (the CPU
    runs torch's and TensorFlow's ops synchronously, so there it does nothing; JAX dispatches
    asynchronously everywhere: it waits for every live array)."""
    if framework == "jax":
        import jax

        return lambda: jax.block_until_ready(jax.live_arrays())
    if device == "cpu":
        return lambda: None
    if framework == "torch":
        import torch

        return lambda: torch.cuda.synchronize(device)
    import tensorflow as tf

    return tf.test.experimental.sync_devices


def peak_device_mb(framework: str, device: str) -> float | None:
    """Peak device memory of this process in MiB; None on the CPU (see peak RSS instead) and
    where the framework sees no GPU (a configuration left out, or one that failed)."""
    if device == "cpu" or info(framework, device)["gpu"] is None:
        return None
    if framework == "torch":
        import torch

        return torch.cuda.max_memory_allocated(device) / 2**20
    if framework == "jax":
        import jax

        return jax.devices("gpu")[0].memory_stats()["peak_bytes_in_use"] / 2**20
    import tensorflow as tf

    return tf.config.experimental.get_memory_info(tf_device(device).lstrip("/"))["peak"] / 2**20


def info(framework: str, device: str) -> dict:
    """Version, intra-op threads, and whether (and which) GPU the framework sees."""
    if framework == "torch":
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        return {"version": torch.__version__, "threads": torch.get_num_threads(), "gpu": gpu}
    if framework == "jax":
        import jax
        from aigc_jax import JaxBackend

        gpus = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
        return {"version": jax.__version__, "threads": JaxBackend().get_threads(), "gpu": gpus[0] if gpus else None}
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name) if gpus else None
    threads = tf.config.threading.get_intra_op_parallelism_threads() or None  # 0: TensorFlow's default
    return {"version": tf.__version__, "threads": threads, "gpu": name}

"""The `aigc` command line: train, sample, backends, parity, bench."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from .errors import AigcError, ConfigError, Interrupted


def _train(args: argparse.Namespace) -> int:
    from . import config
    from .training.loop import train

    cfg = config.load(args.config, args.overrides + (["resume=true"] if args.resume else []))
    try:
        run = train(cfg)
    except Interrupted as exc:
        kept = [o for o in args.overrides if not o.startswith("resume=")]
        print(f"aigc: {exc.message(shlex.join(['aigc', 'train', args.config, *kept, 'resume=true']))}", file=sys.stderr)
        return exc.exit_code
    print(f"trained {run.step} steps on {cfg['backend']}: {json.dumps(run.metrics)}")
    if run.evaluation:
        print(f"evaluation: {json.dumps(run.evaluation)}")
    print(f"wrote {run.out}/checkpoint, {run.out}/samples.png, {run.out}/metrics.jsonl")
    return 0


def _labels(text: str | None, model, n: int):
    """`--labels 7` or `--labels 0,3,5` (cycled over the n samples); a conditional model
    without it gets one row per class."""
    import math

    import numpy as np

    if not model.conditional:
        if text is not None:
            raise ConfigError(f"--labels: {model.cfg['model']['name']} is not class-conditional")
        return None, None
    k = model.cfg["model"]["num_classes"]
    if text is None:
        per_class = math.ceil(n / k)
        return np.repeat(np.arange(k), per_class)[:n], per_class
    try:
        wanted = [int(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(f"--labels {text!r}: expected class numbers such as 7 or 0,3,5") from None
    if any(not 0 <= v < k for v in wanted):
        raise ConfigError(f"--labels {text!r}: classes are 0 to {k - 1}")
    return np.resize(np.array(wanted), n), None


def _sample(args: argparse.Namespace) -> int:
    import numpy as np

    from .api import load
    from .plots import save_samples

    out = Path(args.output)
    if out.suffix not in (".npy", ".png"):
        raise ConfigError(f"-o {out}: the output must end in .npy or .png")
    model = load(args.checkpoint, backend=args.backend, device=args.device)
    labels, columns = _labels(args.labels, model, args.n)
    samples = model.sample(args.n, seed=args.seed, **({"labels": labels} if labels is not None else {})).astype(np.float32)
    if out.suffix == ".npy":
        np.save(out, samples)
    else:
        save_samples(samples, out, columns=columns)
    print(f"wrote {args.n} samples from {model.backend.name} to {out}")
    return 0


def _backends(args: argparse.Namespace) -> int:
    from .backend import describe

    for row in describe():
        if row["installed"]:
            print(f"{row['name']:<11} {row['version']:<14} devices: {', '.join(row['devices'])}")
        else:
            print(f"{row['name']:<11} not installed  {row['hint']}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    try:
        from benchmarks.__main__ import main as bench
    except ModuleNotFoundError as exc:
        if exc.name != "benchmarks":
            raise
        raise AigcError("aigc bench runs a clone's benchmarks/: pip install -e . in the repository") from None
    return bench(args.args[1:])  # after the "--" that main() put in


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigc", description="GANs and VAEs on PyTorch or TensorFlow, one config flag apart.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model from a YAML config")
    t.add_argument("config", help="path to a YAML config, e.g. configs/gan_ring8.yaml")
    t.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. backend=tensorflow train.steps=500")
    t.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint (same as resume=true)")
    t.set_defaults(func=_train)

    s = sub.add_parser("sample", help="draw samples from a checkpoint")
    s.add_argument("checkpoint", help="<out>/checkpoint directory or its .safetensors file")
    s.add_argument("-n", type=int, default=64, help="number of samples")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--backend", default=None, help="default: the backend that trained it")
    s.add_argument("--device", default="cpu")
    s.add_argument("--labels", default=None, help="class-conditional models: 7 or 0,3,5 (default: a row per class)")
    s.add_argument("-o", "--output", required=True, help=".npy (raw float32, images NHWC) or .png")
    s.set_defaults(func=_sample)

    b = sub.add_parser("backends", help="list backends, versions and devices")
    b.set_defaults(func=_backends)

    from .parity.cli import add_to

    add_to(sub)
    bench = sub.add_parser("bench", help="benchmarks: both backends vs hand-written loops (python -m benchmarks)",
                           add_help=False)
    bench.add_argument("args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # all that follows is the benchmark's own (options included)
        argv = ["bench", "--", *argv[1:]]
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except AigcError as exc:
        print(f"aigc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aigc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

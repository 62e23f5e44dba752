"""The `aigc` command line: train, sample, eval, classifier train, backends, parity, bench."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import traceback
from pathlib import Path

from .errors import AigcError, ConfigError, Interrupted, excerpt, user_error


def _train(args: argparse.Namespace) -> int:
    from . import config
    from .training.loop import train

    cfg = config.load(args.config, args.overrides + (["resume=true"] if args.resume else []))
    if args.port is not None and args.nproc is None:
        raise ConfigError(f"--port {args.port}: only with --nproc N (the workers' ports)")
    if args.nproc is not None:  # data-parallel workers on this machine (docs/distributed.md)
        from .distributed import launch

        worker = ["train", args.config, *args.overrides, *(["--resume"] if args.resume else [])]
        return launch.run(cfg, args.nproc, args.port, worker)
    try:
        run = train(cfg)
    except Interrupted as exc:
        from .distributed import detect

        if not detect(cfg.backend).chief:  # data-parallel: rank 0 says it
            return exc.exit_code
        kept = [o for o in args.overrides if not o.startswith("resume=")]
        print(f"aigc: {exc.message(shlex.join(['aigc', 'train', args.config, *kept, 'resume=true']))}", file=sys.stderr)
        return exc.exit_code
    if not run.chief:
        return 0
    speed = f" ({run.steps_per_s:.1f} steps/s)" if run.steps_per_s else ""
    print(f"trained {run.step} steps on {cfg.backend}{speed}: {json.dumps(run.metrics)}")
    if run.evaluation:
        print(f"evaluation: {json.dumps(run.evaluation)}")
    print(f"wrote {run.out}/checkpoint, {run.out}/samples.png, {run.out}/metrics.jsonl")
    return 0


def _values(text: str, option: str, k: int, what: tuple[str, str], n: int):
    """`7` or `0,3,5`: integers in [0, k), cycled over the n samples."""
    import numpy as np

    try:
        wanted = [int(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(f"{option} {excerpt(text)}: expected {what[0]} numbers such as 7 or 0,3,5") from None
    if any(not 0 <= v < k for v in wanted):
        raise ConfigError(f"{option} {excerpt(text)}: {what[1]} are 0 to {k - 1}")
    return np.resize(np.array(wanted), n)


def _labels(text: str | None, model, n: int):
    """`--labels 7` or `--labels 0,3,5` (cycled over the n samples); a conditional model
    without it gets one row per class."""
    import math

    from .training.loop import class_rows

    if not model.conditional:
        if text is not None:
            raise ConfigError(f"--labels: {model.cfg.model.name} is not class-conditional")
        return None, None
    k = model.cfg.model.num_classes
    if text is None:
        per_class = math.ceil(n / k)
        return class_rows(k, per_class)[:n], per_class
    return _values(text, "--labels", k, ("class", "classes"), n), None


def _codes(text: str | None, model, n: int):
    """`--codes 3` or `--codes 0,3,5`: InfoGAN's code values (cycled over the n samples);
    without it, drawn at random as in training."""
    if text is None:
        return None
    k = getattr(model, "info_codes", 0)
    if not k:
        raise ConfigError(f"--codes: {model.cfg.model.name} has no latent code (model.info_codes is 0)")
    return _values(text, "--codes", k, ("code", "codes"), n)


def _check_options(args: argparse.Namespace) -> None:
    """What `sample` and `eval` share, checked before anything is loaded: seed, device,
    backend and the checkpoint path."""
    from . import backends
    from .config import DEVICE_PATTERN

    if args.seed < 0:
        raise ConfigError(f"--seed {args.seed}: expected an integer >= 0")
    if not re.fullmatch(DEVICE_PATTERN, args.device):
        raise ConfigError(f"--device {excerpt(args.device)}: expected cpu, cuda or cuda:N")
    if args.backend is not None and args.backend not in backends.names():
        raise ConfigError(f"--backend {excerpt(args.backend)}: expected one of {', '.join(backends.names())}")
    if "\x00" in args.checkpoint or not args.checkpoint:
        raise ConfigError(f"checkpoint {excerpt(args.checkpoint)}: not a usable path")
    _sampling(args)


def _sampling(args: argparse.Namespace, model=None) -> dict:
    """`--keep`, `--truncation` and `--prior` (`models.gan.check_keep` / `check_truncation`,
    `aggregate_prior.check_prior`: the range, and with the model, whether it can use them), as
    `sample`'s keywords: none for the plain sampler. With the model, an aggregate prior is
    fitted here (`evaluate.prepare_prior`)."""
    from .aggregate_prior import check_prior
    from .evaluate import prepare_prior, sampling
    from .models.gan import check_keep, check_truncation

    try:
        check_keep(args.keep, model)
        check_truncation(args.truncation, model)
        check_prior(args.prior, None if model is None else model.family)
    except ValueError as exc:
        raise ConfigError(f"--{exc}") from None
    if model is not None:
        prepare_prior(model, args.prior)
    return sampling(args.keep, args.truncation, args.prior)


def _check_output(text: str) -> Path:
    """`-o`: a .npy or .png file that can be written: its folder exists, it is not a folder."""
    out = Path(text)
    if "\x00" in text:
        raise ConfigError(f"-o {excerpt(text)}: contains a NUL byte")
    if out.suffix not in (".npy", ".png"):
        raise ConfigError(f"-o {excerpt(text)}: the output must end in .npy or .png")
    if out.is_dir():
        raise ConfigError(f"-o {excerpt(text)}: is a directory; give a file name such as samples.png")
    folder = out.parent
    if not folder.is_dir():
        raise ConfigError(f"-o {excerpt(text)}: the folder {excerpt(str(folder))} does not exist")
    if not os.access(out if out.exists() else folder, os.W_OK):
        raise ConfigError(f"-o {excerpt(text)}: not writable (permission denied)")
    return out


def _checkpoint_for(args: argparse.Namespace, n: int, option: str):
    """The checkpoint, with `n` samples (0: its train.eval_samples) checked against the
    machine's memory before any model is built."""
    from . import checkpoint, config, limits

    ckpt = checkpoint.load(args.checkpoint)
    cfg = config.Config.from_dict(ckpt.config)
    limits.check_samples(cfg, n or cfg.train.eval_samples, option)
    return ckpt


def _sample(args: argparse.Namespace) -> int:
    import numpy as np

    from .api import load
    from .plots import save_samples

    _check_options(args)
    out = _check_output(args.output)
    if args.n < 1:
        raise ConfigError(f"-n {args.n}: expected at least 1 sample")
    model = load(_checkpoint_for(args, args.n, "-n"), backend=args.backend, device=args.device, threads=args.threads)
    labels, columns = _labels(args.labels, model, args.n)
    codes = _codes(args.codes, model, args.n)
    chosen = {name: v for name, v in (("labels", labels), ("codes", codes)) if v is not None}
    samples = model.sample(args.n, seed=args.seed, **chosen, **_sampling(args, model)).astype(np.float32)
    if out.suffix == ".npy":
        np.save(out, samples)
    else:
        save_samples(samples, out, columns=columns)
    print(f"wrote {args.n} samples from {model.backend.name} to {out}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from . import data
    from .api import load
    from .config import MAX_IWAE_K
    from .evaluate import evaluate

    _check_options(args)
    if args.n < 0:
        raise ConfigError(f"--n {args.n}: expected a number of samples >= 1 (0: train.eval_samples)")
    if not 0 <= args.k <= MAX_IWAE_K:
        raise ConfigError(f"--k {args.k}: expected 0 to {MAX_IWAE_K} importance samples per example (0: skip)")
    if args.classifier_dir is not None and "\x00" in args.classifier_dir:
        raise ConfigError(f"--classifier-dir {excerpt(args.classifier_dir)}: contains a NUL byte")
    model = load(_checkpoint_for(args, args.n, "--n"), backend=args.backend, device=args.device, threads=args.threads)
    cfg = model.cfg
    chosen = _sampling(args, model)
    held_out = data.held_out(cfg.data, cfg.seed) or data.load(cfg.data, cfg.seed)
    n = args.n or cfg.train.eval_samples
    results = evaluate(
        model,
        held_out,
        n,
        seed=args.seed,
        iwae_k=args.k if model.family == "vae" else 0,
        images=not args.no_images,
        classifier_dir=args.classifier_dir,
        **chosen,
    )
    print(json.dumps({"checkpoint": str(args.checkpoint), "backend": model.backend.name, **results}, indent=2))
    return 0


def _classifier_train(args: argparse.Namespace) -> int:
    from . import backends, threads
    from .metrics import classifier_store
    from .metrics.classifier import Recipe

    be = backends.get(args.backend, device=args.device)
    threads.apply(be, args.threads)
    recipe = Recipe(epochs=args.epochs, seed=args.seed)
    file, info = classifier_store.train_and_save(be, args.dataset, args.dir, recipe, args.data_root, progress=True)
    sha = classifier_store.sha256_of(file)
    print(json.dumps({"classifier": str(file), "sha256": sha, "backend": be.name, **info}, indent=2))
    return 0


def _backends(args: argparse.Namespace) -> int:
    from .backends import describe

    for row in describe():
        if row["installed"]:
            devices, modes = ", ".join(row["devices"]), ", ".join(row["compile_modes"])
            print(f"{row['name']:<11} {row['version']:<14} devices: {devices}; train.compile: {modes}")
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


def _add_sampling(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keep",
        type=float,
        default=1.0,
        help="GANs: draw n / KEEP samples and keep the n that D scores as most real (discriminator rejection)",
    )
    p.add_argument(
        "--truncation",
        type=float,
        default=None,
        metavar="T",
        help="GANs: draw every entry of the noise z within [-T, T] (the truncation trick; default: plain N(0, I))",
    )
    p.add_argument(
        "--prior",
        default="standard",
        help="VAEs: standard (z from N(0, I)) or aggregate (z from a Gaussian fitted to the training codes, "
        "per class for a conditional VAE: the aggregate posterior)",
    )


def _add_threads(p: argparse.ArgumentParser) -> None:
    from .threads import argument

    p.add_argument(
        "--threads",
        type=argument,
        default="auto",
        help="framework threads: auto (default; docs/threads.md), framework (its own default) or N",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aigc", description="GANs and VAEs on PyTorch or TensorFlow, one config flag apart."
    )
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model from a YAML config")
    t.add_argument("config", help="path to a YAML config, e.g. configs/gan_ring8.yaml")
    t.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="e.g. backend=tensorflow train.steps=500 (anywhere on the line)",
    )
    t.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint (same as resume=true)")
    t.add_argument("--nproc", type=int, default=None, help="data-parallel worker processes on this machine")
    t.add_argument("--port", type=int, default=None, help="with --nproc: the workers' first port (default: free ones)")
    t.set_defaults(func=_train)

    s = sub.add_parser("sample", help="draw samples from a checkpoint")
    s.add_argument("checkpoint", help="<out>/checkpoint directory or its .safetensors file")
    s.add_argument("-n", type=int, default=64, help="number of samples")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--backend", default=None, help="default: the backend that trained it")
    s.add_argument("--device", default="cpu")
    s.add_argument("--labels", default=None, help="class-conditional models: 7 or 0,3,5 (default: a row per class)")
    s.add_argument(
        "--codes", default=None, help="models with InfoGAN's code (model.info_codes): 7 or 0,3,5 (default: random)"
    )
    s.add_argument("-o", "--output", required=True, help=".npy (raw float32, images NHWC) or .png")
    _add_sampling(s)
    _add_threads(s)
    s.set_defaults(func=_sample)

    e = sub.add_parser("eval", help="evaluate a checkpoint; prints JSON (README, Metrics)")
    e.add_argument("checkpoint", help="<out>/checkpoint directory or its .safetensors file")
    e.add_argument("--backend", default=None, help="default: the backend that trained it")
    e.add_argument("--device", default="cpu")
    e.add_argument("--n", type=int, default=0, help="samples for sample-based metrics (default: train.eval_samples)")
    e.add_argument("--k", type=int, default=1000, help="VAEs: importance samples per example of the IWAE NLL (0: skip)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--no-images", action="store_true", help="skip FID, precision/recall and classifier score")
    _add_sampling(e)
    e.add_argument(
        "--classifier-dir", default=None, help="default: $AIGC_CLASSIFIER_DIR, else ~/.cache/aigc/classifiers"
    )
    _add_threads(e)
    e.set_defaults(func=_eval)

    c = sub.add_parser("classifier", help="the feature classifier of the image metrics")
    csub = c.add_subparsers(dest="classifier_command", required=True)
    ct = csub.add_parser("train", help="train it on a dataset's training split; writes weights and their sha256")
    ct.add_argument("dataset", help="mnist, fashion_mnist, cifar10 or digits")
    ct.add_argument("--backend", default="torch")
    ct.add_argument("--device", default="cpu")
    from .metrics.classifier import Recipe  # no framework behind it

    ct.add_argument("--epochs", type=int, default=Recipe.epochs)
    ct.add_argument("--seed", type=int, default=0)
    ct.add_argument("--dir", default=None, help="default: $AIGC_CLASSIFIER_DIR, else ~/.cache/aigc/classifiers")
    ct.add_argument("--data-root", default="", help="dataset directory (default: $AIGC_DATA_DIR, else ~/.cache/aigc)")
    _add_threads(ct)
    ct.set_defaults(func=_classifier_train)

    b = sub.add_parser("backends", help="list backends, versions and devices")
    b.set_defaults(func=_backends)

    from .parity.cli import add_to

    add_to(sub)
    bench = sub.add_parser(
        "bench", help="benchmarks: both backends vs hand-written loops (python -m benchmarks)", add_help=False
    )
    bench.add_argument("args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=_bench)
    return p


# A command-line override: a dotted key, then "=" (what config.parse_override reads).


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse a command line whose options and `KEY=VALUE` overrides mix in any order
    (`aigc train CONFIG --resume train.steps=10`, `aigc train --resume seed=1 CONFIG`).

    argparse hands out positionals in runs between options, so overrides after an option
    would be "unrecognized arguments"; and `parse_intermixed_args` refuses subcommands. So
    the command's positionals and whatever argparse did not recognize are gathered again:
    the `KEY=VALUE` tokens are the overrides (in their order on the line), and what else
    there is must be exactly the command's one positional (the config)."""
    p = parser()
    args, extra = p.parse_known_args(argv)
    if not hasattr(args, "overrides"):  # a command without overrides
        if extra:
            p.error(f"unrecognized arguments: {' '.join(extra)}")
        return args
    tokens = [args.config, *args.overrides, *extra]
    # A word with "=" before any "/" that is not an option is meant as an override: a
    # malformed one (`=1`) gets config.parse_override's one-line error, not argparse's usage.
    is_override = lambda t: not t.startswith("-") and "=" in t.partition("/")[0]
    args.overrides = [t for t in tokens if is_override(t)]
    rest = [t for t in tokens if not is_override(t)]
    if not rest:
        raise ConfigError(f"{args.command}: the config file is missing")
    if len(rest) > 1:
        raise ConfigError(
            f"{args.command}: {excerpt(rest[1])}: expected KEY=VALUE or KEY.SUB=VALUE after the config "
            f"{excerpt(rest[0])}"
        )
    args.config = rest[0]
    return args


REPORT = "aigc: this looks like a bug in aigc, not in your input: please report it with the traceback above"


def main(argv: list[str] | None = None) -> int:
    """Run one command. The error boundary: an `AigcError` and anything the user's input or
    machine caused (I/O, permissions, a full disk, memory; `errors.user_error`) is one line
    `aigc: error: ...` and exit 2; Ctrl-C is `aigc: interrupted`, exit 130; anything else is
    a bug and keeps its traceback, with a hint to report it (exit 1)."""
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        if argv[:1] == ["bench"]:  # all that follows is the benchmark's own (options included)
            argv = ["bench", "--", *argv[1:]]
        args = parse(argv)
        return args.func(args)
    except AigcError as exc:
        print(f"aigc: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aigc: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        line = user_error(exc)
        if line is None:
            traceback.print_exc()
            print(REPORT, file=sys.stderr)
            return 1
        print(f"aigc: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

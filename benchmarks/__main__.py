"""`python -m benchmarks [CONFIG ...]` (also `aigc bench`): see benchmarks/__init__.py."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from aigc import backends
from aigc.threads import argument as threads_argument

from . import DEFAULT_CONFIGS
from .runner import (
    COMPILE_MODES,
    IMPLS,
    REPO,
    Plan,
    compile_modes,
    frameworks,
    log,
    machine,
    run,
    run_quality,
    run_shared,
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aigc bench",
        description="aigc on every installed backend against hand-written native loops: step time, samples/s, "
        "peak memory, GFLOP/s and its fraction of the fp32 GEMM rate.",
    )
    p.add_argument("configs", nargs="*", metavar="CONFIG", help="YAML configs (default: one per benchmarked model)")
    p.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 256, 1024], metavar="B")
    p.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    p.add_argument(
        "--frameworks", nargs="+", choices=backends.names(), default=None, help="default: every installed backend"
    )
    modes = list(dict.fromkeys(["auto", *(m for f in COMPILE_MODES.values() for m in f)]))
    p.add_argument(
        "--compile",
        nargs="+",
        choices=modes,
        default=None,
        help="train.compile modes: torch none (eager) / torch_compile; tensorflow auto (tf.function) / xla; "
        "another backend auto (default: each framework's)",
    )
    p.add_argument(
        "--sources",
        nargs="+",
        choices=("memory", "gather"),
        default=["memory", "gather"],
        help="where the training loop's batches come from",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (a framework that sees no GPU is left out)")
    p.add_argument("--steps", type=int, default=200, help="timed steps per measure, after the warm-up")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--block", type=int, default=5, help="steps per timed block (the device is waited for per block)")
    p.add_argument(
        "--threads",
        type=threads_argument,
        default="auto",
        help="threads per framework, as train.threads: auto (default), framework (its own default) or N",
    )
    p.add_argument("--gemm-size", type=int, default=2048, metavar="N", help="N x N fp32 matmul for the GEMM rate")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for every run")
    p.add_argument(
        "--quality",
        type=float,
        default=None,
        metavar="SECONDS",
        help="instead: each backend's quality after SECONDS of aigc train",
    )
    p.add_argument(
        "--shared",
        type=float,
        default=None,
        metavar="SECONDS",
        help="instead: the shared-machine case, samples/s of 1 run alone and of 2 runs at once "
        "(framework default vs auto threads), each run timed for SECONDS",
    )
    p.add_argument(
        "--scaling",
        type=int,
        default=None,
        metavar="STEPS",
        help="instead: samples/s of 1 and 2 data-parallel processes per framework, efficiency and the "
        "communication share of a step (docs/distributed.md), STEPS timed steps per run",
    )
    p.add_argument("--timeout", type=int, default=900, help="seconds per configuration before it is given up")
    p.add_argument("-o", "--output", default=str(Path(__file__).parent / "results"), help="directory for bench.*")
    return p


def _from_repo(path: str) -> str:
    """The path as the workers (which run in the repository) see it: relative where it can be."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(REPO)) if resolved.is_relative_to(REPO) else str(resolved)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    configs = args.configs or [str(c) for c in DEFAULT_CONFIGS]
    missing = [c for c in configs if not Path(c).is_file()]
    if missing:
        print(f"aigc bench: no such config: {', '.join(missing)}", file=sys.stderr)
        return 2
    fws = args.frameworks or frameworks()
    plan = Plan(
        configs=[_from_repo(c) for c in configs],
        batch_sizes=args.batch_sizes,
        impls=args.impls,
        frameworks=fws,
        compile=args.compile or [m for f in fws for m in compile_modes(f)],
        sources=args.sources,
        device=args.device,
        steps=args.steps,
        warmup=args.warmup,
        block=args.block,
        threads=args.threads,
        overrides=args.set,
        gemm_n=args.gemm_size,
        timeout_s=args.timeout,
    )
    out = Path(args.output)
    from . import report

    if args.shared is not None:
        rows = run_shared(plan, args.shared)
        out.mkdir(parents=True, exist_ok=True)
        (out / "shared.json").write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1) + "\n")
        (out / "shared.md").write_text(report.shared_table(rows) + "\n")
        print(report.shared_table(rows))
        log(f"wrote {out / 'shared.json'}, {out / 'shared.md'}")
        return 0 if all("error" not in x for r in rows for x in r["runs"]) else 1
    if args.scaling is not None:
        from .scaling import run_scaling, scaling_table

        result = run_scaling(plan.configs, plan.frameworks, args.scaling, plan.overrides, plan.timeout_s)
        out.mkdir(parents=True, exist_ok=True)
        (out / "scaling.json").write_text(json.dumps(result, indent=1) + "\n")
        (out / "scaling.md").write_text(scaling_table(result) + "\n")
        print(scaling_table(result))
        log(f"wrote {out / 'scaling.json'}, {out / 'scaling.md'}")
        return 0 if all("error" not in r[k] for r in result["rows"] for k in ("one", "local", "many")) else 1
    if args.quality is not None:
        rows = run_quality(plan, args.quality)
        out.mkdir(parents=True, exist_ok=True)
        (out / "quality.json").write_text(json.dumps(rows, indent=1) + "\n")
        (out / "quality.md").write_text(report.quality_table(rows) + "\n")
        print(report.quality_table(rows))
        log(f"wrote {out / 'quality.json'}, {out / 'quality.md'}")
        return 0 if all("error" not in r for r in rows) else 1
    result = report.derive(run(plan))
    paths = report.write(result, out)
    print(report.table(result))
    log(f"wrote {', '.join(map(str, paths))}")
    return 0 if all("error" not in r for r in result["results"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())

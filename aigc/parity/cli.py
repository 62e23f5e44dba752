"""`aigc parity ...`: record traces, compare them, run both backends, report divergence.

aigc parity CONFIG [--steps K] [--device D] [--backends A B ...] [KEY=VALUE ...]   every pair, a table each
aigc parity record CONFIG --backend NAME [--device D] [--steps K] -o FILE [KEY=VALUE ...]
aigc parity compare A B
aigc parity divergence CONFIG ... [--steps 500] [-o DIR]          plot + table, every pair
aigc parity behaviour CONFIG ... [--seeds 10] [--jobs 2] [--set KEY=VALUE] [-o DIR] [--fresh]   quality over seeds
--backends defaults to every installed backend (`aigc backends`).

Options and KEY=VALUE overrides mix in any order.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from ..errors import AigcError


def _record_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigc parity record", description="run K steps and record a trace")
    p.add_argument("config")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--backend", required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("-o", "--output", required=True, help="trace file (.safetensors)")
    return p


def _compare_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigc parity compare", description="compare two traces")
    p.add_argument("a")
    p.add_argument("b")
    return p


def _run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigc parity", description="run the backends on a config, compare every pair")
    p.add_argument("config")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--device", default="cpu")
    _backends_option(p)
    return p


def _backends_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backends", nargs="+", default=None, metavar="NAME", help="at least two; default: all installed")


def _backends(given: list[str] | None) -> list[str]:
    """The backends to compare: `given`, or every installed one; at least two."""
    from .. import backends

    names = given or backends.installed()
    if len(set(names)) < 2:
        found = f"{', '.join(names) or 'none'}" + ("" if given else " installed")
        raise ValueError(f"--backends: comparing needs at least two backends, got {found}")
    return list(dict.fromkeys(names))


def _divergence_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigc parity divergence", description="weight divergence between backends vs step")
    p.add_argument("configs", nargs="+")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("-o", "--output", default="benchmarks/results", help="directory for divergence.png/json")
    _backends_option(p)
    return p


def _behaviour_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aigc parity behaviour", description="quality over seeds, per backend")
    p.add_argument("configs", nargs="+")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override for every run")
    p.add_argument("--jobs", type=int, default=1, help="parallel single-threaded worker processes (one per core)")
    p.add_argument("-o", "--output", default="benchmarks/results", help="directory for behaviour.json")
    p.add_argument(
        "--fresh", action="store_true", help="run every backend again (default: reuse the runs behaviour.json holds)"
    )
    _backends_option(p)
    return p


def _resolved(path: str, overrides: list[str], backend: str, device: str) -> dict:
    from .. import config

    return config.load(path, [*overrides, f"backend={backend}", f"device={device}", "train.progress=false"])


def _title(a, b) -> str:
    return (
        f"{a.config['model']['name']}: {a.backend} ({a.device}) vs {b.backend} ({b.device}), "
        f"{a.steps} steps, strict horizon {_horizon(a)} steps"
    )


def _horizon(trace) -> int:
    from .tolerances import strict_horizon

    return strict_horizon(trace.config["model"]["name"])


def _print_comparison(a, b) -> int:
    from .compare import compare, format_table

    rows = compare(a, b)
    print(format_table(rows, _title(a, b)))
    return 1 if any(r.checked and not r.passed for r in rows) else 0


def main(argv: list[str]) -> int:
    from . import trace

    if argv and argv[0] == "record":
        args = _record_parser().parse_intermixed_args(argv[1:])
        t = trace.record(_resolved(args.config, args.overrides, args.backend, args.device), args.steps)
        trace.save(t, args.output)
        print(
            f"recorded {args.steps} steps of {t.config['model']['name']} on {t.backend} ({t.device}) to {args.output}"
        )
        return 0
    if argv and argv[0] == "compare":
        args = _compare_parser().parse_intermixed_args(argv[1:])
        return _print_comparison(trace.load(args.a), trace.load(args.b))
    if argv and argv[0] == "divergence":
        args = _divergence_parser().parse_intermixed_args(argv[1:])
        from .divergence import report

        report(args.configs, args.steps, Path(args.output), _backends(args.backends))
        return 0
    if argv and argv[0] == "behaviour":
        args = _behaviour_parser().parse_intermixed_args(argv[1:])
        from .behaviour import report as behaviour_report

        names = _backends(args.backends)
        tables = behaviour_report(args.configs, args.seeds, args.set, Path(args.output), args.jobs, names, args.fresh)
        return 0 if all(r["agree"] for t in tables for r in t["rows"]) else 1
    args = _run_parser().parse_intermixed_args(argv)
    names = _backends(args.backends)
    traces = {
        name: trace.record(_resolved(args.config, args.overrides, name, args.device), args.steps) for name in names
    }
    failed = [_print_comparison(traces[a], traces[b]) for a, b in itertools.combinations(names, 2)]
    return 1 if any(failed) else 0


def add_to(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("parity", help="cross-backend parity: run, record, compare, divergence", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda ns: _guarded(ns.args))


def _guarded(argv: list[str]) -> int:
    try:
        return main(argv)
    except ValueError as exc:
        raise AigcError(str(exc)) from None

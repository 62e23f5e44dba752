"""Derived numbers, the tables (all measurements; aigc beside native for the README), the
JSON and the plot.

Per measure (`step`, `loop_<source>`): samples/s = batch / median step time; GFLOP/s =
model FLOPs per step / median step time (FLOPs: benchmarks/flops.py); its fraction of the
fastest fp32 GEMM rate measured in the same run; and for aigc, its median over the
hand-written loop's of the same framework and compile mode ("aigc/native", 1.00 = as fast).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from aigc import backends

from .runner import compile_modes, compile_name


def _key(r: dict) -> tuple:
    return (r["config"], r["batch_size"], r["framework"], r["compile"])


def _order(key: tuple) -> tuple:
    """Config, batch size, then the registry's order (torch, TensorFlow, ...), plain before compiled."""
    config, size, fw, mode = key
    names, modes = backends.names(), compile_modes(fw)
    return (config, size, names.index(fw) if fw in names else len(names), modes.index(mode) if mode in modes else -1)


def derive(report: dict) -> dict:
    """Adds samples/s, GFLOP/s, GEMM fraction and aigc/native to every measure, in place."""
    best = max(report["gemm_gflops"].values(), default=0.0)
    natives = {_key(r): r for r in report["results"] if r["impl"] == "native" and "measures" in r}
    for r in report["results"]:
        for name, m in r.get("measures", {}).items():
            m["samples_per_s"] = r["batch_size"] / m["median_s"]
            m["gflops"] = r["flops_per_step"] / m["median_s"] / 1e9
            m["gemm_fraction"] = m["gflops"] / best if best else None
            native = natives.get(_key(r))
            if r["impl"] == "aigc" and native is not None and name in native["measures"]:
                m["vs_native"] = m["median_s"] / native["measures"][name]["median_s"]
    return report


def _ms(m: dict | None) -> str:
    return f"{m['median_s'] * 1e3:.3f}" if m else "-"


def _ratio(m: dict | None) -> str:
    return f"{m['vs_native']:.2f}" if m and "vs_native" in m else ""


def machine_line(report: dict) -> str:
    m, s = report["machine"], report["settings"]
    versions = ", ".join(f"{fw} {i['version']}" for fw, i in m["frameworks"].items())
    gpus = {i["gpu"] for i in m["frameworks"].values() if i["gpu"]}
    device = f"GPU {', '.join(sorted(gpus))}" if s["device"] != "cpu" and gpus else "CPU"
    threads = f", {s['threads']} thread(s) per framework" if s["threads"] else ""
    return f"{m['cpu']} ({m['cores']} cores), {device}, {versions}, Python {m['python']}{threads}"


def _markdown(head: list[str], rows: list[list[str]]) -> str:
    """An aligned Markdown table: readable on a terminal and in the README."""
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def _footer(report: dict) -> str:
    gemm = ", ".join(f"{fw} {g:.1f}" for fw, g in report["gemm_gflops"].items())
    return f"fp32 GEMM GFLOP/s: {gemm}; {machine_line(report)}" + "".join(f"\n{n}" for n in report["notes"])


def _fraction(m: dict) -> str:
    return f"{100 * m['gemm_fraction']:.1f}" if m["gemm_fraction"] is not None else "-"


def table(report: dict) -> str:
    """Every measurement, one row per configuration."""
    sources = report["settings"]["sources"]
    gpu = report["settings"]["device"] != "cpu"
    head = ["config", "batch", "impl", "framework", "compile", "step ms"]
    head += [f"loop ms ({s})" for s in sources]
    head += ["samples/s", "GFLOP/s", "% fp32 GEMM", "vs native: step"]
    head += [f"vs native: {s}" for s in sources]
    head += ["peak RSS MB"] + (["peak GPU MB"] if gpu else [])
    rows = []
    for r in sorted(report["results"], key=lambda r: (_order(_key(r)), r["impl"])):
        cells = [
            Path(r["config"]).stem,
            str(r["batch_size"]),
            r["impl"],
            r["framework"],
            compile_name(r["framework"], r["compile"]),
        ]
        if "error" in r:
            rows.append(cells + [f"error: {r['error']}"] + [""] * (len(head) - len(cells) - 1))
            continue
        ms = r["measures"]
        step = ms["step"]
        cells += [_ms(step)] + [_ms(ms.get(f"loop_{s}")) for s in sources]
        cells += [f"{step['samples_per_s']:,.0f}", f"{step['gflops']:.2f}", _fraction(step), _ratio(step)]
        cells += [_ratio(ms.get(f"loop_{s}")) for s in sources]
        cells += [f"{r['peak_rss_mb']:.0f}"] + ([f"{r['peak_device_mb']:.0f}"] if gpu else [])
        rows.append(cells)
    return _markdown(head, rows) + "\n\n" + _footer(report)


def summary(report: dict) -> str:
    """aigc beside the hand-written loop, a row per config, batch, framework and compile mode:
    the bare step, and the loop as `aigc train` runs it (gathered batches). The README's table."""
    loop = "loop_gather" if "gather" in report["settings"]["sources"] else f"loop_{report['settings']['sources'][0]}"
    head = [
        "config",
        "batch",
        "framework",
        "compile",
        "aigc step ms",
        "native step ms",
        "aigc/native step",
        "aigc loop ms",
        "native loop ms",
        "aigc/native loop",
        "best GFLOP/s",
        "% fp32 GEMM",
    ]
    found = {(_key(r), r["impl"]): r["measures"] for r in report["results"] if "measures" in r}
    rows = []
    for key in sorted({_key(r) for r in report["results"]}, key=_order):
        a, n = found.get((key, "aigc"), {}), found.get((key, "native"), {})
        best = max((m["step"] for m in (a, n) if m), key=lambda m: m["gflops"], default=None)
        cells = [Path(key[0]).stem, str(key[1]), key[2], compile_name(key[2], key[3])]
        cells += [_ms(a.get("step")), _ms(n.get("step")), _ratio(a.get("step"))]
        cells += [_ms(a.get(loop)), _ms(n.get(loop)), _ratio(a.get(loop))]
        cells += [f"{best['gflops']:.1f}", _fraction(best)] if best else ["-", "-"]
        rows.append(cells)
    return _markdown(head, rows) + "\n\n" + _footer(report)


def quality_table(rows: list[dict]) -> str:
    head = ["config", "framework", "budget s", "steps", "train wall s", "evaluation"]
    cells = []
    for r in rows:
        if "error" in r:
            cells.append([Path(r["config"]).stem, r["framework"], "", "", "", f"error: {r['error']}"])
            continue
        shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in r["evaluation"].items())
        cells.append(
            [Path(r["config"]).stem, r["framework"], f"{r['budget_s']:g}", str(r["steps"]), f"{r['wall_s']:.1f}", shown]
        )
    return _markdown(head, cells)


def plot(report: dict, path: Path) -> None:
    """Median step time per configuration: a panel per config, bars per variant, grouped by
    batch size; a black tick marks the training loop's time on gathered batches."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    ok = [r for r in report["results"] if "measures" in r]
    configs = sorted({r["config"] for r in ok})
    variants = sorted(
        {(r["impl"], r["framework"], r["compile"]) for r in ok}, key=lambda v: (_order(("", 0, *v[1:])), v[0])
    )
    modes = sorted({(fw, mode) for _, fw, mode in variants})  # one colour each; the native bar is hatched
    fig, axes = plt.subplots(1, max(len(configs), 1), figsize=(6 * max(len(configs), 1), 4.5), squeeze=False)
    width = 0.8 / max(len(variants), 1)
    for ax, config in zip(axes[0], configs):
        sizes = sorted({r["batch_size"] for r in ok if r["config"] == config})
        for j, (impl, fw, mode) in enumerate(variants):
            found = {
                r["batch_size"]: r["measures"]
                for r in ok
                if r["config"] == config and (r["impl"], r["framework"], r["compile"]) == (impl, fw, mode)
            }
            xs = [i + (j - (len(variants) - 1) / 2) * width for i, s in enumerate(sizes) if s in found]
            step = [found[s]["step"]["median_s"] * 1e3 for s in sizes if s in found]
            ax.bar(
                xs,
                step,
                width,
                label=f"{impl} {fw} {compile_name(fw, mode)}",
                color=f"C{modes.index((fw, mode))}",
                hatch="//" if impl == "native" else None,
                alpha=1.0 if impl == "aigc" else 0.6,
            )
            loop = [found[s].get("loop_gather", found[s]["step"])["median_s"] * 1e3 for s in sizes if s in found]
            tick = "loop, gathered batches" if j == 0 else None
            ax.scatter(xs, loop, marker="_", color="black", s=60, zorder=3, label=tick)
        ax.set_xticks(range(len(sizes)), [f"batch {s}" for s in sizes])
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ticker.ScalarFormatter())
        ax.yaxis.set_minor_formatter(ticker.ScalarFormatter())
        ax.set_ylabel("median step time (ms)")
        ax.set_title(Path(config).stem)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=7, frameon=False)
    fig.suptitle(textwrap.fill(machine_line(report), 60 * len(axes[0])), fontsize=8)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(report: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "bench.json", out / "bench.md", out / "bench.png"]
    paths[0].write_text(json.dumps(report, indent=1) + "\n")
    paths[1].write_text(summary(report) + "\n\n" + table(report) + "\n")
    plot(report, paths[2])
    return paths


def shared_table(rows: list[dict]) -> str:
    """samples/s of each run per case, and its ratio to one run alone on one thread (the
    speed one core gives) and to one run alone with the framework's default threads."""
    out = [
        "| config | framework | case | threads chosen | samples/s of each run | vs alone, 1 thread "
        "| vs alone, framework default |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        same = [x for x in rows if (x["config"], x["framework"]) == (r["config"], r["framework"])]
        base = {x["case"]: x["runs"][0].get("samples_per_s") for x in same}
        one, default = base.get("alone, 1 thread"), base.get("alone, framework default")
        rates = [x.get("samples_per_s") for x in r["runs"]]
        if any(v is None for v in rates):
            shown = "; ".join(x.get("error", "") for x in r["runs"])
            out.append(f"| {Path(r['config']).stem} | {r['framework']} | {r['case']} | | {shown} | | |")
            continue
        threads = "; ".join(sorted({x["threads"] for x in r["runs"]}))
        vs = lambda b: " / ".join(f"{v / b:.2f}" for v in rates) if b else ""  # noqa: B023 - used in this iteration
        out.append(
            f"| {Path(r['config']).stem} | {r['framework']} | {r['case']} | {threads} | "
            f"{' / '.join(f'{v:.0f}' for v in rates)} | {vs(one)} | {vs(default)} |"
        )
    return "\n".join(out)

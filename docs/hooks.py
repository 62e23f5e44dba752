"""mkdocs hook: the parts of the docs that are generated, not pasted.

A page asks for a generated part with an HTML comment on a line of its own:

    <!-- gen:config -->            the config reference, from the schemas' own Field(help=...)
    <!-- gen:results -->           benchmarks/results/results.json (benchmarks.results.markdown)
    <!-- gen:behaviour -->         benchmarks/results/behaviour.json
    <!-- gen:divergence -->        benchmarks/results/divergence.json (aigc.parity.divergence.table)
    <!-- gen:tolerances -->        aigc/parity/tolerances.py: every constant with its reason
    <!-- gen:bench PATH -->        a bench.json under benchmarks/results/ (benchmarks.report.summary)

The comment stays an HTML comment on GitHub, where a page reads without the tables; the
site (`mkdocs build`) always shows the numbers of the committed JSON. Pages link pictures
under `benchmarks/results/` as `../benchmarks/results/...` (right on GitHub); the hook adds
those files to the site and rewrites the links. `tests/test_docs.py` imports this file.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
for _p in (ROOT / "backends", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

MARK = re.compile(r"^<!-- gen:([a-z]+)(?: (\S+))? -->$", re.M)
PICTURES = "../benchmarks/results/"
# Published reference numbers (PacGAN, Lin et al. 2018, Table 1), shown beside aigc's behaviour.
PACGAN = {
    "gan_ring8": [("PacGAN paper: GAN", 6.3, 0.982, 0.45), ("PacGAN paper: PacGAN4", 7.8, 0.959, 0.07)],
    "gan_grid25": [("PacGAN paper: GAN", 17.3, 0.948, 0.70), ("PacGAN paper: PacGAN4", 24.8, 0.936, 0.04)],
}


# --- the config reference -------------------------------------------------------------------


def schema_sections() -> list[tuple[str, list[str], dict]]:
    """(section, names that share the schema, schema) for every part of a config: the top
    level, train, optim, then each model and dataset (datasets with equal schemas together)."""
    from aigc import backends, config, data, models

    out = [("", [], config.top_level(backends.names())), ("train", [], config.TRAIN), ("optim", [], config.OPTIM)]
    for section, registry in (("model", models.SCHEMAS), ("data", data.SCHEMAS)):
        groups: list[tuple[list[str], dict]] = []
        for name, schema in registry.items():
            same = next((g for g in groups if g[1] == schema), None)
            if same:
                same[0].append(name)
            else:
                groups.append(([name], schema))
        out += [(section, names, schema) for names, schema in groups]
    return out


def _allowed(f) -> str:
    parts = []
    if f.choices is not None:
        parts.append(", ".join(f"`{c}`" for c in f.choices))
    if f.type is list:
        parts.append("a list of positive integers")
    if f.minimum is not None or f.maximum is not None or f.below is not None:
        lo = "" if f.minimum is None else f">= {f.minimum:g}"
        hi = f"<= {f.maximum:g}" if f.maximum is not None else (f"< {f.below:g}" if f.below is not None else "")
        parts.append(" and ".join(p for p in (lo, hi) if p))
    if f.keywords:
        parts.append(", ".join(f"`{k}`" for k in f.keywords))
    if f.pattern is not None:
        parts.append(f.expected or f"matches `{f.pattern}`")
    return "; ".join(parts) or "any " + f.type.__name__


def _default(value) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return '`""`'
    return f"`{value}`"


def config_reference() -> str:
    """Markdown: one table per section (and per model / dataset schema), every key with its
    type, default, allowed values and the schema's help text."""
    from aigc import data, models

    out = []
    for section, names, schema in schema_sections():
        if section == "":
            out += ["### Top level", ""]
        elif names:
            label = ", ".join(f"`{n}`" for n in names)
            out += [f"### `{section}.name`: {label}", ""]
        else:
            out += [f"### `{section}`", ""]
        out += ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
        if section in ("model", "data") and names:
            registry = models.SCHEMAS if section == "model" else data.SCHEMAS
            out.append(
                f"| `{section}.name` | str | (required) | {', '.join(f'`{n}`' for n in registry)} | the {section} |"
            )
        for key, f in schema.items():
            full = f"{section}.{key}" if section else key
            helptext = f.help.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            out.append(f"| `{full}` | {f.type.__name__} | {_default(f.default)} | {_allowed(f)} | {helptext} |")
        out.append("")
    return "\n".join(out)


# --- measured figures -----------------------------------------------------------------------


def _json(name: str):
    return json.loads((RESULTS / name).read_text())


def results_tables() -> str:
    from benchmarks.results import markdown

    return markdown(_json("results.json"))


def behaviour_tables() -> str:
    """One table per config of behaviour.json: mean ± standard error per backend, the z of
    their difference, and the published numbers where there are some."""
    from aigc.parity.divergence import LABELS

    out = []
    for t in _json("behaviour.json"):
        name = Path(t["config"]).stem
        rows = t["rows"]
        fmt = {
            "high_quality": lambda m, s: f"{m:.1%} ± {100 * s:.1f}",
            "modes": lambda m, s: f"{m:.1f} ± {s:.1f}",
            "reverse_kl": lambda m, s: f"{m:.3f} ± {s:.3f}",
            "negative_elbo": lambda m, s: f"{m:.3f} ± {s:.3f}",
            "mode_spread": lambda m, s: f"{m:.2f} ± {s:.2f}",
        }
        heads = {
            "modes": "modes",
            "high_quality": "high-quality",
            "reverse_kl": "reverse KL",
            "negative_elbo": "held-out negative ELBO (nats)",
            "mode_spread": "mode spread (data: 0.97)",
        }
        out += [
            f"`{name}`, {t['seeds']} seeds per backend"
            + (f" (overrides: {' '.join(t['overrides'])})" if t["overrides"] else ""),
            "",
            "| | " + " | ".join(heads.get(r["metric"], r["metric"]) for r in rows) + " |",
            "|---|" + "---|" * len(rows),
        ]
        names = list(t["runs"])  # every backend the table ran, in the registry's order
        for b in names:
            out.append(
                f"| aigc, {LABELS.get(b, b)} | "
                + " | ".join(fmt.get(r["metric"], lambda m, s: f"{m:.4g} ± {s:.2g}")(*r[b]) for r in rows)
                + " |"
            )
        # one agreement row for two backends; with more, one per pair (and its z)
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
        for a, b in pairs:
            label = "backends agree (z)" if len(pairs) == 1 else f"{LABELS.get(a, a)} vs {LABELS.get(b, b)} agree (z)"
            found = [next(p for p in r.get("pairs", [r]) if p.get("a", a) == a and p.get("b", b) == b) for r in rows]
            out.append(
                f"| {label} | " + " | ".join(f"{'yes' if p['agree'] else 'NO'} ({p['z']:.2f})" for p in found) + " |"
            )
        for label, modes, hq, kl in PACGAN.get(name, []):
            out.append(f"| {label} | {modes} | {hq:.1%} | {kl:.2f} |")
        out.append("")
    return "\n".join(out)


def divergence_table() -> str:
    from aigc.parity.divergence import table

    # the model column names the config too, as "mlp_gan (gan_ring8)"
    named = [{**r, "model": f"{r['model']} ({Path(r['config']).stem})"} for r in _json("divergence.json")]
    return table(named)


def tolerances_table() -> str:
    """Every constant of aigc/parity/tolerances.py with the comment above it (its reason);
    the first group's reason is the module docstring."""
    import ast

    from aigc.parity import tolerances

    source = Path(tolerances.__file__).read_text()
    lines = source.splitlines()
    values = {
        t.id: ast.get_source_segment(source, node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    groups: list[tuple[list[str], list[str]]] = []
    comment: list[str] = [" ".join((tolerances.__doc__ or "").split("\n\n", 1)[-1].split())]
    for line in lines:
        if line.startswith("#"):
            if groups and groups[-1][0] and comment is None:
                comment = []
            comment = (comment or []) + [line.lstrip("# ").rstrip()]
        elif m := re.match(r"([A-Z][A-Z0-9_]*) = ", line):
            if comment is not None:
                groups.append(([], comment))
                comment = None
            groups[-1][0].append(m[1])
    out = ["| constant | value | why this size |", "|---|---|---|"]
    for names, reason in groups:
        shown = "<br>".join(f"`{n}`" for n in names)
        vals = "<br>".join(f"`{values[n]}`".replace("|", "\\|") for n in names)
        out.append(f"| {shown} | {vals} | {' '.join(reason).replace('|', '/')} |")
    return "\n".join(out)


def bench_table(path: str) -> str:
    from benchmarks.report import summary

    return summary(json.loads((RESULTS / path).read_text()))


GENERATORS = {
    "config": lambda arg: config_reference(),
    "results": lambda arg: results_tables(),
    "behaviour": lambda arg: behaviour_tables(),
    "divergence": lambda arg: divergence_table(),
    "tolerances": lambda arg: tolerances_table(),
    "bench": bench_table,
}


def expand(markdown: str) -> str:
    def one(m: re.Match) -> str:
        if m[1] not in GENERATORS:
            raise ValueError(f"unknown generated part {m[0]}")
        return GENERATORS[m[1]](m[2]).rstrip() + "\n"

    return MARK.sub(one, markdown)


# --- mkdocs events --------------------------------------------------------------------------


def on_files(files, config):
    """The pictures under benchmarks/results/ become site files at the same path."""
    from mkdocs.structure.files import File

    for picture in sorted(RESULTS.rglob("*.png")):
        files.append(File(str(picture.relative_to(ROOT)), str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown, page, config, files):
    markdown = expand(markdown).replace(f"]({PICTURES}", "](benchmarks/results/")
    # threads.md includes the shared-machine table through pymdownx.snippets; until that
    # benchmark has been run in this checkout, say so instead of failing the build.
    snippet = '--8<-- "benchmarks/results/shared.md"'
    if snippet in markdown and not (RESULTS / "shared.md").exists():
        markdown = markdown.replace(
            snippet, "*(`benchmarks/results/shared.md` has not been measured in this checkout: run the command above.)*"
        )
    return markdown

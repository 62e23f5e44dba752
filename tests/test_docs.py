"""The docs: the README stays a front page, and the generated config reference covers
every schema key with a help text (docs/hooks.py builds it when the site is built)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README_LIMIT = 15 * 1024


def _hooks():
    spec = importlib.util.spec_from_file_location("aigc_docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_a_front_page():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; keep it at most {README_LIMIT} and move details to docs/"


def test_readme_keeps_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert ".venv/bin/pip install torch==2.13.0 -e '.[torch]' && .venv/bin/aigc train configs/gan_ring8.yaml" in readme
    assert ".venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest -q" in readme


def test_config_reference_lists_every_key_with_help():
    hooks = _hooks()
    reference = hooks.config_reference()
    rows = set(re.findall(r"^\| `([^`]+)` \|", reference, re.M))
    missing_help = []
    for section, names, schema in hooks.schema_sections():
        for key, field in schema.items():
            full = f"{section}.{key}" if section else key
            assert full in rows, f"{full} ({', '.join(names)}) is missing from the config reference"
            if not field.help.strip():
                missing_help.append(f"{full} ({', '.join(names) or 'all'})")
    assert not missing_help, "config keys without a help text (Field(..., help=...)): " + ", ".join(missing_help)


def test_config_reference_covers_every_model_and_dataset():
    from aigc import data, models

    hooks = _hooks()
    covered = {(section, n) for section, names, _ in hooks.schema_sections() for n in names}
    assert covered == {("model", n) for n in models.SCHEMAS} | {("data", n) for n in data.SCHEMAS}


def test_generated_tables_build_from_the_committed_results():
    hooks = _hooks()
    for marker in re.findall(
        r"^<!-- gen:.* -->$", "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md")), re.M
    ):
        assert hooks.expand(marker).strip().startswith(("|", "#", "`", "**")), marker

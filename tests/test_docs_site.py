"""The documentation site: every guide page in the navigation, an API page per public module."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _hook():
    spec = importlib.util.spec_from_file_location("api_pages", ROOT / "docs/hooks/api_pages.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_guide_page_is_in_the_navigation():
    text = (ROOT / "mkdocs.yml").read_text()
    listed = set(re.findall(r"^\s+-\s+(?:[\w ]+:\s+)?(\w+\.md)\s*$", text, re.MULTILINE))
    pages = {path.name for path in (ROOT / "docs").glob("*.md")}
    assert pages == listed, f"not in mkdocs.yml's nav: {sorted(pages - listed)}"


def test_every_public_module_gets_an_api_page_and_no_private_one():
    modules = _hook().public_modules()
    for name in (
        "recgym",
        "recgym.population",
        "recgym.population.seeds",
        "recgym.population.report",
        "recgym.population.study",
        "recgym.population.metrics",
        "recgym.population.policies.greedy",
        "recgym.cli",
    ):
        assert name in modules, name
    assert not [name for name in modules if any(p.startswith("_") for p in name.split("."))]
    files = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "recgym").rglob("*.py")
    }
    public = {name for name in files if not any(p.startswith("_") for p in name.split("."))}
    assert set(modules) == public


def test_the_build_fetches_nothing_and_treats_warnings_as_errors_in_ci():
    config = (ROOT / "mkdocs.yml").read_text()
    assert "font: false" in config  # no font server
    assert "inventories" not in config and "privacy" not in config  # no downloads
    ci = (ROOT / ".ci" / "run").read_text()
    assert '".[docs]"' in ci and 'mkdocs" build --strict' in ci

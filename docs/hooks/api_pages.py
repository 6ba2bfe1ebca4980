"""MkDocs hook: an API reference page for every public module of recgym.

The guide is ``docs/*.md``; the reference is generated at build time, one page per
public module (no part of its dotted name starts with ``_``), each holding
``::: module`` for mkdocstrings. A module added to the package gets its page without a
change here, and ``mkdocs build --strict`` then checks its docstrings too. Modules are
found on disk, not imported (mkdocstrings reads the source statically).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "recgym"


def public_modules() -> list[str]:
    """Dotted names of the public modules and packages of recgym, sorted."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if any(part.startswith("_") for part in parts):
            continue
        names.append(".".join(parts))
    return sorted(names)


def _page(name: str) -> str:
    return f"api/{name}.md"


def _section(name: str, packages: set[str]) -> str:
    """The package whose section lists ``name``: itself for a package, else its parent."""
    return name if name in packages else name.rsplit(".", 1)[0]


def on_config(config: Any) -> Any:
    """Append the "API reference" section to the navigation, grouped by package."""
    modules = public_modules()
    packages = {name for name in modules if (ROOT / name.replace(".", "/")).is_dir()}
    sections: dict[str, list[dict[str, str]]] = {}
    for name in modules:
        sections.setdefault(_section(name, packages), []).append({name: _page(name)})
    reference = [{section: pages} for section, pages in sections.items()]
    config["nav"].append({"API reference": reference})
    return config


def on_files(files: Any, config: Any) -> Any:
    """Add the generated page of every public module."""
    from mkdocs.structure.files import File  # here: the tests import this module without MkDocs

    for name in public_modules():
        content = f"# `{name}`\n\n::: {name}\n"
        files.append(File.generated(config, _page(name), content=content))
    return files

"""Every ```python code block of README.md and docs/*.md runs.

How the blocks are run (write examples accordingly):

* The files are found when the tests are collected (``README.md`` and every ``.md`` under
  ``docs/``, ``docs/papers/`` included, sorted), so a new page is tested without touching
  this file.
* Each ```python block is one test case, executed **on its own, in a fresh namespace**
  (a new module object): a block must contain its own imports and data, so a reader can
  copy any single block and run it. Code that must not run goes in a ```text block.
* A block that needs an optional library (Stable-Baselines3, d3rlpy, RLlib, SCOPE-RL …)
  starts with a marker line naming the modules it imports, ``# requires: module[, …]``
  (e.g. ``# requires: stable_baselines3``): it is skipped, not failed, where one of them
  cannot be imported, and runs everywhere they are installed (the RL libraries' own
  environments, see ``docs/rl_libraries.md``). Torch runs with one thread
  (``OMP_NUM_THREADS=1`` is set for the block) to keep the blocks fast on two cores.
* Blocks run with the working directory set to a temporary folder (files they write do
  not land in the repository), with matplotlib on the Agg backend (``MPLBACKEND=Agg``),
  and with warnings turned into errors, as the rest of the suite (pyproject's
  ``filterwarnings``).
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
REQUIRES = re.compile(
    r"\A#[ \t]*requires:[ \t]*([\w.]+(?:[ \t]*,[ \t]*[\w.]+)*)[ \t]*$", re.MULTILINE
)


def required_modules(source: str) -> list[str]:
    """The modules named by a ``# requires: a, b`` first line, or none."""
    match = REQUIRES.match(source)
    return [] if match is None else [name.strip() for name in match.group(1).split(",")]


def code_blocks(path: Path) -> list[tuple[int, str]]:
    """``(first line number, source)`` of every ```python block of ``path``."""
    text = path.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


BLOCKS = [
    pytest.param(path, line, source, id=f"{path.relative_to(ROOT)}:{line}")
    for path in DOC_FILES
    for line, source in code_blocks(path)
]


@pytest.mark.parametrize(("path", "line", "source"), BLOCKS)
def test_code_block_runs(path, line, source, tmp_path, monkeypatch):
    for module_name in required_modules(source):
        pytest.importorskip(module_name)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:  # pragma: no cover - matplotlib is a test dependency
        pass
    # A real module, so that dataclasses, pickling and the like work as in a script.
    name = f"_docs_block_{path.stem}_{line}"
    module = types.ModuleType(name)
    module.__file__ = str(tmp_path / f"{name}.py")
    monkeypatch.setitem(sys.modules, name, module)
    # Pad with blank lines so that tracebacks show the line number in the Markdown file.
    code = compile("\n" * (line - 1) + source, str(path), "exec")
    try:
        exec(code, module.__dict__)
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


def test_the_requires_marker():
    assert required_modules("# requires: stable_baselines3\nimport x\n") == ["stable_baselines3"]
    assert required_modules("#requires: ray, d3rlpy.algos \n") == ["ray", "d3rlpy.algos"]
    assert required_modules("import x\n# requires: ray\n") == []  # first line only
    assert required_modules("# requires ray\n") == []
    blocks = [source for path in DOC_FILES for _, source in code_blocks(path)]
    assert any(required_modules(source) for source in blocks)


def test_the_docs_are_found():
    names = {path.name for path in DOC_FILES}
    assert {"README.md", "index.md", "single_user.md", "user_models.md"} <= names
    for path in DOC_FILES:
        if path.name in {"README.md", "single_user.md", "user_models.md"}:
            assert code_blocks(path), f"no ```python block found in {path}"


def test_every_python_looking_fence_is_run_or_marked_text():
    # ```py, ```python3, ```Python would silently escape the tests: use ```python or ```text
    for path in DOC_FILES:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```([^\n`]*)$", text, re.MULTILINE):
            language = match.group(1).strip()
            if language.lower().startswith("py"):
                assert language == "python", f"{path.name}: fence ```{language}"

"""The layers of the package: no import cycle, a light ``import recgym``, one signature."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import recgym
from recgym import RECEnv
from recgym.config import DEFAULT_ARGUMENTS, EnvArguments, OriginalArguments

PACKAGE = Path(recgym.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """The recgym modules a module imports, at module level or in functions (not for typing)."""
    from recgym.population import _EXPORTS

    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _is_type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module in modules:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in modules:
                    found.add(candidate)
                elif node.module == "recgym.population" and alias.name in _EXPORTS:
                    found.add(_EXPORTS[alias.name])  # resolved lazily by the package
                else:
                    found.add(node.module)
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "importlib.import_module":
            argument = node.args[0] if node.args else None
            if isinstance(argument, ast.Constant) and argument.value in modules:
                found.add(argument.value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {
        name: _imports(ast.parse(path.read_text()), modules) - {name}
        for name, path in files.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_cycle_even_through_lazy_imports():
    graph = _graph()
    assert "recgym.core" in graph and graph["recgym.population.history"]  # the graph is real
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


TOOLS = (
    "recgym.population.metrics",
    "recgym.population.datasets",
    "recgym.population.ope",
    "recgym.population.plots",
    "recgym.population.history",
    "recgym.population.simulation",
    "recgym.population.policies",
    "recgym.population.study",
    "recgym.presets",
    "matplotlib",
    "scipy.spatial",
    "scipy.sparse",
    "scipy.special",
    "recgym.wrappers",
    "stable_baselines3",
    "d3rlpy",
    "ray",
    "recgym.distributed",  # Ray's sharded populations: imported by the user, never by recgym
    "torch",
    "numba",  # the fused kernels (engine="numba") load it on first use, never at import
    "recgym._kernels",
)


def test_import_recgym_loads_no_tool():
    code = (
        "import sys, recgym\n"
        "env = recgym.RECEnv(); env.reset(seed=0); env.step(0)\n"
        "vec = recgym.RECVectorEnv(4); vec.reset(seed=0)\n"
        f"print([m for m in {TOOLS!r} if any(k == m or k.startswith(m + '.') "
        "for k in sys.modules)])"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


def test_the_environment_arguments_are_declared_once():
    assert set(EnvArguments.__annotations__) == set(DEFAULT_ARGUMENTS)
    original = list(OriginalArguments.__annotations__)
    parameters = inspect.signature(RECEnv).parameters
    assert list(parameters)[: len(original)] == original  # the original's order
    for name in original:
        assert parameters[name].default == DEFAULT_ARGUMENTS[name], name


def test_environments_show_every_argument_in_their_signature():
    from recgym import RECVectorEnv
    from recgym.population import PopulationEnv

    for env in (PopulationEnv, RECVectorEnv):
        parameters = inspect.signature(env).parameters
        for name, default in DEFAULT_ARGUMENTS.items():
            assert parameters[name].default == default, (env, name)

"""Run the examples in the package's docstrings (``>>>`` blocks)."""

import doctest
import importlib
import pkgutil

import pytest

import recgym

MODULES = sorted(info.name for info in pkgutil.walk_packages(recgym.__path__, prefix="recgym."))
# Modules (and packages, with their modules) that import an optional library at import
# time: skipped without it.
OPTIONAL = {
    "recgym.wrappers.sb3": "stable_baselines3",
    "recgym._kernels": "numba",
    "recgym.distributed": "ray",
}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    for prefix, library in OPTIONAL.items():
        if name == prefix or name.startswith(prefix + "."):
            pytest.importorskip(library)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} docstring example(s) failed in {name}"

"""Griffe extension: read recgym's reStructuredText habits in docstrings as Markdown.

recgym's docstrings are Google style, with two habits of Sphinx that Markdown does not
know, rewritten here before griffe parses them (mkdocs.yml loads this file through
mkdocstrings' ``extensions`` option):

* doctests headed ``Example:`` (which the Google style allows and doctest runs): griffe
  reads only ``Examples:`` as an examples section and would render ``Example:`` as an
  admonition whose ``>>>`` lines become nested quotes;
* cross-reference roles, ``:class:`~recgym.population.History``` and the like: shown as
  code, ``History`` (the last part after a ``~``, as Sphinx shows it).
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

_HEADING = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|exc|obj|const):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return f"``{target.rsplit('.', 1)[-1] if short else target}``"


def markdown(text: str) -> str:
    """``text`` with ``Example:`` headings renamed and Sphinx roles turned into code."""
    return _ROLE.sub(_role, _HEADING.sub(r"\1Examples:", text))


class SphinxHabits(Extension):
    """Rewrite each object's docstring before it is parsed (see the module docstring)."""

    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring (runs once per object, before parsing)."""
        docstring = getattr(obj, "docstring", None)
        if docstring is not None:
            docstring.value = markdown(docstring.value)

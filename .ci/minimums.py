"""The declared minimum versions of pyproject.toml, pinned, for .ci/run's minimum stages.

Usage (run from the repository root):

    python3 .ci/minimums.py project     # [project] dependencies and every extra but those
                                        # with a stage of their own (OWN_STAGE_EXTRAS)
    python3 .ci/minimums.py extra NAME  # one extra's own requirements (its own stage)
    python3 .ci/minimums.py build       # [build-system] requires
    python .ci/minimums.py check PINS   # in the environment under test: installed == pinned?

``project`` and ``build`` print one ``name==X`` line per requirement, X being its ``>=X``
lower bound, so the versions CI installs are the ones pyproject.toml declares and the two
never drift. A requirement without a ``>=`` bound, one whose bound its own other clauses
exclude (``<``, ``!=``, ``==``), or a package with two different bounds is an error: the
minimum must be declared once, and installable.

``check`` runs in the environment under test and fails unless every pinned distribution is
installed at exactly its pinned version (so nothing, e.g. the test command's own ``pip
install``, moved a pin). Environment markers (``; python_version < "3.11"``) are dropped:
every pinned package must be installed. Only the standard library is used.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

# name[extras] specifiers ; marker
REQUIREMENT = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;.*)?$"
)
CLAUSE = re.compile(r"^\s*(~=|===|==|!=|<=|>=|<|>)\s*([0-9][0-9A-Za-z.+!*-]*)\s*$")


#: Extras pinned and tested in stages of their own, one virtual environment each: the RL
#: libraries of .ci/integration pin different Gymnasium versions, Ray (.ci/integration's
#: ray stage, recgym.distributed) is a large install only its own tests need, and the
#: documentation tools (.ci/run's docs stage) are not needed to run recgym's tests.
OWN_STAGE_EXTRAS = ("sb3", "d3rlpy", "rllib", "ray", "docs")


def fail(message: str) -> None:
    """Stop with a ``ci:`` message and exit status 1."""
    print(f"ci: minimums.py: {message}", file=sys.stderr)
    raise SystemExit(1)


def canonical(name: str) -> str:
    """The PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def release(version: str) -> tuple[int, ...]:
    """The release segment of a plain numeric version, zero-padded trailing zeros dropped."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", version):
        fail(f"only plain numeric versions are supported as minimums, not {version!r}")
    parts = [int(part) for part in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def minimum(requirement: str) -> tuple[str, str]:
    """The (name, lower bound) of one requirement string, checked against its other clauses."""
    match = REQUIREMENT.match(requirement)
    if match is None:
        fail(f"cannot parse the requirement {requirement!r}")
    name, specifiers = match.group(1), match.group(2)
    clauses = []
    for text in filter(None, (part.strip() for part in specifiers.split(","))):
        clause = CLAUSE.match(text)
        if clause is None:
            fail(f"cannot parse {text!r} in {requirement!r}")
        clauses.append((clause.group(1), clause.group(2)))
    lower = [version for operator, version in clauses if operator == ">="]
    if len(lower) != 1:
        fail(f"{requirement!r} needs exactly one '>=' lower bound (the tested minimum)")
    low = release(lower[0])
    for operator, version in clauses:
        if operator in ("~=", "==="):
            fail(f"{operator!r} is not supported in {requirement!r}")
        if operator == ">=" or ("*" in version and operator in ("==", "!=")):
            continue  # the bound itself; a wildcard (==1.*) is checked by pip when installing
        bound = release(version)
        excluded = {
            "<": low >= bound,
            "<=": low > bound,
            ">": low <= bound,
            "!=": low == bound,
            "==": low != bound,
        }[operator]
        if excluded:
            fail(f"{requirement!r} excludes its own minimum {lower[0]}")
    return name, lower[0]


def pins(requirements: list[str]) -> list[str]:
    """``name==X`` for each requirement; one bound per package."""
    bounds: dict[str, tuple[str, str]] = {}
    for requirement in requirements:
        name, version = minimum(requirement)
        key = canonical(name)
        if key in bounds and release(bounds[key][1]) != release(version):
            fail(f"{name} has two minimums, {bounds[key][1]} and {version}: declare one")
        bounds.setdefault(key, (name, version))
    return [f"{name}=={version}" for name, version in bounds.values()]


def pyproject() -> dict:
    """pyproject.toml of the current directory."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        fail("needs Python >= 3.11 (tomllib) to read pyproject.toml")
    return tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))


def check(path: str) -> None:
    """Fail unless every ``name==X`` of the file is installed at version X."""
    wrong = []
    lines = Path(path).read_text(encoding="utf-8").split()
    for line in lines:
        name, version = line.split("==")
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", installed) or release(installed) != release(
            version
        ):
            wrong.append(f"{name} {installed} (pinned {version})")
    if wrong:
        fail("installed versions differ from the declared minimums: " + ", ".join(wrong))
    print(f"ci: installed exactly at the declared minimum: {' '.join(lines)}")


def main(argv: list[str]) -> None:
    """Print the pins of ``project`` or ``build``, or ``check`` a pin file."""
    if argv[:1] == ["project"] and len(argv) == 1:
        project = pyproject()["project"]
        requirements = list(project.get("dependencies", []))
        for name, extra in project.get("optional-dependencies", {}).items():
            if name not in OWN_STAGE_EXTRAS:
                requirements.extend(extra)
        print("\n".join(pins(requirements)))
    elif argv[:1] == ["extra"] and len(argv) == 2:
        extras = pyproject()["project"].get("optional-dependencies", {})
        if argv[1] not in extras:
            fail(f"pyproject.toml has no extra {argv[1]!r}; it has {sorted(extras)}")
        print("\n".join(pins(extras[argv[1]])))
    elif argv[:1] == ["build"] and len(argv) == 1:
        print("\n".join(pins(pyproject()["build-system"]["requires"])))
    elif argv[:1] == ["check"] and len(argv) == 2:
        check(argv[1])
    else:
        fail("usage: minimums.py project | extra NAME | build | check PINS")


if __name__ == "__main__":
    main(sys.argv[1:])

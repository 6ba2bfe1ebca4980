"""The text of a replication: ``report.md`` and the JSON summary of ``replication.json``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from recgym._io import json_safe

if TYPE_CHECKING:
    from recgym.presets.replication import Estimate, Replication

__all__ = ["SUMMARY_FORMAT", "markdown", "summary"]

#: The ``"format"`` of ``replication.json``.
SUMMARY_FORMAT = "recgym.replication"


def _expected_cell(estimate: Estimate) -> str:
    if estimate.expected is None:
        return "reported"
    mark = {True: "yes", False: "**no**", None: "undetermined"}[estimate.holds]
    return f"`{estimate.expected}`: {mark}"


def _values(values: tuple[float, ...]) -> str:
    return ", ".join(f"{value:.4g}" for value in values)


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|")


def _flatten(settings: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in settings.items():
        if key == "arms":
            continue
        if isinstance(value, Mapping):
            rows += _flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def markdown(replication: Replication, figure: str | None = None) -> str:
    """``report.md``: the claim, the verdict and its rule, the numbers, figure, settings.

    Args:
        replication: The replication.
        figure: File name of the figure to embed, or None for none.

    Returns:
        str: Markdown text ending with a newline.
    """
    n = len(replication.seeds)
    lines = [
        f"# {replication.citation}: replicated with recgym",
        "",
        f"{replication.reference}",
        "",
        f"**Claim.** {replication.claim}",
        "",
        f"**Verdict: the claim's direction {replication.verdict}** at scale "
        f"`{replication.scale}` over {n} seed{'s' if n > 1 else ''}. {replication.rule}",
        "",
        "## Headline numbers",
        "",
        (
            f"Mean over {n} seeds ± the half-width of the 95 % Student-t interval of the mean "
            "(printed to the interval's second significant digit)."
            if n > 1
            else "One seed: the values, without interval."
        ),
        "",
        "| quantity | value | test of the claim | per seed |",
        "|---|---:|---|---|",
    ]
    lines += [
        f"| {estimate.description} (`{estimate.name}`) | {estimate.text()} | "
        f"{_expected_cell(estimate)} | {_values(estimate.values)} |"
        for estimate in replication.estimates
    ]
    lines += ["", "## Figure", ""]
    if figure is None:
        lines += ["No figure (matplotlib is not installed; `pip install 'recgym[plot]'`).", ""]
    else:
        alt = ", ".join(panel.label for panel in replication.panels) + " against the step"
        lines += [
            f"![{alt}]({figure})",
            "",
            f"*Figure.* {_sentence(_join([panel.title for panel in replication.panels]))} "
            "against the step, one line per arm: the mean over seeds, and a shaded band for "
            f"the 95 % Student-t interval of the mean. Settings: {replication.caption}.",
            "",
        ]
    lines += [
        "## Settings",
        "",
        "| setting | value |",
        "|---|---|",
        *(f"| {key} | {_cell(value)} |" for key, value in _flatten(replication.settings)),
        "",
        "Arms (the recommenders compared; every arm of a seed starts from the same population):",
        "",
        "| arm | policy | parameters |",
        "|---|---|---|",
    ]
    for arm in replication.settings.get("arms", []):
        parameters = ", ".join(
            f"`{key}={_cell(value)}`" for key, value in arm["parameters"].items()
        )
        lines.append(f"| {arm['label']} | `{arm['policy']}` | {parameters or '—'} |")
    lines += [
        "",
        "## Provenance",
        "",
        f"Computed by recgym {replication.version} in {replication.seconds:.1f} s. The same "
        "command computes every number again (every random draw comes from the seeds):",
        "",
        f"    {replication.command}",
        "",
        "Per-step means, intervals and per-seed values of every curve, and every estimate: "
        "`results.csv`; the same as JSON: `replication.json`.",
        "",
    ]
    return "\n".join(lines)


def _join(words: list[str]) -> str:
    """``"a, b and c"``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def summary(replication: Replication) -> dict[str, Any]:
    """The replication as JSON values; NaN and infinities as None.

    Returns:
        dict: ``format``, ``version``, ``name``, ``citation``, ``reference``, ``claim``,
        ``rule``, ``holds``, ``verdict``, ``scale``, ``seeds``, ``base_seed``,
        ``recgym_version``, ``seconds``, ``command``, ``settings`` and ``estimates``
        (name, description, unit, expected, mean, ci_low, ci_high, per_seed, holds).
    """
    return json_safe(
        {
            "format": SUMMARY_FORMAT,
            "version": 1,
            "name": replication.name,
            "citation": replication.citation,
            "reference": replication.reference,
            "claim": replication.claim,
            "rule": replication.rule,
            "holds": replication.holds,
            "verdict": replication.verdict,
            "scale": replication.scale,
            "seeds": list(replication.seeds),
            "base_seed": replication.base_seed,
            "recgym_version": replication.version,
            "seconds": replication.seconds,
            "command": replication.command,
            "settings": dict(replication.settings),
            "estimates": [
                {
                    "name": estimate.name,
                    "description": estimate.description,
                    "unit": estimate.unit,
                    "expected": estimate.expected,
                    "mean": estimate.mean,
                    "ci_low": estimate.low,
                    "ci_high": estimate.high,
                    "per_seed": list(estimate.values),
                    "holds": estimate.holds,
                }
                for estimate in replication.estimates
            ],
        }
    )

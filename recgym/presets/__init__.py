"""Replications of the feedback-loop literature, one call each, with intervals over seeds.

Each preset builds a paper's setting — population, catalogue, user and choice model, the
recommenders compared — at a scale you choose (``"small"`` runs in seconds, ``"paper"``
close to the paper's sizes), runs it over several seeds and returns a
:class:`Replication`: the paper's claim in one sentence, every setting, the headline
numbers with 95 % Student-t intervals over seeds, whether the claim's direction holds
(decided from the numbers, :data:`~recgym.presets.replication.RULE`), the per-step
summaries behind the paper's headline figure and a method that draws it.

- ``chaney_2018`` (:func:`chaney_2018`): recommenders trained on confounded data,
  homogeneity and utility against the ideal recommender (Chaney, Stewart & Engelhardt,
  RecSys 2018).
- ``dean_morgenstern_2022`` (:func:`dean_morgenstern_2022`): personalised
  recommendations turn users onto items; stationarity (Dean & Morgenstern, EC 2022).
- ``jiang_2019`` (:func:`jiang_2019`): degenerate feedback loops, slowed by exploration
  (Jiang, Chiappa, Lattimore, György & Kohli, AIES 2019).
- ``kalimeris_2021`` (:func:`kalimeris_2021`): a slight leaning amplified by a
  feedback-trained recommender (Kalimeris, Bhagat, Kalyanaraman & Weinsberg, KDD 2021).
- ``mansoury_2020`` (:func:`mansoury_2020`): popularity bias amplified by the feedback
  loop, and a minority drawn toward the majority (Mansoury, Abdollahpouri, Pechenizkiy,
  Mobasher & Burke, CIKM 2020).

``recgym replicate NAME`` runs one from the command line and writes its report folder;
``recgym replicate --list`` lists them. ``import recgym`` does not import this package.

Example:
    >>> from recgym.presets import PRESETS
    >>> list(PRESETS)
    ['chaney_2018', 'dean_morgenstern_2022', 'jiang_2019', 'kalimeris_2021', 'mansoury_2020']
    >>> PRESETS["jiang_2019"].paper.citation
    'Jiang et al. (2019)'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from recgym._validation import check_choice
from recgym.presets import chaney, dean_morgenstern, jiang, kalimeris, mansoury
from recgym.presets.chaney import RankDiscountedChoice, chaney_2018
from recgym.presets.dean_morgenstern import dean_morgenstern_2022
from recgym.presets.folder import ReplicationFolderError
from recgym.presets.jiang import jiang_2019
from recgym.presets.kalimeris import kalimeris_2021
from recgym.presets.mansoury import mansoury_2020
from recgym.presets.preset import SCALES, Arm, Paper, Preset
from recgym.presets.replication import RULE, Curve, Estimate, Panel, Replication

__all__ = [
    "PRESETS",
    "RULE",
    "SCALES",
    "Arm",
    "Curve",
    "Estimate",
    "Panel",
    "Paper",
    "Preset",
    "RankDiscountedChoice",
    "Replication",
    "ReplicationFolderError",
    "chaney_2018",
    "dean_morgenstern_2022",
    "jiang_2019",
    "kalimeris_2021",
    "mansoury_2020",
    "replicate",
]

#: Every preset by registry name, in the order of ``recgym replicate --list`` (read-only).
#: A new paper is one module with its ``PRESET`` and one entry here.
PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        preset.name: preset
        for preset in (
            chaney.PRESET,
            dean_morgenstern.PRESET,
            jiang.PRESET,
            kalimeris.PRESET,
            mansoury.PRESET,
        )
    }
)


def replicate(
    name: str,
    *,
    seeds: int | None = None,
    scale: str = "small",
    base_seed: int = 0,
    progress: bool | None = None,
) -> Replication:
    """Run the preset ``name`` and return its :class:`Replication`.

    ``replicate("jiang_2019", seeds=5)`` is ``jiang_2019(seeds=5)``.

    Args:
        name: A key of :data:`PRESETS`.
        seeds: How many seeds (default: the preset's, 5); seed ``i`` is ``base_seed + i``.
        scale: ``"small"`` (seconds) or ``"paper"`` (close to the paper's sizes).
        base_seed: The first seed, a non-negative integer.
        progress: A progress bar on stderr: True, False, or None (on a terminal, once the
            replication has run two seconds).

    Returns:
        Replication: The claim, settings, numbers with intervals, verdict and curves.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``name`` is not a preset (the message lists them) or another
            argument has a wrong value.
    """
    check_choice(name, "name", tuple(PRESETS))
    return PRESETS[name].run(seeds=seeds, scale=scale, base_seed=base_seed, progress=progress)

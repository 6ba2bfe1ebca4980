"""The ``recgym`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    """Run the single-user example: a random recommender for a few episodes."""
    import gymnasium as gym

    import recgym  # noqa: F401 - registers RECEnv-v0
    from recgym._validation import check_nonnegative_int, check_positive_int

    check_positive_int(args.episodes, "episodes")
    check_nonnegative_int(args.seed, "seed")
    env = gym.make("RECEnv-v0", n_items=args.items, obs_std=args.obs_std)
    rng = np.random.default_rng(args.seed)
    env.action_space.seed(args.seed)
    unwrapped: Any = env.unwrapped
    print(f"RECEnv-v0: {unwrapped.n_items} items, {unwrapped.n_users} users")
    for episode in range(args.episodes):
        _, info = env.reset(seed=int(rng.integers(2**31)))
        total, done = 0.0, False
        while not done:
            _, reward, done, truncated, info = env.step(env.action_space.sample())
            total += float(reward)
            done = done or truncated
        print(f"episode {episode}: user {info['user_id']:>3}  return {total:+.3f}")
    env.close()
    return 0


def _study(args: argparse.Namespace) -> int:
    """Compare recommendation policies on one population and write a report folder."""
    from recgym.population.study import StudyConfig, run_study

    policies = tuple(name.strip() for name in args.policies.split(",") if name.strip())
    config = StudyConfig(
        users=args.users,
        items=args.items,
        dim=args.dim,
        steps=args.steps,
        policies=policies,
        seed=args.seed,
    )
    print(
        f"recgym study: {config.users} users, {config.items} items, dim {config.dim}, "
        f"{config.steps} steps, policies {', '.join(config.policies)}",
        flush=True,
    )
    run_study(config, args.out, log=sys.stdout, progress=args.progress)
    print(f"report written to {args.out}/ (metrics.csv, summary.json, *.png, histories/)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``recgym`` command."""
    parser = argparse.ArgumentParser(
        prog="recgym", description="Simulate how recommendations change people."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo", help="run the single-user RECEnv-v0 with a random recommender"
    )
    demo.add_argument("--episodes", type=int, default=5, help="episodes to run (default 5)")
    demo.add_argument("--items", type=int, default=100, help="number of items (default 100)")
    demo.add_argument("--obs-std", type=float, default=0.0, help="observation noise (default 0)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(run=_demo)

    from recgym.population.policies import POLICIES, POLICY_ALIASES
    from recgym.population.study import StudyConfig

    defaults = StudyConfig()
    study = commands.add_parser(
        "study",
        help="compare recommendation policies on a population (filter bubbles, polarisation)",
        description=(
            "Run each policy on the same population of users (row-normalised features, "
            "biased-assimilation dynamics) and write a report folder: metrics.csv, "
            "summary.json, metric curves, preference scatter plots and item-exposure plots. "
            "Policies already computed for the same settings in --out are reused."
        ),
    )
    for flag, what in (
        ("users", "number of users"),
        ("items", "number of items"),
        ("dim", "feature dimension"),
        ("steps", "steps per policy"),
    ):
        default = getattr(defaults, flag)
        study.add_argument(
            f"--{flag}", type=int, default=default, help=f"{what} (default {default})"
        )
    study.add_argument(
        "--policies",
        default=",".join(defaults.policies),
        help=(
            f"comma-separated policy names (default: all of {', '.join(POLICIES)}); former "
            f"names also accepted: "
            f"{', '.join(f'{old} = {new}' for old, new in POLICY_ALIASES.items())}"
        ),
    )
    study.add_argument(
        "--seed", type=int, default=defaults.seed, help=f"random seed (default {defaults.seed})"
    )
    study.add_argument("--out", default="recgym-study", help="output folder (default recgym-study)")
    study.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress bars (default: on a terminal, for long runs)",
    )
    study.set_defaults(run=_study)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recgym`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (TypeError, ValueError) as error:
        print(f"recgym: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. --out names a file, or a folder we may not write to
        print(f"recgym: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

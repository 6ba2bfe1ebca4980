"""The ``recgym`` command.

Exit statuses: 0 success (``recgym`` alone prints the help); 1 a file or folder that
cannot be read or written; 2 a wrong option or value, or an output folder a study must
not write into; 130 interrupted (Ctrl-C); 141 (128 + SIGPIPE) when the reader of the
output went away (``recgym study | head -1``), as a command killed by SIGPIPE reports.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["build_parser", "main"]

#: Exit status of an interrupted command (128 + SIGINT, the shell's convention).
INTERRUPTED = 128 + signal.SIGINT
#: Exit status when the reader of stdout went away (128 + SIGPIPE).
BROKEN_PIPE = 128 + 13


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
    from recgym.population.study import StudyConfig, _check_out, run_study

    _check_out(args.out)  # before anything is printed
    policies = tuple(name.strip() for name in args.policies.split(",") if name.strip())
    config = StudyConfig(
        users=args.users,
        items=args.items,
        dim=args.dim,
        steps=args.steps,
        policies=policies,
        seed=args.seed,
        seeds=args.seeds,
        alpha=args.alpha,
        feature_normalization=args.normalization,
        obs_std=args.obs_std,
        reward_std=args.reward_std,
        every=args.every,
    )
    seeds = config.seed_list
    print(
        f"recgym study: {config.users} users, {config.items} items, dim {config.dim}, "
        f"alpha {config.alpha:g}, {config.steps} steps, "
        f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} "
        f"({', '.join(map(str, seeds))}), policies {', '.join(config.policies)}",
        flush=True,
    )
    try:
        run_study(config, args.out, log=sys.stdout, progress=args.progress)
    except KeyboardInterrupt:
        print(
            f"recgym: interrupted; the finished runs are saved in {args.out}/histories, "
            "and the same command resumes from them",
            file=sys.stderr,
        )
        return INTERRUPTED
    print(f"report written to {args.out}/ (report.md, summary.json, *.csv, *.png, histories/)")
    return 0


def _float(text: str) -> float:
    """An argparse type: a float (``nan``/``inf`` pass here and are refused by the checks)."""
    return float(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``recgym`` command."""
    from recgym import __version__

    parser = argparse.ArgumentParser(
        prog="recgym",
        description="Simulate how recommendations change people.",
        epilog="Run 'recgym COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"recgym {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
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
            "Run each policy on the same population of users (biased-assimilation "
            "dynamics) for several seeds and write a report folder: report.md (every "
            "setting, means with 95 % confidence intervals over seeds, figures, a metric "
            "glossary), metrics.csv, intervals.csv, finals.csv, summary.json, figures and "
            "histories/. Rerunning into the same --out resumes: runs already computed "
            "for the same settings are reused; a folder of other settings is refused."
        ),
    )
    for flag, what in (
        ("users", "number of users"),
        ("items", "number of items"),
        ("dim", "feature dimension d"),
        ("steps", "steps per run (the horizon)"),
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
        "--seed",
        type=int,
        default=defaults.seed,
        help=f"base seed: the runs use seeds SEED, SEED+1, ... (default {defaults.seed})",
    )
    study.add_argument(
        "--seeds",
        type=int,
        default=defaults.seeds,
        help=(
            f"number of seeds; means and 95 %% intervals are over seeds (default "
            f"{defaults.seeds}; 1 gives no intervals)"
        ),
    )
    study.add_argument(
        "--alpha",
        type=_float,
        default=defaults.alpha,
        help=f"step size of the preference dynamics (default {defaults.alpha:g})",
    )
    study.add_argument(
        "--normalization",
        choices=("row", "spectral"),
        default=defaults.feature_normalization,
        help=(
            "feature normalisation: row (unit vectors) or spectral (the original "
            f"RECGym's) (default {defaults.feature_normalization})"
        ),
    )
    study.add_argument(
        "--obs-std",
        type=_float,
        default=defaults.obs_std,
        help=f"observation noise: policies see s + OBS_STD*noise (default {defaults.obs_std:g})",
    )
    study.add_argument(
        "--reward-std",
        type=_float,
        default=defaults.reward_std,
        help=f"reward noise (default {defaults.reward_std:g})",
    )
    study.add_argument(
        "--every",
        type=int,
        default=defaults.every,
        help=f"record the metrics every EVERY steps (default {defaults.every})",
    )
    study.add_argument("--out", default="recgym-study", help="output folder (default recgym-study)")
    study.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: on a terminal, once a run lasts 2 s)",
    )
    study.set_defaults(run=_study)
    return parser


def _os_error(error: OSError) -> str:
    """One line for a file-system error, naming the file and, for permissions, the fix."""
    where = f" '{error.filename}'" if error.filename else ""
    if isinstance(error, PermissionError) or error.errno in (errno.EACCES, errno.EPERM):
        return (
            f"permission denied:{where} (recgym reports a file it may not read or write "
            "and never overwrites it; fix the permissions or choose another --out)"
        )
    reason = error.strerror or str(error)
    return f"{reason}:{where}" if where else reason


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot fail again."""
    try:
        descriptor = os.open(os.devnull, os.O_WRONLY)
        os.dup2(descriptor, sys.stdout.fileno())
        os.close(descriptor)
    except (AttributeError, OSError, ValueError):  # stdout without a file descriptor
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``recgym`` console script.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        int: The exit status (see the module's documentation).
    """
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        try:
            return int(args.run(args))
        except (TypeError, ValueError) as error:
            print(f"recgym: error: {error}", file=sys.stderr)
            return 2
        except OSError as error:
            if isinstance(error, BrokenPipeError):
                raise
            print(f"recgym: error: {_os_error(error)}", file=sys.stderr)
            return 1
    except BrokenPipeError:
        _quiet_stdout()
        return BROKEN_PIPE
    except KeyboardInterrupt:
        print("recgym: interrupted", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())

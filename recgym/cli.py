"""The ``recgym`` command: ``demo``, ``study`` and ``replicate``.

Exit statuses: 0 success (``recgym`` alone prints the help); 1 a file or folder that
cannot be read or written; 2 a wrong option or value, or an output folder a study must
not write into; 130 interrupted (Ctrl-C); 141 (128 + SIGPIPE) when the reader of the
output went away (``recgym study | head -1``), as a command killed by SIGPIPE reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import os
import signal
import sys
from collections.abc import Callable, Sequence
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
    from recgym._folders import check_out
    from recgym.population.study import StudyConfig, run_study

    check_out(args.out)  # before anything is printed
    policies = tuple(name.strip() for name in args.policies.split(",") if name.strip())
    # Every option but --policies (split above) is stored under its StudyConfig field.
    fields = {f.name for f in dataclasses.fields(StudyConfig)} - {"policies"}
    config = StudyConfig(
        policies=policies, **{name: value for name, value in vars(args).items() if name in fields}
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


def _replicate(args: argparse.Namespace) -> int:
    """Replicate a paper of the feedback-loop literature and write its report folder."""
    from recgym._folders import check_out
    from recgym._validation import check_choice
    from recgym.presets import PRESETS
    from recgym.presets.folder import FILES, check_folder, identity

    if args.list:
        if args.name is not None:
            raise ValueError(f"`--list` lists every preset and takes no NAME, got {args.name!r}")
        print(_preset_table(PRESETS))
        return 0
    if args.name is None:
        raise ValueError(
            f"`name` must be one of {list(PRESETS)} (or --list), got none: recgym replicate NAME"
        )
    preset = PRESETS[check_choice(args.name, "name", tuple(PRESETS))]
    scale = check_choice(args.scale, "scale", ("small", "paper"))
    seeds = preset.seed_list(args.seeds, args.base_seed)
    out = check_out(f"replications/{preset.name}" if args.out is None else args.out)
    check_folder(out, identity(preset.name, scale, seeds))  # before anything runs
    print(
        f"recgym replicate {preset.name}: {preset.paper.citation}, scale {scale}, "
        f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''} ({', '.join(map(str, seeds))})",
        flush=True,
    )
    replication = preset.run(
        seeds=len(seeds), scale=scale, base_seed=seeds[0], progress=args.progress
    )
    replication.save(out)
    print(f"claim: {replication.claim}")
    for estimate in replication.tests:
        print(f"  {estimate.description}: {estimate.text()} (expected {estimate.expected})")
    print(f"the claim's direction {replication.verdict} ({replication.seconds:.1f} s)")
    print(f"report written to {out}/ ({', '.join(FILES.values())})")
    return 0


def _preset_table(presets: Any) -> str:
    """``recgym replicate --list``: name, paper, typical run time and claim of each preset."""
    lines = []
    for preset in presets.values():
        lines += [
            f"{preset.name}",
            f"    paper: {preset.paper.citation}, {preset.paper.title!r} ({preset.paper.venue})",
            f"    time:  about {preset.seconds:.0f} s at --scale small with the default "
            f"{preset.default_seeds} seeds",
            f"    claim: {preset.claim}",
        ]
    return "\n".join(lines)


def _float(text: str) -> float:
    """An argparse type: a float (``nan``/``inf`` pass here and are refused by the checks)."""
    return float(text)


def _config_option(command: argparse.ArgumentParser, defaults: Any) -> Callable[..., None]:
    """A function adding to ``command`` the option that sets one field of a configuration.

    ``option(field, type, help, flag=None, choices=None)`` adds ``--field`` (underscores
    as dashes, or ``flag``) of the given ``type``, stored under ``field``, with the
    field's value in ``defaults`` as its default and formatted into ``help`` at ``{}``.
    """

    def option(
        field: str,
        kind: Callable[[str], Any],
        text: str,
        flag: str | None = None,
        choices: Sequence[str] | None = None,
    ) -> None:
        default = getattr(defaults, field)
        command.add_argument(
            flag or "--" + field.replace("_", "-"),
            type=kind,
            choices=choices,
            default=default,
            dest=field,
            help=text.format(default),
        )

    return option


def _add_progress(command: argparse.ArgumentParser) -> None:
    """The ``--progress`` / ``--no-progress`` option of a command that runs simulations."""
    command.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: on a terminal, once a run lasts 2 s)",
    )


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
    option = _config_option(study, defaults)
    option("users", int, "number of users (default {})")
    option("items", int, "number of items (default {})")
    option("dim", int, "feature dimension d (default {})")
    option("steps", int, "steps per run (the horizon) (default {})")
    study.add_argument(
        "--policies",
        default=",".join(defaults.policies),
        help=(
            f"comma-separated policy names (default: {', '.join(defaults.policies)}; also "
            f"{', '.join(name for name in POLICIES if name not in defaults.policies)}); "
            "former names also accepted: "
            f"{', '.join(f'{old} = {new}' for old, new in POLICY_ALIASES.items())}"
        ),
    )
    option("seed", int, "base seed: the runs use seeds SEED, SEED+1, ... (default {})")
    option(
        "seeds",
        int,
        "number of seeds; means and 95 %% intervals are over seeds (default {}; 1 gives no "
        "intervals)",
    )
    option("alpha", _float, "step size of the preference dynamics (default {:g})")
    option(
        "feature_normalization",
        str,
        "feature normalisation: row (unit vectors) or spectral (the original RECGym's) "
        "(default {})",
        flag="--normalization",
        choices=("row", "spectral"),
    )
    option("obs_std", _float, "observation noise: policies see s + OBS_STD*noise (default {:g})")
    option("reward_std", _float, "reward noise (default {:g})")
    option("every", int, "record the metrics every EVERY steps (default {})")
    study.add_argument("--out", default="recgym-study", help="output folder (default recgym-study)")
    _add_progress(study)
    study.set_defaults(run=_study)

    replicate = commands.add_parser(
        "replicate",
        help="replicate a paper of the feedback-loop literature (--list shows them)",
        description=(
            "Run a paper's setting over several seeds and write a report folder: "
            "report.md (the claim, the headline numbers with 95 % intervals over seeds, "
            "whether the claim's direction holds, the figure, every setting, the recgym "
            "version and the command that rebuilds it), results.csv, figure.png and "
            "replication.json. 'recgym replicate --list' lists the papers."
        ),
    )
    from recgym.presets import PRESETS

    replicate.add_argument(
        "name", nargs="?", metavar="NAME", help=f"the preset to run: {', '.join(PRESETS)}"
    )
    replicate.add_argument(
        "--list", action="store_true", help="list the presets: name, paper, run time, claim"
    )
    replicate.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="N",
        help="number of seeds; means and 95 %% intervals are over seeds (default 5)",
    )
    replicate.add_argument(
        "--scale",
        default="small",
        metavar="small|paper",
        help="small (runs in seconds) or paper (close to the paper's sizes) (default small)",
    )
    replicate.add_argument(
        "--base-seed",
        type=int,
        default=0,
        metavar="S",
        help="the first seed: the runs use seeds S, S+1, ... (default 0)",
    )
    replicate.add_argument(
        "--out", default=None, metavar="DIR", help="output folder (default replications/NAME)"
    )
    _add_progress(replicate)
    replicate.set_defaults(run=_replicate)
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

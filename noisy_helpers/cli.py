"""Command line: ``python -m noisy_helpers {train,evaluate,export,plot,summary,sweep} ...``.

Examples::

    python -m noisy_helpers train --env CartPole-v1 --total-steps 50000 --seed 0 --out runs/cartpole
    python -m noisy_helpers train --out runs/cartpole --total-steps 80000 --resume
    python -m noisy_helpers evaluate --run runs/cartpole --episodes 10 --video runs/cartpole/video.mp4
    python -m noisy_helpers evaluate --run runs/cartpole --which last
    python -m noisy_helpers plot --run runs/cartpole
    python -m noisy_helpers summary --run runs/cartpole
    python -m noisy_helpers export --run runs/upndown --out agents/upndown
    python -m noisy_helpers train --warm-start agents/upndown --out runs/upndown2
    python -m noisy_helpers sweep --field noisy --values true false --seeds 0-19 --out runs/noisy
    python -m noisy_helpers sweep --field noisy --values true false --seeds 0-19 --out runs/noisy --backend ray

``evaluate`` and ``export`` use the run's best agent (``best/``: a best evaluation, confirmed
on ``best_check_episodes`` more episodes) unless ``--which last`` asks for the latest
checkpoint; both say which they use.

Every field of :class:`~noisy_helpers.Config` is a flag of ``train`` (``--learning-rate``,
``--no-noisy``, ...), documented in ``--help`` by the field's own docstring.  A bad flag,
value, environment id, run folder or damaged checkpoint prints one line and exits with code 2,
having changed nothing on disk.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from .config import Config
from .experiments import BACKENDS

__all__ = ["main", "build_parser", "default_config"]


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (``noisy_helpers train: error: ...``), exit code 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # --learning-rat must not mean --learning-rate
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


_NONE = "none"
#: ``--small`` on Atari: Config.atari() cut to a smoke-test budget.
_SMALL_ATARI = dict(total_steps=600, buffer_size=1_000, learning_starts=200,
                    target_update_period=200, eval_period=300, eval_episodes=1,
                    checkpoint_period=300)
_OPTIONAL_NUMBERS = {"learning_rate_end", "stop_at_return"}  # Config fields that may be None
_OPTIONAL_INTS = {"learning_rate_decay_steps"}
_TUPLE_FIELDS = {"hidden_sizes", "observation_scale"}  # nargs="+" flags; a sweep value is A,B


def _json_object(text: str) -> dict:
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {text!r}")
    return value


def _float_or_none(text: str):
    if text.strip().lower() == _NONE:
        return _NONE
    return float(text)


def _int_or_none(text: str):
    if text.strip().lower() == _NONE:
        return _NONE
    return int(text)


def _noise_schedule(text: str):
    """``--noise-resample``: a name (``step``, ``episode``), or digits for an int ``k``."""
    return int(text) if text.strip().isdigit() else text


# argparse names a type by its __name__ in "invalid <type> value: '...'": say what is accepted.
_float_or_none.__name__ = "number or 'none'"
_int_or_none.__name__ = "integer or 'none'"


def _add_config_flags(parser: argparse.ArgumentParser, skip=()) -> None:
    """``--small``, ``--no-progress`` and a flag for every Config field but ``skip``."""
    parser.add_argument("--small", action="store_true",
                        help="start from Config.small() (Atari: a tiny Config.atari()), the "
                             "CI budget")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    docs = Config.field_docs()
    group = parser.add_argument_group(
        "Config fields (defaults: noisy_helpers.Config; with --small: Config.small())"
    )
    for field in dataclasses.fields(Config):
        if field.name in skip:
            continue
        default = field.default
        help_text = f"{docs.get(field.name, '')} (default: {default})".replace("%", "%%")
        if field.type in ("bool", bool):
            group.add_argument(_flag(field.name), action=argparse.BooleanOptionalAction,
                               default=None, help=help_text)
        elif field.name == "hidden_sizes":
            group.add_argument(_flag(field.name), type=int, nargs="+", default=None,
                               metavar="WIDTH", help=help_text)
        elif field.name == "observation_scale":
            group.add_argument(_flag(field.name), type=float, nargs="+", default=None,
                               metavar="DIVISOR", help=help_text)
        elif field.name == "noise_resample":
            group.add_argument(_flag(field.name), type=_noise_schedule, default=None,
                               metavar="step|episode|K", help=help_text)
        elif isinstance(default, str):
            group.add_argument(_flag(field.name), type=str, default=None,
                               metavar="NAME", help=help_text)
        elif field.name in _OPTIONAL_NUMBERS:  # "none" switches it off
            group.add_argument(_flag(field.name), type=_float_or_none, default=None,
                               metavar="FLOAT|none", help=help_text)
        elif field.name in _OPTIONAL_INTS:
            group.add_argument(_flag(field.name), type=_int_or_none, default=None,
                               metavar="INT|none", help=help_text)
        else:
            kind = int if isinstance(default, int) else float
            group.add_argument(_flag(field.name), type=kind, default=None,
                               metavar=kind.__name__.upper(), help=help_text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m noisy_helpers",
                     description="Noisy Double DQN with prioritized replay (noisy_helpers).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser(
        "train", help="train an agent", description="Train a Noisy Double DQN + PER agent.",
    )
    train.add_argument("--env", default=None,
                       help="gymnasium environment id (default: CartPole-v1, or the "
                            "checkpoint's with --resume)")
    train.add_argument("--out", required=True, type=Path,
                       help="run directory (run.json, metrics.csv, tensorboard/, checkpoint/): "
                            "absent or empty for a new run; a run of this package needs "
                            "--resume or --overwrite; any other folder is refused")
    train.add_argument("--env-kwargs", type=_json_object, default=None, metavar="JSON",
                       help="the environment's arguments as a JSON object, e.g. "
                            "'{\"size\": 10}' for noisy_helpers/DeepSea-v0")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its checkpoint (only "
                            "--total-steps may change, and it must grow)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run already in --out (its own files only; a folder "
                            "that is not a noisy_helpers run is always refused)")
    train.add_argument("--warm-start", type=Path, default=None, metavar="EXPORT",
                       help="start a new run from an exported agent (its weights, step and "
                            "metrics; Adam fresh unless exported --with-optimizer; the replay "
                            "refilled): for when a run's checkpoint and replay are gone. "
                            "--env defaults to its env")
    train.add_argument("--snapshot-steps", type=int, nargs="+", default=(), metavar="STEP",
                       help="also keep the agent after these agent steps (0: before the "
                            "first), in --out/snapshots/step_<STEP>/")
    _add_config_flags(train)

    evaluate = commands.add_parser(
        "evaluate", help="evaluate a trained run",
        description="Play episodes with a run's checkpoint, greedy on μ (noise removed) unless "
                    "--noise, and print the mean return.",
    )
    evaluate.add_argument("--run", required=True, type=Path, help="run directory (from train)")
    evaluate.add_argument("--which", choices=("best", "last"), default=None,
                          help="best: the run's best agent (best/: a best evaluation, "
                               "confirmed on more episodes; the default); last: its latest "
                               "checkpoint. An exported agent holds one of them and says which")
    evaluate.add_argument("--episodes", type=int, default=10, help="episodes to play (default 10)")
    evaluate.add_argument("--seed", type=int, default=12345,
                          help="seed of the first episode; episode i uses seed + i (default 12345)")
    evaluate.add_argument("--noise", action="store_true",
                          help="keep the noise on, redrawn as in training")
    evaluate.add_argument("--sticky-actions", type=float, default=0.0, metavar="P",
                          help="Atari: the probability that the emulator repeats the previous "
                               "action (Machado et al. 2018: 0.25, which gives every game its "
                               "own course). Default 0: the papers' protocol, a deterministic "
                               "emulator with up to 30 no-ops at the start, where a policy with "
                               "its noise removed plays few distinct games")
    evaluate.add_argument("--random", action="store_true",
                          help="also play a uniformly random policy on the same episode seeds "
                               "and print the ratio of the means")
    evaluate.add_argument("--random-episodes", type=int, default=None,
                          help="with --random: episodes of random play (default: --episodes; "
                               "seeds seed, seed + 1, ...). Random scores vary a lot from game "
                               "to game, so a mean over more games is a steadier baseline")
    evaluate.add_argument("--video", type=Path, default=None,
                          help="also record the first episode to this .mp4 file (a new file, "
                               "unless --overwrite)")
    evaluate.add_argument("--overwrite", action="store_true",
                          help="let --video replace an existing file")

    export = commands.add_parser(
        "export", help="copy a trained agent (online weights, config, metrics) to ship it",
        description="Copy what `evaluate` needs (online network weights, agent.json, "
                    "state.json) and metrics.csv from a run into a new directory.",
    )
    export.add_argument("--run", required=True, type=Path, help="run directory (from train)")
    export.add_argument("--out", required=True, type=Path,
                        help="directory to write: absent or empty, or an earlier export with "
                             "--overwrite")
    export.add_argument("--overwrite", action="store_true",
                        help="replace the exported agent (or run) already in --out")
    export.add_argument("--which", choices=("best", "last"), default="best",
                        help="best: the run's best agent (best/, the default); last: its "
                             "latest checkpoint")
    export.add_argument("--with-optimizer", action="store_true",
                        help="also the target network, Adam's state and the noise (about 3x "
                             "the size), so that train --warm-start continues with them")

    sweep = commands.add_parser(
        "sweep", help="train every value of one Config field on many seeds, in parallel",
        description="Train the base config (the defaults, --small, and any Config flag) with "
                    "--field set to each of --values, on each of --seeds (noisy_helpers.sweep "
                    "and run_trials). Trials already finished in --out are read, not trained "
                    "again; a changed trial is trained again. Each trial is a run folder "
                    "--out/<field=value>/<env>/seed<N> with metrics.csv and result.json; the "
                    "results of this command's trials go to --out/results.csv (a results.csv "
                    "that a sweep did not write is refused).",
    )
    sweep.add_argument("--field", required=True,
                       help="the Config field to vary (any field but seed), e.g. noisy, "
                            "learning_rate, sigma0")
    sweep.add_argument("--values", required=True, nargs="+", metavar="VALUE",
                       help="its values, written as for train's flag: true or false for a "
                            "switch (noisy), a number, a name, 'none' where the field may be "
                            "None, WIDTH,WIDTH for hidden_sizes, D,D,D,D or none for "
                            "observation_scale")
    sweep.add_argument("--seeds", required=True, type=_seed_list, metavar="SEEDS",
                       help="the seeds: a range 0-19, a list 0,3,7, or both (0-4,10)")
    sweep.add_argument("--env", default=None, help="gymnasium environment id (default: "
                                                   "CartPole-v1)")
    sweep.add_argument("--env-kwargs", type=_json_object, default=None, metavar="JSON",
                       help="the environment's arguments as a JSON object")
    sweep.add_argument("--out", required=True, type=Path,
                       help="the study's folder: new, or one this command wrote before (its "
                            "finished trials are kept)")
    sweep.add_argument("--workers", type=int, default=None,
                       help="trials run at once (default: this machine's CPU count; on a Ray "
                            "cluster, as many as its CPUs take)")
    sweep.add_argument("--backend", choices=BACKENDS, default="processes",
                       help="processes: local processes (default); ray: each trial a Ray task "
                            "of one CPU, needs pip install \"noisy_helpers[cluster]\"")
    sweep.add_argument("--address", default=None,
                       help="with --backend ray: the cluster to join (host:6379, or auto); "
                            "default RAY_ADDRESS, else a local Ray of --workers CPUs")
    _add_config_flags(sweep, skip=("seed",))  # the seeds come from --seeds

    plot = commands.add_parser("plot", help="write learning_curve.png and sigma.png of a run")
    plot.add_argument("--run", required=True, type=Path, help="run directory (from train)")

    summary = commands.add_parser(
        "summary", help="print when a run first solved its task, its best and last evaluation",
        description="From the evaluations in metrics.csv: the first step whose evaluation "
                    "reached the threshold and how many later ones stayed there, the best "
                    "evaluation (the agent in best/) and how the last one compares with it.")
    summary.add_argument("--run", required=True, type=Path, help="run directory (from train)")
    summary.add_argument("--threshold", type=float, default=None,
                         help="the return that counts as solved (default: the env's "
                              "reward_threshold, 475 for CartPole-v1)")
    return parser


_MOST_SEEDS = 100_000  # a sweep of more trials than this is a typo, not a study


def _seed_list(text: str) -> list:
    """``0-19``, ``0,3,7`` or ``0-4,10``: the seeds, each in [0, 2**31), in that order."""
    import re

    parts = [re.fullmatch(r"([0-9]+)(?:-([0-9]+))?", part.strip()) for part in text.split(",")]
    if not all(parts):
        raise argparse.ArgumentTypeError(f"must be seeds such as 0-19 or 0,3,7, got {text!r}")
    ranges = [(int(m[1]), int(m[2] if m[2] is not None else m[1])) for m in parts]
    if any(high >= 2**31 or low > high for low, high in ranges):
        raise argparse.ArgumentTypeError(f"must be seeds in [0, 2**31), each range low-high "
                                         f"with low <= high, got {text!r}")
    if sum(high - low + 1 for low, high in ranges) > _MOST_SEEDS:  # checked before listing them
        raise argparse.ArgumentTypeError(f"must be at most {_MOST_SEEDS:,} seeds, got {text!r}")
    seeds = [seed for low, high in ranges for seed in range(low, high + 1)]
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"must be distinct seeds, got {text!r}")
    return seeds


def _field_value(field: dataclasses.Field, text: str):
    """``text`` as a value of the Config ``field``, read as its ``train`` flag reads it."""
    lowered = text.strip().lower()
    if field.type in ("bool", bool):
        if lowered not in ("true", "false"):
            raise ValueError("true or false")
        return lowered == "true"
    if field.name == "hidden_sizes":
        return tuple(int(width) for width in text.split(","))
    if field.name == "observation_scale":
        return None if lowered == _NONE else tuple(float(part) for part in text.split(","))
    if isinstance(field.default, str):
        return text
    if field.name in _OPTIONAL_NUMBERS | _OPTIONAL_INTS and lowered == _NONE:
        return None
    return (int if field.name in _OPTIONAL_INTS or isinstance(field.default, int) else float)(text)


def _config_from(args, base: Config) -> Config:
    changes = {}
    for field in dataclasses.fields(Config):
        value = getattr(args, field.name, None)
        if value is not None:
            if value == _NONE:
                value = None
            changes[field.name] = tuple(value) if field.name in _TUPLE_FIELDS else value
    return base.replace(**changes)


def default_config(env_id: str, small: bool = False) -> Config:
    """The defaults for ``env_id``: ``Config.atari()`` for ``ALE/...`` ids, else ``Config()``;
    with ``small``, the tiny CI budget of either."""
    from .atari import is_atari

    if is_atari(env_id):
        return Config.atari(**_SMALL_ATARI) if small else Config.atari()
    return Config.small() if small else Config()


def _train(args, parser) -> int:
    from .training import load_run_state, train

    if args.resume:
        saved = load_run_state(args.out)
        base = Config.from_dict(saved["config"])
        env_id = args.env or saved["env_id"]
        env_kwargs = saved["env_kwargs"] if args.env_kwargs is None else args.env_kwargs
    else:
        env_id, env_kwargs = args.env, args.env_kwargs
        if args.warm_start is not None and env_id is None:
            from . import run_folder

            folder = run_folder.require_run_folder(args.warm_start, "--warm-start")
            if run_folder.read_marker(folder)["kind"] == "export":  # else train says why not
                exported = run_folder.read_state(run_folder.find_agent(folder)[0])
                env_id = exported["env_id"]
                env_kwargs = exported["env_kwargs"] if env_kwargs is None else env_kwargs
        env_id = env_id or "CartPole-v1"
        base = default_config(env_id, small=args.small)
    config = _config_from(args, base)
    try:
        run = train(config, env_id=env_id, out=args.out, resume=args.resume,
                    progress=not args.no_progress, env_kwargs=env_kwargs,
                    overwrite=args.overwrite, snapshot_steps=list(args.snapshot_steps),
                    warm_start=args.warm_start)
    except KeyboardInterrupt:
        return 130
    from .run_folder import read_state

    step = read_state(run.directory / "checkpoint")["step"]  # verified as it was written
    print(f"Trained to step {step} of {config.total_steps} on {env_id}. "
          f"Run directory: {run.directory}")
    print(f"  metrics:    {run.metrics_path}")
    print(f"  checkpoint: {run.directory / 'checkpoint'} (the last agent)")
    from .plotting import read_best

    best = read_best(run.directory)
    if best is not None:
        print(f"  best:       {run.directory / 'best'} (evaluation {best['eval_return']:.1f} at "
              f"step {best['step']:,})")
    return 0


def _evaluate(args, parser) -> int:
    import numpy as np

    from . import run_folder
    from .atari import is_atari
    from .training import evaluate, load_agent, make_env, random_policy_returns, resample_every

    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    if args.random_episodes is not None and args.random_episodes < 1:
        parser.error(f"--random-episodes must be >= 1, got {args.random_episodes}")
    if not 0 <= args.seed < 2**31:
        parser.error(f"--seed must be in [0, 2**31), got {args.seed}")
    if args.video is not None:
        if args.video.suffix != ".mp4":
            parser.error(f"--video must be an .mp4 path, got {str(args.video)!r}")
        if args.video.exists() and not args.overwrite:
            parser.error(f"--video {str(args.video)!r} exists; pass --overwrite to replace it")
        if not args.video.parent.is_dir():
            parser.error(f"--video: folder {str(args.video.parent)!r} does not exist")
    run = run_folder.require_run_folder(args.run, "--run")
    agent, selection, saved = load_agent(run, args.which)
    config, env_id, env_kwargs = saved["config"], saved["env_id"], saved["env_kwargs"]
    if not 0.0 <= args.sticky_actions <= 1.0:
        parser.error(f"--sticky-actions must be a probability in [0, 1], got {args.sticky_actions}")
    if args.sticky_actions and not is_atari(env_id):
        parser.error(f"--sticky-actions is for Atari (ALE/...) runs, not {env_id}")
    envs = [make_env(env_id, env_kwargs=env_kwargs, sticky_actions=args.sticky_actions)
            for _ in range(args.episodes)]
    print(_describe_agent(selection, run))
    seeds = [args.seed + i for i in range(args.episodes)]
    returns = evaluate(agent, envs, seeds, noise=args.noise,
                       resample_every=resample_every(config))
    mode = "noise on" if args.noise else "noise removed (μ only)"
    if is_atari(env_id):
        mode += (f", sticky actions {args.sticky_actions:g}" if args.sticky_actions
                 else ", up to 30 no-ops, no sticky actions")
    print(f"{env_id}, {args.episodes} episodes, {mode}: mean return {returns.mean():.1f} "
          f"± {returns.std():.1f} (min {returns.min():.1f}, max {returns.max():.1f})")
    print("returns: " + " ".join(f"{r:g}" for r in returns))
    # A deterministic policy on a deterministic emulator can play one game many times over.
    print(f"distinct returns: {len(np.unique(returns))} of {args.episodes}")
    if args.random:
        # The same seeds as the agent's episodes first, then more if --random-episodes asks.
        count = args.random_episodes or args.episodes
        # Episodes are played one after the other: the envs are reused in turn.
        random = random_policy_returns([envs[i % len(envs)] for i in range(count)],
                                       [args.seed + i for i in range(count)], seed=args.seed)
        same = "same seeds" if count == args.episodes else f"seeds {args.seed}..{args.seed + count - 1}"
        print(f"{env_id}, {count} episodes, uniformly random actions ({same}, the same "
              f"protocol): mean return {random.mean():.1f} ± {random.std():.1f} "
              f"(standard error {random.std() / max(1, count - 1) ** 0.5:.1f})")
        if random.mean() > 0:
            print(f"agent / random: {returns.mean() / random.mean():.2f}")
    if args.video is not None:
        from .video import record_episode

        video_return = record_episode(agent, env_id, args.video, seed=seeds[0], noise=args.noise,
                                      env_kwargs=env_kwargs)
        print(f"video: {args.video} (episode return {video_return:g})")
    for env in envs:
        env.close()
    return 0 if np.isfinite(returns).all() else 1


def _describe_agent(selection: dict, run: Path) -> str:
    """One line: which agent of ``run`` is used (``selection.json``), for evaluate and export."""
    if selection["which"] == "best":
        check = ("" if "check_return" not in selection
                 else f", its check {selection['check_return']:.1f}")
        return (f"agent: the best of {run} (its evaluation {selection['eval_return']:.1f}"
                f"{check} at step {selection['step']:,})")
    return f"agent: the last of {run} (step {selection['step']:,})"


def _export(args, parser) -> int:
    from .run_folder import export_agent, find_agent

    out = export_agent(args.run, args.out, overwrite=args.overwrite, which=args.which,
                       optimizer=args.with_optimizer)
    size = sum(p.stat().st_size for p in (out / "checkpoint").iterdir())
    print(f"exported {args.run} to {out} ({size / 1e6:.1f} MB of checkpoint)")
    print(_describe_agent(find_agent(out)[1], out))
    return 0


def _summary(args, parser) -> int:
    from .run_folder import (EXPORTED_FILES, find_agent, find_checkpoint, read_metrics,
                             read_state, require_run_folder)
    from .summary import format_summary, solved_threshold, summarise_evaluations

    run = require_run_folder(args.run, "--run")
    threshold = args.threshold
    if threshold is None:
        env_id = read_state(find_checkpoint(run, EXPORTED_FILES))["env_id"]
        threshold = solved_threshold(env_id)
    print(format_summary(summarise_evaluations(read_metrics(run / "metrics.csv"), threshold)))
    try:  # the agent that evaluate and --video play, picked with its check
        print(_describe_agent(find_agent(run, "best")[1], run))
    except FileNotFoundError:
        pass  # no evaluation yet, or a run from before best/
    return 0


def _sweep(args, parser) -> int:
    import statistics

    from .experiments import run_trials, sweep

    fields = {field.name: field for field in dataclasses.fields(Config)}
    args.field = args.field.replace("-", "_")  # --field learning-rate, as its flag is spelt
    if args.field not in fields or args.field == "seed":
        raise ValueError(f"--field must be a Config field other than seed, got {args.field!r}")
    if getattr(args, args.field) is not None:
        raise ValueError(f"--field {args.field} is swept: drop its flag {_flag(args.field)}")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if args.address is not None and args.backend != "ray":
        raise ValueError("--address is for --backend ray")
    values = []
    for text in args.values:
        try:
            values.append(_field_value(fields[args.field], text))
        except ValueError:
            raise ValueError(f"--values: {text!r} is not a value of {args.field}") from None
    if len(set(map(str, values))) != len(values):
        raise ValueError(f"--values must be distinct, got {' '.join(args.values)}")
    # Folder names as the values were typed (hidden_sizes 64,64 is "hidden_sizes=64x64").
    labels = [f"{args.field}={text.strip().replace(',', 'x')}"
              if args.field in _TUPLE_FIELDS else f"{args.field}={value}"
              for text, value in zip(args.values, values)]
    env_id = args.env or "CartPole-v1"
    base = _config_from(args, default_config(env_id, small=args.small))
    trials = sweep(base, args.field, values, args.seeds, env_id=env_id,
                   env_kwargs=[args.env_kwargs or {}], labels=labels)
    try:
        rows = run_trials(trials, args.out, workers=args.workers,
                          progress=not args.no_progress, backend=args.backend,
                          address=args.address)
    except KeyboardInterrupt:
        print(f"\ninterrupted: the finished trials are kept in {args.out}; the same command "
              f"trains the others", file=sys.stderr)
        return 130
    print(f"{len(rows)} runs in {args.out}; their results: {args.out / 'results.csv'}")
    for group in dict.fromkeys(row["group"] for row in rows):
        runs = [row for row in rows if row["group"] == group]
        line = f"  {group}: {len(runs)} runs"
        for key, name in (("last_eval_return", "last evaluation"),
                          ("best_eval_return", "best evaluation")):
            scores = [row[key] for row in runs if row[key] is not None]
            if scores:
                line += (f"; {name} median {statistics.median(scores):g} "
                         f"(worst {min(scores):g})")
        if base.stop_at_return is not None:
            reached = sum(row["first_goal_episode"] is not None for row in runs)
            line += f"; reached {base.stop_at_return:g} in {reached}/{len(runs)}"
        print(line)
    return 0


def _plot(args, parser) -> int:
    from .plotting import save_run_plots
    from .run_folder import require_run_folder

    for path in save_run_plots(require_run_folder(args.run, "--run")):
        print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = {"train": _train, "evaluate": _evaluate, "export": _export,
               "plot": _plot, "summary": _summary, "sweep": _sweep}[args.command]
    if args.command in ("train", "evaluate"):
        from ._tensorflow import import_tensorflow

        import_tensorflow()  # without its start-up block on the terminal
    try:
        return command(args, parser)
    except (ValueError, TypeError, OSError, ImportError) as error:  # OSError: disk full...
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        parser.exit(2, f"{parser.prog} {args.command}: error: {message}\n")


if __name__ == "__main__":
    sys.exit(main())

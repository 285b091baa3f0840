"""``onlinekit simulate ENV --learner NAME --episodes K``: a decision learner against a registered
environment (the ``environment`` protocol; see ``docs/simulate.md``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from onlinekit._cliutil import USER_ERRORS, fail, interrupted, parse_params


def _env_list() -> str:
    from onlinekit.streams.environments import ENVIRONMENTS

    return "\n".join(f"  {e.name:<18} {e.description}" for e in ENVIRONMENTS.values())


@click.command()
@click.argument("env", required=False, metavar="ENV")
@click.option("--learner", "-l", default=None, help="Registered learner name with act/update (see `onlinekit learners`).")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="Learner parameter (JSON value); the environment's sizes are filled in when not given.")
@click.option("--episodes", "-k", type=int, default=None, help="Episodes to play (an episode is the environment's horizon).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Root seed: the environment's and the learner's seeds are spawned from it.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Write report.json, series.csv, plots, checkpoint here.")
@click.option("--checkpoint-every", type=int, default=None, help="Checkpoint every N episodes (needs --out).")
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.npz if it exists (same ENV, learner, seed).")
@click.option("--record-every", type=int, default=None, help="Record reward and regret every N episodes (default: 200 points).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--list", "list_", is_flag=True, help="List the environments.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def simulate(env, learner, params, episodes, seed, out, checkpoint_every, resume, record_every, progress, list_, debug):
    """Run a decision learner against environment ENV (NAME or NAME?key=value&...).

    \b
    Examples:
      onlinekit simulate 'cascade-mdp?n_states=3&n_items=6&horizon=3&m=2' --learner cascading-vi --episodes 2000
      onlinekit simulate 'cascading-bandit?n_items=10&m=3' -l cascade-klucb -k 5000 --out runs/klucb
      onlinekit simulate auctions -l sgd-ucb-budgeter -p ucb_scale=0.02 -k 500
    """
    if list_:
        click.echo(_env_list())
        return
    try:
        report = _run(env, learner, params, episodes, seed, out, checkpoint_every, resume, record_every, progress)
    except KeyboardInterrupt as exc:
        interrupted(exc)
    except USER_ERRORS as exc:
        fail(exc, debug)
        return
    from onlinekit.cli import _command_line

    report.meta["command"] = _command_line()
    click.echo(report.format_table())
    if out:
        files = report.write(out)
        click.echo(f"wrote {len(files)} file(s) to {out}")


def _run(env_spec, learner, params, episodes, seed, out, checkpoint_every, resume, record_every, progress):
    from onlinekit.base import InvalidEvent, Learner, spawn_seeds
    from onlinekit.protocols.environment import ENVIRONMENT, is_decision_learner, simulate_env
    from onlinekit.registry import get_learner_class, learners
    from onlinekit.streams.environments import make_environment

    if env_spec is None:
        raise ValueError("name an environment: onlinekit simulate ENV --learner NAME --episodes K "
                         "(environments: onlinekit simulate --list)")
    if learner is None:
        raise ValueError("--learner NAME is required (a learner with act/update; see `onlinekit learners`)")
    if episodes is None or episodes < 1:
        raise ValueError(f"--episodes must be an integer >= 1, got {episodes}")
    if (checkpoint_every or resume) and not out:
        raise ValueError("--checkpoint-every/--resume need --out")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every must be >= 1, got {checkpoint_every}")
    if record_every is not None and record_every < 1:
        raise ValueError(f"--record-every must be >= 1, got {record_every}")
    cls = get_learner_class(learner)
    if not is_decision_learner(cls):
        able = [n for n, info in learners().items() if is_decision_learner(info.load())]
        raise ValueError(f"{learner} does not act in an environment (no act/update); learners that do: "
                         f"{', '.join(able)}")
    given = parse_params(params)
    kw = dict(given)
    env = make_environment(env_spec)
    for k, v in ENVIRONMENT.infer_params(cls, env).items():
        kw.setdefault(k, v)
    env_seed, pol_seed = spawn_seeds(seed, 2)
    try:
        model = cls(**kw)
    except InvalidEvent as exc:
        raise ValueError(f"--param: {exc}") from None
    except TypeError as exc:
        hint = " (give it with -p NAME=VALUE)" if "missing" in str(exc) else ""
        raise ValueError(f"--param: {exc}{hint}") from None
    if isinstance(model, Learner) and "seed" in model.get_params() and "seed" not in given:
        model = model.clone(seed=pol_seed)
    ckpt = str(Path(out) / "checkpoint.npz") if out and (checkpoint_every or resume) else None
    show = sys.stderr.isatty() if progress is None else progress
    try:
        return simulate_env(model, env, episodes, env_seed, source=env_spec, checkpoint=ckpt,
                            checkpoint_every=checkpoint_every, resume=resume, progress=show,
                            record_every=record_every)
    except InvalidEvent as exc:  # the learner and the environment do not speak the same protocol
        raise ValueError(f"{learner} on {env_spec}: {exc}") from None

"""The ``onlinekit`` command line (click). No algorithm logic lives here.

Commands: ``replay``, ``experiment``, ``learners``, ``streams``, ``serve``, ``consume``. User errors (unknown
learner, missing column, malformed file, bad parameter) print one line and exit with status
2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from onlinekit._cliutil import USER_ERRORS as _USER_ERRORS
from onlinekit._cliutil import fail as _fail
from onlinekit._cliutil import parse_params as _parse_params

DEFAULT_SOURCE = "river:Phishing"
DEFAULT_LEARNER = "ogd-classifier"
DEFAULT_PARAMS = ("lr=0.1",)





class _Group(click.Group):
    """Keeps ``--debug`` behaviour uniform for every command."""


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="onlinekit")
def main() -> None:
    """onlinekit: online learning and decision-making engine.

    \b
    Examples:
      onlinekit replay                      # a bundled dataset through a default learner
      onlinekit replay data.csv --target y --learner ogd -p lr=0.05 --out runs/ogd
      onlinekit experiment --list
      onlinekit experiment ogd-regret --quick --out runs/exp
    """


# --------------------------------------------------------------------------------------------
@main.command()
@click.argument("source", required=False)
@click.option("--learner", "-l", default=None, help="Registered learner name (see `onlinekit learners`).")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Learner parameter (JSON value).")
@click.option("--target", "-t", default=None, help="Target column, or an expression such as 'income == \">50K\"'.")
@click.option("--features", "-f", multiple=True, help="Feature columns (repeat or comma-separate); default: all others.")
@click.option("--group", "-g", "groups", multiple=True, metavar="NAME=EXPR", help="Group predicate over columns (groups may intersect).")
@click.option("--sensitive", default=None, help="Sensitive-attribute column (fairness learners).")
@click.option("--metric", "-m", "metric_names", multiple=True, help="loss, accuracy, regret, fairness, squared, absolute, log, zero_one.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None, help="Write report.json, series.csv, plots, checkpoint here.")
@click.option("--checkpoint-every", type=int, default=None, help="Checkpoint every N events (needs --out or --checkpoint).")
@click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False), default=None, help="Checkpoint file (default OUT/checkpoint.npz).")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint if it exists.")
@click.option("--errors", type=click.Choice(["raise", "skip"]), default="raise", show_default=True, help="What to do with malformed rows.")
@click.option("--block-size", type=int, default=8192, show_default=True)
@click.option("--record-every", type=int, default=None, help="Record metrics every N events (default 1000).")
@click.option("--max-events", type=int, default=None)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--shard-by", default=None, metavar="COL", help="One learner per value of column COL; reports merged.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="With --shard-by: local processes (--jobs) or one Ray task per shard.")
@click.option("--jobs", "-j", type=int, default=1, show_default=True, help="With --shard-by: local worker processes.")
@click.option("--address", default=None, help="Ray cluster address (default: start a local Ray instance).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def replay(source, learner, params, target, features, groups, sensitive, metric_names, out,
           checkpoint_every, checkpoint_path, resume, errors, block_size, record_every, max_events,
           progress, shard_by, backend, jobs, address, debug):
    """Replay a logged stream (CSV, JSONL, Parquet, river:NAME, synthetic:NAME) through a learner.

    With no SOURCE, replays the Phishing dataset bundled with River through OGD (logistic).
    """
    try:
        from onlinekit import engine
        from onlinekit.metrics import make_metric
        from onlinekit.registry import get_learner_class
        from onlinekit.streams import Schema, Stream, open_source

        if source is None:
            source = DEFAULT_SOURCE
            if learner is None:
                learner, params = DEFAULT_LEARNER, DEFAULT_PARAMS + tuple(params)
        learner = learner or "ogd"
        cls = get_learner_class(learner)
        model = cls(**_parse_params(params))
        src = open_source(source, errors=errors)
        cols = src.column_names()
        if target is None:
            target = "y" if "y" in cols else None
            if target is None:
                raise ValueError(f"{source}: no column 'y'; say which column is the target with --target (columns: {cols})")
        feats = tuple(c.strip() for f in features for c in f.split(",") if c.strip()) or None
        schema = Schema(features=feats, target=target, groups=tuple(groups), sensitive=sensitive)
        if shard_by is None and (backend != "local" or jobs != 1 or address):
            raise ValueError("--backend/--jobs/--address apply to sharded replay: add --shard-by COL")
        if shard_by is not None:
            if checkpoint_every or resume or checkpoint_path or max_events:
                raise ValueError("--shard-by does not support --checkpoint-every/--checkpoint/--resume/--max-events")
            from onlinekit.sharded import replay_sharded

            show = sys.stderr.isatty() if progress is None else progress
            report = replay_sharded(model, src, shard_by, schema=schema, backend=backend, jobs=jobs,
                                    address=address, metrics=metric_names or None, block_size=block_size,
                                    errors=errors, record_every=record_every, progress=show)
            _finish_replay(report, out)
            for f in report.failures:
                click.echo(f"shard {shard_by}={f['key']} failed: {f['error']}", err=True)
            if report.failures:
                sys.exit(1)
            return
        stream = Stream(src, schema, block_size=block_size, errors=errors)
        task = engine.task_of(model)
        group_names = tuple(g.name for g in schema.groups)
        metrics = None
        if metric_names:
            metrics = []
            for name in metric_names:
                metrics += make_metric(name, task=task, group_names=group_names)
        ckpt = checkpoint_path or (str(Path(out) / "checkpoint.npz") if out and (checkpoint_every or resume) else None)
        if (checkpoint_every or resume) and ckpt is None:
            raise ValueError("--checkpoint-every/--resume need --out or --checkpoint")
        show = sys.stderr.isatty() if progress is None else progress
        report = engine.replay(model, stream, metrics=metrics, checkpoint=ckpt, checkpoint_every=checkpoint_every,
                               resume=resume, progress=show, record_every=record_every, max_events=max_events)
    except _USER_ERRORS as exc:
        _fail(exc, debug)
        return
    _finish_replay(report, out)


def _finish_replay(report, out) -> None:
    click.echo(report.format_table())
    if report.skipped:
        click.echo(f"skipped {report.skipped} malformed row(s); first: {report.bad_rows[0] if report.bad_rows else '?'}", err=True)
    if out:
        files = report.write(out)
        click.echo(f"wrote {len(files)} file(s) to {out}")


# --------------------------------------------------------------------------------------------
@main.command()
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the registered experiments.")
@click.option("--seeds", type=int, default=None, help="Number of seeds (default: the config's n_seeds).")
@click.option("--seed", type=int, default=0, show_default=True, help="Root seed; per-run seeds are spawned from it.")
@click.option("--jobs", "-j", type=int, default=None,
              help="local: worker processes (default 1); ray: most seeds running at once (default: no cap).")
@click.option("--quick", is_flag=True, help="Small setting (seconds).")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Override a config field.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None, help="Output directory (default runs/NAME).")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: process pool (--jobs); ray: one Ray task per seed (extra onlinekit[ray]).")
@click.option("--address", default=None,
              help="With --backend ray: HOST:PORT (GCS), ray://HOST:PORT or auto (default: a local Ray instance).")
@click.option("--resume", is_flag=True, help="Continue the run in --out: skip seeds already written (same config).")
@click.option("--progress/--no-progress", default=None)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def experiment(name, list_, seeds, seed, jobs, quick, params, out, backend, address, resume, progress, debug):
    """Rerun a paper experiment over seeds; writes config, per-seed results, table and plots."""
    try:
        from onlinekit.experiments.runner import config_from_params, load_experiment, run_experiment
        from onlinekit.registry import experiments

        if list_ or name is None:
            reg = experiments()
            width = max((len(n) for n in reg), default=0)
            for n, info in reg.items():
                click.echo(f"{n:<{width}}  {info.description}")
            return
        if address and backend != "ray":
            raise ValueError("--address applies to the Ray backend: add --backend ray")
        mod = load_experiment(name)
        cfg = mod.Config.quick() if quick else mod.Config()
        if params:
            cfg = config_from_params(cfg, {k: v for k, _, v in (p.partition("=") for p in params)})
        out = out or str(Path("runs") / name)
        show = sys.stderr.isatty() if progress is None else progress
        res = run_experiment(name, config=cfg, n_seeds=seeds, seed=seed, jobs=jobs, out=out,
                             progress=show, backend=backend, address=address, resume=resume)
    except _USER_ERRORS as exc:
        _fail(exc, debug)
        return
    md = Path(out) / "table.md"
    if md.exists():
        click.echo(md.read_text())
    click.echo(f"wrote {len(res.files)} file(s) to {out}")
    for f in res.failed_seeds:
        click.echo(f"seed {f['seed']} (run {f['index']}) failed: {f['error']}", err=True)
    for f in res.failures:
        click.echo(f"claim not reproduced: {f}", err=True)
    if res.failures or res.failed_seeds:
        sys.exit(1)


# --------------------------------------------------------------------------------------------
@main.command()
def learners():
    """List registered learners with a one-line description."""
    from onlinekit.registry import learners as reg

    items = reg()
    width = max((len(n) for n in items), default=0)
    for name, info in items.items():
        click.echo(f"{name:<{width}}  [{info.kind}] {info.description}")


@main.command()
def streams():
    """List source kinds, synthetic generators and bundled River datasets."""
    from onlinekit.streams import SOURCE_KINDS
    from onlinekit.streams.synthetic import GENERATORS

    click.echo("sources:")
    for k, v in SOURCE_KINDS.items():
        click.echo(f"  {k:<10} {v}")
    click.echo("synthetic generators (synthetic:NAME?k=v&...):")
    for name, info in GENERATORS.items():
        click.echo(f"  {name:<10} {info.description}")
    try:
        from onlinekit.streams.river_data import list_river_datasets
    except ImportError:  # pragma: no cover
        return
    click.echo("river datasets (river:NAME):")
    for name, desc in list_river_datasets().items():
        click.echo(f"  {name:<14} {desc}")


from onlinekit.serve.server_cli import consume, serve  # noqa: E402  (click commands; light imports)

main.add_command(serve)
main.add_command(consume)


if __name__ == "__main__":  # pragma: no cover
    main()

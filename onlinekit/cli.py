"""The ``onlinekit`` command line (click). No algorithm logic lives here.

Commands: ``replay``, ``experiment``, ``learners``, ``streams``, ``data``, ``serve``, ``consume``. User errors (unknown
learner, missing column, malformed file, bad parameter) print one line and exit with status
2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import inspect
import os
import shlex
import sys
from pathlib import Path

import click

from onlinekit._cliutil import USER_ERRORS as _USER_ERRORS
from onlinekit._cliutil import fail as _fail
from onlinekit._cliutil import interrupted
from onlinekit._cliutil import parse_params as _parse_params

DEFAULT_SOURCE = "river:Phishing"
DEFAULT_LEARNER = "ogd-classifier"
DEFAULT_PARAMS = ("lr=0.1",)


class _Group(click.Group):
    """Keeps the command line as typed (``report.json`` records it)."""

    def parse_args(self, ctx, args):
        ctx.meta["argv"] = list(args)
        return super().parse_args(ctx, args)


def _command_line() -> str:
    ctx = click.get_current_context(silent=True)
    argv = ctx.find_root().meta.get("argv", sys.argv[1:]) if ctx is not None else sys.argv[1:]
    return " ".join(shlex.quote(a) for a in ["onlinekit", *argv])


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


#: the column flags of the log protocols: (flag, metavar, help); the role name is the flag's
#: name with "_" for "-" (docs/protocols.md)
_LOG_FLAGS = (
    ("--experts", "COLS", "experts protocol: per-round loss columns, one per expert."),
    ("--awake", "COLS", "experts protocol: 0/1 awake columns, one per expert."),
    ("--gradient", "COLS", "oco protocol: linear-loss gradient columns."),
    ("--hint", "COLS", "oco protocol: optimistic hint columns."),
    ("--value", "COL", "release protocol: the value column; auction protocol: the value."),
    ("--values", "COLS", "release protocol: value columns (vector releases)."),
    ("--item", "COL", "logged-bandit protocol: the item shown."),
    ("--position", "COL", "logged-bandit protocol: its position (slot)."),
    ("--reward", "COL", "logged-bandit protocol: the reward (click)."),
    ("--propensity", "COL", "logged-bandit protocol: the logging policy's propensity."),
    ("--channel", "COL", "auction protocol: the channel of the auction."),
    ("--competing-bid", "COL", "auction protocol: the highest competing bid."),
    ("--cost", "COL", "auction protocol: the cost paid when won (optional)."),
    ("--period", "COL", "auction protocol: the period of the row (rows of one period are consecutive)."),
)


def _log_options(command):
    """Add the column flags of the log protocols to ``command``."""
    for flag, metavar, text in reversed(_LOG_FLAGS):
        command = click.option(flag, default=None, metavar=metavar, help=text)(command)
    return command


# --------------------------------------------------------------------------------------------
@main.command()
@click.argument("source", required=False)
@click.option("--learner", "-l", default=None, help="Registered learner name (see `onlinekit learners`); default: ogd.")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Learner parameter (JSON value).")
@click.option("--target", "-t", default=None,
              help="Target column (a name, or a 0-based column number), or an expression such as 'income == \">50K\"'.")
@click.option("--features", "-f", multiple=True, help="Feature columns (repeat or comma-separate); default: all others.")
@click.option("--group", "-g", "groups", multiple=True, metavar="NAME=EXPR", help="Group predicate over columns (groups may intersect).")
@click.option("--sensitive", default=None, metavar="COL|EXPR",
              help="Sensitive attribute (fairness metrics and learners); its values become groups 0, 1, ... in order of first appearance.")
@click.option("--metric", "-m", "metric_names", multiple=True, help="loss, accuracy, regret, fairness, squared, absolute, log, zero_one.")
@click.option("--delimiter", default=None, metavar="C", help="CSV field separator (default: sniffed from the first line among , ; TAB |).")
@click.option("--no-header", is_flag=True, help="The CSV file has no header row (columns c0, c1, ... unless --names).")
@click.option("--names", default=None, metavar="A,B,C", help="Column names for a header-less CSV file.")
@click.option("--na-values", default=None, metavar="LIST", help="Comma-separated texts meaning 'missing' (the empty cell always does).")
@click.option("--missing", type=click.Choice(["raise", "skip", "zero", "mean"]), default="raise", show_default=True,
              help="Missing feature cells: error, skip the row, impute 0, or impute the running mean so far.")
@click.option("--categorical", default="auto", show_default=True, metavar="COLS|auto|none",
              help="Categorical features: auto = text columns; or a comma-separated list; none = numbers only.")
@click.option("--max-levels", type=int, default=32, show_default=True, help="Levels one-hot encoded per categorical column.")
@click.option("--hash-bits", type=int, default=6, show_default=True, help="Levels past --max-levels are hashed into 2**BITS buckets.")
@click.option("--scale", type=click.Choice(["none", "standard"]), default=None,
              help="Online standardisation of numeric features (running mean/std of the events before each one). "
                   "Default: standard when --learner is not given (the default learner), else none.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None, help="Write report.json, series.csv, plots, checkpoint here.")
@click.option("--checkpoint-every", type=int, default=None, help="Checkpoint every N events (needs --out or --checkpoint).")
@click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False), default=None, help="Checkpoint file (default OUT/checkpoint.npz).")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint if it exists (same source and options).")
@click.option("--errors", type=click.Choice(["raise", "skip"]), default="raise", show_default=True, help="What to do with malformed rows.")
@click.option("--block-size", type=int, default=8192, show_default=True)
@click.option("--record-every", type=int, default=None, help="Record metrics every N events (default 1000).")
@click.option("--max-events", type=int, default=None)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--shard-by", default=None, metavar="COL", help="One learner per value of column COL; reports merged.")
@click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="With --shard-by: local processes (--jobs), or Ray (CSV/Parquet files read on the cluster).")
@click.option("--jobs", "-j", type=int, default=1, show_default=True,
              help="With --shard-by: local worker processes (with Ray on a dataset: replay tasks).")
@click.option("--missing-key", type=click.Choice(["error", "pool"]), default="error", show_default=True,
              help="With --shard-by: a row without a key is an error, or all such rows form one shard.")
@click.option("--address", default=None, help="Ray cluster address (default: start a local Ray instance).")
@_log_options
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def replay(source, learner, params, target, features, groups, sensitive, metric_names, delimiter, no_header, names,
           na_values, missing, categorical, max_levels, hash_bits, scale, out, checkpoint_every, checkpoint_path,
           resume, errors, block_size, record_every, max_events, progress, shard_by, backend, jobs, missing_key, address,
           experts, awake, gradient, hint, value, values, item, position, reward, propensity, channel, competing_bid,
           cost, period, debug):
    """Replay a logged stream (CSV, JSONL, Parquet, river:NAME, synthetic:NAME) through a learner.

    Supervised learners: for each event in order, predict, then learn. With no SOURCE,
    replays the Phishing dataset bundled with River through OGD (logistic). Text columns are
    categorical features (one-hot, hashed past --max-levels); with the default learner,
    numeric features are standardised online (--scale standard), so unscaled columns do not
    make it diverge. A run that diverges stops with 'diverged at event N' (exit 2).

    Other learners replay the log of their protocol (see `onlinekit learners NAME`), with
    the columns named by its flags, e.g. `--experts e0,e1,e2` for hedge; parameters the
    data determines (such as n_experts) are inferred when not given with -p.
    """
    log_roles = {"experts": experts, "awake": awake, "gradient": gradient, "hint": hint, "value": value,
                 "values": values, "item": item, "position": position, "reward": reward, "propensity": propensity,
                 "channel": channel, "competing_bid": competing_bid, "cost": cost, "period": period}
    try:
        proto = _protocol_name(learner)
        if proto != "supervised":
            report = _replay_log(learner, proto, source, params, log_roles, delimiter, no_header, names, na_values,
                                 errors, block_size, out, checkpoint_every, checkpoint_path, resume, record_every,
                                 max_events, progress)
            report.meta["command"] = _command_line()
            _finish_replay(report, out)
            return
        given_log = [_flag(k) for k, v in log_roles.items() if v is not None]
        if given_log:
            raise ValueError(f"{given_log[0]} is not read by the supervised protocol of learner "
                             f"{learner or DEFAULT_LEARNER!r} (its columns: --target, --features, --group, --sensitive)")
        from onlinekit import engine
        from onlinekit.registry import get_learner_class
        from onlinekit.streams import Schema, Stream, open_source
        from onlinekit.streams.encode import FeatureEncoder

        default_learner = learner is None
        if source is None:
            source = DEFAULT_SOURCE
            if learner is None:
                learner, params = DEFAULT_LEARNER, DEFAULT_PARAMS + tuple(params)
        if scale is None:
            scale = "standard" if default_learner else "none"
        files = None  # --backend ray on CSV/Parquet: read and replayed on the cluster (Ray Data)
        if shard_by is not None and backend == "ray":
            from onlinekit.sharded_dataset import cli_dataset_files

            files = cli_dataset_files(source, errors)
        src = _open_replay_source(files[0] if files else source, errors, delimiter, no_header, names, na_values)
        cols = src.column_names()
        target = _column_ref(target, cols)
        if target is None:
            target = "y" if "y" in cols else None
            if target is None:
                raise ValueError(f"{source}: no column 'y'; say which column is the target with --target (columns: {cols})")
        if target.isidentifier() and target not in cols:
            raise ValueError(f"{source}: no target column {target!r}; columns: {cols}")
        target_kind, first_value = _target_kind(src, target)
        if learner is None:  # the default learner fits the target: text -> softmax, 0/1 -> logistic
            learner = {"text": "ogd-multiclass", "binary": "ogd-classifier"}.get(target_kind, "ogd")
        cls = get_learner_class(learner)
        kw = _parse_params(params)
        sensitive = _column_ref(sensitive, cols)
        if sensitive is not None and "n_groups" in inspect.signature(cls).parameters:
            k = _count_groups(src, sensitive)
            if "n_groups" not in kw:
                kw["n_groups"] = max(2, k)  # sized from the data
            elif isinstance(kw["n_groups"], int) and k > kw["n_groups"]:
                raise ValueError(f"--sensitive {sensitive}: the data has {k} groups, more than n_groups="
                                 f"{kw['n_groups']}; leave n_groups out to size it from the data")
        model = cls(**kw)
        from onlinekit.protocols import get_protocol

        labels = get_protocol("supervised").task(model) == "multiclass"
        if target_kind == "text" and not labels:
            raise ValueError(f"target column {target!r} holds class labels (text): replay it with a multiclass learner "
                             f"(--learner ogd-multiclass, the default), or give a 0/1 expression such as "
                             f"--target '{target} == \"{first_value}\"'")
        feats = tuple(_column_ref(c.strip(), cols) for f in features for c in f.split(",") if c.strip()) or None
        schema = Schema(features=feats, target=target, groups=tuple(groups), sensitive=sensitive)
        cats = categorical if categorical in ("auto", "none") else tuple(
            _column_ref(c.strip(), cols) for c in categorical.split(",") if c.strip())
        encoder = FeatureEncoder(cats, max_levels=max_levels, hash_bits=hash_bits, missing=missing, scale=scale,
                                 na_values=_split_list(na_values), grow=hasattr(model, "grow_features"),
                                 target="label" if labels else "number")
        if shard_by is None and (backend != "local" or jobs != 1 or address):
            raise ValueError("--backend/--jobs/--address apply to sharded replay: add --shard-by COL")
        if shard_by is not None:
            if checkpoint_path or max_events or ((checkpoint_every or resume) and not files):
                raise ValueError("--shard-by does not support --checkpoint/--max-events (nor --checkpoint-every/"
                                 "--resume unless --backend ray reads a CSV/Parquet dataset)")
            from onlinekit.sharded import replay_sharded
            from onlinekit.sharded_dataset import replay_sharded_files

            show = sys.stderr.isatty() if progress is None else progress
            if files:
                report = replay_sharded_files(model, source, shard_by, schema=schema, encoder=encoder, source=src,
                                              metrics=metric_names or None, block_size=block_size,
                                              record_every=record_every, missing_key=missing_key, address=address,
                                              tasks=jobs if jobs > 1 else None, out=out,
                                              checkpoint_every=checkpoint_every, resume=resume)
            else:
                report = replay_sharded(model, src, shard_by, schema=schema, backend=backend, jobs=jobs,
                                        address=address, metrics=metric_names or None, block_size=block_size,
                                        errors=errors, record_every=record_every, progress=show,
                                        missing_key=missing_key, encoder=encoder)
            _finish_replay(report, out)
            for f in report.failures:
                click.echo(f"shard {shard_by}={f['key']} failed: {f['error']}", err=True)
            if report.failures:
                sys.exit(1)
            return
        stream = Stream(src, schema, block_size=block_size, errors=errors, encoder=encoder)
        metrics = None
        if metric_names:
            from onlinekit.protocols.supervised import SUPERVISED

            metrics = SUPERVISED.metrics(metric_names, model, tuple(g.name for g in schema.groups), labels=labels)
        ckpt = checkpoint_path or (str(Path(out) / "checkpoint.npz") if out and (checkpoint_every or resume) else None)
        if (checkpoint_every or resume) and ckpt is None:
            raise ValueError("--checkpoint-every/--resume need --out or --checkpoint")
        show = sys.stderr.isatty() if progress is None else progress
        report = engine.replay(model, stream, metrics=metrics, checkpoint=ckpt, checkpoint_every=checkpoint_every,
                               resume=resume, progress=show, record_every=record_every, max_events=max_events)
    except KeyboardInterrupt as exc:
        interrupted(exc)
    except _USER_ERRORS as exc:
        _fail(exc, debug)
        return
    report.meta["command"] = _command_line()
    _finish_replay(report, out)


#: replay options that only the supervised protocol reads (``--flag`` -> click parameter)
_SUPERVISED_ONLY = {"--target": "target", "--features": "features", "--group": "groups", "--sensitive": "sensitive",
                    "--metric": "metric_names", "--missing": "missing", "--categorical": "categorical",
                    "--max-levels": "max_levels", "--hash-bits": "hash_bits", "--scale": "scale",
                    "--shard-by": "shard_by", "--backend": "backend", "--jobs": "jobs", "--missing-key": "missing_key",
                    "--address": "address"}


def _flag(role: str) -> str:
    return "--" + role.replace("_", "-")


def _protocol_name(learner: str | None) -> str:
    """The protocol of registered learner ``learner`` (read from the registry: nothing built)."""
    if learner is None:
        return "supervised"
    from onlinekit.registry import learners

    reg = learners()
    if learner not in reg:
        raise KeyError(f"unknown learner {learner!r}; known: {', '.join(reg)}")
    return reg[learner].protocol


def _load_protocol(name: str):
    """The protocol object, or a one-line error when its module is not in this onlinekit."""
    from onlinekit.protocols import PROTOCOLS, find_protocol

    found = find_protocol(name)
    if found is None:
        module = PROTOCOLS[name].partition(":")[0]
        raise ValueError(f"the {name} protocol is not available in this onlinekit ({module} is missing)")
    return found


def _log_replayers() -> list[str]:
    """Registered learners whose protocol replays a log (protocols present in this onlinekit)."""
    from onlinekit.registry import learners

    ok: dict[str, bool] = {}
    for info in learners().values():
        if info.protocol not in ok:
            try:
                ok[info.protocol] = _load_protocol(info.protocol).replays
            except ValueError:
                ok[info.protocol] = False
    return [n for n, info in learners().items() if ok[info.protocol]]


def _replay_log(learner, proto, source, params, log_roles, delimiter, no_header, names, na_values, errors, block_size,
                out, checkpoint_every, checkpoint_path, resume, record_every, max_events, progress):
    """``onlinekit replay`` for a learner whose protocol is not supervised (checked before it is built)."""
    from onlinekit.protocols import replay_log
    from onlinekit.registry import get_learner_class

    ctx = click.get_current_context()
    given = [f for f, p in _SUPERVISED_ONLY.items()
             if ctx.get_parameter_source(p) == click.core.ParameterSource.COMMANDLINE]
    if given:
        raise ValueError(f"{given[0]} applies to supervised learners; {learner!r} follows the {proto} protocol "
                         f"(see `onlinekit learners {learner}`)")
    protocol = _load_protocol(proto)
    if not protocol.replays:
        raise ValueError(f"{learner!r} follows the {proto} protocol and does not replay a log: run it with "
                         f"`onlinekit simulate ENV --learner {learner}`; learners that replay a log: "
                         f"{', '.join(_log_replayers())}")
    reads = {r.name for r in protocol.roles}
    extra = [_flag(k) for k, v in log_roles.items() if v is not None and k not in reads]
    if extra:
        flags = ", ".join(r.flag for r in protocol.roles)
        raise ValueError(f"{extra[0]} is not read by the {proto} protocol of {learner!r} (its columns: {flags})")
    if source is None:
        flags = " ".join(f"{r.flag} ..." for r in protocol.roles if r.required)
        raise ValueError(f"give the log to replay: onlinekit replay FILE --learner {learner} {flags}")
    src = _open_replay_source(source, errors, delimiter, no_header, names, na_values)
    columns = protocol.resolve_columns(log_roles, src.column_names())
    cls = get_learner_class(learner)
    kw = _parse_params(params)
    for k, v in protocol.infer_params(cls, columns, src).items():
        kw.setdefault(k, v)  # only where the user gave no value
    model = cls(**kw)
    ckpt = checkpoint_path or (str(Path(out) / "checkpoint.npz") if out and (checkpoint_every or resume) else None)
    if (checkpoint_every or resume) and ckpt is None:
        raise ValueError("--checkpoint-every/--resume need --out or --checkpoint")
    show = sys.stderr.isatty() if progress is None else progress
    return replay_log(model, src, columns, protocol=protocol, checkpoint=ckpt, checkpoint_every=checkpoint_every,
                      resume=resume, progress=show, record_every=record_every, max_events=max_events,
                      chunk_size=block_size, out=out)


def _split_list(text: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",")) if text else ()


def _open_replay_source(source, errors, delimiter, no_header, names, na_values):
    """The replay source, with the CSV options applied (and refused for other kinds)."""
    from onlinekit.streams import open_source
    from onlinekit.streams.open import file_kind

    is_csv = file_kind(source) == "csv"
    csv_opts = {}
    if delimiter is not None:
        csv_opts["delimiter"] = "\t" if delimiter in ("\\t", "tab", "TAB") else delimiter
    if names is not None:
        csv_opts["header"] = list(_split_list(names))
    elif no_header:
        csv_opts["header"] = False
    if is_csv:
        csv_opts["na_values"] = ("",) + _split_list(na_values)
    elif csv_opts:
        raise ValueError("--delimiter/--no-header/--names apply to CSV files only")
    try:
        src = open_source(source, errors=errors, **csv_opts)
    except ValueError as exc:
        if is_csv and "header" not in csv_opts and "duplicate column name" in str(exc):
            raise ValueError(f"{exc}; if the file has no header row, use --no-header or --names A,B,C") from None
        raise
    cols = src.column_names()
    header = getattr(src, "header_row", None) or cols
    if is_csv and "header" not in csv_opts and header and all(_is_number(c) for c in header):
        raise ValueError(f"{source}: the first line {cols} looks like data, not column names; "
                         "use --no-header (columns c0, c1, ...) or --names A,B,C")
    return src


def _target_kind(src, target: str) -> tuple[str, object]:
    """``("binary", _)`` (an expression, or 0/1 values in the first rows), ``("text", v)``
    (class labels; ``v`` the first one) or ``("number", _)``."""
    import numpy as np

    if not target.isidentifier():
        return "binary", None
    try:
        chunk = next(iter(src.chunks(chunk_size=1000, kinds={target: "str_or_float"})), None)
    except ValueError:  # a malformed row: the replay reports it with its line
        return "number", None
    if chunk is None:
        return "number", None
    v = chunk.columns[target]
    if v.dtype == object and not any(_is_number(t) for t in v[:50]):
        return "text", v[0]
    return ("binary" if v.dtype != object and bool(np.isin(v, (0.0, 1.0)).all()) else "number"), None


def _count_groups(src, sensitive: str) -> int:
    """Distinct values of the sensitive column (or expression) over the whole source."""
    import numpy as np

    from onlinekit.streams import Schema

    sch = Schema(sensitive=sensitive, features=())
    kinds = {c: k for c, k in sch.kinds(src.column_names()).items()}
    seen = set()
    for chunk in src.chunks(chunk_size=65536, kinds=kinds):
        vals = chunk.columns[sensitive] if sch._sensitive_expr is None else sch._sensitive_expr.evaluate(chunk.columns)
        seen.update(np.unique(np.asarray(vals)).tolist())
    return len(seen)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column_ref(ref: str | None, cols: list[str]) -> str | None:
    """A column given by name, or by its 0-based number when no column has that name."""
    if ref is None or ref in cols:
        return ref
    if ref.isdigit():
        k = int(ref)
        if k >= len(cols):
            raise ValueError(f"column number {k} is out of range: the source has {len(cols)} columns {cols}")
        return cols[k]
    return ref


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
    if res.comparison:
        verdicts = [c.verdict for c in res.comparison]
        counts = ", ".join(f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts))
        click.echo(f"paper vs ours: {counts} (see {Path(out) / 'comparison.md'})")
    click.echo(f"wrote {len(res.files)} file(s) to {out}")
    for f in res.failed_seeds:
        click.echo(f"seed {f['seed']} (run {f['index']}) failed: {f['error']}", err=True)
    for f in res.failures:
        click.echo(f"claim not reproduced: {f}", err=True)
    if res.failures or res.failed_seeds:
        sys.exit(1)


# --------------------------------------------------------------------------------------------
@main.command()
@click.argument("name", required=False)
def learners(name):
    """List registered learners with a one-line description; with NAME, show one learner:
    its parameters and defaults, its protocol, the columns (flags) replay reads and the
    parameters replay infers from the data."""
    from onlinekit.registry import learners as reg

    items = reg()
    if name is None:
        width = max((len(n) for n in items), default=0)
        for n, info in items.items():
            click.echo(f"{n:<{width}}  [{info.protocol}] {info.description}")
        return
    try:
        info = items.get(name)
        if info is None:
            raise KeyError(f"unknown learner {name!r}; known: {', '.join(items)}")
        click.echo(_describe_learner(info))
    except _USER_ERRORS as exc:
        _fail(exc, False)


def _describe_learner(info) -> str:
    """The text of ``onlinekit learners NAME``."""
    cls = info.load()
    sig = inspect.signature(cls)
    lines = [f"{info.name}: {info.description}", f"class     {cls.__module__}.{cls.__qualname__}",
             f"protocol  {info.protocol}"]
    try:
        protocol = _load_protocol(info.protocol)
    except ValueError as exc:
        protocol = None
        lines.append(f"          ({exc})")
    params = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    inferred = [p.name for p in params if protocol is not None and p.name in getattr(protocol, "inferred", ())]
    lines.append("parameters (-p KEY=VALUE):")
    width = max((len(p.name) for p in params), default=0)
    for p in params:
        default = "(required)" if p.default is p.empty else repr(p.default)
        note = "  inferred from the data by replay" if p.name in inferred else ""
        lines.append(f"  {p.name:<{width}}  {default}{note}")
    if protocol is None:
        return "\n".join(lines)
    if not protocol.replays:
        lines.append(f"replay: no; run it with `onlinekit simulate ENV --learner {info.name}`")
        return "\n".join(lines)
    lines.append("replay reads:")
    flags = [f"{r.flag} {'COLS' if r.many else 'COL'}" for r in protocol.roles]
    width = max((len(f) for f in flags), default=0)
    for r, f in zip(protocol.roles, flags, strict=True):
        need = "required" if r.required else "optional"
        dflt = f", default column {r.default!r}" if r.default else ""
        lines.append(f"  {f:<{width}}  {need}{dflt}: {r.help or r.name}")
    if protocol.summary_keys:
        lines.append(f"summary:  {', '.join(protocol.summary_keys)}")
    if inferred:
        lines.append(f"inferred: {', '.join(inferred)} (when not given with -p)")
    shown = [r for r in protocol.roles if r.required] or list(protocol.roles[:1])  # e.g. --value or --values
    example = " ".join(f"{r.flag} ..." for r in shown)
    lines.append(f"example:  onlinekit replay FILE --learner {info.name} {example}".rstrip())
    return "\n".join(lines)


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


# --------------------------------------------------------------------------------------------
@main.group()
def data():
    """Real data sets: list, fetch (checksummed), path.

    \b
    Files live in $ONLINEKIT_DATA when set, else in a per-user cache folder; a folder that
    already holds them in the same layout is used as it is (after checksum verification).
    \b
    Examples:
      onlinekit data list
      onlinekit data fetch adult
      onlinekit data path adult
    """


@data.command("list")
def data_list():
    """List the data sets with their status, source, licence and citation."""
    from onlinekit import data as reg

    try:
        home = reg.data_home()
        items = reg.datasets()
    except _USER_ERRORS as exc:
        _fail(exc, False)
        return
    click.echo(f"data folder: {home}  (set ONLINEKIT_DATA to change it)")
    width = max((len(n) for n in items), default=0)
    for name, ds in items.items():
        states = {reg.file_state(f, home) for f in ds.files}
        state = "ok" if states == {"ok"} else "corrupt" if "mismatch" in states else \
            "partial" if "ok" in states else "missing"
        click.echo(f"{name:<{width}}  {state:<7}  {ds.title}: {ds.about}")
        urls = [f.url for f in ds.files]
        src = urls[0] if len(urls) == 1 else os.path.commonprefix(urls).rsplit("/", 1)[0] + "/..."
        click.echo(f"{'':<{width}}           source: {src}")
        click.echo(f"{'':<{width}}           licence: {ds.licence}")
        click.echo(f"{'':<{width}}           cite: {ds.citation}")


@data.command("fetch")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def data_fetch(names, progress, debug):
    """Download and verify data set NAME; print its path.

    Files already present with the right checksum are kept (nothing is downloaded again).
    """
    from onlinekit import data as reg

    show = sys.stderr.isatty() if progress is None else progress
    try:
        for name in names:
            reg.get(name)  # unknown names fail before anything is downloaded
        for name in names:
            path = reg.fetch(name, progress=show, log=lambda m, n=name: click.echo(f"{n}: {m}", err=True))
            click.echo(str(path))
    except _USER_ERRORS as exc:
        _fail(exc, debug)


@data.command("path")
@click.argument("name")
def data_path(name):
    """Print the local path of data set NAME.

    Exits with status 2 and the fetch command when it is absent or fails its checksum.
    """
    from onlinekit import data as reg

    try:
        click.echo(str(reg.resolve(name)))
    except _USER_ERRORS as exc:
        _fail(exc, False)


from onlinekit.serve.server_cli import consume, serve  # noqa: E402  (click commands; light imports)

main.add_command(serve)
main.add_command(consume)
main.add_command(__import__("onlinekit._cli_simulate", fromlist=["simulate"]).simulate)


if __name__ == "__main__":  # pragma: no cover
    main()

"""Reproducible experiments: registry, runner and the experiments themselves.

An experiment is a module with

* ``Config``: a frozen dataclass whose defaults are the paper's setting, with a classmethod
  ``quick()`` returning a small setting that tests run (seconds), and an ``n_seeds`` field
  (default number of seeds);
* ``run(config, seed) -> dict``: a pure function of the config and one integer seed,
  returning ``{"rows": [...], "curves": {...}}`` where ``rows`` is a list of flat dicts (text
  values identify the row, e.g. ``{"method": "ogd", "regret": 12.3}``; numbers are
  aggregated as mean +/- std over seeds) and ``curves`` maps a curve name to
  ``{"x": array, "series": {label: array}, "xlabel": str, "ylabel": str}`` (optional
  ``"logx"``/``"logy"`` booleans);
* optionally ``plot(config, results, out_dir) -> list[Path]`` for figures beyond the
  mean +/- std curves, and ``check(config, results) -> list[str]`` returning failed claims.

Register it in the family's ``_registry.py`` (``EXPERIMENTS``). Seeds for the grid come from
one :class:`numpy.random.SeedSequence` (:func:`onlinekit.base.spawn_seeds`), so results do
not depend on scheduling; see :func:`onlinekit.experiments.runner.run_experiment`.
"""

from onlinekit.experiments.runner import ExperimentResult, load_experiment, run_experiment

__all__ = ["ExperimentResult", "load_experiment", "run_experiment"]

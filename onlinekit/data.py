"""The real data sets the experiments use: a registry, one resolver and a checksummed fetcher.

Every loader and experiment that reads real data asks :func:`resolve` for its path, so there is
one place that knows where data lives:

* the data folder is ``$ONLINEKIT_DATA`` when set, else a per-user cache folder
  (``platformdirs.user_cache_dir("onlinekit")/data``);
* inside it, files keep one layout (``adult/adult.data``, ``insurance.csv``,
  ``obd/random/all/all.csv``, ``compas/compas-scores-two-years.csv``, ...), so a folder that
  already holds the files in that layout (a local mirror) is used as it is;
* a file is used only after its SHA-256 matches the registry;
* :func:`fetch` (``onlinekit data fetch NAME``) downloads missing files from their canonical
  source with pooch (progress bar, download to a temporary file, checksum verified before the
  file takes its final name).

Overrides (documented for tests and private mirrors):

``ONLINEKIT_DATA_MIRROR=URL``
    Fetch ``URL/<layout path>`` instead of each file's canonical URL (checksums unchanged).
``ONLINEKIT_DATA_REGISTRY=FILE.json``
    Extra or replacement data sets: ``{"name": {"title": ..., "root": ..., "files":
    [{"path": ..., "url": ..., "sha256": ...}], "licence": ..., "citation": ...}}``.

Examples
--------
>>> from onlinekit.data import datasets
>>> sorted(datasets())
['adult', 'compas', 'insurance', 'obd']
>>> [f.path for f in datasets()["adult"].files]
['adult/adult.data', 'adult/adult.test', 'adult/adult.names']
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from onlinekit.streams.errors import MissingDataError

__all__ = [
    "DataChecksumError", "DataFetchError", "DataFile", "DataSet", "datasets", "data_home", "fetch",
    "file_state", "get", "resolve",
]

ENV_HOME = "ONLINEKIT_DATA"
ENV_MIRROR = "ONLINEKIT_DATA_MIRROR"
ENV_REGISTRY = "ONLINEKIT_DATA_REGISTRY"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DataChecksumError(ValueError):
    """A data file's SHA-256 differs from the registry (the message names file and both hashes)."""


class DataFetchError(OSError):
    """A download failed (HTTP error, unreachable host, unwritable folder); one-line message."""


@dataclass(frozen=True)
class DataFile:
    """One file of a data set.

    Attributes
    ----------
    path : str
        Where it lives inside the data folder (``/``-separated, relative).
    url : str
        Canonical source.
    sha256 : str
        Expected SHA-256 (64 lowercase hex digits).
    """

    path: str
    url: str
    sha256: str

    def __post_init__(self):
        p = Path(self.path)
        if not self.path or p.is_absolute() or ".." in p.parts:
            raise ValueError(f"data file path must be relative and inside the data folder, got {self.path!r}")
        if not _SHA256.match(self.sha256):
            raise ValueError(f"data file {self.path!r}: sha256 must be 64 lowercase hex digits, got {self.sha256!r}")


@dataclass(frozen=True)
class DataSet:
    """A named data set: its files, the path loaders take, its source and terms of use.

    Attributes
    ----------
    name : str
        Registry name (``onlinekit data fetch NAME``).
    title : str
        Short name, e.g. ``"UCI Adult"``.
    root : str
        The path (relative to the data folder) that :func:`resolve` returns: a file or a folder.
    files : tuple of DataFile
    about : str
        One line: what the data is (rows, columns).
    licence : str
    citation : str
    used_by : tuple of str
        Experiments / loaders that read it.
    """

    name: str
    title: str
    root: str
    files: tuple
    about: str = ""
    licence: str = ""
    citation: str = ""
    used_by: tuple = field(default_factory=tuple)

    def __post_init__(self):
        if not self.files:
            raise ValueError(f"data set {self.name!r} has no files")
        object.__setattr__(self, "files", tuple(self.files))


_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/adult"
_GH = "https://raw.githubusercontent.com"
_OBP = f"{_GH}/st-tech/zr-obp/master/obp/dataset/obd"

_BUILTIN = (
    DataSet(
        name="adult",
        title="UCI Adult (Census Income)",
        about="32,561 training + 16,281 test rows, 14 census features, binary label income >50K",
        root="adult",
        files=(
            DataFile("adult/adult.data", f"{_UCI}/adult.data",
                     "5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d"),
            DataFile("adult/adult.test", f"{_UCI}/adult.test",
                     "a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05"),
            DataFile("adult/adult.names", f"{_UCI}/adult.names",
                     "c248284c0b5de30c9e1958d6cdd168a34a654758b620e68f46aefa83fc0a576a"),
        ),
        licence="CC BY 4.0 (UCI Machine Learning Repository)",
        citation="Becker, B. and Kohavi, R. (1996). Adult. UCI Machine Learning Repository. "
                 "https://doi.org/10.24432/C5XW20",
        used_by=("groupwise-adult", "aranyani-adult"),
    ),
    DataSet(
        name="insurance",
        title="Medical Cost Personal Dataset",
        about="1,338 rows: age, sex, bmi, children, smoker, region and insurance charges",
        root="insurance.csv",
        files=(
            DataFile("insurance.csv", f"{_GH}/stedy/Machine-Learning-with-R-datasets/master/insurance.csv",
                     "505c1cbc2e63d0363bac59501563df2530aadf4cdb9cfee226f4ef32f5468281"),
        ),
        licence="public domain, as stated by the source repository",
        citation="Lantz, B. (2013). Machine Learning with R. Packt Publishing (data set of chapter 6)",
        used_by=("groupwise-medical",),
    ),
    DataSet(
        name="obd",
        title="Open Bandit Dataset, small sample",
        about="ZOZOTOWN recommendation logs, 10,000 rows for each of the random and Bernoulli-TS "
              "logging policies, with propensities and item features",
        root="obd",
        files=(
            DataFile("obd/random/all/all.csv", f"{_OBP}/random/all/all.csv",
                     "7168295b6e0a9eabcf3392320a5dd434e542b68e705d5cd9491499af589812f1"),
            DataFile("obd/random/all/item_context.csv", f"{_OBP}/random/all/item_context.csv",
                     "eba04cc23d5f130a93ff174c5392986882b94c3839433cb8143870eaa6221358"),
            DataFile("obd/bts/all/all.csv", f"{_OBP}/bts/all/all.csv",
                     "0ad874e4dbf6902f0845dd478ad8dde5ef6903583d3ffaace78411bdad064106"),
            DataFile("obd/bts/all/item_context.csv", f"{_OBP}/bts/all/item_context.csv",
                     "5d4359ba1cfa3ae88f0f1bae66bd633859fe6323817183632ee57b83539d9153"),
        ),
        licence="Apache-2.0 (the zr-obp repository that distributes the sample); cite the paper",
        citation="Saito, Y., Aihara, S., Matsutani, M. and Narita, Y. (2020). Open Bandit Dataset and "
                 "Pipeline: Towards Realistic and Reproducible Off-Policy Evaluation. arXiv:2008.07146",
        used_by=("onlinekit.streams.obd", "examples/cascade.py"),
    ),
    DataSet(
        name="compas",
        title="ProPublica COMPAS",
        about="7,214 Broward County defendants: demographics, priors, charge, two-year recidivism",
        root="compas/compas-scores-two-years.csv",
        files=(
            DataFile("compas/compas-scores-two-years.csv",
                     f"{_GH}/propublica/compas-analysis/master/compas-scores-two-years.csv",
                     "c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d"),
        ),
        licence="no licence file in the source repository; published by ProPublica with 'Machine Bias'",
        citation="Angwin, J., Larson, J., Mattu, S. and Kirchner, L. (2016). Machine Bias. ProPublica. "
                 "https://github.com/propublica/compas-analysis",
        used_by=("aranyani-adult -p dataset=compas",),
    ),
)


def _from_json(name: str, entry: dict, where: str) -> DataSet:
    try:
        files = tuple(DataFile(str(f["path"]), str(f["url"]), str(f["sha256"]).lower()) for f in entry["files"])
        return DataSet(name=name, title=str(entry.get("title", name)), root=str(entry["root"]), files=files,
                       about=str(entry.get("about", "")), licence=str(entry.get("licence", "")),
                       citation=str(entry.get("citation", "")), used_by=tuple(entry.get("used_by", ())))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{where}: data set {name!r}: missing or malformed field {exc}") from None


def datasets() -> dict[str, DataSet]:
    """Name to :class:`DataSet`: the built-in registry plus ``$ONLINEKIT_DATA_REGISTRY`` entries.

    Raises
    ------
    ValueError
        When the override file is unreadable or malformed (file and entry named).
    """
    reg = {d.name: d for d in _BUILTIN}
    extra = os.environ.get(ENV_REGISTRY, "")
    if extra:
        try:
            entries = json.loads(Path(extra).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{ENV_REGISTRY}={extra}: cannot read the data registry override ({exc})") from None
        if not isinstance(entries, dict):
            raise ValueError(f"{ENV_REGISTRY}={extra}: expected a JSON object of data sets")
        for name, entry in entries.items():
            reg[name] = _from_json(name, entry, f"{ENV_REGISTRY}={extra}")
    return reg


def get(name) -> DataSet:
    """The :class:`DataSet` called ``name`` (a ``DataSet`` is returned as is).

    Examples
    --------
    >>> get("insurance").root
    'insurance.csv'
    >>> get("mnist")
    Traceback (most recent call last):
    ...
    ValueError: unknown data set 'mnist'; known: adult, compas, insurance, obd
    """
    if isinstance(name, DataSet):
        return name
    reg = datasets()
    if name not in reg:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(sorted(reg))}")
    return reg[name]


def data_home() -> Path:
    """The data folder: ``$ONLINEKIT_DATA`` if set and non-empty, else the per-user cache folder.

    Examples
    --------
    >>> isinstance(data_home(), Path)
    True
    """
    env = os.environ.get(ENV_HOME, "")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("onlinekit", appauthor=False)) / "data"


_HASHES: dict[tuple, str] = {}


def _sha256(p: Path) -> str:
    """SHA-256 of ``p``, memoised on (path, size, mtime) so repeated resolves do not re-read."""
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        with open(p, "rb") as fh:
            _HASHES[key] = hashlib.file_digest(fh, "sha256").hexdigest()
    return _HASHES[key]


def file_state(f: DataFile, home: str | os.PathLike | None = None) -> str:
    """``"ok"`` (present, checksum matches), ``"missing"`` or ``"mismatch"``.

    Examples
    --------
    >>> import tempfile
    >>> file_state(get("insurance").files[0], tempfile.mkdtemp())
    'missing'
    """
    p = (Path(home) if home is not None else data_home()) / f.path
    if not p.is_file():
        return "missing"
    return "ok" if _sha256(p) == f.sha256 else "mismatch"


def resolve(name, home: str | os.PathLike | None = None) -> Path:
    """The verified local path of data set ``name`` (its ``root``: a file or folder).

    Parameters
    ----------
    name
        Registry name or :class:`DataSet`.
    home
        Data folder (default :func:`data_home`).

    Raises
    ------
    MissingDataError
        A file is absent; the one-line message names the data set, the folder and the
        ``onlinekit data fetch NAME`` command.
    DataChecksumError
        A file is present but its SHA-256 differs from the registry.

    Examples
    --------
    >>> import tempfile
    >>> resolve("insurance", home=tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    onlinekit.streams.errors.MissingDataError: data set 'insurance' ...; run: onlinekit data fetch insurance
    """
    ds = get(name)
    root = Path(home) if home is not None else data_home()
    for f in ds.files:
        state = file_state(f, root)
        if state == "missing":
            raise MissingDataError(
                f"data set {ds.name!r} ({ds.title}) is not in {root} "
                f"(no {f.path}); run: onlinekit data fetch {ds.name}")
        if state == "mismatch":
            raise DataChecksumError(
                f"data set {ds.name!r}: {root / f.path} has SHA-256 {_sha256(root / f.path)}, expected "
                f"{f.sha256}; delete it and run: onlinekit data fetch {ds.name}")
    return root / ds.root


def _url(f: DataFile, mirror: str | None) -> str:
    mirror = mirror if mirror is not None else os.environ.get(ENV_MIRROR, "")
    return f"{mirror.rstrip('/')}/{f.path}" if mirror else f.url


def fetch(name, home: str | os.PathLike | None = None, *, progress: bool = False, mirror: str | None = None,
          log=None) -> Path:
    """Download the missing (or corrupt) files of ``name`` and return :func:`resolve`'s path.

    Files already present with the right SHA-256 are not downloaded again (so a folder in the
    mirror layout, e.g. ``$ONLINEKIT_DATA``, is used as it is, and a fetch interrupted part-way
    resumes with the files still missing). Each download goes to a temporary file and takes its
    final name only after its checksum matched, so a failed or interrupted download never leaves
    a partial file under the final name.

    Parameters
    ----------
    name
        Registry name or :class:`DataSet`.
    home
        Data folder (default :func:`data_home`); created when needed.
    progress
        Show a progress bar per file (tqdm, on stderr).
    mirror
        Base URL to fetch ``mirror/<path>`` from (default ``$ONLINEKIT_DATA_MIRROR``, else
        each file's canonical URL).
    log
        Called with a one-line message per file (``None``: silent).

    Raises
    ------
    DataChecksumError
        A download's SHA-256 differs from the registry (the download is discarded).
    DataFetchError
        HTTP error, unreachable host or unwritable folder.
    """
    ds = get(name)
    root = Path(home) if home is not None else data_home()
    for f in ds.files:
        target = root / f.path
        state = file_state(f, root)
        if state == "ok":
            if log:
                log(f"{f.path}: present, checksum ok")
            continue
        url = _url(f, mirror)
        if log:
            log(f"{f.path}: {'replacing (checksum mismatch)' if state == 'mismatch' else 'downloading'} from {url}")
        _download(ds.name, url, f, target, progress)
    return resolve(ds, root)


def _download(name: str, url: str, f: DataFile, target: Path, progress: bool) -> None:
    import logging

    import pooch
    import requests

    bar = None
    if progress:
        from tqdm import tqdm

        class _Bar(tqdm):
            # pooch tests `if progressbar:` before it sets the total, and tqdm's truth value is
            # undefined (TypeError) while total is None
            def __bool__(self):
                return True

        bar = _Bar(desc=Path(f.path).name, unit="B", unit_scale=True, unit_divisor=1024, leave=True)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # we print our own one line per file
    try:
        pooch.retrieve(url, known_hash=f"sha256:{f.sha256}", fname=target.name, path=target.parent,
                       downloader=pooch.HTTPDownloader(progressbar=bar if bar is not None else False,
                                                                  chunk_size=1 << 16))
    except requests.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        raise DataFetchError(f"data set {name!r}: cannot download {url}: HTTP {code}") from None
    except requests.RequestException as exc:
        raise DataFetchError(f"data set {name!r}: cannot download {url}: {type(exc).__name__}") from None
    except ValueError as exc:
        m = re.search(r"got ([0-9a-f]{64})", str(exc))
        got = m.group(1) if m else "a different hash"
        raise DataChecksumError(f"data set {name!r}: download of {url} has SHA-256 {got}, expected {f.sha256} "
                                "(download discarded; the source may have changed)") from None
    except OSError as exc:
        raise DataFetchError(f"data set {name!r}: cannot write {target}: {exc.strerror or exc}") from None
    finally:
        logger.setLevel(level)
        if bar is not None:
            bar.close()

"""Many independent runs in one call: step-size/seed grids, many streams, many states.

Every function takes ``device="cpu"`` (numba, the reference, always available) or
``device="cuda"`` (numba.cuda, one GPU thread per run; needs a CUDA GPU or the simulator,
``NUMBA_ENABLE_CUDASIM=1``). Both devices compile the same per-run source
(:mod:`onlinekit.cuda._bodies`), so results agree to rounding (bit for bit under the
simulator); the CPU path equals the single-run learners of the families bit for bit.
"""

from __future__ import annotations

import numbers

import numpy as np

from onlinekit.base import InvalidEvent

__all__ = ["cuda_available", "ogd_many", "hedge_many", "tree_noise", "tree_counter_many", "best_perm_many",
           "Resident", "resident"]

_SCHEDULES = {"constant": 0, "sqrt": 1}
_LOSSES = {"squared": 0, "logistic": 1}
#: tie tolerance of :func:`onlinekit.cascade.best_perm` (same canonical list)
TIE_TOL = 1e-9


def cuda_available() -> bool:
    """Whether ``device="cuda"`` can run here (a CUDA GPU, or the CUDA simulator).

    Examples
    --------
    >>> isinstance(cuda_available(), bool)
    True
    """
    try:
        from numba import cuda
    except ImportError:  # pragma: no cover
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # pragma: no cover - broken driver installs
        return False


def _backend(device: str):
    if device == "cpu":
        from onlinekit.cuda import _kernels_cpu

        return _kernels_cpu
    if device == "cuda":
        if not cuda_available():
            raise RuntimeError("device='cuda' needs a CUDA GPU (or the simulator: NUMBA_ENABLE_CUDASIM=1)")
        from onlinekit.cuda import _kernels_cuda

        return _kernels_cuda
    raise InvalidEvent(f"must be 'cpu' or 'cuda', got {device!r}", field="device")


def _floats(a, field: str, ndim: int) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != ndim or arr.dtype.kind not in "fiub":
        raise InvalidEvent(f"expected a {ndim}-d array of numbers, got shape {arr.shape}, dtype {arr.dtype}",
                           field=field)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise InvalidEvent("non-finite value", field=f"{field}[{', '.join(map(str, bad))}]")
    return arr


class Resident:
    """An input validated once and, with ``device="cuda"``, copied to the GPU once.

    Pass it wherever a batch API takes that array (``X``/``y`` of :func:`ogd_many`,
    ``losses`` of :func:`hedge_many`, ``X``/``noise`` of :func:`tree_counter_many`, ``Q``/
    ``W`` of :func:`best_perm_many`): the device copy made by the first call (in the layout
    the kernel reads) is reused by every later call of the experiment, so a grid of calls
    over one stream moves it to the device once. The host copy is read-only (it must not
    change under its device copy). Made by :func:`resident`.

    Attributes
    ----------
    host : ndarray
        The validated float64 array (read-only).
    """

    def __init__(self, a, field: str, ndim: int):
        self.host = _floats(a, field, ndim).copy()
        self.host.setflags(write=False)
        self.field = field
        self._device: dict[bool, object] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        return self.host.shape

    def on_device(self, run_last: bool = False):
        """The device copy (``run_last``: transposed, runs along the last axis), made once."""
        if run_last not in self._device:
            from numba import cuda

            self._device[run_last] = cuda.to_device(np.ascontiguousarray(self.host.T if run_last else self.host))
        return self._device[run_last]

    def __repr__(self) -> str:
        return f"Resident({self.field}, shape={self.host.shape}, on_device={sorted(self._device)})"


def resident(a, ndim: int = 2, field: str = "X") -> Resident:
    """Validate ``a`` once and keep it for reuse (on the GPU with ``device="cuda"``).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cuda import hedge_many, resident
    >>> G = resident(np.tile([1.0, 0.0], (50, 1)))
    >>> [round(float(hedge_many(G, [lr])["loss"][0]), 3) for lr in (0.1, 1.0)]  # sum_t 1 / (1 + e^(lr t))
    [7.113, 0.964]
    """
    return a if isinstance(a, Resident) else Resident(a, field, ndim)


def _input(a, field: str, ndim: int, device: str):
    """``(host array, what the kernel gets)``: a Resident stays one for the CUDA path."""
    if isinstance(a, Resident):
        if a.host.ndim != ndim:
            raise InvalidEvent(f"expected a {ndim}-d array, got shape {a.host.shape}", field=field)
        return a.host, (a if device == "cuda" else a.host)
    arr = _floats(a, field, ndim)
    return arr, arr


def _steps(lrs) -> np.ndarray:
    a = _floats(lrs, "lrs", 1)
    if a.shape[0] == 0 or not np.all(a > 0):
        raise InvalidEvent("expected a non-empty array of step sizes > 0", field="lrs")
    return a


def _choice(value, options: dict, field: str) -> int:
    if value not in options:
        raise InvalidEvent(f"must be one of {sorted(options)}, got {value!r}", field=field)
    return options[value]


def ogd_many(X, y, lrs, *, loss="squared", schedule="constant", radius=None, l2=0.0, intercept=True,
             device="cpu") -> dict:
    """Projected OGD (:class:`onlinekit.oco.OGD`) for many step sizes over one shared stream.

    Run ``r`` is ``OGD(loss, lr=lrs[r], schedule, radius, l2, intercept)`` fed the rows of
    ``(X, y)`` progressively (predict, then learn).

    Parameters
    ----------
    X, y
        Shared stream: ``(n, d)`` features and ``(n,)`` targets (0/1 for the logistic loss).
    lrs
        Step sizes, shape ``(R,)``.
    loss, schedule, radius, l2, intercept
        As in :class:`onlinekit.oco.OGD` (shared by all runs).
    device
        ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    dict
        ``w`` (R, d) final weights, ``b`` (R,) intercepts, ``loss`` (R,) cumulative loss paid
        at the predictions (``0.5 (p - y)^2``, or the log-loss with ``p`` clipped to
        ``[1e-15, 1 - 1e-15]``).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cuda import ogd_many
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)); y = X @ np.array([1.0, -1.0, 0.5])
    >>> res = ogd_many(X, y, [0.001, 0.01, 0.1])
    >>> np.round(res["loss"], 1)
    array([342. ,  57.9,   8. ])
    >>> np.round(res["w"][2], 2)
    array([ 1. , -1. ,  0.5])

    Notes
    -----
    The CPU path equals ``OGD(...).predict_learn_many(X, y)`` per step size bit for bit (same
    arithmetic, same order).
    """
    Xa, Xk = _input(X, "X", 2, device)
    ya, yk = _input(y, "y", 1, device)
    if ya.shape[0] != Xa.shape[0]:
        raise InvalidEvent(f"expected {Xa.shape[0]} targets, got {ya.shape[0]}", field="y")
    lr = _steps(lrs)
    lc = _choice(loss, _LOSSES, "loss")
    sc = _choice(schedule, _SCHEDULES, "schedule")
    if lc == 1 and not np.all((ya == 0) | (ya == 1)):
        raise InvalidEvent("logistic loss needs labels in {0, 1}", field="y")
    if radius is not None and not (isinstance(radius, numbers.Real) and 0 < radius < np.inf):
        raise InvalidEvent(f"must be None or a finite number > 0, got {radius!r}", field="radius")
    if not (isinstance(l2, numbers.Real) and 0 <= l2 < np.inf):
        raise InvalidEvent(f"must be a finite number >= 0, got {l2!r}", field="l2")
    K = _backend(device)
    R, d = lr.shape[0], Xa.shape[1]
    W = np.zeros((R, d))
    BT = np.zeros((R, 2))
    total = np.zeros(R)
    K.ogd_many(Xk, yk, lr, sc, lc, float(radius) if radius is not None else -1.0, float(l2), bool(intercept),
               W, BT, total)
    return {"w": W, "b": BT[:, 0].copy(), "loss": total}


def hedge_many(losses, lrs, *, schedule="constant", z=1.0, uniforms=None, device="cpu") -> dict:
    """Hedge / entropic mirror descent on the simplex for many step sizes (and seeds).

    Run ``r`` is ``OMD(n_dims=d, mirror=NegativeEntropy(), domain=Simplex(z), lr=lrs[r],
    schedule)`` fed the rows of ``losses`` as linear-loss gradients. With ``uniforms``
    (pre-drawn ``U(0, 1)``, one row per run) each run also samples an expert per round from
    its weights, as a randomized Hedge player would, and pays that expert's loss.

    Parameters
    ----------
    losses
        Shared loss vectors, shape ``(T, d)``.
    lrs
        Step sizes, shape ``(R,)``.
    schedule
        ``"constant"`` (``eta_t = lr``) or ``"sqrt"`` (``eta_t = lr / sqrt(t)``).
    z
        Mass of the simplex (1 for probabilities).
    uniforms
        Optional ``(R, T)`` uniforms in ``[0, 1)``, e.g. one seeded row per run (see Examples).
    device
        ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    dict
        ``x`` (R, d) final weights, ``loss`` (R,) cumulative expected loss ``sum_t <g_t, x_t>``,
        and with ``uniforms`` also ``sampled_loss`` (R,).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cuda import hedge_many
    >>> G = np.tile([1.0, 0.0, 0.5], (200, 1))
    >>> U = np.vstack([np.random.default_rng(s).random(200) for s in range(4)])
    >>> res = hedge_many(G, [0.1, 0.1, 0.5, 0.5], uniforms=U)
    >>> np.round(res["loss"], 2)
    array([11.24, 11.24,  2.45,  2.45])
    >>> res["sampled_loss"].round(1)
    array([12.5,  7. ,  2.5,  2.5])

    Notes
    -----
    Exponentiated gradient / Hedge (Freund & Schapire 1997; Hazan 2016, Sec. 5.4): regret
    ``ln d / eta + eta T G^2 / 2`` for losses bounded by ``G``. The CPU path equals
    :class:`onlinekit.oco.OMD` (``NegativeEntropy``, ``Simplex``) bit for bit.
    """
    G, Gk = _input(losses, "losses", 2, device)
    if G.shape[0] == 0 or G.shape[1] == 0:
        raise InvalidEvent(f"expected a non-empty (T, d) array, got shape {G.shape}", field="losses")
    lr = _steps(lrs)
    sc = _choice(schedule, _SCHEDULES, "schedule")
    if not (isinstance(z, numbers.Real) and 0 < z < np.inf):
        raise InvalidEvent(f"must be a finite number > 0, got {z!r}", field="z")
    R, (T, d) = lr.shape[0], G.shape
    if uniforms is not None:
        U = _floats(uniforms, "uniforms", 2)
        if U.shape != (R, T) or not np.all((U >= 0) & (U < 1)):
            raise InvalidEvent(f"expected shape ({R}, {T}) with values in [0, 1), got {U.shape}", field="uniforms")
    else:
        U = np.zeros((1, 1))
    K = _backend(device)
    Xs = np.full((R, d), float(z) / d)
    expected = np.zeros(R)
    realized = np.zeros(R)
    K.entropic_many(Gk, lr, sc, float(z), Xs, U, uniforms is not None, expected, realized)
    out = {"x": Xs, "loss": expected}
    if uniforms is not None:
        out["sampled_loss"] = realized
    return out


def _n_nodes(T: int) -> int:
    """Nodes completed in steps 1..T: ``sum_t (tz(t) + 1) = 2T - popcount(T)``."""
    return 2 * T - bin(T).count("1")


def tree_noise(seeds, T: int, kind: str = "gaussian") -> np.ndarray:
    """Unit node noise for :func:`tree_counter_many`, one row per seed.

    Row ``s`` holds the draws ``TreeCounter(T, noise="seeded", seed=seeds[s])`` makes for one
    ``release_many`` call over ``T`` inputs (standard normal or standard Laplace, in node
    completion order), so the batch reproduces those counters exactly. Seeded noise gives
    **no privacy**: it is for experiments and tests.

    Examples
    --------
    >>> tree_noise([0, 1], 8).shape     # 2 T - popcount(T) nodes
    (2, 15)
    """
    if kind not in ("gaussian", "laplace"):
        raise InvalidEvent(f"must be 'gaussian' or 'laplace', got {kind!r}", field="kind")
    if isinstance(T, bool) or not isinstance(T, numbers.Integral) or T < 1:
        raise InvalidEvent(f"must be an integer >= 1, got {T!r}", field="T")
    m = _n_nodes(int(T))
    rows = []
    for s in seeds:
        rng = np.random.default_rng(s)
        z = rng.standard_normal(size=(m, 1)) if kind == "gaussian" else rng.laplace(0.0, 1.0, size=(m, 1))
        rows.append(z[:, 0])
    return np.array(rows).reshape(len(rows), m)


def tree_counter_many(X, noise, *, scale=1.0, honaker=False, releases=True, device="cpu") -> dict:
    """The binary-tree continual counter over many scalar streams at once.

    Stream ``s`` is counted like ``TreeCounter(T, ...)`` with node noise
    ``scale * noise[s]`` (see :func:`tree_noise`).

    Parameters
    ----------
    X
        Streams, shape ``(S, T)``.
    noise
        Unit node noise, shape ``(S, m)`` with ``m >= 2T - popcount(T)`` (completion order).
    scale
        Noise scale (Gaussian sigma or Laplace b), e.g. ``counter.guarantee.scale``.
    honaker
        Honaker's online node estimates.
    releases
        Return the ``(S, T)`` releases (``False`` keeps only the error summaries, which saves
        memory on large batches).
    device
        ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    dict
        ``releases`` (S, T) or ``None``; ``max_abs_error`` (S,) and ``mse`` (S,): errors of
        the releases against the exact prefix sums.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cuda import tree_counter_many, tree_noise
    >>> X = np.ones((2, 8))
    >>> res = tree_counter_many(X, tree_noise([0, 1], 8), scale=0.0)
    >>> res["releases"][0].tolist(), res["max_abs_error"].tolist()
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [0.0, 0.0])
    """
    Xa, Xk = _input(X, "X", 2, device)
    S, T = Xa.shape
    if T == 0:
        raise InvalidEvent("expected at least one step", field="X")
    Z, Zk = _input(noise, "noise", 2, device)
    m = _n_nodes(T)
    if Z.shape[0] != S or Z.shape[1] < m:
        raise InvalidEvent(f"expected shape ({S}, >= {m}), got {Z.shape}", field="noise")
    if not (isinstance(scale, numbers.Real) and 0 <= scale < np.inf):
        raise InvalidEvent(f"must be a finite number >= 0, got {scale!r}", field="scale")
    L = T.bit_length()
    h = np.arange(L, dtype=np.float64)
    w = 2.0**h / (2.0 ** (h + 1) - 1.0)  # Honaker weights (onlinekit.privacy.tree.honaker_factors)
    K = _backend(device)
    out = np.zeros((S, T)) if releases else np.zeros((1, 1))
    max_err = np.zeros(S)
    sq_err = np.zeros(S)
    K.tree_many(Xk, Zk, float(scale), w, bool(honaker), L, out, bool(releases), max_err, sq_err)
    return {"releases": out if releases else None, "max_abs_error": max_err, "mse": sq_err / T}


def best_perm_many(Q, W, w_bot, m, *, device="cpu"):
    """BestPerm (Du, Srikant, Chen 2024, Alg. 1) for every state of a cascading MDP at once.

    Parameters
    ----------
    Q, W
        Attraction probabilities and item weights, shape ``(S, N)`` (one row per state).
    w_bot
        No-click weight per state, shape ``(S,)`` (or a scalar).
    m
        Maximum list length (>= 1).
    device
        ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    values : ndarray, shape (S,)
    lists : ndarray of int64, shape (S, m)
        Row ``s`` holds its list in the first ``lengths[s]`` entries, then ``-1``.
    lengths : ndarray of int64, shape (S,)

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cuda import best_perm_many
    >>> Q = np.array([[0.9, 0.5, 0.2, 0.6], [0.1, 0.1, 0.1, 0.1]])
    >>> W = np.array([[0.2, 1.0, 0.8, 0.1], [1.0, 2.0, 3.0, 0.0]])
    >>> values, lists, lengths = best_perm_many(Q, W, [0.15, 0.0], 2)
    >>> np.round(values, 3).tolist(), lists.tolist(), lengths.tolist()
    ([0.64, 0.48], [[1, 2], [2, 1]], [2, 2])

    Notes
    -----
    Same canonical tie rule as :func:`onlinekit.cascade.best_perm` (descending ``w``, ties by
    item index; among optimal lists within ``1e-9`` the lexicographically largest inclusion
    vector), so the lists are identical. Cost ``O(N^2 + N m)`` per state (insertion sort:
    meant for the small ``N`` of cascading MDPs).
    """
    Qa, Qk = _input(Q, "Q", 2, device)
    Wa, Wk = _input(W, "W", 2, device)
    if Qa.shape != Wa.shape or Qa.shape[1] == 0:
        raise InvalidEvent(f"Q and W must have the same non-empty shape, got {Qa.shape} and {Wa.shape}", field="W")
    if not np.all((Qa >= 0) & (Qa <= 1)):
        raise InvalidEvent("attraction probabilities must lie in [0, 1]", field="Q")
    S = Qa.shape[0]
    wb = np.asarray(w_bot, dtype=np.float64)
    if wb.ndim == 0:
        wb = np.full(S, float(wb))
    if wb.shape != (S,) or not np.all(np.isfinite(wb)):
        raise InvalidEvent(f"must be finite with shape ({S},), got {wb.shape}", field="w_bot")
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise InvalidEvent(f"must be an integer >= 1, got {m!r}", field="m")
    K = _backend(device)
    values = np.zeros(S)
    lists = np.full((S, int(m)), -1, dtype=np.int64)
    lengths = np.zeros(S, dtype=np.int64)
    K.best_perm_many(Qk, Wk, np.ascontiguousarray(wb), int(m), TIE_TOL, values, lists, lengths)
    return values, lists, lengths

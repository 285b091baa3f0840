"""Slow, obviously-correct references for the batch kernels of onlinekit.cuda."""

from __future__ import annotations

import itertools
import math

import numpy as np


def ogd(X, y, lr, schedule="constant", loss="squared", radius=None, l2=0.0, intercept=True):
    """(w, b, cumulative loss) of progressive projected OGD, plain numpy."""
    n, d = X.shape
    w = np.zeros(d)
    b = 0.0
    total = 0.0
    for t in range(1, n + 1):
        x, yt = X[t - 1], y[t - 1]
        z = float(w @ x) + b
        if loss == "logistic":
            p = 1.0 / (1.0 + math.exp(-z))
            q = min(max(p, 1e-15), 1 - 1e-15)
            total += -(yt * math.log(q) + (1 - yt) * math.log(1 - q))
        else:
            p = z
            total += 0.5 * (p - yt) ** 2
        eta = lr / math.sqrt(t) if schedule == "sqrt" else lr
        w = w * (1 - eta * l2) - eta * (p - yt) * x
        if intercept:
            b -= eta * (p - yt)
        if radius is not None and np.linalg.norm(w) > radius:
            w = w * radius / np.linalg.norm(w)
    return w, b, total


def hedge(G, lr, schedule="constant", z=1.0, u=None):
    """Exponential weights from the closed form x_t ~ exp(-sum_{s<t} eta_s g_s)."""
    T, d = G.shape
    logw = np.zeros(d)
    expected = 0.0
    sampled = 0.0
    for t in range(T):
        p = np.exp(logw - logw.max())
        x = z * p / p.sum()
        expected += float(G[t] @ x)
        if u is not None:
            a = min(int(np.searchsorted(np.cumsum(x), u[t] * z, side="right")), d - 1)
            sampled += G[t, a]
        eta = lr / math.sqrt(t + 1) if schedule == "sqrt" else lr
        logw = logw - eta * G[t]
    p = np.exp(logw - logw.max())
    return z * p / p.sum(), expected, sampled


def tree(x, noise, scale, honaker=False):
    """Releases of the binary-tree counter, built node by node.

    Node (h, e) covers steps e - 2^h + 1 .. e and completes at step e; its noise is row
    ``first[e] + h`` where ``first[e]`` counts the nodes completed before step e.
    """
    T = len(x)
    first = {}
    p = 0
    for t in range(1, T + 1):
        first[t] = p
        p += ((t & -t).bit_length() - 1) + 1
    cs = np.concatenate([[0.0], np.cumsum(x)])
    est = {}

    def node(h, e):
        if (h, e) not in est:
            exact = cs[e] - cs[e - 2**h]
            noisy = exact + scale * noise[first[e] + h]
            if honaker and h > 0:
                r = 2.0**h / (2.0 ** (h + 1) - 1.0)
                kids = node(h - 1, e - 2 ** (h - 1)) + node(h - 1, e)
                est[(h, e)] = r * noisy + (1 - r) * kids
            else:
                est[(h, e)] = noisy
        return est[(h, e)]

    out = np.empty(T)
    for t in range(1, T + 1):
        acc = 0.0
        for h in reversed(range(t.bit_length())):  # tiling: one node per 1-bit of t, from the left
            if (t >> h) & 1:
                acc += node(h, (t >> h) << h)
        out[t - 1] = acc
    return out


def cascade_value(items, q, w, w_bot):
    v, survive = 0.0, 1.0
    for a in items:
        v += survive * q[a] * w[a]
        survive *= 1 - q[a]
    return v + survive * w_bot


def best_value(q, w, w_bot, m):
    """max over all ordered lists of 1..m distinct items, by enumeration."""
    n = len(q)
    return max(cascade_value(A, q, w, w_bot) for k in range(1, m + 1) for A in itertools.permutations(range(n), k))


def split_by_key_quadratic(source, schema, shard_by, chunk_size=65536):
    """The original splitter, kept as a slow reference: every key of a chunk is compared
    against every row of the chunk (``O(keys x rows)``). Returns ``{key: (columns, lines)}``
    in order of first appearance; numeric keys that are whole are written without ``.0``."""
    import dataclasses

    def key_text(v):
        if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
            return str(int(v))
        return str(v)

    available = source.column_names()
    if schema.features is None:
        feats = tuple(c for c in schema.resolve_features(available) if c != shard_by)
        schema = dataclasses.replace(schema, features=feats)
    kinds = schema.kinds(available)
    kinds.setdefault(shard_by, "str")
    keep = [c for c in kinds if c != shard_by] + ([shard_by] if shard_by in schema.kinds(available) else [])
    parts, line_parts = {}, {}
    for chunk in source.chunks(start=0, chunk_size=chunk_size, kinds=kinds):
        keys = np.array([key_text(v) for v in chunk.columns[shard_by]], dtype=object)
        uniq, first = np.unique(keys, return_index=True)
        for key in uniq[np.argsort(first, kind="stable")]:
            mask = keys == key
            parts.setdefault(key, []).append({c: chunk.columns[c][mask] for c in keep})
            line_parts.setdefault(key, []).append(None if chunk.lines is None else chunk.lines[mask])
    shards = {}
    for key, cols in parts.items():
        merged = {c: np.concatenate([p[c] for p in cols]) for c in keep}
        ls = line_parts[key]
        shards[key] = (merged, None if any(v is None for v in ls) else np.concatenate(ls))
    return shards

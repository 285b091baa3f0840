"""Numba kernels for the CSV source (private; arrays and scalars in, arrays out).

``tokenize`` finds row and field spans in a byte buffer (RFC 4180 quoting, ``\\n``, ``\\r\\n``
and bare ``\\r`` line ends, blank lines skipped). ``parse_columns`` converts fields of the
requested columns to ``float64`` with the exact Clinger fast path; fields it cannot convert
exactly are flagged for a Python ``float()`` fallback, so every value equals ``float(text)``
bit for bit.

Field flags: ``0`` = the span ``[start, end)`` is the field's text; ``1`` = the span is the raw
quoted text (escaped ``""`` quotes or text after the closing quote) and must be unquoted in
Python. A row with ``nfields == -1`` ended inside an unterminated quoted field.

Parse status: ``0`` = parsed exactly, ``1`` = needs the Python fallback, ``2`` = empty field,
``3`` = row has the wrong number of fields (not parsed).
"""

from __future__ import annotations

import numpy as np

from onlinekit._numba import njit

__all__ = ["tokenize", "tokenize_hashed", "parse_columns", "parse_float"]

_LF = 10
_CR = 13
_QUOTE = 34

#: 10**k for k = 0..22: every one is exactly representable as a float64.
POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)
_MAX_EXACT = 2**53
#: 10**k for k = 0..15 as integers (10**16 > 2**53).
POW10_INT = np.array([10**k for k in range(16)], dtype=np.int64)


@njit(inline="always")
def parse_float(buf, s, e):
    """Exact decimal-to-float64 for ``buf[s:e]``; returns ``(value, status)``.

    Status ``0``: exact (Clinger fast path: integer mantissa <= 2**53 and decimal exponent in
    [-22, 22], so one correctly rounded multiply or divide by an exact power of ten; a larger
    exponent counts when moving its excess into the mantissa keeps that <= 2**53, e.g.
    ``12e25`` = ``12000 * 10**22``);
    ``1``: anything else (long mantissa, large exponent, nan/inf, spaces, non-ASCII, not a
    number) -- the caller uses Python's ``float()``; ``2``: empty.
    """
    if s >= e:
        return 0.0, 2
    i = s
    neg = False
    c = buf[i]
    if c == 45:  # '-'
        neg = True
        i += 1
    elif c == 43:  # '+'
        i += 1
    m = 0
    seen = 0
    frac = 0
    while i < e:
        d = np.int64(buf[i]) - 48
        if d < 0 or d > 9:
            break
        m = m * 10 + d
        i += 1
    seen = i
    if i < e and buf[i] == 46:  # '.'
        i += 1
        f0 = i
        while i < e:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            m = m * 10 + d
            i += 1
        frac = i - f0
        seen = seen - s + frac
        if c == 45 or c == 43:
            seen -= 1
    else:
        seen = seen - s
        if c == 45 or c == 43:
            seen -= 1
    if seen > 18:  # may overflow: count significant digits only
        return _parse_float_careful(buf, np.int64(s), e)
    return _finish(buf, i, e, neg, m, seen, frac)


@njit(inline="always")
def _parse_scan(buf, s, n, delim):
    """Parse an unquoted field starting at ``s`` while finding its end.

    Digits are read once: the field ends at the first delimiter or line end. Returns
    ``(value, status, end)`` with the status codes of :func:`parse_float`.
    """
    i = s
    neg = False
    c = buf[i] if i < n else delim
    if c == 45:
        neg = True
        i += 1
    elif c == 43:
        i += 1
    m = 0
    while i < n:
        d = np.int64(buf[i]) - 48
        if d < 0 or d > 9:
            break
        m = m * 10 + d
        i += 1
    seen = i - s
    if neg or c == 43:
        seen -= 1
    frac = 0
    if i < n and buf[i] == 46:
        i += 1
        f0 = i
        while i < n:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            m = m * 10 + d
            i += 1
        frac = i - f0
        seen += frac
    j = i
    while j < n:
        b = buf[j]
        if b == delim or b == _LF or b == _CR:
            break
        j += 1
    if j == s:
        return 0.0, 2, j
    if seen > 18:
        v, st = _parse_float_careful(buf, np.int64(s), j)
        return v, st, j
    v, st = _finish(buf, i, j, neg, m, seen, frac)
    return v, st, j


@njit
def parse_columns(buf, fs, fe, ff, rfs, rnf, r0, r1, ncols, cols):
    """Parse fields ``cols`` (column indices) of rows ``r0:r1`` as float64.

    Returns ``(values, status)``, both shaped ``(len(cols), r1 - r0)``.
    """
    k = cols.size
    nrow = r1 - r0
    out = np.empty((k, nrow), dtype=np.float64)
    st = np.zeros((k, nrow), dtype=np.uint8)
    for r in range(nrow):
        row = r0 + r
        if rnf[row] != ncols:
            for c in range(k):
                out[c, r] = np.nan
                st[c, r] = 3
            continue
        base = rfs[row]
        for c in range(k):
            f = base + cols[c]
            if ff[f] != 0:
                out[c, r] = np.nan
                st[c, r] = 1
                continue
            v, s = parse_float(buf, fs[f], fe[f])
            out[c, r] = v
            st[c, r] = s
    return out, st


@njit
def tokenize(buf, delim, final, line0, colslot, parse_from):
    """Split ``buf`` (uint8) into rows and fields: :func:`tokenize_hashed` without hashing
    (returns its first twelve results)."""
    r = tokenize_hashed(buf, delim, final, line0, colslot, np.zeros(0, dtype=np.int64), parse_from)
    return r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]


@njit
def tokenize_hashed(buf, delim, final, line0, colslot, hashslot, parse_from):
    """Split ``buf`` (uint8) into rows and fields.

    Parameters
    ----------
    buf : uint8 array
    delim : int
        Delimiter byte.
    final : bool
        True when ``buf`` ends the file: the last row need not end with a newline.
    line0 : int
        1-based physical line number of the first byte of ``buf``.
    colslot : int64 array
        For each column index, the output slot its values are parsed into, or -1 (fields
        beyond ``colslot.size`` are never parsed). The number of columns is ``colslot.size``.
    hashslot : int64 array
        For each column index, the output slot of the 64-bit FNV-1a hashes of its field
        bytes (for an unquoted field, :func:`onlinekit.streams.encode.stable_hash` of its
        text), or -1; may be shorter than ``colslot``.
    parse_from : int
        Rows before this one (index within this call) are tokenized only.

    Returns
    -------
    (n_rows, n_fields, consumed, next_line, field_start, field_end, field_flag,
     row_first_field, row_nfields, row_line, values, status, hashes, needs_python)
        ``values`` / ``status`` are ``(n_slots, capacity)``: see :func:`parse_columns`.
        ``hashes`` (``int64``) / ``needs_python`` are ``(n_hash_slots, capacity)``; rows whose
        field is quoted or whose row has the wrong number of fields need Python (hash left 0)
        to be unquoted and hashed. ``consumed`` bytes form complete rows; the rest must be carried
        into the next call.
    """
    n = buf.size
    # upper bounds (every field ends at a delimiter or line end): no growing in the loop;
    # counted without branches (sums of comparisons), a quarter faster than if / elif
    cap_r = 1
    cap_f = 1
    d8 = np.uint8(delim)
    for p in range(n):
        b = buf[p]
        cap_r += (b == np.uint8(_LF)) | (b == np.uint8(_CR))
        cap_f += b == d8
    cap_f += cap_r
    ncols = colslot.size
    nslot = 0
    for q in range(ncols):
        if colslot[q] >= nslot:
            nslot = colslot[q] + 1
    vals = np.empty((nslot, cap_r), dtype=np.float64)
    stat = np.empty((nslot, cap_r), dtype=np.uint8)
    nhcol = min(hashslot.size, ncols)
    nh = 0
    for q in range(nhcol):
        if hashslot[q] >= nh:
            nh = hashslot[q] + 1
    hsh = np.zeros((nh, cap_r), dtype=np.uint64)
    hslow = np.zeros((nh, cap_r), dtype=np.bool_)
    prime = np.uint64(0x100000001B3)
    basis = np.uint64(0xCBF29CE484222325)
    fs = np.empty(cap_f, dtype=np.int64)
    fe = np.empty(cap_f, dtype=np.int64)
    ff = np.empty(cap_f, dtype=np.uint8)
    rfs = np.empty(cap_r, dtype=np.int64)
    rnf = np.empty(cap_r, dtype=np.int64)
    rline = np.empty(cap_r, dtype=np.int64)
    i = 0
    nf = 0
    nr = 0
    line = line0
    consumed = 0
    consumed_line = line0
    while i < n:
        c = buf[i]
        # blank lines
        if c == _LF:
            i += 1
            line += 1
            consumed = i
            consumed_line = line
            continue
        if c == _CR:
            if i + 1 < n:
                i += 2 if buf[i + 1] == _LF else 1
            elif final:
                i += 1
            else:
                break
            line += 1
            consumed = i
            consumed_line = line
            continue
        row_line = line
        row_f0 = nf
        incomplete = False
        unterminated = False
        while True:
            if i < n and buf[i] == _QUOTE:
                j = i + 1
                flag = 0
                closed = False
                while j < n:
                    b = buf[j]
                    if b == _QUOTE:
                        if j + 1 < n:
                            if buf[j + 1] == _QUOTE:
                                flag = 1
                                j += 2
                                continue
                            closed = True
                            break
                        if final:
                            closed = True
                            break
                        incomplete = True
                        break
                    if b == _LF:
                        line += 1
                    elif b == _CR and (j + 1 >= n or buf[j + 1] != _LF):
                        line += 1
                    j += 1
                if incomplete:
                    break
                if not closed:
                    if not final:
                        incomplete = True
                        break
                    # unterminated quoted field at end of file
                    fs[nf] = i
                    fe[nf] = n
                    ff[nf] = 1
                    nf += 1
                    unterminated = True
                    i = n
                    break
                content_end = j
                k = j + 1
                while k < n:
                    b = buf[k]
                    if b == delim or b == _LF or b == _CR:
                        break
                    k += 1
                if k > j + 1:
                    flag = 1
                if flag == 1:
                    fs[nf] = i
                    fe[nf] = k
                else:
                    fs[nf] = i + 1
                    fe[nf] = content_end
                ff[nf] = flag
                if nslot > 0 and nr >= parse_from:
                    fi = nf - row_f0
                    if fi < ncols and colslot[fi] >= 0:
                        if flag == 0:
                            v, st = parse_float(buf, fs[nf], fe[nf])
                        else:
                            v, st = np.nan, 1
                        vals[colslot[fi], nr] = v
                        stat[colslot[fi], nr] = st
                if nh > 0 and nr >= parse_from:
                    fi = nf - row_f0
                    if fi < nhcol and hashslot[fi] >= 0:
                        if flag == 0:
                            h = basis
                            for q in range(fs[nf], fe[nf]):
                                h = (h ^ np.uint64(buf[q])) * prime
                            hsh[hashslot[fi], nr] = h
                        else:
                            hslow[hashslot[fi], nr] = True
                nf += 1
                j = k
            else:
                slot = -1
                if nslot > 0 and nr >= parse_from:
                    fi = nf - row_f0
                    if fi < ncols:
                        slot = colslot[fi]
                hs = -1
                if nh > 0 and nr >= parse_from:
                    fi = nf - row_f0
                    if fi < nhcol:
                        hs = hashslot[fi]
                if slot >= 0:
                    v, st, j = _parse_scan(buf, i, n, delim)
                    vals[slot, nr] = v
                    stat[slot, nr] = st
                elif hs >= 0:
                    h = basis
                    j = i
                    while j < n:
                        b = buf[j]
                        if b == delim or b == _LF or b == _CR:
                            break
                        h = (h ^ np.uint64(b)) * prime
                        j += 1
                    hsh[hs, nr] = h
                else:
                    j = i
                    while j < n:
                        b = buf[j]
                        if b == delim or b == _LF or b == _CR:
                            break
                        j += 1
                fs[nf] = i
                fe[nf] = j
                ff[nf] = 0
                nf += 1
            # j is at the field's end
            if j >= n:
                if final:
                    i = n
                    break
                incomplete = True
                break
            b = buf[j]
            if b == delim:
                i = j + 1
                continue
            if b == _LF:
                i = j + 1
                line += 1
                break
            # CR
            if j + 1 < n:
                i = j + 2 if buf[j + 1] == _LF else j + 1
                line += 1
                break
            if final:
                i = j + 1
                line += 1
                break
            incomplete = True
            break
        if incomplete:
            nf = row_f0
            line = consumed_line
            break
        rfs[nr] = row_f0
        rnf[nr] = -1 if unterminated else nf - row_f0
        rline[nr] = row_line
        if nslot > 0 and nr >= parse_from and rnf[nr] != ncols:
            for q in range(nslot):
                vals[q, nr] = np.nan
                stat[q, nr] = 3
        if nh > 0 and nr >= parse_from and rnf[nr] != ncols:
            for q in range(nh):
                hsh[q, nr] = 0
                hslow[q, nr] = True
        nr += 1
        consumed = i
        consumed_line = line
    return nr, nf, consumed, consumed_line, fs, fe, ff, rfs, rnf, rline, vals, stat, hsh.view(np.int64), hslow


@njit
def _parse_float_careful(buf, s, e):
    """Like :func:`parse_float` but skips leading zeros before counting digits (rare path)."""
    i = s
    neg = False
    c = buf[i]
    if c == 45:
        neg = True
        i += 1
    elif c == 43:
        i += 1
    m = 0
    nd = 0
    seen = 0
    frac = 0
    in_frac = False
    while i < e:
        b = buf[i]
        if b == 46 and not in_frac:
            in_frac = True
            i += 1
            continue
        d = np.int64(b) - 48
        if d < 0 or d > 9:
            break
        if m != 0 or d != 0:
            if nd >= 18:
                return 0.0, 1
            m = m * 10 + d
            nd += 1
        seen += 1
        if in_frac:
            frac += 1
        i += 1
    return _finish(buf, i, e, neg, m, seen, frac)


@njit(inline="always")
def _finish(buf, i, e, neg, m, seen, frac):
    if seen == 0:
        return 0.0, 1
    ex = 0
    if i < e and (buf[i] == 101 or buf[i] == 69):  # 'e' / 'E'
        i += 1
        eneg = False
        if i < e and (buf[i] == 45 or buf[i] == 43):
            eneg = buf[i] == 45
            i += 1
        ed = 0
        while i < e:
            d = np.int64(buf[i]) - 48
            if d < 0 or d > 9:
                break
            if ex < 100000:
                ex = ex * 10 + d
            ed += 1
            i += 1
        if ed == 0:
            return 0.0, 1
        if eneg:
            ex = -ex
    if i != e:
        return 0.0, 1
    if m == 0:
        return (-0.0 if neg else 0.0), 0
    if m > _MAX_EXACT:
        return 0.0, 1
    e10 = ex - frac
    if e10 > 22 and e10 - 22 < POW10_INT.size and m <= _MAX_EXACT // POW10_INT[e10 - 22]:
        # m * 10**(e10 - 22) is still an exact integer <= 2**53: one rounding, as below
        m = m * POW10_INT[e10 - 22]
        e10 = 22
    if e10 < -22 or e10 > 22:
        return 0.0, 1
    v = np.float64(m)
    if e10 >= 0:
        v = v * POW10[e10]
    else:
        v = v / POW10[-e10]
    return (-v if neg else v), 0

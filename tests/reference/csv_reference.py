"""Slow pure-Python reference for ``onlinekit.streams._csv_kernels`` (tests only).

``tokenize`` returns the rows found in a byte string and ``parse_float`` the value and status
of one field, with the same conventions as the numba kernels (see that module's docstring).
"""

from __future__ import annotations

import re

LF, CR, QUOTE = 10, 13, 34

_NUMBER = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")


def parse_float(field: bytes) -> tuple[float, int]:
    """``(value, status)``: status 0 exact fast path, 1 needs ``float()``, 2 empty."""
    if not field:
        return 0.0, 2
    m = _NUMBER.fullmatch(field)
    if m is None or not (m.group(2) or m.group(3)):
        return 0.0, 1
    sign, ip, fp, ex = m.group(1), m.group(2), m.group(3) or b"", m.group(4)
    digits = (ip + fp).lstrip(b"0")
    if len(digits) > 18:
        return 0.0, 1
    mant = int(digits or b"0")
    exp = int(ex) if ex is not None else 0
    if mant == 0:
        return (-0.0 if sign == b"-" else 0.0), 0
    e10 = exp - len(fp)
    if 22 < e10 <= 22 + 15 and mant * 10 ** (e10 - 22) <= 2**53:  # the excess fits the mantissa
        mant, e10 = mant * 10 ** (e10 - 22), 22
    if mant > 2**53 or not -22 <= e10 <= 22:
        return 0.0, 1
    return float(field.decode()), 0


def tokenize(data: bytes, delim: int, final: bool, line0: int = 1):
    """``(rows, consumed, next_line)``; each row is ``(line, nfields, [(start, end, flag)])``
    with ``nfields == -1`` for an unterminated quoted field at the end of the data."""
    n = len(data)
    rows = []
    i = 0
    line = line0
    consumed, consumed_line = 0, line0

    def line_end(j):
        """Length of the line terminator at j (0 if none, None if undecidable)."""
        if data[j] == LF:
            return 1
        if data[j] == CR:
            if j + 1 < n:
                return 2 if data[j + 1] == LF else 1
            return 1 if final else None
        return 0

    while i < n:
        t = line_end(i)
        if t is None:
            break
        if t:
            i += t
            line += 1
            consumed, consumed_line = i, line
            continue
        row_line = line
        fields = []
        status = "ok"
        while True:
            if i < n and data[i] == QUOTE:
                j = i + 1
                escaped = False
                while True:
                    if j >= n:
                        status = "unterminated" if final else "incomplete"
                        break
                    if data[j] == QUOTE:
                        if j + 1 < n and data[j + 1] == QUOTE:
                            escaped = True
                            j += 2
                            continue
                        if j + 1 >= n and not final:
                            status = "incomplete"
                        break
                    if data[j] == LF or (data[j] == CR and (j + 1 >= n or data[j + 1] != LF)):
                        line += 1
                    j += 1
                if status == "unterminated":
                    fields.append((i, n, 1))
                    i = n
                    break
                if status == "incomplete":
                    break
                k = j + 1
                while k < n and data[k] not in (delim, LF, CR):
                    k += 1
                if escaped or k > j + 1:
                    fields.append((i, k, 1))
                else:
                    fields.append((i + 1, j, 0))
                j = k
            else:
                j = i
                while j < n and data[j] not in (delim, LF, CR):
                    j += 1
                fields.append((i, j, 0))
            if j >= n:
                if final:
                    i = n
                else:
                    status = "incomplete"
                break
            if data[j] == delim:
                i = j + 1
                continue
            t = line_end(j)
            if t is None:
                status = "incomplete"
                break
            i = j + t
            line += 1
            break
        if status == "incomplete":
            line = consumed_line
            break
        rows.append((row_line, -1 if status == "unterminated" else len(fields), fields))
        consumed, consumed_line = i, line
    return rows, consumed, consumed_line

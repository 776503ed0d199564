"""Streaming exports: rows in, bytes out, never the whole file in memory.

* ``safe_cell(value)``: one spreadsheet cell, inert.  A text starting with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is what Excel,
  LibreOffice and Google Sheets read as a formula (``=HYPERLINK(...)``,
  ``@SUM(...)``, ``-2+3``); OWASP's "CSV Injection" advice is to start such
  a cell with a single quote, which every one of them shows as text.  Numbers
  (``int``, ``float``; not ``bool``) stay numbers, so ``-3.5`` is still a
  number; None is an empty cell; a list is joined with spaces; True/False are
  ``true``/``false``.  Every writer here applies it to every cell.
* ``csv_stream(header, rows, bom=True)``: a generator of bytes (UTF-8,
  RFC 4180 quoting, CRLF line ends), in chunks of about 64 KiB.  ``bom``: a
  byte-order mark first, without which Excel reads UTF-8 as a legacy code page.
* ``geojson_stream(features, **members)``: a FeatureCollection as a
  generator of bytes; ``features`` yields Feature dicts (or already-encoded
  ``bytes`` of one Feature); ``members`` are extra top-level members
  written before ``features`` (e.g. ``bbox``).
* ``CHUNK``: the size the writers aim for per yielded piece.

``flask.Response(generator)`` sends such a generator as it is produced; the
CLI writes it to a file.  The XLSX writer (xlsxwriter, constant memory)
belongs here too.
"""

from __future__ import annotations

import csv
import io
from itertools import islice
from typing import Iterable, Iterator, Sequence

import orjson

CHUNK = 64 * 1024
FORMULA_STARTS = frozenset("=+-@\t\r")


def safe_cell(value: object) -> object:
    """``value`` as a cell a spreadsheet shows as text or a number, never runs (see the module docstring)."""
    kind = type(value)
    if kind is str:  # the common case first: this runs for every cell of every export
        return "'" + value if value and value[0] in FORMULA_STARTS else value  # type: ignore[index,operator]
    if kind is int or kind is float:
        return value
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        value = " ".join("" if v is None else str(v) for v in value)
    elif isinstance(value, (int, float)):  # a subclass of a number (not bool: handled above)
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text and text[0] in FORMULA_STARTS else text


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = True) -> Iterator[bytes]:
    """CSV of ``header`` and ``rows``, every cell through ``safe_cell``, as bytes in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    first = True
    rows = iter(rows)
    starts = FORMULA_STARTS
    while True:
        # safe_cell, inlined for text (most cells), a batch of rows at a time: this is the export's hot loop
        batch = [[("'" + v if v[:1] in starts else v) if type(v) is str else safe_cell(v) for v in row]
                 for row in islice(rows, 256)]
        if not batch:
            break
        writer.writerows(batch)
        if buffer.tell() >= CHUNK:
            yield _take(buffer, bom and first)
            first = False
    yield _take(buffer, bom and first)


def _take(buffer: io.StringIO, bom: bool) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def geojson_stream(features: Iterable[dict | bytes], **members: object) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection of ``features``, as bytes in chunks."""
    head = {"type": "FeatureCollection", **members}
    opening = orjson.dumps(head)[:-1] + b',"features":['
    parts: list[bytes] = [opening]
    size = len(opening)
    separator = b""
    for feature in features:
        encoded = feature if isinstance(feature, bytes) else orjson.dumps(feature)
        parts.append(separator)
        parts.append(encoded)
        separator = b","
        size += len(encoded) + 1
        if size >= CHUNK:
            yield b"".join(parts)
            parts, size = [], 0
    parts.append(b"]}\n")
    yield b"".join(parts)

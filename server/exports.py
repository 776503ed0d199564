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
* ``csv_cells(values)``: cells rendered as ``csv_stream`` writes them within
  a row (each through ``safe_cell``, quoted by the ``csv`` module itself),
  comma-separated, without a line end: the text can be stored (an index
  renders its rows once, when it writes them) and joined with ``,`` to other
  such texts, which is the row ``csv_stream`` would write.
* ``csv_text_stream(header, lines, bom=True)``: ``csv_stream`` of rows
  already rendered by ``csv_cells`` (and joined), one ``str`` a row: no cell
  is looked at again, so an export is a straight stream of stored text.
* ``geojson_stream(features, **members)``: a FeatureCollection as a
  generator of bytes; ``features`` yields Feature dicts (or already-encoded
  ``bytes`` of one Feature); ``members`` are extra top-level members
  written before ``features`` (e.g. ``bbox``).
* ``CHUNK``: the size the writers aim for per yielded piece.

* ``xlsx_stream(header, rows, sheet="Export")``: an Excel workbook as a
  generator of bytes.  xlsxwriter in ``constant_memory`` mode writes each row
  to a temporary file as it comes, so memory stays flat whatever the number of
  rows; the finished workbook (a zip, complete only once the last row is in) is
  then read back from a temporary file in chunks, and the file removed.  Every
  text goes through ``write_string`` (never ``write``, which would read
  ``=...`` as a formula); a text that starts like a formula also gets Excel's
  own "quote prefix" cell style, which keeps it text even when someone edits
  the cell, and keeps its value exact.  Numbers go through ``write_number``.

``flask.Response(generator)`` sends such a generator as it is produced; the
CLI writes it to a file.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import tempfile
from itertools import islice
from typing import Iterable, Iterator, Sequence

import orjson
import xlsxwriter

CHUNK = 64 * 1024
FORMULA_STARTS = frozenset("=+-@\t\r")
# A phone in E.164 ("+" and digits only) is no formula a spreadsheet could run, and CRM imports
# (Action Network, Mailchimp's SMS field) need its "+": it is the one such text left as it is.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def safe_cell(value: object) -> object:
    """``value`` as a cell a spreadsheet shows as text or a number, never runs (see the module docstring)."""
    kind = type(value)
    if kind is str:  # the common case first: this runs for every cell of every export
        return "'" + value if value and value[0] in FORMULA_STARTS and not E164.fullmatch(value) else value  # type: ignore[index,operator,arg-type]
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
    return "'" + text if text and text[0] in FORMULA_STARTS and not E164.fullmatch(text) else text


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = True) -> Iterator[bytes]:
    """CSV of ``header`` and ``rows``, every cell through ``safe_cell``, as bytes in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(name) for name in header])
    first = True
    rows = iter(rows)
    starts, e164 = FORMULA_STARTS, E164.fullmatch
    while True:
        # safe_cell, inlined for text (most cells), a batch of rows at a time: this is the export's hot loop
        batch = [[("'" + v if v[:1] in starts and not e164(v) else v) if type(v) is str else safe_cell(v) for v in row]
                 for row in islice(rows, 256)]
        if not batch:
            break
        writer.writerows(batch)
        if buffer.tell() >= CHUNK:
            yield _take(buffer, bom and first)
            first = False
    yield _take(buffer, bom and first)


def csv_cells(values: Sequence[object]) -> str:
    """``values`` as CSV cells (see the module docstring); ``values`` must not be empty."""
    if not values:
        raise ValueError("no cells")
    return ",".join([_csv_cell(safe_cell(value)) for value in values])


def _csv_cell(cell: object) -> str:
    """One cell (already safe) as the ``csv`` module writes it within a row."""
    if type(cell) is str and '"' not in cell and "," not in cell and "\n" not in cell and "\r" not in cell:
        return cell  # what needs no quotes (most text) is written as it is
    if type(cell) is int or type(cell) is float:
        return str(cell)  # as the csv module writes a number
    buffer = io.StringIO()  # the rest, quoted by the csv module itself
    # An empty cell last: the csv module writes a row of one empty cell as "" (so that it is a row), never part of one.
    csv.writer(buffer, lineterminator="\r\n").writerow([cell, ""])
    return buffer.getvalue()[:-3]  # without that cell's comma and the line end


def csv_text_stream(header: Sequence[str], lines: Iterable[str], *, bom: bool = True) -> Iterator[bytes]:
    """CSV of ``header`` and rows already rendered (``csv_cells``), as bytes in chunks."""
    lines = iter(lines)
    parts = [(b"\xef\xbb\xbf" if bom else b"") + (csv_cells(header) + "\r\n").encode("utf-8")]
    size = len(parts[0])
    while True:
        batch = list(islice(lines, 128))  # rows of a few hundred bytes: a chunk every few batches
        if not batch:
            break
        batch.append("")
        encoded = "\r\n".join(batch).encode("utf-8")
        parts.append(encoded)
        size += len(encoded)
        if size >= CHUNK:
            yield b"".join(parts)
            parts, size = [], 0
    yield b"".join(parts)


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


XLSX_MAX_ROWS = 1_048_576  # Excel's limit, the header row included
XLSX_MAX_TEXT = 32_767  # characters in one cell


def xlsx_stream(header: Sequence[str], rows: Iterable[Sequence[object]], *, sheet: str = "Export") -> Iterator[bytes]:
    """An .xlsx workbook of ``header`` and ``rows`` in one sheet, as bytes in chunks (see the module docstring).

    Raises ValueError past Excel's row limit (before anything is yielded).
    """
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="blockwalk-export-")
    os.close(handle)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
        text_kept = book.add_format({"quote_prefix": True})
        bold = book.add_format({"bold": True})
        ws = book.add_worksheet(sheet[:31])
        for col, name in enumerate(header):
            ws.write_string(0, col, str(name), bold)
        ws.freeze_panes(1, 0)
        count = 0
        for count, row in enumerate(rows, start=1):
            if count >= XLSX_MAX_ROWS:
                book.close()
                raise ValueError(f"more than {XLSX_MAX_ROWS - 1:,} rows: too many for one Excel sheet; export CSV")
            for col, value in enumerate(row):
                _xlsx_cell(ws, count, col, value, text_kept)
        book.close()
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def _xlsx_cell(ws, row: int, col: int, value: object, text_kept) -> None:
    cell = safe_cell(value)
    if isinstance(cell, (int, float)) and math.isfinite(cell):
        ws.write_number(row, col, cell)
        return
    text = str(cell)
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        # The text itself, kept text by Excel's quote prefix rather than by a visible apostrophe.
        ws.write_string(row, col, text[1:][:XLSX_MAX_TEXT], text_kept)
    elif text:
        ws.write_string(row, col, text[:XLSX_MAX_TEXT])

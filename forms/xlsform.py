"""XLSForm import: an .xlsx workbook in, a Blockwalk draft form definition out.

``import_xlsform(source, form_id=None)`` reads the workbook with openpyxl
(not pyxform: pyxform turns the sheets into dictionaries and keeps no cell
positions, while every refusal here names its sheet, row and column) and
returns a ``form`` document with ``status: "draft"`` as ``docs/forms.md``
describes.  Whatever Blockwalk cannot express is refused, never dropped: all
the problems are collected and raised once, as ``XLSFormError``, each with its
sheet, row (1-based, as a spreadsheet shows it) and column (the header).

The sheets:

* ``survey`` (required): ``type``, ``name``, ``label``, ``hint``,
  ``required``, ``required_message``, ``relevant``, ``constraint``,
  ``constraint_message``, ``default``, ``appearance`` (kept), ``parameters``
  (geopoint ``capture-accuracy``), ``repeat_count`` (a fixed number), and
  Blockwalk's own columns ``merge``, ``min``, ``max``, ``min_length``,
  ``max_length``, ``pattern``, ``pattern_message``, ``min_count``,
  ``max_count``.  ``choice_filter`` is refused (Blockwalk choice lists have no
  filters), as is ``calculate``.
* ``choices`` (required when there is a select): ``list_name``, ``name``,
  ``label``.
* ``settings`` (optional): ``form_id``, ``form_title``, ``default_language``,
  ``version`` (kept as ``settings.xlsform_version``: a draft has no version),
  and Blockwalk's ``geotag_accuracy_m``.

Text columns take translations as ``label::Español (es)`` (or ``label::es``);
the plain column is the default language: ``settings.default_language``, else
``en``.  Types are XLSForm's (``image`` becomes ``photo``) plus Blockwalk's
``phone``, ``email`` and ``consent`` (whose label is its consent text).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import zipfile
from dataclasses import dataclass
from typing import Any

import openpyxl

from forms import expressions
from forms.definition import (
    LANGUAGE,
    MERGE_FOR_TYPES,
    MERGE_POLICIES,
    NAME,
    check_definition,
    form_doc_id,
)

MAX_WORKBOOK_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 200
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class XLSFormProblem:
    """One thing wrong with the workbook: where it is and what to do."""

    sheet: str | None  # None: the workbook (or an argument) as a whole
    row: int | None  # 1-based, as a spreadsheet shows it
    column: str | None  # the column's header, as written
    message: str

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        where = []
        if self.sheet is not None:
            where.append(f"sheet {self.sheet}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where) or 'workbook'}: {self.message}"


class XLSFormError(Exception):
    """The workbook cannot become a Blockwalk form; ``problems`` lists every reason."""

    def __init__(self, problems: list[XLSFormProblem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"The XLSForm cannot be imported ({n} problem{'s' if n != 1 else ''}):"
        return "\n".join([head] + [f"  - {p}" for p in self.problems])


# ---------------------------------------------------------------------------
# Columns and types

TRANSLATABLE = {"label", "hint", "constraint_message", "required_message", "pattern_message"}

SURVEY_COLUMNS = {
    "type", "name", "label", "hint", "required", "required_message", "relevant", "constraint",
    "constraint_message", "default", "choice_filter", "appearance", "parameters", "repeat_count",
    "merge", "min", "max", "min_length", "max_length", "pattern", "pattern_message", "min_count", "max_count",
    "concern",
}
CHOICES_COLUMNS = {"list_name", "name", "label"}
SETTINGS_COLUMNS = {"form_id", "form_title", "default_language", "version", "geotag_accuracy_m"}

# Header spellings XLSForm tools also write.
COLUMN_ALIASES = {"list name": "list_name", "constraint message": "constraint_message",
                  "required message": "required_message", "choice filter": "choice_filter",
                  "repeat count": "repeat_count", "form title": "form_title", "form id": "form_id",
                  "default language": "default_language"}

SIMPLE_TYPES = {
    "text": "text", "integer": "integer", "decimal": "decimal", "date": "date", "time": "time",
    "geopoint": "geopoint", "image": "photo", "photo": "photo", "note": "note",
    "phone": "phone", "email": "email", "consent": "consent",
}
SELECT_TYPES = {"select_one": "select_one", "select one": "select_one",
                "select_multiple": "select_multiple", "select multiple": "select_multiple"}
BEGIN = {"begin group": "group", "begin_group": "group", "begin repeat": "repeat", "begin_repeat": "repeat"}
END = {"end group": "group", "end_group": "group", "end repeat": "repeat", "end_repeat": "repeat"}

METADATA_TYPES = {"start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber",
                  "username", "email_address", "audit", "start-geopoint", "background-geopoint"}
UNSUPPORTED_TYPES = {
    "calculate": "calculate is not supported: Blockwalk forms have no computed fields",
    "hidden": "hidden is not supported: Blockwalk forms have no computed fields",
    "datetime": "datetime is not supported: use a date and a time field",
    "range": "range is not supported: use integer or decimal with min and max",
    "rank": "rank is not supported",
    "acknowledge": "acknowledge is not supported: use consent",
    "trigger": "trigger is not supported: use consent",
    "barcode": "barcode is not supported",
    "audio": "audio is not supported: Blockwalk attachments are photos",
    "video": "video is not supported: Blockwalk attachments are photos",
    "file": "file is not supported: Blockwalk attachments are photos",
    "background-audio": "background-audio is not supported",
    "geotrace": "geotrace is not supported: Blockwalk has geopoint only",
    "geoshape": "geoshape is not supported: Blockwalk has geopoint only",
    "xml-external": "xml-external is not supported",
    "csv-external": "csv-external is not supported",
    "select_one_from_file": "select_one_from_file is not supported: put the choices in the choices sheet",
    "select_multiple_from_file": "select_multiple_from_file is not supported: put the choices in the choices sheet",
    "select_one_external": "select_one_external is not supported: put the choices in the choices sheet",
    "begin_loop": "begin loop is not supported: use begin repeat",
    "begin loop": "begin loop is not supported: use begin repeat",
}

ANSWER_COLUMNS = {"required", "required_message", "constraint", "constraint_message", "merge"}
BASE_COLUMNS = {"type", "name", "label", "hint", "relevant", "appearance"}
COLUMNS_FOR_TYPE: dict[str, set[str]] = {
    "text": BASE_COLUMNS | ANSWER_COLUMNS | {"default", "min_length", "max_length", "pattern", "pattern_message",
                                             "concern"},
    "phone": BASE_COLUMNS | ANSWER_COLUMNS | {"default", "min_length", "max_length"},
    "email": BASE_COLUMNS | ANSWER_COLUMNS | {"default", "min_length", "max_length"},
    "integer": BASE_COLUMNS | ANSWER_COLUMNS | {"default", "min", "max"},
    "decimal": BASE_COLUMNS | ANSWER_COLUMNS | {"default", "min", "max"},
    "date": BASE_COLUMNS | ANSWER_COLUMNS | {"default", "min", "max"},
    "time": BASE_COLUMNS | ANSWER_COLUMNS | {"default"},
    "select_one": BASE_COLUMNS | ANSWER_COLUMNS | {"default", "choice_filter"},
    "select_multiple": BASE_COLUMNS | ANSWER_COLUMNS | {"default", "choice_filter"},
    "geopoint": BASE_COLUMNS | ANSWER_COLUMNS | {"parameters"},
    "photo": BASE_COLUMNS | ANSWER_COLUMNS,
    "consent": BASE_COLUMNS | ANSWER_COLUMNS,
    "note": BASE_COLUMNS,
    "group": BASE_COLUMNS,
    "repeat": BASE_COLUMNS | {"repeat_count", "min_count", "max_count"},
}
END_COLUMNS = {"type", "name"}

# Where a Blockwalk field key comes from, for mapping check_definition's paths back to cells.
KEY_COLUMN = {"choices": "type", "fields": "type"}

GEOPOINT_PARAMETERS = {"capture-accuracy": "accuracy_m", "accuracy_m": "accuracy_m"}


@dataclass(frozen=True)
class Column:
    index: int  # 0-based position in the sheet
    header: str  # as written (stripped)
    base: str  # normalised name: lower case, "_" for spaces
    language: str | None  # language code of a "::" column, or None


@dataclass
class Sheet:
    title: str  # as written in the workbook
    columns: list[Column]
    rows: list[tuple[int, dict[Column, Any]]]  # (row number, non-empty cells by column)


class _Problems:
    def __init__(self) -> None:
        self.items: list[XLSFormProblem] = []

    def add(self, sheet: str | None, row: int | None, column: str | None, message: str) -> None:
        self.items.append(XLSFormProblem(sheet, row, column, message))


# ---------------------------------------------------------------------------
# Entry point


def import_xlsform(source: str | os.PathLike | bytes, *, form_id: str | None = None) -> dict:
    """The Blockwalk draft form an XLSForm workbook (.xlsx path or bytes) describes.

    Raises ``XLSFormError`` listing every problem when the workbook cannot be
    expressed exactly.
    """
    problems = _Problems()
    data, file_stem = _read_source(source, problems)
    if data is None:
        raise XLSFormError(problems.items)
    sheets = _read_workbook(data, problems)
    if sheets is None:
        raise XLSFormError(problems.items)
    builder = _Builder(sheets, problems, form_id, file_stem)
    defn = builder.build()
    if not problems.items:
        for problem in check_definition(defn):
            sheet, row, column = builder.locate(problem.path)
            problems.add(sheet, row, column, f"{problem.message} ({problem.path})")
    if problems.items:
        raise XLSFormError(_sorted(problems.items, sheets))
    return defn


def _sorted(items: list[XLSFormProblem], sheets: dict[str, Sheet]) -> list[XLSFormProblem]:
    order = {"settings": 1, "survey": 2, "choices": 3}
    titles = {s.title: order.get(key, 4) for key, s in sheets.items()}

    def rank(p: XLSFormProblem) -> tuple:
        if p.sheet is None:
            return (0, 0)
        return (titles.get(p.sheet, order.get(p.sheet, 4)), p.row or 0)

    return sorted(items, key=rank)


# ---------------------------------------------------------------------------
# Reading the workbook


def _read_source(source: object, problems: _Problems) -> tuple[bytes | None, str | None]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        stem = None
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        stem = os.path.splitext(os.path.basename(path))[0]
        try:
            size = os.path.getsize(path)
            if size > MAX_WORKBOOK_BYTES:
                problems.add(None, None, None, f"The workbook is {size} bytes; the limit is {MAX_WORKBOOK_BYTES}")
                return None, stem
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            problems.add(None, None, None, f"The workbook cannot be read: {exc.strerror or exc}")
            return None, stem
    else:
        raise TypeError(f"import_xlsform takes a path or bytes, not {type(source).__name__}")
    if len(data) > MAX_WORKBOOK_BYTES:
        problems.add(None, None, None, f"The workbook is {len(data)} bytes; the limit is {MAX_WORKBOOK_BYTES}")
        return None, stem
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        problems.add(None, None, None, "This is an Excel 97-2003 (.xls) workbook; save it as .xlsx")
        return None, stem
    if not data.startswith(b"PK"):
        problems.add(None, None, None, "This is not an .xlsx workbook")
        return None, stem
    return data, stem


def _read_workbook(data: bytes, problems: _Problems) -> dict[str, Sheet] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            problems.add(None, None, None, f"The workbook unpacks to {unpacked} bytes; the limit is {MAX_UNPACKED_BYTES}")
            return None
        formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        values = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        problems.add(None, None, None, f"This is not a readable .xlsx workbook ({type(exc).__name__}: {exc})")
        return None
    sheets: dict[str, Sheet] = {}
    title = None
    try:
        for title in formulas.sheetnames:
            key = title.strip().lower()
            if key in ("survey", "choices", "settings"):
                if key in sheets:
                    problems.add(title, None, None, f"There are two {key} sheets ({sheets[key].title!r} and {title!r})")
                    continue
                sheets[key] = _read_sheet(title, formulas[title], values[title], problems)
            elif key in ("external_choices", "entities", "osm"):
                problems.add(title, None, None, f"The {key} sheet is not supported by Blockwalk; remove it")
            # Any other sheet (instructions, notes) is not part of XLSForm and is left alone.
        return sheets
    except Exception as exc:  # noqa: BLE001 - a damaged sheet shows only as it is read
        problems.add(title, None, None, f"The sheet cannot be read ({type(exc).__name__}: {exc})")
        return None
    finally:
        formulas.close()
        values.close()


def _read_sheet(title: str, formulas, values, problems: _Problems) -> Sheet:
    columns: list[Column] = []
    rows: list[tuple[int, dict[Column, Any]]] = []
    by_index: dict[int, Column] = {}
    headerless: dict[int, int] = {}  # column index -> first row with a value
    for number, (frow, vrow) in enumerate(zip(formulas.iter_rows(), values.iter_rows()), start=1):
        if number == 1:
            columns = _read_header(title, frow, problems)
            by_index = {c.index: c for c in columns}
            continue
        cells: dict[Column, Any] = {}
        for index, (fcell, vcell) in enumerate(zip(frow, vrow)):
            value = _cell_value(fcell, vcell)
            if value is _FORMULA:
                column = by_index.get(index)
                problems.add(title, number, column.header if column else None,
                             f"The formula {fcell.value} has no saved value; type the value itself "
                             "(or open and save the workbook in a spreadsheet program)")
                continue
            if value is None:
                continue
            if index not in by_index:
                headerless.setdefault(index, number)
                continue
            cells[by_index[index]] = value
        if cells:
            if len(rows) >= MAX_ROWS:
                problems.add(title, number, None, f"The sheet has more than {MAX_ROWS} rows")
                break
            rows.append((number, cells))
    for index, first in sorted(headerless.items()):
        problems.add(title, first, None,
                     f"Column {_column_letter(index)} has values but no header in row 1; name it or clear it")
    return Sheet(title, columns, rows)


_FORMULA = object()


def _cell_value(fcell, vcell) -> Any:
    """A cell's value: stripped text or a typed value; None when empty; _FORMULA when unknowable."""
    value = fcell.value
    if getattr(fcell, "data_type", None) == "f":
        cached = vcell.value
        if cached is not None:
            value = cached
        else:
            formula = str(value).replace(" ", "").upper()
            if formula in ("=TRUE()", "=TRUE"):
                return True
            if formula in ("=FALSE()", "=FALSE"):
                return False
            return _FORMULA
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _read_header(title: str, cells, problems: _Problems) -> list[Column]:
    columns: list[Column] = []
    seen: dict[tuple[str, str | None], str] = {}
    for index, cell in enumerate(cells):
        value = cell.value
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if index >= MAX_COLUMNS:
            problems.add(title, 1, str(value), f"The sheet has more than {MAX_COLUMNS} columns")
            break
        header = str(value).strip()
        base, _, rest = header.partition("::")
        base = " ".join(base.lower().split())
        base = COLUMN_ALIASES.get(base, base.replace(" ", "_"))
        language = None
        if rest and base not in TRANSLATABLE | {"form_title"}:
            language = rest.strip()  # not a text column: check_columns refuses it if it has values
        elif rest:
            language = _language_code(rest)
            if language is None:
                problems.add(title, 1, header,
                             f"The language {rest.strip()!r} has no code; write it as {base}::{rest.strip()} (xx) "
                             "with its code, e.g. label::Español (es)")
                continue
        key = (base, language)
        if key in seen:
            problems.add(title, 1, header, f"Column {header!r} repeats column {seen[key]!r}")
            continue
        seen[key] = header
        columns.append(Column(index, header, base, language))
    return columns


def _language_code(text: str) -> str | None:
    """The code in ``Español (es)`` or ``es``; None when there is none."""
    text = text.strip()
    match = re.fullmatch(r".*?\(\s*([^()]+?)\s*\)", text)
    code = match.group(1) if match else text
    primary, dash, rest = code.partition("-")
    code = primary.lower() + dash + rest  # EN, En-GB: the primary subtag is lower case
    return code if LANGUAGE.fullmatch(code) else None


# ---------------------------------------------------------------------------
# Building the definition


class _Builder:
    def __init__(self, sheets: dict[str, Sheet], problems: _Problems, form_id: str | None, file_stem: str | None):
        self.sheets = sheets
        self.problems = problems
        self.form_id_arg = form_id
        self.file_stem = file_stem
        self.default_language = DEFAULT_LANGUAGE
        self.languages: list[str] = []
        # Definition path -> (sheet, row, {key: column header}) for mapping check_definition back.
        self.places: dict[str, tuple[str, int | None, dict[str, str]]] = {}
        self.choices: dict[str, list[dict]] = {}
        self.choice_rows: dict[str, int] = {}
        self.field_rows: dict[str, int] = {}  # field name -> its survey row
        self.expressions: list[tuple[int, str, str]] = []  # (row, column, text) of every kept expression
        # Every select: (row, type column, list name, field, default, default column).
        self.selects: list[tuple[int, str, str, dict, Any, str | None]] = []

    # -- helpers ----------------------------------------------------------

    def add(self, sheet: Sheet | str | None, row: int | None, column: str | None, message: str) -> None:
        title = sheet.title if isinstance(sheet, Sheet) else sheet
        self.problems.add(title, row, column, message)

    def locate(self, path: str) -> tuple[str | None, int | None, str | None]:
        """The cell a check_definition path points at, as near as is known."""
        parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
        for end in range(len(parts), 0, -1):
            prefix = "".join(p if p.startswith("[") else ("." + p if i else p) for i, p in enumerate(parts[:end]))
            if prefix in self.places:
                sheet, row, keys = self.places[prefix]
                rest = parts[end:]
                column = keys.get("")  # the cell of the path itself, if it has one
                if rest and not rest[0].startswith("["):
                    key = rest[0]
                    language = rest[1] if len(rest) > 1 and not rest[1].startswith("[") else None
                    column = keys.get(f"{key}.{language}") if language else None
                    column = column or keys.get(key) or KEY_COLUMN.get(key)
                return sheet, row, column
        return None, None, None

    def place(self, path: str, sheet: Sheet, row: int | None, keys: dict[str, str]) -> None:
        self.places[path] = (sheet.title, row, keys)

    def text_columns(self, sheet: Sheet, base: str) -> list[tuple[Column, str]]:
        """The columns holding ``base`` text, with the language of each."""
        found = []
        for column in sheet.columns:
            if column.base == base:
                found.append((column, column.language or self.default_language))
        return found

    def texts(self, sheet: Sheet, number: int, cells: dict, base: str, keys: dict[str, str]) -> dict[str, str]:
        result: dict[str, str] = {}
        for column, language in self.text_columns(sheet, base):
            keys[f"{base}.{language}"] = column.header
            if column.language is None or language == self.default_language:
                keys.setdefault(base, column.header)
            value = cells.get(column)
            if value is None:
                continue
            text = _as_text(value)
            if "${" in text:
                self.add(sheet, number, column.header,
                         "Blockwalk labels cannot show other answers (${...}); write the text without it")
                continue
            result[language] = text
        return result

    def refused(self, sheet: Sheet, row: int, column: str) -> bool:
        """Whether a problem is already reported at this cell."""
        return any((p.sheet, p.row, p.column) == (sheet.title, row, column) for p in self.problems.items)

    def default_text_column(self, sheet: Sheet, base: str) -> str:
        for column, language in self.text_columns(sheet, base):
            if language == self.default_language:
                return column.header
        return base

    def cell(self, cells: dict, base: str) -> tuple[Column | None, Any]:
        for column, value in cells.items():
            if column.base == base and column.language is None:
                return column, value
        return None, None

    # -- the whole form ---------------------------------------------------

    def build(self) -> dict:
        survey = self.sheets.get("survey")
        settings_sheet = self.sheets.get("settings")
        settings_cells: dict = {}
        settings_row = 2
        if settings_sheet is not None:
            settings_cells, settings_row = self.settings_row(settings_sheet)
        self.choose_languages(settings_sheet, settings_cells)

        if "choices" in self.sheets:
            self.read_choices(self.sheets["choices"])

        fields: list[dict] = []
        if survey is None:
            self.add("survey", None, None, "The workbook has no survey sheet")
        else:
            self.check_columns(survey, SURVEY_COLUMNS)
            fields = self.read_survey(survey)

        form_id = self.form_id(settings_sheet, settings_cells, settings_row)
        title: dict[str, str] = {}
        settings: dict[str, Any] = {}
        if settings_sheet is not None:
            keys: dict[str, str] = {}
            title = self.texts(settings_sheet, settings_row, settings_cells, "form_title", keys)
            self.place("title", settings_sheet, settings_row,
                       {"": keys.get("form_title", "form_title"),
                        **{k.replace("form_title.", ""): v for k, v in keys.items()}})
            self.place("settings", settings_sheet, settings_row, {})
            self.place("form_id", settings_sheet, settings_row, {"": "form_id"})
            settings = self.read_settings(settings_sheet, settings_cells, settings_row)
        if not title.get(self.default_language) and form_id:
            title[self.default_language] = form_id

        defn = {
            "_id": form_doc_id(form_id or "unnamed"),
            "type": "form",
            "form_id": form_id or "unnamed",
            "status": "draft",
            "title": title,
            "languages": self.languages,
            "default_language": self.default_language,
            "fields": fields,
            "choices": self.choices,
            "settings": settings,
        }
        return defn

    def check_columns(self, sheet: Sheet, known: set[str]) -> None:
        """A column Blockwalk does not read is refused when it has any value (an empty one is harmless)."""
        for column in sheet.columns:
            translatable = TRANSLATABLE | ({"form_title"} if sheet is self.sheets.get("settings") else set())
            if column.base in known and (column.language is None or column.base in translatable):
                continue
            used = [number for number, cells in sheet.rows if column in cells]
            if not used:
                continue
            if column.base in known:
                message = f"Column {column.header!r} cannot be translated; use {column.base!r}"
            elif column.base == "calculation":
                message = "Blockwalk forms have no calculations; remove the calculation column's values"
            elif column.base in ("media", "image", "audio", "video", "big-image", "big_image"):
                message = "Blockwalk forms have no media in labels; remove this column's values"
            else:
                message = f"Column {column.header!r} is not supported by Blockwalk; remove its values"
            rows = ", ".join(str(n) for n in used[:10]) + (", ..." if len(used) > 10 else "")
            self.add(sheet, used[0], column.header, f"{message} (rows {rows})")

    # -- settings ----------------------------------------------------------

    def settings_row(self, sheet: Sheet) -> tuple[dict, int]:
        if not sheet.rows:
            return {}, 2
        number, cells = sheet.rows[0]
        for extra, _ in sheet.rows[1:]:
            self.add(sheet, extra, None, "The settings sheet has one row of values (row 2); this row is extra")
        return cells, number

    def choose_languages(self, settings_sheet: Sheet | None, settings_cells: dict) -> None:
        column, value = (None, None)
        if settings_sheet is not None:
            column, value = self.cell(settings_cells, "default_language")
        # Plain text columns with values (a plain form_title just follows the labels' default).
        plain_used = any(
            c.language is None and c.base in TRANSLATABLE and any(c in cells for _, cells in sheet.rows)
            for sheet in self.sheets.values() for c in sheet.columns
        )
        explicit = []
        for sheet in self.sheets.values():
            for c in sheet.columns:
                if c.language and c.base in TRANSLATABLE | {"form_title"} and c.language not in explicit:
                    explicit.append(c.language)
        if value is not None:
            code = _language_code(_as_text(value))
            if code is None:
                self.add(settings_sheet, self._settings_number(), column.header,
                         f"default_language {_as_text(value)!r} has no language code; write e.g. English (en)")
            else:
                self.default_language = code
        elif not plain_used and explicit:
            self.default_language = explicit[0]
        ambiguous = value is None and plain_used and DEFAULT_LANGUAGE in explicit
        if ambiguous:
            self.add(settings_sheet.title if settings_sheet else "settings", None, "default_language",
                     "Plain text columns (label, hint, ...) and English (en) ones are both used; set "
                     "default_language in the settings sheet to say which language the plain columns are")
        self.languages = [self.default_language] + [code for code in explicit if code != self.default_language]
        # A plain column and a column in the default language are the same text twice.
        for sheet in self.sheets.values() if not ambiguous else ():
            bases: dict[str, Column] = {}
            for c in sheet.columns:
                if c.base not in TRANSLATABLE | {"form_title"}:
                    continue
                if c.language is None or c.language == self.default_language:
                    if c.base in bases:
                        self.add(sheet, 1, c.header,
                                 f"Column {c.header!r} and column {bases[c.base].header!r} both hold the "
                                 f"{c.base} in the default language ({self.default_language})")
                    else:
                        bases[c.base] = c

    def _settings_number(self) -> int:
        sheet = self.sheets.get("settings")
        return sheet.rows[0][0] if sheet and sheet.rows else 2

    def form_id(self, sheet: Sheet | None, cells: dict, number: int) -> str | None:
        if self.form_id_arg is not None:
            if not isinstance(self.form_id_arg, str) or not NAME.fullmatch(self.form_id_arg):
                self.add(None, None, "form_id", f"The form_id {self.form_id_arg!r} is not a name: letters, digits "
                         "and _, a letter first, at most 64 characters")
                return None
            return self.form_id_arg
        column, value = self.cell(cells, "form_id") if sheet is not None else (None, None)
        if value is not None:
            text = _as_text(value)
            if not NAME.fullmatch(text):
                self.add(sheet, number, column.header, f"The form_id {text!r} is not a name: letters, digits and _, "
                         "a letter first, at most 64 characters")
                return None
            return text
        if self.file_stem and NAME.fullmatch(self.file_stem):
            return self.file_stem
        self.add(sheet.title if sheet else "settings", None, "form_id",
                 "The form has no form_id: give one in the settings sheet (or to the import)")
        return None

    def read_settings(self, sheet: Sheet, cells: dict, number: int) -> dict:
        self.check_columns(sheet, SETTINGS_COLUMNS)
        settings: dict[str, Any] = {}
        column, value = self.cell(cells, "version")
        if value is not None:
            settings["xlsform_version"] = _as_text(value)
        column, value = self.cell(cells, "geotag_accuracy_m")
        if value is not None:
            number_value = _as_number(value)
            if number_value is None or number_value <= 0:
                self.add(sheet, number, column.header, "geotag_accuracy_m must be a positive number of metres")
            else:
                settings["geotag_accuracy_m"] = number_value
        return settings

    # -- choices -------------------------------------------------------------

    def read_choices(self, sheet: Sheet) -> None:
        self.check_columns(sheet, CHOICES_COLUMNS)
        names = {c.base for c in sheet.columns}
        for needed in ("list_name", "name"):
            if needed not in names:
                self.add(sheet, 1, needed, f"The choices sheet needs a {needed} column")
        if not {"list_name", "name"} <= names:
            return
        values: dict[tuple[str, str], int] = {}
        for number, cells in sheet.rows:
            list_column, list_value = self.cell(cells, "list_name")
            name_column, name_value = self.cell(cells, "name")
            keys: dict[str, str] = {"value": name_column.header if name_column else "name"}
            label = self.texts(sheet, number, cells, "label", keys)
            if list_value is None:
                self.add(sheet, number, "list_name", "This choice has no list_name")
                continue
            list_name = _as_text(list_value)
            if not NAME.fullmatch(list_name):
                self.add(sheet, number, list_column.header, f"The list name {list_name!r} is not a name: letters, "
                         "digits and _, a letter first, at most 64 characters")
                continue
            if name_value is None:
                self.add(sheet, number, "name", "This choice has no name (its value)")
                continue
            value = _as_text(name_value)
            if len(value) > 100 or any(ch.isspace() for ch in value):
                self.add(sheet, number, name_column.header,
                         f"The choice value {value!r} must have no spaces and at most 100 characters")
                continue
            if (list_name, value) in values:
                self.add(sheet, number, name_column.header,
                         f"The choice {value!r} is already in list {list_name!r} (row {values[(list_name, value)]})")
                continue
            values[(list_name, value)] = number
            label_column = self.default_text_column(sheet, "label")
            if not label.get(self.default_language) and not self.refused(sheet, number, label_column):
                self.add(sheet, number, label_column,
                         f"The choice needs a label in the default language ({self.default_language})")
            items = self.choices.setdefault(list_name, [])
            self.choice_rows.setdefault(list_name, number)
            self.place(f"choices.{list_name}", sheet, self.choice_rows[list_name], {})
            self.place(f"choices.{list_name}[{len(items)}]", sheet, number, keys)
            item: dict[str, Any] = {"value": value}
            if label:
                item["label"] = label
            items.append(item)

    # -- survey ----------------------------------------------------------------

    def read_survey(self, sheet: Sheet) -> list[dict]:
        names = {c.base for c in sheet.columns}
        for needed in ("type", "name"):
            if needed not in names:
                self.add(sheet, 1, needed, f"The survey sheet needs a {needed} column")
        if not {"type", "name"} <= names:
            return []
        root: list[dict] = []
        self.place("fields", sheet, None, {})
        # Open groups and repeats: (kind, name, row, its fields, its path).
        stack: list[tuple[str, str | None, int, list, str]] = [("form", None, 0, root, "fields")]
        for number, cells in sheet.rows:
            type_column, type_value = self.cell(cells, "type")
            if type_value is None:
                self.add(sheet, number, "type", "This row has no type")
                continue
            type_text = " ".join(_as_text(type_value).split())
            lowered = type_text.lower()
            if lowered in END:
                self.end(sheet, number, cells, END[lowered], stack)
                continue
            kind, list_name = self.parse_type(sheet, number, type_column.header, type_text)
            if kind is None:
                continue
            parent_fields, parent_path = stack[-1][3], stack[-1][4]
            path = f"{parent_path}[{len(parent_fields)}]"
            field = self.field(sheet, number, cells, kind, list_name, path)
            parent_fields.append(field)
            if kind in ("group", "repeat"):
                field["fields"] = []
                stack.append((kind, field.get("name"), number, field["fields"], f"{path}.fields"))
        for kind, name, number, _fields, _path in stack[1:]:
            self.add(sheet, number, "type", f"begin {kind} {name or ''} has no end {kind}".replace("  ", " "))
        if not root and not any(p.sheet == sheet.title for p in self.problems.items):
            self.add(sheet, None, None, "The survey sheet has no questions")
        self.check_expressions(sheet)
        if self.selects and "choices" not in self.sheets:
            rows = ", ".join(str(s[0]) for s in self.selects[:10])
            self.add("choices", None, None, f"The workbook has no choices sheet, which the selects need (survey rows {rows})")
        else:
            self.check_selects(sheet)
        return root

    def end(self, sheet: Sheet, number: int, cells: dict, kind: str, stack: list) -> None:
        for column in cells:
            if column.base not in END_COLUMNS:
                self.add(sheet, number, column.header, f"An end {kind} row takes only a type (and the name); "
                         f"this {column.base} would be dropped")
        if len(stack) == 1:
            self.add(sheet, number, "type", f"end {kind} without a begin {kind}")
            return
        open_kind, open_name, open_row, open_fields, _ = stack[-1]
        if open_kind != kind:
            self.add(sheet, number, "type", f"end {kind} closes begin {open_kind} {open_name} (row {open_row})")
            return
        name_column, name_value = self.cell(cells, "name")
        if name_value is not None and _as_text(name_value) != open_name:
            self.add(sheet, number, name_column.header,
                     f"end {kind} names {_as_text(name_value)!r} but closes {open_name!r} (row {open_row})")
        if not open_fields:
            self.add(sheet, open_row, "type", f"The {kind} {open_name} has nothing inside")
        stack.pop()

    def parse_type(self, sheet: Sheet, number: int, header: str, text: str) -> tuple[str | None, str | None]:
        lowered = text.lower()
        if lowered in BEGIN:
            return BEGIN[lowered], None
        if lowered in SIMPLE_TYPES:
            return SIMPLE_TYPES[lowered], None
        for prefix, kind in SELECT_TYPES.items():
            if lowered.startswith(prefix + " ") or lowered == prefix:
                rest = text[len(prefix):].split()
                if not rest:
                    self.add(sheet, number, header, f"{prefix} needs a choice list: {prefix} LIST_NAME")
                    return None, None
                if len(rest) > 1:
                    extra = " ".join(rest[1:])
                    why = ("or_other is not supported: add an 'other' choice and a text field relevant to it"
                           if rest[1].lower() == "or_other" else f"{extra!r} after the list name is not understood")
                    self.add(sheet, number, header, why)
                    return None, None
                return kind, rest[0]
        first = lowered.split(" ")[0]
        if lowered in UNSUPPORTED_TYPES or first in UNSUPPORTED_TYPES:
            self.add(sheet, number, header, f"Type {UNSUPPORTED_TYPES.get(lowered) or UNSUPPORTED_TYPES[first]}")
        elif lowered in METADATA_TYPES:
            self.add(sheet, number, header, f"Type {text!r} is XLSForm metadata Blockwalk does not collect "
                     "(records carry their own times, device and user); remove the row")
        else:
            self.add(sheet, number, header, f"Unknown type {text!r}")
        return None, None

    def field(self, sheet: Sheet, number: int, cells: dict, kind: str, list_name: str | None, path: str) -> dict:
        allowed = COLUMNS_FOR_TYPE[kind]
        keys: dict[str, str] = {}
        for column, value in cells.items():
            if column.base in SURVEY_COLUMNS and column.base not in allowed:
                if column.base == "required" and _as_bool(value) is False:
                    continue  # "no" loses nothing
                self.add(sheet, number, column.header, f"{column.base} does not apply to a {kind} row")
        name_column, name_value = self.cell(cells, "name")
        name = _as_text(name_value) if name_value is not None else None
        header_of = {c.base: c.header for c in cells if c.language is None}
        if name is None:
            self.add(sheet, number, "name", f"This {kind} row has no name")
        elif not NAME.fullmatch(name):
            self.add(sheet, number, name_column.header,
                     f"The name {name!r} is not a name: letters, digits and _, a letter first, at most 64 characters")
        elif name in self.field_rows:
            self.add(sheet, number, name_column.header,
                     f"The name {name!r} is already used in row {self.field_rows[name]}; names are unique in the form")
        else:
            self.field_rows[name] = number
        field: dict[str, Any] = {"name": name, "type": kind}
        keys["name"] = header_of.get("name", "name")
        keys["type"] = header_of.get("type", "type")
        if list_name is not None:
            field["choices"] = list_name
            keys["choices"] = keys["type"]
            self.selects.append((number, keys["type"], list_name, field, None, None))

        for base in ("label", "hint"):
            text = self.texts(sheet, number, cells, base, keys)
            if text:
                field[base] = text
        label_column = self.default_text_column(sheet, "label")
        if (kind not in ("group", "repeat") and not field.get("label", {}).get(self.default_language)
                and not self.refused(sheet, number, label_column)):
            self.add(sheet, number, label_column,
                     f"A {kind} needs a label in the default language ({self.default_language})")
        if kind == "consent" and "label" in field:
            field["consent_text"] = dict(field["label"])
            keys.update({k.replace("label", "consent_text", 1): v for k, v in keys.items() if k.startswith("label")})

        if "required" in allowed:
            column, value = self.cell(cells, "required")
            if value is not None:
                required = _as_bool(value)
                if required is None:
                    self.add(sheet, number, column.header, f"required must be yes or no (true/false), not "
                             f"{_as_text(value)!r}; Blockwalk has no conditional required: use relevant")
                elif required:
                    field["required"] = True
                keys["required"] = column.header
        if "concern" in allowed:
            column, value = self.cell(cells, "concern")
            if value is not None:
                concern = _as_bool(value)
                if concern is None:
                    self.add(sheet, number, column.header, f"concern must be yes or no (true/false), not "
                             f"{_as_text(value)!r}")
                elif concern:
                    field["concern"] = True
                keys["concern"] = column.header
        for base in ("relevant", "constraint"):
            column, value = self.cell(cells, base)
            if value is not None and base in allowed:
                text = self.expression(sheet, number, column.header, _as_text(value))
                if text is not None:
                    field[base] = text
                keys[base] = column.header
        for base, needs in (("constraint_message", "constraint"), ("required_message", "required"),
                            ("pattern_message", "pattern")):
            if base not in allowed:
                continue
            text = self.texts(sheet, number, cells, base, keys)
            if not text:
                continue
            if needs not in field and self.cell(cells, needs)[1] is None:
                self.add(sheet, number, keys.get(base) or next(iter(keys[k] for k in keys if k.startswith(base))),
                         f"{base} without a {needs}")
            field[base] = text

        if "appearance" in allowed:
            column, value = self.cell(cells, "appearance")
            if value is not None:
                field["appearance"] = _as_text(value)
                keys["appearance"] = column.header
        if "choice_filter" in allowed:
            column, value = self.cell(cells, "choice_filter")
            if value is not None:
                self.add(sheet, number, column.header, "choice_filter is not supported: Blockwalk choice lists have "
                         "no filters; use one list per case with relevant, or one unfiltered list")
        if "merge" in allowed:
            column, value = self.cell(cells, "merge")
            if value is not None:
                merge = _as_text(value)
                keys["merge"] = column.header
                if merge not in MERGE_POLICIES:
                    self.add(sheet, number, column.header,
                             f"Unknown merge policy {merge!r}; policies: {', '.join(sorted(MERGE_POLICIES))}")
                elif merge in MERGE_FOR_TYPES and kind not in MERGE_FOR_TYPES[merge]:
                    self.add(sheet, number, column.header, f"The merge policy {merge} is for "
                             f"{', '.join(sorted(MERGE_FOR_TYPES[merge]))} fields, not {kind}")
                else:
                    field["merge"] = merge
        self.bounds(sheet, number, cells, kind, field, keys)
        if "default" in allowed:
            column, value = self.cell(cells, "default")
            if value is not None:
                keys["default"] = column.header
                default = self.default(sheet, number, column.header, kind, value)
                if default is not None:
                    field["default"] = default
                    if list_name is not None:
                        self.selects[-1] = (number, keys["type"], list_name, field, default, column.header)
        if kind == "geopoint":
            column, value = self.cell(cells, "parameters")
            if value is not None:
                keys["accuracy_m"] = column.header
                self.geopoint_parameters(sheet, number, column.header, _as_text(value), field)
        if kind == "repeat":
            self.repeat_count(sheet, number, cells, field, keys)
        self.place(path, sheet, number, keys)
        return field

    def bounds(self, sheet: Sheet, number: int, cells: dict, kind: str, field: dict, keys: dict) -> None:
        for lo, hi in (("min", "max"), ("min_length", "max_length"), ("min_count", "max_count")):
            found: dict[str, Any] = {}
            for base in (lo, hi):
                column, value = self.cell(cells, base)
                if value is None or base not in COLUMNS_FOR_TYPE[kind]:
                    continue
                keys[base] = column.header
                if lo == "min" and kind == "date":
                    bound = _as_date(value)
                    if bound is None:
                        self.add(sheet, number, column.header, f"{base} of a date must be a date (YYYY-MM-DD)")
                        continue
                elif lo == "min":
                    bound = _as_number(value, integer=kind == "integer")
                    if bound is None:
                        what = "a whole number" if kind == "integer" else "a number"
                        self.add(sheet, number, column.header, f"{base} must be {what}")
                        continue
                else:
                    bound = _as_number(value, integer=True)
                    if bound is None or bound < 0:
                        self.add(sheet, number, column.header, f"{base} must be a whole number from 0")
                        continue
                found[base] = bound
            if lo in found and hi in found and found[lo] > found[hi]:
                self.add(sheet, number, keys[hi], f"{hi} ({found[hi]}) is below {lo} ({found[lo]})")
            field.update(found)
        column, value = self.cell(cells, "pattern")
        if value is not None and "pattern" in COLUMNS_FOR_TYPE[kind]:
            keys["pattern"] = column.header
            pattern = _as_text(value)
            try:
                re.compile(pattern)
            except re.error as exc:
                self.add(sheet, number, column.header, f"The pattern does not compile: {exc}")
            else:
                if len(pattern) > 200:
                    self.add(sheet, number, column.header, "The pattern is longer than 200 characters")
                else:
                    field["pattern"] = pattern

    def default(self, sheet: Sheet, number: int, header: str, kind: str, value: Any) -> Any:
        text = _as_text(value)
        computed = "${" in text or (kind not in ("text", "phone", "email") and re.search(r"[A-Za-z-]\(", text))
        if computed:
            self.add(sheet, number, header, f"The default {text!r} is computed; Blockwalk defaults are fixed values")
            return None
        if kind in ("text", "phone", "email"):
            return text
        if kind in ("integer", "decimal"):
            result = _as_number(value, integer=kind == "integer")
            if result is None:
                what = "a whole number" if kind == "integer" else "a number"
                self.add(sheet, number, header, f"The default of {'an' if kind == 'integer' else 'a'} {kind} must be {what}")
            return result
        if kind == "date":
            result = _as_date(value)
            if result is None:
                self.add(sheet, number, header, "The default of a date must be a date (YYYY-MM-DD)")
            return result
        if kind == "time":
            result = _as_time(value)
            if result is None:
                self.add(sheet, number, header, "The default of a time must be a time (HH:MM)")
            return result
        if kind == "select_one":
            return text
        if kind == "select_multiple":
            return text.split()
        raise AssertionError(kind)  # pragma: no cover - the columns of each type are checked first

    def geopoint_parameters(self, sheet: Sheet, number: int, header: str, text: str, field: dict) -> None:
        for item in re.split(r"[\s,;]+", text.strip()):
            key, eq, raw = item.partition("=")
            key = key.strip().lower()
            if not eq or key not in GEOPOINT_PARAMETERS:
                self.add(sheet, number, header, f"The geopoint parameter {item!r} is not supported; "
                         "Blockwalk takes capture-accuracy=METRES")
                continue
            value = _as_number(raw.strip())
            if value is None or value <= 0:
                self.add(sheet, number, header, f"{key} must be a positive number of metres")
                continue
            field[GEOPOINT_PARAMETERS[key]] = value

    def repeat_count(self, sheet: Sheet, number: int, cells: dict, field: dict, keys: dict) -> None:
        column, value = self.cell(cells, "repeat_count")
        if value is None:
            return
        count = _as_number(value, integer=True)
        if count is None or count < 0:
            self.add(sheet, number, column.header, f"repeat_count {_as_text(value)!r} is not a fixed number; "
                     "Blockwalk repeats take min_count and max_count, not an expression")
            return
        if "min_count" in field or "max_count" in field:
            self.add(sheet, number, column.header, "repeat_count and min_count/max_count are both given; use one")
            return
        field["min_count"] = field["max_count"] = count
        keys["min_count"] = keys["max_count"] = column.header

    # -- expressions ------------------------------------------------------------

    def expression(self, sheet: Sheet, number: int, header: str, text: str) -> str | None:
        try:
            expressions.parse(text)
        except expressions.ExpressionError as exc:
            translated = _translate(text)
            if translated != text:
                try:
                    expressions.parse(translated)
                except expressions.ExpressionError:
                    pass
                else:
                    text = translated
                    self.expressions.append((number, header, text))
                    return text
            self.add(sheet, number, header, f"The expression {text!r} does not parse: {exc}")
            return None
        self.expressions.append((number, header, text))
        return text

    def check_expressions(self, sheet: Sheet) -> None:
        for number, header, text in self.expressions:
            try:
                refs = expressions.references(text)
            except expressions.ExpressionError:  # pragma: no cover - parsed already
                continue
            for ref in sorted(refs - set(self.field_rows)):
                self.add(sheet, number, header, f"The expression names ${{{ref}}}, which is not a field of this form")

    def check_selects(self, sheet: Sheet) -> None:
        for number, header, list_name, field, default, default_header in self.selects:
            if list_name not in self.choices:
                self.add(sheet, number, header, f"The choice list {list_name!r} is not in the choices sheet")
                continue
            if default is None:
                continue
            values = {c["value"] for c in self.choices[list_name]}
            for value in default if isinstance(default, list) else [default]:
                if value not in values:
                    self.add(sheet, number, default_header, f"The default {value!r} is not a choice of {list_name!r}")


# ---------------------------------------------------------------------------
# Values


def _translate(text: str) -> str:
    """XLSForm spellings the expression language writes otherwise: ``TRUE()``/``FALSE()``
    (as spreadsheets capitalise them) become ``true()``/``false()``; quoted text is left alone."""
    pieces = re.split(r"""('[^']*'|"[^"]*")""", text)
    for i in range(0, len(pieces), 2):  # the even pieces are outside quotes
        pieces[i] = re.sub(r"\b(TRUE|FALSE|True|False)\s*\(\s*\)", lambda m: m.group(1).lower() + "()", pieces[i])
    return "".join(pieces)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = _as_text(value).lower().replace(" ", "")
    if text in ("yes", "true", "true()", "=true()", "1"):
        return True
    if text in ("no", "false", "false()", "=false()", "0"):
        return False
    return None


def _as_number(value: Any, integer: bool = False) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = value
    else:
        try:
            number = float(_as_text(value))
        except ValueError:
            return None
    if not math.isfinite(number):
        return None
    if isinstance(number, float) and number.is_integer():
        return int(number)
    if integer and not isinstance(number, int):
        return None
    return number


def _as_date(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else None
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _as_text(value)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def _as_time(value: Any) -> str | None:
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, dt.datetime):  # a time typed into Excel may come back on 1899-12-30
        return _as_time(value.time())
    text = _as_text(value)
    if not re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", text):
        return None
    try:
        dt.time.fromisoformat(text)
    except ValueError:
        return None
    return text


"""Values: the limits, ``ExpressionError``, conversions between the value types, comparison and arithmetic.

The rules are in the package's docstring (``forms/expressions/__init__.py``);
``values.mjs`` is the JavaScript twin.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from collections.abc import Mapping
from math import isnan

MAX_LENGTH = 2000  # characters (Unicode code points) in one expression
MAX_DEPTH = 50  # nesting levels: parentheses, function calls, unary minus, operator operands
MAX_PATTERN_LENGTH = 200  # characters in a regex() pattern
MAX_REPEAT = 1000  # largest n or m in a regex {n,m}

NAN = float("nan")
INF = float("inf")


class ExpressionError(ValueError):
    """A bad expression: ``message`` says what, ``position`` (0-based character offset) where."""

    def __init__(self, message: str, position: int | None = None, text: str | None = None):
        self.message = message
        self.position = position
        self.text = text
        super().__init__(message if position is None else f"{message} (at character {position + 1})")


# --------------------------------------------------------------------------- conversions

_BLANKS = " \t\n\r"
_NUMBER_TEXT = re.compile(r"[ \t\n\r]*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[ \t\n\r]*")
_DATE_TEXT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATE_PREFIX = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]|\Z)")
_SPLIT = re.compile(r"[ \t\n\r]+")
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_MIN_DAY = datetime.date(1, 1, 1).toordinal() - _EPOCH_ORDINAL
_MAX_DAY = datetime.date(9999, 12, 31).toordinal() - _EPOCH_ORDINAL


def _int_to_float(v: int) -> float:
    try:
        return float(v)
    except OverflowError:
        return INF if v > 0 else -INF


def _normalise(v):
    """Map subclasses and other Python types onto the value types, or refuse."""
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, int):
        return _int_to_float(int(v))
    if isinstance(v, float):
        return float(v)
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, Mapping):
        return dict(v)
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    raise ExpressionError(f"unsupported answer value of type {type(v).__name__}")


def _day_number(y: str, m: str, d: str) -> int | None:
    year, month, day = int(y), int(m), int(d)
    try:
        return datetime.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None


def _text_number(s: str) -> float:
    if _NUMBER_TEXT.fullmatch(s):
        return float(s)
    m = _DATE_TEXT.fullmatch(s)
    if m:
        days = _day_number(*m.groups())
        if days is not None:
            return float(days)
    return NAN


def _fmt(x: float) -> str:
    """A number as text: shortest round-trip digits, never an exponent."""
    if isnan(x):
        return "NaN"
    if x == INF:
        return "Infinity"
    if x == -INF:
        return "-Infinity"
    if x.is_integer() and -1e16 < x < 1e16:
        return str(int(x))
    r = repr(x)
    if "e" not in r:
        return r
    return format(decimal.Decimal(r), "f")


def _geo(d: dict) -> str:
    lat, lon = d.get("lat"), d.get("lon")
    if type(lat) not in (int, float) or type(lon) not in (int, float):
        return ""
    alt = d.get("altitude_m")
    acc = d.get("accuracy_m")
    alt = alt if type(alt) in (int, float) else 0.0
    acc = acc if type(acc) in (int, float) else 0.0
    return " ".join(_fmt(float(x)) for x in (lat, lon, alt, acc))


def _item(x) -> str:
    """One element of a multi-select list as text (nested lists and objects are '')."""
    t = type(x)
    if t is str:
        return x
    if t is list or t is tuple or t is dict:
        return ""
    if x is None:
        return ""
    if t is float:
        return _fmt(x)
    if t is bool:
        return "true" if x else "false"
    if t is int:
        return _fmt(_int_to_float(x))
    return _item(_normalise(x))


def to_string(v) -> str:
    """The text of a value (XPath string())."""
    t = type(v)
    if t is str:
        return v
    if v is None:
        return ""
    if t is float:
        return _fmt(v)
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return _fmt(_int_to_float(v))
    if t is list or t is tuple:
        return " ".join([_item(x) for x in v])
    if t is dict:
        return _geo(v)
    return to_string(_normalise(v))


_s = to_string


def to_number(v) -> float:
    """The number of a value (XPath number()); NaN when it has none."""
    t = type(v)
    if t is float:
        return v
    if t is str:
        return _text_number(v)
    if t is bool:
        return 1.0 if v else 0.0
    if t is int:
        return _int_to_float(v)
    if v is None:
        return NAN
    if t is list or t is tuple or t is dict:
        return _text_number(to_string(v))
    return to_number(_normalise(v))


_n = to_number


def _atom(v):
    """str, float or bool: lists and geopoints become their text, None ''."""
    t = type(v)
    if t is str or t is float or t is bool:
        return v
    if v is None:
        return ""
    if t is int:
        return _int_to_float(v)
    if t is list or t is tuple or t is dict:
        return to_string(v)
    return _atom(_normalise(v))


def truthy(v) -> bool:
    """XPath boolean(): a non-empty string, a non-zero non-NaN number, true."""
    t = type(v)
    if t is bool:
        return v
    if t is str:
        return v != ""
    if t is float:
        return not isnan(v) and v != 0.0
    if v is None:
        return False
    return truthy(_atom(v))


def _items(v) -> list[str]:
    """The chosen values of a multi-select: a list's non-empty items, or a text's words."""
    t = type(v)
    if t is list or t is tuple:
        return [s for s in (_item(x) for x in v) if s != ""]
    v = _atom(v)
    if type(v) is not str:
        v = to_string(v)
    return [w for w in _SPLIT.split(v) if w]


# --------------------------------------------------------------------------- operators


def _eq(a, b) -> bool:
    a = _atom(a)
    b = _atom(b)
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        return a == b
    if ta is float or tb is float:
        return _n(a) == _n(b)
    if ta is bool and tb is bool:
        return a == b
    return to_string(a) == to_string(b)


_REL = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


def _rel_operands(a, b):
    a = _atom(a)
    b = _atom(b)
    if type(a) is str and type(b) is str:
        if a == "" or b == "":
            return None
        if _NUMBER_TEXT.fullmatch(a) and _NUMBER_TEXT.fullmatch(b):
            return float(a), float(b)
        return a, b  # Python compares str by code point
    return _n(a), _n(b)


def _compare(op: str, a, b) -> bool:
    if op == "=":
        return _eq(a, b)
    if op == "!=":
        return not _eq(a, b)
    pair = _rel_operands(a, b)
    if pair is None:
        return False
    return _REL[op](*pair)


def _div(x: float, y: float) -> float:
    try:
        return x / y
    except ZeroDivisionError:
        if isnan(x) or x == 0:
            return NAN
        return INF if (x > 0) == (math.copysign(1.0, y) > 0) else -INF


def _mod(x: float, y: float) -> float:
    try:
        return math.fmod(x, y)
    except ValueError:
        return NAN


def _arith(op: str, x: float, y: float) -> float:
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "div":
        return _div(x, y)
    return _mod(x, y)

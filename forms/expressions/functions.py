"""The functions: their helpers and their compilation into closures.

``_compile_call`` is handed the compiler's function for the arguments, so this
module does not import the compiler.  ``functions.mjs`` is the JavaScript twin.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
from math import isnan

from forms.expressions.regex import _regex, _regex_test
from forms.expressions.values import (
    _atom,
    _BLANKS,
    _DATE_PREFIX,
    _DATE_TEXT,
    _day_number,
    _EPOCH_ORDINAL,
    _item,
    _items,
    _MAX_DAY,
    _MIN_DAY,
    _n,
    _NUMBER_TEXT,
    ExpressionError,
    INF,
    NAN,
    to_string,
    truthy,
)


# --------------------------------------------------------------------------- functions' helpers


def _keep_zero_sign(r: float, x: float) -> float:
    return math.copysign(0.0, x) if r == 0 else r


def _trunc(x: float) -> float:
    if isnan(x) or x in (INF, -INF):
        return x
    return _keep_zero_sign(float(math.trunc(x)), x)


def _floor(x: float) -> float:
    if isnan(x) or x in (INF, -INF):
        return x
    return _keep_zero_sign(float(math.floor(x)), x)


def _ceiling(x: float) -> float:
    if isnan(x) or x in (INF, -INF):
        return x
    return _keep_zero_sign(float(math.ceil(x)), x)


def _round(x: float, places: float) -> float:
    """Round half away from zero at ``places`` decimals, on the number's shortest decimal form."""
    if isnan(x) or x in (INF, -INF) or isnan(places):
        return NAN if isnan(places) else x
    places = _trunc(places)
    if places > 400:
        return x
    if places < -400:
        return math.copysign(0.0, x)
    exponent = decimal.Decimal(1).scaleb(-int(places))
    with decimal.localcontext() as context:
        context.prec = 1000
        rounded = decimal.Decimal(repr(x)).quantize(exponent, rounding=decimal.ROUND_HALF_UP)
    return float(rounded)


def _date(v) -> str:
    v = _atom(v)
    if type(v) is str:
        m = _DATE_PREFIX.match(v)
        if m:
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if _day_number(*m.groups()) is not None else ""
        if not _NUMBER_TEXT.fullmatch(v):
            return ""
        v = float(v)
    elif type(v) is bool:
        return ""
    if isnan(v) or v in (INF, -INF):
        return ""
    days = math.floor(v)
    if days < _MIN_DAY or days > _MAX_DAY:
        return ""
    return datetime.date.fromordinal(days + _EPOCH_ORDINAL).isoformat()


def _substr(s: str, start: float, end: float | None) -> str:
    if isnan(start) or (end is not None and isnan(end)):
        return ""
    length = len(s)
    start = min(max(_trunc(start), 0.0), float(length))
    end = float(length) if end is None else min(max(_trunc(end), 0.0), float(length))
    if end <= start:
        return ""
    return s[int(start) : int(end)]


def _selected(v, choice) -> bool:
    choice = to_string(choice).strip(_BLANKS)
    if choice == "":
        return False
    if type(v) is list:
        for x in v:
            if x == choice or (type(x) is not str and _item(x) == choice):
                return True
        return False
    return choice in _items(v)


def _selected_at(v, index: float) -> str:
    if isnan(index) or index in (INF, -INF) or not index.is_integer():
        return ""
    items = _items(v)
    i = int(index)
    return items[i] if 0 <= i < len(items) else ""


def _min_max(values: list[float], smallest: bool) -> float:
    """min() / max() as JavaScript's Math.min / Math.max: NaN wins, -0 is below +0."""
    best = values[0]
    for x in values:
        if isnan(x):
            return NAN
        if smallest:
            if x < best or (x == 0 and best == 0 and math.copysign(1.0, x) < 0):
                best = x
        elif x > best or (x == 0 and best == 0 and math.copysign(1.0, x) > 0):
            best = x
    return best


def _today_text(today) -> str:
    if type(today) is str:
        return _today_from_text(today)
    if today is None:
        return datetime.date.today().isoformat()
    if isinstance(today, datetime.datetime):
        return today.date().isoformat()
    if isinstance(today, datetime.date):
        return today.isoformat()
    if isinstance(today, str):
        return _today_from_text(str(today))
    raise ExpressionError(f"today must be a date or 'YYYY-MM-DD', not {today!r}")


@functools.lru_cache(maxsize=64)
def _today_from_text(today: str) -> str:
    m = _DATE_TEXT.fullmatch(today)
    if m and _day_number(*m.groups()) is not None:
        return today
    raise ExpressionError(f"today must be a date or 'YYYY-MM-DD', not {today!r}")


def _compile_call(node, compile_node):
    _, name, args, _pos = node
    fs = [compile_node(x) for x in args]
    f0 = fs[0] if fs else None
    f1 = fs[1] if len(fs) > 1 else None
    if name == "true":
        return lambda a, c, t: True
    if name == "false":
        return lambda a, c, t: False
    if name == "not":
        return lambda a, c, t: not truthy(f0(a, c, t))
    if name == "boolean":
        return lambda a, c, t: truthy(f0(a, c, t))
    if name == "string":
        return lambda a, c, t: to_string(f0(a, c, t))
    if name == "number":
        return lambda a, c, t: _n(f0(a, c, t))
    if name == "int":
        return lambda a, c, t: _trunc(_n(f0(a, c, t)))
    if name == "round":
        if f1 is None:
            return lambda a, c, t: _round(_n(f0(a, c, t)), 0.0)
        return lambda a, c, t: _round(_n(f0(a, c, t)), _n(f1(a, c, t)))
    if name == "floor":
        return lambda a, c, t: _floor(_n(f0(a, c, t)))
    if name == "ceiling":
        return lambda a, c, t: _ceiling(_n(f0(a, c, t)))
    if name == "abs":
        return lambda a, c, t: abs(_n(f0(a, c, t)))
    if name == "min":
        return lambda a, c, t: _min_max([_n(f(a, c, t)) for f in fs], True)
    if name == "max":
        return lambda a, c, t: _min_max([_n(f(a, c, t)) for f in fs], False)
    if name == "selected":
        if args[1][0] == "str" and args[0][0] == "ref":
            field = args[0][1]
            choice = args[1][1].strip(_BLANKS)

            def selected_const(a, c, t):
                v = a.get(field)
                if type(v) is list and choice:
                    if choice in v:
                        return True
                    for x in v:
                        if type(x) is not str and _item(x) == choice:
                            return True
                    return False
                return _selected(v, choice)

            return selected_const
        return lambda a, c, t: _selected(f0(a, c, t), f1(a, c, t))
    if name == "count-selected":
        return lambda a, c, t: float(len(_items(f0(a, c, t))))
    if name == "selected-at":
        return lambda a, c, t: _selected_at(f0(a, c, t), _n(f1(a, c, t)))
    if name == "string-length":
        return lambda a, c, t: float(len(to_string(f0(a, c, t))))
    if name == "substr":
        if len(fs) == 2:
            return lambda a, c, t: _substr(to_string(f0(a, c, t)), _n(f1(a, c, t)), None)
        f2 = fs[2]
        return lambda a, c, t: _substr(to_string(f0(a, c, t)), _n(f1(a, c, t)), _n(f2(a, c, t)))
    if name == "contains":
        return lambda a, c, t: to_string(f1(a, c, t)) in to_string(f0(a, c, t))
    if name == "starts-with":
        return lambda a, c, t: to_string(f0(a, c, t)).startswith(to_string(f1(a, c, t)))
    if name == "ends-with":
        return lambda a, c, t: to_string(f0(a, c, t)).endswith(to_string(f1(a, c, t)))
    if name == "concat":
        return lambda a, c, t: "".join([to_string(f(a, c, t)) for f in fs])
    if name == "regex":
        if args[1][0] == "str":
            compiled = _regex(args[1][1])  # checked by the parser
            search = compiled.search
            return lambda a, c, t: search(to_string(f0(a, c, t))) is not None
        return lambda a, c, t: _regex_test(f0(a, c, t), f1(a, c, t))
    if name == "if":
        f2 = fs[2]
        return lambda a, c, t: f1(a, c, t) if truthy(f0(a, c, t)) else f2(a, c, t)
    if name == "coalesce":

        def coalesce(a, c, t):
            for f in fs:
                v = f(a, c, t)
                if to_string(v) != "":
                    return v
            return ""

        return coalesce
    if name == "today":
        return lambda a, c, t: t if t is not None else datetime.date.today().isoformat()
    if name == "date":
        return lambda a, c, t: _date(f0(a, c, t))
    raise AssertionError(name)  # pragma: no cover - the parser knows every name

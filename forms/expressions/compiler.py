"""The compiler: a syntax tree to nested closures, and the entry points (``Expr``, ``parse``, ``evaluate``, ``references``).

``compiler.mjs`` is the JavaScript twin.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
from collections.abc import Mapping
from math import isnan

from forms.expressions.regex import _regex, _regex_test
from forms.expressions.syntax import _Parser
from forms.expressions.values import (
    _arith,
    _atom,
    _BLANKS,
    _compare,
    _DATE_PREFIX,
    _DATE_TEXT,
    _day_number,
    _div,
    _EPOCH_ORDINAL,
    _eq,
    _item,
    _items,
    _MAX_DAY,
    _MIN_DAY,
    _mod,
    _n,
    _NUMBER_TEXT,
    _REL,
    _rel_operands,
    ExpressionError,
    INF,
    MAX_LENGTH,
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


# --------------------------------------------------------------------------- compiler
# Every node becomes a closure f(answers, current, today) -> value.


def _compile(node):
    kind = node[0]
    if kind == "num" or kind == "str":
        value = node[1]
        return lambda a, c, t: value
    if kind == "ref":
        name = node[1]

        def ref(a, c, t):
            return a.get(name)

        ref.ref_name = name
        return ref
    if kind == "cur":
        return lambda a, c, t: c
    if kind == "neg":
        f = _compile(node[1])
        return lambda a, c, t: -_n(f(a, c, t))
    if kind == "or" or kind == "and":
        return _compile_logic(kind, [_compile(x) for x in node[1]])
    if kind == "cmp":
        return _compile_cmp(node)
    if kind == "arith":
        return _compile_arith(node)
    return _compile_call(node, _compile)


def _compile_logic(kind, fs):
    if len(fs) == 2:
        f0, f1 = fs
        if kind == "and":

            def both(a, c, t):
                r = f0(a, c, t)
                if not (r is True or (r is not False and truthy(r))):
                    return False
                r = f1(a, c, t)
                return r is True or (r is not False and truthy(r))

            return both

        def either(a, c, t):
            r = f0(a, c, t)
            if r is True or (r is not False and truthy(r)):
                return True
            r = f1(a, c, t)
            return r is True or (r is not False and truthy(r))

        return either
    if kind == "and":
        return lambda a, c, t: all(truthy(f(a, c, t)) for f in fs)
    return lambda a, c, t: any(truthy(f(a, c, t)) for f in fs)


def _compile_cmp(node):
    _, first, rest = node
    if len(rest) == 1:
        op, right = rest[0]
        if op in ("=", "!=") and first[0] in ("ref", "cur") and right[0] == "str":
            return _compile_eq_const(first, right[1], op == "!=")
        if op in ("=", "!=") and right[0] in ("ref", "cur") and first[0] == "str":
            return _compile_eq_const(right, first[1], op == "!=")
        fa, fb = _compile(first), _compile(right)
        if op == "=":

            def eq(a, c, t):
                x = fa(a, c, t)
                y = fb(a, c, t)
                if type(x) is str and type(y) is str:
                    return x == y
                return _eq(x, y)

            return eq
        if op == "!=":

            def ne(a, c, t):
                x = fa(a, c, t)
                y = fb(a, c, t)
                if type(x) is str and type(y) is str:
                    return x != y
                return not _eq(x, y)

            return ne
        if right[0] == "num":
            k = right[1]
            rel = _REL[op]

            def rel_const(a, c, t):
                x = fa(a, c, t)
                if type(x) is float:
                    return rel(x, k)
                pair = _rel_operands(x, k)
                return pair is not None and rel(*pair)

            return rel_const
        rel = _REL[op]

        def relation(a, c, t):
            pair = _rel_operands(fa(a, c, t), fb(a, c, t))
            return pair is not None and rel(*pair)

        return relation
    f0 = _compile(first)
    steps = [(op, _compile(x)) for op, x in rest]

    def chain(a, c, t):
        v = f0(a, c, t)
        for op, f in steps:
            v = _compare(op, v, f(a, c, t))
        return v

    return chain


def _compile_eq_const(ref_node, k: str, negate: bool):
    if ref_node[0] == "cur":
        if negate:
            return lambda a, c, t: (c != k) if type(c) is str else not _eq(c, k)
        return lambda a, c, t: (c == k) if type(c) is str else _eq(c, k)
    name = ref_node[1]
    if negate:

        def ne_const(a, c, t):
            v = a.get(name)
            if type(v) is str:
                return v != k
            return not _eq(v, k)

        return ne_const

    def eq_const(a, c, t):
        v = a.get(name)
        if type(v) is str:
            return v == k
        return _eq(v, k)

    return eq_const


def _compile_arith(node):
    _, first, rest = node
    f0 = _compile(first)
    if len(rest) == 1:
        op, right = rest[0]
        f1 = _compile(right)
        if op == "+":
            return lambda a, c, t: _n(f0(a, c, t)) + _n(f1(a, c, t))
        if op == "-":
            return lambda a, c, t: _n(f0(a, c, t)) - _n(f1(a, c, t))
        if op == "*":
            return lambda a, c, t: _n(f0(a, c, t)) * _n(f1(a, c, t))
        if op == "div":
            return lambda a, c, t: _div(_n(f0(a, c, t)), _n(f1(a, c, t)))
        return lambda a, c, t: _mod(_n(f0(a, c, t)), _n(f1(a, c, t)))
    steps = [(op, _compile(x)) for op, x in rest]

    def arith(a, c, t):
        v = _n(f0(a, c, t))
        for op, f in steps:
            v = _arith(op, v, _n(f(a, c, t)))
        return v

    return arith


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


# --------------------------------------------------------------------------- public API


class Expr:
    """A parsed, compiled expression.  Immutable; share it freely."""

    __slots__ = ("_fn", "ast", "references", "text", "uses_current", "uses_today")

    def __init__(self, text, ast, refs, uses_current, uses_today, fn):
        self.text = text
        self.ast = ast
        self.references = refs
        self.uses_current = uses_current
        self.uses_today = uses_today
        self._fn = fn

    def evaluate(self, answers: Mapping | None = None, current=None, *, today=None):
        """The same as ``evaluate(self, answers, current, today=today)``."""
        return evaluate(self, answers, current, today=today)

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


def _result(v):
    t = type(v)
    if t is float:
        if v.is_integer() and -9007199254740992.0 <= v <= 9007199254740992.0:
            return int(v)
        return v
    if v is None:
        return ""
    return v


@functools.lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Expr:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH, text)
    parser = _Parser(text)
    ast = parser.parse()
    return Expr(text, ast, frozenset(parser.refs), parser.uses_current, parser.uses_today, _compile(ast))


def parse(text: str) -> Expr:
    """Parse and compile ``text``; raises ExpressionError (with ``position``) if it is not valid."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression is text, not {type(text).__name__}")
    return _parse_cached(text)


def _expr(expr_or_text) -> Expr:
    return expr_or_text if isinstance(expr_or_text, Expr) else parse(expr_or_text)


def references(expr_or_text) -> set[str]:
    """The field names the expression reads with ${name}."""
    return set(_expr(expr_or_text).references)


def evaluate(expr_or_text, answers: Mapping | None = None, current=None, *, today=None):
    """The value of an expression for one record's ``answers``.

    ``current`` is the value of ``.`` (the field a constraint is checking);
    ``today`` (a date or 'YYYY-MM-DD') fixes what today() returns, by default
    the server's local date.  Numbers with an integral value come back as
    ``int``; a reference alone returns the answer as stored ('' when missing).
    """
    expr = expr_or_text if type(expr_or_text) is Expr else _expr(expr_or_text)
    if answers is None:
        answers = {}
    elif type(answers) is not dict and not isinstance(answers, Mapping):
        raise ExpressionError(f"answers must be a mapping of field names to values, not {type(answers).__name__}")
    return _result(expr._fn(answers, current, None if today is None else _today_text(today)))

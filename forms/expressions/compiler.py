"""The compiler: a syntax tree to nested closures, and the entry points (``Expr``, ``parse``, ``evaluate``, ``references``).

``compiler.mjs`` is the JavaScript twin.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import re
from collections.abc import Mapping
from math import isnan

from forms.expressions.regex import _regex, _regex_test, _RegexError
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
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_PATTERN_LENGTH,
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


# --------------------------------------------------------------------------- lexer

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_OPERATOR_WORDS = {"or": 1, "and": 2, "div": 6, "mod": 6}
_OPERATOR_SYMBOLS = {"=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5, "*": 6}
_HINTS = {
    "&": "use 'and' instead of '&&'",
    "|": "use 'or' instead of '||'",
    "/": "use 'div' to divide",
    "%": "use 'mod' for the remainder",
    "!": "use not(...) instead of '!'",
    "[": "'[' is not part of the language",
    "]": "']' is not part of the language",
    "@": "'@' is not part of the language",
}

_DIGITS = "0123456789"
_NAME_START = "_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NUMBER_ENDERS = _NAME_START + _DIGITS + "."

# token kinds: num str ref cur name op ( ) , end


def _tokens(text: str) -> list[tuple[str, object, int]]:
    tokens = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in _BLANKS:
            i += 1
        elif c == "$":
            if text[i + 1 : i + 2] != "{":
                raise ExpressionError("expected '{' after '$' (write ${name})", i, text)
            m = _NAME.match(text, i + 2)
            if not m:
                raise ExpressionError("expected a field name after '${'", i + 2, text)
            j = m.end()
            if text[j : j + 1] != "}":
                raise ExpressionError(
                    f"expected '}}' after '${{{m.group()}' (field names use letters, digits and _)", j, text
                )
            tokens.append(("ref", m.group(), i))
            i = j + 1
        elif c == "'" or c == '"':
            j = text.find(c, i + 1)
            if j < 0:
                raise ExpressionError(f"unterminated string (no closing {c})", i, text)
            tokens.append(("str", text[i + 1 : j], i))
            i = j + 1
        elif c in _DIGITS or (c == "." and text[i + 1 : i + 2] in _DIGITS and i + 1 < n):
            m = _NUMBER.match(text, i)
            j = m.end()
            if j < n and text[j] in _NUMBER_ENDERS:
                raise ExpressionError("invalid number", i, text)
            tokens.append(("num", float(m.group()), i))
            i = j
        elif c == ".":
            if text[i + 1 : i + 2] == ".":
                raise ExpressionError("'..' is not supported (there are no groups or repeats)", i, text)
            tokens.append(("cur", None, i))
            i += 1
        elif c in _NAME_START:
            m = _FUNCTION_NAME.match(text, i)
            tokens.append(("name", m.group(), i))
            i = m.end()
        elif c in "<>!=":
            two = text[i : i + 2]
            if two == "==":
                raise ExpressionError("use '=' to compare, not '=='", i, text)
            if two in ("!=", "<=", ">="):
                tokens.append(("op", two, i))
                i += 2
            elif c == "!":
                raise ExpressionError(_HINTS["!"], i, text)
            else:
                tokens.append(("op", c, i))
                i += 1
        elif c in "+-*":
            tokens.append(("op", c, i))
            i += 1
        elif c in "(),":
            tokens.append((c, c, i))
            i += 1
        elif c in _HINTS:
            raise ExpressionError(_HINTS[c], i, text)
        else:
            raise ExpressionError(f"unexpected character {c!r}", i, text)
    tokens.append(("end", None, n))
    return tokens


def _describe(token) -> str:
    kind, value, _ = token
    if kind == "end":
        return "the end of the expression"
    if kind == "num":
        return "a number"
    if kind == "str":
        return "a string"
    if kind == "ref":
        return f"${{{value}}}"
    if kind == "cur":
        return "'.'"
    return f"'{value}'"


# --------------------------------------------------------------------------- parser

# Syntax tree nodes (plain tuples):
#   ("num", float) ("str", text, position) ("ref", name) ("cur",) ("neg", node)
#   ("or", [nodes]) ("and", [nodes])
#   ("cmp", first, [(op, node), ...])     one precedence level: = != or < <= > >=
#   ("arith", first, [(op, node), ...])   one precedence level: + - or * div mod
#   ("call", name, [nodes], position)

_CHAIN = {1: "or", 2: "and", 3: "cmp", 4: "cmp", 5: "arith", 6: "arith"}


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.k = 0
        self.refs: set[str] = set()
        self.uses_current = False
        self.uses_today = False

    def error(self, message: str, position: int):
        raise ExpressionError(message, position, self.text)

    @property
    def token(self):
        return self.tokens[self.k]

    def binary_level(self) -> int:
        kind, value, _ = self.token
        if kind == "op":
            return _OPERATOR_SYMBOLS[value]
        if kind == "name" and value in _OPERATOR_WORDS:
            return _OPERATOR_WORDS[value]
        return 0

    def parse(self):
        node = self.expression(1, 0)
        if self.token[0] != "end":
            self.error(f"unexpected {_describe(self.token)}", self.token[2])
        return node

    def expression(self, min_level: int, depth: int):
        left = self.unary(depth)
        while True:
            level = self.binary_level()
            if level == 0 or level < min_level:
                return left
            op = self.token[1]
            self.k += 1
            right = self.expression(level + 1, depth + 1)
            kind = _CHAIN[level]
            if kind in ("or", "and"):
                if left[0] == kind:
                    left = (kind, left[1] + [right])
                else:
                    left = (kind, [left, right])
            else:
                same = left[0] == kind and (left[2][0][0] in _LEVEL_OPS[level])
                if same:
                    left = (kind, left[1], left[2] + [(op, right)])
                else:
                    left = (kind, left, [(op, right)])

    def unary(self, depth: int):
        if depth > MAX_DEPTH:
            self.error(f"nested deeper than {MAX_DEPTH} levels", self.token[2])
        kind, value, _ = self.token
        if kind == "op" and value == "-":
            self.k += 1
            return ("neg", self.unary(depth + 1))
        return self.primary(depth)

    def primary(self, depth: int):
        kind, value, pos = self.token
        if kind == "num":
            self.k += 1
            return ("num", value)
        if kind == "str":
            self.k += 1
            return ("str", value, pos)
        if kind == "ref":
            self.k += 1
            self.refs.add(value)
            return ("ref", value)
        if kind == "cur":
            self.k += 1
            self.uses_current = True
            return ("cur",)
        if kind == "(":
            self.k += 1
            node = self.expression(1, depth + 1)
            if self.token[0] != ")":
                self.error(f"expected ')' to close the '(' at character {pos + 1}", self.token[2])
            self.k += 1
            return node
        if kind == "name":
            return self.call(depth)
        self.error(f"expected a value, found {_describe(self.token)}", pos)

    def call(self, depth: int):
        _, name, pos = self.token
        if self.tokens[self.k + 1][0] != "(":
            if name in ("true", "false"):
                self.error(f"write {name}() with parentheses", pos)
            if name in _OPERATOR_WORDS:
                self.error(f"expected a value, found '{name}'", pos)
            if name in FUNCTIONS:
                self.error(f"function {name}() needs parentheses", pos)
            self.error(f"unknown name '{name}' (write ${{{name}}} to refer to a field)", pos)
        if name not in FUNCTIONS:
            self.error(f"unknown function {name}()", pos)
        self.k += 2
        args = []
        if self.token[0] != ")":
            while True:
                args.append(self.expression(1, depth + 1))
                if self.token[0] == ",":
                    self.k += 1
                    continue
                if self.token[0] == ")":
                    break
                self.error(f"expected ',' or ')' in the arguments of {name}()", self.token[2])
        self.k += 1
        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            if high is None:
                wanted = f"at least {low} argument{'s' if low != 1 else ''}"
            elif low == high:
                wanted = f"{low} argument{'s' if low != 1 else ''}"
            else:
                wanted = f"{low} to {high} arguments"
            self.error(f"{name}() takes {wanted}, found {len(args)}", pos)
        if name == "today":
            self.uses_today = True
        if name == "regex" and args[1][0] == "str":
            pattern = args[1][1]
            string_pos = args[1][2]
            if len(pattern) > MAX_PATTERN_LENGTH:
                self.error(f"regex pattern longer than {MAX_PATTERN_LENGTH} characters", string_pos)
            compiled = _regex(pattern)
            if isinstance(compiled, _RegexError):
                self.error(f"invalid regex pattern: {compiled.message}", string_pos + 1 + compiled.offset)
        return ("call", name, args, pos)


_LEVEL_OPS = {3: ("=", "!="), 4: ("<", "<=", ">", ">="), 5: ("+", "-"), 6: ("*", "div", "mod")}

# name -> (fewest arguments, most arguments or None)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "not": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "boolean": (1, 1),
    "string": (1, 1),
    "number": (1, 1),
    "int": (1, 1),
    "round": (1, 2),
    "floor": (1, 1),
    "ceiling": (1, 1),
    "abs": (1, 1),
    "min": (1, None),
    "max": (1, None),
    "selected": (2, 2),
    "count-selected": (1, 1),
    "selected-at": (2, 2),
    "string-length": (1, 1),
    "substr": (2, 3),
    "contains": (2, 2),
    "starts-with": (2, 2),
    "ends-with": (2, 2),
    "concat": (0, None),
    "regex": (2, 2),
    "if": (3, 3),
    "coalesce": (2, None),
    "today": (0, 0),
    "date": (1, 1),
}


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

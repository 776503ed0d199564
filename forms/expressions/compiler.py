"""The compiler: a syntax tree to nested closures, and the entry points (``Expr``, ``parse``, ``evaluate``, ``references``).

``compiler.mjs`` is the JavaScript twin.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from forms.expressions.functions import _compile_call, _today_text
from forms.expressions.syntax import _Parser
from forms.expressions.values import (
    _arith,
    _compare,
    _div,
    _eq,
    _mod,
    _n,
    _REL,
    _rel_operands,
    ExpressionError,
    MAX_LENGTH,
    truthy,
)


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

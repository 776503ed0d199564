"""Syntax: the tokens, the parser (text to a tree of plain tuples) and the functions' arity table.

``syntax.mjs`` is the JavaScript twin.
"""

from __future__ import annotations

import re

from forms.expressions.regex import _RegexError, _regex
from forms.expressions.values import ExpressionError, MAX_DEPTH, MAX_PATTERN_LENGTH, _BLANKS


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

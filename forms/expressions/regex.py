"""The portable regex subset of ``regex()``: a pattern is checked and written for ``re``.

``regex.mjs`` checks the same subset and writes it for RegExp.
"""

from __future__ import annotations

import functools
import re

from forms.expressions.values import MAX_PATTERN_LENGTH, MAX_REPEAT, to_string


# --------------------------------------------------------------------------- regex subset

_REGEX_SPECIAL = set("\\^$.|?*+()[]{}")
_REGEX_ESCAPABLE = set("\\^$.|?*+()[]{}/-")
_CLASS_SHORTHAND = {"d": "0-9", "w": "A-Za-z0-9_", "s": "\\t\\n\\x0b\\x0c\\r\\x20"}
_SHORTHAND = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": "[A-Za-z0-9_]",
    "W": "[^A-Za-z0-9_]",
    "s": "[\\t\\n\\x0b\\x0c\\r\\x20]",
    "S": "[^\\t\\n\\x0b\\x0c\\r\\x20]",
}
_CONTROL = {"n": "\n", "r": "\r", "t": "\t"}


class _RegexError(Exception):
    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message = message
        self.offset = offset


def _lit(c: str) -> str:
    """One literal character, written so that neither engine can misread it."""
    if c.isascii() and not c.isalnum():
        return f"\\x{ord(c):02x}"
    return c


class _RegexTranslator:
    """Checks a pattern against the portable subset and writes it for Python's ``re``.

    The JavaScript evaluator has the same translator writing for ``RegExp`` with
    the ``u`` flag; the two outputs mean the same on every input.
    """

    def __init__(self, pattern: str):
        self.p = pattern
        self.i = 0
        self.out: list[str] = []

    def error(self, message: str, offset: int | None = None):
        raise _RegexError(message, self.i if offset is None else offset)

    def peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def translate(self) -> str:
        self.alternation(0)
        if self.i < len(self.p):  # a stray ')'
            self.error("unmatched ')'")
        return "".join(self.out)

    def alternation(self, depth: int) -> bool:
        """Returns whether it contains an unbounded quantifier."""
        if depth > 20:
            self.error("groups nested too deeply")
        unbounded = self.sequence(depth)
        while self.peek() == "|":
            self.i += 1
            self.out.append("|")
            unbounded = self.sequence(depth) or unbounded
        return unbounded

    def sequence(self, depth: int) -> bool:
        unbounded = False
        while self.i < len(self.p) and self.peek() not in "|)":
            start = self.i
            kind, inner_unbounded = self.atom(depth)
            q = self.quantifier()
            if q is None:
                unbounded = unbounded or inner_unbounded
                continue
            text, repeats, is_unbounded = q
            if kind == "anchor":
                self.error("nothing to repeat", start)
            if kind == "group" and inner_unbounded and repeats:
                self.error("a repeated group may not contain *, + or {n,} (like (a+)+)", start)
            self.out.append(text)
            unbounded = unbounded or is_unbounded or inner_unbounded
            if self.peek() and self.peek() in "*+?{":
                self.error("nothing to repeat")
        return unbounded

    def number(self) -> int:
        start = self.i
        while self.peek() and self.peek() in "0123456789":
            self.i += 1
        if start == self.i:
            self.error("expected a number in {n,m}")
        value = int(self.p[start : self.i])
        if value > MAX_REPEAT:
            self.error(f"repeat count larger than {MAX_REPEAT}", start)
        return value

    def quantifier(self):
        c = self.peek()
        start = self.i
        if c in ("*", "+", "?") and c:
            self.i += 1
            text, repeats, unbounded = c, c != "?", c != "?"
        elif c == "{":
            self.i += 1
            low = self.number()
            high: int | None = low
            if self.peek() == ",":
                self.i += 1
                high = None if self.peek() == "}" else self.number()
            if self.peek() != "}":
                self.error("expected '}' to close {n,m}")
            self.i += 1
            if high is not None and high < low:
                self.error("{n,m} with m smaller than n", start)
            if high == low:
                text = f"{{{low}}}"
            elif high is None:
                text = f"{{{low},}}"
            else:
                text = f"{{{low},{high}}}"
            repeats, unbounded = high is None or high > 1, high is None
        else:
            return None
        if self.peek() == "?":
            self.i += 1
            text += "?"
        return text, repeats, unbounded

    def atom(self, depth: int):
        c = self.p[self.i]
        start = self.i
        if c == "(":
            self.i += 1
            if self.p.startswith("?:", self.i):
                self.i += 2
            elif self.peek() == "?":
                self.error("only (...) and (?:...) groups are supported")
            self.out.append("(?:")
            unbounded = self.alternation(depth + 1)
            if self.peek() != ")":
                self.error("missing ')'", start)
            self.i += 1
            self.out.append(")")
            return "group", unbounded
        if c == "[":
            self.char_class()
            return "char", False
        if c == ".":
            self.i += 1
            self.out.append("[^\\n]")
            return "char", False
        if c == "^":
            self.i += 1
            self.out.append("^")
            return "anchor", False
        if c == "$":
            self.i += 1
            self.out.append(self.END)
            return "anchor", False
        if c == "\\":
            e = self.p[self.i + 1] if self.i + 1 < len(self.p) else ""
            if e == "":
                self.error("pattern ends with '\\'")
            self.i += 2
            if e in _SHORTHAND:
                self.out.append(_SHORTHAND[e])
                return "char", False
            if e in ("b", "B"):
                self.out.append("\\" + e)
                return "anchor", False
            if e in _CONTROL:
                self.out.append(_lit(_CONTROL[e]))
                return "char", False
            if e in _REGEX_ESCAPABLE:
                self.out.append(_lit(e))
                return "char", False
            self.error(f"unsupported escape '\\{e}'", start)
        if c in "*+?{":
            self.error("nothing to repeat")
        if c in "]}":
            self.error(f"write '\\{c}' for a literal '{c}'")
        self.i += 1
        self.out.append(_lit(c))
        return "char", False

    def class_atom(self):
        """One character of a [...] class: (char, None) or (None, shorthand text)."""
        c = self.peek()
        start = self.i
        if c == "":
            self.error("missing ']'")
        if c == "\\":
            e = self.p[self.i + 1] if self.i + 1 < len(self.p) else ""
            if e == "":
                self.error("pattern ends with '\\'")
            self.i += 2
            if e in _CLASS_SHORTHAND:
                return None, _CLASS_SHORTHAND[e]
            if e in _CONTROL:
                return _CONTROL[e], None
            if e in _REGEX_ESCAPABLE:
                return e, None
            self.error(f"unsupported escape '\\{e}' in [...]", start)
        if c == "[":
            self.error("write '\\[' for a literal '[' in [...]")
        self.i += 1
        return c, None

    def char_class(self):
        start = self.i
        self.i += 1
        parts = ["["]
        if self.peek() == "^":
            self.i += 1
            parts.append("^")
        if self.peek() == "]":
            self.error("empty [] class (write '\\]' for a literal ']')")
        while True:
            if self.i >= len(self.p):
                self.error("missing ']'", start)
            if self.peek() == "]":
                self.i += 1
                break
            atom_start = self.i
            char, shorthand = self.class_atom()
            if self.peek() == "-" and self.i + 1 < len(self.p) and self.p[self.i + 1] != "]":
                self.i += 1
                high_start = self.i
                high, high_shorthand = self.class_atom()
                if shorthand is not None or high_shorthand is not None:
                    self.error("a range cannot use \\d, \\w or \\s", atom_start)
                if ord(high) < ord(char):
                    self.error("range out of order", high_start)
                parts.append(_lit(char) + "-" + _lit(high))
            elif shorthand is not None:
                parts.append(shorthand)
            else:
                parts.append(_lit(char))
        parts.append("]")
        self.out.append("".join(parts))

    END = "\\Z"


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern | _RegexError:
    if len(pattern) > MAX_PATTERN_LENGTH:
        return _RegexError(f"pattern longer than {MAX_PATTERN_LENGTH} characters", 0)
    try:
        return re.compile(_RegexTranslator(pattern).translate(), re.ASCII)
    except _RegexError as error:
        return error
    except re.error as error:  # pragma: no cover - the subset is meant to make this impossible
        return _RegexError(f"invalid pattern ({error})", 0)


def _regex_test(value, pattern) -> bool:
    compiled = _regex(to_string(pattern))
    if isinstance(compiled, _RegexError):
        return False
    return compiled.search(to_string(value)) is not None

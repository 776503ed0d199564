"""The form expression language: relevance (skip logic), constraints, defaults.

One small language, close to XLSForm / ODK XPath, with two evaluators that
agree: this package (server-side validation) and its JavaScript twin
``forms/expressions/index.mjs`` (the canvasser app).
``forms/expression_vectors.json`` holds the cases both must pass;
``docs/expressions.md`` is the reference for coordinators.

    >>> evaluate("${outcome} = 'contacted' and selected(${interests}, 'childcare')",
    ...          {"outcome": "contacted", "interests": ["childcare", "housing"]})
    True

Nothing here uses ``eval``/``exec``: the text is tokenised, parsed into a
small syntax tree and compiled once into nested Python closures.  Every
operation is total (bad operands give NaN, '' or false, never an exception),
so evaluation of a parsed expression raises only ``ExpressionError`` and only
for answer values of an unsupported Python type.

Both languages have the same modules, each the twin of the other's:
``values`` (the limits, ``ExpressionError``, conversions, comparison,
arithmetic), ``regex`` (the portable regex subset), ``syntax`` (tokens,
parser, the ``FUNCTIONS`` arity table), ``functions`` (the functions'
implementations) and ``compiler`` (syntax tree to closures, ``Expr``,
``parse``, ``evaluate``, ``references``).  This package's names are its API.

Semantics in one place (the JavaScript evaluator mirrors each rule):

* values are strings, numbers (always IEEE doubles), booleans, multi-select
  lists and geopoints; a missing or None answer is the empty string '';
* a multi-select list behaves as its space-joined string except in
  ``selected``, ``count-selected`` and ``selected-at``; a geopoint dict
  ``{lat, lon, altitude_m?, accuracy_m?}`` behaves as ODK's string
  ``"lat lon altitude accuracy"`` ('' when lat or lon is not a number);
* ``=``/``!=``: booleans on both sides compare as booleans; a number on
  either side compares numerically (a non-numeric side is NaN, so ``=`` is
  false and ``!=`` true); otherwise as strings (``true()`` is 'true');
* ``<`` ``<=`` ``>`` ``>=``: a number or boolean on either side compares
  numerically; two strings compare numerically when both are numeric, are
  false when either is empty, else compare by Unicode code point (so ISO
  dates compare as dates);
* text to number: optional ASCII blanks, optional '-', digits with an
  optional '.', nothing else (no exponent, no '+'); an ISO date
  'YYYY-MM-DD' is its day count since 1970-01-01; anything else is NaN;
* number to text: no exponent, shortest round-trip digits, integers without
  '.0', 'NaN', 'Infinity', '-Infinity'.
"""

from forms.expressions.compiler import Expr, evaluate, parse, references
from forms.expressions.syntax import FUNCTIONS
from forms.expressions.values import ExpressionError, MAX_DEPTH, MAX_LENGTH, MAX_PATTERN_LENGTH, to_number, to_string, truthy

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_PATTERN_LENGTH",
    "Expr",
    "ExpressionError",
    "evaluate",
    "parse",
    "references",
    "to_number",
    "to_string",
    "truthy",
]

// The form expression language: relevance (skip logic), constraints, defaults.
//
// The JavaScript twin of the package forms/expressions/ (Python), for the
// canvasser app, module for module.  Both evaluators pass
// forms/expression_vectors.json; docs/expressions.md is the language
// reference.  Dependency-free ES modules for Node 20 and browsers: no eval,
// no Function, no Node APIs; they import only each other.
//
//   import { evaluate } from './expressions/index.mjs';
//   evaluate("${outcome} = 'contacted' and selected(${interests}, 'childcare')",
//            { outcome: 'contacted', interests: ['childcare'] });   // true
//
// Every rule mirrors the Python package; see its docstring
// (forms/expressions/__init__.py) for the semantics in one place.  Positions
// are 0-based offsets in Unicode code points (not UTF-16 units), as in Python.

export { evaluate, Expr, parse, references } from './compiler.mjs';
export { FUNCTIONS } from './syntax.mjs';
export { ExpressionError, MAX_DEPTH, MAX_LENGTH, MAX_PATTERN_LENGTH, toNumber, toString, truthy } from './values.mjs';

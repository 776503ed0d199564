"""The form expression language: shared vectors, properties, safety, Python/JavaScript agreement.

Every vector in forms/expression_vectors.json runs through the Python
evaluator here and through the JavaScript one (node forms/check_vectors.mjs);
random expressions and random mutations of them are then evaluated by both
and must give the same results and the same error positions.  Node is
required: without it the JavaScript tests fail, they are never skipped.
"""

from __future__ import annotations

import ast
import datetime
import json
import math
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms import expressions
from forms.expressions import (
    FUNCTIONS,
    Expr,
    ExpressionError,
    evaluate,
    parse,
    references,
    truthy,
)

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"
PACKAGE = FORMS / "expressions"  # Python modules and their JavaScript twins, side by side
VECTORS_FILE = FORMS / "expression_vectors.json"
CHECKER = FORMS / "check_vectors.mjs"
DATA = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
VECTORS = DATA["vectors"]
TODAY = DATA["today"]


# --------------------------------------------------------------------------- comparing results


def encode(value):
    """A Python result as vector JSON: NaN and the infinities as {"$number": ...}."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$number": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    return value


def same(actual, expected) -> bool:
    if isinstance(expected, dict) and "$number" in expected:
        want = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[expected["$number"]]
        if type(actual) not in (int, float):
            return False
        return math.isnan(actual) if math.isnan(want) else actual == want
    if isinstance(expected, bool):
        return type(actual) is bool and actual == expected
    if isinstance(expected, (int, float)):
        if type(actual) not in (int, float) or not math.isfinite(actual):
            return False
        return abs(actual - expected) <= 1e-9 * max(1.0, abs(actual), abs(expected))
    if isinstance(expected, str) or expected is None:
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and actual.keys() == expected.keys() and all(same(actual[k], expected[k]) for k in expected)
    return False


def run_vector(vector: dict):
    return evaluate(vector["expr"], vector.get("answers", {}), vector.get("current"), today=vector.get("today", TODAY))


# --------------------------------------------------------------------------- the shared vectors


def _vector_id(index_vector) -> str:
    index, vector = index_vector
    text = vector["expr"].replace("\n", "\\n")
    return f"{index}:{text[:40]}"


@pytest.mark.parametrize("index_vector", list(enumerate(VECTORS)), ids=_vector_id)
def test_vector(index_vector):
    _, vector = index_vector
    if vector.get("error"):
        with pytest.raises(ExpressionError) as caught:
            parse(vector["expr"])
        if "position" in vector:
            assert caught.value.position == vector["position"], str(caught.value)
        return
    actual = run_vector(vector)
    assert same(actual, vector["expected"]), f"{vector['expr']!r} gave {actual!r}, expected {vector['expected']!r}"
    if "references" in vector:
        assert references(vector["expr"]) == set(vector["references"])


def test_the_vectors_cover_the_language():
    texts = [v["expr"] for v in VECTORS]
    assert len(VECTORS) >= 150
    assert sum(1 for v in VECTORS if v.get("error")) >= 30
    for name in FUNCTIONS:
        assert any(re.search(rf"(?<![\w-]){re.escape(name)}\s*\(", t) for t in texts if not _is_error(t)), name
    for op in ["or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod"]:
        pattern = rf"\s{op}\s" if op.isalpha() else rf"[^!<>=]{re.escape(op)}[^=]"
        assert any(re.search(pattern, t) for t in texts), op


def _is_error(text: str) -> bool:
    return any(v["expr"] == text and v.get("error") for v in VECTORS)


# --------------------------------------------------------------------------- the Python API


def test_parse_is_cached_and_compiled_once():
    text = "${outcome} = 'contacted' and selected(${interests}, 'childcare')"
    expr = parse(text)
    assert parse(text) is expr
    assert isinstance(expr, Expr)
    assert expr.references == frozenset({"outcome", "interests"})
    assert evaluate(expr, {"outcome": "contacted", "interests": ["childcare"]}) is True
    assert expr.evaluate({"outcome": "contacted", "interests": "childcare"}) is True
    assert expr.uses_current is False and expr.uses_today is False
    assert parse(". <= today()").uses_current and parse(". <= today()").uses_today


def test_references_accepts_text_or_expr():
    assert references("${a} + ${b} * ${a}") == {"a", "b"}
    assert references(parse("concat(${x}, if(${y}, ${z}, .))")) == {"x", "y", "z"}
    assert references(". > 3") == set()
    assert isinstance(references("${a}"), set)


def test_errors_carry_message_and_position():
    with pytest.raises(ExpressionError) as caught:
        parse("${age} >= 18 and")
    error = caught.value
    assert error.position == 16
    assert error.text == "${age} >= 18 and"
    assert "expected a value" in error.message
    assert "at character 17" in str(error)
    assert isinstance(error, ValueError)
    with pytest.raises(ExpressionError, match="unknown function frobnicate"):
        parse("frobnicate(${a})")
    with pytest.raises(ExpressionError, match="write \\$\\{age\\}"):
        parse("age > 3")
    with pytest.raises(ExpressionError, match="'=' to compare"):
        parse("${a} == 1")
    with pytest.raises(ExpressionError, match="takes 3 arguments, found 2"):
        parse("if(${a}, 1)")
    with pytest.raises(ExpressionError):
        parse(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "${a}.upper()",
        "${a}.__class__",
        "${a}.__class__.__mro__",
        "${a}[0]",
        "${a}()",
        "().__class__",
        "''.join(${a})",
        "__import__('os').system('true')",
        "eval('1')",
        "exec('1')",
        "compile('1', '', 'eval')",
        "getattr(${a}, 'x')",
        "open('/etc/passwd')",
        "lambda: 1",
        "[x for x in ${a}]",
        "Function('return 1')()",
        "constructor('x')",
        "globalThis",
        "process.exit(1)",
        "require('fs')",
        "import('fs')",
        "${a}.constructor",
        "now()",
        "count(${a})",
        "Not(${a})",
        "jr:choice-name(${a}, 'a')",
    ],
)
def test_refuses_attribute_access_and_unknown_functions(text):
    with pytest.raises(ExpressionError):
        parse(text)


def _javascript(module: Path) -> str:
    return "\n".join(line for line in module.read_text().splitlines() if not line.lstrip().startswith("//"))


def test_the_two_evaluators_are_the_same_modules():
    python = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    javascript = {p.stem for p in PACKAGE.glob("*.mjs")} - {"index"}
    assert python == javascript == {"values", "regex", "syntax", "functions", "compiler"}


def test_no_dynamic_code_in_either_evaluator():
    forbidden = {"eval", "exec", "compile", "__import__", "getattr", "setattr", "globals", "locals", "vars"}
    for module in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(module.read_text())
        called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not called & forbidden, module.name
    for module in sorted(PACKAGE.glob("*.mjs")):
        code = _javascript(module)
        for pattern in [r"\beval\s*\(", r"\bFunction\s*\(", r"new\s+Function", r"\bimport\s*\(", r"\brequire\s*\(", r"setTimeout|setInterval"]:
            assert not re.search(pattern, code), (module.name, pattern)


def test_javascript_evaluator_runs_in_browsers():
    """No Node globals, and imports only of each other: the modules load as they are in a browser."""
    siblings = {f"./{p.name}" for p in PACKAGE.glob("*.mjs")}
    for module in sorted(PACKAGE.glob("*.mjs")):
        code = _javascript(module)
        imported = re.findall(r"\bfrom\s+'([^']*)'", code)
        assert set(imported) <= siblings, (module.name, imported)
        assert not re.search(r"^\s*import\s*['\"]", code, re.MULTILINE), module.name
        for name in ["process", "Buffer", "node:", "__dirname", "globalThis", "window", "document"]:
            assert name not in code, (module.name, name)


def test_results_are_plain_values():
    assert evaluate("1 + 2") == 3 and type(evaluate("1 + 2")) is int
    assert type(evaluate("1 div 4")) is float
    assert type(evaluate("2 div 2")) is int
    assert type(evaluate("9007199254740993 * 2")) is float  # beyond 2**53 stays a float
    assert evaluate("${missing}") == ""
    assert evaluate("${m}", {"m": ("a", "b")}) == ("a", "b")
    assert math.isnan(evaluate("0 div 0"))
    assert evaluate(".", {}, None) == ""


def test_today_is_injectable_and_checked():
    assert evaluate("today()", today="2026-11-25") == "2026-11-25"
    assert evaluate("today()", today=datetime.date(2024, 2, 29)) == "2024-02-29"
    assert evaluate("today()", today=datetime.datetime(2024, 3, 1, 23, 59)) == "2024-03-01"
    assert evaluate("today()") == datetime.date.today().isoformat()
    for bad in ["2026-02-30", "25/11/2026", "", 20000]:
        with pytest.raises(ExpressionError):
            evaluate("today()", today=bad)


def test_python_only_answer_types():
    assert evaluate("${d} = '2026-11-25'", {"d": datetime.date(2026, 11, 25)}) is True
    assert evaluate("${n} + 1", {"n": 2**2000}) == math.inf
    assert evaluate("${n} = 0.5", {"n": __import__("decimal").Decimal("0.5")}) is True
    assert evaluate("${b} = true()", {"b": True}) is True

    class Name(str):
        pass

    assert evaluate("${s} = 'x'", {"s": Name("x")}) is True
    with pytest.raises(ExpressionError, match="unsupported answer value of type set"):
        evaluate("${s} = 'x'", {"s": {"x"}})
    with pytest.raises(ExpressionError):
        evaluate("string-length(${o})", {"o": object()})
    with pytest.raises(ExpressionError, match="answers must be a mapping"):
        evaluate("${a}", ["a"])  # type: ignore[arg-type]


def test_truthy():
    assert truthy("x") and truthy("false") and truthy(1) and truthy(-0.5) and truthy(True) and truthy(["a"])
    assert not truthy("") and not truthy(0) and not truthy(0.0) and not truthy(math.nan) and not truthy(None)
    assert not truthy(False) and not truthy([]) and not truthy({}) and truthy({"lat": 1, "lon": 2})


def test_limits():
    assert expressions.MAX_LENGTH == 2000 and expressions.MAX_DEPTH == 50 and expressions.MAX_PATTERN_LENGTH == 200
    assert evaluate(" or ".join(["${a} = 'x'"] * 100), {"a": "x"}) is True  # long but flat
    with pytest.raises(ExpressionError, match="longer than 2000"):
        parse(" or ".join(["${a} = 'x'"] * 200))
    with pytest.raises(ExpressionError, match="nested deeper than 50"):
        parse("if(" * 60 + "1, 2, 3" + ")" * 60)


# --------------------------------------------------------------------------- random expressions

NAMES = ["a", "b", "m", "g", "d", "n", "s", "x"]
TEXTS = [
    "", "a", "b", "a b", "x y z", "5", "-2.5", " 7 ", "007", "1e3", "2026-11-25", "2024-02-29", "2026-02-30",
    "2026-11-25T10:00", "\u00e9", "\U0001F600", "\u00ff", "\uff01", "true", "false", "NaN", "Infinity", "0", ".5", "5.", "10",
    "9", "abc", "ABC", "\t1\n", "-0", "caf\u00e9", "a\nb", "12345",
]
NUMBERS = [
    "0", "1", "2", "3", "10", "0.5", ".5", "5.", "007", "1.25", "100", "2026", "20000", "0.1", "0.2", "3.14159", "2.675",
    "1.005", "9007199254740993", "1000000000000000000000", "0.000001", "0.0000001", "123456.789", "-1",
]
PATTERNS = [
    "^[0-9]+$", "a|b", "^\\d{2,3}$", "\\bx", "^.$", "[a-z]", "^$", "(?:ab)+", "^[^0-9]*$", "\\s", "\u00e9", "^-?[0-9]+(\\.[0-9]+)?$",
    "", "^[\\w.]+$", "x{2}", "^a*?b", "[\u00e0-\u00ff]", "^.{2,4}$", "\\W", "\\$",
]
BINARY = ["or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod"]


def random_answer(rng: random.Random):
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind <= 3:
        return rng.choice(TEXTS)
    if kind == 4:
        return rng.choice([0, 1, -3, 5, 17, 2**53 + 1, 2**60, -(2**31)])
    if kind == 5:
        return rng.choice([0.5, -0.0, 0.1, 2.675, 1e21, 1e-7, -123.456, 20782.0, 1.005])
    if kind == 6:
        return rng.choice([True, False])
    if kind in (7, 8):
        return rng.sample(["a", "b", "x", "5", "", "\u00e9", "a b", "10"], rng.randrange(4))
    if kind == 9:
        return rng.choice(
            [
                {"lat": -33.9249, "lon": 18.4241, "accuracy_m": 12.5},
                {"lat": 0, "lon": 0},
                {"lat": 1.5, "lon": -2, "altitude_m": 30, "accuracy_m": 5},
                {},
                {"lat": "1", "lon": "2"},
            ]
        )
    if kind == 10:
        return [rng.choice([1, 2.5, True, None, "q", ["nested"], {"k": 1}]) for _ in range(rng.randrange(3))]
    return rng.choice(["2026-11-25", "2026-01-01", "1969-12-31", "2026-11-25T23:00:00Z"])


def random_answers(rng: random.Random) -> dict:
    return {name: random_answer(rng) for name in NAMES if rng.random() < 0.75}


def _space(rng: random.Random) -> str:
    return rng.choice(["", " ", " ", "  ", "\n"])


def random_expression(rng: random.Random, depth: int = 4) -> str:
    """A valid expression drawn from the whole grammar."""
    if depth <= 0 or rng.random() < 0.25:
        kind = rng.randrange(6)
        if kind == 0:
            return rng.choice(NUMBERS)
        if kind == 1:
            text = rng.choice(TEXTS)
            quote = '"' if "'" in text else rng.choice(["'", '"'])
            return quote + text + quote
        if kind in (2, 3):
            return "${" + rng.choice(NAMES) + "}"
        if kind == 4:
            return "."
        return rng.choice(["true()", "false()", "today()"])
    kind = rng.randrange(10)
    if kind <= 3:
        op = rng.choice(BINARY)
        left = random_expression(rng, depth - 1)
        right = random_expression(rng, depth - 1)
        if op.isalpha():
            return f"{left} {op} {right}"
        return f"{left}{_space(rng)}{op}{_space(rng)}{right}"
    if kind == 4:
        return "-" + _space(rng) + random_expression(rng, depth - 1)
    if kind == 5:
        return "(" + random_expression(rng, depth - 1) + ")"
    name = rng.choice(sorted(FUNCTIONS))
    low, high = FUNCTIONS[name]
    count = rng.randint(low, high if high is not None else low + 2)
    args = [random_expression(rng, depth - 1) for _ in range(count)]
    if name == "regex":
        args[1] = rng.choice(["'" + rng.choice(PATTERNS) + "'", "${" + rng.choice(NAMES) + "}"])
    if name in ("selected", "selected-at", "count-selected") and rng.random() < 0.6:
        args[0] = "${" + rng.choice(["m", "g", "s"]) + "}"
    return f"{name}({(',' + _space(rng)).join(args)})"


MUTATIONS = list("${}'\"(),.-=!<>+*/[]@_ \t\u00a0") + ["\u00e9", "\U0001F600", "a", "1", "div", "and", "))", "(("]


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(chars) + 1)
        if chars and rng.random() < 0.5:
            del chars[min(i, len(chars) - 1)]
        else:
            chars.insert(i, rng.choice(MUTATIONS))
    return "".join(chars)


def python_vector(text: str, answers: dict, current) -> dict:
    """The vector Python's evaluator writes for ``text``: its result, or its error position."""
    try:
        parse(text)
    except ExpressionError as error:
        return {"expr": text, "error": True, "position": error.position}
    result = evaluate(text, answers, current, today=TODAY)
    return {"expr": text, "answers": answers, "current": current, "expected": encode(result)}


# --------------------------------------------------------------------------- properties


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_parse_raises_only_expression_error_on_any_text(text):
    try:
        parse(text)
    except ExpressionError as error:
        assert error.position is not None and 0 <= error.position <= len(text)


GRAMMAR_ALPHABET = list("${}abmnx_0123456789.'\"(),-=!<>+* \n") + ["and ", " or ", " div ", " mod ", "not(", "if(", "selected(", "regex(", "\u00e9"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(GRAMMAR_ALPHABET), max_size=40).map("".join))
def test_parse_raises_only_expression_error_on_near_grammatical_text(text):
    try:
        expr = parse(text)
    except ExpressionError as error:
        assert 0 <= error.position <= len(text)
        return
    evaluate(expr, {"a": "1", "b": ["x"], "m": None, "n": 2.5, "x": {"lat": 1, "lon": 2}}, "c", today=TODAY)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.integers(min_value=0, max_value=6))
def test_evaluating_any_expression_never_raises(rng, depth):
    text = random_expression(rng, depth)
    answers = random_answers(rng)
    current = random_answer(rng)
    try:
        expr = parse(text)
    except ExpressionError as error:  # only the limits may refuse a generated expression
        assert "longer than" in error.message or "nested deeper" in error.message, (text, error)
        return
    first = evaluate(expr, answers, current, today=TODAY)
    second = evaluate(text, answers, current, today=TODAY)
    assert type(first) is type(second)
    assert first == second or (isinstance(first, float) and math.isnan(first) and math.isnan(second))
    assert isinstance(first, (str, int, float, bool, list, dict))


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=3))
def test_evaluating_mutated_expressions_never_raises(rng, depth):
    text = mutate(rng, random_expression(rng, depth))
    try:
        expr = parse(text)
    except ExpressionError:
        return
    evaluate(expr, random_answers(rng), random_answer(rng), today=TODAY)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=400), st.sampled_from(["(", "-", "not(", "if(1,", "concat("]))
def test_deep_nesting_is_refused_not_a_crash(levels, opener):
    closer = {"(": ")", "-": "", "not(": ")", "if(1,": ",2)", "concat(": ")"}[opener]
    text = opener * levels + "1" + closer * levels
    try:
        evaluate(text)
    except ExpressionError as error:
        assert levels > 50 or len(text) > 2000, error


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30))
def test_any_answer_text_compares_consistently(text):
    answers = {"a": text}
    assert evaluate("${a} = ${a}", answers) is True
    assert evaluate("${a} != ${a}", answers) is False
    assert evaluate("string-length(${a})", answers) == len(text)
    assert evaluate("concat(${a}, '')", answers) == text
    assert evaluate("contains(${a}, ${a})", answers) is True


# --------------------------------------------------------------------------- the JavaScript evaluator


def run_node_checker(path: Path | None = None) -> tuple[int, dict, str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the JavaScript evaluator (forms/expressions/*.mjs) cannot be checked")
    command = [node, str(CHECKER)] + ([str(path)] if path else [])
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120, cwd=ROOT)
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"check_vectors.mjs printed no JSON summary (exit {done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return done.returncode, summary, done.stderr


def test_javascript_evaluator_passes_every_vector():
    code, summary, stderr = run_node_checker()
    assert summary["total"] == len(VECTORS)
    assert code == 0 and summary["failed"] == 0, json.dumps(summary["failures"], ensure_ascii=False, indent=1) + stderr
    assert summary["passed"] == len(VECTORS)


def test_javascript_checker_reports_mismatches(tmp_path):
    vectors = {
        "today": TODAY,
        "vectors": [
            {"expr": "1 + 1", "expected": 2},
            {"expr": "1 + 1", "expected": 3},
            {"expr": "'a'", "expected": "a"},
            {"expr": "'a'", "error": True},
            {"expr": "1 +", "error": True, "position": 1},
            {"expr": "0 div 0", "expected": {"$number": "NaN"}},
            {"expr": "0 div 0", "expected": 0},
            {"expr": "${m}", "answers": {"m": ["a"]}, "expected": ["a", "b"]},
        ],
    }
    path = tmp_path / "vectors.json"
    path.write_text(json.dumps(vectors))
    code, summary, _ = run_node_checker(path)
    assert code == 1
    assert (summary["total"], summary["passed"], summary["failed"]) == (8, 3, 5)
    assert [f["index"] for f in summary["failures"]] == [1, 3, 4, 6, 7]


def test_python_and_javascript_agree_on_random_expressions(tmp_path):
    """Python's results (and error positions) on random and mutated expressions, checked in Node."""
    rng = random.Random(20261125)
    vectors = []
    for i in range(4000):
        text = random_expression(rng, rng.randint(1, 5))
        if i % 2:
            text = mutate(rng, text)
        vectors.append(python_vector(text, random_answers(rng), random_answer(rng)))
    errors = sum(1 for v in vectors if v.get("error"))
    assert 200 < errors < len(vectors) - 1000  # both kinds are well represented
    path = tmp_path / "random_vectors.json"
    path.write_text(json.dumps({"today": TODAY, "vectors": vectors}, ensure_ascii=False), encoding="utf-8")
    code, summary, stderr = run_node_checker(path)
    assert summary["total"] == len(vectors)
    assert code == 0 and summary["failed"] == 0, json.dumps(summary["failures"][:10], ensure_ascii=False, indent=1) + stderr

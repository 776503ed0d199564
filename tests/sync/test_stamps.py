"""Field stamps (sync.stamps, sync/stamps.mjs): one format, checked from Python and from Node.

Every vector in sync/stamp_vectors.json runs through the Python stamper here
and through the JavaScript one (node sync/check_stamp_vectors.mjs).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.records.conflicts import RECORD_FIELDS
from sync import stamps
from sync.stamps import Clock, StampError, format_hlc, parse_hlc, parse_stamp, stamp_edit, value_digest

ROOT = Path(__file__).resolve().parents[2]
VECTORS_FILE = ROOT / "sync" / "stamp_vectors.json"
CHECKER = ROOT / "sync" / "check_stamp_vectors.mjs"
DATA = json.loads(VECTORS_FILE.read_text("utf-8"))
VECTORS = DATA["vectors"]
LAYOUT = stamps.FieldLayout(groups=tuple(DATA["layout"]["groups"]))  # the vectors' documents: records


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_python_stamper_passes_vector(vector):
    clock = Clock(*vector["clock"])
    if vector["op"] == "clock":
        if vector.get("error"):
            with pytest.raises(StampError):
                clock.next(vector["now"], vector["seen"])
            return
        assert {"hlc": clock.next(vector["now"], vector["seen"]), "clock": [clock.ms, clock.counter]} == vector["expected"]
    else:
        doc = stamp_edit(vector["before"], vector["after"], device=vector["device"], user=vector["user"], clock=clock,
                         now_ms=vector["now"], layout=LAYOUT, touched=vector.get("touched", ()))
        assert json.dumps(doc) == json.dumps(vector["expected"]["doc"])  # key order included
        assert [clock.ms, clock.counter] == vector["expected"]["clock"]


def test_the_vectors_lay_out_records_as_the_server_and_the_app_do():
    assert DATA["layout"] == RECORD_FIELDS.to_json() == {"groups": ["answers"]}
    app = (ROOT / "mobile-shell" / "app" / "js" / "store.js").read_text("utf-8")
    assert 'const RECORD_FIELDS = { groups: ["answers"] };' in app and "layout: RECORD_FIELDS" in app


def run_node_checker(path: Path | None = None) -> tuple[int, dict]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the JavaScript stamper (sync/stamps.mjs) cannot be checked")
    done = subprocess.run([node, str(CHECKER)] + ([str(path)] if path else []), check=False, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"check_stamp_vectors.mjs printed no JSON summary: {done.stdout[-2000:]} {done.stderr[-2000:]}")


def test_javascript_stamper_passes_every_vector():
    code, summary = run_node_checker()
    assert code == 0 and summary["failed"] == 0, json.dumps(summary["failures"], indent=1)
    assert summary["passed"] == summary["total"] == len(VECTORS)


def test_javascript_checker_reports_a_wrong_vector(tmp_path):
    wrong = json.loads(json.dumps(VECTORS[0]))
    wrong["expected"]["hlc"] = format_hlc(1, 1)
    path = tmp_path / "vectors.json"
    path.write_text(json.dumps({"layout": DATA["layout"], "vectors": [VECTORS[1], wrong]}))
    code, summary = run_node_checker(path)
    assert code == 1 and summary["passed"] == 1 and summary["failures"][0]["index"] == 1


@given(st.lists(st.tuples(st.integers(0, 2**44), st.one_of(st.none(), st.tuples(st.integers(0, 2**44), st.integers(0, 0xFFFF)))),
                min_size=1, max_size=30))
def test_clock_values_only_grow_and_pass_what_they_saw(events):
    clock, last = Clock(), ""
    for now, seen in events:
        seen_text = format_hlc(*seen) if seen else None
        value = clock.next(now, seen_text)
        assert value > last and (seen_text is None or value > seen_text)
        assert parse_hlc(value) == (clock.ms, clock.counter)
        last = value


def test_a_stamp_names_its_clock_and_device():
    doc = stamp_edit(None, {"type": "record", "answers": {"outcome": "contacted"}}, device="phone/7", user="ana",
                     clock=Clock(), now_ms=1_764_085_500_000, layout=RECORD_FIELDS)
    hlc, device = parse_stamp(doc["stamps"]["answers.outcome"]["s"])
    assert device == "phone/7" and parse_hlc(hlc) == (1_764_085_500_000, 0)
    with pytest.raises(StampError):
        parse_stamp("019abbb08860-0000")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)


@given(JSON_VALUES)
def test_value_digest_shortcuts_give_the_tagged_encodings_digest(value):
    """A text, null or a boolean is digested without the general encoder (the merge's common case): the
    same 16 hex digits as the tagged encoding gives."""
    out = bytearray()
    stamps._encode(value, out)
    assert value_digest(value) == hashlib.sha256(out).hexdigest()[:16]

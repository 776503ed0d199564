"""The field-level merge (sync.merge): cases by policy, then Hypothesis properties.

Edits are made the way every writer makes them, through the stamper
(sync.stamps.stamp_edit), by devices with their own clocks (some running
behind), so the properties cover what phones really send.
"""

from __future__ import annotations

import copy
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.records.conflicts import RECORD_FIELDS
from sync import merge as merging
from sync.merge import Policy, open_conflicts
from sync.stamps import Clock, stamp_edit

T = 1_764_085_500_000
OUTCOMES = ("not_home", "come_back_later", "refused", "contacted")
POLICIES = {
    "answers.outcome": Policy("forward_only", OUTCOMES),
    "answers.langs": Policy("union", ("en", "es", "pl", "ar")),
    "answers.notes": Policy("keep_both"),
    "geotag": Policy("best_accuracy"),
    "updated_at": Policy("newest"),
}
BASE = {"_id": "record:1", "type": "record", "form": "form:f", "form_version": 1, "author": "ana",
        "answers": {"outcome": "not_home", "color": "red", "langs": ["en"], "notes": "dog"},
        "geotag": {"lat": 41.0, "lon": -87.0, "accuracy_m": 30}}


def merge(leaves, policies):
    """The merge of records (their fields as the server lays them out)."""
    return merging.merge(leaves, policies, layout=RECORD_FIELDS)


def what_changed(merged, leaves):
    return merging.what_changed(merged, leaves, RECORD_FIELDS)


class Device:
    def __init__(self, name: str, skew_ms: int = 0):
        self.name, self.skew, self.clock = name, skew_ms, Clock()

    def edit(self, doc: dict | None, change, at: int, *, user: str | None = None) -> dict:
        after = copy.deepcopy(doc) if doc else {}
        change(after)
        return stamp_edit(doc, after, device=self.name, user=user or self.name, clock=self.clock, now_ms=at + self.skew, layout=RECORD_FIELDS)


def answer(name, value):
    def change(doc):
        if value is None:
            doc["answers"].pop(name, None)
        else:
            doc["answers"][name] = value
    return change


def top(name, value):
    return lambda doc: doc.__setitem__(name, value)


ANA, BEN, CY = Device("phone-ana"), Device("phone-ben", skew_ms=-60_000), Device("phone-cy", skew_ms=5_000)


@pytest.fixture(autouse=True)
def _fresh_clocks():
    for device in (ANA, BEN, CY):
        device.clock = Clock()


def base() -> dict:
    return ANA.edit(None, lambda d: d.update(copy.deepcopy(BASE)), T)


# --------------------------------------------------------------------------- cases


def test_edits_of_different_fields_both_survive():
    start = base()
    a = ANA.edit(start, answer("color", "blue"), T + 1000)
    b = BEN.edit(start, answer("notes", "big dog"), T + 2000)
    merged = merge([a, b], POLICIES)
    assert merged["answers"] == {**BASE["answers"], "color": "blue", "notes": "big dog"}
    assert "conflicts" not in merged


def test_a_sequential_edit_beats_the_value_it_replaced_even_from_a_slow_clock():
    start = ANA.edit(base(), answer("color", "green"), T + 500_000)  # Ana's clock is ahead of Ben's
    later = BEN.edit(start, answer("color", "blue"), T + 1000)  # Ben edits after he has seen it
    merged = merge([start, later], POLICIES)
    assert merged["answers"]["color"] == "blue" and "conflicts" not in merged


def test_a_true_contradiction_keeps_every_value_for_review():
    start = base()
    a = ANA.edit(start, lambda d: (answer("color", "blue")(d), top("geotag", {"lat": 41.1, "lon": -87.1, "accuracy_m": 5})(d)), T + 1000)
    b = BEN.edit(start, answer("color", "yellow"), T + 90_000)
    merged = merge([b, a], POLICIES)
    entry = open_conflicts(merged)["answers.color"]
    assert [h["value"] for h in entry["heads"]] == ["blue", "yellow"]  # stamp order: Ana at T+1000, Ben at T+30000 (slow clock)
    assert merged["answers"]["color"] == "yellow"  # the provisional value: the latest stamp
    ana, ben = entry["heads"]
    assert (ana["by"], ana["device"], ana["at"]) == ("phone-ana", "phone-ana", "2025-11-25T15:45:01.000Z")
    assert ana["geotag"] == {"lat": 41.1, "lon": -87.1, "accuracy_m": 5}
    assert ben["device"] == "phone-ben" and ben["geotag"] is None  # Ben recorded no geotag of his own
    assert list(open_conflicts(merged)) == ["answers.color"]


def test_the_same_value_set_twice_is_not_for_review():
    start = base()
    merged = merge([ANA.edit(start, answer("color", "blue"), T + 1), BEN.edit(start, answer("color", "blue"), T + 2)], POLICIES)
    assert merged["answers"]["color"] == "blue" and open_conflicts(merged) == {}


def test_policies_merge_concurrent_edits_without_review():
    start = base()
    a = ANA.edit(start, lambda d: d["answers"].update(outcome="contacted", langs=["en", "ar"], notes="dog, friendly"), T + 1000)
    b = BEN.edit(start, lambda d: (d["answers"].update(outcome="refused", langs=["pl"], notes="dog bites"),
                                   top("geotag", {"lat": 41.2, "lon": -87.2, "accuracy_m": 4})(d)), T + 80_000)
    c = CY.edit(start, top("geotag", {"lat": 41.3, "lon": -87.3, "accuracy_m": 9}), T + 3000)
    merged = merge([a, b, c], POLICIES)
    assert merged["answers"]["outcome"] == "contacted"  # forward only
    assert merged["answers"]["langs"] == ["en", "pl", "ar"]  # every choice of every side, in the list's order
    assert merged["answers"]["notes"] == "dog, friendly\n\ndog bites"
    assert merged["geotag"]["accuracy_m"] == 4
    assert open_conflicts(merged) == {}
    assert {f for f, e in merged["conflicts"].items()} == {"answers.outcome", "answers.langs", "answers.notes", "geotag"}


def test_an_edit_of_a_conflicted_field_resolves_it():
    start = base()
    ben = BEN.edit(start, answer("color", "red2"), T + 2)
    merged = merge([ANA.edit(start, answer("color", "blue"), T + 1), ben], POLICIES)
    fixed = CY.edit(merged, answer("color", "purple"), T + 5000, user="coordinator")
    again = merge([fixed, ben], POLICIES)  # Ben's leaf arrives again
    assert again["answers"]["color"] == "purple" and "conflicts" not in again


def test_unstamped_leaves_merge_at_document_level_and_lose_nothing():
    plain_a = {**copy.deepcopy(BASE), "author": "ana", "device": "pouch-1"}
    plain_b = copy.deepcopy(plain_a)
    plain_a["answers"]["color"] = "blue"
    plain_b["answers"]["notes"] = "big dog"
    merged = merge([plain_a, plain_b], POLICIES)
    assert set(open_conflicts(merged)) == {"answers.color"}
    assert sorted(h["value"] for h in merged["conflicts"]["answers.color"]["heads"]) == ["blue", "red"]
    assert sorted(h["value"] for h in merged["conflicts"]["answers.notes"]["heads"]) == ["big dog", "dog"]
    assert merged["answers"]["outcome"] == "not_home"
    assert merge([plain_b, plain_a], POLICIES) == merged


def test_a_plain_client_edit_of_a_stamped_record_is_kept():
    start = base()
    plain = copy.deepcopy(start)
    plain["answers"]["color"] = "black"  # stamps copied unchanged
    other = BEN.edit(start, answer("notes", "cat"), T + 10)
    merged = merge([plain, other], POLICIES)
    assert sorted(h["value"] for h in merged["conflicts"]["answers.color"]["heads"]) == ["black", "red"]


def test_attachments_of_every_leaf_are_kept_and_the_note_says_what_changed():
    start = base()
    a = {**ANA.edit(start, answer("color", "blue"), T + 1), "_attachments": {"p1.jpg": {"digest": "md5-a", "stub": True}}}
    b = {**BEN.edit(start, answer("notes", "x"), T + 2), "_attachments": {"p2.jpg": {"digest": "md5-b", "stub": True}}}
    merged = merge([a, b], POLICIES)
    assert set(merged["_attachments"]) == {"p1.jpg", "p2.jpg"}
    note = what_changed(merged, {"2-a": a, "2-b": b})
    assert note == {"revs": ["2-a", "2-b"], "changed": {"2-a": ["answers.notes"], "2-b": ["answers.color"]}}


def test_a_clock_far_ahead_still_merges_and_says_when():
    far = Device("phone-far", skew_ms=16**12 - 10_000 - T)  # stamps allow clocks up to the year 10889
    start = base()
    merged = merge([ANA.edit(start, answer("color", "blue"), T + 1), far.edit(start, answer("color", "pink"), T + 2)],
                   POLICIES)
    heads = open_conflicts(merged)["answers.color"]["heads"]
    assert [(h["value"], h["at"][:11]) for h in heads] == [("blue", "2025-11-25T"), ("pink", "+010889-08-")]


# --------------------------------------------------------------------------- properties

VALUES = {
    "answers.color": st.sampled_from(["red", "blue", "green", None]),
    "answers.outcome": st.sampled_from(OUTCOMES),
    "answers.langs": st.lists(st.sampled_from(["en", "es", "pl", "ar"]), unique=True, max_size=3),
    "answers.notes": st.sampled_from(["dog", "cat", "gate code 12", ""]),
    "geotag": st.builds(lambda a, acc: {"lat": 41 + a / 100, "lon": -87.0, "accuracy_m": acc},
                        st.integers(0, 9), st.sampled_from([3, 10, 30])),
}
Edit = st.tuples(st.just("edit"), st.integers(0, 2), st.sampled_from(sorted(VALUES)), st.data())
Sync = st.tuples(st.just("sync"), st.integers(0, 2), st.integers(0, 2), st.none())


def _set(field: str, value):
    if field.startswith("answers."):
        return answer(field[len("answers."):], value)
    return top(field, value)


@st.composite
def histories(draw):
    """Three devices edit and exchange one record; returns every state any device held, and every write."""
    devices = [Device(f"d{i}", skew_ms=draw(st.integers(-50_000, 50_000))) for i in range(3)]
    start = devices[0].edit(None, lambda d: d.update(copy.deepcopy(BASE)), T)
    replicas, states, writes = [start] * 3, [start], []
    for step, (op, i, x, data) in enumerate(draw(st.lists(st.one_of(Edit, Sync), min_size=1, max_size=14))):
        if op == "edit":
            value = data.draw(VALUES[x])
            replicas[i] = devices[i].edit(replicas[i], _set(x, value), T + 1000 * (step + 1))
            writes.append((x, replicas[i]["stamps"][x]["s"], value))
            states.append(replicas[i])
        elif i != x:
            replicas[x] = merge([replicas[x], replicas[i]], POLICIES)
            states.append(replicas[x])
    return states, writes


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_any_order_of_the_same_leaves_gives_the_same_document(history, rnd):
    states, _ = history
    expected = merge(states, POLICIES)
    shuffled = list(states)
    rnd.shuffle(shuffled)
    assert merge(shuffled, POLICIES) == expected
    # Any grouping: merge some, then merge that with the rest (how leaves reach the server over time).
    cut = rnd.randint(1, len(states))
    assert merge([merge(shuffled[:cut], POLICIES), *shuffled[cut:]], POLICIES) == expected


@settings(max_examples=100, deadline=None)
@given(histories())
def test_merge_is_commutative_associative_and_idempotent(history):
    states, _ = history
    picks = states[-3:] if len(states) >= 3 else states * 3
    a, b, c = picks[:3]
    assert merge([a, b], POLICIES) == merge([b, a], POLICIES)
    left = merge([merge([a, b], POLICIES), c], POLICIES)
    right = merge([a, merge([b, c], POLICIES)], POLICIES)
    assert left == right == merge([a, b, c], POLICIES)
    m = merge([a, b], POLICIES)
    assert merge([m, m], POLICIES) == merge([m], POLICIES) == m


@settings(max_examples=150, deadline=None)
@given(histories())
def test_every_value_written_is_in_the_document_a_conflict_entry_or_knowingly_replaced(history):
    states, writes = history
    merged = merge(states, POLICIES)
    conflicts = merged.get("conflicts", {})
    for field, stamp, value in writes:
        heads = conflicts.get(field, {}).get("heads") or []
        in_entry = any(h["stamp"] == stamp and h["value"] == value for h in heads)
        current = merged.get("stamps", {}).get(field, {})
        shown = merged["answers"].get(field[8:]) if field.startswith("answers.") else merged.get(field)
        in_document = current.get("s") == stamp and shown == value
        replaced = any(stamp in h["replaced"] for h in heads) or stamp in current.get("r", [])
        assert in_entry or in_document or replaced, (field, stamp, value)


@settings(max_examples=60, deadline=None)
@given(histories())
def test_every_interleaving_of_pairwise_merges_converges(history):
    states, _ = history
    leaves = states[-4:]
    results = set()
    for order in itertools.permutations(leaves):
        doc = order[0]
        for leaf in order[1:]:
            doc = merge([doc, leaf], POLICIES)
        results.add(repr(doc))
    assert len(results) == 1


# --------------------------------------------------------------------------- plain clients among stamping ones
#
# A client that does not stamp (any plain PouchDB) edits the body and leaves ``stamps`` as it
# found them: its value carries the stamp, and the digest (``h``), of the value it overwrote.


def plain_edit(doc: dict, field: str, value) -> dict:
    """``doc`` as a plain client writes it: the value changed, the stamps untouched."""
    after = copy.deepcopy(doc)
    _set(field, value)(after)
    return after


def _shown(doc: dict, field: str):
    return doc.get("answers", {}).get(field[8:]) if field.startswith("answers.") else doc.get(field)


Change = st.tuples(st.booleans(), st.sampled_from(sorted(VALUES)), st.data())


@st.composite
def concurrent_leaves(draw):
    """A start (sometimes itself a merge with its own conflict entries), then 2 to 4 devices each
    editing it offline, every edit stamped or plain at random.  Returns (start, leaves)."""
    start = base()
    if draw(st.booleans()):  # a start that already went through a merge
        other = Device("phone-old", skew_ms=-20_000)
        side = other.edit(start, _set("answers.color", draw(VALUES["answers.color"])), T + 500)
        start = merge([start, ANA.edit(start, _set("answers.notes", "cat"), T + 600), side], POLICIES)
    leaves = []
    for i in range(draw(st.integers(2, 4))):
        device = Device(f"d{i}", skew_ms=draw(st.integers(-50_000, 50_000)))
        doc = start
        for step, (stamped, field, data) in enumerate(draw(st.lists(Change, min_size=1, max_size=3))):
            value = data.draw(VALUES[field])
            doc = device.edit(doc, _set(field, value), T + 10_000 * (step + 1)) if stamped else plain_edit(doc, field, value)
        leaves.append(doc)
    return start, leaves


@settings(max_examples=200, deadline=None)
@given(concurrent_leaves(), st.randoms(use_true_random=False))
def test_no_concurrent_value_is_lost_whether_stamped_or_not(case, rnd):
    start, leaves = case
    merged = merge(leaves, POLICIES)
    conflicts = merged.get("conflicts", {})
    for leaf in leaves:
        for field in VALUES:
            value = _shown(leaf, field)
            if value == _shown(start, field):
                continue  # not this leaf's edit: another leaf may well have replaced it
            heads = conflicts.get(field, {}).get("heads") or []
            assert value == _shown(merged, field) or any(h["value"] == value for h in heads), (field, value, merged)
    # Deterministic and order-independent, plain values included.
    shuffled = list(leaves)
    rnd.shuffle(shuffled)
    assert merge(shuffled, POLICIES) == merged
    cut = rnd.randint(1, len(leaves))
    assert merge([merge(shuffled[:cut], POLICIES), *shuffled[cut:]], POLICIES) == merged


Plain = st.tuples(st.just("plain"), st.integers(0, 2), st.sampled_from(sorted(VALUES)), st.data())


@st.composite
def mixed_histories(draw):
    """``histories`` with plain clients too: some edits leave the stamps as they were."""
    devices = [Device(f"d{i}", skew_ms=draw(st.integers(-50_000, 50_000))) for i in range(3)]
    start = devices[0].edit(None, lambda d: d.update(copy.deepcopy(BASE)), T)
    replicas, states = [start] * 3, [start]
    for step, (op, i, x, data) in enumerate(draw(st.lists(st.one_of(Edit, Plain, Sync), min_size=1, max_size=14))):
        if op == "edit":
            replicas[i] = devices[i].edit(replicas[i], _set(x, data.draw(VALUES[x])), T + 1000 * (step + 1))
            states.append(replicas[i])
        elif op == "plain":
            replicas[i] = plain_edit(replicas[i], x, data.draw(VALUES[x]))
            states.append(replicas[i])
        elif i != x:
            replicas[x] = merge([replicas[x], replicas[i]], POLICIES)
            states.append(replicas[x])
    return states


def _values_only(doc: dict) -> dict:
    """``doc`` without what is looked up about unstamped heads (who, when, where: read from the body of
    the leaf that holds the value, which a merge changes), a known limit in docs/conflicts.md."""
    doc = copy.deepcopy(doc)
    for entry in doc.get("conflicts", {}).values():
        entry["heads"] = [h if h["stamp"] else {"value": h["value"], "stamp": ""} for h in entry["heads"]]
        entry["heads"] = [dict(t) for t in {tuple(sorted((k, repr(v)) for k, v in h.items())) for h in entry["heads"]}]
        entry["heads"].sort(key=repr)
    return doc


@settings(max_examples=150, deadline=None)
@given(mixed_histories(), st.randoms(use_true_random=False))
def test_with_plain_clients_any_order_and_grouping_gives_the_same_values(states, rnd):
    expected = merge(states, POLICIES)
    shuffled = list(states)
    rnd.shuffle(shuffled)
    assert merge(shuffled, POLICIES) == expected  # the same leaves in any order: the same document
    cut = rnd.randint(1, len(states))
    grouped = merge([merge(shuffled[:cut], POLICIES), *shuffled[cut:]], POLICIES)
    assert _values_only(grouped) == _values_only(expected)
    a, b, c = (states[-3:] if len(states) >= 3 else states * 3)[:3]
    left = merge([merge([a, b], POLICIES), c], POLICIES)
    assert _values_only(left) == _values_only(merge([a, merge([b, c], POLICIES)], POLICIES))


def test_a_plain_clients_value_over_a_replaced_stamp_is_a_competing_value():
    # The case of issue 25 without a server: the stamped side replaced the stamp the plain side still carries.
    start = ANA.edit(base(), answer("color", "blue"), T + 500)
    stamped = ANA.edit(start, answer("color", "green"), T + 1000)
    plain = plain_edit(start, "answers.color", "red")
    merged = merge([stamped, plain], POLICIES)
    assert merged["answers"]["color"] == "green"  # provisional: the stamped side
    (entry,) = open_conflicts(merged).values()
    assert [(h["value"], bool(h["stamp"])) for h in entry["heads"]] == [("red", False), ("green", True)]
    assert entry["heads"][0]["by"] == "ana"  # the record's author: a plain client says no more
    assert merged["stamps"]["answers.color"]["h"] == stamped["stamps"]["answers.color"]["h"]
    # Sequential edits keep working: a value the plain client did not touch is replaced as before,
    # and the one it changed is concurrent with the stamped one it overwrote (both texts kept).
    untouched = plain_edit(start, "answers.notes", "cat")
    merged = merge([stamped, untouched], POLICIES)
    assert merged["answers"]["color"] == "green" and "answers.color" not in merged.get("conflicts", {})
    assert merged["answers"]["notes"] == "cat\n\ndog"

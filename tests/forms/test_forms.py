"""Form definitions, the compiled validator, versions and the built-in templates."""

from __future__ import annotations

import copy

import pytest

from forms.definition import DefinitionError, check_definition
from forms.templates import DRIVES, published, template
from forms.validator import compile_form
from forms.versions import check_form_write, current_name, publish, undeclared_changes


def _form(**overrides) -> dict:
    """A small published form; overrides replace top-level keys."""
    defn = {
        "_id": "form:door@1",
        "type": "form",
        "form_id": "door",
        "status": "published",
        "version": 1,
        "title": {"en": "Door", "es": "Puerta"},
        "languages": ["en", "es"],
        "default_language": "en",
        "fields": [
            {"name": "outcome", "type": "select_one", "choices": "outcomes", "required": True,
             "label": {"en": "Outcome", "es": "Resultado"}},
            {"name": "age", "type": "integer", "min": 16, "max": 120, "relevant": "${outcome} = 'contacted'",
             "constraint": ". != 99", "constraint_message": {"en": "Not 99", "es": "No 99"},
             "label": {"en": "Age", "es": "Edad"}},
            {"name": "email", "type": "email", "label": {"en": "E-mail", "es": "Correo"}},
            {"name": "interests", "type": "select_multiple", "choices": "interests",
             "label": {"en": "Interests", "es": "Intereses"}},
            {"name": "code", "type": "text", "pattern": "[A-Z]{3}", "label": {"en": "Code", "es": "Código"}},
            {"name": "when", "type": "date", "min": "2026-01-01", "label": {"en": "When", "es": "Cuándo"}},
            {"name": "where", "type": "geopoint", "label": {"en": "Where", "es": "Dónde"}},
            {"name": "consent_sms", "type": "consent", "label": {"en": "SMS", "es": "SMS"},
             "consent_text": {"en": "May we text you?", "es": "¿Podemos enviarle mensajes?"}},
            {"name": "info", "type": "note", "label": {"en": "Thanks", "es": "Gracias"}},
            {"name": "people", "type": "repeat", "max_count": 3, "label": {"en": "People", "es": "Personas"},
             "fields": [
                 {"name": "person", "type": "text", "required": True, "label": {"en": "Name", "es": "Nombre"}},
                 {"name": "adult", "type": "select_one", "choices": "yes_no", "label": {"en": "Adult?", "es": "¿Adulto?"},
                  "relevant": "${outcome} = 'contacted'"},
             ]},
        ],
        "choices": {
            "outcomes": [{"value": "not_home", "label": {"en": "Not home"}}, {"value": "contacted", "label": {"en": "Contacted"}},
                         {"value": "old", "label": {"en": "Old"}, "retired": True}],
            "interests": [{"value": "food", "label": {"en": "Food"}}, {"value": "childcare", "label": {"en": "Childcare"}}],
            "yes_no": [{"value": "yes", "label": {"en": "Yes"}}, {"value": "no", "label": {"en": "No"}}],
        },
        "changes": [],
    }
    defn.update(overrides)
    return defn


def _record(**answers) -> dict:
    return {"_id": "record:1", "type": "record", "form": "form:door", "form_version": 1, "answers": answers,
            "geotag": {"lat": 41.9, "lon": -87.7, "accuracy_m": 8, "captured_at": "2026-11-20T18:00:00Z", "source": "gps"}}


# -- definitions --------------------------------------------------------------------------


def test_a_good_definition_has_no_problems():
    assert check_definition(_form()) == []


def _problems(defn) -> dict[str, str]:
    return {p.path: p.message for p in check_definition(defn)}


def test_bad_definitions_are_refused_with_where_and_why():
    defn = _form()
    defn["fields"] = copy.deepcopy(defn["fields"]) + [
        {"name": "outcome", "type": "text", "label": {"en": "Again"}},  # duplicate name
        {"name": "x1", "type": "select_one", "choices": "nope", "label": {"en": "X"}},  # missing list
        {"name": "x2", "type": "text", "relevant": "${ghost} = 1", "label": {"en": "X"}},  # unknown field
        {"name": "x3", "type": "text", "relevant": "${outcome} = = 'x'", "label": {"en": "X"}},  # does not parse
        {"name": "x4", "type": "barcode", "label": {"en": "X"}},  # unknown type
        {"name": "x5", "type": "text", "merge": "union", "label": {"en": "X"}},  # wrong policy for the type
        {"name": "x6", "type": "text", "label": {"es": "Sólo español"}},  # no default-language label
        {"name": "a", "type": "text", "relevant": "${b} != ''", "label": {"en": "A"}},
        {"name": "b", "type": "text", "relevant": "${a} != ''", "label": {"en": "B"}},  # a cycle
    ]
    found = _problems(defn)
    assert "used twice" in found["fields[10].name"]
    assert "'nope' does not exist" in found["fields[11].choices"]
    assert "${ghost}" in found["fields[12].relevant"]
    assert "does not parse" in found["fields[13].relevant"]
    assert "Unknown type 'barcode'" in found["fields[14].type"]
    assert "union is for select_multiple" in found["fields[15].merge"]
    assert "default language (en)" in found["fields[16].label"]
    assert "depends on itself" in found["fields[18].relevant"] and "a -> b -> a" in found["fields[18].relevant"]


def test_oversized_and_malformed_forms():
    huge = _form(fields=[{"name": f"f{i}", "type": "text", "label": {"en": "x" * 10}} for i in range(600)])
    assert "limit is 500" in _problems(huge)["fields"]
    assert check_definition(["not", "a", "form"])[0].message == "A form definition must be a JSON object"
    assert "Unknown key 'colour'" in _problems(_form(colour="red"))["colour"]
    assert "must be 'form:door@1'" in _problems(_form(_id="form:other@1"))["_id"]


# -- validation ---------------------------------------------------------------------------


def test_a_good_record_passes():
    validator = compile_form(_form())
    record = _record(outcome="contacted", age=30, email="ana@example.org", interests=["food"], code="ABC",
                     when="2026-11-20", where={"lat": 41.9, "lon": -87.7, "accuracy_m": 5},
                     consent_sms={"given": True, "language": "es", "text": "¿Podemos enviarle mensajes?"},
                     people=[{"person": "Ana", "adult": "yes"}])
    assert validator.validate(record) == {}


def test_every_problem_is_reported_at_once():
    validator = compile_form(_form())
    record = _record(outcome="contacted", age="thirty", email="not-an-email", interests=["food", "food"],
                     code="abc", when="2025-12-31", where={"lat": 91, "lon": 0}, colour="red",
                     consent_sms={"given": True, "language": "en", "text": "Something else"},
                     info="no answers on notes", people=[{"adult": "maybe"}, "x"])
    record["geotag"]["lat"] = 200
    problems = validator.validate(record)
    assert set(problems) == {
        "answers.age", "answers.email", "answers.interests", "answers.code", "answers.when", "answers.where",
        "answers.colour", "answers.consent_sms", "answers.info", "answers.people.0.person",
        "answers.people.0.adult", "answers.people.1", "geotag.lat",
    }
    assert problems["answers.age"] == ["Must be a whole number."]
    assert problems["answers.colour"] == ["This form has no such field."]
    assert problems["answers.people.0.person"] == ["An answer is required."]


def test_relevance_skips_and_ignores_answers():
    validator = compile_form(_form())
    # age is only asked when contacted: a wrong or out-of-range age is then ignored.
    assert validator.validate(_record(outcome="not_home", age="whatever")) == {}
    assert validator.validate(_record(outcome="contacted", age=10)) == {"answers.age": ["Must be at least 16."]}
    assert validator.validate(_record(outcome="contacted", age=99)) == {"answers.age": ["Not 99"]}
    # Inside a repeat, relevance sees the top-level answers too.
    assert validator.validate(_record(outcome="not_home", people=[{"person": "Ana", "adult": "bogus"}])) == {}


def test_required_values_and_choices():
    validator = compile_form(_form())
    assert validator.validate(_record()) == {"answers.outcome": ["An answer is required."]}
    assert validator.validate(_record(outcome="")) == {"answers.outcome": ["An answer is required."]}
    assert "not one of the choices" in validator.validate(_record(outcome="old"))["answers.outcome"][0]  # retired
    assert validator.validate(_record(outcome="not_home", people=[{"person": "a"}] * 4)) == {"answers.people": ["Takes at most 3 entries."]}


def test_messages_in_the_canvassers_language():
    validator = compile_form(_form())
    problems = validator.validate(_record(outcome="contacted", age=99, email="x"), "es")
    assert problems == {"answers.age": ["No 99"], "answers.email": ["Debe ser un correo electrónico."]}
    # An unknown language falls back to the form's default.
    assert validator.validate(_record(), "fr") == {"answers.outcome": ["An answer is required."]}


def test_record_must_name_this_version_and_have_answers():
    validator = compile_form(_form())
    record = _record(outcome="not_home")
    record["form_version"] = 2
    record["answers"] = "nope"
    assert set(validator.validate(record)) == {"form_version", "answers"}


def test_photo_answers_name_an_attachment():
    defn = _form(fields=[{"name": "photo", "type": "photo", "label": {"en": "Photo"}}], choices={})
    validator = compile_form(defn)
    record = _record(photo="door.jpg")
    assert validator.validate(record) == {"answers.photo": ["Must name a photo attached to the record."]}
    record["_attachments"] = {"door.jpg": {"content_type": "image/jpeg", "data": "AAAA"}}
    assert validator.validate(record) == {}


# -- versions -----------------------------------------------------------------------------


def test_publishing_needs_declared_changes():
    first = publish(template("meeting_awareness"), None)
    assert first["_id"] == "form:meeting_awareness@1" and first["version"] == 1 and first["status"] == "published"
    draft = template("meeting_awareness")
    draft["fields"] = draft["fields"] + [{"name": "childcare", "type": "select_one", "choices": "yes_no",
                                          "label": {"en": "Childcare?", "es": "¿Cuidado de niños?"}}]
    for field in draft["fields"]:
        if field["name"] == "concerns":
            field["name"] = "topics"
    draft["choices"]["rsvp"] = [c for c in draft["choices"]["rsvp"] if c["value"] != "maybe"]
    with pytest.raises(DefinitionError) as exc:
        publish(draft, first)
    messages = " ".join(p.message for p in exc.value.problems)
    assert "'childcare' is new" in messages and "'concerns' is gone" in messages and "'maybe' is no longer offered" in messages
    draft["changes"] = [{"op": "add", "field": "childcare"}, {"op": "rename", "from": "concerns", "to": "topics"},
                        {"op": "retire_choice", "list": "rsvp", "value": "maybe"}]
    second = publish(draft, first)
    assert second["_id"] == "form:meeting_awareness@2"
    assert undeclared_changes(first, second) == []
    assert current_name([first, second], 1, "concerns") == "topics"
    assert current_name([first, second], 2, "topics") == "topics"


def test_published_versions_never_change():
    version = published("recruitment")
    assert "cannot change" in check_form_write(version, {**version, "title": {"en": "New"}})[0].message
    assert check_form_write(template("recruitment"), template("recruitment")) == []


# -- templates ----------------------------------------------------------------------------


@pytest.mark.parametrize("drive", sorted(DRIVES))
def test_templates_are_good_forms_in_english_and_spanish(drive):
    defn = published(drive)
    assert check_definition(defn) == []
    assert defn["languages"] == ["en", "es"]
    for field in defn["fields"]:
        assert field["label"]["en"] and field["label"]["es"]
    outcome = defn["fields"][0]
    assert outcome["name"] == "outcome" and outcome["merge"] == "forward_only"
    values = [c["value"] for c in defn["choices"]["outcomes"]]
    assert {"not_home", "refused", "contacted", "moved", "inaccessible", "language_barrier", "do_not_knock"} <= set(values)
    assert values[-1] == "contacted"


def test_recruitment_template_takes_a_signup_with_consent_per_channel():
    validator = compile_form(published("recruitment"))
    texts = {f["name"]: f["consent_text"] for f in published("recruitment")["fields"][3]["fields"] if f["type"] == "consent"}
    assert set(texts) == {"consent_sms", "consent_email", "consent_call"}
    answers = {"outcome": "contacted", "interested": "yes", "full_name": "Ana Reyes", "phone": "(773) 555-0100",
               "email": "ana@example.org", "languages": ["es", "en"], "skills": ["translation"],
               "availability": ["weekends"]}
    answers.update({name: {"given": name != "consent_call", "language": "es", "text": text["es"]} for name, text in texts.items()})
    record = {"form": "form:recruitment", "form_version": 1, "answers": answers}
    assert validator.validate(record) == {}
    del answers["consent_sms"]
    assert validator.validate(record) == {"answers.consent_sms": ["An answer is required."]}


def test_today_is_the_day_the_record_was_made():
    defn = _form(fields=[{"name": "visit_day", "type": "date", "constraint": ". = today()",
                          "constraint_message": {"en": "Must be today"}, "label": {"en": "Visit day"}}], choices={})
    validator = compile_form(defn)
    record = _record(visit_day="2026-11-20")  # the geotag was captured on 2026-11-20
    assert validator.validate(record) == {}
    record["geotag"]["captured_at"] = "2026-11-21T00:01:00Z"
    assert validator.validate(record) == {"answers.visit_day": ["Must be today"]}

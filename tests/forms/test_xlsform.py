"""Tests for forms.xlsform: XLSForm workbooks in, Blockwalk draft forms out.

Every workbook is built here with openpyxl (no binary fixtures); a sheet is a
list of rows, the header first, so row N of a list is row N of the sheet.
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from forms.definition import check_definition
from forms.xlsform import XLSFormError, XLSFormProblem, import_xlsform


def xlsx(survey=None, choices=None, settings=None, **other) -> bytes:
    """An .xlsx workbook with the given sheets (None: no such sheet)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    sheets = {"survey": survey, "choices": choices, "settings": settings, **other}
    for title, rows in sheets.items():
        if rows is None:
            continue
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def refused(data, **kwargs) -> list[XLSFormProblem]:
    with pytest.raises(XLSFormError) as info:
        import_xlsform(data, **kwargs)
    return info.value.problems


def where(problems) -> set[tuple]:
    return {(p.sheet, p.row, p.column) for p in problems}


def only(problems) -> XLSFormProblem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


SETTINGS = [["form_id", "form_title"], ["canvass", "Canvass"]]
OUTCOMES = [
    ["list_name", "name", "label"],
    ["outcome", "not_home", "Not home"],
    ["outcome", "contacted", "Contacted"],
    ["outcome", "refused", "Refused"],
]


def one(rows, choices=None, settings=SETTINGS) -> dict:
    """Import a survey (header + rows) and return its definition."""
    return import_xlsform(xlsx(rows, choices, settings))


def by_name(fields: list) -> dict:
    found = {}
    for field in fields:
        found[field["name"]] = field
        found.update(by_name(field.get("fields", [])))
    return found


# --- the shape of the result --------------------------------------------------


def test_minimal_form_is_a_draft_definition():
    defn = one([["type", "name", "label"], ["text", "who", "Who answered?"]])
    assert defn == {
        "_id": "form:canvass",
        "type": "form",
        "form_id": "canvass",
        "status": "draft",
        "title": {"en": "Canvass"},
        "languages": ["en"],
        "default_language": "en",
        "fields": [{"name": "who", "type": "text", "label": {"en": "Who answered?"}}],
        "choices": {},
        "settings": {},
    }
    assert check_definition(defn) == []


def test_form_id_comes_from_settings_then_argument_then_file_name(tmp_path):
    survey = [["type", "name", "label"], ["text", "who", "Who?"]]
    assert import_xlsform(xlsx(survey, settings=SETTINGS), form_id="other")["_id"] == "form:other"
    path = tmp_path / "door_survey.xlsx"
    path.write_bytes(xlsx(survey))
    defn = import_xlsform(path)
    assert defn["form_id"] == "door_survey"
    assert defn["title"] == {"en": "door_survey"}  # no form_title: the form_id, as pyxform does
    assert import_xlsform(str(path), form_id="x1")["form_id"] == "x1"


def test_settings_version_and_geotag_accuracy():
    defn = one([["type", "name", "label"], ["text", "who", "Who?"]],
               settings=[["form_id", "form_title", "version", "geotag_accuracy_m"], ["f", "F", 2024051501, 25]])
    assert defn["settings"] == {"xlsform_version": "2024051501", "geotag_accuracy_m": 25}
    assert "version" not in defn  # a draft has none


def test_unnamed_sheets_are_left_alone_and_sheet_names_are_case_insensitive():
    data = xlsx(None, None, None, Survey=[["type", "name", "label"], ["text", "who", "Who?"]],
                Settings=SETTINGS, Instructions=[["Fill in the survey sheet"]])
    assert import_xlsform(data)["fields"][0]["name"] == "who"


# --- types ------------------------------------------------------------------------


ALL_TYPES = [
    ["type", "name", "label"],
    ["select_one outcome", "outcome", "What happened?"],
    ["text", "notes", "Notes"],
    ["integer", "adults", "Adults"],
    ["decimal", "rent", "Rent"],
    ["select_multiple topics", "topics", "Topics"],
    ["date", "visit_date", "Date"],
    ["time", "visit_time", "Time"],
    ["geopoint", "where", "Where"],
    ["image", "door_photo", "Photo of the door"],
    ["photo", "sign_photo", "Photo of the sign"],
    ["note", "thanks", "Thank them"],
    ["phone", "phone", "Phone"],
    ["email", "email", "E-mail"],
    ["consent", "consent", "I agree to be contacted"],
    ["begin group", "household", "Household"],
    ["text", "head", "Head of household"],
    ["end group", "", ""],
    ["begin repeat", "people", "People"],
    ["text", "person", "Name"],
    ["end repeat"],
]
TOPICS = OUTCOMES + [["topics", "housing", "Housing"], ["topics", "transit", "Transit"]]


def test_every_type():
    defn = one(ALL_TYPES, TOPICS)
    fields = by_name(defn["fields"])
    assert {name: f["type"] for name, f in fields.items()} == {
        "outcome": "select_one", "notes": "text", "adults": "integer", "rent": "decimal",
        "topics": "select_multiple", "visit_date": "date", "visit_time": "time", "where": "geopoint",
        "door_photo": "photo", "sign_photo": "photo", "thanks": "note", "phone": "phone", "email": "email",
        "consent": "consent", "household": "group", "head": "text", "people": "repeat", "person": "text",
    }
    assert fields["outcome"]["choices"] == "outcome"
    assert fields["topics"]["choices"] == "topics"
    assert fields["consent"]["consent_text"] == {"en": "I agree to be contacted"}
    assert fields["consent"]["label"] == {"en": "I agree to be contacted"}
    assert [f["name"] for f in fields["household"]["fields"]] == ["head"]
    assert [f["name"] for f in fields["people"]["fields"]] == ["person"]
    assert defn["choices"]["topics"] == [
        {"value": "housing", "label": {"en": "Housing"}}, {"value": "transit", "label": {"en": "Transit"}},
    ]
    assert check_definition(defn) == []


def test_type_spellings():
    defn = one([
        ["type", "name", "label"],
        ["select one outcome", "a", "A"],
        ["select multiple outcome", "b", "B"],
        ["begin_group", "g", "G"], ["Text", "c", "C"], ["end_group"],
        ["begin_repeat", "r", "R"], ["integer", "d", "D"], ["end_repeat"],
    ], OUTCOMES)
    assert [(f["name"], f["type"]) for f in defn["fields"]] == [
        ("a", "select_one"), ("b", "select_multiple"), ("g", "group"), ("r", "repeat")]


def test_nested_groups_and_repeats():
    defn = one([
        ["type", "name", "label", "relevant"],
        ["select_one outcome", "outcome", "Outcome", ""],
        ["begin group", "visit", "Visit", "${outcome} = 'contacted'"],
        ["begin repeat", "assets", "Assets", ""],
        ["text", "asset_name", "Name", ""],
        ["begin group", "location", "", ""],
        ["geopoint", "asset_where", "Where", ""],
        ["begin repeat", "contacts", "Contacts", ""],
        ["phone", "contact_phone", "Phone", ""],
        ["end repeat", "contacts", "", ""],
        ["end group", "location", "", ""],
        ["end repeat", "", "", ""],
        ["text", "summary", "Summary", ""],
        ["end group", "", "", ""],
        ["note", "bye", "Thanks", ""],
    ], OUTCOMES)
    assert [f["name"] for f in defn["fields"]] == ["outcome", "visit", "bye"]
    visit = defn["fields"][1]
    assert visit["relevant"] == "${outcome} = 'contacted'"
    assert "label" not in visit["fields"][0]["fields"][1]  # a group without a label is fine
    assert [f["name"] for f in visit["fields"]] == ["assets", "summary"]
    assets = visit["fields"][0]
    assert assets["type"] == "repeat"
    assert [f["name"] for f in assets["fields"]] == ["asset_name", "location"]
    location = assets["fields"][1]
    assert [f["name"] for f in location["fields"]] == ["asset_where", "contacts"]
    assert location["fields"][1]["fields"] == [
        {"name": "contact_phone", "type": "phone", "label": {"en": "Phone"}}]
    assert check_definition(defn) == []


# --- columns ----------------------------------------------------------------------


def test_every_survey_column():
    defn = one([
        ["type", "name", "label", "hint", "required", "required_message", "relevant", "constraint",
         "constraint_message", "default", "appearance", "parameters", "merge", "min", "max",
         "min_length", "max_length", "pattern", "pattern_message", "repeat_count", "min_count", "max_count",
         "choice_filter"],
        ["select_one outcome", "outcome", "Outcome", "Ask first", "yes", "Say what happened", "", "",
         "", "not_home", "minimal", "", "forward_only"],
        ["integer", "adults", "Adults", "", "TRUE()", "", "${outcome} = 'contacted'", ". >= 0 and . <= 20",
         "0 to 20", 1, "", "", "last_writer", 0, 20],
        ["decimal", "rent", "Rent", "", "no", "", "", "", "", 450.5, "", "", "", 0, 9999.99],
        ["date", "visit_date", "Date", "", "false", "", "", "", "", dt.datetime(2024, 5, 1), "", "", "",
         dt.datetime(2024, 1, 1), "2024-12-31"],
        ["time", "visit_time", "Time", "", "", "", "", "", "", dt.time(9, 30)],
        ["text", "notes", "Notes", "", "", "", "", "", "", "none", "multiline", "", "keep_both", "", "",
         2, 200, "[A-Za-z ]*", "Letters only"],
        ["select_multiple topics", "topics", "Topics", "", "", "", "", "", "", "housing transit", "", "", "union"],
        ["geopoint", "where", "Where", "", "true", "", "", "", "", "", "", "capture-accuracy=15", "best_accuracy"],
        ["begin repeat", "people", "People", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
         3],
        ["text", "person", "Name"],
        ["end repeat"],
        ["begin repeat", "pets", "Pets", "", "", "", "", "", "", "", "field-list", "", "", "", "", "", "", "",
         "", "", 0, 5],
        ["text", "pet", "Name"],
        ["end repeat"],
    ], TOPICS)
    f = by_name(defn["fields"])
    assert f["outcome"] == {
        "name": "outcome", "type": "select_one", "choices": "outcome", "label": {"en": "Outcome"},
        "hint": {"en": "Ask first"}, "required": True, "required_message": {"en": "Say what happened"},
        "default": "not_home", "appearance": "minimal", "merge": "forward_only",
    }
    assert f["adults"] == {
        "name": "adults", "type": "integer", "label": {"en": "Adults"}, "required": True,
        "relevant": "${outcome} = 'contacted'", "constraint": ". >= 0 and . <= 20",
        "constraint_message": {"en": "0 to 20"}, "default": 1, "merge": "last_writer", "min": 0, "max": 20,
    }
    assert f["rent"] == {"name": "rent", "type": "decimal", "label": {"en": "Rent"}, "default": 450.5,
                         "min": 0, "max": 9999.99}
    assert f["visit_date"] == {"name": "visit_date", "type": "date", "label": {"en": "Date"},
                               "default": "2024-05-01", "min": "2024-01-01", "max": "2024-12-31"}
    assert f["visit_time"]["default"] == "09:30"
    assert f["notes"] == {"name": "notes", "type": "text", "label": {"en": "Notes"}, "default": "none",
                          "appearance": "multiline", "merge": "keep_both", "min_length": 2, "max_length": 200,
                          "pattern": "[A-Za-z ]*", "pattern_message": {"en": "Letters only"}}
    assert f["topics"]["default"] == ["housing", "transit"]
    assert f["topics"]["merge"] == "union"
    assert f["where"] == {"name": "where", "type": "geopoint", "label": {"en": "Where"}, "required": True,
                          "accuracy_m": 15, "merge": "best_accuracy"}
    assert (f["people"]["min_count"], f["people"]["max_count"]) == (3, 3)
    assert (f["pets"]["min_count"], f["pets"]["max_count"], f["pets"]["appearance"]) == (0, 5, "field-list")
    assert check_definition(defn) == []


@pytest.mark.parametrize("cell, expected", [
    ("yes", True), ("Yes", True), ("true", True), ("TRUE()", True), ("true()", True), (True, True), (1, True),
    ("no", False), ("false", False), ("FALSE()", False), (False, False), (0, False), ("", False),
])
def test_required_spellings(cell, expected):
    defn = one([["type", "name", "label", "required"], ["text", "who", "Who?", cell]])
    assert defn["fields"][0].get("required", False) is expected


def test_a_formula_cell_true_counts_and_an_empty_unknown_column_is_harmless():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(["type", "name", "label", "required", "calculation", "media::image"])
    ws.append(["text", "who", "Who?", "=TRUE()"])
    settings = wb.create_sheet("settings")
    for row in SETTINGS:
        settings.append(row)
    out = io.BytesIO()
    wb.save(out)
    assert import_xlsform(out.getvalue())["fields"][0]["required"] is True


def test_choice_values_that_are_numbers_become_strings():
    defn = one([["type", "name", "label", "default"], ["select_one rating", "rating", "Rating", 2]],
               [["list_name", "name", "label"], ["rating", 1, "Bad"], ["rating", 2, "OK"], ["rating", 3.0, "Good"]])
    assert [c["value"] for c in defn["choices"]["rating"]] == ["1", "2", "3"]
    assert defn["fields"][0]["default"] == "2"


def test_headers_are_read_loosely():
    defn = one([["Type", "Name", "Label", "Constraint Message", "Constraint"],
                ["integer", "n", "N", "Too big", ". < 10"]],
               settings=[["form_id", "form title"], ["f", "F"]])
    assert defn["fields"][0]["constraint_message"] == {"en": "Too big"}
    assert defn["title"] == {"en": "F"}


# --- translations -------------------------------------------------------------------


def test_translations_english_and_spanish():
    defn = import_xlsform(xlsx(
        [
            ["type", "name", "label::English (en)", "label::Español (es)", "hint::English (en)", "hint::Español (es)",
             "constraint", "constraint_message::English (en)", "constraint_message::Español (es)", "required",
             "required_message::English (en)", "required_message::Español (es)"],
            ["select_one outcome", "outcome", "What happened?", "¿Qué pasó?", "At the door", "En la puerta",
             "", "", "", "yes", "Required", "Obligatorio"],
            ["integer", "adults", "Adults", "Adultos", "", "", ". < 20", "Too many", "Demasiados"],
            ["consent", "consent", "I agree", "Estoy de acuerdo"],
        ],
        [["list_name", "name", "label::English (en)", "label::Español (es)"],
         ["outcome", "not_home", "Not home", "No está en casa"],
         ["outcome", "contacted", "Contacted", "Contactado"]],
        [["form_id", "form_title::English (en)", "form_title::Español (es)", "default_language"],
         ["asset_mapping", "Community assets", "Recursos comunitarios", "English (en)"]],
    ))
    assert defn["languages"] == ["en", "es"]
    assert defn["default_language"] == "en"
    assert defn["title"] == {"en": "Community assets", "es": "Recursos comunitarios"}
    outcome, adults, consent = defn["fields"]
    assert outcome["label"] == {"en": "What happened?", "es": "¿Qué pasó?"}
    assert outcome["hint"] == {"en": "At the door", "es": "En la puerta"}
    assert outcome["required_message"] == {"en": "Required", "es": "Obligatorio"}
    assert adults["constraint_message"] == {"en": "Too many", "es": "Demasiados"}
    assert consent["consent_text"] == {"en": "I agree", "es": "Estoy de acuerdo"}
    assert defn["choices"]["outcome"][0] == {"value": "not_home", "label": {"en": "Not home", "es": "No está en casa"}}
    assert check_definition(defn) == []


def test_plain_columns_are_the_default_language():
    # No default_language: plain columns are English.
    defn = one([["type", "name", "label", "label::Español (es)"], ["text", "who", "Who?", "¿Quién?"]])
    assert (defn["languages"], defn["default_language"]) == (["en", "es"], "en")
    assert defn["fields"][0]["label"] == {"en": "Who?", "es": "¿Quién?"}
    # default_language names the plain columns' language.
    defn = one([["type", "name", "label", "label::English (en)"], ["text", "who", "¿Quién?", "Who?"]],
               settings=[["form_id", "form_title", "default_language"], ["f", "Puerta", "es"]])
    assert (defn["languages"], defn["default_language"]) == (["es", "en"], "es")
    assert defn["fields"][0]["label"] == {"es": "¿Quién?", "en": "Who?"}
    assert defn["title"] == {"es": "Puerta"}
    # Only translated columns, no default_language: the first language.
    defn = one([["type", "name", "label::es", "label::en"], ["text", "who", "¿Quién?", "Who?"]],
               settings=[["form_id"], ["f"]])
    assert (defn["languages"], defn["default_language"]) == (["es", "en"], "es")
    assert defn["title"] == {"es": "f"}
    assert check_definition(defn) == []


def test_a_missing_translation_is_allowed_but_the_default_language_is_not():
    defn = one([["type", "name", "label::English (en)", "label::Español (es)"],
                ["text", "who", "Who?", ""]],
               settings=[["form_id", "default_language"], ["f", "English (en)"]])
    assert defn["fields"][0]["label"] == {"en": "Who?"}
    problem = only(refused(xlsx([["type", "name", "label::English (en)", "label::Español (es)"],
                                 ["text", "who", "", "¿Quién?"]],
                                settings=[["form_id", "default_language"], ["f", "English (en)"]])))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 2, "label::English (en)")
    assert "default language (en)" in problem.message


# --- refusals ---------------------------------------------------------------------------


def test_problems_are_all_reported_at_once_with_a_readable_message():
    data = xlsx([
        ["type", "name", "label", "relevant"],
        ["text", "who", "Who?", ""],
        ["calculate", "total", "", ""],
        ["text", "who", "Again", ""],
        ["integer", "", "Count", ""],
        ["text", "why", "Why?", "${nobody} = 'x'"],
    ], settings=SETTINGS)
    with pytest.raises(XLSFormError) as info:
        import_xlsform(data)
    problems = info.value.problems
    assert where(problems) == {("survey", 3, "type"), ("survey", 4, "name"), ("survey", 5, "name"),
                               ("survey", 6, "relevant")}
    text = str(info.value)
    assert text.startswith("The XLSForm cannot be imported (4 problems):")
    assert "sheet survey, row 3, column 'type': Type calculate is not supported" in text
    assert "already used in row 2" in text
    assert [p.row for p in problems] == [3, 4, 5, 6]
    assert problems[0].as_dict() == {"sheet": "survey", "row": 3, "column": "type",
                                     "message": problems[0].message}


def test_missing_survey_sheet():
    problem = only(refused(xlsx(None, settings=SETTINGS)))
    assert (problem.sheet, problem.row, problem.column) == ("survey", None, None)


def test_missing_choices_sheet():
    problem = only(refused(xlsx([["type", "name", "label"], ["select_one outcome", "o", "O"],
                                 ["select_multiple topics", "t", "T"]], settings=SETTINGS)))
    assert (problem.sheet, problem.row) == ("choices", None)
    assert "survey rows 2, 3" in problem.message


def test_select_whose_list_is_missing():
    problem = only(refused(xlsx([["type", "name", "label"], ["text", "a", "A"], ["select_one outcomes", "o", "O"]],
                                OUTCOMES, SETTINGS)))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, "type")
    assert "'outcomes'" in problem.message


@pytest.mark.parametrize("type_cell, words", [
    ("calculate", "no computed fields"),
    ("start", "metadata"),
    ("deviceid", "metadata"),
    ("range", "range is not supported"),
    ("geotrace", "geopoint only"),
    ("select_one_from_file places.csv", "choices sheet"),
    ("select_one outcome or_other", "or_other"),
    ("select_one", "needs a choice list"),
    ("barcode", "barcode"),
    ("hologram", "Unknown type 'hologram'"),
])
def test_unsupported_types(type_cell, words):
    problem = only(refused(xlsx([["type", "name", "label"], ["text", "a", "A"], [type_cell, "x", "X"]],
                                OUTCOMES, SETTINGS)))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, "type")
    assert words in problem.message


def test_choice_filter_is_refused():
    problem = only(refused(xlsx(
        [["type", "name", "label", "choice_filter"],
         ["select_one region", "region", "Region", ""],
         ["select_one district", "district", "District", "region = ${region}"]],
        [["list_name", "name", "label", "region"], ["region", "n", "North", ""], ["region", "s", "South", ""],
         ["district", "d1", "One", ""], ["district", "d2", "Two", ""]],
        SETTINGS)))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 3, "choice_filter")
    assert "choice_filter is not supported" in problem.message


def test_unbalanced_groups_and_repeats():
    problems = refused(xlsx([
        ["type", "name", "label"],
        ["end group", "", ""],
        ["begin group", "g", "G"],
        ["text", "a", "A"],
        ["end repeat", "", ""],
        ["end group", "other", ""],
        ["begin repeat", "r", "R"],
        ["text", "b", "B"],
    ], settings=SETTINGS))
    assert where(problems) == {("survey", 2, "type"), ("survey", 5, "type"), ("survey", 6, "name"),
                               ("survey", 7, "type")}
    messages = {p.row: p.message for p in problems}
    assert "without a begin group" in messages[2]
    assert "closes begin group g (row 3)" in messages[5]
    assert "names 'other'" in messages[6]
    assert "has no end repeat" in messages[7]


def test_empty_group_and_end_row_with_a_label():
    problems = refused(xlsx([["type", "name", "label"], ["text", "a", "A"], ["begin group", "g", "G"],
                             ["end group", "", "Oops"]], settings=SETTINGS))
    assert where(problems) == {("survey", 3, "type"), ("survey", 4, "label")}


def test_duplicate_names():
    problems = refused(xlsx([
        ["type", "name", "label"],
        ["text", "a", "A"],
        ["begin repeat", "r", "R"],
        ["text", "a", "A again"],
        ["end repeat"],
        ["text", "r", "R again"],
        ["select_one outcome", "o", "O"],
    ], OUTCOMES + [["outcome", "contacted", "Again"]], SETTINGS))
    assert where(problems) == {("survey", 4, "name"), ("survey", 6, "name"), ("choices", 5, "name")}


def test_missing_name_type_and_columns():
    problems = refused(xlsx([["type", "name", "label"], ["text", "", "A"], ["", "b", "B"]], settings=SETTINGS))
    assert where(problems) == {("survey", 2, "name"), ("survey", 3, "type")}
    problems = refused(xlsx([["type", "label"], ["text", "A"]], settings=SETTINGS))
    assert where(problems) == {("survey", 1, "name")}
    problems = refused(xlsx([["type", "name", "label"], ["select_one l", "a", "A"]],
                            [["list_name", "label"], ["l", "A"]], SETTINGS))
    assert ("choices", 1, "name") in where(problems)


def test_bad_names():
    problems = refused(xlsx([["type", "name", "label"], ["text", "first name", "A"], ["text", "1st", "B"],
                             ["select_one bad-list", "c", "C"]],
                            [["list_name", "name", "label"], ["bad-list", "x", "X"], ["ok", "has space", "Y"]],
                            [["form_id"], ["asset-mapping"]]))
    assert where(problems) == {("survey", 2, "name"), ("survey", 3, "name"), ("survey", 4, "type"),
                               ("choices", 2, "list_name"), ("choices", 3, "name"), ("settings", 2, "form_id")}


def test_unknown_columns_with_values_are_refused():
    problems = refused(xlsx(
        [["type", "name", "label", "calculation", "read_only", "media::image", "label::English"],
         ["text", "a", "A", "", "", "", ""],
         ["text", "b", "B", "1 + 1", "yes", "door.jpg", ""],
         ["text", "c", "C", "", "yes", "", ""]],
        [["list_name", "name", "label", "image"], ["l", "x", "X", "x.png"]],
        [["form_id", "instance_name"], ["f", "concat(${a})"]]))
    assert where(problems) == {("survey", 3, "calculation"), ("survey", 3, "read_only"),
                               ("survey", 3, "media::image"), ("survey", 1, "label::English"),
                               ("choices", 2, "image"), ("settings", 2, "instance_name")}
    read_only = next(p for p in problems if p.column == "read_only")
    assert "rows 3, 4" in read_only.message
    language = next(p for p in problems if p.column == "label::English")
    assert "label::English (xx)" in language.message


def test_a_translated_column_that_cannot_be_translated():
    problem = only(refused(xlsx([["type", "name", "label", "relevant::es"], ["text", "a", "A", "true()"]],
                                settings=SETTINGS)))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 2, "relevant::es")


def test_plain_and_default_language_columns_collide():
    problem = only(refused(xlsx([["type", "name", "label", "label::Español (es)"], ["text", "a", "A", "A"]],
                                settings=[["form_id", "default_language"], ["f", "Español (es)"]])))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 1, "label::Español (es)")
    problem = only(refused(xlsx([["type", "name", "label", "label::English (en)"], ["text", "a", "A", "A"]],
                                settings=SETTINGS)))
    assert (problem.sheet, problem.column) == ("settings", "default_language")


def test_xlsform_expressions_are_kept_as_written():
    defn = one([
        ["type", "name", "label", "relevant", "constraint"],
        ["select_multiple topics", "topics", "Topics", "", "count-selected(.) <= 2"],
        ["text", "zip", "ZIP", "selected(${topics}, 'housing')", "regex(., '^[0-9]{5}$')"],
        ["date", "moved_in", "Moved in", "${zip} != ''", ". <= today()"],
        ["integer", "years", "Years", "TRUE()", "string-length(string(.)) < 3 and . >= 0"],
        ["text", "why", "Why?", "${years} > 2 or\n${zip} = 'TRUE()'", ""],
    ], TOPICS)
    f = by_name(defn["fields"])
    assert f["topics"]["constraint"] == "count-selected(.) <= 2"
    assert f["zip"]["relevant"] == "selected(${topics}, 'housing')"
    assert f["zip"]["constraint"] == "regex(., '^[0-9]{5}$')"
    assert f["moved_in"]["constraint"] == ". <= today()"
    assert f["years"]["relevant"] == "true()"  # spreadsheets capitalise it; the language does not
    assert f["why"]["relevant"] == "${years} > 2 or\n${zip} = 'TRUE()'"  # quoted text is left alone
    assert check_definition(defn) == []


def test_bad_expressions():
    problems = refused(xlsx([
        ["type", "name", "label", "relevant", "constraint"],
        ["integer", "a", "A", "", ". >"],
        ["text", "b", "B", "${a} == 3", ""],
        ["text", "c", "C", "${nobody} > 1", ""],
        ["date", "d", "D", "", ". < now()"],
        ["text", "e", "E", "jr:choice-name(${a}, '${a}') = 'x'", ""],
    ], settings=SETTINGS))
    assert where(problems) == {("survey", 2, "constraint"), ("survey", 3, "relevant"), ("survey", 4, "relevant"),
                               ("survey", 5, "constraint"), ("survey", 6, "relevant")}
    messages = {p.row: p.message for p in problems}
    assert "does not parse" in messages[2]
    assert "use '=' to compare" in messages[3]
    assert "${nobody}" in messages[4]
    assert "now()" in messages[5]


def test_bad_cells():
    problems = refused(xlsx([
        ["type", "name", "label", "required", "default", "merge", "min", "max", "parameters", "repeat_count",
         "constraint_message", "pattern"],
        ["text", "a", "A", "${b} = 'x'", "", "", "", "", "", "", "", ""],
        ["integer", "b", "B", "", "many", "union", "", "", "", "", "", ""],
        ["integer", "c", "C", "", "", "sometimes", 10, 5, "", "", "No", ""],
        ["text", "d", "D", "", "", "", 1, "", "", "", "", "("],
        ["geopoint", "e", "E", "", "", "", "", "", "warning-accuracy=5", "", "", ""],
        ["begin repeat", "f", "F", "", "", "", "", "", "", "${b}", "", ""],
        ["text", "g", "G with ${a}"],
        ["end repeat"],
        ["select_one outcome", "h", "H", "", "maybe", "", "", "", "", "", "", ""],
        ["date", "i", "I", "", "today()", "", "yesterday", "", "", "", "", ""],
    ], OUTCOMES, SETTINGS))
    assert where(problems) == {
        ("survey", 2, "required"),
        ("survey", 3, "default"), ("survey", 3, "merge"),
        ("survey", 4, "merge"), ("survey", 4, "max"), ("survey", 4, "constraint_message"),
        ("survey", 5, "min"), ("survey", 5, "pattern"),
        ("survey", 6, "parameters"),
        ("survey", 7, "repeat_count"),
        ("survey", 8, "label"),
        ("survey", 10, "default"),
        ("survey", 11, "default"), ("survey", 11, "min"),
    }
    messages = {(p.row, p.column): p.message for p in problems}
    assert "min does not apply to a text row" == messages[(5, "min")]
    assert "union is for select_multiple" in messages[(3, "merge")]
    assert "not a choice of 'outcome'" in messages[(10, "default")]
    assert "computed" in messages[(11, "default")]


def test_settings_problems():
    problems = refused(xlsx([["type", "name", "label"], ["text", "a", "A"]],
                            settings=[["form_id", "default_language", "geotag_accuracy_m"],
                                      ["f", "Klingon", -1], ["g", "", ""]]))
    assert where(problems) == {("settings", 2, "default_language"), ("settings", 2, "geotag_accuracy_m"),
                               ("settings", 3, None)}
    problem = only(refused(xlsx([["type", "name", "label"], ["text", "a", "A"]])))
    assert (problem.sheet, problem.column) == ("settings", "form_id")
    problem = only(refused(xlsx([["type", "name", "label"], ["text", "a", "A"]], settings=SETTINGS), form_id="no way"))
    assert (problem.sheet, problem.row, problem.column) == (None, None, "form_id")


def test_choice_rows():
    problems = refused(xlsx([["type", "name", "label"], ["select_one l", "a", "A"]],
                            [["list_name", "name", "label"], ["l", "x", "X"], ["", "y", "Y"], ["l", "", "Z"],
                             ["l", "w", ""]], SETTINGS))
    assert where(problems) == {("choices", 3, "list_name"), ("choices", 4, "name"), ("choices", 5, "label")}


def test_a_column_without_a_header():
    problem = only(refused(xlsx([["type", "name", "label"], ["text", "a", "A", "stray"]], settings=SETTINGS)))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 2, None)
    assert "Column D" in problem.message


def test_a_formula_without_a_saved_value():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    ws.append(["type", "name", "label"])
    ws.append(["text", "a", '=CONCAT("A", "B")'])
    out = io.BytesIO()
    wb.save(out)
    problems = refused(out.getvalue(), form_id="f")
    assert ("survey", 2, "label") in where(problems)


def test_problems_found_by_check_definition_are_located():
    # Nesting deeper than Blockwalk allows is found by check_definition; the import names the row.
    rows = [["type", "name", "label"]]
    for depth in range(6):
        rows.append(["begin group", f"g{depth}", ""])
    rows.append(["text", "deep", "Deep"])
    rows += [["end group"]] * 6
    problem = only(refused(xlsx(rows, settings=SETTINGS)))
    assert (problem.sheet, problem.row, problem.column) == ("survey", 6, "type")
    assert "nest" in problem.message


@pytest.mark.parametrize("data, words", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
    (b"type,name,label\ntext,a,A\n", "not an .xlsx"),
    (b"PK\x03\x04 broken", "not a readable"),
])
def test_not_a_workbook(data, words):
    problem = only(refused(data))
    assert (problem.sheet, problem.row, problem.column) == (None, None, None)
    assert words in problem.message


def test_a_missing_file(tmp_path):
    problem = only(refused(tmp_path / "nope.xlsx"))
    assert "cannot be read" in problem.message


# --- a realistic form --------------------------------------------------------------------


ASSET_MAPPING = {
    "survey": [
        ["type", "name", "label::English (en)", "label::Español (es)", "hint::English (en)", "hint::Español (es)",
         "required", "relevant", "constraint", "constraint_message::English (en)",
         "constraint_message::Español (es)", "appearance", "parameters", "merge", "default", "max_length"],
        ["select_one outcomes", "outcome", "What happened at the door?", "¿Qué pasó en la puerta?", "", "",
         "yes", "", "", "", "", "", "", "forward_only"],
        ["consent", "consent", "I agree that Blockwalk records my answers.",
         "Acepto que Blockwalk registre mis respuestas.", "", "", "yes", "${outcome} = 'contacted'"],
        ["begin group", "contact", "Contact", "Contacto", "", "", "", "${outcome} = 'contacted'"],
        ["text", "resident_name", "Name", "Nombre", "", "", "", "", "", "", "", "", "", "keep_both", "", 100],
        ["phone", "resident_phone", "Phone", "Teléfono", "Optional", "Opcional"],
        ["email", "resident_email", "E-mail", "Correo electrónico"],
        ["select_multiple languages", "spoken", "Languages spoken", "Idiomas", "", "", "", "", "", "", "", "",
         "", "", "en"],
        ["end group"],
        ["begin repeat", "assets", "Assets at this address", "Recursos en esta dirección", "", "", "",
         "${outcome} = 'contacted'"],
        ["text", "asset_name", "Name of the asset", "Nombre del recurso", "", "", "yes", "", "string-length(.) >= 2",
         "At least 2 letters", "Al menos 2 letras", "", "", "", "", 200],
        ["select_one asset_kinds", "asset_kind", "Kind of asset", "Tipo de recurso", "", "", "yes"],
        ["integer", "capacity", "How many people can it serve?", "¿A cuántas personas puede servir?", "", "", "",
         "", ". >= 0 and . <= 10000", "At most 10,000", "Como máximo 10.000"],
        ["geopoint", "asset_location", "Location", "Ubicación", "Wait for a good fix", "Espere una buena señal",
         "", "", "", "", "", "", "capture-accuracy=20"],
        ["image", "asset_photo", "Photo", "Foto", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["end repeat"],
        ["date", "follow_up", "Follow up on", "Seguimiento el", "", "", "",
         "${outcome} != 'refused' and not(selected(${spoken}, 'es'))", ". >= today()", "Not in the past",
         "No en el pasado"],
        ["note", "thanks", "Thank the resident.", "Agradezca al residente."],
    ],
    "choices": [
        ["list_name", "name", "label::English (en)", "label::Español (es)"],
        ["outcomes", "not_home", "Not home", "No está en casa"],
        ["outcomes", "contacted", "Contacted", "Contactado"],
        ["outcomes", "refused", "Refused", "Rechazó"],
        ["asset_kinds", "food_bank", "Food bank", "Banco de alimentos"],
        ["asset_kinds", "clinic", "Clinic", "Clínica"],
        ["asset_kinds", "park", "Park", "Parque"],
        ["languages", "en", "English", "Inglés"],
        ["languages", "es", "Spanish", "Español"],
    ],
    "settings": [
        ["form_id", "form_title::English (en)", "form_title::Español (es)", "default_language", "version",
         "geotag_accuracy_m"],
        ["asset_mapping", "Community assets", "Recursos comunitarios", "English (en)", "1", 30],
    ],
}


def test_realistic_asset_mapping_form(tmp_path):
    path = tmp_path / "asset mapping.xlsx"
    path.write_bytes(xlsx(**ASSET_MAPPING))
    defn = import_xlsform(path)
    assert check_definition(defn) == []
    assert defn["_id"] == "form:asset_mapping"
    assert defn["title"] == {"en": "Community assets", "es": "Recursos comunitarios"}
    assert defn["languages"] == ["en", "es"]
    assert defn["settings"] == {"xlsform_version": "1", "geotag_accuracy_m": 30}
    assert [f["name"] for f in defn["fields"]] == ["outcome", "consent", "contact", "assets", "follow_up", "thanks"]
    assets = by_name(defn["fields"])["assets"]
    assert [f["name"] for f in assets["fields"]] == [
        "asset_name", "asset_kind", "capacity", "asset_location", "asset_photo"]
    assert assets["fields"][3]["accuracy_m"] == 20
    assert assets["fields"][4]["type"] == "photo"
    assert by_name(defn["fields"])["spoken"]["default"] == ["en"]
    assert list(defn["choices"]) == ["outcomes", "asset_kinds", "languages"]


def test_a_text_field_marked_as_a_concern():
    """A `concern` column makes a text answer a concern to raise at a meeting (docs/follow-up.md)."""
    defn = one([["type", "name", "label", "concern"], ["text", "worries", "Worries?", "yes"], ["text", "note", "Note", "no"]])
    assert [f.get("concern") for f in defn["fields"]] == [True, None]
    assert check_definition(defn) == []

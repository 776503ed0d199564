"""The roster's pure core: phones, e-mails, names, who is the same person, consent, presets."""

from __future__ import annotations

import random

from server.people import roster
from server.people.roster import PRESETS, normalize_email, normalize_phone, people, signup_from_record, similar_names
from tests.factories import CONSENT_TEXT, signup_record


def roster_of(*docs) -> list[roster.Person]:
    return people([s for d in docs if (s := signup_from_record(d))], "US")


def test_phones_become_e164_in_the_campaigns_region_and_bad_ones_are_refused():
    assert normalize_phone("(773) 555-0123", "US") == "+17735550123"
    assert normalize_phone("773.555.0123", "us") == "+17735550123"
    assert normalize_phone("+48 601 234 567", "US") == "+48601234567"  # a country code beats the region
    assert normalize_phone("601 234 567", "PL") == "+48601234567"
    assert normalize_phone("555-0123", "US") is None  # no area code: not a number anyone can dial
    assert normalize_phone("12", "US") is None
    assert normalize_phone("", "US") is None and normalize_phone(None, "US") is None


def test_emails_are_checked_without_dns_and_normalised():
    assert normalize_email("Ana.Reyes@Example.ORG ") == ("Ana.Reyes@example.org", None)
    address, why = normalize_email("ana@@example")
    assert address is None and why
    assert normalize_email("") == (None, None)


def test_similar_names():
    key = roster.name_key
    assert key("  Tomás  O'Neil ") == "tomas o neil"
    assert similar_names(key("Ana Reyes"), key("ana  reyes"))
    assert similar_names(key("Ana Reyes"), key("Ana María Reyes"))
    assert similar_names(key("Marta Nowak"), key("Martha Nowak"))
    assert not similar_names(key("Ana Reyes"), key("Luis Reyes"))
    assert not similar_names(key("Ana"), key("Ana Reyes"))  # one word is not enough to be the same person
    assert not similar_names("", "")


def test_only_records_naming_an_interested_volunteer_are_sign_ups():
    assert signup_from_record(signup_record()) is not None
    # Another drive's form (a campaign's own XLSForm) with the same fields signs people up too.
    other = signup_record()
    other["form"] = "form:block_party"
    del other["answers"]["interested"]
    assert signup_from_record(other).form == "form:block_party"
    assert signup_from_record({**signup_record(), "type": "household"}) is None
    asset = {"_id": "record:x", "type": "record", "form": "form:asset_mapping",
             "answers": {"outcome": "contacted", "assets": [{"category": "skill", "asset_name": "Bike repair"}]}}
    assert signup_from_record(asset) is None
    doc = signup_record()
    doc["answers"]["interested"] = "maybe"
    assert signup_from_record(doc) is None
    doc = signup_record(name="   ")
    assert signup_from_record(doc) is None
    assert signup_from_record({**signup_record(), "_deleted": True}) is None


def test_same_email_from_two_canvassers_is_one_person_with_both_sign_ups():
    first = signup_record(name="Ana Reyes", phone=None, email="ANA@example.org", author="vic", household="household:a",
                          at="2026-11-20T18:00:00+00:00")
    second = signup_record(name="A. Reyes", phone="773 555 0100", email="ana@example.org", author="val",
                           household="household:b", at="2026-11-22T18:00:00+00:00")
    [person] = roster_of(first, second)
    assert [s.record for s in person.signups] == [first["_id"], second["_id"]]
    assert person.id == f"person:{first['_id']}"
    assert person.full_name == "A. Reyes"  # the newest
    assert person.phone == "+17735550100"


def test_same_phone_merges_similar_names_but_not_a_shared_household_phone():
    ana = signup_record(name="Ana Reyes", email=None, phone="773-555-0100", household="household:a")
    ana_again = signup_record(name="ana reyes", email=None, phone="+1 773 555 0100", household="household:z")
    luis = signup_record(name="Luis Reyes", email=None, phone="(773) 555-0100", household="household:a")
    result = roster_of(ana, ana_again, luis)
    assert sorted(len(p.signups) for p in result) == [1, 2]
    assert all(p.shared_phone for p in result)  # one number, two people: shown, not merged away


def test_similar_name_at_the_same_household_is_one_person_without_phone_or_email():
    a = signup_record(name="Marta Nowak", phone=None, email=None, household="household:7")
    b = signup_record(name="Martha Nowak", phone=None, email=None, household="household:7")
    c = signup_record(name="Martha Nowak", phone=None, email=None, household="household:8")
    result = roster_of(a, b, c)
    assert sorted(len(p.signups) for p in result) == [1, 2]


def test_merging_is_transitive_and_independent_of_arrival_order():
    docs = [
        signup_record(name="Kofi Mensah", phone="773 555 0101", email="kofi@example.org", at="2026-11-20T10:00:00Z"),
        signup_record(name="Kofi Mensah", phone="773 555 0101", email=None, at="2026-11-21T10:00:00Z"),
        signup_record(name="K Mensah", phone=None, email="KOFI@example.org", at="2026-11-19T10:00:00Z"),
        signup_record(name="Grace Kim", phone="773 555 0199", email="grace@example.org", at="2026-11-18T10:00:00Z"),
    ]
    expected = [(p.id, [s.record for s in p.signups]) for p in roster_of(*docs)]
    assert sorted(len(s) for _, s in expected) == [1, 3]
    rng = random.Random(9)
    for _ in range(10):
        rng.shuffle(docs)
        assert [(p.id, [s.record for s in p.signups]) for p in roster_of(*docs)] == expected


def test_the_newest_consent_statement_per_channel_wins_with_its_text_and_place():
    yes = signup_record(consent={"sms": True, "email": True, "call": True}, language="es", author="vic",
                        at="2026-11-20T18:00:00Z")
    no = signup_record(consent={"sms": False}, language="en", author="val", at="2026-11-25T18:00:00Z")
    [person] = roster_of(no, yes)
    assert not person.consents_to("sms") and person.consents_to("email") and person.consents_to("call")
    sms = person.consent["sms"]
    assert (sms.canvasser, sms.language, sms.record, sms.at) == ("val", "en", no["_id"], "2026-11-25T18:00:00Z")
    assert sms.text == CONSENT_TEXT["consent_sms"]["en"]
    email = person.consent["email"]
    assert email.text == CONSENT_TEXT["consent_email"]["es"] and email.language == "es"
    assert (email.lat, email.lon, email.household) == (41.89, -87.67, "household:a")


def test_exports_show_contact_details_only_with_consent():
    sms_only = signup_record(name="Sam Walker", phone="773 555 0111", email="sam@example.org",
                             consent={"sms": True, "email": False, "call": False})
    call_only = signup_record(name="Omar Haddad", phone="773 555 0122", email="omar@example.org",
                              consent={"sms": False, "email": False, "call": True})
    nothing = signup_record(name="Ewa Nowak", phone="773 555 0133", email="ewa@example.org",
                            consent={"sms": False, "email": False, "call": False})
    found = roster_of(sms_only, call_only, nothing)
    full = PRESETS["full"]
    table = {row[1]: dict(zip(roster.headers(full), row)) for row in roster.rows(found, full)}
    assert (table["Sam Walker"]["phone"], table["Sam Walker"]["email"]) == ("+17735550111", "")
    assert (table["Omar Haddad"]["phone"], table["Omar Haddad"]["email"]) == ("+17735550122", "")
    assert (table["Ewa Nowak"]["phone"], table["Ewa Nowak"]["email"]) == ("", "")
    mailchimp = PRESETS["mailchimp"]
    listed = [dict(zip(roster.headers(mailchimp), row)) for row in roster.rows(found, mailchimp)]
    # A call consent is not an SMS consent; nobody without a usable channel is listed at all.
    assert listed == [{"Email Address": "", "First Name": "Sam", "Last Name": "Walker", "Phone Number": "+17735550111",
                       "Language": "en", "Tags": "blockwalk"}]


def test_invalid_contact_details_are_kept_as_problems_not_used():
    doc = signup_record(phone="555", email="not an email")
    [person] = roster_of(doc)
    assert person.phone is None and person.email is None
    assert [p.kind for p in person.problems] == ["phone", "email"]
    assert person.problems[0].text == "phone '555' is not a valid number in US"


def test_a_phone_invalid_for_the_region_is_a_problem_and_said_in_the_full_export_with_consent():
    # 312 555 0100 is a valid US number, and not a valid number of Poland: read in PL it is a problem.
    doc = signup_record(name="Jan Kowalski", phone="312 555 0100", email=None, consent={"sms": True, "call": False})
    [person] = people([signup_from_record(doc)], "PL")
    assert person.phone is None and person.problems == (roster.Problem("phone", "312 555 0100", "invalid", "PL"),)
    full = PRESETS["full"]
    [row] = [dict(zip(roster.headers(full), r)) for r in roster.rows([person], full)]
    assert row["phone"] == "" and row["problems"] == "phone '312 555 0100' is not a valid number in PL"
    # Without consent to a phone channel the number as typed is not shown, but the problem still is.
    hidden = people([signup_from_record({**doc, "answers": {**doc["answers"], "consent_sms": {
        "given": False, "language": "en", "text": "x"}}})], "PL")
    [row] = [dict(zip(roster.headers(full), r)) for r in roster.rows(hidden, full)]
    assert row["problems"] == "a phone that is not a valid number (not shown: no consent)"
    # A CRM preset cannot take it: the person (no other contact) is left out, and the report says so.
    report = roster.ExportReport()
    assert list(roster.rows([person], PRESETS["mailchimp"], report)) == []
    assert report.problems == [{"row": None, "person": person.id, "kinds": ["phone"]}]


def test_the_crm_language_is_that_of_the_consent_then_of_the_door_then_the_first_listed():
    spanish_door = signup_record(name="Rosa Díaz", language="es", languages=["en", "es"])
    [rosa] = roster_of(spanish_door)
    assert rosa.languages == ("en", "es")
    for name in ("mailchimp", "action_network"):
        preset = PRESETS[name]
        [row] = [dict(zip(roster.headers(preset), r)) for r in roster.rows([rosa], preset)]
        assert row["Language" if name == "mailchimp" else "language"] == "es"
    # No consent statement's language: the language of the door (the record's), else the first listed.
    door = signup_record(name="Tran Van", consent={}, languages=["en", "vi"], door_language="vi", email="tran@example.org",
                         phone="773 555 0177")
    plain = signup_record(name="Lee Park", consent={}, languages=["ko", "en"], household="household:z",
                          email="lee@example.org", phone="773 555 0188")
    found = {p.full_name: p for p in roster_of(door, plain)}
    assert roster.crm_language(found["Tran Van"]) == "vi" and roster.crm_language(found["Lee Park"]) == "ko"
    # The newest statement's language wins over an older one's.
    older = signup_record(name="Ana Reyes", language="en", at="2026-11-20T18:00:00Z")
    newer = signup_record(name="Ana Reyes", language="es", at="2026-11-21T18:00:00Z", consent={"email": True})
    [ana] = roster_of(older, newer)
    assert roster.crm_language(ana) == "es"


def test_mailchimp_text_fields_keep_within_255_bytes_cut_between_graphemes_and_reported():
    # Issue 25: a 200-character Arabic name (the form's limit) is far more than 255 bytes.
    arabic = "نادية " + "عبدالرحمن الهاشمي " * 11
    arabic = arabic[:200]
    emoji = "Ana " + "👩🏽‍🌾" * 60  # a farmer of medium skin tone: 4 code points, 15 bytes, one grapheme
    accents = "Zoe " + "e\u0301" * 200  # é as e and a combining accent
    formula = "=Max " + "y" * 300
    docs = [signup_record(name=n, phone=None, email=f"p{i}@example.org", household=f"household:{i}")
            for i, n in enumerate((arabic, emoji, accents, formula, "Short Name"))]
    found = roster_of(*docs)
    preset = PRESETS["mailchimp"]
    report = roster.ExportReport()
    table = [dict(zip(roster.headers(preset), r)) for r in roster.rows(found, preset, report)]
    for row in table:
        for header in ("First Name", "Last Name", "Language", "Tags"):
            assert len(row[header].encode("utf-8")) <= 255, (header, row[header])
    by_email = {r["Email Address"]: r for r in table}
    last = by_email["p0@example.org"]["Last Name"]
    assert len(arabic.split(" ", 1)[1].encode()) > 255 and arabic.split(" ", 1)[1].startswith(last)
    farmer = by_email["p1@example.org"]["Last Name"]
    assert farmer and set(farmer.split("👩🏽‍🌾")) == {""}  # whole graphemes only
    zoe = by_email["p2@example.org"]["Last Name"]
    assert zoe.endswith("e\u0301") and "\u0301\u0301" not in zoe
    # A text that starts like a formula gets a quote in CSV: the cell, quote included, still fits.
    assert len(("'" + by_email["p3@example.org"]["First Name"] + " ").encode()) <= 256
    formula_last = by_email["p3@example.org"]["Last Name"]
    assert len(formula_last.encode()) == 255  # "Max yyy..." does not start like a formula
    assert [(c["row"], c["columns"]) for c in report.cut] == [(2, ["Last Name"]), (3, ["Last Name"]),
                                                              (4, ["Last Name"]), (5, ["Last Name"])]
    assert report.cut[0]["person"] == found[0].id
    # Action Network documents no such limit, and the full preset is Blockwalk's own: nothing cut.
    for name in ("action_network", "full"):
        report = roster.ExportReport()
        list(roster.rows(found, PRESETS[name], report))
        assert report.cut == []


def test_fit_bytes_never_splits_a_character_and_keeps_whole_graphemes():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=120), st.integers(0, 300))
    def check(text, limit):
        fitted = roster.fit_bytes(text, limit)
        assert len(fitted.encode("utf-8")) <= limit or fitted == text == ""
        assert text.startswith(fitted)
        if len(text.encode("utf-8")) <= limit:
            assert fitted == text
    check()
    assert roster.fit_bytes("ab🇪🇸", 9) == "ab" and roster.fit_bytes("ab🇪🇸", 10) == "ab🇪🇸"


def test_the_rest_schemas_name_the_same_presets_and_formats_as_the_server():
    from schemas import reports
    from server.people.roster_export import FORMATS

    assert sorted(reports.PRESETS) == sorted(PRESETS) and sorted(reports.FORMATS) == sorted(FORMATS)


def test_the_default_phone_region_is_a_checked_setting():
    import pytest

    from server.config import ConfigError, load

    assert load(environ={})["PHONE_REGION"] == "US"
    assert load(environ={"BLOCKWALK_PHONE_REGION": "mx"})["PHONE_REGION"] == "MX"
    with pytest.raises(ConfigError, match="BLOCKWALK_PHONE_REGION"):
        load(environ={"BLOCKWALK_PHONE_REGION": "Mexico"})

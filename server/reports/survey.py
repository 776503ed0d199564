"""The community satisfaction survey's report: per turf and round, the mean of each question, and its change.

**Rounds.**  The survey is repeated; a round is a calendar quarter in the
campaign's time zone (``2026-Q4``), the rhythm at which public-health and
community-policing surveys are usually repeated, with nothing for a
coordinator to set up.  A door answered twice in one round counts once: its
newest answers.

**Scores.**  Every question is a five-point answer (1 worst, 5 best;
``forms.templates.SATISFACTION_QUESTIONS``).  A cell is one question in one
turf and round: the mean of its answers.  The change is the difference from
the same turf's previous round that has data.

**Small cells.**  A cell with fewer than ``THRESHOLD`` (10) answers is
suppressed, as public-health agencies do, so no household can be singled
out: its mean, its count and any change computed from it are left out, and
the turf's number of respondents is left out when it is below the
threshold too.  The answers are read from the ``concerns`` index (it keeps
every text answer of a record that is not roster data: ``server.reports.follow_up``).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from forms.templates import SATISFACTION_QUESTIONS

FORM = "form:satisfaction"
THRESHOLD = 10
QUESTIONS = [name for name, *_ in SATISFACTION_QUESTIONS]
ALL = "all"


def round_of(at: str | None, zone: ZoneInfo) -> str | None:
    if not at:
        return None
    try:
        local = datetime.fromisoformat(at).astimezone(zone)
    except ValueError:
        return None
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def answers(conn: sqlite3.Connection, zone: ZoneInfo) -> dict[tuple[str, str], dict[str, int]]:
    """(turf, round) of each door's newest answers in a round -> {question: score}; keyed by door."""
    records: dict[str, dict] = {}
    for doc_id, field, text, turf, household, at in conn.execute(
            "SELECT doc_id, field, text, turf, household, at FROM texts WHERE form = ?", (FORM,)):
        record = records.setdefault(doc_id, {"turf": turf, "door": household or doc_id, "at": at or "", "scores": {}})
        if field in QUESTIONS and text in ("1", "2", "3", "4", "5"):
            record["scores"][field] = int(text)
    newest: dict[tuple[str, str], dict] = {}
    for record in records.values():
        when = round_of(record["at"], zone)
        if when is None or not record["scores"]:
            continue
        key = (record["door"], when)
        if key not in newest or record["at"] > newest[key]["at"]:
            newest[key] = {**record, "round": when}
    return newest


def report(conn: sqlite3.Connection, zone: ZoneInfo, turf_names: dict[str, str]) -> dict:
    doors = answers(conn, zone)
    cells: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    respondents: dict[tuple[str, str], int] = defaultdict(int)
    for door in doors.values():
        turf = door["turf"] or ""
        respondents[(turf, door["round"])] += 1
        for question, score in door["scores"].items():
            cells[(turf, door["round"])][question].append(score)
    # The campaign-wide row pools only the cells shown: with a hidden turf's answers in it, the hidden
    # cell would be the campaign's total less the turfs shown, and its few households singled out.
    for (turf, when), count in list(respondents.items()):
        if count >= THRESHOLD:
            respondents[(ALL, when)] += count
        for question, values in list(cells[(turf, when)].items()):
            if len(values) >= THRESHOLD:
                cells[(ALL, when)][question].extend(values)
    rounds = sorted({r for _, r in respondents})
    turfs = sorted({t for t, _ in respondents if t != ALL}, key=lambda t: (turf_names.get(t, t) or "", t)) + [ALL]
    rows = []
    for turf in turfs:
        previous: dict[str, float] = {}
        for when in rounds:
            if (turf, when) not in respondents:
                continue
            count = respondents[(turf, when)]
            scores = {}
            for question in QUESTIONS:
                values = cells[(turf, when)].get(question, [])
                if len(values) < THRESHOLD:
                    scores[question] = {"mean": None, "answers": None, "change": None, "suppressed": True}
                    continue
                mean = round(sum(values) / len(values), 2)
                change = round(mean - previous[question], 2) if question in previous else None
                scores[question] = {"mean": mean, "answers": len(values), "change": change, "suppressed": False}
                previous[question] = mean
            rows.append({"turf": None if turf == ALL else (turf or None),
                         "turf_name": None if turf == ALL else turf_names.get(turf) if turf else None,
                         "round": when, "respondents": count if count >= THRESHOLD else None,
                         "suppressed": count < THRESHOLD, "scores": scores})
    return {"threshold": THRESHOLD, "rounds": rounds, "questions": QUESTIONS, "rows": rows}

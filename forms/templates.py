"""The built-in forms of the four drives, in English and Spanish.

* **asset mapping**: the asset-based community development categories
  (individuals' skills, associations, institutions, businesses, physical
  spaces, culture), with contact, hours, languages served, capacity, notes,
  a photo and a geotag; several assets at one address (a repeat);
* **volunteer recruitment**: name, phone, e-mail, languages, skills,
  availability and consent per channel (SMS, e-mail, phone call) with the
  exact text shown;
* **meeting awareness**: informed, flyer left, RSVP, language needed,
  concerns to raise;
* **community satisfaction survey**: six five-point questions about safety,
  the police and the neighbourhood, asked in rounds (``server.reports.survey``
  reports them per turf and round, small cells suppressed).

Every drive starts with the same **visit outcome**, ordered so that a merge
only moves it forward (``forward_only``): not home, come back later, refused,
do not knock, moved, inaccessible, language barrier, contacted.
``template(drive)`` gives a draft; ``published(drive)`` gives version 1.
"""

from __future__ import annotations

import copy

LANGUAGES = ["en", "es"]


def _t(en: str, es: str) -> dict:
    return {"en": en, "es": es}


def _choices(*items: tuple[str, str, str]) -> list[dict]:
    return [{"value": value, "label": _t(en, es)} for value, en, es in items]


# The order is the order of progress at a door: a merge keeps the furthest.
OUTCOMES = _choices(
    ("not_home", "Not home", "No está en casa"),
    ("come_back_later", "Come back later", "Volver más tarde"),
    ("refused", "Refused", "Se negó"),
    ("do_not_knock", "Do not knock", "No tocar"),
    ("moved", "Moved", "Se mudó"),
    ("inaccessible", "Inaccessible", "Inaccesible"),
    ("language_barrier", "Language barrier", "Barrera de idioma"),
    ("contacted", "Contacted", "Contactado"),
)

LANGUAGE_CHOICES = _choices(
    ("en", "English", "Inglés"),
    ("es", "Spanish", "Español"),
    ("pl", "Polish", "Polaco"),
    ("ar", "Arabic", "Árabe"),
    ("zh", "Chinese", "Chino"),
    ("vi", "Vietnamese", "Vietnamita"),
    ("other", "Other", "Otro"),
)

OUTCOME_FIELDS = [
    {
        "name": "outcome",
        "type": "select_one",
        "choices": "outcomes",
        "required": True,
        "merge": "forward_only",
        "label": _t("What happened at the door?", "¿Qué pasó en la puerta?"),
    },
    {
        "name": "door_language",
        "type": "select_one",
        "choices": "languages",
        "label": _t("Language spoken at the door", "Idioma hablado en la puerta"),
    },
]

CONTACTED = "${outcome} = 'contacted'"


def _asset_mapping() -> dict:
    asset = [
        {"name": "category", "type": "select_one", "choices": "asset_categories", "required": True,
         "label": _t("What kind of asset?", "¿Qué tipo de recurso?")},
        {"name": "asset_name", "type": "text", "required": True, "max_length": 200, "merge": "keep_both",
         "label": _t("Name of the asset", "Nombre del recurso")},
        {"name": "institution_kind", "type": "select_one", "choices": "institution_kinds",
         "relevant": "${category} = 'institution'",
         "label": _t("Which kind of institution?", "¿Qué tipo de institución?")},
        {"name": "contact_name", "type": "text", "max_length": 200,
         "label": _t("Contact person", "Persona de contacto")},
        {"name": "contact_phone", "type": "phone", "label": _t("Contact phone", "Teléfono de contacto")},
        {"name": "opening_hours", "type": "text", "max_length": 200,
         "relevant": "${category} != 'skill'",
         "hint": _t("For example: Mon-Fri 9-5", "Por ejemplo: lun-vie 9-5"),
         "label": _t("Opening hours", "Horario")},
        {"name": "languages_served", "type": "select_multiple", "choices": "languages",
         "label": _t("Languages served", "Idiomas en que atienden")},
        {"name": "capacity", "type": "integer", "min": 0, "max": 100000,
         "relevant": "${category} = 'institution' or ${category} = 'space' or ${category} = 'association'",
         "label": _t("How many people can it serve or hold?", "¿A cuántas personas puede atender o recibir?")},
        {"name": "notes", "type": "text", "max_length": 2000, "merge": "keep_both",
         "label": _t("Notes", "Notas")},
        {"name": "photo", "type": "photo", "label": _t("Photo", "Foto")},
        {"name": "location", "type": "geopoint", "accuracy_m": 30,
         "label": _t("Where is it?", "¿Dónde está?")},
    ]
    return {
        "form_id": "asset_mapping",
        "drive": "asset_mapping",
        "title": _t("Community assets", "Recursos comunitarios"),
        "fields": OUTCOME_FIELDS + [
            {"name": "assets", "type": "repeat", "relevant": CONTACTED, "min_count": 1, "max_count": 20,
             "label": _t("Assets at this address", "Recursos en esta dirección"), "fields": asset},
        ],
        "choices": {
            "outcomes": OUTCOMES,
            "languages": LANGUAGE_CHOICES,
            "asset_categories": _choices(
                ("skill", "A person's skill", "Habilidad de una persona"),
                ("association", "Association or club", "Asociación o club"),
                ("institution", "Institution", "Institución"),
                ("business", "Business", "Negocio"),
                ("space", "Physical space", "Espacio físico"),
                ("culture", "Culture and traditions", "Cultura y tradiciones"),
            ),
            "institution_kinds": _choices(
                ("school", "School", "Escuela"),
                ("clinic", "Clinic", "Clínica"),
                ("social_services", "Social-service agency", "Agencia de servicios sociales"),
                ("library", "Library", "Biblioteca"),
                ("faith", "Place of worship", "Lugar de culto"),
                ("other", "Other", "Otra"),
            ),
        },
    }


def _recruitment() -> dict:
    # (channel, the question's label, the exact text the resident agrees to), in English and Spanish.
    consent = [
        ("sms", ("Text messages (SMS)", "Mensajes de texto (SMS)"),
         "May we send you text messages (SMS) about volunteering?",
         "¿Podemos enviarle mensajes de texto (SMS) sobre el voluntariado?"),
        ("email", ("E-mails", "Correos electrónicos"),
         "May we e-mail you about volunteering?",
         "¿Podemos enviarle correos electrónicos sobre el voluntariado?"),
        ("call", ("Phone calls", "Llamadas telefónicas"),
         "May we call you about volunteering?",
         "¿Podemos llamarle sobre el voluntariado?"),
    ]
    return {
        "form_id": "recruitment",
        "drive": "recruitment",
        "title": _t("Volunteer recruitment", "Reclutamiento de voluntarios"),
        "fields": OUTCOME_FIELDS + [
            {"name": "interested", "type": "select_one", "choices": "yes_no", "relevant": CONTACTED, "required": True,
             "label": _t("Would you like to volunteer?", "¿Le gustaría ser voluntario/a?")},
            {"name": "volunteer", "type": "group", "relevant": "${interested} = 'yes'",
             "label": _t("About the volunteer", "Sobre la persona voluntaria"),
             "fields": [
                 {"name": "full_name", "type": "text", "required": True, "max_length": 200,
                  "label": _t("Full name", "Nombre completo")},
                 {"name": "phone", "type": "phone", "label": _t("Phone", "Teléfono")},
                 {"name": "email", "type": "email", "label": _t("E-mail", "Correo electrónico")},
                 {"name": "languages", "type": "select_multiple", "choices": "languages",
                  "label": _t("Languages spoken", "Idiomas que habla")},
                 {"name": "skills", "type": "select_multiple", "choices": "skills",
                  "label": _t("What would you like to help with?", "¿En qué le gustaría ayudar?")},
                 {"name": "availability", "type": "select_multiple", "choices": "availability",
                  "label": _t("When are you available?", "¿Cuándo está disponible?")},
                 *[
                     {"name": f"consent_{channel}", "type": "consent", "required": True,
                      "label": _t(*label), "consent_text": _t(en, es)}
                     for channel, label, en, es in consent
                 ],
             ]},
        ],
        "choices": {
            "outcomes": OUTCOMES,
            "languages": LANGUAGE_CHOICES,
            "yes_no": _choices(("yes", "Yes", "Sí"), ("no", "No", "No"), ("maybe", "Maybe later", "Quizás más tarde")),
            "skills": _choices(
                ("door_knocking", "Door knocking", "Tocar puertas"),
                ("phone_bank", "Phone bank", "Llamadas telefónicas"),
                ("translation", "Translation", "Traducción"),
                ("childcare", "Childcare at meetings", "Cuidado de niños en reuniones"),
                ("food", "Food and hosting", "Comida y recepción"),
                ("data_entry", "Data entry", "Captura de datos"),
            ),
            "availability": _choices(
                ("weekday_evenings", "Weekday evenings", "Tardes entre semana"),
                ("weekends", "Weekends", "Fines de semana"),
                ("daytime", "Daytime", "Durante el día"),
            ),
        },
    }


def _meeting_awareness() -> dict:
    return {
        "form_id": "meeting_awareness",
        "drive": "meeting_awareness",
        "title": _t("Neighbourhood meeting", "Reunión del vecindario"),
        "fields": OUTCOME_FIELDS + [
            {"name": "informed", "type": "select_one", "choices": "yes_no", "relevant": CONTACTED, "required": True,
             "label": _t("Did you tell them about the meeting?", "¿Les informó sobre la reunión?")},
            {"name": "flyer_left", "type": "select_one", "choices": "yes_no", "required": True,
             "relevant": "${outcome} != 'do_not_knock'",
             "label": _t("Flyer left at the door?", "¿Dejó un volante?")},
            {"name": "rsvp", "type": "select_one", "choices": "rsvp", "relevant": "${informed} = 'yes'",
             "label": _t("Will they come?", "¿Vendrán?")},
            {"name": "language_needed", "type": "select_multiple", "choices": "languages",
             "relevant": "${informed} = 'yes'",
             "label": _t("Interpretation needed at the meeting", "Interpretación necesaria en la reunión")},
            {"name": "concerns", "type": "text", "max_length": 2000, "merge": "keep_both",
             "relevant": "${informed} = 'yes'",
             "label": _t("Concerns to raise at the meeting", "Inquietudes para la reunión")},
            {"name": "tell_me", "type": "select_one", "choices": "yes_no", "relevant": "${informed} = 'yes'",
             "label": _t("Would they like to be told what comes of their concerns?",
                         "¿Quieren que se les cuente qué resulta de sus inquietudes?")},
        ],
        "choices": {
            "outcomes": OUTCOMES,
            "languages": LANGUAGE_CHOICES,
            "yes_no": _choices(("yes", "Yes", "Sí"), ("no", "No", "No")),
            "rsvp": _choices(("yes", "Yes", "Sí"), ("maybe", "Maybe", "Quizás"), ("no", "No", "No")),
        },
    }


# The community satisfaction survey: five-point answers (1 = worst, 5 = best) that the survey report averages.
SATISFACTION_QUESTIONS = [
    ("safe_day", "How safe do you feel walking in this neighbourhood during the day?",
     "¿Qué tan seguro se siente al caminar por este vecindario durante el día?", "safety"),
    ("safe_night", "How safe do you feel walking in this neighbourhood after dark?",
     "¿Qué tan seguro se siente al caminar por este vecindario de noche?", "safety"),
    ("police_trust", "How much do you trust the police to respond to this neighbourhood's problems?",
     "¿Cuánto confía en que la policía responda a los problemas de este vecindario?", "trust"),
    ("police_respect", "The police treat people in this neighbourhood with respect.",
     "La policía trata con respeto a la gente de este vecindario.", "agree"),
    ("neighbours_help", "People around here are willing to help their neighbours.",
     "La gente de aquí está dispuesta a ayudar a sus vecinos.", "agree"),
    ("meetings_listen", "Neighbourhood meetings take up the problems residents raise.",
     "Las reuniones del vecindario atienden los problemas que plantean los vecinos.", "agree"),
]


def _satisfaction() -> dict:
    return {
        "form_id": "satisfaction",
        "drive": "satisfaction",
        "title": _t("Community satisfaction survey", "Encuesta de satisfacción comunitaria"),
        "fields": OUTCOME_FIELDS + [
            {"name": "agrees_to_survey", "type": "select_one", "choices": "yes_no", "relevant": CONTACTED,
             "required": True,
             "label": _t("May I ask you six short questions about the neighbourhood? Your answers are anonymous.",
                         "¿Puedo hacerle seis preguntas cortas sobre el vecindario? Sus respuestas son anónimas.")},
            *[{"name": name, "type": "select_one", "choices": scale, "relevant": "${agrees_to_survey} = 'yes'",
               "label": _t(en, es)} for name, en, es, scale in SATISFACTION_QUESTIONS],
        ],
        "choices": {
            "outcomes": OUTCOMES,
            "languages": LANGUAGE_CHOICES,
            "yes_no": _choices(("yes", "Yes", "Sí"), ("no", "No", "No")),
            "safety": _choices(("1", "Very unsafe", "Muy inseguro"), ("2", "Unsafe", "Inseguro"),
                               ("3", "Neither", "Ni seguro ni inseguro"), ("4", "Safe", "Seguro"),
                               ("5", "Very safe", "Muy seguro")),
            "trust": _choices(("1", "Not at all", "Nada"), ("2", "A little", "Poco"), ("3", "Somewhat", "Algo"),
                              ("4", "Mostly", "Bastante"), ("5", "Completely", "Totalmente")),
            "agree": _choices(("1", "Strongly disagree", "Muy en desacuerdo"), ("2", "Disagree", "En desacuerdo"),
                              ("3", "Neither", "Ni de acuerdo ni en desacuerdo"), ("4", "Agree", "De acuerdo"),
                              ("5", "Strongly agree", "Muy de acuerdo")),
        },
    }


DRIVES = {"asset_mapping": _asset_mapping, "recruitment": _recruitment, "meeting_awareness": _meeting_awareness,
          "satisfaction": _satisfaction}


def template(drive: str) -> dict:
    """A draft of the built-in form of ``drive``."""
    body = copy.deepcopy(DRIVES[drive]())
    return {
        "_id": f"form:{body['form_id']}",
        "type": "form",
        "status": "draft",
        "languages": list(LANGUAGES),
        "default_language": "en",
        "settings": {"geotag_accuracy_m": 50},
        "changes": [],
        **body,
    }


def published(drive: str, version: int = 1) -> dict:
    """The built-in form of ``drive`` as published version ``version``."""
    draft = template(drive)
    return {**draft, "_id": f"form:{draft['form_id']}@{version}", "status": "published", "version": version}

"""The validator's own messages, in every language Blockwalk ships (English, Spanish).

A form's ``constraint_message``/``pattern_message``/``required_message`` are
the form's; these are the rest.  A language without a catalogue falls back
to English.  A message that counts things ("at least 1 character", "2
characters") has a form per plural category of its language (CLDR's, as
``Intl.PluralRules`` gives them: the phone reads this catalogue as
``/app/messages.json``), chosen by its number.
"""

from __future__ import annotations

CATALOGUES: dict[str, dict[str, str | dict[str, str]]] = {
    "en": {
        "required": "An answer is required.",
        "unknown_field": "This form has no such field.",
        "not_text": "Must be text.",
        "not_integer": "Must be a whole number.",
        "not_number": "Must be a number.",
        "not_choice": "{value} is not one of the choices.",
        "not_list": "Must be a list of choices.",
        "repeated_choice": "{value} is chosen twice.",
        "not_date": "Must be a date (YYYY-MM-DD).",
        "not_time": "Must be a time (HH:MM).",
        "not_phone": "Must be a phone number.",
        "not_email": "Must be an e-mail address.",
        "not_geopoint": "Must be a location with latitude and longitude.",
        "latitude": "Latitude must be between -90 and 90.",
        "longitude": "Longitude must be between -180 and 180.",
        "accuracy": "Accuracy must be a number of metres from 0.",
        "not_photo": "Must name a photo attached to the record.",
        "not_consent": "Must record whether consent was given, in which language, and the text shown.",
        "consent_text": "The consent text does not match what this form shows in {language}.",
        "no_answer": "This field takes no answer.",
        "not_object": "Must be an object.",
        "not_repeat": "Must be a list of entries.",
        "too_small": "Must be at least {min}.",
        "too_large": "Must be at most {max}.",
        "too_short": {"one": "Must be at least {min} character.", "other": "Must be at least {min} characters."},
        "too_long": {"one": "Must be at most {max} character.", "other": "Must be at most {max} characters."},
        "too_few": {"one": "Needs at least {min} entry.", "other": "Needs at least {min} entries."},
        "too_many": {"one": "Takes at most {max} entry.", "other": "Takes at most {max} entries."},
        "pattern": "Does not have the expected form.",
        "constraint": "The answer is not allowed.",
        "captured_at": "Must be a date and time (ISO 8601).",
        "source": "Must be gps, network or manual.",
        "wrong_form": "The record names another form version.",
    },
    "es": {
        "required": "Se requiere una respuesta.",
        "unknown_field": "Este formulario no tiene ese campo.",
        "not_text": "Debe ser texto.",
        "not_integer": "Debe ser un número entero.",
        "not_number": "Debe ser un número.",
        "not_choice": "{value} no es una de las opciones.",
        "not_list": "Debe ser una lista de opciones.",
        "repeated_choice": "{value} está elegido dos veces.",
        "not_date": "Debe ser una fecha (AAAA-MM-DD).",
        "not_time": "Debe ser una hora (HH:MM).",
        "not_phone": "Debe ser un número de teléfono.",
        "not_email": "Debe ser un correo electrónico.",
        "not_geopoint": "Debe ser una ubicación con latitud y longitud.",
        "latitude": "La latitud debe estar entre -90 y 90.",
        "longitude": "La longitud debe estar entre -180 y 180.",
        "accuracy": "La precisión debe ser un número de metros desde 0.",
        "not_photo": "Debe nombrar una foto adjunta al registro.",
        "not_consent": "Debe registrar si se dio el consentimiento, en qué idioma y el texto mostrado.",
        "consent_text": "El texto de consentimiento no coincide con el que muestra este formulario en {language}.",
        "no_answer": "Este campo no lleva respuesta.",
        "not_object": "Debe ser un objeto.",
        "not_repeat": "Debe ser una lista de entradas.",
        "too_small": "Debe ser al menos {min}.",
        "too_large": "Debe ser como máximo {max}.",
        "too_short": {"one": "Debe tener al menos {min} carácter.", "many": "Debe tener al menos {min} de caracteres.",
                      "other": "Debe tener al menos {min} caracteres."},
        "too_long": {"one": "Debe tener como máximo {max} carácter.", "many": "Debe tener como máximo {max} de caracteres.",
                     "other": "Debe tener como máximo {max} caracteres."},
        "too_few": {"one": "Necesita al menos {min} entrada.", "many": "Necesita al menos {min} de entradas.",
                    "other": "Necesita al menos {min} entradas."},
        "too_many": {"one": "Admite como máximo {max} entrada.", "many": "Admite como máximo {max} de entradas.",
                     "other": "Admite como máximo {max} entradas."},
        "pattern": "No tiene la forma esperada.",
        "constraint": "La respuesta no está permitida.",
        "captured_at": "Debe ser una fecha y hora (ISO 8601).",
        "source": "Debe ser gps, network o manual.",
        "wrong_form": "El registro nombra otra versión del formulario.",
    },
}


def plural_category(lang: str, n: object) -> str:
    """CLDR's plural category of a whole number in English or Spanish (``Intl.PluralRules`` on the phone)."""
    if not isinstance(n, int) or isinstance(n, bool):
        return "other"
    if n == 1:
        return "one"
    if lang.split("-")[0] == "es" and n != 0 and n % 1_000_000 == 0:
        return "many"
    return "other"


def message(lang: str, key: str, /, **params: object) -> str:
    catalogue = CATALOGUES.get(lang) or CATALOGUES.get(lang.split("-")[0]) or CATALOGUES["en"]
    text = catalogue.get(key, CATALOGUES["en"][key])
    if isinstance(text, dict):  # counted: the form for the message's number
        count = next((v for v in params.values() if isinstance(v, (int, float)) and not isinstance(v, bool)), None)
        text = text.get(plural_category(lang if key in catalogue else "en", count)) or text["other"]
    return text.format(**params)

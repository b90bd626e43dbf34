"""Errors in the caller's language: English as raised, Spanish when the request prefers it.

Every error is raised in English (``core.errors``; API clients and tests read those words), by some
160 raise sites that build their messages with f-strings. Rather than touch each site, this module
holds a catalog of the English message *patterns* (the f-string with named placeholders) and their
Spanish, and translates an error's messages here, at the HTTP boundary, when the request's
``Accept-Language`` prefers Spanish. A placeholder's text (a value, a limit, a list) is carried over
as it is; a placeholder written ``{~name}`` holds a message of its own and is translated in turn.

pydantic's messages are translated by their error type and context: pydantic's own templates
(``pydantic_core``'s list of error types) recover the type and ``ctx`` from the message, and
:data:`PYDANTIC_SPANISH` writes them again in Spanish.

``tests/unit/test_error_language.py`` scans chalicelib's source for every message given to an error
and fails when one has no entry here. What changes and what never does: docs/api.md, "Errors".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

SPANISH = "es"
ENGLISH = "en"

# The answer's languages; the first is the default, for no header, garbage or no match.
LANGUAGES = (ENGLISH, SPANISH)


def preferred_language(accept_language: str | None) -> str:
    """The language of :data:`LANGUAGES` that an ``Accept-Language`` header prefers (q-values
    honoured, ``es-AR`` and ``es-419`` are Spanish), else English."""
    from babel import Locale

    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(str(accept_language or "")[:1000].split(",")[:30]):
        tag, *params = part.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        tag = tag.strip()
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    try:
        chosen = Locale.negotiate([tag for _, _, tag in sorted(ranked)], LANGUAGES, sep="-")
    except (ValueError, TypeError):
        chosen = None
    language = str(chosen) if chosen is not None else ENGLISH
    return language if language in LANGUAGES else ENGLISH


def error_body(body: dict[str, Any], language: str) -> dict[str, Any]:
    """An error's answer (``PregonError.body()``) in ``language``: its ``message`` and the message of
    each item of ``errors``. Fields, codes and every other key stay as they are."""
    if language != SPANISH:
        return body
    translated = dict(body)
    items = body.get("errors")
    if isinstance(items, list) and items:
        translated["errors"] = [
            {**item, "message": in_language(str(item.get("message", "")), language)}
            if isinstance(item, dict)
            else item
            for item in items
        ]
        first = translated["errors"][0]
        if isinstance(first, dict) and "field" in first:
            translated["message"] = f"{first['field']}: {first['message']}"
            return translated
    if isinstance(body.get("message"), str):
        translated["message"] = in_language(body["message"], language)
    return translated


# A message longer than this stays English. A message echoes what the caller sent, and matching a
# pattern of several placeholders costs about the cube of the message's length when it nearly
# matches: 5,000 characters took 8 s, 400 take a few ms. Error messages are far shorter.
MAX_TRANSLATED_CHARS = 400


def in_language(message: str, language: str) -> str:
    """One English message in ``language``; a message the catalog does not know, or one longer
    than :data:`MAX_TRANSLATED_CHARS`, stays English."""
    if language != SPANISH or not message or len(message) > MAX_TRANSLATED_CHARS:
        return message
    return _cached_spanish(message) or message


# Keys of a successful answer whose text is a reason Pregón wrote: why a message failed or was not
# sent (``error``), why a recipient was skipped (``reason``, a reminder's ``skipped`` and
# ``sms_skipped``), what a saved template may cost it (``warning``). Their text is stored and
# answered in English; :func:`reasons_in_language` translates it at the boundary.
REASON_KEYS = frozenset({"error", "reason", "skipped", "sms_skipped", "warning"})


def reasons_in_language(value: Any, language: str) -> Any:
    """A successful answer's JSON value with the text of every :data:`REASON_KEYS` key, at any depth,
    in ``language``. A reason the catalogs do not know (a server's own words, a carrier's reason for
    a parcel, a code such as ``bounce``) stays as it is; every other key and value is untouched."""
    if language != SPANISH:
        return value
    if isinstance(value, dict):
        return {
            key: in_language(item, language)
            if key in REASON_KEYS and isinstance(item, str)
            else reasons_in_language(item, language)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [reasons_in_language(item, language) for item in value]
    return value


@functools.lru_cache(maxsize=1024)
def _cached_spanish(message: str) -> str | None:
    """A 422 may name the same problem for hundreds of items of a list: each is matched once."""
    return _spanish(message)


def spanish_or_none(message: str) -> str | None:
    """The Spanish of one English message, or None when neither catalog knows it (for the tests)."""
    return _spanish(message)


def _spanish(message: str, depth: int = 0) -> str | None:
    if depth > 5:  # a message inside a message: a client's, in a template's part, of Jinja's
        return None
    for pattern, recursive, spanish in _compiled():
        found = pattern.fullmatch(message)
        if found is None:
            continue
        values = found.groupdict()
        for name in recursive:
            values[name] = _spanish(values[name], depth + 1) or values[name]
        return spanish.format(**values)
    return _pydantic_spanish(message, depth)


_PLACEHOLDER = re.compile(r"\{(~?)(\w+)\}")


def compile_pattern(english: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A catalog pattern as a regex that matches its messages whole, and its ``{~name}`` parts."""
    parts: list[str] = []
    recursive: list[str] = []
    position = 0
    for placeholder in _PLACEHOLDER.finditer(english):
        parts.append(re.escape(english[position : placeholder.start()]))
        parts.append(f"(?P<{placeholder.group(2)}>.+?)")
        if placeholder.group(1):
            recursive.append(placeholder.group(2))
        position = placeholder.end()
    parts.append(re.escape(english[position:]))
    return re.compile("".join(parts), re.DOTALL), tuple(recursive)


def literal_length(english: str) -> int:
    return len(_PLACEHOLDER.sub("", english))


@functools.cache
def _compiled() -> list[tuple[re.Pattern[str], tuple[str, ...], str]]:
    # The most specific first: more fixed text wins over a pattern that is mostly placeholders.
    entries = sorted({**CATALOG, **REASONS}.items(), key=lambda entry: -literal_length(entry[0]))
    return [(*compile_pattern(english), spanish) for english, spanish in entries]


# --- pydantic ---------------------------------------------------------------------------------------


def _plural(count: Any, singular: str, plural: str) -> str:
    return singular if str(count).strip() == "1" else plural


def _or(listed: str) -> str:
    """pydantic's "'a', 'b' or 'c'" with the Spanish "o"."""
    head, sep, tail = str(listed).rpartition(" or ")
    return f"{head} o {tail}" if sep else str(listed)


def _value_error(ctx: dict[str, str], depth: int) -> str:
    return _spanish(ctx["error"], depth + 1) or ctx["error"]


# By pydantic's error type: the Spanish, from the error's ``ctx`` (as pydantic's message shows it).
PYDANTIC_SPANISH: dict[str, Callable[[dict[str, str], int], str]] = {
    "missing": lambda c, d: "es obligatorio",
    "extra_forbidden": lambda c, d: "no es un campo conocido",
    "json_invalid": lambda c, d: f"no es JSON válido: {c['error']}",
    "json_type": lambda c, d: "debe ser texto JSON",
    "recursion_loop": lambda c, d: "tiene una referencia circular",
    "model_type": lambda c, d: "debe ser un objeto",
    "model_attributes_type": lambda c, d: "debe ser un objeto",
    "dict_type": lambda c, d: "debe ser un objeto",
    "list_type": lambda c, d: "debe ser una lista",
    "tuple_type": lambda c, d: "debe ser una lista",
    "set_type": lambda c, d: "debe ser una lista",
    "frozen_set_type": lambda c, d: "debe ser una lista",
    "iterable_type": lambda c, d: "debe ser una lista",
    "none_required": lambda c, d: "debe ser null",
    "greater_than": lambda c, d: f"debe ser mayor que {c['gt']}",
    "greater_than_equal": lambda c, d: f"debe ser mayor o igual que {c['ge']}",
    "less_than": lambda c, d: f"debe ser menor que {c['lt']}",
    "less_than_equal": lambda c, d: f"debe ser menor o igual que {c['le']}",
    "multiple_of": lambda c, d: f"debe ser múltiplo de {c['multiple_of']}",
    "finite_number": lambda c, d: "debe ser un número finito",
    "too_short": lambda c, d: (
        f"debe tener al menos {c['min_length']} {_plural(c['min_length'], 'elemento', 'elementos')}, "
        f"no {c['actual_length']}"
    ),
    "too_long": lambda c, d: (
        f"debe tener como máximo {c['max_length']} {_plural(c['max_length'], 'elemento', 'elementos')}, "
        f"no {c['actual_length']}"
    ),
    "string_type": lambda c, d: "debe ser texto",
    "string_unicode": lambda c, d: "debe ser texto Unicode válido",
    "string_too_short": lambda c, d: (
        f"debe tener al menos {c['min_length']} {_plural(c['min_length'], 'carácter', 'caracteres')}"
    ),
    "string_too_long": lambda c, d: (
        f"debe tener como máximo {c['max_length']} {_plural(c['max_length'], 'carácter', 'caracteres')}"
    ),
    "string_pattern_mismatch": lambda c, d: "no está escrito en la forma que este campo admite",
    "string_not_ascii": lambda c, d: "debe tener solo caracteres ASCII",
    "enum": lambda c, d: f"debe ser {_or(c['expected'])}",
    "literal_error": lambda c, d: f"debe ser {_or(c['expected'])}",
    "bool_type": lambda c, d: "debe ser true o false",
    "bool_parsing": lambda c, d: "debe ser true o false",
    "int_type": lambda c, d: "debe ser un número entero",
    "int_parsing": lambda c, d: "debe ser un número entero",
    "int_parsing_size": lambda c, d: "es un número entero demasiado grande",
    "int_from_float": lambda c, d: "debe ser un número entero, sin decimales",
    "float_type": lambda c, d: "debe ser un número",
    "float_parsing": lambda c, d: "debe ser un número",
    "bytes_type": lambda c, d: "debe ser texto",
    "bytes_too_short": lambda c, d: f"debe tener al menos {c['min_length']} bytes",
    "bytes_too_long": lambda c, d: f"debe tener como máximo {c['max_length']} bytes",
    "value_error": _value_error,
    "assertion_error": _value_error,
    "date_type": lambda c, d: "debe ser una fecha",
    "date_parsing": lambda c, d: f"debe ser una fecha AAAA-MM-DD ({c['error']})",
    "date_from_datetime_parsing": lambda c, d: f"debe ser una fecha o una fecha y hora ({c['error']})",
    "date_from_datetime_inexact": lambda c, d: "debe ser una fecha, sin hora",
    "date_past": lambda c, d: "debe ser una fecha pasada",
    "date_future": lambda c, d: "debe ser una fecha futura",
    "time_type": lambda c, d: "debe ser una hora",
    "time_parsing": lambda c, d: f"debe ser una hora válida ({c['error']})",
    "datetime_type": lambda c, d: "debe ser una fecha y hora",
    "datetime_parsing": lambda c, d: f"debe ser una fecha y hora válida ({c['error']})",
    "datetime_object_invalid": lambda c, d: f"no es una fecha y hora válida ({c['error']})",
    "datetime_from_date_parsing": lambda c, d: f"debe ser una fecha y hora o una fecha ({c['error']})",
    "datetime_past": lambda c, d: "debe ser un momento pasado",
    "datetime_future": lambda c, d: "debe ser un momento futuro",
    "timezone_naive": lambda c, d: "no debe indicar zona horaria",
    "timezone_aware": lambda c, d: "debe indicar la zona horaria (por ejemplo Z o -03:00)",
    "timezone_offset": lambda c, d: f"debe tener el desfase horario {c['tz_expected']}, no {c['tz_actual']}",
    "time_delta_type": lambda c, d: "debe ser una duración",
    "time_delta_parsing": lambda c, d: f"debe ser una duración válida ({c['error']})",
    "url_type": lambda c, d: "debe ser una URL",
    "url_parsing": lambda c, d: f"debe ser una URL válida ({c['error']})",
    "url_syntax_violation": lambda c, d: f"no cumple la sintaxis de una URL ({c['error']})",
    "url_too_long": lambda c, d: f"debe tener como máximo {c['max_length']} caracteres",
    "url_scheme": lambda c, d: f"el esquema de la URL debe ser {_or(c['expected_schemes'])}",
    "uuid_type": lambda c, d: "debe ser un UUID",
    "uuid_parsing": lambda c, d: f"debe ser un UUID válido ({c['error']})",
    "uuid_version": lambda c, d: f"debe ser un UUID de versión {c['expected_version']}",
    "decimal_type": lambda c, d: "debe ser un número decimal",
    "decimal_parsing": lambda c, d: "debe ser un número decimal",
    "decimal_max_digits": lambda c, d: f"debe tener como máximo {c['max_digits']} dígitos en total",
    "decimal_max_places": lambda c, d: f"debe tener como máximo {c['decimal_places']} decimales",
    "decimal_whole_digits": lambda c, d: (
        f"debe tener como máximo {c['whole_digits']} dígitos antes de la coma decimal"
    ),
    "union_tag_invalid": lambda c, d: f"{c['tag']} no es uno de los valores esperados: {c['expected_tags']}",
    "union_tag_not_found": lambda c, d: f"falta {c['discriminator']}",
}


@functools.cache
def _pydantic_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """pydantic's own message templates as regexes, for the types :data:`PYDANTIC_SPANISH` knows."""
    from pydantic_core._pydantic_core import list_all_errors

    patterns = []
    for error in list_all_errors():
        if error["type"] not in PYDANTIC_SPANISH:
            continue
        template = error["message_template_python"]
        regex, _ = compile_pattern(template)
        # "{expected_plural}" is "s" or nothing: let it match nothing.
        source = regex.pattern.replace("(?P<expected_plural>.+?)", "(?P<expected_plural>s?)")
        patterns.append((error["type"], re.compile(source, re.DOTALL)))
    # Messages with more fixed text first ("Input should be a valid integer, unable to parse ..."
    # before "Input should be {expected}").
    patterns.sort(key=lambda entry: -len(re.sub(r"\(\?P<\w+>[^)]*\)", "", entry[1].pattern)))
    # The e-mail check's message (a value_error from pydantic's EmailStr): the reason is English prose.
    return [
        ("email", re.compile(r"value is not a valid email address: (?P<reason>.+)", re.DOTALL)),
        *patterns,
    ]


def _pydantic_spanish(message: str, depth: int) -> str | None:
    for error_type, pattern in _pydantic_patterns():
        found = pattern.fullmatch(message)
        if found is None:
            continue
        if error_type == "email":
            return "no es una dirección de e-mail válida"
        return PYDANTIC_SPANISH[error_type](found.groupdict(), depth)
    return None


# --- Pregón's own messages --------------------------------------------------------------------------
# English pattern -> Spanish. Neutral, formal (usted), short, as the staff console speaks.

CATALOG: dict[str, str] = {
    # requests, bodies, listings
    "is required": "es obligatorio",
    "is not a known field": "no es un campo conocido",
    # edits with If-Match (docs/api.md, "Editing safely")
    'must be * or the ETag as an answer gave it, in quotes ("3")': (
        'debe ser * o el ETag tal como lo dio una respuesta, entre comillas ("3")'
    ),
    "someone else changed {~what} since you opened it: reload it to see their changes, then make yours "
    "again (the If-Match you sent is no longer its ETag)": (
        "otra persona guardó cambios en {what} desde que usted abrió la pantalla: vuelva a cargar "
        "para ver sus cambios y luego haga los suyos de nuevo (el If-Match que envió ya no es su ETag)"
    ),
    "this route keeps no ETag, so no If-Match can match it; nothing was done: send it without "
    "If-Match (only the saves of docs/api.md, Editing safely, take one)": (
        "esta ruta no tiene ETag, así que ningún If-Match puede coincidir; no se hizo nada: envíela "
        "sin If-Match (solo los guardados de docs/api.md, Editing safely, lo llevan)"
    ),
    "If-None-Match is not evaluated on a change, so nothing was done: send the ETag you read as If-Match "
    "instead": (
        "If-None-Match no se evalúa en un cambio, así que no se hizo nada: envíe como If-Match el ETag "
        "que leyó"
    ),
    "this template": "esta plantilla",
    "this reminder concept": "este concepto de recordatorio",
    "this supplier": "este proveedor",
    "this status": "este estado",
    "this alert's settings": "la configuración de esta alerta",
    "the SMS auto-replies": "las respuestas automáticas por SMS",
    "the push settings": "la configuración de push",
    "this note": "esta nota",
    "this client": "este cliente",
    "this client's reminder settings": "la configuración de recordatorios de este cliente",
    "the company's settings": "los ajustes de la empresa",
    "the branding": "la marca de la empresa",
    "this sender account": "esta cuenta de envío",
    "the document settings": "la configuración de documentos",
    "the SMS settings": "la configuración de SMS",
    "this register table entry": "esta entrada de la tabla",
    "this mailbox": "este buzón",
    "this webhook endpoint": "este webhook",
    "is not UTF-8": "no está en UTF-8",
    "has more than {count} fields": "tiene más de {count} campos",
    "is larger than {max_bytes} bytes": "supera los {max_bytes} bytes",
    "is nested deeper than {depth} levels": "tiene más de {depth} niveles de anidamiento",
    "is not valid JSON ({error})": "no es JSON válido ({error})",
    "must be a JSON object": "debe ser un objeto JSON",
    "must be a whole number from 1 to {maximum}": "debe ser un número entero de 1 a {maximum}",
    "must be a whole number from 0 to {maximum}": "debe ser un número entero de 0 a {maximum}",
    "is not a cursor this API gave out": "no es un cursor dado por esta API",
    "is not a cursor this listing gave out": "no es un cursor dado por este listado",
    "is not a cursor of this listing (ask again)": "no es un cursor de este listado (pida la lista de nuevo)",
    "is longer than {limit} bytes": "supera los {limit} bytes",
    "is longer than {limit} characters": "supera los {limit} caracteres",
    "{value} is longer than {limit} characters": "{value} supera los {limit} caracteres",
    "is empty": "está vacío",
    "must be text": "debe ser texto",
    "must be true or false": "debe ser true o false",
    "must be one of {values}": "debe ser uno de: {values}",
    "must be a decimal number": "debe ser un número decimal",
    "must be a day: YYYY-MM-DD": "debe ser un día: AAAA-MM-DD",
    "must be a date (YYYY-MM-DD) or an ISO 8601 date-time with offset": (
        "debe ser una fecha (AAAA-MM-DD) o una fecha y hora ISO 8601 con desfase horario"
    ),
    "needs a time-zone offset (e.g. Z or -03:00)": "necesita el desfase horario (por ejemplo Z o -03:00)",
    "is outside the years 0001 to 9999 in UTC": "queda fuera de los años 0001 a 9999 en UTC",
    # beside the field "Hasta" of the console's reports, whose "from" reads "Desde"
    "must not be before from": "no puede ser anterior a la fecha «Desde» (from)",
    "must not come before from_client": "no puede ser anterior a from_client",
    "is before issued_on": "es anterior a issued_on",
    "is larger than the amount": "es mayor que el importe",
    "must be at most {limit} characters": "debe tener como máximo {limit} caracteres",
    "must be at most {limit} bytes": "debe tener como máximo {limit} bytes",
    "must be at most {limit} bytes as JSON": "debe tener como máximo {limit} bytes como JSON",
    "may not give portal_link: Pregón signs each client's own link": (
        "no puede dar portal_link: Pregón firma el enlace propio de cada cliente"
    ),
    "must have 1 to 200 characters": "debe tener de 1 a 200 caracteres",
    "must have at least {limit} characters": "debe tener al menos {limit} caracteres",
    "must have at most {limit} characters": "debe tener como máximo {limit} caracteres",
    "must have at least one line": "debe tener al menos una línea",
    "holds more than {limit}": "tiene más de {limit}",
    "cannot be cleared": "no se puede dejar vacío",
    "cannot be changed on {~what}: only {allowed}": "no se puede cambiar en {what}: solo {allowed}",
    "a record": "un registro",
    "an automatic record (a message, or one Pregón wrote)": (
        "un registro automático (un mensaje, o uno que escribió Pregón)"
    ),
    "must be between 0 and 10080": "debe estar entre 0 y 10080",
    "must be between 0 and 23": "debe estar entre 0 y 23",
    "must be between 0 and {maximum}": "debe estar entre 0 y {maximum}",
    "must be between 1 and {maximum}": "debe estar entre 1 y {maximum}",
    "must be from 0 to 43200 (30 days)": "debe estar entre 0 y 43200 (30 días)",
    "must be a number of seconds from 0 to {seconds}": "debe ser un número de segundos de 0 a {seconds}",
    "must be 1, 2, 3 or 4": "debe ser 1, 2, 3 o 4",
    "name at least one field to change": "indique al menos un campo para cambiar",
    "send Accept: {type} to receive the Excel file": "envíe Accept: {type} para recibir el archivo Excel",
    "an export holds at most {limit} rows: narrow the filters": (
        "una exportación tiene como máximo {limit} filas: restrinja los filtros"
    ),
    "an export searches at most {limit} messages: narrow the dates": (
        "una exportación busca en como máximo {limit} mensajes: acorte las fechas"
    ),
    "the report holds too many notes: narrow the filters": (
        "el informe tiene demasiadas notas: restrinja los filtros"
    ),
    # text people type
    "must not contain NUL characters": "no debe contener caracteres NUL",
    "must not contain control characters": "no debe contener caracteres de control",
    # the postal address (tenants/branding.py)
    "give the address, or null to print none": "indique la dirección, o null para no imprimir ninguna",
    "give at most {lines} lines and {chars} characters": (
        "indique como máximo {lines} líneas y {chars} caracteres"
    ),
    "a line may hold at most {chars} characters": "una línea puede tener como máximo {chars} caracteres",
    "is printed as text: it may not hold HTML tags or character references": (
        "se imprime como texto: no puede contener etiquetas HTML ni referencias de caracteres"
    ),
    "must not contain control characters such as NUL (found U+{code} at position {position}); "
    "only tab, CR and LF are allowed": (
        "no debe contener caracteres de control como NUL (hay un U+{code} en la posición {position}); "
        "solo se admiten tabulación, CR y LF"
    ),
    "must not contain control, bidirectional or zero-width characters": (
        "no debe contener caracteres de control, de dirección del texto ni de ancho cero"
    ),
    "must not contain control, invisible or text-direction characters": (
        "no debe contener caracteres de control, invisibles ni de dirección del texto"
    ),
    "is required, without control characters": "es obligatorio, sin caracteres de control",
    "must be a name, not a link or an address": "debe ser un nombre, no un enlace ni una dirección",
    "{value} has no letters or digits": "{value} no tiene letras ni dígitos",
    # identifiers and formats
    # what a field checked against a pattern takes, in words (api/http.py, PATTERN_WORDS)
    "must be a code of letters, digits, '.', '_' or '-', without spaces (for example CLI-1001)": (
        "debe ser un código de letras, dígitos, '.', '_' o '-', sin espacios (por ejemplo CLI-1001)"
    ),
    "must be a code of 1 to 64 letters, digits, '.', '_' or '-', without spaces (for example CLI-1001)": (
        "debe ser un código de 1 a 64 letras, dígitos, '.', '_' o '-', sin espacios (por ejemplo CLI-1001)"
    ),
    "must be a code of letters, digits, '.', ':', '_' or '-', without spaces (for example inv-2026:0001)": (
        "debe ser un código de letras, dígitos, '.', ':', '_' o '-', sin espacios (por ejemplo inv-2026:0001)"
    ),
    "must be 1 to 100 letters, digits, '.', ':', '_' or '-', without spaces (for example march-statements)": (
        "debe tener de 1 a 100 letras, dígitos, '.', ':', '_' o '-', sin espacios "
        "(por ejemplo resumenes-marzo)"
    ),
    "must be a number of letters, digits, '.', '_', '-' or '/', without spaces (for example 0001-00001234)": (
        "debe ser un número de letras, dígitos, '.', '_', '-' o '/', sin espacios (por ejemplo 0001-00001234)"
    ),
    "must be a user id of letters, digits, '.', '_', '-', '@' or '+', without spaces "
    "(for example marta.gomez@acme.com)": (
        "debe ser un id de usuario de letras, dígitos, '.', '_', '-', '@' o '+', sin espacios "
        "(por ejemplo marta.gomez@acme.com)"
    ),
    "must be one line of text, without line breaks or tabs": (
        "debe ser una sola línea de texto, sin saltos de línea ni tabulaciones"
    ),
    "must be a file type written type/subtype (for example application/pdf)": (
        "debe ser un tipo de archivo escrito tipo/subtipo (por ejemplo application/pdf)"
    ),
    "must be a phone number of digits, spaces, '+', '-', '.' and parentheses "
    "(for example +54 11 4555-1234)": (
        "debe ser un teléfono de dígitos, espacios, '+', '-', '.' y paréntesis (por ejemplo +54 11 4555-1234)"
    ),
    "must be an amount with a point before at most two decimals and no thousands separator "
    "(for example 1234.50 or -80)": (
        "debe ser un importe con punto antes de dos decimales como máximo y sin separador de miles "
        "(por ejemplo 1234.50 o -80)"
    ),
    "must be 2 to 40 lowercase letters, digits or '-', starting with a letter or digit "
    "(for example acme-envios)": (
        "debe tener de 2 a 40 letras minúsculas, dígitos o '-', y empezar con una letra o un dígito "
        "(por ejemplo acme-envios)"
    ),
    "must be the country's two-letter ISO 3166 code (for example AR or ES)": (
        "debe ser el código ISO 3166 de dos letras del país (por ejemplo AR o ES)"
    ),
    "must be the currency's three-letter ISO 4217 code (for example ARS or EUR)": (
        "debe ser el código ISO 4217 de tres letras de la moneda (por ejemplo ARS o EUR)"
    ),
    "is not written in the form this field takes": "no está escrito en la forma que este campo admite",
    "must be 1-64 letters, digits, '.', '_' or '-'": "debe tener de 1 a 64 letras, dígitos, '.', '_' o '-'",
    "use 1-64 letters, digits, '_', '.' or '-'": "use de 1 a 64 letras, dígitos, '_', '.' o '-'",
    "use 1-64 letters, digits, '_', '.', '@' or '-'": "use de 1 a 64 letras, dígitos, '_', '.', '@' o '-'",
    "use 1-11 letters, digits or '-', with at least one letter": (
        "use de 1 a 11 letras, dígitos o '-', con al menos una letra"
    ),
    "use 2-40 lowercase letters, digits or dashes": "use de 2 a 40 letras minúsculas, dígitos o guiones",
    "must be 1-{limit} characters without spaces": "debe tener de 1 a {limit} caracteres, sin espacios",
    "a custom template's key is `custom:` and 1-40 lowercase letters, digits, '-' or '_'": (
        "la clave de una plantilla propia es `custom:` y de 1 a 40 letras minúsculas, dígitos, '-' o '_'"
    ),
    "is not a valid user id": "no es un id de usuario válido",
    "use a colour as #RRGGBB, e.g. #1F4E79": "use un color como #RRGGBB, por ejemplo #1F4E79",
    "use a locale Babel knows, e.g. es_AR or en_US": (
        "use una configuración regional que Babel conozca, por ejemplo es_AR o en_US"
    ),
    "use an IANA time zone, e.g. America/Argentina/Buenos_Aires": (
        "use una zona horaria IANA, por ejemplo America/Argentina/Buenos_Aires"
    ),
    "use an ISO 3166 two-letter country code, e.g. AR": (
        "use un código de país ISO 3166 de dos letras, por ejemplo AR"
    ),
    "must be a two-letter country code such as AR, MX or ES": (
        "debe ser un código de país de dos letras, como AR, MX o ES"
    ),
    "must be an ISO 4217 code, e.g. ARS": "debe ser un código ISO 4217, por ejemplo ARS",
    "give the company's name (at most 200 characters)": (
        "escriba el nombre de la empresa (como máximo 200 caracteres)"
    ),
    "name the key (at most 100 characters)": "escriba un nombre para la clave (como máximo 100 caracteres)",
    "give at least one scope": "indique al menos un alcance",
    "unknown scopes: {scopes}": "alcances desconocidos: {scopes}",
    # e-mail, phones, URLs, hosts
    "is not a valid e-mail address ({error})": "no es una dirección de e-mail válida",
    "is not a valid phone number": "no es un número de teléfono válido",
    "is not a valid phone number (include the area code)": (
        "no es un número de teléfono válido (incluya el código de área)"
    ),
    "is too short to be a phone number": "es demasiado corto para ser un número de teléfono",
    "may hold only digits, spaces, '+', '-', '.', '/' and parentheses": (
        "solo puede tener dígitos, espacios, '+', '-', '.', '/' y paréntesis"
    ),
    "{number} is {~kind}: SMS can only go to a mobile": (
        "{number} es {kind}: los SMS solo pueden ir a un celular"
    ),
    "a landline": "un teléfono fijo",
    "a toll-free number": "un número gratuito",
    "a premium-rate number": "un número de tarificación especial",
    "a shared-cost number": "un número de costo compartido",
    "a company's universal access number": "un número de acceso universal de una empresa",
    "a voicemail access number": "un número de acceso al buzón de voz",
    "the number {number} already receives SMS for another company": (
        "el número {number} ya recibe SMS de otra empresa"
    ),
    "the number {number} is assigned to another company: take it back from that company first": (
        "el número {number} está asignado a otra empresa: quíteselo primero a esa empresa"
    ),
    "the number {number} is another company's: Pregón's operator settles which company a two-way number is": (
        "el número {number} es de otra empresa: "
        "el operador de Pregón decide de qué empresa es un número de SMS bidireccional"
    ),
    "the number {number} is now another company's: to save, choose another of this company's numbers or "
    "leave it empty (its SMS then stop reaching this company), and ask Pregón's operator which company it "
    "is": (
        "el número {number} ahora es de otra empresa: para guardar, elija otro de los números de esta "
        "empresa o déjelo vacío (sus SMS dejan entonces de llegar a esta empresa), y pregunte al operador "
        "de Pregón de qué empresa es"
    ),
    "{value} is not a two-way number of this company: Pregón's operator assigns them": (
        "{value} no es un número de SMS bidireccional de esta empresa: los asigna el operador de Pregón"
    ),
    "{value} is not a sender ID of this company: Pregón's operator assigns them": (
        "{value} no es un remitente de SMS de esta empresa: los asigna el operador de Pregón"
    ),
    "at most {limit} in one assignment": "como máximo {limit} en una asignación",
    "is not a URL": "no es una URL",
    # webhooks (messaging/webhooks/service.py)
    "must not contain spaces or control characters": "no debe contener espacios ni caracteres de control",
    "must not have a #fragment": "no debe tener un #fragmento",
    "must name a port from 1 to 65535, or none": "debe indicar un puerto de 1 a 65535, o ninguno",
    "must not have a ?query: the gateway's paths are added at its end": (
        "no debe tener una ?consulta: las rutas de la pasarela se agregan a su final"
    ),
    "must not carry a user or password (the signature proves who is calling)": (
        "no debe llevar usuario ni contraseña (la firma prueba quién llama)"
    ),
    "must be one or more of {types}": "debe ser uno o más de {types}",
    "no such webhook endpoint": "no existe ese webhook",
    "this webhook endpoint exists already": "ese webhook ya existe",
    "a company has at most {count} webhook endpoints; delete one first": (
        "una empresa tiene como máximo {count} webhooks; elimine uno primero"
    ),
    "some messages could not be recorded yet (the company's webhook event queue refused their events): "
    "try again in a minute": (
        "algunos mensajes todavía no se pudieron registrar (la cola de eventos de webhooks de la "
        "empresa los rechazó): intente de nuevo en un minuto"
    ),
    "recorded, but the company's systems could not be told yet (their event queue refused it): "
    "try again in a minute": (
        "quedó registrado, pero todavía no se pudo avisar a los sistemas de la empresa (su cola de "
        "eventos lo rechazó): intente de nuevo en un minuto"
    ),
    "too many test events for this endpoint; try again in a minute": (
        "demasiados eventos de prueba para este webhook; intente de nuevo en un minuto"
    ),
    "at most {count} test events a minute for the company; try again in a minute": (
        "como máximo {count} eventos de prueba por minuto para la empresa; intente de nuevo en un minuto"
    ),
    "this endpoint took its deliveries for this minute; try again in a minute": (
        "este webhook ya recibió sus entregas de este minuto; intente de nuevo en un minuto"
    ),
    "must be an http:// or https:// URL": "debe ser una URL http:// o https://",
    "must be an https:// URL": "debe ser una URL https://",
    "must be an http:// or https:// URL without a user or password": (
        "debe ser una URL http:// o https:// sin usuario ni contraseña"
    ),
    "give an https URL of at most {limit} characters": (
        "escriba una URL https de como máximo {limit} caracteres"
    ),
    "a URL may not carry a user name or password": "una URL no puede llevar usuario ni contraseña",
    "a URL may not hold spaces, quotes, < > or backslashes": (
        "una URL no puede tener espacios, comillas, < > ni barras invertidas"
    ),
    "the only placeholder a URL may hold is {placeholder}": (
        "el único marcador que puede tener una URL es {placeholder}"
    ),
    "has an invalid port": "tiene un puerto no válido",
    "must be a host name or an IP address": "debe ser un nombre de host o una dirección IP",
    "must be a port number (1 to 65535)": "debe ser un número de puerto (de 1 a 65535)",
    "must be a domain name, e.g. avisos.example.com": (
        "debe ser un nombre de dominio, por ejemplo avisos.example.com"
    ),
    "is Pregón's inbound domain": "es el dominio de entrada de Pregón",
    "is Pregón's own domain, or above or under it": (
        "es un dominio de Pregón, o uno por encima o por debajo de él"
    ),
    "refused: nothing accepts connections at {host}:{port}": (
        "rechazado: nada acepta conexiones en {host}:{port}"
    ),
    "refused: {reason}": "rechazado: {reason}",
    # (else the one below, with more fixed text, takes "refused: <host>" for its host)
    "refused: {host} is {~reason}; Pregón connects only to public addresses": (
        "rechazado: {host} es {reason}; Pregón solo se conecta a direcciones públicas"
    ),
    "{host} is not a host name": "{host} no es un nombre de host",
    "{host} cannot be resolved": "{host} no se puede resolver",
    "{host} is {~reason}; Pregón connects only to public addresses": (
        "{host} es {reason}; Pregón solo se conecta a direcciones públicas"
    ),
    "a private address": "una dirección privada",
    "a loopback address": "una dirección de loopback",
    "a link-local address": "una dirección de enlace local",
    "a multicast address": "una dirección de multidifusión",
    "an unspecified address": "una dirección no especificada",
    "a reserved address": "una dirección reservada",
    # credentials and access (401, 403)
    "credentials are required": "se requieren credenciales",
    "only Pregón's operators may do this (Authorization: Operator <token>)": (
        "solo los operadores de Pregón pueden hacer esto (Authorization: Operator <token>)"
    ),
    "an operator token is not a company credential: use a company's key or staff JWT": (
        "un token de operador no es una credencial de empresa: use una clave de la empresa o un JWT "
        "de su personal"
    ),
    "this API key lacks the scope {scope}": "esta clave de API no tiene el alcance {scope}",
    "only an API key with {scope} or staff of level {level} or above may do this": (
        "solo una clave de API con {scope} o personal de nivel {level} o superior puede hacer esto"
    ),
    "only a company administrator (level 1) may do this": (
        "solo un administrador de la empresa (nivel 1) puede hacer esto"
    ),
    "only company staff may do this": "solo el personal de la empresa puede hacer esto",
    "only company staff of level {level} or above may do this": (
        "solo el personal de la empresa de nivel {level} o superior puede hacer esto"
    ),
    "only staff with the permission {permission} may do this": (
        "solo el personal con el permiso {permission} puede hacer esto"
    ),
    "only the user or a company administrator may manage a personal sender account": (
        "solo el propio usuario o un administrador de la empresa puede administrar una cuenta de "
        "envío personal"
    ),
    "this user is deactivated in the company's staff directory": (
        "este usuario está desactivado en el directorio del personal de la empresa"
    ),
    "company {company_id} does not exist": "la empresa {company_id} no existe",
    "company {company_id} was deleted": "la empresa {company_id} fue eliminada",
    "company {company_id} is being deleted or was deleted: it cannot be reopened": (
        "la empresa {company_id} se está eliminando o fue eliminada: no se puede reabrir"
    ),
    "company {company_id} is not suspended: close it first (ops company close)": (
        "la empresa {company_id} no está suspendida: ciérrela primero (ops company close)"
    ),
    "repeat the company's id to delete it": "repita el identificador de la empresa para eliminarla",
    "the company has no API key {key_id}": "la empresa no tiene la clave de API {key_id}",
    "API key {key_id} was revoked already": "la clave de API {key_id} ya fue revocada",
    "API key {key_id} was revoked or rotated already": "la clave de API {key_id} ya fue revocada o rotada",
    "API key {key_id} was revoked or rotated meanwhile": (
        "la clave de API {key_id} fue revocada o rotada mientras tanto"
    ),
    "must be the application (client) id, a GUID": "debe ser el id de la aplicación (cliente), un GUID",
    "must be the directory (tenant) id: a GUID or the tenant's domain name": (
        "debe ser el id del directorio (inquilino): un GUID o el nombre de dominio del inquilino"
    ),
    # staff, notes
    "there is no user {user_id} in the staff directory": (
        "no existe el usuario {user_id} en el directorio del personal"
    ),
    "is required for a new user": "es obligatorio para un usuario nuevo",
    "this request_id names another user's request: choose one of your own": (
        "este request_id es de una solicitud de otro usuario: elija uno propio"
    ),
    "cannot be null: give 1, 2, 3 or 4": "no puede ser null: indique 1, 2, 3 o 4",
    "cannot be null: give true or false": "no puede ser null: indique true o false",
    "cannot be null: give [] for none": "no puede ser null: indique [] para ninguno",
    "there is no staff table {table}: use branches or departments": (
        "no existe la tabla de personal {table}: use branches o departments"
    ),
    "the {table} {code} exists already": "{table} {code} ya existe",
    "there is no {table} {code}": "no existe {table} {code}",
    # the register's tables by name (seed 004's clerk read "motive 'cobro' ya existe")
    "the motive {code} exists already": "el motivo {code} ya existe",
    "the area {code} exists already": "el área {code} ya existe",
    "the category {code} exists already": "la categoría {code} ya existe",
    "there is no motive {code}": "no existe el motivo {code}",
    "there is no area {code}": "no existe el área {code}",
    "there is no category {code}": "no existe la categoría {code}",
    "must be department": "debe ser department",
    "notes are written by staff users": "las notas las escriben usuarios del personal",
    "your user has no department: an administrator must assign one in the staff directory before you can "
    "write notes": (
        "su usuario no tiene departamento: un administrador debe asignarle uno en el directorio del "
        "personal antes de que pueda escribir notas"
    ),
    "only the note's author may edit it": "solo el autor de la nota puede editarla",
    "only a company administrator (level 1) may delete notes": (
        "solo un administrador de la empresa (nivel 1) puede borrar notas"
    ),
    "there is no note {note_id} on client {client_id}": "no existe la nota {note_id} del cliente {client_id}",
    "no client has this preferred agent": "ningún cliente tiene este agente preferido",
    "no active user of the staff directory has this user id": (
        "ningún usuario activo del personal de la empresa tiene este id de usuario"
    ),
    "name a new agent for at least one agent": "indique un agente nuevo para al menos un agente",
    "the clients of these agents changed since the preview (a client was reassigned meanwhile): "
    "preview again": (
        "los clientes de estos agentes cambiaron desde la vista previa (se reasignó un cliente "
        "mientras tanto): vuelva a generar la vista previa"
    ),
    "there is no preferred-agent change {change_id}": "no existe el cambio de agente preferido {change_id}",
    # clients, parcels, tracking
    "there is no client {client_id}": "no existe el cliente {client_id}",
    "client {client_id} is being erased": "el cliente {client_id} se está borrando",
    "no erasure of the client {client_id} was asked for": "no se pidió borrar al cliente {client_id}",
    "the client {client_id} is being erased: there is no access report of what is going": (
        "el cliente {client_id} se está borrando: no hay informe de datos de lo que se borra"
    ),
    "there is no access report {report_id} of client {client_id}": (
        "no existe el informe de datos {report_id} del cliente {client_id}"
    ),
    "say why the notes are withheld (the report shows it)": (
        "indique por qué no se incluyen las notas (el informe lo muestra)"
    ),
    "the client was erased after the report was asked for: there is nothing to report": (
        "el cliente se borró después de pedir el informe: no hay nada que informar"
    ),
    "must hold at least 2 letters or digits together (part of a name, a code, an e-mail or a phone)": (
        "debe tener al menos 2 letras o dígitos seguidos (parte de un nombre, un código, un e-mail o "
        "un teléfono)"
    ),
    "there is a supplier {supplier_id} already and If-None-Match: * only creates one: nothing was saved "
    "(open that supplier, or choose another code)": (
        "ya hay un proveedor {supplier_id} y el alta (If-None-Match: *) solo crea proveedores: no se "
        "guardó nada (abra ese proveedor o elija otro código)"
    ),
    "there is a client {client_id} already and If-None-Match: * only creates one: nothing was saved "
    "(open that client, or choose another code)": (
        "ya hay un cliente {client_id} y el alta (If-None-Match: *) solo crea clientes: no se guardó "
        "nada (abra ese cliente o elija otro código)"
    ),
    "the client {client_id} is being saved by someone else; try again": (
        "otra persona está guardando el cliente {client_id}; vuelva a intentarlo"
    ),
    "the client {client_id} is being erased (GET /clients/{id}/erasure): nothing was saved; once its erasure "
    "is done, saving it makes a new, empty client": (
        "el cliente {client_id} se está borrando (GET /clients/{id}/erasure): no se guardó nada; cuando "
        "termine su borrado, guardarlo crea un cliente nuevo, vacío"
    ),
    "this client no longer exists": "este cliente ya no existe",
    "client {client_id} {~reason}": "cliente {client_id}: {reason}",
    "unsubscribed from manual sends": "se dio de baja de los envíos manuales",
    "is being erased": "se está borrando",
    "has no {~what}": "no tiene {what}",
    "e-mail address": "una dirección de e-mail",
    "valid phone number": "un número de teléfono válido",
    "registered device": "un dispositivo registrado",
    "could not be rendered: {~error}": "no se pudo generar: {error}",
    "{client_id} has no e-mail address": "{client_id} no tiene dirección de e-mail",
    "{client_id} has {count} open receivables, more than the {limit} a statement prints (mark those "
    "settled as paid or cancelled, or send the statement with its movements)": (
        "{client_id} tiene {count} comprobantes pendientes, más de los {limit} que imprime un estado de "
        "cuenta (marque los saldados como pagados o anulados, o envíe el estado de cuenta con sus "
        "movimientos)"
    ),
    "there is no parcel with tracking id {tracking_id}": (
        "no existe el envío con número de seguimiento {tracking_id}"
    ),
    "unknown status code {status}; add it to the status catalog first": (
        "código de estado desconocido {status}; agréguelo primero al catálogo de estados"
    ),
    "parcel {tracking_id} is changing too often right now; try again in a moment": (
        "el envío {tracking_id} está cambiando demasiado seguido; intente de nuevo en un momento"
    ),
    "this parcel is changing too often right now; try again in a moment": (
        "este envío está cambiando demasiado seguido; intente de nuevo en un momento"
    ),
    "parcel {tracking_id} already has {limit} subscriptions, the most it may have": (
        "el envío {tracking_id} ya tiene {limit} suscripciones, el máximo permitido"
    ),
    "alerts cannot be requested for this parcel": "no se pueden pedir avisos para este envío",
    "there is no subscription {subscription_id} on parcel {tracking_id}": (
        "no existe la suscripción {subscription_id} del envío {tracking_id}"
    ),
    "this subscription no longer exists": "esta suscripción ya no existe",
    "this confirmation link has expired; ask for alerts again": (
        "este enlace de confirmación venció; pida los avisos de nuevo"
    ),
    "this link has expired": "este enlace venció",
    "the company is no longer in service": "la empresa ya no está en servicio",
    "this link is not valid": "este enlace no es válido",
    "this company does not ask for tracking contacts at issue; turn on ask_tracking_contacts first": (
        "esta empresa no pide contactos de seguimiento al emitir; active primero ask_tracking_contacts"
    ),
    "{~message}; try again in {seconds} seconds": "{message}; intente de nuevo en {seconds} segundos",
    "too many requests from this address": "demasiados pedidos desde esta dirección",
    "too many look-ups from this address": "demasiadas consultas desde esta dirección",
    "too many requests from this network": "demasiados pedidos desde esta red",
    "must be a phone number of {region}, the company's country: SMS alerts asked for here go to no "
    "other country": (
        "debe ser un teléfono de {region}, el país de la empresa: las alertas por SMS pedidas aquí no "
        "van a otros países"
    ),
    "too many look-ups from this network": "demasiadas consultas desde esta red",
    "too many subscriptions asked for this parcel": "demasiadas suscripciones pedidas para este envío",
    "too many confirmations sent to this address": "demasiadas confirmaciones enviadas a esta dirección",
    "this company's tracking site has sent all the confirmation e-mails it may send today (a UTC day)": (
        "el sitio de seguimiento de esta empresa ya envió todos los correos de confirmación que puede "
        "enviar hoy (un día UTC)"
    ),
    "too many subscriptions asked for with this phone number": (
        "demasiadas suscripciones pedidas con este número de teléfono"
    ),
    # sender accounts, domains, test sends
    "must be private or public": "debe ser private o public",
    "must be client or staff": "debe ser client o staff",
    "is required for an SES account": "es obligatorio para una cuenta de SES",
    "is required for an SMTP account": "es obligatorio para una cuenta SMTP",
    "messages and hours must both be at least 1": "mensajes y horas deben ser al menos 1",
    "messages (1 to 1000000) and hours (1 to 744) must both be whole numbers": (
        "messages (de 1 a 1000000) y hours (de 1 a 744) deben ser números enteros"
    ),
    "there is no sender account for the area {area}": "no existe una cuenta de envío para el área {area}",
    "there is no sender account for the area {area}; create it first": (
        "no existe una cuenta de envío para el área {area}; créela primero"
    ),
    "there is no such sender account": "no existe esa cuenta de envío",
    "the sender account {area} works: its queued e-mails are not waiting for it and go by themselves": (
        "la cuenta de envío {area} funciona: sus correos en cola no la esperan y salen solos"
    ),
    "the sender account {area} has reached its send-rate limit ({limit} messages per {hours} h): the next "
    "one can go at {time} (Retry-After: {seconds} seconds)": (
        "la cuenta de envío {area} llegó a su límite de envío ({limit} mensajes cada {hours} h): el próximo "
        "puede salir el {time} (Retry-After: {seconds} segundos)"
    ),
    "the company's SMS have reached their send-rate limit ({limit} messages per {hours} h): the next "
    "one can go at {time} (Retry-After: {seconds} seconds)": (
        "los SMS de la empresa llegaron a su límite de envío ({limit} mensajes cada {hours} h): el próximo "
        "puede salir el {time} (Retry-After: {seconds} segundos)"
    ),
    "the company's e-mails through Pregón's SES have reached Pregón's daily e-mail allowance ({limit} "
    "messages per {hours} h): the next one can go at {time} (Retry-After: {seconds} seconds)": (
        "los correos de la empresa por el SES de Pregón llegaron a los correos por día que permite Pregón "
        "({limit} mensajes cada {hours} h): el próximo puede salir el {time} (Retry-After: "
        "{seconds} segundos)"
    ),
    "the company's SMS have reached Pregón's daily SMS allowance ({limit} messages per {hours} h): the "
    "next one can go at {time} (Retry-After: {seconds} seconds)": (
        "los SMS de la empresa llegaron a los SMS por día que permite Pregón ({limit} mensajes cada "
        "{hours} h): el próximo puede salir el {time} (Retry-After: {seconds} segundos)"
    ),
    "the account has no SES identity; set it first": (
        "la cuenta no tiene identidad de SES; configúrela primero"
    ),
    "the account has no SMTP host; set it first": "la cuenta no tiene host SMTP; configúrelo primero",
    "the account has no SMTP port; set it first": "la cuenta no tiene puerto SMTP; configúrelo primero",
    "the user name or password could not be sent: it has characters that are not text": (
        "no se pudo enviar el usuario o la contraseña: tiene caracteres que no son texto"
    ),
    "the account logs in as a user but has no password; set it with PUT {path}": (
        "la cuenta inicia sesión con un usuario pero no tiene contraseña; configúrela con PUT {path}"
    ),
    "the stored password was set for another server (host, port or user); set the password again": (
        "la contraseña guardada era para otro servidor (host, puerto o usuario); configúrela de nuevo"
    ),
    "no working sender account for the area {area} (nor the 'all' fallback)": (
        "no hay una cuenta de envío que funcione para el área {area} (ni la de respaldo 'all')"
    ),
    "no working sender account for statements (nor the 'all' fallback)": (
        "no hay una cuenta de envío que funcione para resúmenes de cuenta (ni la de respaldo 'all')"
    ),
    "no working sender account can send {key}: neither the area {area} nor the fallback {fallback} has an "
    "enabled and complete account": (
        "ninguna cuenta de envío que funcione puede enviar {key}: ni el área {area} ni la de respaldo "
        "{fallback} tienen una cuenta activa y completa"
    ),
    "no working sender account: set up your own (PUT /users/{user_id}/sender-account), the area {area}'s or "
    "'all'": (
        "no hay una cuenta de envío que funcione: configure la suya (PUT /users/{user_id}/sender-account), "
        "la del área {area} o 'all'"
    ),
    "must be an address @{domain}": "debe ser una dirección @{domain}",
    "must be the user's own address ({own}); only an administrator may set another one": (
        "debe ser la dirección propia del usuario ({own}); solo un administrador puede indicar otra"
    ),
    "must be the user's own address, and the staff directory has none: an administrator sets the user's "
    "e-mail, or allows this one": (
        "debe ser la dirección propia del usuario, y el directorio del personal no tiene ninguna: un "
        "administrador configura el correo del usuario, o permite esta"
    ),
    "the personal sender account of {owner} sends as {from_address}, and the staff directory has no "
    "address of the user's own: an administrator sets it, or allows this one": (
        "la cuenta de envío personal de {owner} envía como {from_address}, y el directorio del personal no "
        "tiene una dirección propia del usuario: un administrador la configura, o permite esta"
    ),
    "the personal sender account of {owner} sends as {from_address}, not as the user's own address {own}: "
    "the user saves it again with their own, or an administrator allows this one": (
        "la cuenta de envío personal de {owner} envía como {from_address}, no como la dirección propia del "
        "usuario, {own}: el usuario la guarda de nuevo con la suya, o un administrador permite esta"
    ),
    "SES does not send to or from an address that is not ASCII (SMTPUTF8)": (
        "SES no envía a ni desde una dirección que no sea ASCII (SMTPUTF8)"
    ),
    "{domain} is not a sending domain of the company: register it (POST /sender-domains) and publish its "
    "records first": (
        "{domain} no es un dominio de envío de la empresa: regístrelo (POST /sender-domains) y publique "
        "antes sus registros"
    ),
    "{domain} is not verified yet: publish its DNS records (GET /sender-domains/{path_domain}) "
    "and try again": (
        "{domain} todavía no está verificado: publique sus registros DNS (GET /sender-domains/{path_domain}) "
        "e intente de nuevo"
    ),
    "another company registered this domain": "otra empresa registró este dominio",
    "another company registered this domain; unless SES verifies it first, that registration lapses at "
    "{when} and the domain may be registered again then": (
        "otra empresa registró este dominio; si SES no lo verifica antes, ese registro caduca el {when} "
        "y el dominio podrá registrarse de nuevo entonces"
    ),
    "another company registered this domain and sends from it with SES sender accounts: it does not lapse "
    "while they exist": (
        "otra empresa registró este dominio y envía desde él con cuentas de envío SES: no caduca mientras "
        "existan"
    ),
    "another company is removing this domain; it may be registered again once that removal is done, or "
    "at {when} if it stops half-way": (
        "otra empresa está quitando este dominio; podrá registrarse de nuevo cuando termine de quitarlo, "
        "o el {when} si se detiene a mitad de camino"
    ),
    "{name} is being removed from the company's sending domains": (
        "{name} se está quitando de los dominios de envío de la empresa"
    ),
    "the company's SMS settings kept changing: try again": (
        "la configuración de SMS de la empresa siguió cambiando: intente de nuevo"
    ),
    "sender accounts on {name} keep changing: try again": (
        "las cuentas de envío de {name} siguen cambiando: intente de nuevo"
    ),
    "the company has no sending domain {name}": "la empresa no tiene el dominio de envío {name}",
    "the sender accounts {accounts} send from {name}: move them to another domain or remove them first": (
        "las cuentas de envío {accounts} envían desde {name}: muévalas a otro dominio o elimínelas primero"
    ),
    "not an SMTP server: its answer was not an SMTP reply": (
        "no es un servidor SMTP: su respuesta no fue una respuesta SMTP"
    ),
    "not an IMAP server: its answer was not an IMAP reply": (
        "no es un servidor IMAP: su respuesta no fue una respuesta IMAP"
    ),
    "TLS: {reason}": "error de TLS: {reason}",
    "{key} is not on the suppression list": "{key} no está en la lista de supresión",
    # SMS and push
    "SMS is not configured for this company; an administrator must save its SMS settings": (
        "los SMS no están configurados para esta empresa; un administrador debe guardar su "
        "configuración de SMS"
    ),
    "the SMS service is switched off for this company; an administrator can switch it on": (
        "el servicio de SMS está apagado para esta empresa; un administrador puede encenderlo"
    ),
    "the SMS gateway is not configured: its base_url and username are required": (
        "la pasarela de SMS no está configurada: se requieren su base_url y su username"
    ),
    "the SMS gateway password is not set; an administrator must set it": (
        "la contraseña de la pasarela de SMS no está configurada; un administrador debe configurarla"
    ),
    "the SMS gateway password was set for another gateway (base_url or username); an administrator must "
    "set it again": (
        "la contraseña de la pasarela de SMS era para otra pasarela (base_url o username); un "
        "administrador debe configurarla de nuevo"
    ),
    "set the SMS gateway's {name} first: its password is only ever sent to that gateway": (
        "configure primero {name} de la pasarela de SMS: su contraseña solo se envía a esa pasarela"
    ),
    "is required to switch on the SMS gateway": "es obligatorio para encender la pasarela de SMS",
    "is required while the {rule} auto-reply is on": (
        "es obligatorio mientras la respuesta automática {rule} esté activa"
    ),
    "the SMS gateway answered without a message id": "la pasarela de SMS respondió sin id de mensaje",
    "the SMS gateway answered without a state": "la pasarela de SMS respondió sin estado",
    "the SMS gateway marked the message Failed": "la pasarela de SMS marcó el mensaje como Failed",
    # the phone's later report of an SMS (messaging.delivery_reports): the app's error as it wrote it
    "failed on the phone: {error}": "falló en el teléfono: {error}",
    "failed on the phone, which gave no reason": "falló en el teléfono, que no dio el motivo",
    "HTTP {status}: the SMS gateway redirects; redirects are not followed": (
        "HTTP {status}: la pasarela de SMS redirige; las redirecciones no se siguen"
    ),
    "HTTP {status}: the SMS gateway's answer is not JSON": (
        "HTTP {status}: la respuesta de la pasarela de SMS no es JSON"
    ),
    "HTTP {status}: the SMS gateway's answer is too large": (
        "HTTP {status}: la respuesta de la pasarela de SMS es demasiado grande"
    ),
    "timeout: the SMS gateway did not answer within {seconds} s": (
        "tiempo agotado: la pasarela de SMS no respondió en {seconds} s"
    ),
    "timeout: the SMTP server did not finish within {seconds} s": (
        "tiempo agotado: el servidor SMTP no terminó en {seconds} s"
    ),
    "timeout: the IMAP server did not finish within {seconds} s": (
        "tiempo agotado: el servidor IMAP no terminó en {seconds} s"
    ),
    "unreachable: the SMS gateway at {host}:{port} ({error})": (
        "inalcanzable: la pasarela de SMS en {host}:{port} ({error})"
    ),
    # SMS Masivos (chalicelib/channels/sms.py): our words for its answers, never its own.
    "SMS Masivos is not configured: its masivos_username is required": (
        "SMS Masivos no está configurado: se requiere su masivos_username"
    ),
    "the SMS Masivos password is not set; an administrator must set it": (
        "la contraseña de SMS Masivos no está configurada; un administrador debe configurarla"
    ),
    "the SMS Masivos password was set for another masivos_username; an administrator must set it again": (
        "la contraseña de SMS Masivos era para otro masivos_username; un administrador debe configurarla "
        "de nuevo"
    ),
    "set the SMS Masivos masivos_username first: its password is only ever sent for that user": (
        "configure primero el masivos_username de SMS Masivos: su contraseña solo se envía para ese usuario"
    ),
    "is required to switch on SMS Masivos": "es obligatorio para encender SMS Masivos",
    "not available for this provider: only SMS Masivos tells Pregón its credit": (
        "no disponible para este proveedor: solo SMS Masivos le informa a Pregón su saldo"
    ),
    "{number} is not a phone number in E.164": "{number} no es un número de teléfono en E.164",
    "SMS Masivos texts only Argentine numbers: {number} is not one": (
        "SMS Masivos solo envía a números argentinos: {number} no lo es"
    ),
    "HTTP {status}: SMS Masivos redirects; redirects are not followed": (
        "HTTP {status}: SMS Masivos redirige; las redirecciones no se siguen"
    ),
    "SMS Masivos answered HTTP {status}": "SMS Masivos respondió HTTP {status}",
    "SMS Masivos answered something Pregón does not know": "SMS Masivos respondió algo que Pregón no conoce",
    "SMS Masivos refused the SMS with code {code}": "SMS Masivos rechazó el SMS con el código {code}",
    "SMS Masivos refused the SMS: {~why} ({code})": "SMS Masivos rechazó el SMS: {why} ({code})",
    "the number is a landline": "el número es un teléfono fijo",
    "the number failed too many times": "el número falló demasiadas veces",
    "the number asked not to receive SMS": "el número pidió no recibir SMS",
    "the same text went to the number just before": "el mismo texto se acaba de enviar a ese número",
    "the text looks like spam": "el texto parece spam",
    "the text is too long": "el texto es demasiado largo",
    "the number does not have 10 digits": "el número no tiene 10 dígitos",
    "the number is not only digits": "el número no tiene solo dígitos",
    "the area code does not exist": "la característica no existe",
    "the carrier refused the SMS": "la operadora rechazó el SMS",
    "the text has characters it does not take": "el texto tiene caracteres que no acepta",
    "the number's prefix is wrong": "el prefijo del número es incorrecto",
    "the number is in the do-not-call register": "el número está en el registro No Llame",
    "refused: SMS Masivos: usuario o clave incorrectos (the user or password is wrong)": (
        "rechazado: SMS Masivos: usuario o clave incorrectos"
    ),
    "refused: SMS Masivos: the user or password has characters SMS Masivos cannot read; change the "
    "password at SMS Masivos to letters and digits": (
        "rechazado: SMS Masivos: el usuario o la clave tienen caracteres que SMS Masivos no puede leer; "
        "cambie la clave en SMS Masivos por letras y dígitos"
    ),
    "refused: SMS Masivos: the account has no SMS left or its package expired": (
        "rechazado: SMS Masivos: la cuenta no tiene SMS disponibles o su paquete venció"
    ),
    "timeout: SMS Masivos did not answer within {seconds} s": (
        "tiempo agotado: SMS Masivos no respondió en {seconds} s"
    ),
    "unreachable: SMS Masivos at {host}:{port} ({error})": (
        "inalcanzable: SMS Masivos en {host}:{port} ({error})"
    ),
    "unknown {noun} {names} (known: {known})": "variables desconocidas: {names} (disponibles: {known})",
    "the bulk-send password is required to send to more than one client": (
        "se requiere la contraseña de envío masivo para enviar a más de un cliente"
    ),
    "the bulk-send password is wrong": "la contraseña de envío masivo es incorrecta",
    "the bulk-send password is wrong, too many times": (
        "la contraseña de envío masivo fue incorrecta demasiadas veces"
    ),
    "too many wrong bulk-send passwords": "demasiadas contraseñas de envío masivo incorrectas",
    "the company has no bulk-send password; an administrator must set one before sending to more than one "
    "client": (
        "la empresa no tiene contraseña de envío masivo; un administrador debe configurarla antes de "
        "enviar a más de un cliente"
    ),
    "{~why}: bulk sends are locked until {time} (Retry-After: {seconds} seconds); even the right password is "
    "refused until then": (
        "{why}: los envíos masivos están bloqueados hasta el {time} (Retry-After: {seconds} segundos); hasta "
        "entonces se rechaza incluso la contraseña correcta"
    ),
    "push is not set up for this company (PUT /push/settings)": (
        "push no está configurado para esta empresa (PUT /push/settings)"
    ),
    "push to {platform} is not set up for this company; an administrator sets its SNS platform application "
    "with PUT /push/settings": (
        "push a {platform} no está configurado para esta empresa; un administrador configura su "
        "aplicación de plataforma SNS con PUT /push/settings"
    ),
    "must be an SNS platform application ARN ({kinds})": (
        "debe ser el ARN de una aplicación de plataforma SNS ({kinds})"
    ),
    "is not an application created for this company: its name must be {company_id} or start with "
    "'{prefix}'": (
        "no es una aplicación creada para esta empresa: su nombre debe ser {company_id} o empezar "
        "con '{prefix}'"
    ),
    "SNS does not know this application: {message}": "SNS no conoce esta aplicación: {message}",
    "SNS refused the token: {message}": "SNS rechazó el token: {message}",
    # AWS's refusals (channels.provider_errors): the service, then its code and words as they came
    "{service} refused the message: {why}": "{service} rechazó el mensaje: {why}",
    "{service} did not answer: {why}": "{service} no respondió: {why}",
    "client {client_id} has no device {device_id}": (
        "el cliente {client_id} no tiene el dispositivo {device_id}"
    ),
    # templates and documents
    "there is no message type {key} (known: {known}; or custom:<name>)": (
        "no existe el tipo de mensaje {key} (disponibles: {known}; o custom:<nombre>)"
    ),
    "there is no custom template {key}": "no existe la plantilla propia {key}",
    "the template {key} has no text for {channel}: it is sent only by {channels}": (
        "la plantilla {key} no tiene texto para {channel}: se envía solo por {channels}"
    ),
    "give subject, text and html together, or leave all three out for an SMS-only template": (
        "dé el asunto, el texto y el html juntos, o deje afuera los tres para una plantilla solo de SMS"
    ),
    "is required: only a custom template may leave out the e-mail (subject, text and html)": (
        "es obligatorio: solo una plantilla propia puede no tener e-mail (asunto, texto y html)"
    ),
    "is required for a template without e-mail (subject, text and html): "
    "the SMS text (or a push_title and push_body)": (
        "es obligatorio en una plantilla sin e-mail (asunto, texto y html): el texto del SMS "
        "(o un push_title y un push_body)"
    ),
    "subject, text and html together exceed {limit} bytes": (
        "asunto, texto y html juntos superan los {limit} bytes"
    ),
    "syntax error on line {line}: {~error}": "error de sintaxis en la línea {line}: {error}",
    "syntax error: {~error}": "error de sintaxis: {error}",
    # Jinja's parser, inside the two above (jinja2/parser.py, lexer.py): the common mistakes. One it
    # says otherwise stays in Jinja's English after "error de sintaxis en la línea N:".
    "Unexpected end of template. Jinja was looking for the following tags: {tags}. "
    "The innermost block that needs to be closed is '{block}'.": (
        "la plantilla termina sin cerrar el bloque '{block}': falta {{% end{block} %}}"
    ),
    "Encountered unknown tag '{tag}'. Jinja was looking for the following tags: {tags}. "
    "The innermost block that needs to be closed is '{block}'.": (
        "la etiqueta '{tag}' no corresponde aquí: el bloque '{block}' abierto antes se cierra con "
        "{{% end{block} %}}"
    ),
    "Encountered unknown tag '{tag}'. You probably made a nesting mistake. Jinja is expecting this "
    "tag, but currently looking for {tags}. The innermost block that needs to be closed is '{block}'.": (
        "la etiqueta '{tag}' llega antes de tiempo: primero cierre el bloque '{block}' con {{% end{block} %}}"
    ),
    "Encountered unknown tag '{tag}'.": (
        "la etiqueta '{tag}' no existe, o cierra un bloque que no se abrió con su etiqueta de inicio"
    ),
    "unexpected end of template, expected '{~expected}'.": (
        "la plantilla termina antes de tiempo: falta '{expected}'"
    ),
    "unexpected '{token}', expected '{~expected}'": "no se esperaba '{token}': falta '{expected}'",
    "unexpected '{~token}'": "no se esperaba '{token}' en este lugar",
    "unexpected '}'": "no se esperaba '}}' en este lugar: una variable se cierra con }}}}",
    "unexpected char '{char}' at {position}": (
        "no se puede usar '{char}' aquí (carácter {position} del texto)"
    ),
    "unexpected char '\"' at {position}": (
        'un texto entre comillas no se cierra: falta la otra " (carácter {position} del texto)'
    ),
    'unexpected char "\'" at {position}': (
        "un texto entre comillas no se cierra: falta la otra ' (carácter {position} del texto)"
    ),
    "expected token 'name', got '{~got}'": "falta un nombre antes de '{got}'",
    "expected token '{~expected}', got '{~got}'": "se esperaba '{expected}' y hay '{got}'",
    "Expected an expression, got '{~got}'": "falta una variable o un valor antes de '{got}'",
    "expected name or number": "falta un nombre o un número después del punto",
    "expected subscript expression": "falta lo que va entre los corchetes",
    "invalid syntax for function call expression": "la llamada entre paréntesis está mal escrita",
    "tag name expected": "falta el nombre de la etiqueta después de {{%",
    "Missing end of comment tag": "un comentario {{# no se cierra: falta #}}",
    # Jinja's names for its tokens, inside the messages above
    "end of print statement": "}}}}",
    "begin of print statement": "{{{{",
    "end of statement block": "%}}",
    "begin of statement block": "{{%",
    "end of comment": "#}}",
    "end of template": "final de la plantilla",
    "cannot be rendered ({error})": "no se puede generar ({error})",
    "uses a variable this message does not offer ({~error})": (
        "usa una variable que este mensaje no ofrece ({error})"
    ),
    "in the subject: {~problem}": "en el asunto: {problem}",
    "in the text: {~problem}": "en el texto: {problem}",
    "in the HTML: {~problem}": "en el HTML: {problem}",
    # Jinja's own words for a missing variable (jinja2.runtime.Undefined), inside the one above
    "'{name}' is undefined": "la variable '{name}' no existe en este mensaje",
    "'{kind} object' has no attribute '{name}'": "'{name}' no existe en este valor, de tipo {kind}",
    "'None' has no attribute '{name}'": "'{name}' no existe: el valor está vacío",
    "{kind} object has no element {index}": "el elemento {index} no existe en este valor, de tipo {kind}",
    "uses something templates may not use ({error})": "usa algo que las plantillas no pueden usar ({error})",
    "the template {~what} longer than {limit} characters": "la plantilla {what} de más de {limit} caracteres",
    "builds a value": "genera un valor",
    "asks for a width": "pide un ancho",
    "renders a text": "genera un texto",
    "the template calls itself too deeply": "la plantilla se llama a sí misma demasiadas veces",
    "the template is nested too deeply": "la plantilla tiene demasiados niveles de anidamiento",
    "the template takes too long to render (the limit is {seconds} s)": (
        "la plantilla tarda demasiado en generarse (el límite es {seconds} s)"
    ),
    "the template builds more than {limit} characters": "la plantilla genera más de {limit} caracteres",
    "the template computes a number of over {limit} bits": (
        "la plantilla calcula un número de más de {limit} bits"
    ),
    "the template's loops run more than {limit} times in all": (
        "los bucles de la plantilla se ejecutan más de {limit} veces en total"
    ),
    "range() may produce at most {limit} items": "range() puede producir como máximo {limit} elementos",
    "sum() may only add numbers": "sum() solo puede sumar números",
    "templates may not use str.{name}()": "las plantillas no pueden usar str.{name}()",
    "templates may use {method}() only with {allowed}, not {codec}": (
        "las plantillas pueden usar {method}() solo con {allowed}, no con {codec}"
    ),
    "tojson's indent may be at most {limit}": "la sangría de tojson puede ser como máximo {limit}",
    "tojson's indent may be at most {limit} characters": (
        "la sangría de tojson puede tener como máximo {limit} caracteres"
    ),
    "urlize may scan at most {limit} characters": "urlize puede recorrer como máximo {limit} caracteres",
    "urlize's target and rel may be at most {limit} characters": (
        "target y rel de urlize pueden tener como máximo {limit} caracteres"
    ),
    "wordwrap may wrap at most {limit} characters": "wordwrap puede ajustar como máximo {limit} caracteres",
    "wordwrap's wrapstring may be at most 8 characters": (
        "el wrapstring de wordwrap puede tener como máximo 8 caracteres"
    ),
    "line {line}: {~problem}": "línea {line}: {problem}",
    "typst cannot lay it out: {error}": "typst no puede componerlo: {error}",
    "typst needs too much memory to lay it out (the limit is {megabytes} MB)": (
        "typst necesita demasiada memoria para componerlo (el límite es {megabytes} MB)"
    ),
    "typst takes too long to lay it out (the limit is {seconds} s)": (
        "typst tarda demasiado en componerlo (el límite es {seconds} s)"
    ),
    "makes more than {limit} pages": "genera más de {limit} páginas",
    "the template marks no rows": "la plantilla no marca ninguna fila",
    "are too large to keep: more than {limit} kB compressed (send the statement with its movements "
    "instead)": (
        "son demasiado grandes para guardarlos: más de {limit} kB comprimidos (envíe el estado de "
        "cuenta con sus movimientos)"
    ),
    "uses {what}: document templates may not import or include anything (packages come from the network, "
    "files from the disk); use company_logo() for the logo": (
        "usa {what}: las plantillas de documentos no pueden importar ni incluir nada (los paquetes "
        "vienen de la red, los archivos del disco); use company_logo() para el logo"
    ),
    "uses a filter block: in a document template it would turn the template's own text into markup no "
    "check can read; filter the values instead (value|upper)": (
        "usa un bloque filter: en una plantilla de documento convertiría el texto propio de la plantilla en "
        "marcado que ningún control puede leer; aplique el filtro a los valores (value|upper)"
    ),
    "uses {what}: document templates may not read files, images or data, nor run code; use company_logo() "
    "for the logo": (
        "usa {what}: las plantillas de documentos no pueden leer archivos, imágenes ni datos, ni ejecutar "
        "código; use company_logo() para el logo"
    ),
    "there is no document type {document_type} (known: {known})": (
        "no existe el tipo de documento {document_type} (disponibles: {known})"
    ),
    "there is no {document_type} {number}": "no existe {document_type} {number}",
    # the document types by name (a more specific entry wins over the one above)
    "there is no order {number}": "no existe el pedido {number}",
    "there is no purchase_order {number}": "no existe la orden de compra {number}",
    "there is no statement {number}": "no existe el estado de cuenta {number}",
    "the {document_type} {number} was sent before, by another user": (
        "{document_type} {number} ya se envió antes, por otro usuario"
    ),
    "{base} was sent {limit} times today with other contents; give this statement a number of its own": (
        "{base} ya se envió {limit} veces hoy con otros contenidos; "
        "dé a este estado de cuenta un número propio"
    ),
    "is not a PDF (it must start with %PDF- and end with %%EOF)": (
        "no es un PDF (debe empezar con %PDF- y terminar con %%EOF)"
    ),
    "the PDF is larger than {limit} MB": "el PDF supera los {limit} MB",
    "the request is larger than 10 MB (the PDF may be 7 MB)": (
        "el pedido supera los 10 MB (el PDF puede tener 7 MB)"
    ),
    "is not valid base64": "no es base64 válido",
    "there is no supplier {supplier_id}": "no existe el proveedor {supplier_id}",
    "there is no bulk statement job {job_id}": "no existe el trabajo de resúmenes masivos {job_id}",
    # branding, logo
    "is not a branding setting ({settings})": "no es un ajuste de marca ({settings})",
    "must be a PNG or JPEG image": "debe ser una imagen PNG o JPEG",
    "SVG is not accepted (it can carry script): send a PNG or JPEG image": (
        "no se acepta SVG (puede llevar código): envíe una imagen PNG o JPEG"
    ),
    "the logo is larger than {limit} kB": "el logo supera los {limit} kB",
    "there is no such logo": "no existe ese logo",
    "the console has no file {name}": "la consola no tiene el archivo {name}",
    # sends, history, register, inbound
    "give either client_ids or filter (one of them)": "indique client_ids o filter (uno de los dos)",
    "must name at least one client": "debe indicar al menos un cliente",
    "at most {limit} clients; use a filter for more": "como máximo {limit} clientes; use un filtro para más",
    "there is no send job {job_id}": "no existe el trabajo de envío {job_id}",
    "select at least one message": "seleccione al menos un mensaje",
    "lists a message twice": "incluye un mensaje dos veces",
    "at most {limit} messages at once": "como máximo {limit} mensajes a la vez",
    "only a message we sent can be resent": "solo se puede reenviar un mensaje que se envió",
    "there is no history for the channel {channel} (email, sms, push)": (
        "no hay historial para el canal {channel} (email, sms, push)"
    ),
    "there is no message {communication_id} in your history": (
        "no existe el mensaje {communication_id} en su historial"
    ),
    "there is no {channel} message {communication_id} in your history": (
        "no existe el mensaje de {channel} {communication_id} en su historial"
    ),
    "there is no {channel} history export {export_id}": (
        "no existe la exportación del historial de {channel} {export_id}"
    ),
    "there is no register export {export_id} of client {client_id}": (
        "no existe la exportación del registro {export_id} del cliente {client_id}"
    ),
    "there is no notes report export {export_id}": (
        "no existe la exportación del informe de notas {export_id}"
    ),
    "the export could not be built: ask for it again": (
        "no se pudo generar la exportación: vuelva a pedirla"
    ),
    "the export was stopped before it finished, on each of its attempts (it holds more than its "
    "worker can write in its time): ask for a shorter period": (
        "la exportación se detuvo antes de terminar en cada uno de sus intentos (tiene más de lo "
        "que se puede escribir en el tiempo disponible): pídala para un período más corto"
    ),
    "is not one of your saved filters": "no es uno de sus filtros guardados",
    "you have no saved filter {filter_id}": "no tiene el filtro guardado {filter_id}",
    "you have {limit} saved filters already": "ya tiene {limit} filtros guardados",
    "is not one of the company's {kind} codes": "no es uno de los códigos de {kind} de la empresa",
    "{code} is not one of the company's {table}s (see /register/{path})": (
        "{code} no es uno de los valores de {table} de la empresa (vea /register/{path})"
    ),
    "name at least one user to tell": "indique al menos un usuario a quien avisar",
    "name at most {limit} users at a time": "indique como máximo {limit} usuarios a la vez",
    "not active users of the company with an e-mail address: {users}": (
        "no son usuarios activos de la empresa con una dirección de e-mail: {users}"
    ),
    "this record is from a private mailbox, which only its owner and level-1 users see, so they could "
    "not open it: {users}": (
        "este registro es de un buzón privado, que solo ven su dueño y los usuarios de nivel 1, así que "
        "no podrían abrirlo: {users}"
    ),
    "level-4 users see only the records they created, so they could not open this one: {users}": (
        "los usuarios de nivel 4 solo ven los registros que crearon, así que no podrían abrir este: {users}"
    ),
    "a record keeps at most {limit} notices to colleagues": (
        "un registro guarda como máximo {limit} avisos a compañeros"
    ),
    "telling {n} more users would pass this user's allowance of {limit} e-mails to colleagues an hour": (
        "avisar a {n} usuarios más superaría el máximo de este usuario: {limit} correos a compañeros por hora"
    ),
    "there is no register table {name} (motives, areas)": (
        "no existe la tabla del registro {name} (motives, areas)"
    ),
    "client {client_id} has no register record {record_id}": (
        "el cliente {client_id} no tiene el registro {record_id}"
    ),
    "attachments are added to manual records and to mail logged from a staff mailbox only; "
    "a message Pregón sent or received keeps the attachments it was sent with": (
        "solo se agregan adjuntos a registros manuales y a correos registrados desde un buzón del personal; "
        "un mensaje que Pregón envió o recibió conserva los adjuntos con los que se envió"
    ),
    # the client's document portal (docs/portal.md)
    "at most {limit}": "como máximo {limit}",
    "is not a cursor of this listing": "no es un cursor de esta lista",
    "is not a document portal link": "no es un enlace al portal de documentos",
    "is not a file name": "no es un nombre de archivo",
    "not categories of the company (see /register/categories): {codes}": (
        "no son categorías de la empresa (vea /register/categories): {codes}"
    ),
    "the file was not kept, or was deleted after sending: nothing to publish": (
        "el archivo no se guardó, o se borró después del envío: no hay nada que publicar"
    ),
    "the link expired: ask the company for a new one": "el enlace venció: pida uno nuevo a la empresa",
    "the link was withdrawn: ask the company for a new one": (
        "el enlace ya no sirve: pida uno nuevo a la empresa"
    ),
    "the record has {n} files": "el registro tiene {n} archivos",
    "there is nothing at this link any more": "ya no hay nada en este enlace",
    "this file is published already: change or unpublish that publication": (
        "este archivo ya está publicado: cambie esa publicación o retírela"
    ),
    "a user sends at most {limit} portal access e-mails an hour": (
        "un usuario envía como máximo {limit} e-mails de acceso al portal por hora"
    ),
    "too many requests to the document portal from this address": (
        "demasiadas solicitudes al portal de documentos desde esta dirección"
    ),
    "client {client_id} has no publication {publication_id}": (
        "el cliente {client_id} no tiene la publicación {publication_id}"
    ),
    "there is no such document": "no existe ese documento",
    "a record holds at most {limit} attachments": "un registro tiene como máximo {limit} adjuntos",
    "an attachment is at most 5 MiB (5242880 bytes)": "un adjunto tiene como máximo 5 MiB (5242880 bytes)",
    "an attachment is at most {limit} bytes": "un adjunto tiene como máximo {limit} bytes",
    "the attachment {name} {~state}": "el adjunto {name} {state}",
    "was deleted after sending": "se borró después del envío",
    "is no longer stored": "ya no está guardado",
    "there is no received e-mail {communication_id}": "no existe el e-mail recibido {communication_id}",
    "no held mail to release from {sender} on {day}": (
        "no hay correo retenido de {sender} el {day} para liberar"
    ),
    "the held mail from {sender} on {day} is no longer kept: held mail is deleted {KEPT_DAYS} days after"
    " it arrived": (
        "el correo retenido de {sender} el {day} ya no se guarda: el correo retenido se borra a los"
        " {KEPT_DAYS} días de llegar"
    ),
    "must be a day of the last {RELEASE_DAYS} days (held mail is kept no longer)": (
        "debe ser un día de los últimos {RELEASE_DAYS} días (el correo retenido no se guarda más)"
    ),
    "only a record that came from an e-mail can be answered": (
        "solo se puede responder un registro que vino de un e-mail"
    ),
    "this e-mail has no address to answer": "este e-mail no tiene una dirección a la cual responder",
    "there is no ticket {ticket_id}": "no existe el ticket {ticket_id}",
    # mailboxes
    "there is no mailbox {mailbox_id}": "no existe el buzón {mailbox_id}",
    "is required for a password mailbox": "es obligatorio para un buzón con contraseña",
    "is required for a microsoft365 mailbox": "es obligatorio para un buzón microsoft365",
    "is for a microsoft365 mailbox only": "es solo para un buzón microsoft365",
    "is {whose} for a {auth} mailbox, not a setting": "lo fija {whose} para un buzón {auth}; no es un ajuste",
    "must name 1 to {limit} folders": "debe indicar de 1 a {limit} carpetas",
    "each folder is a name without control characters": "cada carpeta es un nombre sin caracteres de control",
    "only a company administrator (level 1) may make a mailbox public": (
        "solo un administrador de la empresa (nivel 1) puede hacer público un buzón"
    ),
    "only the mailbox's owner or a company administrator may change it": (
        "solo el dueño del buzón o un administrador de la empresa puede cambiarlo"
    ),
    "must be the Workspace user's address for a google mailbox": (
        "debe ser la dirección del usuario de Workspace para un buzón google"
    ),
    "must be the service account's address": "debe ser la dirección de la cuenta de servicio",
    "must be the key file's RSA private key in PEM, as Google gave it": (
        "debe ser la clave privada RSA del archivo de clave en PEM, tal como la dio Google"
    ),
    "must be an RSA key of at least 2048 bits": "debe ser una clave RSA de al menos 2048 bits",
    "is longer than an RSA key of up to 4096 bits": "es más larga que una clave RSA de hasta 4096 bits",
    "a microsoft365 or google mailbox logs in with OAuth2 (PUT .../client-secret or "
    ".../service-account-key), not a password": (
        "un buzón microsoft365 o google ingresa con OAuth2 (PUT .../client-secret o "
        ".../service-account-key), no con contraseña"
    ),
    "only a microsoft365 mailbox has a client secret (this one logs in otherwise)": (
        "solo un buzón microsoft365 tiene secreto de cliente (este ingresa de otra forma)"
    ),
    "only a google mailbox has a service account key (this one logs in otherwise)": (
        "solo un buzón google tiene clave de cuenta de servicio (este ingresa de otra forma)"
    ),
    # reminders, receivables
    "must hold at least one receivable": "debe tener al menos una cuenta por cobrar",
    "repeats receivables[{index}]": "repite receivables[{index}]",
    "there is no receivable {document_number}": "no existe la cuenta por cobrar {document_number}",
    "there is no reminder concept {concept_id}": "no existe el concepto de recordatorio {concept_id}",
    "must be a {kind} concept; {chosen} is {actual}": "debe ser un concepto {kind}; {chosen} es {actual}",
    "the catalog has no after_due concept": "el catálogo no tiene un concepto after_due",
    "the concept is the {kind} concept of clients {clients}; choose another concept for them first": (
        "el concepto es el concepto {kind} de los clientes {clients}; elija antes otro concepto para ellos"
    ),
    "the SMS provider's account was read {limit} times this hour": (
        "la cuenta del proveedor de SMS ya se consultó {limit} veces en esta hora"
    ),
    "{~message}; try again next hour": "{message}; pruebe en la próxima hora",
}


# Reasons Pregón writes into successful answers and records (a failed message's ``error`` in the
# history, a skipped recipient's ``reason``), beyond the errors above, which may be reasons too (a
# channel's DeliveryFailed). Stored in English; translated by :func:`reasons_in_language`.
# tests/unit/test_error_language.py finds every one our code writes.
REASONS: dict[str, str] = {
    # a template's warning (messaging/templates.py, template_warnings)
    "with the preview data the e-mail's HTML is {length} characters and holds an image: spam filters "
    "(SpamAssassin's HTML_IMAGE_ONLY rules) add up to 2.8 points to an e-mail with an image and {limit} "
    "characters of HTML or less; add text (a footer saying why the reader gets it, as the default "
    "templates have), or leave the image out": (
        "con los datos de ejemplo el HTML del correo tiene {length} caracteres y una imagen: los filtros "
        "de spam (las reglas HTML_IMAGE_ONLY de SpamAssassin) suman hasta 2,8 puntos a un correo con una "
        "imagen y {limit} caracteres de HTML o menos; agregue texto (un pie que diga por qué lo recibe el "
        "lector, como el de las plantillas predeterminadas), o quite la imagen"
    ),
    # webhook deliveries (messaging/webhooks/service.py): our words, never the endpoint's answer
    "timeout: no answer within {seconds} s": "tiempo agotado: sin respuesta en {seconds} s",
    "unreachable: {~reason}": "inalcanzable: {reason}",
    "unreachable: {host}:{port} ({error})": "inalcanzable: {host}:{port} ({error})",
    "redirects are not followed": "las redirecciones no se siguen",
    # ... as staff below level 1 read them, without the endpoint's host or port (error_without_address)
    "refused: the endpoint's address is {~reason}; Pregón connects only to public addresses": (
        "rechazado: la dirección del webhook es {reason}; Pregón solo se conecta a direcciones públicas"
    ),
    "unreachable: the endpoint's address is {~reason}; Pregón connects only to public addresses": (
        "inalcanzable: la dirección del webhook es {reason}; Pregón solo se conecta a direcciones públicas"
    ),
    "refused: the endpoint's host is not a host name": (
        "rechazado: el host del webhook no es un nombre de host"
    ),
    "unreachable: the endpoint's host is not a host name": (
        "inalcanzable: el host del webhook no es un nombre de host"
    ),
    "refused: the endpoint's host cannot be resolved": "rechazado: el host del webhook no se puede resolver",
    "unreachable: the endpoint's host cannot be resolved": (
        "inalcanzable: el host del webhook no se puede resolver"
    ),
    "refused: nothing accepts connections at the endpoint's address": (
        "rechazado: nada acepta conexiones en la dirección del webhook"
    ),
    "unreachable: the endpoint's address ({error})": "inalcanzable: la dirección del webhook ({error})",
    "refused: the details are shown to administrators only": (
        "rechazado: los detalles solo los ven los administradores"
    ),
    "unreachable: the details are shown to administrators only": (
        "inalcanzable: los detalles solo los ven los administradores"
    ),
    "the details are shown to administrators only": "los detalles solo los ven los administradores",
    # delivery (messaging/delivery.py, accounts/waiting.py)
    "the company is suspended: its messages wait until it is reopened or deleted": (
        "la empresa está suspendida: sus mensajes esperan hasta que se reabra o se elimine"
    ),
    "the company is suspended": "la empresa está suspendida",
    # mailbox sync (records/mailboxes/sync.py)
    "the company is suspended: its mailboxes are not read until Pregón reopens it": (
        "la empresa está suspendida: sus buzones no se leen hasta que Pregón la reabra"
    ),
    "the sender account {area} is missing, disabled or incomplete": (
        "la cuenta de envío {area} no existe, está desactivada o está incompleta"
    ),
    "cancelled by {user_id} while the sender account {area} was missing: it never went out": (
        "cancelado por {user_id} mientras la cuenta de envío {area} no existía: nunca salió"
    ),
    "cancelled by {user_id} while the sender account {area} was disabled: it never went out": (
        "cancelado por {user_id} mientras la cuenta de envío {area} estaba desactivada: nunca salió"
    ),
    "cancelled by {user_id} while the sender account {area} was incomplete: it never went out": (
        "cancelado por {user_id} mientras la cuenta de envío {area} estaba incompleta: nunca salió"
    ),
    "cancelled by {user_id} while the sender account {area} was {state}: it never went out": (
        "cancelado por {user_id} mientras la cuenta de envío {area} estaba {state}: nunca salió"
    ),
    "unknown outbox {outbox}": "bandeja de salida desconocida {outbox}",
    "the event gives no client_balance, which the company's SMS text prints (%deuda%, %saldo%)": (
        "el evento no trae client_balance, que el texto del SMS de la empresa imprime (%deuda%, %saldo%)"
    ),
    "rate limit: {count} per {hours} h reached; room again at {at}": (
        "límite de envío: se alcanzaron {count} por {hours} h; hay lugar otra vez a las {at}"
    ),
    "Pregón's e-mail allowance is used up ({per_day} e-mails per 24 h through Pregón's SES): they go as "
    "room opens again, from {time}": (
        "se usaron los correos permitidos por Pregón ({per_day} correos cada 24 h por el SES de Pregón): "
        "salen a medida que hay lugar de nuevo, desde el {time}"
    ),
    "Pregón paused the company's e-mails through its SES: too many hard bounces or complaints in the "
    "last 24 h; they wait until Pregón resumes them": (
        "Pregón pausó los correos de la empresa por su SES: demasiados rebotes definitivos o denuncias de "
        "spam en las últimas 24 h; esperan hasta que Pregón los reanude"
    ),
    "Pregón paused the company's e-mails through its SES: too many hard bounces or complaints in the "
    "last 24 h; they wait until Pregón resumes them (paused since {time})": (
        "Pregón pausó los correos de la empresa por su SES: demasiados rebotes definitivos o denuncias de "
        "spam en las últimas 24 h; esperan hasta que Pregón los reanude (en pausa desde el {time})"
    ),
    "Pregón paused the company's e-mails through its SES for too many hard bounces or complaints: a "
    "test cannot go until Pregón resumes them": (
        "Pregón pausó los correos de la empresa por su SES por demasiados rebotes definitivos o denuncias "
        "de spam: no sale ninguna prueba hasta que Pregón los reanude"
    ),
    "Pregón's e-mail allowance: {count} per {hours} h reached; room again at {at}": (
        "correos permitidos por Pregón: se alcanzaron {count} por {hours} h; hay lugar otra vez a las {at}"
    ),
    "Pregón's SMS allowance: {count} per {hours} h reached; room again at {at}": (
        "SMS permitidos por Pregón: se alcanzaron {count} por {hours} h; hay lugar otra vez a las {at}"
    ),
    "not sent: the address is suppressed ({reason})": (
        "no enviado: la dirección está en la lista de supresión ({reason})"
    ),
    # rendering at the producers
    "the template cannot be rendered: {~error}": "la plantilla no se puede generar: {error}",
    "the reminder template failed: {~error}": "la plantilla del recordatorio falló: {error}",
    # reminders skipped (producers/reminders/run.py)
    "the client does not exist": "el cliente no existe",
    "the client's reminder switch is off": "el cliente tiene desactivados los recordatorios",
    "the client is being erased": "el cliente se está borrando",
    "the client has no e-mail address": "el cliente no tiene dirección de e-mail",
    "the client has no balance pushed, which the reminder's SMS text prints (%deuda%, %saldo%)": (
        "el cliente no tiene saldo cargado, que el texto del SMS del recordatorio imprime (%deuda%, %saldo%)"
    ),
    # bulk statements' skip and fail reasons (producers/documents/bulk.py, SKIP_/FAIL_SENTENCES)
    "clients with no e-mail address": "clientes sin dirección de e-mail",
    "clients with no open movements (they owe nothing)": "clientes sin movimientos abiertos (no deben nada)",
    "clients whose e-mail address is on the suppression list": (
        "clientes con la dirección de e-mail en la lista de supresión"
    ),
    "clients with more open receivables than a statement prints": (
        "clientes con más comprobantes abiertos de los que imprime un estado de cuenta"
    ),
    "statements the company's template could not render": (
        "estados de cuenta que la plantilla de la empresa no pudo generar"
    ),
    "clients with no statement number left that day (20 a day)": (
        "clientes sin número de estado de cuenta libre ese día (20 por día)"
    ),
    # business events' skipped recipients (producers/business_events.py)
    "the ticket does not ask to notify the client": "el ticket no pide avisar al cliente",
    "the client's {switch} switch is off": "el cliente tiene desactivado {switch}",
    "the company's SMS service is switched off": "el servicio de SMS de la empresa está desactivado",
    "the company sends no SMS for automatic payments": "la empresa no envía SMS por pagos automáticos",
    "the company sends no SMS for manual payments": "la empresa no envía SMS por pagos manuales",
    "the client has no phone": "el cliente no tiene teléfono",
    "none of the client's phones takes SMS": "ninguno de los teléfonos del cliente recibe SMS",
}

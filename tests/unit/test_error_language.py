"""Every message chalicelib gives to an error has a Spanish entry in chalicelib/api/error_language.py.

The source is read with ``ast``: the ``message`` of every ``{"field": ..., "message": ...}`` dict, the
first argument of every error class's call (``NotFound(...)``, ``Conflict(...)``, ...), the message of
every ``PydanticCustomError``; names are followed to what they are assigned, function parameters to
what callers pass, and calls of our own functions to what they return. What cannot be followed is
listed in :data:`DYNAMIC` with the reason; a new English message without a translation fails here.
"""

from __future__ import annotations

import ast
import pathlib
import re

import pytest

from chalicelib.api.error_language import (
    _PLACEHOLDER,
    CATALOG,
    PYDANTIC_SPANISH,
    compile_pattern,
    spanish_or_none,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "chalicelib"

# Calls whose first argument is a message a caller may read.
MESSAGE_CALLS = {
    "PregonError",
    "NotFound",
    "Conflict",
    "PreconditionFailed",
    "Gone",
    "TooManyRequests",
    "Unauthorized",
    "Forbidden",
    "DeliveryFailed",
    "PayloadTooLarge",
    "NotAcceptable",
    # Exceptions whose text becomes an error's message (str(exc)):
    "TemplateLimitExceeded",
    "NotAMobile",
    "DestinationRefused",
}

# Placeholders that hold a message of their own (``f"{why}: bulk sends are locked ..."``): what they
# are given is followed too, and must have its Spanish (the catalog writes them ``{~name}``).
INNER_NAMES = {"message", "why", "what", "gone", "reason", "never"}
INNER: list[tuple[Pattern, str]] = []

# Message expressions the scan cannot follow to English text of ours, and why (path, expression).
DYNAMIC = {
    (
        "chalicelib/api/http.py",
        "error['msg']",
    ): "pydantic's own message: translated by type (PYDANTIC_SPANISH)",
    (
        "chalicelib/api/http.py",
        "PATTERN_WORDS.get(pattern, PATTERN_UNKNOWN)",
    ): "a schema pattern's words: each has its Spanish (tests/unit/test_pattern_words.py)",
    ("chalicelib/api/openapi.py", "{'type': 'string'}"): "a JSON schema, not an error",
    ("chalicelib/channels/sms.py", "str(exc)"): "NotAMobile's text, scanned at its raise",
    (
        "chalicelib/records/history/browse.py",
        "refused[n]",
    ): "unless_erased's 422 sentence per refused id, scanned at its raise",
    ("chalicelib/channels/sms.py", "text.decode('utf-8', 'replace')"): "the SMS gateway's own words",
    ("chalicelib/channels/sms.py", "text[:_MAX_ERROR_TEXT] + '…'"): "the SMS gateway's own words",
    ("chalicelib/channels/sms.py", "str(status)"): "an HTTP status code",
    ("chalicelib/channels/smtp.py", "text"): "the SMTP server's own reply",
    ("chalicelib/channels/smtp.py", "text[:_MAX_REPLY_TEXT] + '…'"): "the SMTP server's own reply",
    ("chalicelib/messaging/accounts/email.py", "exc.reason"): "destinations.DestinationRefused, listed below",
    ("chalicelib/messaging/accounts/sms.py", "exc.reason"): "destinations.DestinationRefused, listed below",
    (
        "chalicelib/messaging/webhooks/service.py",
        "exc.reason",
    ): "destinations.DestinationRefused, listed below",
    (
        "chalicelib/records/mailboxes/accounts.py",
        "exc.reason",
    ): "destinations.DestinationRefused, listed below",
    ("chalicelib/messaging/accounts/sms.py", "exc.message"): "another error's message, scanned at its raise",
    ("chalicelib/messaging/sandbox.py", "str(exc)"): "TemplateLimitExceeded's text, scanned at its raise",
    ("chalicelib/messaging/sandbox.py", "str(_too_large())"): "TemplateLimitExceeded's text, scanned",
    (
        "chalicelib/producers/documents/send.py",
        "exc.message",
    ): "another error's message, scanned at its raise",
    (
        "chalicelib/producers/reminders/settings.py",
        "e['message']",
    ): "another error's items, scanned at their raise",
    ("chalicelib/producers/sends/manual.py", "exc.message"): "another error's message, scanned at its raise",
    ("chalicelib/producers/sends/manual.py", "e['message']"): "another error's items, scanned at their raise",
    ("chalicelib/records/mailboxes/accounts.py", "kind.other_auth"): "a _SecretKind's text, listed below",
}

# Messages built where the scan cannot see them whole (the pieces of DYNAMIC above), as they read.
ALSO_SAID = [
    # kind.other_auth, one of the three _SecretKind of records/mailboxes/accounts.py
    "a microsoft365 or google mailbox logs in with OAuth2 (PUT .../client-secret or "
    ".../service-account-key), not a password",
    "only a microsoft365 mailbox has a client secret (this one logs in otherwise)",
    "only a google mailbox has a service account key (this one logs in otherwise)",
    # client {client_id!r} {reason}: what producers/sends/manual.py's messages_for() says
    "client 'CLI-1' unsubscribed from manual sends",
    "client 'CLI-1' has no e-mail address",
    "client 'CLI-1' has no valid phone number",
    "client 'CLI-1' has no registered device",
    "client 'CLI-1' could not be rendered: 'x' is undefined",
    "client 'CLI-1' is being erased",
]


def _module_index() -> dict[str, tuple[pathlib.Path, ast.Module]]:
    index = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        below: list[ast.AST] = [tree]  # each node's children told their parent, in one pass over the tree
        while below:
            node = below.pop()
            for child in ast.iter_child_nodes(node):
                child._parent = node  # type: ignore[attr-defined]
                below.append(child)
        tree._path = str(path.relative_to(ROOT))  # type: ignore[attr-defined]
        index[".".join(path.relative_to(ROOT).with_suffix("").parts)] = (path, tree)
    return index


MODULES = _module_index()
Pattern = tuple[str | None, ...]  # literal text, None for a placeholder


def _enclosing(node: ast.AST) -> ast.FunctionDef | None:
    parent = getattr(node, "_parent", None)
    while parent is not None and not isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
        parent = getattr(parent, "_parent", None)
    return parent  # type: ignore[return-value]


def _module(node: ast.AST) -> ast.Module:
    while getattr(node, "_parent", None) is not None:
        node = node._parent  # type: ignore[attr-defined]
    return node  # type: ignore[return-value]


def _imported(tree: ast.Module, name: str) -> tuple[ast.Module, str] | None:
    return _imports_of(tree).get(name)


_IMPORTS: dict[ast.Module, dict[str, tuple[ast.Module, str]]] = {}


def _imports_of(tree: ast.Module) -> dict[str, tuple[ast.Module, str]]:
    """What a module imports from our own modules, each name as the first import of it in
    ``ast.walk``'s order says; walked once per module (the scan asks it thousands of times: walking
    the module each time was most of the scan's seconds, in every test process's collection)."""
    if tree not in _IMPORTS:
        names: dict[str, tuple[ast.Module, str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in MODULES:
                for alias in node.names:
                    names.setdefault(alias.asname or alias.name, (MODULES[node.module][1], alias.name))
        _IMPORTS[tree] = names
    return _IMPORTS[tree]


Found = tuple[list[Pattern], list[ast.AST]]


def _merge(*results: Found) -> Found:
    patterns: list[Pattern] = []
    unresolved: list[ast.AST] = []
    for found, missing in results:
        patterns += found
        unresolved += missing
    return patterns, unresolved


def _resolve(expr: ast.AST, seen: tuple[ast.AST, ...] = ()) -> Found:
    if isinstance(expr, ast.Constant):
        return ([(expr.value,)] if isinstance(expr.value, str) else []), []
    if isinstance(expr, ast.JoinedStr):
        for value in expr.values:
            inner = value.value if isinstance(value, ast.FormattedValue) else None
            if isinstance(inner, ast.Name) and inner.id in INNER_NAMES:
                where = f"{getattr(_module(expr), '_path', '?')}:{expr.lineno}"
                INNER.extend((pattern, where) for pattern in _resolve(inner, seen)[0])
        return [tuple(str(v.value) if isinstance(v, ast.Constant) else None for v in expr.values)], []
    if isinstance(expr, ast.IfExp):
        return _merge(_resolve(expr.body, seen), _resolve(expr.orelse, seen))
    if isinstance(expr, ast.BoolOp):
        return _merge(*(_resolve(value, seen) for value in expr.values))
    if isinstance(expr, ast.Name):
        return _resolve_name(expr, seen)
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "get"
        and isinstance(expr.func.value, ast.Name)
    ):  # A_TABLE.get(key): every value of a module's dict literal
        for node in _module(expr).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == expr.func.value.id for t in node.targets)
                and isinstance(node.value, ast.Dict)
            ):
                return _merge(*(_resolve(value, seen) for value in node.value.values))
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        tree, name = _module(expr), expr.func.id
        tree, name = _imported(tree, name) or (tree, name)
        for found in ast.walk(tree):
            if isinstance(found, ast.FunctionDef) and found.name == name and found not in seen:
                returns = [
                    r.value
                    for r in ast.walk(found)
                    if isinstance(r, ast.Return) and r.value is not None and _enclosing(r) is found
                ]
                return _merge(*(_resolve(r, (*seen, found)) for r in returns))
    return [], [expr]


def _resolve_name(expr: ast.Name, seen: tuple[ast.AST, ...]) -> Found:
    function, tree = _enclosing(expr), _module(expr)
    if function is not None and function not in seen:
        params = [a.arg for a in function.args.posonlyargs + function.args.args]
        if expr.id in params or expr.id in [a.arg for a in function.args.kwonlyargs]:
            return _from_callers(function, expr.id, params, (*seen, function))
    for scope in ([function] if function is not None else []) + [tree]:
        nodes = ast.walk(scope) if scope is function else iter(tree.body)
        values = []
        for node in nodes:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == expr.id for t in node.targets
            ):
                values.append(node.value)
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Tuple):
                # for name, check, message in (("a", ..., "..."), ...): the message of each row
                names = [getattr(t, "id", None) for t in node.target.elts]
                if expr.id in names and isinstance(node.iter, ast.Tuple | ast.List):
                    index = names.index(expr.id)
                    values += [row.elts[index] for row in node.iter.elts if isinstance(row, ast.Tuple)]
            elif (isinstance(node, ast.NamedExpr) and node.target.id == expr.id) or (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id == expr.id
                and node.value is not None
            ):
                values.append(node.value)  # type: ignore[arg-type]
        if values:
            return _merge(*(_resolve(value, seen) for value in values))
    imported = _imported(tree, expr.id)
    if imported:
        module, name = imported
        for node in module.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets
            ):
                return _resolve(node.value, seen)
    return [], [expr]


def _from_callers(
    function: ast.FunctionDef, name: str, params: list[str], seen: tuple[ast.AST, ...]
) -> Found:
    found: Found = ([], [])
    defaults = dict(zip(reversed(params), reversed(function.args.defaults), strict=False))
    defaults.update(
        {a.arg: d for a, d in zip(function.args.kwonlyargs, function.args.kw_defaults, strict=True) if d}
    )
    if name in defaults:
        found = _merge(found, _resolve(defaults[name], seen))
    tree = _module(function)
    nested = getattr(function, "_parent", None) is not tree
    for module in [tree] if nested else [m for _, m in MODULES.values()]:
        if module is not tree and _imported(module, function.name) is None:
            continue
        for call in ast.walk(module):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                continue
            if call.func.id != function.name:
                continue
            argument = next((k.value for k in call.keywords if k.arg == name), None)
            if argument is None and name in params and params.index(name) < len(call.args):
                argument = call.args[params.index(name)]
            if argument is not None:
                found = _merge(found, _resolve(argument, seen))
    return found


def scan() -> tuple[dict[Pattern, str], set[tuple[str, str]]]:
    """Every message pattern given to an error (with where), and what could not be followed."""
    messages: dict[Pattern, str] = {}
    unresolved: set[tuple[str, str]] = set()
    for path, tree in MODULES.values():
        where = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            candidates: list[ast.AST] = []
            if isinstance(node, ast.Dict) and None not in node.keys:
                keyed = {getattr(k, "value", None): v for k, v in zip(node.keys, node.values, strict=True)}
                if "message" in keyed and "field" in keyed:
                    candidates.append(keyed["message"])
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name in MESSAGE_CALLS and node.args:
                    candidates.append(node.args[0])
                if name == "PydanticCustomError" and len(node.args) > 1:
                    candidates.append(node.args[1])
            for candidate in candidates:
                patterns, missing = _resolve(candidate)
                for pattern in patterns:
                    messages.setdefault(pattern, f"{where}:{node.lineno}")  # type: ignore[attr-defined]
                for expr in missing:
                    if not (isinstance(expr, ast.Constant) and expr.value is None):
                        unresolved.add((where, ast.unparse(expr)))
    return messages, unresolved


MESSAGES, UNRESOLVED = scan()


def _sample(pattern: Pattern) -> str:
    """The message as a caller may read it, each placeholder an example value."""
    return "".join("'X-9'" if part is None else re.sub(r"\{(\w+)\}", "'X-9'", part) for part in pattern)


def _has_words(pattern: Pattern) -> bool:
    return any(part and re.search(r"[A-Za-z]{2}", re.sub(r"\{\w+\}", "", part)) for part in pattern)


def test_the_scan_finds_the_messages_given_to_errors():
    # Given chalicelib's source, When it is scanned, Then it finds the messages of every kind of site
    samples = {_sample(p) for p in MESSAGES}
    assert len(MESSAGES) > 250
    assert "is required" in samples  # a {"field": ..., "message": ...} dict
    assert "credentials are required" in samples  # Unauthorized(...)
    assert "must be one of 'X-9'" in samples  # an f-string
    assert "is not a valid phone number" in samples  # a helper's default argument
    assert any(s.startswith("must not contain control characters such as NUL") for s in samples)  # pydantic


def test_what_the_scan_cannot_follow_is_listed_with_its_reason():
    # Then every expression the scan could not follow to text is listed in DYNAMIC, and nothing else is
    assert set(DYNAMIC) == UNRESOLVED, (
        f"not followed and not listed: {sorted(UNRESOLVED - set(DYNAMIC))}; "
        f"listed but gone: {sorted(set(DYNAMIC) - UNRESOLVED)}"
    )


WORDED = sorted((p for p in MESSAGES if _has_words(p)), key=lambda p: _sample(p))


@pytest.mark.parametrize("pattern", WORDED, ids=[_sample(p) for p in WORDED])
def test_every_message_given_to_an_error_has_spanish(pattern: Pattern) -> None:
    # Given an English message of ours, When a caller asks for Spanish, Then the catalog has it
    sample = _sample(pattern)
    spanish = spanish_or_none(sample)
    assert spanish is not None, f"no Spanish for {sample!r} ({MESSAGES[pattern]}): add it to CATALOG"
    assert spanish != sample


INNER_WORDED = sorted({p for p, _ in INNER if _has_words(p)}, key=lambda p: _sample(p))


@pytest.mark.parametrize("pattern", INNER_WORDED, ids=[_sample(p) for p in INNER_WORDED])
def test_every_message_inside_another_has_spanish(pattern: Pattern) -> None:
    # Given a message given to another's placeholder ("too many requests from this address" in
    # "{message}; try again in {retry_after} seconds"), Then it has its Spanish too
    sample = _sample(pattern)
    where = next(w for p, w in INNER if p == pattern)
    assert spanish_or_none(sample) not in (None, sample), (
        f"no Spanish for {sample!r} ({where}): add it to CATALOG"
    )


@pytest.mark.parametrize("message", ALSO_SAID)
def test_messages_built_from_pieces_have_spanish(message):
    assert spanish_or_none(message) not in (None, message)


@pytest.mark.parametrize(
    ("english", "spanish"),
    [
        ("client 'CLI-7' is being erased", "el cliente 'CLI-7' se está borrando"),
        ("there is no client 'CLI-7'", "no existe el cliente 'CLI-7'"),
    ],
)
def test_a_one_client_send_refused_by_an_erasure_reads_wholly_in_spanish(english: str, spanish: str) -> None:
    # the two 422s of POST /sends while the client is being erased, or once it is gone
    assert spanish_or_none(english) == spanish


def test_each_spanish_entry_keeps_the_placeholders_of_its_english():
    # Values, limits and lists are carried over: the Spanish names the same placeholders
    # (but English words the Spanish says itself, and email_validator's English prose)
    left_out = {
        "is not a valid e-mail address ({error})": {"error"},
        "unknown {noun} {names} (known: {known})": {"noun"},  # "variable" or "variables"
        # Jinja's list of the tags it looked for ("'elif' or 'else' or 'endif'"): the Spanish names
        # the one that closes the block
        "Unexpected end of template. Jinja was looking for the following tags: {tags}. "
        "The innermost block that needs to be closed is '{block}'.": {"tags"},
        "Encountered unknown tag '{tag}'. Jinja was looking for the following tags: {tags}. "
        "The innermost block that needs to be closed is '{block}'.": {"tags"},
        "Encountered unknown tag '{tag}'. You probably made a nesting mistake. Jinja is expecting this "
        "tag, but currently looking for {tags}. The innermost block that needs to be closed is '{block}'.": {
            "tags"
        },
    }
    for english, spanish in CATALOG.items():
        compile_pattern(english)
        named = {m.group(2) for m in _PLACEHOLDER.finditer(english)}
        kept = {m.group(2) for m in _PLACEHOLDER.finditer(spanish)}
        assert kept == named - left_out.get(english, set()), english
        assert "{~" not in spanish, english


def test_pydantic_types_our_schemas_produce_have_spanish():
    for error_type in (
        "missing", "extra_forbidden", "string_too_long", "string_too_short", "too_long", "too_short",
        "int_parsing", "int_type", "float_parsing", "greater_than", "greater_than_equal", "less_than",
        "less_than_equal", "literal_error", "enum", "value_error", "url_parsing", "url_scheme",
        "bool_parsing", "bool_type", "date_parsing", "datetime_parsing", "timezone_aware", "json_invalid",
        "string_type", "string_pattern_mismatch", "dict_type", "list_type", "decimal_parsing", "model_type",
    ):  # fmt: skip
        assert error_type in PYDANTIC_SPANISH


def test_pydantics_messages_read_in_spanish_with_their_limits_and_values() -> None:
    from datetime import date
    from decimal import Decimal
    from typing import Literal

    from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, HttpUrl, ValidationError

    from chalicelib.api.http import pydantic_errors

    class Form(BaseModel):
        model_config = ConfigDict(extra="forbid")
        email: EmailStr
        url: HttpUrl
        kind: Literal["x", "y", "z"]
        level: int = Field(ge=1, le=4)
        ratio: float
        day: date
        at: AwareDatetime
        on: bool
        amount: Decimal
        items: list[int] = Field(max_length=2)
        name: str = Field(min_length=2, max_length=5)
        code: str = Field(pattern=r"^[a-z]+$")
        needed: str

    # Given a form with every field wrong, and one field the form does not know
    bad = {
        "email": "ana", "url": "ftp://a", "kind": "q", "level": 9, "ratio": "abc", "day": "2026-13-01",
        "at": "2026-01-01T00:00:00", "on": "maybe", "amount": "x", "items": [1, 2, 3], "name": "a",
        "code": "A1", "colour": "blue",
    }  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        Form.model_validate(bad)
    # When its errors are asked for in Spanish
    spanish = {e["field"]: spanish_or_none(e["message"]) for e in pydantic_errors(refused.value)}

    # Then each has its Spanish, the limits and values as pydantic gave them
    assert spanish == {
        "email": "no es una dirección de e-mail válida",
        "url": "el esquema de la URL debe ser 'http' o 'https'",
        "kind": "debe ser 'x', 'y' o 'z'",
        "level": "debe ser menor o igual que 4",
        "ratio": "debe ser un número",
        "day": "debe ser una fecha o una fecha y hora (month value is outside expected range of 1-12)",
        "at": "debe indicar la zona horaria (por ejemplo Z o -03:00)",
        "on": "debe ser true o false",
        "amount": "debe ser un número decimal",
        "items": "debe tener como máximo 2 elementos, no 3",
        "name": "debe tener al menos 2 caracteres",
        "code": "no está escrito en la forma que este campo admite",
        "needed": "es obligatorio",
        "colour": "no es un campo conocido",
    }
    assert spanish_or_none("String should have at most 1 character") == "debe tener como máximo 1 carácter"


def test_a_long_message_that_nearly_matches_a_pattern_is_answered_at_once_in_english() -> None:
    import time

    from chalicelib.api.error_language import MAX_TRANSLATED_CHARS, in_language

    # Given a message that echoes a caller's long value and almost matches a pattern of several
    # placeholders (matched whole, it would take seconds: the cost grows as its length cubed)
    message = "unreachable: the SMS gateway at " + "h:1 (" * 1000
    assert len(message) > MAX_TRANSLATED_CHARS
    started = time.process_time()
    # When it is asked for in Spanish / Then it stays as it is, and costs next to nothing
    assert in_language(message, "es") == message
    assert time.process_time() - started < 0.05


@pytest.mark.parametrize(
    ("english", "spanish"),
    [
        ("there is no order 'P-2'", "no existe el pedido 'P-2'"),
        ("there is no purchase_order 'OC-9'", "no existe la orden de compra 'OC-9'"),
        ("there is no statement 'EC-1'", "no existe el estado de cuenta 'EC-1'"),
        # a register table's entry (seed 004; until session 42: "motive 'cobro' ya existe")
        ("the motive 'cobro' exists already", "el motivo 'cobro' ya existe"),
        ("the area 'fiscal' exists already", "el área 'fiscal' ya existe"),
        ("the category 'facturas' exists already", "la categoría 'facturas' ya existe"),
        ("there is no area 'fiscal'", "no existe el área 'fiscal'"),
    ],
)
def test_a_document_or_a_register_entry_names_its_kind_in_spanish(english: str, spanish: str) -> None:
    # Given a sent document a caller may not see (or that does not exist), looked up by type and
    # number, or a register table's entry whose code is taken or gone
    # When the answer is asked for in Spanish
    # Then it names the document's type, or the table, in Spanish, not the API's code for it
    assert spanish_or_none(english) == spanish


# --- reasons in successful answers (session 30) ----------------------------------------------------
# A failed message's ``error``, a skipped recipient's ``reason``, a reminder's ``skipped``: text our code
# writes into records and answers, translated by api.error_language.reasons_in_language. Found here as
# the value given to a keyword of those names in any call (``replace(message, error=...)``), and the
# reason argument of the classes that take it by position.
REASON_KEYWORDS = {"error", "reason", "skipped", "warning"}
REASON_POSITIONS = {"_Setup": 2, "SkippedRecipient": 1}

# Reason expressions the scan cannot follow to English text of ours, and why (path, expression).
REASON_DYNAMIC = {
    ("chalicelib/api/suppressions.py", "body.reason"): "a suppression's code (manual, bounce ...), not prose",
    ("chalicelib/store/erasures.py", "entry.reason"): "a kept suppression's code (bounce ...), not prose",
    ("chalicelib/messaging/accounts/trial_sends.py", "exc.message"): "an error's, scanned at its raise",
    (
        "chalicelib/messaging/accounts/sms_credit.py",
        "exc.message",
    ): "a DeliveryFailed's, scanned at its raise",
    ("chalicelib/messaging/delivery.py", "exc.message"): "an error's, scanned at its raise",
    ("chalicelib/messaging/delivery.py", "setup.reason"): "a _Setup's reason, scanned where it is made",
    ("chalicelib/messaging/delivery.py", "room.reason"): "a _Room's reason, scanned where it is made",
    ("chalicelib/messaging/delivery.py", "str(exc)"): "a PregonError's, scanned at its raise",
    ("chalicelib/messaging/outbox.py", "message.error"): "a producer's reason, scanned where it is given",
    ("chalicelib/messaging/outbox.py", "refusals[account.area]"): "from_problem's, scanned at _Setup",
    ("chalicelib/producers/documents/send.py", "comm.error"): "a stored reason passed on",
    ("chalicelib/producers/business_events.py", "sms(company)"): "sms_wanted's, in REASONS_ALSO_SAID",
    (
        "chalicelib/producers/business_events.py",
        "tuple((SkippedRecipient(**s) for s in data.get('skipped', [])))",
    ): "SkippedRecipients, scanned where they are made",
    ("chalicelib/producers/business_events.py", "tuple(decision.skipped)"): "SkippedRecipients, scanned",
    ("chalicelib/producers/documents/bulk.py", "sum(reasons.values())"): "a count",
    ("chalicelib/producers/sends/manual.py", "skipped"): "a count",
    ("chalicelib/store/staff.py", "int(item.skipped or 0)"): "a count",
    ("chalicelib/producers/tracking/parcels.py", "event.reason"): "the carrier's own reason for a status",
    ("chalicelib/producers/tracking/parcels.py", "novelty.reason"): "the carrier's own reason for a status",
    ("chalicelib/producers/tracking/sweep.py", "str(exc)"): "a template error's, scanned at its raise",
    # the MIME defects of a received mail, joined: most are Python's email package's own words
    ("chalicelib/records/inbound_mail.py", "parsed.problems()"): "what a received mail got wrong",
    ("chalicelib/records/inbound_mail.py", "written[0].error"): "a stored reason passed on",
    (
        "chalicelib/records/inbound_mail.py",
        "'; '.join((e for e in (comm.error, why) if e))",
    ): "what a received mail got wrong, and why it is filed under no client, joined",
    ("chalicelib/records/mailboxes/sync.py", "parsed.problems()"): "what a received mail got wrong",
    # Pregón's words, left English: the console words the too-large one itself, with the locale's
    # decimal comma (screen-clients.js, notice()); a Spanish answer would stop it from matching
    ("chalicelib/records/mailboxes/sync.py", "said"): "a mailbox message too large or unreadable",
    ("chalicelib/store/communications.py", "comm.error"): "a stored reason passed on",
    ("chalicelib/store/webhooks.py", "delivery.error"): "a stored reason passed on",
    (
        "chalicelib/messaging/webhooks/service.py",
        "result.error",
    ): "an Attempt's reason, scanned where it is made",
    ("chalicelib/messaging/webhooks/service.py", "error"): "a stored delivery error passed on",
    (
        "chalicelib/messaging/webhooks/service.py",
        "pattern.sub(shown, error)",
    ): "a delivery error without its address (_NAMES_THE_ADDRESS), in REASONS_ALSO_SAID",
    ("chalicelib/store/tracking.py", "novelty.reason"): "the carrier's own reason for a status",
    ("chalicelib/store/tracking.py", "messages[n].error"): "a stored reason passed on",
    ("chalicelib/store/tracking.py", "alert.error"): "a stored reason passed on",
    ("chalicelib/store/tracking.py", "message.error"): "a stored reason passed on",
}

# Reasons that are codes rather than prose, shown as they are (the API documents each code).
REASON_CODES = {"bounce", "complaint", "manual", "unsubscribe", "stop", "cancelled"}  # codes, not words

# Reasons written where no answer shows them, by file, and why.
REASONS_IN_NO_ANSWER = {
    "chalicelib/producers/sms_replies/replies.py": "an inbound SMS's outcome, logged for operators only",
}


# Reasons built where the scan cannot see them whole, as they read.
REASONS_ALSO_SAID = [
    # business_events.payment_recorded's sms_wanted(company), given as sms=...
    "the company sends no SMS for automatic payments",
    "the company sends no SMS for manual payments",
    # webhooks.service.error_without_address: a delivery's error as staff below level 1 read it
    "refused: the endpoint's address is a private address; Pregón connects only to public addresses",
    "refused: the endpoint's host is not a host name",
    "unreachable: the endpoint's host cannot be resolved",
    "refused: nothing accepts connections at the endpoint's address",
    "unreachable: the endpoint's address (ConnectionResetError)",
]


@pytest.mark.parametrize("reason", REASONS_ALSO_SAID)
def test_reasons_built_from_pieces_have_spanish(reason):
    assert spanish_or_none(reason) not in (None, reason)


def reason_scan() -> tuple[dict[Pattern, str], set[tuple[str, str]]]:
    """Every reason pattern given to a record or answer (with where), and what could not be followed."""
    reasons: dict[Pattern, str] = {}
    unresolved: set[tuple[str, str]] = set()
    for path, tree in MODULES.values():
        where = str(path.relative_to(ROOT))
        if where in REASONS_IN_NO_ANSWER:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            candidates = [k.value for k in node.keywords if k.arg in REASON_KEYWORDS]
            position = REASON_POSITIONS.get(str(name))
            if position is not None and len(node.args) > position:
                candidates.append(node.args[position])
            for candidate in candidates:
                patterns, missing = _resolve(candidate)
                for pattern in patterns:
                    reasons.setdefault(pattern, f"{where}:{node.lineno}")
                for expr in missing:
                    if not (isinstance(expr, ast.Constant) and expr.value is None):
                        unresolved.add((where, ast.unparse(expr)))
    return reasons, unresolved


REASONS_FOUND, REASONS_UNRESOLVED = reason_scan()
REASONS_WORDED = sorted(
    (p for p in REASONS_FOUND if _has_words(p) and _sample(p) not in REASON_CODES), key=lambda p: _sample(p)
)


def test_the_reason_scan_finds_the_reasons_our_code_writes():
    # Given chalicelib's source, When it is scanned for reasons, Then it finds those of each kind of site
    samples = {_sample(p) for p in REASONS_FOUND}
    assert "the sender account 'X-9' is missing, disabled or incomplete" in samples  # _Setup(...)
    assert "not sent: the address is suppressed ('X-9')" in samples  # replace(message, error=...)
    assert "the client has no phone" in samples  # SkippedRecipient("sms", reason)
    assert "the client's reminder switch is off" in samples  # replace(entry, skipped=...)


def test_what_the_reason_scan_cannot_follow_is_listed_with_its_reason():
    assert set(REASON_DYNAMIC) == REASONS_UNRESOLVED, (
        f"not followed and not listed: {sorted(REASONS_UNRESOLVED - set(REASON_DYNAMIC))}; "
        f"listed but gone: {sorted(set(REASON_DYNAMIC) - REASONS_UNRESOLVED)}"
    )


@pytest.mark.parametrize("pattern", REASONS_WORDED, ids=[_sample(p) for p in REASONS_WORDED])
def test_every_reason_our_code_writes_has_spanish(pattern: Pattern) -> None:
    # Given a reason our code writes into a record or an answer, When a caller asks for Spanish,
    # Then the catalogs have it (the errors' CATALOG or REASONS)
    sample = _sample(pattern)
    spanish = spanish_or_none(sample)
    assert spanish is not None, f"no Spanish for {sample!r} ({REASONS_FOUND[pattern]}): add it to REASONS"
    assert spanish != sample


def test_an_answers_reasons_read_in_spanish_and_nothing_else_changes() -> None:
    from chalicelib.api.error_language import reasons_in_language

    # Given an answer with reasons at several depths, a server's own words, a code and other text
    answer = {
        "error": "the sender account 'invoices' is missing, disabled or incomplete",
        "subject": "the client has no phone",
        "items": [
            {"error": "535 5.7.8 Authentication credentials invalid", "state": "failed"},
            {"skipped": "the client's reminder switch is off", "count": 2},
        ],
        "skipped": [{"channel": "sms", "reason": "the client has no phone"}, {"reason": "bounce"}],
    }
    # When it is asked for in Spanish
    spanish = reasons_in_language(answer, "es")
    # Then each reason of ours is in Spanish; the server's words, the code and other fields stay
    assert spanish == {
        "error": "la cuenta de envío 'invoices' no existe, está desactivada o está incompleta",
        "subject": "the client has no phone",
        "items": [
            {"error": "535 5.7.8 Authentication credentials invalid", "state": "failed"},
            {"skipped": "el cliente tiene desactivados los recordatorios", "count": 2},
        ],
        "skipped": [{"channel": "sms", "reason": "el cliente no tiene teléfono"}, {"reason": "bounce"}],
    }
    # And in English it is the very same answer
    assert reasons_in_language(answer, "en") is answer


def test_a_jinja_message_the_catalog_does_not_know_keeps_todays_form() -> None:
    # Given a syntax error whose Jinja words have no entry
    english = "syntax error on line 4: can't assign to 'const'"
    # Then the frame is Spanish, with the line, and Jinja's words stay as Jinja wrote them
    assert spanish_or_none(english) == "error de sintaxis en la línea 4: can't assign to 'const'"

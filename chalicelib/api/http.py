"""What every route shares: the caller, body parsing, JSON answers, and error mapping."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypedDict, TypeVar, Unpack

from chalice.app import Request, Response

from chalicelib.api.access import Access, authorize
from chalicelib.api.authorizer import pregon_auth
from chalicelib.core.errors import PregonError, ValidationFailed

T = TypeVar("T")
MAX_BODY_BYTES = 256 * 1024
MAX_BODY_DEPTH = 32  # arrays and objects inside one another; no route needs more than a few


def parse_body(
    request: Request,
    model: type[T],
    *,
    max_bytes: int = MAX_BODY_BYTES,
    too_large: PregonError | None = None,
) -> T:
    """Validate the JSON body against a pydantic model; errors name the field. A body over
    ``max_bytes`` raises ``too_large`` (by default a 422 on ``body``); one nested deeper than
    :data:`MAX_BODY_DEPTH` is a 422 on ``body`` (Python's JSON parser and pydantic would recurse
    until they fail)."""
    from pydantic import ValidationError

    raw = request.raw_body or b""
    if len(raw) > max_bytes:
        raise too_large or ValidationFailed(
            [{"field": "body", "message": f"is larger than {max_bytes} bytes"}]
        )
    too_deep = ValidationFailed(
        [{"field": "body", "message": f"is nested deeper than {MAX_BODY_DEPTH} levels"}]
    )
    try:
        data = json.loads(raw or b"null")
    except RecursionError as exc:  # Python's parser gives up on ~1,000 levels
        raise too_deep from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed([{"field": "body", "message": f"is not valid JSON ({exc})"}]) from exc
    if _depth(data) > MAX_BODY_DEPTH:
        raise too_deep
    if not isinstance(data, dict):
        raise ValidationFailed([{"field": "body", "message": "must be a JSON object"}])
    try:
        # Strict JSON mode: each field takes JSON's own type for it, a number for a number, true or
        # false for a yes/no, a "YYYY-MM-DD" or ISO 8601 text for a day or a time. Lax mode read
        # {"level": true} as 1, "no" or 0 as false, and a number where a day goes as a Unix time.
        # Decimal amounts still take a text ("1234.50"): that is JSON's way to write one exactly.
        # The body is parsed above (depth, errors); dumping it again is what pydantic's JSON mode reads.
        return model.model_validate_json(json.dumps(data), strict=True)  # type: ignore[attr-defined]
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):
            _name_the_surrogate(model, data)
        raise ValidationFailed(pydantic_errors(exc)) from exc


def parse_changes(request: Request, model: type[Any]) -> dict[str, Any]:
    """A PATCH body: the fields it names (``exclude_unset``), 422 on ``body`` when it names none."""
    changes: dict[str, Any] = parse_body(request, model).model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed([{"field": "body", "message": "name at least one field to change"}])
    return changes


def _name_the_surrogate(model: Any, data: dict[str, Any]) -> None:
    """A text with a lone UTF-16 surrogate (``"\\ud800"``) is the one thing JSON reads that its
    text cannot hold again: pydantic's JSON mode refuses the whole body. Its Python mode names the
    field that holds it ("unable to parse raw data as a unicode string"); raise that."""
    from pydantic import ValidationError

    try:
        model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(pydantic_errors(exc)) from exc


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (without recursion)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_BODY_DEPTH:
            return deepest
        pending.extend((child, level + 1) for child in children)
    return deepest


# What a text that a schema checks against a regular expression must look like, in words, with an
# example: pydantic's own message shows the regex ("String should match pattern '^[A-Za-z]{2}$'"),
# which the person at the console cannot read. One entry per pattern our schemas use, whatever the
# field; tests/unit/test_pattern_words.py fails for a pattern of the API document with none. The
# Spanish of each is in error_language.CATALOG.
PATTERN_WORDS: dict[str, str] = {
    r"^[A-Za-z0-9_.\-]+$": (
        "must be a code of letters, digits, '.', '_' or '-', without spaces (for example CLI-1001)"
    ),
    r"^[A-Za-z0-9_.\-]{1,64}$": (
        "must be a code of 1 to 64 letters, digits, '.', '_' or '-', without spaces (for example CLI-1001)"
    ),
    r"^[A-Za-z0-9_.:\-]+$": (
        "must be a code of letters, digits, '.', ':', '_' or '-', without spaces (for example inv-2026:0001)"
    ),
    r"^[A-Za-z0-9_.:\-]{1,100}$": (
        "must be 1 to 100 letters, digits, '.', ':', '_' or '-', without spaces "
        "(for example march-statements)"
    ),
    r"^[A-Za-z0-9_.\-/]+$": (
        "must be a number of letters, digits, '.', '_', '-' or '/', without spaces "
        "(for example 0001-00001234)"
    ),
    r"^[A-Za-z0-9_.@+\-]+$": (
        "must be a user id of letters, digits, '.', '_', '-', '@' or '+', without spaces "
        "(for example marta.gomez@acme.com)"
    ),
    r"^[^\x00-\x1f\x7f]+$": "must be one line of text, without line breaks or tabs",
    r"^[\w.+\-]+/[\w.+\-]+$": "must be a file type written type/subtype (for example application/pdf)",
    r"^[0-9+()\-. ]+$": (
        "must be a phone number of digits, spaces, '+', '-', '.' and parentheses "
        "(for example +54 11 4555-1234)"
    ),
    r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$": (
        "must be an amount with a point before at most two decimals and no thousands separator "
        "(for example 1234.50 or -80)"
    ),
    r"^[a-z0-9][a-z0-9-]{1,39}$": (
        "must be 2 to 40 lowercase letters, digits or '-', starting with a letter or digit "
        "(for example acme-envios)"
    ),
    r"^[A-Za-z]{2}$": "must be the country's two-letter ISO 3166 code (for example AR or ES)",
    r"^[A-Za-z]{3}$": "must be the currency's three-letter ISO 4217 code (for example ARS or EUR)",
}

# A pattern without an entry (a new schema's, until it gets one) still does not show the regex.
PATTERN_UNKNOWN = "is not written in the form this field takes"


def pattern_in_words(pattern: str) -> str:
    """What a text checked against ``pattern`` must look like, in words (:data:`PATTERN_WORDS`)."""
    return PATTERN_WORDS.get(pattern, PATTERN_UNKNOWN)


def pydantic_errors(exc: Any) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ""
        for part in error["loc"]:
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "is not a known field"
        elif error["type"] == "missing":
            message = "is required"
        elif error["type"] == "json_invalid":  # what json.dumps writes, only a lone surrogate fails
            message = "is not valid JSON (a string holds a lone UTF-16 surrogate such as \\ud800)"
        elif error["type"] == "string_pattern_mismatch":
            message = pattern_in_words(str(error.get("ctx", {}).get("pattern", "")))
        errors.append({"field": field or "body", "message": message})
    return errors


#: The longest value a query parameter takes, as the API document says (api/openapi.py reads it).
QUERY_MAX_LENGTH = {"client_id": 64, "q": 254}


def query_param(request: Request, name: str, default: str | None = None) -> str | None:
    params: Any = request.query_params or {}
    value = params.get(name)
    if value is None:
        return default
    longest = QUERY_MAX_LENGTH.get(name)
    if longest is not None and len(str(value)) > longest:
        raise ValidationFailed([{"field": name, "message": f"must be at most {longest} characters"}])
    return str(value)


def flag_param(request: Request, name: str) -> bool | None:
    """A ``true`` / ``false`` query parameter; None when it is left out."""
    raw = query_param(request, name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise ValidationFailed([{"field": name, "message": "must be true or false"}])
    return raw.lower() == "true"


def limit_param(request: Request, default: int = 50, maximum: int = 200) -> int:
    raw = query_param(request, "limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValidationFailed([{"field": "limit", "message": f"must be a whole number from 1 to {maximum}"}])
    return int(raw)


def cursor_param(request: Request) -> dict[str, Any] | None:
    import base64

    raw = query_param(request, "cursor")
    if not raw:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise ValidationFailed([{"field": "cursor", "message": "is not a cursor this API gave out"}]) from exc
    if not isinstance(value, dict):
        raise ValidationFailed([{"field": "cursor", "message": "is not a cursor this API gave out"}])
    return value


def encode_cursor(cursor: dict[str, Any] | None) -> str | None:
    import base64

    if not cursor:
        return None
    return base64.urlsafe_b64encode(json.dumps(cursor, sort_keys=True).encode()).decode("ascii")


def page_request(request: Request) -> tuple[int, dict[str, Any] | None]:
    """The page a listing asks for: its ``limit`` and ``cursor`` query parameters, checked."""
    return limit_param(request), cursor_param(request)


def page_response(items: Iterable[T], cursor: dict[str, Any] | None, out: Callable[[T], Any]) -> Response:
    """A page of a listing: its items, each as ``out`` shows it, and the cursor of the next page."""
    return json_response({"items": [out(item) for item in items], "next_cursor": encode_cursor(cursor)})


def plain(value: Any) -> Any:
    """Dataclasses, datetimes and containers as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(plain(body), ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


# An entity tag (RFC 9110 §8.8.3): strong ``"3"`` or weak ``W/"3"``.
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e]*)"')


def etag(version: int) -> str:
    """The strong ETag of a thing at ``version`` (its store's edit version; 0: never versioned)."""
    return f'"{version}"'


def if_match(request: Request) -> tuple[int, ...] | None:
    """The versions an edit's ``If-Match`` allows (RFC 9110 §13.1.1): None (any) for no header or
    ``*``, else those of its strong tags that are versions this API gave out (a weak tag never
    matches: an edit compares strongly). A value that is not ``*`` or a list of quoted tags is a 422
    naming ``If-Match``."""
    headers: Any = request.headers or {}
    raw = headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    versions: list[int] = []
    for part in str(raw).split(","):
        found = _ENTITY_TAG.fullmatch(part.strip())
        if found is None:
            raise ValidationFailed(
                [
                    {
                        "field": "If-Match",
                        "message": 'must be * or the ETag as an answer gave it, in quotes ("3")',
                    }
                ]
            )
        weak, opaque = found.groups()
        if not weak and opaque.isdigit() and len(opaque) < 16:
            versions.append(int(opaque))
    return tuple(versions)


# The methods that change nothing: a precondition on them is never refused.
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

NO_ETAG_HERE = (
    "this route keeps no ETag, so no If-Match can match it; nothing was done: send it without "
    "If-Match (only the saves of docs/api.md, Editing safely, take one)"
)
NOT_EVALUATED = (
    "If-None-Match is not evaluated on a change, so nothing was done: send the ETag you read as If-Match "
    "instead"
)


def creates_only(request: Request) -> bool:
    """Whether a save carries ``If-None-Match: *`` (RFC 9110 §13.1.2): create the thing, or refuse
    with 412 and write nothing when it exists (a route that holds it says ``create_only``)."""
    headers: Any = request.headers or {}
    return str(headers.get("if-none-match", "")).strip() == "*"


def check_preconditions(request: Request, versioned: bool, create_only: bool = False) -> None:
    """Refuse a change (412 naming the header) carrying a precondition Pregón does not hold, rather
    than do it regardless (RFC 9110 §13.2.1): an ``If-Match`` other than ``*`` on a route whose thing
    has no ETag (no tag of it can match), or an ``If-None-Match`` on any change but ``*`` on a route
    that creates only with it (``create_only``: ``PUT /clients/{id}``). A ``GET`` is answered whole
    whatever it carries."""
    from chalicelib.core.errors import PreconditionFailed

    if str(getattr(request, "method", "GET")).upper() in _SAFE_METHODS:
        return
    headers: Any = request.headers or {}
    raw = headers.get("if-match")
    if raw is not None and not versioned and str(raw).strip() != "*":
        raise PreconditionFailed(NO_ETAG_HERE, field="If-Match")
    if headers.get("if-none-match") is not None and not (create_only and creates_only(request)):
        raise PreconditionFailed(NOT_EVALUATED, field="If-None-Match")


def versioned_response(body: dict[str, Any], version: int, status: int = 200) -> Response:
    """A JSON answer of a thing people edit at ``version``: its ``ETag`` header, and the same tag in
    the body's ``etag`` (a listing's items carry theirs there), to send back as ``If-Match``."""
    tag = etag(version)
    return json_response({**body, "etag": tag}, status, {"ETag": tag})


def map_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: domain errors become their 4xx answer with a clear message, in Spanish when
    the request's ``Accept-Language`` prefers it (``api.error_language``; English otherwise); so do
    the reasons a successful answer gives (a failed message's ``error``)."""
    try:
        return _reasons_in_callers_language(event, get_response(event))
    except PregonError as exc:
        body = exc.body()
        headers = getattr(event, "headers", None) or {}
        accept_language = headers.get("accept-language")
        if accept_language:
            from chalicelib.api.error_language import error_body, preferred_language

            body = error_body(body, preferred_language(str(accept_language)))
        # the answer's words depend on that header: a cache in between must keep one per language
        return json_response(body, exc.status, {**exc.headers(), "Vary": "Accept-Language"})


# A JSON answer that may hold a reason Pregón wrote (api.error_language.REASON_KEYS); json.dumps
# writes a key and its text value as '"error": "'. Other answers are passed on without parsing.
_REASON_TEXT = re.compile(r'"(?:error|reason|skipped|sms_skipped|warning)": "')


# Set on an answer whose reason keys hold someone else's words (reasons_as_written).
_AS_WRITTEN = "pregon_reasons_as_written"


def reasons_as_written(response: Response) -> Response:
    """``response`` with its ``reason``/``error`` keys passed on as written, in every language: they
    hold a company's or a carrier's own words (a parcel status's ``reason``), which the catalog may
    happen to match (``refused: damaged box``) but which are never Pregón's to rewrite."""
    setattr(response, _AS_WRITTEN, True)
    return response


def _reasons_in_callers_language(event: Any, response: Response) -> Response:
    """A successful JSON answer with its reasons in Spanish when the request prefers Spanish; its
    words then depend on ``Accept-Language``, so it says so (``Vary``). Stored reasons stay English.
    An answer marked :func:`reasons_as_written` is passed on untouched."""
    if not 200 <= response.status_code < 300 or not isinstance(response.body, str):
        return response
    if getattr(response, _AS_WRITTEN, False):
        return response
    headers = response.headers or {}
    if headers.get("Content-Type") != "application/json" or not _REASON_TEXT.search(response.body):
        return response
    vary = headers.get("Vary")
    response.headers = {**headers, "Vary": f"{vary}, Accept-Language" if vary else "Accept-Language"}
    accept_language = (getattr(event, "headers", None) or {}).get("accept-language")
    if not accept_language:
        return response
    from chalicelib.api.error_language import ENGLISH, preferred_language, reasons_in_language

    language = preferred_language(str(accept_language))
    if language != ENGLISH:
        body = reasons_in_language(json.loads(response.body), language)
        response.body = json.dumps(body, ensure_ascii=False)
    return response


@dataclasses.dataclass(frozen=True)
class Declaration:
    """What a route declares about itself: who may call it and what it answers. The view is
    called only when :func:`authorize` lets the caller in, and the OpenAPI document is made from
    this alone (chalicelib/api/openapi.py)."""

    summary: str
    access: Access
    # Pydantic models by import path (``"chalicelib.api.schemas.ClientIn"``): importing pydantic and
    # every model when the app starts would cost ~0.27 s of cold start; resolve with model_class().
    body: str | None = None
    # False for a route whose body may be left out (the view then takes the model's defaults).
    body_required: bool = True
    response: str | None = None
    status: int = 200
    # The success answer when the thing existed already (``201`` first, ``200`` on a repeat).
    existing: int | None = None
    # Refusals the route may answer beyond 401/403/404/422, with when; its own 404 text replaces the
    # general one, its own 422 text follows it (docs/openapi.json).
    errors: tuple[tuple[int, str], ...] = ()
    # Query parameters the route reads: "limit", "cursor", "token", ... (QUERY_PARAMETERS).
    query: tuple[str, ...] = ()
    # A thing people edit (docs/api.md, "Editing safely"): its answers carry an ETag, and an edit
    # takes If-Match and may answer 412.
    versioned: bool = False
    # A save that takes ``If-None-Match: *``: it creates the thing, or answers 412 when it exists.
    create_only: bool = False
    # The success answer's content: a JSON model, an Excel workbook, an HTML page, or the JSON model
    # and an HTML page for a request that accepts ``text/html`` (a person's browser posting a form).
    answer: str = "json"


OUT_OF_SERVICE_DOC = (
    "The company is no longer in service (it left Pregón, or its operator suspended it): a page "
    "saying so, or the JSON error."
)
QUERY_PARAMETERS = (
    "limit",
    "cursor",
    "token",
    "tracking_id",
    "since",
    "client_id",
    "q",
    "channel",
    "auto_submitted",
    "category",
    "date",
    "address",
    "without_email",
)
# "page": a page for a person, its refusals pages too (W1); "html": a page, refusals in JSON.
# "one_click": a page, its refusals a page for a browser (a request accepting text/html) and JSON
# for a mail program's one-click POST (RFC 8058); "json_or_html" refuses the same way.
# "asset": a static file of the staff console (W2): script, stylesheet or image.
ANSWERS = ("json", "xlsx", "ics", "html", "json_or_html", "one_click", "page", "css", "image", "asset")


def describe(
    blueprint: Any,
    *,
    summary: str,
    access: Access,
    body: str | None = None,
    body_required: bool = True,
    response: str | None = None,
    status: int = 200,
    existing: int | None = None,
    errors: dict[int, str] | None = None,
    query: tuple[str, ...] = (),
    answer: str = "json",
    versioned: bool = False,
    create_only: bool = False,
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare a route's access and answers. Put it under ``@blueprint.route(...)`` (the same
    blueprint: it gives the request to check); the view of a
    route that needs credentials receives the caller's :class:`Principal` as its first argument."""
    unknown = [name for name in query if name not in QUERY_PARAMETERS]
    if unknown or answer not in ANSWERS:
        raise ValueError(f"unknown query parameters {unknown} or answer {answer!r}")
    declaration = Declaration(
        summary=summary,
        access=access,
        body=_model_path(body),
        body_required=body_required,
        response=_model_path(response),
        status=status,
        existing=existing,
        errors=tuple(sorted((errors or {}).items())),
        query=query,
        answer=answer,
        versioned=versioned,
        create_only=create_only,
    )

    def mark(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def checked(**path_parameters: Any) -> Response:
            request = blueprint.current_request
            caller = authorize(access, request, path_parameters)
            check_preconditions(request, versioned, create_only)
            if caller is None:  # public routes say "not found" for what names nothing themselves
                from chalicelib.api.pages import out_of_service_answer

                closed = out_of_service_answer(request, path_parameters, answer)
                return closed if closed is not None else view(**path_parameters)
            check_path_parameters(path_parameters)
            return view(caller, **path_parameters)

        checked.__pregon_declaration__ = declaration  # type: ignore[attr-defined]
        return checked

    return mark


# The longest path parameter a route reads (UTF-8 bytes). Ids, codes, e-mail addresses and file
# names are all shorter; DynamoDB refuses a key over 2,048 bytes (a sort key over 1,024) with an
# error, which would be a 500 instead of a 4xx naming the parameter (Q4).
MAX_PATH_PARAMETER_BYTES = 512


def check_path_parameters(path_parameters: dict[str, Any]) -> None:
    """422 naming each path parameter that is empty (``/clients/CLI-1/register//notify``: DynamoDB
    refuses an empty key with an error, a 500) or longer than :data:`MAX_PATH_PARAMETER_BYTES`."""
    errors = [
        {"field": name, "message": "is empty"}
        for name, value in path_parameters.items()
        if value is None or str(value) == ""
    ]
    errors += [
        {"field": name, "message": f"is longer than {MAX_PATH_PARAMETER_BYTES} bytes"}
        for name, value in path_parameters.items()
        if len(str(value).encode("utf-8", "surrogatepass")) > MAX_PATH_PARAMETER_BYTES
    ]
    if errors:
        raise ValidationFailed(errors)


class Answers(TypedDict, total=False):
    """What :class:`Routes` passes on to :func:`describe`: the route's answers and query parameters."""

    body: str
    body_required: bool
    response: str
    status: int
    existing: int
    errors: dict[int, str]
    query: tuple[str, ...]
    answer: str
    versioned: bool
    create_only: bool


class Routes:
    """The ``@route`` of one blueprint: Chalice's route and :func:`describe` in one decorator.

    Its models are classes of the module ``schemas`` of ``chalicelib.api``, named alone
    (``body="ClientIn"``); ``"module.Class"`` names one in another module of ``chalicelib.api``."""

    def __init__(self, blueprint: Any, schemas: str | None = None) -> None:
        self.blueprint = blueprint
        self.schemas = schemas

    def __call__(
        self,
        endpoint: str,
        access: Access,
        *,
        cors: bool = False,
        content_types: list[str] | None = None,
        **answers: Unpack[Answers],
    ) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """``endpoint`` is ``"METHOD /path"``; the summary is the first paragraph of the view's
        docstring, and a route that needs credentials gets the ``pregon_auth`` authorizer.
        ``cors`` and ``content_types`` go to Chalice."""
        method, path = endpoint.split(" ", 1)
        options: dict[str, Any] = {"methods": [method]}
        if cors:
            options["cors"] = True
        if content_types:
            options["content_types"] = content_types
        if not access.public:
            options["authorizer"] = pregon_auth
        elif "{company_id}" in path or "token" in answers.get("query", ()):
            # a public route that names a company answers 410 once it left (api.pages)
            errors = dict(answers.get("errors") or {})
            said = errors.get(410)
            errors[410] = f"{said} Or: {OUT_OF_SERVICE_DOC}" if said else OUT_OF_SERVICE_DOC
            answers["errors"] = errors
        if "body" in answers:
            answers["body"] = self._model(answers["body"])
        if "response" in answers:
            answers["response"] = self._model(answers["response"])

        def register(view: Callable[..., Response]) -> Callable[..., Response]:
            declared = describe(self.blueprint, summary=_summary(view), access=access, **answers)(view)
            self.blueprint.route(path, **options)(declared)
            return declared

        return register

    def _model(self, name: str) -> str:
        if "." in name:
            return name
        if self.schemas is None:
            raise LookupError(f"{name!r}: name its module, or give Routes(..., schemas=...)")
        return f"{self.schemas}.{name}"


def _summary(view: Callable[..., Any]) -> str:
    """The first paragraph of a view's docstring, on one line."""
    import inspect

    doc = inspect.getdoc(view)
    if not doc:
        raise LookupError(
            f"route view {view.__qualname__} has no docstring: its first paragraph is the summary"
        )
    return " ".join(doc.split("\n\n", 1)[0].split())


def _model_path(name: str | None) -> str | None:
    """A model named relative to ``chalicelib.api`` (``"schemas.ClientIn"``) by its full import path."""
    if name is None or name.startswith("chalicelib."):
        return name
    return f"chalicelib.api.{name}"


def declaration_of(view: Callable[..., Any]) -> Declaration:
    found = getattr(view, "__pregon_declaration__", None)
    if not isinstance(found, Declaration):
        name = getattr(view, "__qualname__", repr(view))
        raise LookupError(f"route view {name} has no @describe(...): every route must declare itself")
    return found


def model_class(path: str) -> Any:
    """The pydantic model a declaration names by import path."""
    import importlib

    module, _, name = path.rpartition(".")
    found = getattr(importlib.import_module(module), name, None)
    if not isinstance(found, type):
        raise LookupError(f"@describe names {path!r}, which is not a class")
    return found

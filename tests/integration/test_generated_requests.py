"""Generated requests against every operation of the API document (Q4: bad input gets a clear 4xx
naming the field, no 5xx), as an outside check sends them: schemathesis reads ``docs/openapi.json``
and Hypothesis draws, per operation, requests that fit the document (positive) and requests that
break it (negative: a wrong type, a missing required field, a value out of range, an unknown
field...), with strange path and query values (control characters, long strings, non-ASCII).

Every request goes through the app's gateway (``chalice.test.Client``, the same route matching,
authorizer and middleware as ``chalice local``) against DynamoDB Local, with a credential drawn
beside it from those the document lets in (staff JWTs of levels 1, 3 and 4, an API key of every
scope, the operators' token, none for public routes), so it reaches the handler or the refusal a
level gets. Each answer must be:

* no 5xx;
* one of the operation's documented status codes, in a documented content type, and — when the
  document gives its schema — a body that fits it;
* for a request that breaks the document, a 4xx (the document is the contract: what it refuses,
  the app refuses);
* for a JSON error, Pregón's error shape: ``error`` and a ``message`` a person can read.

The draws are deterministic (each operation's seed is its name): CI sees the same requests on every run, and a
failure names the operation and the request to replay it.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from chalice.test import Client
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import sampled_from
from schemathesis import GenerationMode
from schemathesis.config._checks import NegativeDataRejectionConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transport import Response
from schemathesis.specs.openapi import checks as openapi_checks
from schemathesis.specs.openapi._hypothesis import can_negate_headers, can_negate_path_parameters

from infrastructure.local.paths import REPO_ROOT
from tests.steps.operators import configure_operator_token
from tests.steps.tenants import IDENTITY, Tenant, make_tenant

DOCUMENT = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
SCHEMA.config.generation.update(with_security_parameters=False)
# A precondition header the document does not allow (`If-None-Match` other than `*`) is refused
# with 412 naming it: a refusal as much as a 422 is.
SCHEMA.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
    expected_statuses=[*SCHEMA.config.checks.negative_data_rejection.expected_statuses, "412"]
)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]  # type: ignore[union-attr]
#: Requests drawn per operation and kind (at most: a small operation runs out of new ones sooner).
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 6}
pytestmark = pytest.mark.generated

CHECKS = [
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


@pytest.fixture(scope="module", autouse=True)
def no_constants_from_our_source() -> Iterator[None]:
    """Hypothesis parses the source of every module loaded from the repository (about 220: 1.4
    CPU-seconds a process, more on a big heap) to mix their literals into its draws now and then.
    Which modules are loaded depends on the files a process ran before this one, so those draws
    made the requests differ from run to run; without them each seed draws the same requests in
    every process (from the document's schemas and Hypothesis's own constants, as before). No
    setting turns it off (Hypothesis 6.170; its cache under .hypothesis/ never survives to a fresh
    clone), so its private hook is replaced: a rename fails here, loudly."""
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(providers, "_get_local_constants", Constants)
        yield


@pytest.fixture(scope="module")
def fuzzed(local_aws: dict[str, str]) -> Iterator[dict[str, str]]:
    """One company for the whole module, and a credential of each kind."""
    from chalicelib.core.settings import get_settings, reset_settings
    from chalicelib.tenants.companies import SCOPES, issue_api_key

    tenant: Tenant = make_tenant(None, name="Empresa Generada")
    key = issue_api_key(tenant.company_id, "generated", list(SCOPES))
    # The settings are read again for the operators' token: from the local stack's environment
    # (the test client puts the test stage's own over it while it is open).
    with pytest.MonkeyPatch.context() as environment:
        for name, value in local_aws.items():
            if name.isupper():
                environment.setenv(name, value)
        operator = configure_operator_token()
        get_settings()
    junior = IDENTITY.mint(tenant.company_id, user_id=f"junior@{tenant.company_id}", level=4, branch="centro")
    yield {
        "bearerAuth": f"Bearer {tenant.admin_token}",
        "bearerAuth level 3": f"Bearer {tenant.staff_token}",
        "bearerAuth level 4": f"Bearer {junior}",
        "apiKey": f"ApiKey {key}",
        "operatorToken": f"Operator {operator}",
    }
    with pytest.MonkeyPatch.context() as environment:
        for name, value in local_aws.items():
            if name.isupper():
                environment.setenv(name, value)
        environment.delenv("PREGON_OPERATOR_TOKEN_SHA256", raising=False)
        reset_settings()
        get_settings()


def callers(operation: Any, credentials: dict[str, str]) -> list[str | None]:
    """The credentials a request to ``operation`` is sent with, one drawn per request: none for a
    public route, the operators' token for theirs, else staff of levels 1, 3 and 4 (each sees
    what its level may: a lower level's refusals and narrower listings are paths of their own)
    and, where the document lets keys in, an API key with every scope."""
    schemes = [name for requirement in operation.definition.raw.get("security", []) for name in requirement]
    if not schemes:
        return [None]
    if "bearerAuth" not in schemes:
        return [credentials[scheme] for scheme in schemes]
    staff: list[str | None] = [value for name, value in credentials.items() if name.startswith("bearerAuth")]
    return staff + ([credentials["apiKey"]] if "apiKey" in schemes else [])


def nothing_to_break(operation: Any) -> bool:
    """Whether schemathesis can draw no request that breaks ``operation``'s document: no body and
    no query parameters, and only path parameters and headers it cannot break (a path value is a
    string on the wire whatever its type, so an unconstrained one has no wrong value). Its
    negative strategy then draws every location as the document allows and rejects the request
    (``openapi_cases``: a negative case with nothing negated), each time, until Hypothesis gives
    up (``Unsatisfiable``) after some 460 draws and no request sent: a third of the operations
    (those with only an id in their path), most of this module's time for nothing."""
    breakable = (ParameterLocation.QUERY, ParameterLocation.COOKIE)
    if operation.body or any(operation.get_parameter_set(where).items for where in breakable):
        return False
    if operation.path_parameters.items and can_negate_path_parameters(operation):
        return False
    headers = operation.get_parameter_set(ParameterLocation.HEADER)
    return not (headers.items and can_negate_headers(operation, ParameterLocation.HEADER))


def send(api: Client, case: Any, authorization: str | None) -> Response:
    kwargs = case.as_transport_kwargs(base_url="http://pregon.local")
    generated = kwargs.get("headers", {}).items()
    headers = {name: value for name, value in generated if name.lower() != "authorization"}
    if authorization is not None:
        headers["Authorization"] = authorization
    kwargs["headers"] = headers
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k != "cookies"}).prepare()
    url = urlsplit(prepared.url or "")
    path = url.path + (f"?{url.query}" if url.query else "")
    body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    started = time.monotonic()
    answer = api.http.request(prepared.method or "GET", path, headers=dict(prepared.headers), body=body)
    return Response(
        status_code=answer.status_code,
        headers={name: [value] for name, value in answer.headers.items()},
        content=answer.body or b"",
        request=prepared,
        elapsed=time.monotonic() - started,
        verify=True,
    )


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda mode: mode.value)
def test_generated_requests_get_a_documented_answer_and_never_a_5xx(
    api: Client, fuzzed: dict[str, str], operation: Any, mode: GenerationMode
) -> None:
    if mode is GenerationMode.NEGATIVE and nothing_to_break(operation):
        return  # what Hypothesis would find after its 460 rejected draws (Unsatisfiable below)
    problems: list[str] = []

    @given(operation.as_strategy(generation_mode=mode), sampled_from(callers(operation, fuzzed)))
    @seed(zlib.crc32(f"{mode.value} {operation.method} {operation.path}".encode()))
    # What a request costs (py-spy over a whole run, session 41): ~45 % drawing it (schemathesis
    # building and validating strategies inside each draw; ~4 % of draws are rejected unsent),
    # ~34 % the app answering it (mostly botocore's side of ~1.5 DynamoDB calls a request), ~1.5 %
    # the checks (the ~9 % Hypothesis spent scanning our source for constants is turned off
    # above). No setting here trims the rest: shrink and explain never run, as failures are
    # collected in ``problems``, not raised.
    @settings(
        max_examples=EXAMPLES[mode],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def requests_of_this_kind(case: Any, authorization: str | None) -> None:
        # Given a request drawn from the document (or against it)
        # When it is sent with a credential the operation lets in (or a staff level it may refuse)
        response = send(api, case, authorization)
        # Then the answer is documented, and never a server error
        where = f"{case.method} {response.request.url} {response.request.body!r:.200}"
        if response.status_code >= 500:
            problems.append(f"{response.status_code} {where}: {response.content[:300]!r}")
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseExceptionGroup as failures:
            for failure in failures.exceptions:
                title = getattr(failure, "title", type(failure).__name__)
                problems.append(f"{response.status_code} {where}: {title}: {response.content[:200]!r}")
        except AssertionError as failure:  # one failed check alone
            problems.append(f"{response.status_code} {where}: {failure}: {response.content[:200]!r}")
        if response.status_code >= 400 and response.headers.get("content-type", [""])[0].startswith(
            "application/json"
        ):
            answer = json.loads(response.content or b"{}")
            if not (isinstance(answer, dict) and answer.get("error") and answer.get("message")):
                problems.append(f"{where}: error without error/message: {answer!r:.300}")

    try:
        requests_of_this_kind()
    except Unsatisfiable:  # nothing in the operation can be broken (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE
    assert not problems, "\n".join(problems)


def test_an_operation_with_nothing_to_break_has_no_request_drawn_against_its_document() -> None:
    """What lets the test above skip such operations: schemathesis still finds nothing to break."""
    # Given an operation whose only parameters are ids in its path
    operation = next(op for op in OPERATIONS if op.path_parameters.items and nothing_to_break(op))
    drawn: list[Any] = []

    @given(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @seed(0)
    @settings(max_examples=1, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    def draw(case: Any) -> None:
        drawn.append(case)

    # When Hypothesis draws requests that break its document, Then it gives up with none
    with pytest.raises(Unsatisfiable):
        draw()
    assert drawn == []

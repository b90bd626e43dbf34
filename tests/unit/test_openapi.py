"""The published OpenAPI document: generated from the code, committed, valid, and honest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.api.openapi import DOCUMENT_PATH, REGENERATE, build_openapi, main, render

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_openapi()


@pytest.fixture(scope="module")
def routes() -> dict[str, Any]:
    from app import app

    return dict(app.routes)


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    name = ref.removeprefix("#/components/schemas/")
    return dict(document["components"]["schemas"][name])


def property_names(document: dict[str, Any], schema: Any, seen: set[str] | None = None) -> Iterator[str]:
    """Every property name reachable from a schema, following $refs (each model once)."""
    seen = set() if seen is None else seen
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return
            seen.add(ref)
            yield from property_names(document, resolve(document, schema), seen)
            return
        properties = schema.get("properties")
        if isinstance(properties, dict):
            yield from properties
        for value in schema.values():
            yield from property_names(document, value, seen)
    elif isinstance(schema, list):
        for value in schema:
            yield from property_names(document, value, seen)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_committed_document_is_the_generated_one(document: dict[str, Any]) -> None:
    # Given the routes and models as the code has them now
    expected = render(document)
    # When the committed docs/openapi.json is read
    committed = DOCUMENT_PATH.read_text(encoding="utf-8") if DOCUMENT_PATH.exists() else ""
    # Then it is byte for byte what the generator writes, so the contract cannot drift
    assert committed == expected, f"docs/openapi.json is stale; regenerate it with: {REGENERATE}"


def test_generation_is_deterministic(document: dict[str, Any]) -> None:
    # Given one generated document
    # When the document is generated again
    again = build_openapi()
    # Then both render to the same text, with a trailing newline
    assert render(again) == render(document)
    assert render(document).endswith("}\n")


def test_check_option_passes_on_the_committed_document(capsys: pytest.CaptureFixture[str]) -> None:
    # Given the committed document is current (see the test above)
    # When the CLI checks it
    status = main(["--check"])
    # Then it reports nothing stale
    assert status == 0, capsys.readouterr().err


def test_every_route_and_method_is_documented(document: dict[str, Any], routes: dict[str, Any]) -> None:
    # Given every route Chalice registered
    expected = {(path, method.lower()) for path, methods in routes.items() for method in methods}
    # When the document's operations are listed
    documented = {(path, method) for path, method, _ in operations(document)}
    # Then each route and method is there, and nothing else is
    assert documented == expected
    for path, methods in routes.items():
        for method, entry in methods.items():
            operation = document["paths"][path][method.lower()]
            assert operation["operationId"] == entry.view_function.__name__
            assert operation["summary"]
            assert [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"] == list(
                entry.view_args
            )


def test_document_is_valid_openapi_3_1(document: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the generated document
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation import keywords
    from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

    # (The validator checks every schema it walks against the JSON Schema dialect, each time it
    # meets it: ~720 checks, most of this module's CPU time, for ~270 distinct schemas (the error
    # body, an id string...). The check's answer depends on the schema alone, so each distinct one
    # is checked once here and its answer reused: the same checks, the same errors.)
    checked: dict[str, Any] = {}
    check = keywords.SchemaValidator._validate_schema_meta

    def check_each_distinct_schema_once(self: Any, schema: Any, value: Any) -> Any:
        key = json.dumps(value, sort_keys=True, default=repr)
        if key not in checked:
            checked[key] = check(self, schema, value)
        return checked[key]

    monkeypatch.setattr(keywords.SchemaValidator, "_validate_schema_meta", check_each_distinct_schema_once)
    # When a standard OpenAPI 3.1 validator checks it
    # Then it raises nothing
    validate(document, cls=OpenAPIV31SpecValidator)
    assert checked, "the validator no longer checks schemas through _validate_schema_meta"
    assert document["openapi"].startswith("3.1")


def test_public_routes_need_no_credentials_and_others_do(
    document: dict[str, Any], routes: dict[str, Any]
) -> None:
    # Given the routes with and without an authorizer, and the tags the document declares
    declared_tags = {tag["name"] for tag in document["tags"]} - {"public"}
    for path, methods in routes.items():
        for method, entry in methods.items():
            operation = document["paths"][path][method.lower()]
            # When their security is read
            # Then public routes say so and are tagged public; the rest need a known scheme
            if entry.authorizer is None:
                assert operation["security"] == [] and operation["tags"] == ["public"]
                assert "401" not in operation["responses"]
            else:
                assert operation["security"], path
                schemes = {name for requirement in operation["security"] for name in requirement}
                assert schemes <= set(document["components"]["securitySchemes"])
                assert {"401", "403"} <= set(operation["responses"])
                assert len(operation["tags"]) == 1 and operation["tags"][0] in declared_tags


def test_company_systems_use_api_keys_only_where_the_route_accepts_them(document: dict[str, Any]) -> None:
    # Given a route that checks an API key scope and one only staff may call
    issue = document["paths"]["/parcels"]["post"]
    follow_ups = document["paths"]["/follow-ups"]["get"]
    # When their security requirements are read
    # Then an API key is offered for the first and not for the second
    assert {"apiKey": []} in issue["security"] and {"bearerAuth": []} in issue["security"]
    assert "parcels:write" in issue["description"]
    assert follow_ups["security"] == [{"bearerAuth": []}]
    assert {p["name"] for p in follow_ups["parameters"]} == {"limit", "cursor"}


def test_public_tracking_documents_alerts_available(document: dict[str, Any]) -> None:
    # Given the public look-up a tracking site calls
    operation = document["paths"]["/public/{company_id}/parcels/{tracking_id}"]["get"]
    # When its 200 answer is resolved
    schema = resolve(document, operation["responses"]["200"]["content"]["application/json"]["schema"])
    # Then it has a required boolean alerts_available, and the route allows browsers (CORS)
    assert schema["properties"]["alerts_available"]["type"] == "boolean"
    assert "alerts_available" in schema["required"]
    assert "CORS" in operation["description"]


def test_unsubscribe_routes_take_the_token_from_the_query(document: dict[str, Any]) -> None:
    # Given the unsubscribe link (GET) and the RFC 8058 one-click POST
    item = document["paths"]["/public/unsubscribe"]
    for method in ("get", "post"):
        # When their parameters are read
        parameters = {p["name"]: p for p in item[method]["parameters"]}
        # Then the token is a required query parameter
        assert parameters["token"]["in"] == "query" and parameters["token"]["required"] is True
    assert "application/x-www-form-urlencoded" in item["post"]["requestBody"]["content"]
    assert "text/html" in item["get"]["responses"]["200"]["content"]


def test_a_body_the_route_may_go_without_is_documented_optional(document: dict[str, Any]) -> None:
    # Given the template preview, which renders the saved template when no body comes (templates.md)
    preview = document["paths"]["/templates/{key}/preview"]["post"]["requestBody"]
    # Then the document does not require one (a request without it was answered 200 against it)
    assert preview["required"] is False
    # And every other body a route reads into a model stays required
    optional = [
        f"{method} {path}"
        for path, method, op in operations(document)
        for content in [op.get("requestBody", {}).get("content", {}).get("application/json", {})]
        if "$ref" in content.get("schema", {}) and not op["requestBody"]["required"]
    ]
    assert optional == ["post /templates/{key}/preview"]


def test_no_answer_contains_a_password(document: dict[str, Any]) -> None:
    # Given every response schema of every operation
    leaks = []
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            # When the property names they can reach are collected
            names = set(property_names(document, response.get("content", {})))
            # Then none is a password (the sender password is write-only)
            if "password" in names:
                leaks.append(f"{method.upper()} {path} -> {status}")
    assert leaks == []
    # ...while the request body that sets it does document it
    body = document["paths"]["/sender-accounts/{area}/password"]["put"]["requestBody"]
    assert "password" in set(property_names(document, body))


def test_error_schema_matches_what_the_app_answers(document: dict[str, Any]) -> None:
    # Given the error bodies the app really produces
    from chalicelib.core.errors import NotFound, ValidationFailed

    bodies = [
        NotFound("there is no parcel with tracking id 'X'").body(),
        ValidationFailed(
            [{"field": "email", "message": "is required"}, {"field": "x", "message": "m"}]
        ).body(),
    ]
    schemas = document["components"]["schemas"]
    error, field_error = schemas["ErrorOut"], schemas["FieldErrorOut"]
    for body in bodies:
        # When they are compared with the documented ErrorOut
        # Then every key is documented and every required key is present
        assert set(body) <= set(error["properties"]), body
        assert set(error["required"]) <= set(body)
        for item in body.get("errors", []):
            assert set(item) == set(field_error["properties"]) == set(field_error["required"])
    for _path, _method, operation in operations(document):
        content = operation["responses"].get("422", {}).get("content", {})
        if "application/json" in content:  # (a page for a person answers with the page instead)
            schema = content["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}


def test_security_comes_from_the_declaration_and_must_agree_with_the_authorizer() -> None:
    # Given a small app whose views declare their access and nothing in their source says it
    from chalice import Blueprint, Chalice, Response

    from chalicelib.api.access import ADMIN, PUBLIC, api_key, staff
    from chalicelib.api.authorizer import pregon_auth
    from chalicelib.api.http import describe

    routes = Blueprint(__name__)

    @routes.route("/a", methods=["GET"], authorizer=pregon_auth)
    @describe(routes, summary="For administrators", access=ADMIN)
    def for_admins(caller: Any) -> Response:
        return Response(body="")

    @routes.route("/b", methods=["GET"], authorizer=pregon_auth)
    @describe(routes, summary="For systems", access=api_key("clients:read"), query=("limit",))
    def for_systems(caller: Any) -> Response:
        return Response(body="")

    @routes.route("/c", methods=["GET"], authorizer=pregon_auth)
    @describe(routes, summary="For levels 1 and 2", access=staff(2))
    def for_seniors(caller: Any) -> Response:
        return Response(body="")

    app = Chalice(app_name="declared")
    app.register_blueprint(routes)
    # When the document is built from it
    paths = build_openapi(app)["paths"]
    # Then each operation's security is what its declaration says
    assert paths["/a"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/a"]["get"]["description"].startswith("Administrators only")
    assert paths["/b"]["get"]["security"] == [{"apiKey": []}, {"bearerAuth": []}]
    assert "`clients:read`" in paths["/b"]["get"]["description"]
    assert [p["name"] for p in paths["/b"]["get"]["parameters"]] == ["limit"]
    assert paths["/c"]["get"]["description"].startswith("Staff of level 2 or above")

    # And a route declared public that still has the authorizer is refused, not published
    @routes.route("/d", methods=["GET"], authorizer=pregon_auth)
    @describe(routes, summary="Says public", access=PUBLIC)
    def confused() -> Response:
        return Response(body="")

    wrong = Chalice(app_name="wrong")
    wrong.register_blueprint(routes)
    with pytest.raises(LookupError, match="disagrees with the route's authorizer"):
        build_openapi(wrong)


def test_every_route_declares_models_that_exist() -> None:
    # Given every route of the app
    from app import app
    from chalicelib.api.http import declaration_of, model_class

    for methods in app.routes.values():
        for entry in methods.values():
            declared = declaration_of(entry.view_function)
            # When its declared models are imported by path; Then each is a pydantic model
            for path in filter(None, (declared.body, declared.response)):
                assert hasattr(model_class(path), "model_json_schema"), path


def test_the_declared_access_is_what_lets_a_caller_in() -> None:
    # Given callers as the authorizer passes them on: an API key with one scope, staff of each level
    from types import SimpleNamespace

    from chalicelib.api.access import ADMIN, PUBLIC, STAFF, USER_IN_PATH_OR_ADMIN, api_key, authorize, staff
    from chalicelib.core.errors import Forbidden, Unauthorized
    from chalicelib.tenants.auth.principal import Principal

    def request(caller: Principal | None) -> Any:
        return SimpleNamespace(context={"authorizer": caller.to_context()} if caller else {})

    from chalicelib.core.domain import StaffUser
    from chalicelib.tenants.staff import remember

    key = Principal("co-1", "api_key", "key:k1", scopes=("parcels:read",))
    users = {level: Principal("co-1", "user", f"u{level}", level=level) for level in (1, 2, 3, 4)}
    for level in users:  # as the staff directory has them (U1): no database in a unit test
        remember(StaffUser("co-1", f"u{level}", level))
    cases = [
        (PUBLIC, None, {}, True),
        (api_key("parcels:read"), key, {}, True),
        (api_key("parcels:write"), key, {}, False),
        (api_key("parcels:write"), users[4], {}, True),
        (STAFF, key, {}, False),
        (STAFF, users[4], {}, True),
        (ADMIN, users[2], {}, False),
        (ADMIN, users[1], {}, True),
        (staff(2), users[2], {}, True),
        (staff(2), users[3], {}, False),
        (USER_IN_PATH_OR_ADMIN, users[4], {"user_id": "u4"}, True),
        (USER_IN_PATH_OR_ADMIN, users[4], {"user_id": "u3"}, False),
        (USER_IN_PATH_OR_ADMIN, users[1], {"user_id": "u3"}, True),
        (USER_IN_PATH_OR_ADMIN, key, {"user_id": "key:k1"}, False),
    ]
    for access, caller, path, allowed in cases:
        # When the route's declaration is applied to the caller
        # Then the caller is let in (and handed to the view) or refused with a 403 saying who may
        if allowed:
            assert authorize(access, request(caller), path) == caller, (access, caller)
        else:
            with pytest.raises(Forbidden, match=r"only|lacks the scope"):
                authorize(access, request(caller), path)
    # And a protected route called without credentials is a 401
    with pytest.raises(Unauthorized):
        authorize(STAFF, request(None), {})


def test_a_routes_own_422_is_kept_after_what_every_422_holds(document: dict[str, Any]) -> None:
    # Given the SMS settings save, which declares what its own 422 means (a number or sender ID
    # Pregón's operator did not assign, a number whose claim is another company's)
    responses = document["paths"]["/sms/settings"]["put"]["responses"]
    # Then its 422 says what every 422 holds, then the route's own text
    assert responses["422"]["description"] == (
        "Invalid input: `field` names the first bad field, `errors` lists all. Also: an `inbound_number` "
        "or `sender_id` that is not one Pregón's operator assigned the company (the one it had is kept), "
        "or an `inbound_number` whose claim is another company's (a number assigned to two companies "
        "before numbers were claimed), sent new or again as it was: choose another, or leave it empty, "
        "and ask Pregón's operator."
    )
    # And a route without its own keeps the general texts
    general = document["paths"]["/sms/bulk-password"]["put"]["responses"]
    invalid = "Invalid input: `field` names the first bad field, `errors` lists all."
    assert general["422"]["description"] == invalid
    assert general["404"]["description"] == "Not found (the parcel, subscription, account or company)."


def test_a_routes_own_404_replaces_the_general_list(routes: dict[str, Any]) -> None:
    import dataclasses

    from chalicelib.api import openapi
    from chalicelib.api.http import declaration_of

    # Given a route that declares what its own 404 means
    entry = routes["/sms/settings"]["PUT"]
    own = "The company has no SMS settings yet."
    declared = declaration_of(entry.view_function)
    with_404 = dataclasses.replace(declared, errors=((404, own), *declared.errors))
    # When its answers are documented
    responses = openapi._responses(entry, with_404, {}, has_input=False)
    # Then its 404 is the route's own text, not the general list, and its 409 is still its own
    assert responses["404"]["description"] == own
    assert responses["409"]["description"] == "The `inbound_number` already receives SMS for another company."

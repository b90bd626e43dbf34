"""Errors in the caller's language: the same refusal in English (as always) and, when the request's
``Accept-Language`` prefers Spanish, in Spanish; the fields and codes never change. Real DynamoDB
Local and moto, through Chalice's test client."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.tenants import Tenant

SPANISH = {"Accept-Language": "es"}
BAD_CLIENT = json.dumps({"name": "A" * 81, "colour": "blue"})


def _put_bad_client(api: Client, tenant: Tenant, extra: dict[str, str] | None = None) -> dict:
    response = api.http.put(
        "/clients/CLI-1", headers={**tenant.key_headers(), **(extra or {})}, body=BAD_CLIENT
    )
    assert response.status_code == 422, response.body
    # (its words depend on the header: a cache in between keeps one answer per language)
    assert response.headers["Vary"] == "Accept-Language"
    return body(response)


def test_a_422_naming_two_fields_is_english_by_default_and_spanish_when_asked(
    api: Client, tenant: Tenant
) -> None:
    # Given a client with a name too long and a field the API does not know
    # When it is sent without Accept-Language, and again with Accept-Language: es
    english = _put_bad_client(api, tenant)
    spanish = _put_bad_client(api, tenant, SPANISH)

    # Then the English answer is as it always was
    assert english == {
        "error": "ValidationError",
        "message": "name: String should have at most 80 characters",
        "field": "name",
        "errors": [
            {"field": "name", "message": "String should have at most 80 characters"},
            {"field": "colour", "message": "is not a known field"},
        ],
    }
    # And the Spanish one names the same fields with the same code, its messages in Spanish
    assert spanish == {
        "error": "ValidationError",
        "message": "name: debe tener como máximo 80 caracteres",
        "field": "name",
        "errors": [
            {"field": "name", "message": "debe tener como máximo 80 caracteres"},
            {"field": "colour", "message": "no es un campo conocido"},
        ],
    }


def test_a_404_and_a_409_in_spanish_keep_their_values(api: Client, tenant: Tenant) -> None:
    # Given no client NOPE-7, and a register motive VISIT that exists
    motive = json.dumps({"code": "VISIT", "name": "Visita"})
    created = api.http.post("/register/motives", headers=tenant.admin_headers(), body=motive)
    assert created.status_code == 201, created.body

    # When each is asked for in English and in Spanish
    missing = [api.http.get("/clients/NOPE-7", headers={**tenant.key_headers(), **h}) for h in ({}, SPANISH)]
    twice = [
        api.http.post("/register/motives", headers={**tenant.admin_headers(), **h}, body=motive)
        for h in ({}, SPANISH)
    ]

    # Then the 404 and the 409 say the same in each language, the values as they were
    assert [r.status_code for r in missing] == [404, 404]
    assert [body(r) for r in missing] == [
        {"error": "NotFound", "message": "there is no client 'NOPE-7'"},
        {"error": "NotFound", "message": "no existe el cliente 'NOPE-7'"},
    ]
    assert [r.status_code for r in twice] == [409, 409]
    assert [body(r) for r in twice] == [
        {"error": "Conflict", "message": "the motive 'VISIT' exists already", "field": "code"},
        {"error": "Conflict", "message": "el motivo 'VISIT' ya existe", "field": "code"},
    ]


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [
        ("es-AR;q=0.9, en;q=0.8", "es"),
        ("es-419", "es"),
        ("en-US,es;q=0.5", "en"),
        ("fr-FR, es;q=0.1", "es"),
        ("en;q=0.2, es;q=0", "en"),
        ("*", "en"),
        ("ñ;;q=zz,,, ;q=1.5=es", "en"),
        ("x" * 5000, "en"),
    ],
)
def test_the_language_follows_accept_language_and_garbage_is_english(
    api: Client, tenant: Tenant, accept_language: str, language: str
) -> None:
    # Given a request the API refuses, When it carries this Accept-Language
    answer = _put_bad_client(api, tenant, {"Accept-Language": accept_language})

    # Then the message is in the language the header prefers (English when none fits), never a 500
    expected = "no es un campo conocido" if language == "es" else "is not a known field"
    assert answer["errors"][1] == {"field": "colour", "message": expected}

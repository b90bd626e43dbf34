"""The client's document portal (seed 004, "publicar en a3doc cloud"): staff publish a register
file to the client; the client reads its visible ones on a page its signed link opens."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import PUBLIC, STAFF
from chalicelib.api.http import Routes, json_response, page_request, parse_body, query_param
from chalicelib.api.pages import LINK_EXPIRED, LINK_GONE, LINK_REFUSED, answered_as_page, html_page
from chalicelib.api.public import client_ip
from chalicelib.core.domain import Publication
from chalicelib.tenants.auth.principal import Principal

portal = Blueprint(__name__)
route = Routes(portal, schemas="portal_schemas")

TOO_MANY = (
    "Too many requests to the portal from this address (300 an hour, across companies) or with this "
    "client's link (600 an hour); `Retry-After` says in how many seconds to try again."
)


def publication_out(publication: Publication) -> dict[str, Any]:
    from chalicelib.core.files import download_url

    return {
        "publication_id": publication.publication_id,
        "client_id": publication.client_id,
        "name": publication.name,
        "categories": list(publication.categories),
        "visible": publication.visible,
        "content_type": publication.file.content_type,
        "size": publication.file.size,
        "record_id": publication.record_id,
        "attachment": publication.attachment,
        "created_at": publication.created_at,
        "created_by": publication.created_by,
        "download_url": download_url(publication.file),
    }


def _named(caller: Principal, publication: Publication, status: int = 200) -> Response:
    from chalicelib.api.people import named

    return json_response(named(caller, publication_out(publication), "created_by"), status)


@route(
    "GET /clients/{client_id}/publications", STAFF, response="PublicationPageOut", query=("limit", "cursor")
)
def list_publications(caller: Principal, client_id: str) -> Response:
    """The files published to the client's document portal, newest first (a level-4 user: those they
    published; a private mailbox's: its owner and level 1, as the register)"""
    from chalicelib.api.people import named_page
    from chalicelib.core.errors import ValidationFailed
    from chalicelib.records.portal import list_publications as fetch

    limit, cursor = page_request(portal.current_request)
    before = cursor.get("before") if cursor else None
    if cursor is not None and not isinstance(before, str):
        raise ValidationFailed([{"field": "cursor", "message": "is not a cursor of this listing"}])
    items, next_before = fetch(caller, client_id, limit, before)
    return named_page(
        caller, items, {"before": next_before} if next_before else None, publication_out, "created_by"
    )


@route(
    "POST /clients/{client_id}/publications",
    STAFF,
    body="PublicationIn",
    response="PublicationOut",
    status=201,
    errors={
        409: "The file was not kept (too large, withheld, deleted after sending) or is published already "
        "(`attachment`)."
    },
)
def publish(caller: Principal, client_id: str) -> Response:
    """Publish a file of one of the client's register records to its document portal ("Publicar
    documento"): a manual record's, a logged e-mail's, or a sent document's; under a name, in the
    company's categories, visible to the client unless told (404 for a record the caller may not see)"""
    from chalicelib.api.portal_schemas import PublicationIn
    from chalicelib.records.portal import publish as publish_file

    body = parse_body(portal.current_request, PublicationIn)
    publication = publish_file(
        caller,
        client_id,
        body.record_id,
        body.attachment,
        name=body.name,
        categories=body.categories,
        visible=body.visible,
    )
    return _named(caller, publication, 201)


@route("GET /clients/{client_id}/publications/{publication_id}", STAFF, response="PublicationOut")
def get_publication(caller: Principal, client_id: str, publication_id: str) -> Response:
    """One publication, with a 5-minute link to its file"""
    from chalicelib.records.portal import get_publication as fetch

    return _named(caller, fetch(caller, client_id, publication_id))


@route(
    "PATCH /clients/{client_id}/publications/{publication_id}",
    STAFF,
    body="PublicationPatch",
    response="PublicationOut",
)
def change_publication(caller: Principal, client_id: str, publication_id: str) -> Response:
    """Rename a publication, file it under other categories, or show it to the client or hide it"""
    from chalicelib.api.http import parse_changes
    from chalicelib.api.portal_schemas import PublicationPatch
    from chalicelib.records.portal import change_publication as change

    changes = parse_changes(portal.current_request, PublicationPatch)
    return _named(caller, change(caller, client_id, publication_id, changes))


@route("DELETE /clients/{client_id}/publications/{publication_id}", STAFF, status=204)
def unpublish(caller: Principal, client_id: str, publication_id: str) -> Response:
    """Unpublish: out of the client's portal, its copy deleted (the record's file stays)"""
    from chalicelib.records.portal import unpublish as remove

    remove(caller, client_id, publication_id)
    return Response(body="", status_code=204)


@route(
    "POST /clients/{client_id}/portal-access",
    STAFF,
    response="PortalAccessOut",
    status=202,
    errors={429: "The user sent 30 portal access e-mails this hour (`client_id`); see `Retry-After`."},
)
def send_portal_access(caller: Principal, client_id: str) -> Response:
    """ "Enviar acceso al portal": e-mail the client its document portal link (the company's
    `portal_access` template, to its first address; 422 on `client_id` for a client with none)"""
    from chalicelib.records.portal import send_portal_access as send

    message = send(caller, client_id)
    answer = {
        "communication_id": message.communication_id,
        "to_address": message.to_address,
        "state": message.shown_state,
    }
    return json_response(answer, 202)


@route(
    "POST /clients/{client_id}/portal-access/revoke",
    STAFF,
    response="PortalRevokedOut",
    errors={422: "The client is being erased (`client_id`)."},
)
def revoke_portal_access(caller: Principal, client_id: str) -> Response:
    """ "Revocar enlaces al portal": every portal link made for the client so far stops working
    (a 410 page, as an expired one); a record in its register says who revoked them. A new
    "Enviar acceso al portal" sends a link that works."""
    from chalicelib.api.people import named
    from chalicelib.records.portal import revoke_portal_access as revoke

    record = revoke(caller, client_id)
    answer = {
        "record_id": record.communication_id,
        "revoked_at": record.created_at,
        "revoked_by": record.created_by,
    }
    return json_response(named(caller, answer, "revoked_by"))


# --- the client's side ---------------------------------------------------------------------------

_REFUSALS = {404: LINK_GONE, 410: LINK_EXPIRED, 422: LINK_REFUSED, 429: TOO_MANY}


def _token() -> str:
    return query_param(portal.current_request, "token") or ""


@route("GET /public/portal", PUBLIC, query=("token", "category", "cursor"), answer="page", errors=_REFUSALS)
def portal_page() -> Response:
    """The client's document portal: its visible documents by category, newest first, 20 a page, in
    the company's branding; the signed link of an e-mail opens it (decision 0035)"""
    request = portal.current_request
    return answered_as_page(request, "portal", lambda: html_page(_page(request, _token())))


def _page(request: Any, token: str) -> str:
    """The portal's page in the browser's language (else the company's), in the company's look (W3)."""
    from urllib.parse import urlencode

    from chalicelib.api.pages import browser_language
    from chalicelib.core.localization import show_date
    from chalicelib.messaging.sandbox import render_page
    from chalicelib.records.portal import portal_page as read
    from chalicelib.tenants.branding import page_brand

    # a person's page: a category or a cursor it cannot use shows the first page of all, no refusal
    params: Any = request.query_params or {}
    category = str(params.get("category") or "") or None
    before = str(params.get("cursor") or "") or None
    found = read(token, client_ip(request), category, before)
    company, client = found.reader.company, found.reader.client
    names = dict(found.categories)

    def here(**more: str) -> str:
        return "?" + urlencode({"token": token, **{k: v for k, v in more.items() if v}})

    documents = [
        {
            "name": p.name,
            "date": show_date(p.created_at, company.locale, company.time_zone),
            "size_kb": max(1, (p.file.size + 1023) // 1024),
            "categories": [names.get(c, c) for c in p.categories],
            "url": f"portal/files/{p.publication_id}?" + urlencode({"token": token}),
        }
        for p in found.items
    ]
    variables = {
        "company_name": company.name,
        "client_name": client.name,
        "brand": page_brand(company, "../"),
        "documents": documents,
        "categories": [
            {"name": name, "url": here(category=code), "current": code == found.category}
            for code, name in found.categories
        ],
        "all_url": here(),
        "category": names.get(found.category or "", ""),
        "next_url": here(category=found.category or "", cursor=found.next_before)
        if found.next_before
        else "",
    }
    return render_page("portal", browser_language(request, company.language), variables)


@route(
    "GET /public/portal/files/{publication_id}",
    PUBLIC,
    query=("token",),
    answer="page",
    errors={**_REFUSALS, 302: "The document: a presigned link valid one minute."},
)
def portal_file(publication_id: str) -> Response:
    """Download one of the portal's documents: a redirect to a one-minute presigned link (any other
    client's, an unpublished or a hidden one: 404, all alike)"""
    from chalicelib.records.portal import portal_download

    request = portal.current_request

    def download() -> Response:
        link = portal_download(_token(), client_ip(request), publication_id)
        return Response(body="", status_code=302, headers={"Location": link, "Cache-Control": "no-store"})

    return answered_as_page(request, "portal_file", download)

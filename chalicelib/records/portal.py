"""The client's document portal (seed 004: "Adjuntar documentos y publicar en a3doc cloud").

Staff publish a file of a client's register (a file added to a record, one a logged e-mail came
with, a document Pregón sent) under a name of their choosing, filed under the company's
categories, visible to the client or not; the client reads the visible ones on a page its signed
link opens, and downloads each through a short-lived presigned link. Decision 0035.

Who sees a publication on the staff's side is the register's rule (``may_read_record``): levels
1-3 every one, a level-4 user those they published, one from a private mailbox's record its
owner and level 1.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import Client, Communication, Company, Publication
from chalicelib.core.errors import Conflict, Gone, NotFound, ValidationFailed
from chalicelib.core.links import PORTAL_PURPOSE
from chalicelib.records.register import get_record, private_viewer
from chalicelib.store import publications as store
from chalicelib.store.rate_limits import Limit, count
from chalicelib.tenants.auth.principal import Principal, may_see, own_only

DOWNLOAD_SECONDS = 60  # a presigned download link's life: asked for again at each click
PAGE_SIZE = 20
MAX_CATEGORIES = 10
# Anonymous callers: per address, across companies, and per client link (decision 0013's limiter).
VIEWS_PER_ADDRESS = Limit("portal-address", 300, 3600)
VIEWS_PER_CLIENT = Limit("portal-client", 600, 3600)
ACCESS_EMAILS_PER_USER = Limit("portal-access-email", 30, 3600)
TOO_MANY = "too many requests to the document portal from this address"
MESSAGE_TYPE = "portal_access"


# --- the link ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortalReader:
    company: Company
    client: Client


def _reader(token: str, client_ip: str | None) -> PortalReader:
    """The company and client a portal link names: counted first against its address (so guessing
    is throttled as much as reading), then checked, and a link with the client's key counted
    against the client's allowance; 422 on ``token`` for no link of ours (forged,
    cut, another kind of link), 410 for an expired one and for one whose portal key is not the
    client's (revoked since, made before keys, or for an erased client of the same code), 404 for
    a client no longer there."""
    import jwt

    from chalicelib.core.links import verified_link_claims
    from chalicelib.tenants.clients import find_client
    from chalicelib.tenants.companies import find_company

    count("portal", VIEWS_PER_ADDRESS, client_ip or "unknown", TOO_MANY)
    invalid = ValidationFailed([{"field": "token", "message": "is not a document portal link"}])
    if not token or len(token) > 2048:
        raise invalid
    try:
        # the expiry is checked on Pregón's clock (tests move it), once the signature is ours
        claims = verified_link_claims(token, {"require": ["p", "c", "k", "exp"], "verify_exp": False})
    except jwt.PyJWTError as exc:
        raise invalid from exc
    if claims.get("p") != PORTAL_PURPOSE or not isinstance(claims.get("exp"), int):
        raise invalid
    if claims["exp"] <= clock.now().timestamp():
        raise Gone("the link expired: ask the company for a new one")
    company = find_company(str(claims["c"]))
    client = find_client(str(claims["c"]), str(claims["k"])) if company is not None else None
    if company is None or client is None:
        raise NotFound("there is nothing at this link any more")
    # The key before the client's allowance: a revoked link (a leaked one, the reason to revoke)
    # must not spend it, or its holder could keep the client's new link at 429 (the key's read is
    # bounded by the address's allowance, counted above). The signature makes ``g`` unforgeable, so
    # comparing it in a time that depends on it tells nothing.
    if not claims.get("g") or claims["g"] != store.portal_key(company.company_id, client.client_id):
        raise Gone("the link was withdrawn: ask the company for a new one")
    count("portal", VIEWS_PER_CLIENT, f"{company.company_id}#{client.client_id}", TOO_MANY)
    return PortalReader(company, client)


@dataclass(frozen=True)
class PortalPage:
    reader: PortalReader
    items: list[Publication]
    next_before: str | None
    category: str | None
    categories: list[tuple[str, str]]  # (code, name) of the company's categories


def portal_page(token: str, client_ip: str | None, category: str | None, before: str | None) -> PortalPage:
    """The client's visible publications, newest first, a page at a time, of one category or all."""
    from chalicelib.records.register import list_table

    reader = _reader(token, client_ip)
    categories = [(e.code, e.name) for e in list_table(reader.company.company_id, "categories")]
    if category is not None and category not in dict(categories):
        category = None
    if before is not None and not _is_id(before):
        before = None
    items, next_before = store.page(
        reader.company.company_id,
        reader.client.client_id,
        PAGE_SIZE,
        before,
        visible_only=True,
        category=category,
    )
    return PortalPage(reader, items, next_before, category, categories)


def portal_download(token: str, client_ip: str | None, publication_id: str) -> str:
    """A presigned link (:data:`DOWNLOAD_SECONDS`) to a visible publication of the link's client;
    404 for any other (another client's, unpublished, hidden, erased): all alike."""
    from chalicelib.core.files import download_url

    reader = _reader(token, client_ip)
    found = (
        store.get(reader.company.company_id, reader.client.client_id, publication_id)
        if _is_id(publication_id)
        else None
    )
    if found is None or not found.visible:
        raise NotFound("there is no such document")
    return download_url(found.file, DOWNLOAD_SECONDS)


def _is_id(value: str) -> bool:
    return len(value) == 24 and all(c in "0123456789abcdef" for c in value)


# --- staff: publish, change, unpublish, list ----------------------------------------------------


def may_see_publication(viewer: Principal, publication: Publication) -> bool:
    """The register's rule (``may_read_record``) on a publication: levels 1-3 every one, a level-4
    user those they published, one of a private mailbox's record its owner and level 1."""
    mine = private_viewer(viewer)
    private_ok = publication.private_to is None or mine is None or publication.private_to == mine
    return may_see(viewer, publication.created_by) and private_ok


def _criteria(viewer: Principal) -> dict[str, Any]:
    return {"created_by": own_only(viewer), "private_viewer": private_viewer(viewer)}


def _check_categories(company_id: str, categories: list[str]) -> tuple[str, ...]:
    from chalicelib.records.register import list_table

    wanted = tuple(dict.fromkeys(c.strip() for c in categories if c.strip()))
    if len(wanted) > MAX_CATEGORIES:
        raise ValidationFailed([{"field": "categories", "message": f"at most {MAX_CATEGORIES}"}])
    known = {e.code for e in list_table(company_id, "categories")}
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise ValidationFailed(
            [
                {
                    "field": "categories",
                    "message": "not categories of the company (see /register/categories): "
                    f"{', '.join(unknown)}",
                }
            ]
        )
    return wanted


def _file_name(name: str | None, fallback: str) -> str:
    from chalicelib.core.names import attachment_name

    shown = attachment_name(name) if name is not None else fallback
    if not shown.strip():
        raise ValidationFailed([{"field": "name", "message": "is not a file name"}])
    return shown


def publish(
    viewer: Principal,
    client_id: str,
    record_id: str,
    attachment: int,
    *,
    name: str | None,
    categories: list[str] | None,
    visible: bool,
) -> Publication:
    """Publish one of a record's files to the client's portal: a copy of it under ``name``, so
    the record, its file's deletion (D3) or the record's removal from the register leave the
    publication as it was. 404 for a record ``viewer`` may not see; 409 for a file not kept, or
    published already; 422 naming ``attachment``, ``name`` or ``categories``. ``categories``
    None (not given): a sent document's own (*Pedidos*, *Estados de cuenta* ...), else none."""
    from chalicelib.core.aws import client as aws
    from chalicelib.core.files import safe_name
    from chalicelib.core.settings import get_settings
    from chalicelib.tenants.clients import unless_erased

    record = get_record(viewer, client_id, record_id)
    if not 0 <= attachment < len(record.attachments):
        raise ValidationFailed(
            [{"field": "attachment", "message": f"the record has {len(record.attachments)} files"}]
        )
    ref = record.attachments[attachment]
    if not ref.key or ref.deleted_at is not None:
        raise Conflict(
            "the file was not kept, or was deleted after sending: nothing to publish", field="attachment"
        )
    if categories is None:
        from chalicelib.records.register import document_categories

        chosen = document_categories(viewer.company_id, record)
    else:
        chosen = _check_categories(viewer.company_id, categories)
    shown = _file_name(name, ref.name)
    if any(
        p.attachment == attachment for p in store.every(viewer.company_id, client_id, record_id=record_id)
    ):
        raise Conflict(
            "this file is published already: change or unpublish that publication", field="attachment"
        )
    now = clock.now()
    from chalicelib.store.communications import new_communication_id

    key = f"{viewer.company_id}/portal/{secrets.token_hex(8)}/{safe_name(shown)}"
    bucket = get_settings().files_bucket
    aws("s3").copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": ref.key})
    publication = Publication(
        company_id=viewer.company_id,
        client_id=client_id,
        publication_id=new_communication_id(now),
        name=shown,
        categories=chosen,
        visible=visible,
        file=replace(ref, name=shown, key=key, added_by=None),
        record_id=record.communication_id,
        attachment=attachment,
        created_at=now,
        created_by=viewer.subject,
        private_to=record.private_to,
    )
    try:
        # on condition that no erasure of the client started or ended (``store.erasures.unerased``):
        # the erasure finds the publication, or it is not written (422 / 404, its copy deleted)
        with unless_erased(viewer.company_id, client_id, gone_not_found=True) as checks:
            store.add(publication, checks)
    except Exception:
        from chalicelib.core.files import delete_file

        delete_file(key)
        raise
    return publication


def get_publication(viewer: Principal, client_id: str, publication_id: str) -> Publication:
    _client(viewer, client_id)
    found = store.get(viewer.company_id, client_id, publication_id) if _is_id(publication_id) else None
    if found is None or not may_see_publication(viewer, found):
        raise NotFound(f"client {client_id!r} has no publication {publication_id!r}")
    return found


def change_publication(
    viewer: Principal, client_id: str, publication_id: str, changes: dict[str, Any]
) -> Publication:
    """A new name, categories or visibility (the rest stays)."""
    found = get_publication(viewer, client_id, publication_id)
    updated = found
    if "name" in changes:
        if changes["name"] is None:
            raise ValidationFailed([{"field": "name", "message": "cannot be cleared"}])
        shown = _file_name(changes["name"], found.name)
        updated = replace(updated, name=shown, file=replace(updated.file, name=shown))
    if "categories" in changes:
        updated = replace(
            updated, categories=_check_categories(viewer.company_id, changes["categories"] or [])
        )
    if "visible" in changes:
        if changes["visible"] is None:
            raise ValidationFailed([{"field": "visible", "message": "must be true or false"}])
        updated = replace(updated, visible=bool(changes["visible"]))
    if not store.replace(updated):
        raise NotFound(f"client {client_id!r} has no publication {publication_id!r}")
    return updated


def unpublish(viewer: Principal, client_id: str, publication_id: str) -> None:
    """Out of the portal, its copy of the file deleted; the record's own file stays."""
    from chalicelib.core.files import delete_file

    found = get_publication(viewer, client_id, publication_id)
    if store.remove(viewer.company_id, client_id, publication_id):
        delete_file(found.file.key)


def list_publications(
    viewer: Principal, client_id: str, limit: int, before: str | None
) -> tuple[list[Publication], str | None]:
    _client(viewer, client_id)
    if before is not None and not _is_id(before):
        raise ValidationFailed([{"field": "cursor", "message": "is not a cursor of this listing"}])
    return store.page(viewer.company_id, client_id, limit, before, **_criteria(viewer))


def record_publications(viewer: Principal, client_id: str, record_id: str) -> dict[int, Publication]:
    """A record's published files by their place in its list (its "Publicado" column)."""
    return {
        p.attachment: p
        for p in store.every(viewer.company_id, client_id, record_id=record_id)
        if may_see_publication(viewer, p)
    }


def _client(viewer: Principal, client_id: str) -> Client:
    from chalicelib.tenants.clients import get_client

    return get_client(viewer.company_id, client_id)  # NotFound for another company's


# --- "Enviar acceso al portal" -------------------------------------------------------------------


def send_portal_access(viewer: Principal, client_id: str) -> Any:
    """E-mail the client its portal link with the company's ``portal_access`` template (its own
    wording, if it wrote one), to the client's first address; 422 on ``client_id`` for a client
    with no address; 429 past the user's allowance. Returns the queued message."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from chalicelib.messaging.templates import render_for
    from chalicelib.store.rate_limits import give_back
    from chalicelib.tenants.clients import portal_link, unless_erased

    client = _client(viewer, client_id)
    if not client.emails:
        raise ValidationFailed([{"field": "client_id", "message": "the client has no e-mail address"}])
    variables = {
        "client": {
            "code": client.client_id,
            "name": client.name,
            "email": client.emails[0],
            "phone": client.phones[0] if client.phones else None,
            "balance": None,
        },
        "portal_link": portal_link(viewer.company_id, client.client_id),
    }
    template, rendered = render_for(viewer.company_id, MESSAGE_TYPE, variables)
    message = OutgoingMessage(
        channel="email",
        to_address=client.emails[0],
        to_name=client.name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_type=MESSAGE_TYPE,
        kind="manual",
        client_id=client.client_id,
        area=template.sender_area,
        cause=f"portal-access:{client.client_id}",
        created_by=viewer.subject,
    )
    counter = count(
        viewer.company_id,
        ACCESS_EMAILS_PER_USER,
        viewer.subject,
        f"a user sends at most {ACCESS_EMAILS_PER_USER.count} portal access e-mails an hour",
        field="client_id",
    )
    try:
        with unless_erased(viewer.company_id, client.client_id, gone_not_found=True) as checks:
            written = enqueue(viewer.company_id, [message], checks=checks)
    except (ValidationFailed, NotFound):
        give_back(counter, 1)
        raise
    return written[0]


# --- revoking the client's links --------------------------------------------------------------

#: The register record a revocation writes, in the company's language.
REVOKED_TEXTS = {
    "es": (
        "Acceso al portal revocado",
        "Los enlaces al portal de documentos enviados hasta ahora dejaron de funcionar; "
        "un nuevo «Enviar acceso al portal» envía uno que funciona.",
    ),
    "en": (
        "Portal access revoked",
        "The document portal links sent so far no longer work; a new "
        "\u201cSend portal access\u201d sends one that does.",
    ),
}
REVOKED_KIND = "portal_revoked"


def revoke_portal_access(viewer: Principal, client_id: str) -> Communication:
    """Stop every link to the client's portal made so far (a forwarded or leaked e-mail's): the
    client gets a new portal key, and a record in its register says who revoked them, in one
    write; links made from now on (a new access e-mail) carry the new key. 404 for no client of
    the company, 422 on ``client_id`` while it is being erased. Returns the register record."""
    from chalicelib.store.communications import new_communication_id
    from chalicelib.tenants.clients import unless_erased
    from chalicelib.tenants.companies import get_company

    client = _client(viewer, client_id)
    language = get_company(viewer.company_id).language
    subject, text = REVOKED_TEXTS.get(language, REVOKED_TEXTS["en"])
    now = clock.now()
    record = Communication(
        company_id=viewer.company_id,
        communication_id=new_communication_id(now),
        direction="note",
        channel="note",
        kind=REVOKED_KIND,
        state="recorded",
        created_at=now,
        updated_at=now,
        client_id=client.client_id,
        record_type="other",
        subject=subject,
        text=text,
        initiated_by="staff",
        created_by=viewer.subject,
    )
    with unless_erased(viewer.company_id, client.client_id, gone_not_found=True) as checks:
        store.replace_portal_key(
            viewer.company_id, client.client_id, secrets.token_hex(8), now, record, checks
        )
    return record

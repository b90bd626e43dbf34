"""Sending domains for SES accounts (issue 10, point 7), for company administrators."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN
from chalicelib.api.http import Routes, json_response, parse_body
from chalicelib.tenants.auth.principal import Principal

domains = Blueprint(__name__)
route = Routes(domains, schemas="domain_schemas")
TAKEN = {
    409: "another company registered the domain: SES verifies it, that company sends from it with SES "
    "sender accounts, its registration has not lapsed yet (the message says when it does: 72 hours "
    "after it was first registered or, for a domain SES verified once, after a check first found it no "
    "longer verified, unless SES verifies it), or that company's removal of it marked it less than 15 "
    "minutes ago (the message says when it may be registered)"
}
IN_USE = {
    409: "SES sender accounts of the company send from the domain (the message names their areas), "
    "or they kept changing while it was checked (try again)"
}


@route(
    "POST /sender-domains",
    ADMIN,
    body="SendingDomainIn",
    response="SendingDomainOut",
    status=201,
    errors=TAKEN,
)
def register_domain(caller: Principal) -> Response:
    """Register a sending domain: the SES identity (Easy DKIM, MAIL FROM bounce.<domain>) and the DNS records
    to publish, each with its state"""
    from chalicelib.api.domain_schemas import SendingDomainIn
    from chalicelib.messaging.accounts.domains import register_sending_domain

    body = parse_body(domains.current_request, SendingDomainIn)
    return json_response(register_sending_domain(caller.company_id, body.domain, by=caller.subject), 201)


@route("GET /sender-domains", ADMIN, response="SendingDomainsOut")
def list_domains(caller: Principal) -> Response:
    """The company's sending domains, their records' states and the bulk-sender checks"""
    from chalicelib.messaging.accounts.domains import list_sending_domains

    return json_response({"items": list_sending_domains(caller.company_id)})


@route("GET /sender-domains/{domain}", ADMIN, response="SendingDomainOut")
def show_domain(caller: Principal, domain: str) -> Response:
    """One sending domain: each DNS record's verification state and what Gmail and Yahoo ask of bulk senders
    (SPF, DKIM, DMARC, alignment, one-click unsubscribe, complaint rate)"""
    from chalicelib.messaging.accounts.domains import domain_status

    return json_response(domain_status(caller.company_id, domain))


@route("DELETE /sender-domains/{domain}", ADMIN, status=204, errors=IN_USE)
def remove_domain(caller: Principal, domain: str) -> Response:
    """Remove a sending domain: its SES identity and the company's record of it; refused, naming them, while
    SES sender accounts send from it"""
    from chalicelib.messaging.accounts.domains import remove_sending_domain

    remove_sending_domain(caller.company_id, domain, by=caller.subject)
    return Response(body="", status_code=204)

"""Sending domains for SES accounts (issue 10, point 7), for company administrators."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN
from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import describe, json_response, parse_body
from chalicelib.tenants.auth.principal import Principal

domains = Blueprint(__name__)
SCHEMAS = "chalicelib.api.domain_schemas"


@domains.route("/sender-domains", methods=["POST"], authorizer=pregon_auth)
@describe(
    domains,
    summary="Register a sending domain: the SES identity (Easy DKIM, MAIL FROM bounce.<domain>) and the "
    "DNS records to publish, each with its state",
    body=f"{SCHEMAS}.SendingDomainIn",
    response=f"{SCHEMAS}.SendingDomainOut",
    status=201,
    access=ADMIN,
    errors={409: "another company registered the domain"},
)
def register_domain(caller: Principal) -> Response:
    from chalicelib.api.domain_schemas import SendingDomainIn
    from chalicelib.messaging.accounts.domains import register_sending_domain

    body = parse_body(domains.current_request, SendingDomainIn)
    return json_response(register_sending_domain(caller.company_id, body.domain, by=caller.subject), 201)


@domains.route("/sender-domains", methods=["GET"], authorizer=pregon_auth)
@describe(
    domains,
    summary="The company's sending domains, their records' states and the bulk-sender checks",
    response=f"{SCHEMAS}.SendingDomainsOut",
    access=ADMIN,
)
def list_domains(caller: Principal) -> Response:
    from chalicelib.messaging.accounts.domains import list_sending_domains

    return json_response({"items": list_sending_domains(caller.company_id)})


@domains.route("/sender-domains/{domain}", methods=["GET"], authorizer=pregon_auth)
@describe(
    domains,
    summary="One sending domain: each DNS record's verification state and what Gmail and Yahoo ask of bulk "
    "senders (SPF, DKIM, DMARC, alignment, one-click unsubscribe, complaint rate)",
    response=f"{SCHEMAS}.SendingDomainOut",
    access=ADMIN,
)
def show_domain(caller: Principal, domain: str) -> Response:
    from chalicelib.messaging.accounts.domains import domain_status

    return json_response(domain_status(caller.company_id, domain))

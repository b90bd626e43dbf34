"""Manual sends for staff (C8): to one client at once, or to many as a job with progress."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import STAFF
from chalicelib.api.http import Routes, json_response, page_request, parse_body, plain
from chalicelib.tenants.auth.principal import Principal

sends = Blueprint(__name__)
route = Routes(sends, schemas="sends_schemas")


def _job_out(job: Any) -> dict[str, Any]:
    return dict(plain(job))


def _named_job(caller: Principal, job: Any) -> dict[str, Any]:
    from chalicelib.api.people import named

    return named(caller, _job_out(job), "created_by")


def _message_out(comm: Any) -> dict[str, Any]:
    return {
        "communication_id": comm.communication_id,
        "channel": comm.channel,
        "state": comm.shown_state,
        "client_id": comm.client_id,
        "to_address": comm.to_address,
        "subject": comm.subject,
    }


@route(
    "POST /sends",
    STAFF,
    body="SendIn",
    response="SendOut",
    status=201,
    existing=200,
    errors={
        409: "The channel is not set up for the company: no working sender account for the "
        "template's area (nor `all`), SMS off or incomplete, or push not set up.",
        429: "Too many wrong bulk-send passwords (`bulk_password`): bulk sends are locked for a while, "
        "even with the right password; the `Retry-After` header says in how many seconds to try again.",
    },
)
def start_send(caller: Principal) -> Response:
    """Send a template to clients picked by list or filter, by e-mail, SMS or push: one client at once, more
    as a job (C8); SMS to more than one needs the bulk-send password (C6)"""
    from chalicelib.api.sends_schemas import SendIn
    from chalicelib.producers.sends.manual import ClientFilter, SendRequest
    from chalicelib.producers.sends.manual import start_send as start

    company_id, user = caller.company_id, caller.subject
    body = parse_body(sends.current_request, SendIn)
    result = start(
        company_id,
        SendRequest(
            channel=body.channel,
            template_key=body.template,
            variables=body.variables,
            client_ids=body.client_ids,
            client_filter=ClientFilter(**body.filter.model_dump()) if body.filter is not None else None,
            bulk_password=body.bulk_password,
            request_id=body.request_id,
            created_by=user,
        ),
    )
    created = result.created
    answer = {
        "job": _named_job(caller, result.job) if result.job else None,
        "messages": [_message_out(c) for c in result.communications],
    }
    return json_response(answer, 201 if created else 200)


@route("GET /sends/{job_id}", STAFF, response="SendJobOut")
def get_send_job(caller: Principal, job_id: str) -> Response:
    """A send job's progress: total, sent, failed, skipped, waiting, state (C8); level 4: own jobs only"""
    from chalicelib.producers.sends.manual import get_send_job as fetch

    return json_response(_named_job(caller, fetch(caller, job_id)))


@route("GET /sends", STAFF, response="SendJobsOut", query=("limit", "cursor"))
def list_send_jobs(caller: Principal) -> Response:
    """The company's send jobs, newest first (C8); level 4: own jobs only"""
    from chalicelib.producers.sends.manual import list_send_jobs as fetch

    request = sends.current_request
    from chalicelib.api.people import named_page

    jobs, cursor = fetch(caller, *page_request(request))
    return named_page(caller, jobs, cursor, _job_out, "created_by")

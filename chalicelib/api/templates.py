"""Templates per message type (C4): staff read and preview, administrators change them.

Each template also carries an SMS text and a push title/body with ``%variables%`` (C6, C7); the
preview renders them too and counts the SMS's segments.

Keys are the message types (``invoice``, ``tracking_alert``, ...) or ``custom:<slug>`` for the
company's own templates for manual sends.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, STAFF
from chalicelib.api.http import Routes, if_match, json_response, parse_body, versioned_response
from chalicelib.tenants.auth.principal import Principal

templates = Blueprint(__name__)
route = Routes(templates, schemas="template_schemas")


def _key(raw: str) -> str:
    # API Gateway may hand the path parameter over still URL-encoded (`custom%3Apromo`).
    return unquote(raw)


def _template_out(caller: Principal, template: Any) -> dict[str, Any]:
    from chalicelib.api.http import plain
    from chalicelib.api.people import named
    from chalicelib.messaging.templates import message_type

    data = dict(plain(template))
    data.pop("version", None)  # said as the ETag
    kind = message_type(template.key)
    data["variables"] = plain(list(kind.variables))
    data["channels"] = list(template.channels)
    if not template.has_email:  # an SMS-only custom template: no e-mail, not three empty parts
        data.update(subject=None, text=None, html=None)
    data["sms_variables"] = [
        {"name": f"%{name}%", "description": variable.description}
        for name, variable in kind.sms_variables().items()
    ]
    return named(caller, data, "updated_by")


@route("GET /templates", STAFF, response="TemplatesOut")
def list_templates(caller: Principal) -> Response:
    """Every message type with its variables, whether the company overrides it, manual_send (C4)"""
    from chalicelib.messaging.templates import list_templates as summaries

    return json_response({"items": summaries(caller.company_id)})


@route("GET /templates/{key}", STAFF, response="TemplateOut", versioned=True)
def get_template(caller: Principal, key: str) -> Response:
    """The effective template of a message type: the company's own or the default (C4)"""
    from chalicelib.messaging.templates import effective_template

    template = effective_template(caller.company_id, _key(key))
    return versioned_response(_template_out(caller, template), template.version)


@route("PUT /templates/{key}", ADMIN, body="TemplateIn", response="TemplateOut", versioned=True)
def save_template(caller: Principal, key: str) -> Response:
    """Save the company's own template; it must render with the type's sample data (C4)"""
    from chalicelib.api.template_schemas import TemplateIn
    from chalicelib.messaging.templates import save_template as save

    company_id, user = caller.company_id, caller.subject
    request = templates.current_request
    body = parse_body(request, TemplateIn)
    saved = save(company_id, _key(key), updated_by=user, if_match=if_match(request), **body.model_dump())
    return versioned_response(_template_out(caller, saved), saved.version)


@route("DELETE /templates/{key}", ADMIN, status=204)
def reset_template(caller: Principal, key: str) -> Response:
    """Go back to the default template (a custom template is deleted) (C4)"""
    from chalicelib.messaging.templates import reset_template as reset

    company_id = caller.company_id
    reset(company_id, _key(key))
    return Response(body="", status_code=204)


@route(
    "POST /templates/{key}/preview",
    STAFF,
    body="TemplatePreviewIn",
    body_required=False,
    response="TemplatePreviewOut",
)
def preview_template(caller: Principal, key: str) -> Response:
    """Render the template, or unsaved edits of it, with sample data (C4)"""
    from chalicelib.api.template_schemas import TemplatePreviewIn
    from chalicelib.messaging.templates import preview_template as preview

    company_id = caller.company_id
    request = templates.current_request
    body = parse_body(request, TemplatePreviewIn) if request.raw_body else TemplatePreviewIn()
    rendered = preview(company_id, _key(key), **body.model_dump())
    return json_response(rendered)

"""Templates per message type (C4): the catalog of types, and a company's effective templates.

A message type says which sender area it goes out from by default, which variables its templates
may use (``client.name``, ``invoice.total``, ...) and the sample data previews render with. Every
type ships a default template in Spanish and English (``templates/<lang>/<type>.*``); a company
may override any of them, and may write custom templates (key ``custom:<slug>``) for manual
sends, which offer the client variables. The *effective* template of a type is the company's
override, or else the default in the company's language.

Overrides are validated before they are stored: each part (subject, text, html) must compile and
render with the type's sample data inside the sandbox's limits (see ``chalicelib.messaging.sandbox``).

SMS and push (C6, C7) have their own short texts, written with ``%variables%`` (no Jinja; see
``chalicelib.messaging.sms_text``): ``sms_text``, ``push_title`` and ``push_body``. A type's SMS variables
are its scalar variables with ``_`` for ``.`` (``%client_name%``, ``%payment_amount%``) plus the
Spanish names ISPCube users know (``%nombre%``, ``%monto%``, ``%deuda%``, ``%empresa%``, ...; see
``SMS_ALIASES``). Defaults ship as ``templates/<lang>/<type>.sms.txt`` and ``<type>.push.txt``
(first line the title, the rest the body). A type with no SMS text sends its plain-text body by
SMS; a push with no title/body uses the subject and the plain-text body.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

from chalicelib.core import clock, domain
from chalicelib.core.errors import NotFound, ValidationFailed, edited_meanwhile
from chalicelib.messaging.sandbox import (
    LANGUAGES,
    TEMPLATES_DIR,
    RenderedMessage,
    default_template,
    render_untrusted,
)
from chalicelib.messaging.sms_text import render_sms, sms_encoding, sms_segments, template_variables

CUSTOM_PREFIX = "custom:"
CUSTOM_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CUSTOM_AREA = "clients"
# A DynamoDB item is at most 400 KB.
MAX_TEMPLATE_BYTES = 350_000
CHANNEL_PARTS = ("sms_text", "push_title", "push_body")
EMAIL_PARTS = ("subject", "text", "html")
ALL_CHANNELS = ("email", "sms", "push")

# SpamAssassin's HTML_IMAGE_ONLY_04 to _32 (its 20_html_tests.cf) add 1.7 to 2.8 points to an e-mail
# whose HTML part holds an ``<img>`` and is at most this many characters, markup and styles included
# (docs/decisions/0024-a-spam-filter-in-the-tests.md): a save or preview of such a template warns.
IMAGE_ONLY_CHARS = 3200
_IMAGE = re.compile(r"<img[\s/>]", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)

# ``%alias%`` → the variable it stands for, offered by every type that has that variable: the names
# of ISPCube's SMS templates (seed 002: "Estimado %nombre% ... $ %monto% ... $ %deuda%").
SMS_ALIASES: dict[str, str] = {
    "nombre": "client.name",
    "codigo": "client.code",
    "deuda": "client.balance",
    "saldo": "client.balance",
    "empresa": "company.name",
    "monto": "payment.amount",
    "importe": "payment.amount",
    "recibo": "payment.receipt_number",
    "factura": "invoice.number",
    "total": "invoice.total",
    "vencimiento": "invoice.due_on",
    "id": "ticket.id",
    "operador": "ticket.operator",
    "estado": "ticket.status",
    "seguimiento": "parcel.tracking_id",
    "sucursal": "pickup.branch",
    "etiqueta": "label_url",
    "cantidad": "confirmed_count",
    "comprobante": "receivable.number",
}
# The same names for another type's variable (no type offers both): a reminder's document (R3).
SMS_ALIASES_ALSO: dict[str, str] = {
    "vencimiento": "receivable.due_on",
    "monto": "receivable.balance",
}


@dataclass(frozen=True)
class Variable:
    name: str
    description: str


#: The zone and locale sample data is written in when no company is at hand (Pregón's defaults).
SAMPLE_TIME_ZONE = "America/Argentina/Buenos_Aires"
SAMPLE_LOCALE = "es_AR"


def _sample_moment(day: int, hour: int, minute: int) -> datetime:
    """A sample moment of November 2026 at a clock time of the company's zone (naive until
    :meth:`MessageType.sample_data` puts it in the zone)."""
    return datetime(2026, 11, day, hour, minute)  # noqa: DTZ001


@dataclass(frozen=True)
class MessageType:
    key: str
    title: str
    sender_area: str
    variables: tuple[Variable, ...]
    sample: Mapping[str, Any]

    @property
    def custom(self) -> bool:
        return self.key.startswith(CUSTOM_PREFIX)

    @property
    def manual_send(self) -> bool:
        """Whether a manual send (C8) offers every variable this type's templates may use: a
        manual send has a client and the company, never a parcel, an invoice or a subscription."""
        return all(v.name in MANUAL_SEND_VARIABLES for v in self.variables)

    def sample_data(self, time_zone: str = SAMPLE_TIME_ZONE, locale: str = SAMPLE_LOCALE) -> dict[str, Any]:
        """The sample data as a real send gives it: its days and moments written by the same helper
        (``core.localization.shown_values``) in the company's locale, each moment at its clock
        time in the company's zone (``2/11/2026 11:30`` in es_AR, not ``02/11/2026 11:30``)."""
        from chalicelib.core.localization import shown_values, zone

        def on_clock(value: Any) -> Any:
            if isinstance(value, datetime) and value.tzinfo is None:
                return value.replace(tzinfo=zone(time_zone))
            if isinstance(value, Mapping):
                return {k: on_clock(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [on_clock(v) for v in value]
            return copy.deepcopy(value)

        return cast(dict[str, Any], shown_values(on_clock(self.sample), time_zone, locale))

    def sample_send_variables(self) -> dict[str, Any]:
        """The sample data as a manual send's ``variables``: without the client (each recipient's
        own) and ``portal_link`` (each client's own, signed by Pregón: a send may not give it)."""
        data = self.sample_data()
        data.pop("client", None)
        data.pop("portal_link", None)
        return data

    def sms_variables(self) -> dict[str, Variable]:
        """``%name%`` (without the percent signs) → the variable it stands for; lists are left out."""
        names: dict[str, Variable] = {}
        offered = {v.name: v for v in self.variables}
        for variable in self.variables:
            if "[" in variable.name or isinstance(_lookup(self.sample, variable.name), list):
                continue
            names[variable.name.replace(".", "_")] = variable
        for alias, target in (*SMS_ALIASES.items(), *SMS_ALIASES_ALSO.items()):
            if target in offered and target.replace(".", "_") in names:
                names.setdefault(alias, offered[target])
        return names

    def sms_values(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The values of the ``%variables%`` from the same nested variables the e-mail renders with."""
        return {name: _lookup(variables, v.name) for name, v in self.sms_variables().items()}


def _lookup(data: Mapping[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


# --- the catalog ------------------------------------------------------------------------------


def _v(name: str, description: str) -> Variable:
    return Variable(name, description)


COMPANY_VARIABLES = (
    _v("company.name", "Your company's name, as in its settings."),
    _v("company.logo_url", "Your logo's URL (branding settings); empty when you set none."),
    _v("company.logo_width", "An uploaded logo's width in px at 48 px high (at most 240); else empty."),
    _v("company.logo_height", "An uploaded logo's height in px (48, or less for a wide logo); else empty."),
    _v("company.colors.primary", "Your primary colour, #RRGGBB (branding settings; a default otherwise)."),
    _v("company.colors.accent", "Your accent colour, #RRGGBB."),
    _v("company.colors.on_primary", "White, near-black or black: the text colour that reads on the primary."),
    _v("company.colors.on_accent", "The text colour that reads on the accent one."),
    _v(
        "company.postal_address",
        "Your postal address (branding settings), its lines apart by a line break; empty when you set "
        "none. Every default e-mail prints it in its footer, as the law asks of commercial e-mail.",
    ),
)
CLIENT_VARIABLES = (
    _v("client.code", "The client's code in your system."),
    _v("client.name", "The client's name or company name."),
    _v("client.email", "The client's main e-mail address."),
    _v("client.phone", "The client's main phone number."),
    _v("client.balance", "The client's outstanding balance, formatted (e.g. $ 15.300,00)."),
)
CLIENT_NAME = (CLIENT_VARIABLES[1],)
PORTAL_LINK = _v(
    "portal_link",
    "The client's document portal: a signed link to the documents published to them, valid 30 days "
    "(docs/portal.md).",
)
SAMPLE_PORTAL_LINK = "https://pregon.example/public/portal?token=sample"
# What a manual send renders every template with (producers/sends/manual.py, ``_data``).
MANUAL_SEND_VARIABLES = frozenset(v.name for v in (*CLIENT_VARIABLES, *COMPANY_VARIABLES)) | {"portal_link"}

SAMPLE_COMPANY = {
    "name": "Cargas del Sur",
    "logo_url": None,
    "logo_width": None,
    "logo_height": None,
    "postal_address": None,
    "colors": {"primary": "#1F4E79", "accent": "#E8A33D", "on_primary": "#FFFFFF", "on_accent": "#1A1A1A"},
}
SAMPLE_CLIENT = {
    "code": "C-0042",
    "name": "Ferretería Los Andes",
    "email": "compras@losandes.example",
    "phone": "+5491159876543",
    "balance": "$ 15.300,00",
}

_TYPES: tuple[MessageType, ...] = (
    MessageType(
        key="tracking_alert",
        title="Tracking alert",
        sender_area="tracking",
        variables=(
            _v("subscriber.first_name", "First name of the person following the parcel."),
            _v("subscriber.last_name", "Last name of the person following the parcel."),
            _v("parcel.tracking_id", "The parcel's tracking id."),
            _v(
                "parcel.url",
                "The parcel on your public tracking page (its whole history): your page's URL "
                "setting (W3), else Pregón's /track/<company>.",
            ),
            _v("novelty.status_name", "The new status, with your company's name for it."),
            _v(
                "novelty.occurred_at",
                "When the status changed, company's zone and format (e.g. 2/11/2026 11:30).",
            ),
            _v("novelty.reason", "The reason, for statuses shown 'with reason' (else empty)."),
            _v("novelty.observation", "The status's observation, if any."),
            _v(
                "subscription.expires_on",
                "The last day alerts are sent (the company's format, e.g. 2/11/2026).",
            ),
            _v("unsubscribe_url", "The link that stops alerts for this parcel. Always include it."),
            *COMPANY_VARIABLES,
        ),
        sample={
            "subscriber": {"first_name": "Ana", "last_name": "García"},
            "parcel": {
                "tracking_id": "CDS-000123",
                "url": "https://pregon.example/track/cargas?tracking_id=CDS-000123",
            },
            "novelty": {
                "status_name": "En Sucursal de Destino",
                "occurred_at": _sample_moment(2, 11, 30),
                "reason": None,
                "observation": "Retirar por mostrador de 9 a 18 h.",
            },
            "subscription": {"expires_on": date(2026, 12, 2)},
            "unsubscribe_url": "https://pregon.example/public/unsubscribe?token=sample",
            "company": SAMPLE_COMPANY,
        },
    ),
    MessageType(
        key="pickup_approved",
        title="Pickup approved",
        sender_area="tracking",
        variables=(
            *CLIENT_NAME,
            _v("pickup.number", "The pickup request's number."),
            _v("pickup.branch", "The branch that approved the pickup."),
            _v("pickup.date", "The day the parcel will be picked up (the company's format, e.g. 2/11/2026)."),
            _v("parcel.tracking_id", "The tracking id of the parcel to be picked up."),
            _v(
                "parcel.url",
                "The parcel on your public tracking page, to follow it there: your page's URL setting "
                "(W3), else Pregón's `/track/<company>`.",
            ),
            _v("label_url", "Link to view and download the label."),
            *COMPANY_VARIABLES,
        ),
        sample={
            "client": SAMPLE_CLIENT,
            "pickup": {"number": "R-1187", "branch": "Sucursal Córdoba Centro", "date": date(2026, 11, 3)},
            "parcel": {
                "tracking_id": "CDS-000124",
                "url": "https://pregon.example/track/demo?tracking_id=CDS-000124",
            },
            "label_url": "https://pregon.example/labels/CDS-000124.pdf",
            "company": SAMPLE_COMPANY,
        },
    ),
    MessageType(
        key="pickups_confirmed",
        title="Pickups confirmed",
        sender_area="tracking",
        variables=(
            *CLIENT_NAME,
            _v("confirmed_count", "How many pickups were confirmed."),
            _v("confirmed", "The confirmed pickups (a list; loop over it)."),
            _v("confirmed[].tracking_id", "Each pickup's tracking id."),
            _v(
                "confirmed[].url",
                "Each pickup's parcel on your public tracking page: your page's URL setting (W3), "
                "else Pregón's `/track/<company>`.",
            ),
            _v("confirmed[].address", "Each pickup's address."),
            _v("confirmed[].date", "Each pickup's day (the company's format, e.g. 2/11/2026)."),
            *COMPANY_VARIABLES,
        ),
        sample={
            "client": SAMPLE_CLIENT,
            "confirmed_count": 2,
            "confirmed": [
                {
                    "tracking_id": "CDS-000125",
                    "url": "https://pregon.example/track/demo?tracking_id=CDS-000125",
                    "address": "Av. Colón 1234, Córdoba",
                    "date": date(2026, 11, 3),
                },
                {
                    "tracking_id": "CDS-000126",
                    "url": "https://pregon.example/track/demo?tracking_id=CDS-000126",
                    "address": "San Martín 56, Córdoba",
                    "date": date(2026, 11, 3),
                },
            ],
            "company": SAMPLE_COMPANY,
        },
    ),
    MessageType(
        key="invoice",
        title="Invoice issued",
        sender_area="invoices",
        variables=(
            *CLIENT_VARIABLES,
            _v("invoice.number", "The invoice number (e.g. A-0001-00001234)."),
            _v("invoice.issued_on", "Issue date (the company's format, e.g. 2/11/2026)."),
            _v("invoice.due_on", "Due date (the company's format, e.g. 2/11/2026)."),
            _v("invoice.total", "The invoice total, formatted (e.g. $ 12.345,67)."),
            _v(
                "attachments",
                "The names of the files the e-mail carries (a list): the invoice's PDF when the "
                "invoice-issued event brought it; empty in a manual send, which attaches nothing.",
            ),
            *COMPANY_VARIABLES,
        ),
        sample={
            "client": SAMPLE_CLIENT,
            "invoice": {
                "number": "A-0001-00001234",
                "issued_on": date(2026, 11, 2),
                "due_on": date(2026, 11, 17),
                "total": "$ 12.345,67",
            },
            "attachments": ["A-0001-00001234.pdf"],
            "company": SAMPLE_COMPANY,
        },
    ),
    MessageType(
        key="payment",
        title="Payment recorded",
        sender_area="payments",
        variables=(
            *CLIENT_VARIABLES,
            _v("payment.receipt_number", "The receipt number."),
            _v("payment.amount", "The amount paid, formatted."),
            _v(
                "payment.received_on",
                "The day the payment was recorded (the company's format, e.g. 2/11/2026).",
            ),
            _v("payment.method", "How it was paid (transfer, cash, card...)."),
            *COMPANY_VARIABLES,
        ),
        sample={
            "client": SAMPLE_CLIENT,
            "payment": {
                "receipt_number": "X-0001-00000567",
                "amount": "$ 5.000,00",
                "received_on": date(2026, 11, 2),
                "method": "Transferencia",
            },
            "company": SAMPLE_COMPANY,
        },
    ),
    MessageType(
        key="ticket",
        title="Ticket changed",
        sender_area="tickets",
        variables=(
            *CLIENT_NAME,
            _v("ticket.id", "The ticket's number."),
            _v("ticket.subject", "The ticket's subject."),
            _v("ticket.status", "Its current status."),
            _v("ticket.operator", "The person handling it."),
            _v("ticket.comment", "The latest comment for the client, if any."),
            _v("ticket.updated_at", "When it changed, company's zone and format (e.g. 2/11/2026 07:15)."),
            *COMPANY_VARIABLES,
        ),
        sample={
            "client": SAMPLE_CLIENT,
            "ticket": {
                "id": "4711",
                "subject": "Sin conexión desde ayer",
                "status": "En curso",
                "operator": "Martín Ruiz",
                "comment": "Un técnico visitará su domicilio mañana por la mañana.",
                "updated_at": _sample_moment(2, 7, 15),
            },
            "company": SAMPLE_COMPANY,
        },
    ),
    MessageType(
        key="reminder",
        title="Payment reminder",
        sender_area="reminders",
        variables=(
            *CLIENT_VARIABLES,
            _v("receivable.number", "The number of the document that is due."),
            _v("receivable.issued_on", "Its issue date, as the company's locale writes it."),
            _v("receivable.due_on", "Its due date, as the company's locale writes it (9/11/2026)."),
            _v("receivable.amount", "Its original amount, in the company's locale ($ 12.345,67)."),
            _v("receivable.balance", "What is still owed on it, in the company's locale."),
            _v("reminder.kind", "`before_due` or `after_due`."),
            _v("reminder.days", "Days before (or after) the due date, as the concept says."),
            _v("reminder.concept", "The concept's description."),
            _v("reminder.days_to_due", "Days from today (the company's day) to the due date; 0 once due."),
            _v("reminder.days_past_due", "Days since the due date; 0 before it."),
            _v("collection_agent.name", "The client's collection agent (their sender account's name)."),
            *COMPANY_VARIABLES,
        ),
        sample={
            "client": SAMPLE_CLIENT,
            "receivable": {
                "number": "A-0001-00001234",
                "issued_on": date(2026, 10, 10),
                "due_on": date(2026, 11, 9),
                "amount": "$ 12.345,67",
                "balance": "$ 12.345,67",
            },
            "reminder": {
                "kind": "before_due",
                "days": 7,
                "concept": "Recordatorio 7 días antes del vencimiento",
                "days_to_due": 7,
                "days_past_due": 0,
            },
            "collection_agent": {"name": "Marta Cobranzas"},
            "company": SAMPLE_COMPANY,
        },
    ),
    MessageType(
        key="statement",
        title="Account statement",
        sender_area="documents",
        variables=(
            *CLIENT_VARIABLES,
            _v(
                "statement.number",
                "The statement's number, as its PDF's name carries it (e.g. EC-CEDIMU-20261031).",
            ),
            _v("statement.as_of", "The statement's date (the company's format, e.g. 2/11/2026)."),
            _v("statement.balance", "The balance it shows, formatted."),
            _v("statement.comment", "Your company's comment for the statement, if any."),
            *COMPANY_VARIABLES,
        ),
        sample={
            "client": SAMPLE_CLIENT,
            "statement": {
                "number": "EC-CEDIMU-20261031",
                "as_of": date(2026, 10, 31),
                "balance": "$ 15.300,00",
                "comment": "Recuerde que aceptamos pagos por transferencia.",
            },
            "company": SAMPLE_COMPANY,
        },
    ),
    MessageType(
        key="order",
        title="Order",
        sender_area="documents",
        variables=(
            *CLIENT_VARIABLES,
            _v("order.number", "The order number."),
            _v("order.date", "The order's date (the company's format, e.g. 2/11/2026)."),
            _v("order.total", "The order total, formatted."),
            _v("order.responsible", "The user responsible for the order."),
            *COMPANY_VARIABLES,
        ),
        sample={
            "client": SAMPLE_CLIENT,
            "order": {
                "number": "P-2026-0088",
                "date": date(2026, 11, 2),
                "total": "$ 48.900,00",
                "responsible": "Laura Díaz",
            },
            "company": SAMPLE_COMPANY,
        },
    ),
    MessageType(
        key="purchase_order",
        title="Purchase order",
        sender_area="documents",
        variables=(
            _v("supplier.name", "The supplier's name."),
            _v("supplier.email", "The supplier's e-mail address."),
            _v("purchase_order.number", "The purchase order number."),
            _v("purchase_order.date", "Its date (the company's format, e.g. 2/11/2026)."),
            _v("purchase_order.total", "Its total, formatted."),
            _v("purchase_order.responsible", "The user responsible for it."),
            *COMPANY_VARIABLES,
        ),
        sample={
            "supplier": {"name": "Embalajes Rosario S.A.", "email": "ventas@embalajesrosario.example"},
            "purchase_order": {
                "number": "OC-2026-0031",
                "date": date(2026, 11, 2),
                "total": "$ 210.000,00",
                "responsible": "Laura Díaz",
            },
            "company": SAMPLE_COMPANY,
        },
    ),
)

_TYPES += (
    MessageType(
        key="portal_access",
        title="Document portal access",
        sender_area="documents",
        variables=(*CLIENT_VARIABLES, PORTAL_LINK, *COMPANY_VARIABLES),
        sample={"client": SAMPLE_CLIENT, "portal_link": SAMPLE_PORTAL_LINK, "company": SAMPLE_COMPANY},
    ),
)


def _with_portal_link(kind: MessageType) -> MessageType:
    """Every type that names a client offers ``portal_link`` too (its client's document portal)."""
    names = {v.name for v in kind.variables}
    if "portal_link" in names or not any(n.startswith("client.") for n in names):
        return kind
    return replace(
        kind,
        variables=(*kind.variables, PORTAL_LINK),
        sample={**kind.sample, "portal_link": SAMPLE_PORTAL_LINK},
    )


MESSAGE_TYPES: dict[str, MessageType] = {t.key: _with_portal_link(t) for t in _TYPES}


def custom_type(key: str) -> MessageType:
    return MessageType(
        key=key,
        title="Custom template",
        sender_area=CUSTOM_AREA,
        variables=(*CLIENT_VARIABLES, PORTAL_LINK, *COMPANY_VARIABLES),
        sample={"client": SAMPLE_CLIENT, "portal_link": SAMPLE_PORTAL_LINK, "company": SAMPLE_COMPANY},
    )


def message_type(key: str) -> MessageType:
    """The type a template key stands for; NotFound for a key that is neither a type nor custom."""
    if key in MESSAGE_TYPES:
        return MESSAGE_TYPES[key]
    if key.startswith(CUSTOM_PREFIX):
        if not CUSTOM_SLUG.match(key.removeprefix(CUSTOM_PREFIX)):
            raise ValidationFailed(
                [
                    {
                        "field": "key",
                        "message": "a custom template's key is `custom:` and 1-40 lowercase letters, "
                        "digits, '-' or '_'",
                    }
                ]
            )
        return custom_type(key)
    known = ", ".join(MESSAGE_TYPES)
    raise NotFound(f"there is no message type {key!r} (known: {known}; or custom:<name>)")


# --- a company's templates --------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateWarning:
    """Something a save or preview found worth a look, never a reason to refuse the template."""

    field: str
    code: str
    warning: str  # English; answered in the caller's language (api/error_language.py, REASONS)


def template_warnings(rendered: RenderedMessage) -> tuple[TemplateWarning, ...]:
    """What spam filters would make of ``rendered`` (a template rendered with the preview data):
    an HTML part, as it goes on the wire, with an image and at most ``IMAGE_ONLY_CHARS``
    characters scores SpamAssassin's HTML_IMAGE_ONLY rules."""
    from chalicelib.channels.email import html_document

    if not rendered.html:
        return ()
    document = html_document(rendered.html, rendered.subject)
    length = len(document)
    if length > IMAGE_ONLY_CHARS or not _IMAGE.search(_COMMENT.sub("", document)):
        return ()
    return (
        TemplateWarning(
            field="html",
            code="html_image_only",
            warning=f"with the preview data the e-mail's HTML is {length} characters and holds an image: "
            f"spam filters (SpamAssassin's HTML_IMAGE_ONLY rules) add up to 2.8 points to an e-mail with an "
            f"image and {IMAGE_ONLY_CHARS} characters of HTML or less; add text (a footer saying why the "
            "reader gets it, as the default templates have), or leave the image out",
        ),
    )


@dataclass(frozen=True)
class EffectiveTemplate:
    key: str
    title: str
    sender_area: str
    language: str
    subject: str
    text: str
    html: str
    customized: bool
    updated_at: datetime | None = None
    updated_by: str | None = None
    sms_text: str | None = None
    push_title: str | None = None
    push_body: str | None = None
    # The override's version (its ETag); 0 for the shipped default.
    version: int = 0
    # What the save that answers it found worth a look (``template_warnings``); none when read.
    warnings: tuple[TemplateWarning, ...] = ()

    @property
    def sources(self) -> tuple[str, str, str]:
        return (self.subject, self.text, self.html)

    @property
    def channel_sources(self) -> tuple[str, str, str]:
        """Its SMS text, push title and push body (empty when it has none): what SMS and push print."""
        return (self.sms_text or "", self.push_title or "", self.push_body or "")

    @property
    def has_email(self) -> bool:
        """False for a custom template saved without subject, text and html (SMS or push only)."""
        return bool(self.subject or self.text or self.html)

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels it can be sent by: all three with e-mail parts (SMS and push fall back to
        them); without them, SMS when it has an ``sms_text``, push when a title and a body."""
        return _channels(self.has_email, self.sms_text, self.push_title, self.push_body)


def _channels(
    has_email: bool, sms_text: str | None, push_title: str | None, push_body: str | None
) -> tuple[str, ...]:
    if has_email:
        return ALL_CHANNELS
    sms = ("sms",) if sms_text is not None else ()
    return sms + (("push",) if push_title is not None and push_body is not None else ())


def check_channel(template: EffectiveTemplate, channel: str) -> None:
    """Refuse (422 on ``channel``) sending a template by a channel it has no text for: an SMS-only
    custom template has no e-mail to send, nor a push."""
    if channel in template.channels:
        return
    key, channels = template.key, ", ".join(template.channels)
    raise ValidationFailed(
        [
            {
                "field": "channel",
                "message": f"the template {key} has no text for {channel}: it is sent only by {channels}",
            }
        ]
    )


@dataclass(frozen=True)
class TemplatePreview:
    """A template rendered for every channel: the e-mail parts, the SMS with its cost, the push."""

    subject: str
    text: str
    html: str
    sms_text: str
    sms_segments: int
    sms_encoding: str
    push_title: str
    push_body: str
    warnings: tuple[TemplateWarning, ...] = ()


@dataclass(frozen=True)
class TemplateSummary:
    key: str
    title: str
    sender_area: str
    customized: bool
    variables: tuple[Variable, ...]
    manual_send: bool
    updated_at: datetime | None = None
    channels: tuple[str, ...] = ALL_CHANNELS


def _company(company_id: str) -> domain.Company:
    from chalicelib.tenants.companies import get_company

    return get_company(company_id)


def _store() -> Any:
    from chalicelib.store import templates

    return templates


def list_templates(company_id: str) -> list[TemplateSummary]:
    """Every message type, then the company's custom templates, each saying whether it is overridden."""
    overrides = {t.key: t for t in _store().list_templates(company_id)}
    keys = list(MESSAGE_TYPES) + sorted(k for k in overrides if k not in MESSAGE_TYPES)
    summaries = []
    for key in keys:
        kind = message_type(key)
        override = overrides.get(key)
        summaries.append(
            TemplateSummary(
                key=key,
                title=kind.title,
                sender_area=override.sender_area if override else kind.sender_area,
                customized=override is not None,
                variables=kind.variables,
                manual_send=kind.manual_send,
                updated_at=override.updated_at if override else None,
                channels=_override_channels(override) if override else ALL_CHANNELS,
            )
        )
    return summaries


def _override_channels(override: domain.MessageTemplate) -> tuple[str, ...]:
    # An override of a message type without its own SMS/push text uses the type's default (or
    # the e-mail's), which every type has: only an e-mail-less custom template narrows this.
    has_email = bool(override.subject or override.text or override.html)
    return _channels(has_email, override.sms_text, override.push_title, override.push_body)


def sender_area_of(company_id: str, key: str) -> str:
    """The area a message type goes out from: the one the company's override chose, else the
    type's own (one read of the override; the templates themselves are not rendered)."""
    override = _store().get_template(company_id, key)
    return override.sender_area if override is not None else message_type(key).sender_area


def effective_template(company_id: str, key: str, *, language: str | None = None) -> EffectiveTemplate:
    """The company's override of ``key``, or else the shipped default in the company's language."""
    kind = message_type(key)
    override = _store().get_template(company_id, key)
    if override is not None:
        sms_text, push_title, push_body = _default_channels(key, override.language)
        return domain.record_of(
            EffectiveTemplate,
            override,
            key=key,
            title=kind.title,
            customized=True,
            sms_text=override.sms_text if override.sms_text is not None else sms_text,
            push_title=override.push_title if override.push_title is not None else push_title,
            push_body=override.push_body if override.push_body is not None else push_body,
            warnings=(),
        )
    if kind.custom:
        raise NotFound(f"there is no custom template {key!r}")
    lang = language or _company(company_id).language
    lang = lang if lang in LANGUAGES else "es"
    subject, text, html = default_template(key, lang)
    sms_text, push_title, push_body = _default_channels(key, lang)
    return EffectiveTemplate(
        key=key,
        title=kind.title,
        sender_area=kind.sender_area,
        language=lang,
        subject=subject,
        text=text,
        html=html,
        customized=False,
        sms_text=sms_text,
        push_title=push_title,
        push_body=push_body,
    )


@lru_cache(maxsize=64)
def _default_channels(key: str, language: str) -> tuple[str | None, str | None, str | None]:
    """The shipped (sms_text, push_title, push_body) of a type; None where it ships none."""
    if key.startswith(CUSTOM_PREFIX):
        return None, None, None
    folder = TEMPLATES_DIR / (language if language in LANGUAGES else "es")
    sms_file, push_file = folder / f"{key}.sms.txt", folder / f"{key}.push.txt"
    sms = sms_file.read_text(encoding="utf-8").strip() if sms_file.exists() else None
    title = body = None
    if push_file.exists():
        first, _, rest = push_file.read_text(encoding="utf-8").strip().partition("\n")
        title, body = first.strip(), rest.strip()
    return sms, title, body


def save_template(
    company_id: str,
    key: str,
    *,
    subject: str | None,
    text: str | None,
    html: str | None,
    sender_area: str | None,
    language: str | None,
    updated_by: str,
    sms_text: str | None = None,
    push_title: str | None = None,
    push_body: str | None = None,
    if_match: tuple[int, ...] | None = None,
) -> EffectiveTemplate:
    """Validate an override by rendering it with the type's sample data, then store it.

    ``sms_text``, ``push_title`` and ``push_body`` left out (None) keep the type's defaults. A
    custom template may leave out all three e-mail parts (subject, text, html) when it has an
    ``sms_text`` (or a push title and body): it is then sent only by those channels. With
    ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else saved it since."""
    from chalicelib.messaging.accounts.email import AREAS

    kind = message_type(key)
    _check_email_parts(
        kind, {"subject": subject, "text": text, "html": html}, sms_text, push_title, push_body
    )
    subject, text, html = subject or "", text or "", html or ""
    if sender_area is not None and sender_area not in AREAS:
        raise ValidationFailed([{"field": "sender_area", "message": f"must be one of {', '.join(AREAS)}"}])
    size = sum(len(part.encode("utf-8")) for part in (subject, text, html))
    if size > MAX_TEMPLATE_BYTES:
        raise ValidationFailed(
            [
                {
                    "field": "html",
                    "message": f"subject, text and html together exceed {MAX_TEMPLATE_BYTES:,} bytes",
                }
            ]
        )
    company = _company(company_id)
    rendered = render_untrusted((subject, text, html), _sample_for(kind, company))
    _check_channel_parts(
        kind, company, {"sms_text": sms_text, "push_title": push_title, "push_body": push_body}
    )
    saved = _store().save_template(
        domain.MessageTemplate(
            company_id=company_id,
            key=key,
            sender_area=sender_area or kind.sender_area,
            subject=subject,
            text=text,
            html=html,
            language=language or company.language,
            updated_at=clock.now(),
            updated_by=updated_by,
            sms_text=sms_text,
            push_title=push_title,
            push_body=push_body,
        ),
        if_match,
    )
    if not saved:
        raise edited_meanwhile("this template")
    return replace(effective_template(company_id, key), warnings=template_warnings(rendered))


def _check_email_parts(
    kind: MessageType,
    email: Mapping[str, str | None],
    sms_text: str | None,
    push_title: str | None,
    push_body: str | None,
) -> None:
    """The e-mail parts come all three, or (custom templates only) none with a text for SMS or push."""
    missing = [part for part in EMAIL_PARTS if email[part] is None]
    if not missing:
        return
    if len(missing) < len(EMAIL_PARTS):
        message = "give subject, text and html together, or leave all three out for an SMS-only template"
        raise ValidationFailed([{"field": part, "message": message} for part in missing])
    if not kind.custom:
        message = "is required: only a custom template may leave out the e-mail (subject, text and html)"
        raise ValidationFailed([{"field": part, "message": message} for part in EMAIL_PARTS])
    if not _channels(False, sms_text, push_title, push_body):
        message = (
            "is required for a template without e-mail (subject, text and html): "
            "the SMS text (or a push_title and push_body)"
        )
        raise ValidationFailed([{"field": "sms_text", "message": message}])


def _check_channel_parts(kind: MessageType, company: domain.Company, parts: Mapping[str, str | None]) -> None:
    """Every %variable% of the SMS and push parts must be one the type offers (422 naming the part)."""
    values = kind.sms_values(_sample_for(kind, company))
    errors: list[dict[str, str]] = []
    for field, source in parts.items():
        if source is None:
            continue
        try:
            render_sms(source, values, field=field)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)


def reset_template(company_id: str, key: str) -> None:
    """Remove the company's override: the type goes back to its default. A custom one is deleted."""
    kind = message_type(key)
    removed = _store().delete_template(company_id, key)
    if kind.custom and not removed:
        raise NotFound(f"there is no custom template {key!r}")


def _as_the_provider_sends(company_id: str, sms: str) -> str:
    """The SMS as the company's provider sends it: SMS Masivos gets plain ASCII (seed 002's
    provider; ``masivos_text``), so its preview shows, and counts, the text without accents (one
    GSM-7 SMS of 160 characters, not a UCS-2 one of 70); the others send it as written."""
    from chalicelib.store.sms import get_sms_settings

    settings = get_sms_settings(company_id)
    if settings is not None and settings.provider == "sms_masivos":
        from chalicelib.channels.sms import masivos_text

        return masivos_text(sms)
    return sms


def preview_template(
    company_id: str,
    key: str,
    *,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    variables: Mapping[str, Any] | None = None,
    sms_text: str | None = None,
    push_title: str | None = None,
    push_body: str | None = None,
) -> TemplatePreview:
    """Render the effective template, or unsaved edits of it, with sample data (plus ``variables``)
    for every channel; the SMS comes with its segment count."""
    kind = message_type(key)
    company = _company(company_id)
    try:
        effective: EffectiveTemplate | None = effective_template(company_id, key, language=company.language)
    except NotFound:
        if not kind.custom:
            raise
        effective = None  # a custom template being written for the first time
    base: tuple[str, str, str] = effective.sources if effective else ("", "", "")
    sources = (
        base[0] if subject is None else subject,
        base[1] if text is None else text,
        base[2] if html is None else html,
    )
    data = _merge(_sample_for(kind, company), variables or {})
    rendered = render_untrusted(sources, data)
    edits = {"sms_text": sms_text, "push_title": push_title, "push_body": push_body}
    _check_channel_parts(kind, company, edits)
    channel_parts = {
        part: edits[part] if edits[part] is not None else (getattr(effective, part) if effective else None)
        for part in CHANNEL_PARTS
    }
    sms, title, body = _render_channel_parts(kind, channel_parts, data, rendered)
    sms = _as_the_provider_sends(company_id, sms)
    return TemplatePreview(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sms_text=sms,
        sms_segments=sms_segments(sms),
        sms_encoding=sms_encoding(sms),
        push_title=title,
        push_body=body,
        warnings=template_warnings(rendered),
    )


def _render_channel_parts(
    kind: MessageType,
    parts: Mapping[str, str | None],
    variables: Mapping[str, Any],
    rendered: RenderedMessage,
) -> tuple[str, str, str]:
    """(sms, push title, push body); a part with no text of its own falls back to the e-mail's."""
    values = kind.sms_values(variables)

    def one(part: str, fallback: str) -> str:
        source = parts.get(part)
        return fallback if source is None else render_sms(source, values, field=part).strip()

    return (
        one("sms_text", rendered.text),
        one("push_title", rendered.subject),
        one("push_body", rendered.text),
    )


def sms_prints(template: EffectiveTemplate, variable: str) -> bool:
    """Whether ``template``'s own SMS text prints ``variable`` (``client.balance``), by its name
    (``%client_balance%``) or an ISPCube alias (``%deuda%``, ``%saldo%``). A template without an SMS
    text of its own sends its e-mail's plain text, which says nothing here."""
    if template.sms_text is None:
        return False
    offered = message_type(template.key).sms_variables()
    return any(
        name in offered and offered[name].name == variable for name in template_variables(template.sms_text)
    )


def render_for(
    company_id: str, key: str, variables: Mapping[str, Any]
) -> tuple[EffectiveTemplate, RenderedMessage]:
    """What a sender needs: the effective template of ``key`` rendered with real ``variables``."""
    template = effective_template(company_id, key)
    given = with_portal_link(company_id, template.sources, variables)
    return template, render_untrusted(template.sources, _with_branding(company_id, given))


def with_portal_link(
    company_id: str, sources: tuple[str, ...], variables: Mapping[str, Any]
) -> dict[str, Any]:
    """``variables`` with ``portal_link``, the client's document portal link (docs/portal.md), when
    the template's ``sources`` use it and the variables name a client (``client.code``): a link is
    signed only for the templates that print it."""
    client = variables.get("client")
    if "portal_link" in variables or not isinstance(client, Mapping) or not client.get("code"):
        return dict(variables)
    if not any(source and "portal_link" in source for source in sources):
        return dict(variables)
    from chalicelib.tenants.clients import portal_link

    return {**variables, "portal_link": portal_link(company_id, str(client["code"]))}


def _with_branding(company_id: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    """``variables`` with the company's ``logo_url`` and ``colors`` (W3) under what they give for
    ``company``: every default e-mail uses them, whoever built the variables."""
    given = variables.get("company")
    if isinstance(given, Mapping) and "colors" in given and "logo_url" in given:
        return dict(variables)
    from chalicelib.tenants.branding import company_variables

    own = company_variables(_company(company_id))
    return {**variables, "company": {**own, **(given if isinstance(given, Mapping) else {})}}


def render_channel(company_id: str, key: str, channel: str, variables: Mapping[str, Any]) -> RenderedMessage:
    """A message of type ``key`` rendered for one channel: e-mail uses the subject, text and HTML;
    SMS the template's ``sms_text`` (``text``); push its ``push_title`` (``subject``) and
    ``push_body`` (``text``). A part the template lacks falls back to the plain-text body / subject.
    A channel the template has no text for is refused (422 on ``channel``)."""
    template, rendered = render_for(company_id, key, variables)
    given = with_portal_link(company_id, template.channel_sources, variables)
    return for_channel(template, channel, given, rendered)


def for_channel(
    template: EffectiveTemplate, channel: str, variables: Mapping[str, Any], rendered: RenderedMessage
) -> RenderedMessage:
    """A template's message for ``channel``, from its e-mail parts already ``rendered`` with
    ``variables``: e-mail as it is; SMS its ``sms_text``; push its ``push_title`` and ``push_body``
    (a part the template lacks: the plain-text body / the subject). A channel the template has no
    text for (e-mail or push of an SMS-only custom template) is refused (422 on ``channel``)."""
    check_channel(template, channel)
    if channel == "email":
        return rendered
    parts = {
        "sms_text": template.sms_text,
        "push_title": template.push_title,
        "push_body": template.push_body,
    }
    sms, title, body = _render_channel_parts(message_type(template.key), parts, variables, rendered)
    if channel == "sms":
        return RenderedMessage(subject="", text=sms, html="")
    return RenderedMessage(subject=title, text=body, html="")


def _sample_for(kind: MessageType, company: domain.Company) -> dict[str, Any]:
    from chalicelib.tenants.branding import company_variables

    data = kind.sample_data(company.time_zone, company.locale)
    if "company" in data:
        data["company"] = {**data["company"], **company_variables(company)}
    return data


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for name, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(name), dict):
            merged[name] = _merge(merged[name], value)
        else:
            merged[name] = value
    return merged

"""H2, seed 004's "Enviar un mensaje": tell colleagues of a register record by e-mail.

A staff user who may see a record picks users of the company's staff directory (at most
:data:`MAX_RECIPIENTS`, each with an e-mail address) and an optional comment; each gets one e-mail
from the company's ``all`` sender account, through the outbox like every other message (its
Reply-To the address of the user who told them, when the directory has one), saying who
told them, the client, the record's type, motive, area, subject and date (in the company's time
zone and language), the comment, and a link to the record in the console. The record keeps who was
told and when (:class:`~chalicelib.core.domain.RecordNotice`).

These e-mails are the firm's own, to its staff: they are no client's (not in any client's
history or register), but they name the client and the record's subject, so each keeps the
client's code apart (``about_client``) and the client's erasure erases them with its register
(decision 0017); they are written on condition that no erasure of the client runs or ran
(``store.erasures.unerased``), as every message about one client is. They carry no
``List-Unsubscribe`` (that is a client's way out of manual and bulk sends) and they say
``Auto-Submitted: auto-generated`` (RFC 3834), as every e-mail no person wrote. A user may send
at most :data:`NOTICE_EMAILS_PER_USER` of them an hour (counted per e-mail, one per colleague
told, in ``store.rate_limits`` as the public routes' limits are: decision 0013), so the route
cannot be used to flood colleagues.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core import clock
from chalicelib.core.domain import Communication, Company, RecordNotice, StaffUser
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed
from chalicelib.store.rate_limits import Limit, count, give_back
from chalicelib.tenants.auth.principal import Principal

if TYPE_CHECKING:
    from chalicelib.messaging.outbox import OutgoingMessage

MAX_RECIPIENTS = 20
# E-mails to colleagues (one per colleague told) one user may send in an hour: a request that
# would go past it is refused whole.
NOTICE_EMAILS_PER_USER = Limit("register-notice-email", 60, 3600)
# Notices one record keeps (each names who was told and when).
MAX_NOTICES_PER_RECORD = 100
MAX_COMMENT_CHARS = 2000
MESSAGE_TYPE = "register_notice"


@dataclass(frozen=True)
class NoticeSent:
    record: Communication
    notice: RecordNotice
    messages: list[Communication]


def one_line(text: str | None) -> str:
    """A value as one line of a header (a record's subject, a name): line breaks and runs of
    white space become one space."""
    return " ".join((text or "").split())


def _address(user: StaffUser | None) -> str | None:
    """A user's directory e-mail when it is one plain address (a user saved before addresses were
    checked may hold a name, two addresses or a line break: such a value is no address here)."""
    from chalicelib.core.emails import is_email

    return user.email if user is not None and user.email and is_email(user.email) else None


def notify_colleagues(
    viewer: Principal, client_id: str, record_id: str, user_ids: Sequence[str], comment: str | None
) -> NoticeSent:
    """E-mail each of ``user_ids`` about the record (404 when ``viewer`` may not see it, as the
    register answers); 422 naming ``users`` for none, too many, or one that is not a user of the
    company with an e-mail address; 429 past the user's hourly allowance."""
    from chalicelib.messaging.outbox import enqueue
    from chalicelib.records.register import get_record
    from chalicelib.store import communications as store
    from chalicelib.tenants.companies import get_company
    from chalicelib.tenants.staff import users_as_shown, users_by_id

    record = get_record(viewer, client_id, record_id)
    wanted = list(dict.fromkeys(u.strip() for u in user_ids if u.strip()))
    if not wanted:
        raise ValidationFailed([{"field": "users", "message": "name at least one user to tell"}])
    if len(wanted) > MAX_RECIPIENTS:
        raise ValidationFailed(
            [{"field": "users", "message": f"name at most {MAX_RECIPIENTS} users at a time"}]
        )
    # each named by the handle GET /staff/colleagues gives, or by user id from a caller shown ids
    # (a level-4 user knows colleagues by handle only)
    found = users_as_shown(viewer, wanted)
    unknown = [u for u in wanted if u not in found or not found[u].active or not _address(found[u])]
    if unknown:
        raise ValidationFailed(
            [
                {
                    "field": "users",
                    "message": "not active users of the company with an e-mail address: "
                    f"{', '.join(unknown)}",
                }
            ]
        )
    # a user named twice (by id and by handle) is told once; the record keeps user ids
    recipients = list({found[u].user_id: found[u] for u in wanted}.values())
    _check_readers(record, {u: found[u] for u in wanted})
    if len(record.notices) >= MAX_NOTICES_PER_RECORD:
        raise Conflict(
            f"a record keeps at most {MAX_NOTICES_PER_RECORD} notices to colleagues", field="record_id"
        )
    limit = NOTICE_EMAILS_PER_USER
    counter = count(
        viewer.company_id,
        limit,
        viewer.subject,
        f"telling {len(recipients)} more users would pass this user's allowance of {limit.count} "
        "e-mails to colleagues an hour",
        field="users",
        hits=len(recipients),
    )
    company = get_company(viewer.company_id)
    sender = users_by_id(viewer.company_id, [viewer.subject]).get(viewer.subject)
    said = (comment or "").strip() or None
    messages = [_message(company, record, sender, viewer, user, said) for user in recipients]
    # Written on condition that no erasure of the client started since the record was read, nor
    # ended: the erasure finds the notices (``about_client``), or they are not sent
    from chalicelib.tenants.clients import unless_erased

    try:
        with unless_erased(viewer.company_id, record.client_id, gone_not_found=True) as checks:
            written = enqueue(viewer.company_id, messages, checks=checks)
    except (ValidationFailed, NotFound):
        give_back(counter, len(recipients))  # none was written: the hour keeps the e-mails
        raise
    notice = RecordNotice(at=clock.now(), by=viewer.subject, users=tuple(u.user_id for u in recipients))
    store.append_notice(viewer.company_id, record.communication_id, notice, at_most=MAX_NOTICES_PER_RECORD)
    return NoticeSent(record, notice, written)


def _check_readers(record: Communication, named: dict[str, StaffUser]) -> None:
    """Refuse, naming ``users``, to tell anyone who may not open the record (the register's one
    rule, ``may_read_record``): they would get its subject by e-mail and a 404 at its link. Each
    is named as the caller named them (a level-4 caller knows colleagues by handle only)."""
    from chalicelib.records.register import as_reader, may_read_record, may_see_private

    barred = [
        (f"{one_line(u.name)} ({n})" if u.name else n, as_reader(u))
        for n, u in named.items()
        if not may_read_record(as_reader(u), record)
    ]
    private = [who for who, reader in barred if not may_see_private(reader, record)]
    own_only = [who for who, _ in barred if who not in private]
    errors = []
    if private:
        errors.append(
            {
                "field": "users",
                "message": "this record is from a private mailbox, which only its owner and "
                f"level-1 users see, so they could not open it: {', '.join(private)}",
            }
        )
    if own_only:
        errors.append(
            {
                "field": "users",
                "message": "level-4 users see only the records they created, so they could not open "
                f"this one: {', '.join(own_only)}",
            }
        )
    if errors:
        raise ValidationFailed(errors)


_TEXTS = {
    "es": {
        "subject": "{who} te avisa de una comunicación con {client}: {topic}",
        "opening": "{who} te avisa de esta comunicación del registro de {client}:",
        "client": "Cliente",
        "date": "Fecha",
        "type": "Tipo",
        "motive": "Motivo",
        "area": "Área",
        "topic": "Asunto",
        "comment": "Comentario",
        "link": "Ver el registro en la consola",
        "closing": "Pregón envía este aviso de parte de {who}, de {company}.",
    },
    "en": {
        "subject": "{who} tells you of a communication with {client}: {topic}",
        "opening": "{who} tells you of this communication in {client}'s register:",
        "client": "Client",
        "date": "Date",
        "type": "Type",
        "motive": "Motive",
        "area": "Area",
        "topic": "Subject",
        "comment": "Comment",
        "link": "See the record in the console",
        "closing": "Pregón sends this notice on behalf of {who}, of {company}.",
    },
}


def _message(
    company: Company,
    record: Communication,
    sender: StaffUser | None,
    viewer: Principal,
    user: StaffUser,
    comment: str | None,
) -> OutgoingMessage:
    from chalicelib.channels.email import html_document
    from chalicelib.core.links import AUTO_SUBMITTED
    from chalicelib.core.localization import show_datetime
    from chalicelib.messaging.outbox import OutgoingMessage
    from chalicelib.records.exports import word
    from chalicelib.records.register import lookup_name, record_link
    from chalicelib.tenants.clients import get_client

    texts = _TEXTS.get(company.language, _TEXTS["es"])
    client = get_client(company.company_id, record.client_id or "")
    who = one_line((sender.name if sender else None) or viewer.name or viewer.subject)

    client_name = one_line(f"{client.name} ({client.client_id})")
    topic = one_line(record.subject) or "—"
    when = show_datetime(record.created_at, company.time_zone, company.locale)
    rows = [
        (texts["client"], client_name),
        (texts["date"], f"{when} ({company.time_zone})"),
        (texts["type"], word(record.record_type or record.channel, company.language)),
        (texts["motive"], lookup_name(company.company_id, "motive", record.motive)),
        (texts["area"], lookup_name(company.company_id, "area", record.area)),
        (texts["topic"], record.subject),
    ]
    shown = [(k, v) for k, v in rows if v]
    link = record_link(record.client_id or "", record.communication_id)
    values = {"who": who, "client": client_name, "topic": topic, "company": one_line(company.name)}
    text = "\n".join(
        [
            texts["opening"].format(**values),
            "",
            *(f"{k}: {v}" for k, v in shown),
            *(["", f"{texts['comment']}:", comment] if comment else []),
            "",
            f"{texts['link']}: {link}",
            "",
            texts["closing"].format(**values),
        ]
    )
    e = html.escape
    body = "".join(
        [
            f"<p>{e(texts['opening'].format(**values))}</p>",
            "<table>",
            *(f"<tr><th align='left'>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in shown),
            "</table>",
            (
                f"<p><strong>{e(texts['comment'])}:</strong></p>"
                f"<p style='white-space:pre-wrap'>{e(comment)}</p>"
                if comment
                else ""
            ),
            f'<p><a href="{e(link)}">{e(texts["link"])}</a></p>',
            f"<p>{e(texts['closing'].format(**values))}</p>",
        ]
    )
    subject = one_line(texts["subject"].format(**values))
    return OutgoingMessage(
        channel="email",
        to_address=_address(user) or "",
        to_name=one_line(user.name) or None,
        subject=subject,
        text=text,
        html=html_document(body, subject, company.language if company.language in _TEXTS else "es"),
        message_type=MESSAGE_TYPE,
        kind="automatic",
        area="all",
        cause=f"register-notice:{record.client_id}/{record.communication_id}",
        about_client=record.client_id,
        created_by=viewer.subject,
        # a colleague's answer goes to whoever told them, as the seed's Outlook message did
        reply_to=_address(sender),
        headers={"Auto-Submitted": AUTO_SUBMITTED},
    )

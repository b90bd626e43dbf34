"""Issue 14: a tracking alert's e-mail item is under 1 KB once sent (one write unit a write, two
in a transaction): its List-Unsubscribe, List-Unsubscribe-Post and Auto-Submitted are made again
from the message's ``alert_ref`` and a short marker, the unsubscribe link is left out of the
stored body, and the body is compressed with a dictionary that knows the tracking alert. What the
history shows and what the SMTP server received is what the message had."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.aws import stored_size
from tests.steps.mail import html_of, text_of
from tests.steps.outbox import deliver_outboxes, queue_email
from tests.steps.tenants import Tenant
from tests.steps.tracking import issue, post_event, staff_subscribe, sweep


def raw_item(tenant: Tenant, communication_id: str) -> dict[str, Any]:
    import boto3

    from chalicelib.store.models import CommunicationModel

    return boto3.client("dynamodb").get_item(
        TableName=CommunicationModel.Meta.table_name,
        Key={"company_id": {"S": tenant.company_id}, "communication_id": {"S": communication_id}},
        ConsistentRead=True,
    )["Item"]


def header_line(raw: bytes, name: bytes) -> str:
    [line] = [ln for ln in raw.split(b"\r\n") if ln.lower().startswith(name.lower() + b":")]
    return line.split(b": ", 1)[1].decode()


def lines(text: str) -> list[str]:
    """A body's lines, whatever line ending the wire gave them."""
    return text.replace("\r\n", "\n").rstrip("\n").split("\n")


def test_a_swept_alert_is_kept_under_1_kb_and_shown_and_sent_with_every_header_and_its_link(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a parcel followed by someone with a long name, and a novelty with a reason
    issue(api, tenant, "TRK-LEAN-1")
    staff_subscribe(
        api, tenant, "TRK-LEAN-1", "ana.garcia.fernandez@example.com", last_name="García Fernández"
    )
    post_event(api, tenant, "TRK-LEAN-1", "ev-1", "OUT_FOR_DELIVERY", minutes=1, observation="Portería")
    # When the sweep e-mails it
    assert sweep(tenant).sent == 1
    [mail] = mailbox.wait_for(1)
    raw = mailbox.files()[0].read_bytes()
    link = header_line(raw, b"List-Unsubscribe")[1:-1]
    # Then the e-mail carries its subscription's one-click unsubscribe, in the headers and the body
    assert "/public/unsubscribe?token=" in link
    assert header_line(raw, b"List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert header_line(raw, b"Auto-Submitted") == "auto-generated"
    assert link in text_of(mail) and link in html_of(mail)
    # And the history shows the headers, the Message-ID and the bodies that went on the wire
    [entry] = body(api.http.get("/history/email", headers=tenant.staff_headers()))["items"]
    shown = body(api.http.get(f"/history/email/{entry['communication_id']}", headers=tenant.staff_headers()))
    assert list(shown["headers"].items())[:3] == [
        ("List-Unsubscribe", f"<{link}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Auto-Submitted", "auto-generated"),
    ]
    assert shown["headers"]["References"] == header_line(raw, b"References")
    assert lines(shown["text"]) == lines(text_of(mail)) and lines(shown["html"]) == lines(html_of(mail))
    # And the item DynamoDB keeps of it, sent, is under 1 KB, without the link
    item = raw_item(tenant, entry["communication_id"])
    assert item["state"] == {"S": "sent"}
    assert stored_size(item) < 1024, stored_size(item)
    assert "headers" not in item and link.rpartition("=")[2].encode() not in item["body_z"]["B"]
    # And the unsubscribe link it shows works: the follower gets nothing more
    assert api.http.post(link.removeprefix("https://pregon.test")).status_code == 200
    post_event(api, tenant, "TRK-LEAN-1", "ev-2", "DELIVERED", minutes=5)
    assert sweep(tenant).sent == 0


def queue(tenant: Tenant, **fields: Any) -> Any:
    return queue_email(
        tenant,
        **(
            {"subject": "Aviso", "text": "", "message_type": "tracking_alert", "alert_type": "tracking"}
            | fields
        ),
    )


def follower(nonce: str | None) -> Any:
    from datetime import datetime, timezone

    from chalicelib.core.domain import Follower

    expires = datetime(2026, 12, 1, tzinfo=timezone.utc)
    return Follower("ab12cd34ef", "ana@example.com", "Ana", "García", expires, link_nonce=nonce)


def test_what_cannot_be_made_again_exactly_is_kept_as_it_was(tenant: Tenant, mailbox: MailCatcher) -> None:
    from chalicelib.producers.tracking.subscriptions import alert_headers, unsubscribe_url
    from chalicelib.store import communications as store

    ref = f"{tenant.company_id}#TRK-9|ev-1#ab12cd34ef"
    made = alert_headers(tenant.company_id, "TRK-9", follower("n0nce-_9"))
    link = unsubscribe_url(tenant.company_id, "TRK-9", follower("n0nce-_9"))
    long_text = "Novedad de su envío. " * 20
    cases = {
        # the headers of another parcel's subscription: not those the alert_ref names
        "other parcel": queue(
            tenant,
            alert_ref=f"{tenant.company_id}#TRK-8|ev-1#ab12cd34ef",
            headers=made,
            text=f"{long_text}{link}",
        ),
        # a header of its own before them: the order must stay
        "own header first": queue(tenant, alert_ref=ref, headers={"X-Campaña": "sí"} | made, text=long_text),
        # a body that holds the character the link is kept as
        "body with NUL": queue(tenant, alert_ref=ref, headers=made, text=f"{long_text}\x00{link}"),
        # a legacy subscription with no nonce: made again too
        "no nonce": queue(
            tenant,
            alert_ref=ref,
            headers=alert_headers(tenant.company_id, "TRK-9", follower(None)),
            text=f"{long_text}{unsubscribe_url(tenant.company_id, 'TRK-9', follower(None))}",
        ),
        # what the sweep writes: made again, link left out of the body
        "the sweep's": queue(
            tenant, alert_ref=ref, headers=made, text=f"{long_text}{link}", html=f"<a href='{link}'>"
        ),
    }
    # When they are read back and sent
    read = {name: store.get(tenant.company_id, comm.communication_id) for name, comm in cases.items()}
    assert deliver_outboxes()["sent"] == len(cases)
    wire = {
        f.read_bytes().split(b"X-Pregon-Message: ")[1][:24].decode(): f.read_bytes() for f in mailbox.files()
    }
    # Then every record has its headers and body as given, and each went on the wire so
    for name, comm in cases.items():
        record = read[name]
        assert record is not None, name
        assert record.headers == comm.headers, name
        assert (record.text, record.html) == (comm.text, comm.html), name
        raw = wire[comm.communication_id]
        assert header_line(raw, b"List-Unsubscribe") == comm.headers["List-Unsubscribe"], name
    # And only the exact ones were left out of the item
    kept = {name: "headers" in raw_item(tenant, comm.communication_id) for name, comm in cases.items()}
    assert kept == {
        "other parcel": True,
        "own header first": True,
        "body with NUL": False,
        "no nonce": False,
        "the sweep's": False,
    }


def test_an_alert_written_with_its_x_pregon_alert_reads_back_so_and_its_resend_names_no_alert(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.producers.tracking.subscriptions import alert_headers, unsubscribe_url
    from chalicelib.store import communications as store

    # Given an alert as the sweep wrote it before it stopped naming alerts: its headers end with
    # X-Pregon-Alert (the parcel, the carrier's event id, the subscription id), kept in the item
    ref = f"{tenant.company_id}#TRK-9|ev-1#ab12cd34ef"
    named = {"X-Pregon-Alert": "TRK-9/ev-1#ab12cd34ef"}
    made = alert_headers(tenant.company_id, "TRK-9", follower("n0nce-_9"))
    link = unsubscribe_url(tenant.company_id, "TRK-9", follower("n0nce-_9"))
    old = queue(tenant, alert_ref=ref, headers=made | named, text=f"{'Novedad. ' * 40}{link}")
    # and one as the sweep wrote it since session 6, its header made only when it was sent
    lean = queue(tenant, alert_ref=ref, headers=made, text=f"{'Novedad. ' * 40}{link}")
    assert raw_item(tenant, old.communication_id)["headers"]["M"] == {
        "X-Pregon-Alert": {"S": named["X-Pregon-Alert"]}
    }
    assert "headers" not in raw_item(tenant, lean.communication_id)
    # When they are sent, and their history entries read
    assert deliver_outboxes()["sent"] == 2
    wire = {
        f.read_bytes().split(b"X-Pregon-Message: ")[1][:24].decode(): f.read_bytes() for f in mailbox.files()
    }

    def shown(comm: Any) -> dict[str, str]:
        """The headers the history shows, but the References the outbox adds to every e-mail."""
        path = f"/history/email/{comm.communication_id}"
        headers = body(api.http.get(path, headers=tenant.staff_headers()))["headers"]
        return {name: value for name, value in headers.items() if name != "References"}

    # Then each record shows the headers its e-mail carried: the old one its X-Pregon-Alert (it
    # carries what it was written with), the lean one none, as no e-mail made from now on does
    assert shown(old) == made | named
    assert header_line(wire[old.communication_id], b"X-Pregon-Alert") == named["X-Pregon-Alert"]
    assert shown(lean) == made and b"X-Pregon-Alert" not in wire[lean.communication_id]
    # When staff resend both
    ids = [old.communication_id, lean.communication_id]
    resent = api.http.post("/history/resend", headers=tenant.staff_headers(), body=json.dumps({"ids": ids}))
    assert resent.status_code == 202, resent.body
    assert deliver_outboxes()["sent"] == 2
    # Then neither resend names the alert, on the wire or in its record, and each keeps its
    # subscription's one-click unsubscribe
    again = [f.read_bytes() for f in mailbox.files()[2:]]
    assert len(again) == 2 and all(b"X-Pregon-Alert" not in raw and b"ab12cd34ef" not in raw for raw in again)
    assert all(header_line(raw, b"List-Unsubscribe") == made["List-Unsubscribe"] for raw in again)
    for item in body(resent)["items"]:
        assert "X-Pregon-Alert" not in shown(store.get(tenant.company_id, item["communication_id"]))
    # And the old record still shows what its e-mail carried
    assert shown(old) == made | named

"""One way into the outbox (issue 9, point 3): whatever produces a message, it is written the same
way, its account resolved and a body too large for a DynamoDB item kept in S3."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.hostile_mail import company_files
from tests.steps.tenants import Tenant
from tests.steps.tracking import issue, post_event, subscribe, sweep

# A paragraph of terms with accents and a dash: about 60 bytes of UTF-8 for 54 characters.
TERMS = "Términos: envíos, devoluciones y reclamos — Córdoba. "
REPEAT = 3500  # ~210 kB of text and as much HTML: together over DynamoDB's 400 kB per item


def terms_in_every_alert(api: Client, tenant: Tenant) -> None:
    """The company's tracking alert carries its whole terms of service, in text and HTML."""
    saved = api.http.put(
        "/templates/tracking_alert",
        headers=tenant.admin_headers(),
        body=json.dumps(
            {
                "subject": "{{ parcel.tracking_id }}: {{ novelty.status_name }}",
                "text": "Hola {{ subscriber.first_name }}, su envío está {{ novelty.status_name }}.\n"
                f"{{{{ {TERMS!r} * {REPEAT} }}}}",
                "html": f"<p>Hola {{{{ subscriber.first_name }}}}</p><p>{{{{ {TERMS!r} * {REPEAT} }}}}</p>",
            }
        ),
    )
    assert saved.status_code == 200, saved.body


def test_a_tracking_alert_larger_than_an_item_holds_is_delivered_whole_from_s3(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.outbox import INLINE_BODY_LIMIT, message_body
    from chalicelib.store import communications

    # Given a company whose tracking alert carries its whole terms of service, in text and HTML
    terms_in_every_alert(api, tenant)
    issue(api, tenant, "TRK-400")
    subscribe(api, tenant, "TRK-400", "ana@example.com")
    post_event(api, tenant, "TRK-400", "ev-1", "DELIVERED", minutes=1)

    # When the tracking sweep queues the alert and the outbox delivers it
    assert sweep(tenant).sent == 1

    # Then the e-mail arrives with the whole text and the whole HTML
    [mail] = mailbox.wait_for(1)
    text_part, html_part = mail.get_body(preferencelist=("plain",)), mail.get_body(preferencelist=("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert text.rstrip("\n") == "Hola Ana, su envío está Entregado.\n" + TERMS * REPEAT
    # (the company's HTML, a fragment, inside the whole document every e-mail is: docs/web.md)
    fragment = "<p>Hola Ana</p><p>" + TERMS * REPEAT + "</p>"
    assert html.startswith("<!DOCTYPE html>") and f"<body>\n{fragment}\n</body>" in html
    assert len(text.encode()) + len(html.encode()) > 400_000 > INLINE_BODY_LIMIT
    # And its outbox item keeps a pointer to the body in S3, not the body
    stored = communications.get(tenant.company_id, mail["X-Pregon-Message"])
    assert stored is not None and stored.state == "sent"
    assert stored.body_key is not None and stored.text is None and stored.html is None
    assert message_body(stored) == (text.rstrip("\n"), fragment)


def test_a_large_alert_whose_claim_lost_leaves_no_body_in_s3(
    api: Client, tenant: Tenant, mailbox: MailCatcher, monkeypatch: Any
) -> None:
    from chalicelib.store import communications
    from chalicelib.store import tracking as store

    # Given a followed parcel whose alerts are too large for an item
    terms_in_every_alert(api, tenant)
    issue(api, tenant, "TRK-410")
    subscribe(api, tenant, "TRK-410", "ana@example.com")
    post_event(api, tenant, "TRK-410", "ev-1", "IN_TRANSIT", minutes=1)
    # When a novelty is posted while the sweep is between rendering the alert and claiming it
    real = store.claim_many_pending_alerts

    def interleaved(claims: Any, now: Any) -> Any:
        monkeypatch.setattr(store, "claim_many_pending_alerts", real)
        post_event(api, tenant, "TRK-410", "ev-2", "DELIVERED", minutes=2)
        return real(claims, now)

    monkeypatch.setattr(store, "claim_many_pending_alerts", interleaved)
    # Then that sweep's claim loses and sends nothing, and the body it had put in S3 is gone
    assert sweep(tenant).sent == 0
    assert company_files(tenant.company_id, "bodies") == []
    # And the next sweep sends "delivered", whose body is the one file left
    assert sweep(tenant).sent == 1
    [mail] = mailbox.wait_for(1)
    stored = communications.get(tenant.company_id, mail["X-Pregon-Message"])
    assert stored is not None and company_files(tenant.company_id, "bodies") == [stored.body_key]

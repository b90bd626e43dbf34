"""One way into the outbox (issue 9, point 3): whatever produces a message, it is written the same
way, its account resolved and a body too large for a DynamoDB item kept in S3."""

from __future__ import annotations

import json

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.tenants import Tenant
from tests.steps.tracking import issue, post_event, subscribe, sweep

# A paragraph of terms with accents and a dash: about 60 bytes of UTF-8 for 54 characters.
TERMS = "Términos: envíos, devoluciones y reclamos — Córdoba. "
REPEAT = 3500  # ~210 kB of text and as much HTML: together over DynamoDB's 400 kB per item


def test_a_tracking_alert_larger_than_an_item_holds_is_delivered_whole_from_s3(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.outbox import INLINE_BODY_LIMIT, message_body
    from chalicelib.store import communications

    # Given a company whose tracking alert carries its whole terms of service, in text and HTML
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
    assert html.rstrip("\n") == "<p>Hola Ana</p><p>" + TERMS * REPEAT + "</p>"
    assert len(text.encode()) + len(html.encode()) > 400_000 > INLINE_BODY_LIMIT
    # And its outbox item keeps a pointer to the body in S3, not the body
    stored = communications.get(tenant.company_id, mail["X-Pregon-Message"])
    assert stored is not None and stored.state == "sent"
    assert stored.body_key is not None and stored.text is None and stored.html is None
    assert message_body(stored) == (text.rstrip("\n"), html.rstrip("\n"))

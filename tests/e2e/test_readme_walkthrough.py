"""The README's walkthrough, done the way a newcomer does it: start the stack with the README's
command, then issue a parcel, post two events, subscribe, wait for the sweep, read the e-mail; and
the AWS loops: answer an e-mail through the inbound SMTP port, bounce off SES's simulator, text
"SALDO" from the local phone."""

from __future__ import annotations

import re
import smtplib
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import requests

from tests.steps.stack import RunningStack

pytestmark = pytest.mark.e2e


# Two stack starts and three sweeps a minute apart: 274 s measured alone on a loaded 2-core machine,
# too close to the suite's 300 s default.
@pytest.mark.timeout(600)
def test_readme_walkthrough_delivers_one_email_and_survives_a_restart(stack: RunningStack) -> None:
    # Given the whole service started with the README's first command
    banner = stack.start()
    key = {"Authorization": f"ApiKey {banner['api_key']}"}
    admin = {"Authorization": f"Bearer {banner['admin_token']}"}
    now = datetime.now(UTC).replace(microsecond=0)
    # When the carrier issues a parcel and posts two status events
    parcel = requests.post(
        f"{stack.api}/parcels",
        headers=key,
        timeout=10,
        json={"tracking_id": "DEMO-001", "client_id": "CLI-7", "waybill_issued": True},
    )
    assert parcel.status_code == 201, parcel.text
    for event_id, status in (("ev-1", "IN_TRANSIT"), ("ev-2", "OUT_FOR_DELIVERY")):
        posted = requests.post(
            f"{stack.api}/parcels/DEMO-001/events",
            headers=key,
            timeout=10,
            json={
                "event_id": event_id,
                "status": status,
                "occurred_at": now.isoformat(),
                "branch": "Córdoba",
            },
        )
        assert posted.status_code == 201, posted.text
        # one second later each (a replace(second=...) wrapped at :59 and made the second event older)
        now += timedelta(seconds=1)
    # And the end customer looks it up and subscribes
    public: Any = requests.get(f"{stack.api}/public/demo/parcels/DEMO-001", timeout=10).json()
    assert public["alerts_available"] is True and len(public["history"]) == 2
    # (the same on the company's tracking page, as the README says to open it in a browser)
    page = requests.get(f"{stack.api}/track/demo?tracking_id=DEMO-001", timeout=10)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    assert page.text.count('<li><div class="status">') == 2 and 'name="email"' in page.text
    subscribed = requests.post(
        f"{stack.api}/public/demo/parcels/DEMO-001/subscriptions",
        timeout=10,
        json={"first_name": "Lucía", "last_name": "Pérez", "email": "lucia@example.com"},
    )
    assert subscribed.status_code == 202, subscribed.text
    assert subscribed.json()["status"] == "confirmation_sent"
    # Then a confirmation e-mail arrives first, listed by the mail command
    deadline = time.monotonic() + 150
    listing = ""
    while time.monotonic() < deadline and "lucia@example.com" not in listing:
        time.sleep(3)
        listing = stack.cli("mail")
    assert "lucia@example.com" in listing, "".join(stack.output[-40:])
    asked = stack.cli("mail", "--show", "1")
    link = re.search(r"https?://[^/\s]+(/public/subscriptions/confirm\?token=[\w.\-]+)", asked)
    assert link, asked
    # When she opens its link (a page with a button; opening it changes nothing) and presses the button
    page = requests.get(f"{stack.api}{link.group(1)}", timeout=10)
    assert page.status_code == 200 and 'method="post"' in page.text, page.text
    confirmed = requests.post(f"{stack.api}{link.group(1)}", timeout=10, headers={"Accept": "text/html"})
    assert confirmed.status_code == 200 and "DEMO-001" in confirmed.text, confirmed.text
    # Then within about a minute the scheduler's sweep delivers one alert, listed by the mail command
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and len(re.findall(r"lucia@example\.com", listing)) < 2:
        time.sleep(3)
        listing = stack.cli("mail")
    assert len(re.findall(r"lucia@example\.com", listing)) == 2, "".join(stack.output[-40:])
    shown = stack.cli("mail", "--show", "2")
    assert "En distribución" in shown and "DEMO-001" in shown and "/public/unsubscribe?token=" in shown
    # And the admin sees the alert and the monitor's count
    alerts = requests.get(f"{stack.api}/parcels/DEMO-001/alerts", headers=admin, timeout=10).json()["items"]
    assert [a["state"] for a in alerts] == ["sent"]
    monitor = requests.get(f"{stack.api}/alerts", headers=admin, timeout=10).json()["items"]
    assert monitor[0]["frequency_minutes"] == 1 and monitor[0]["sent_count"] >= 1
    # When the ERP pushes a client, turns its reminders on and pushes a receivable due in 3 days
    # (its 7-days-before reminder is due: a missed day catches up), as the README's step 5 does
    client = requests.put(
        f"{stack.api}/clients/CLI-1",
        headers=key,
        timeout=10,
        json={"name": "Ana García", "emails": ["ana@example.com"]},
    )
    assert client.status_code == 200, client.text
    settings = requests.put(
        f"{stack.api}/clients/CLI-1/reminders", headers=key, timeout=10, json={"active": True}
    )
    assert settings.status_code == 200 and settings.json()["before_due_concept"] == "before-7", settings.text
    due = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    receivable = {
        "document_number": "A-0001-00000042",
        "client_id": "CLI-1",
        "issued_on": "2026-11-01",
        "due_on": due,
        "amount": "12345.67",
        "balance": "12345.67",
        "currency": "ARS",
    }
    pushed = requests.post(
        f"{stack.api}/receivables", headers=key, timeout=10, json={"receivables": [receivable]}
    )
    assert pushed.status_code == 200, pushed.text
    # Then the preview names it, sending nothing; the administrator runs today's reminders; it arrives
    preview = requests.get(f"{stack.api}/reminders/preview", headers=admin, timeout=10).json()
    assert [(i["document_number"], i["to"]) for i in preview["items"]] == [
        ("A-0001-00000042", ["ana@example.com"])
    ]
    ran = requests.post(f"{stack.api}/reminders/run", headers=admin, timeout=10).json()
    assert ran["reminders"] == 1, ran
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and "ana@example.com" not in listing:
        time.sleep(3)
        listing = stack.cli("mail")
    assert "ana@example.com" in listing and "A-0001-00000042" in listing, "".join(stack.output[-40:])
    again_run = requests.post(f"{stack.api}/reminders/run", headers=admin, timeout=10).json()
    assert again_run["reminders"] == 0
    # And the administrator registers a sending domain, as docs/deliverability.md shows (moto's SES
    # verifies it at once)
    domain = requests.post(
        f"{stack.api}/sender-domains", headers=admin, timeout=30, json={"domain": "avisos.example.com"}
    )
    assert domain.status_code == 201 and domain.json()["verified"] is True, domain.text
    # When the stack is stopped and started again
    assert stack.stop() == 0
    restarted_at = len(stack.output)
    again = stack.start()
    # Then nothing is lost: same credentials, the parcel and its subscriber are still there
    assert again["api_key"] == banner["api_key"]
    key = {"Authorization": f"ApiKey {again['api_key']}"}
    history = requests.get(f"{stack.api}/parcels/DEMO-001", headers=key, timeout=10).json()["history"]
    assert [h["event_id"] for h in history] == ["ev-1", "ev-2"]
    admin = {"Authorization": f"Bearer {again['admin_token']}"}
    subs = requests.get(f"{stack.api}/parcels/DEMO-001/subscriptions", headers=admin, timeout=10).json()
    assert [s["email"] for s in subs["items"]] == ["lucia@example.com"]
    # And the sender password stored before the restart still decrypts: a new novelty is delivered
    requests.post(
        f"{stack.api}/parcels/DEMO-001/events",
        headers=key,
        timeout=10,
        json={"event_id": "ev-3", "status": "DELIVERED", "occurred_at": datetime.now(UTC).isoformat()},
    )
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and "Entregado" not in listing:
        time.sleep(3)
        listing = stack.cli("mail")
    assert "Entregado" in listing, "".join(stack.output[-40:])
    # And the sending domain is still verified once the hourly domain check ran at the start, which
    # found nothing that stopped verifying
    _wait_for(
        lambda: any("ran check_sending_domains" in line for line in stack.output[restarted_at:]),
        "the domain check after the restart",
        stack,
    )
    shown = requests.get(f"{stack.api}/sender-domains/avisos.example.com", headers=admin, timeout=30).json()
    assert shown["verified"] is True and shown["lapses_at"] is None, shown
    warned = [line for line in stack.output[restarted_at:] if "stopped verifying" in line]
    assert warned == [] and not any(
        "sending domain notice sent" in line for line in stack.output[restarted_at:]
    )
    # And the commands a developer runs beside it find its ports (not the defaults) with no flags
    assert f"AWS_ENDPOINT_URL_DYNAMODB='http://127.0.0.1:{stack.ports['dynamodb']}'" in stack.command(
        "infrastructure.local.stack", "env"
    )
    assert "demo" in stack.command("infrastructure.ops", "company", "list")
    sent = stack.command("infrastructure.local.sendjob", "--template", "invoice", "--clients", "CLI-1")
    assert "sent to one client: ana@example.com" in sent, sent
    assert stack.stop() == 0


def _wait_for(check: Any, what: str, stack: RunningStack, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s:\n" + "".join(stack.output[-40:]))


def test_readme_walkthrough_closes_the_aws_loops(stack: RunningStack) -> None:
    # Given the stack started with the README's command, and its banner's inbound SMTP line
    banner = stack.start()
    assert any(line.startswith(" Inbound SMTP ") for line in stack.output), "".join(stack.output[-30:])
    key = {"Authorization": f"ApiKey {banner['api_key']}"}
    admin = {"Authorization": f"Bearer {banner['admin_token']}"}
    # And a client with an e-mail, a mobile and a balance, who gets a ticket update by e-mail
    client = {"name": "Ana García", "emails": ["ana@example.com"], "phones": ["011 15-5987-6543"]}
    saved = requests.put(
        f"{stack.api}/clients/CLI-1", headers=key, json=client | {"balance": "15300.50"}, timeout=10
    )
    assert saved.status_code == 200, saved.text
    ticket = {"id": "4711", "subject": "Sin conexión", "status": "En curso", "operator": "Martín Ruiz"}
    event = {"event_id": "t-1", "client_id": "CLI-1", "notify_client": True, "ticket": ticket}
    sent = requests.post(f"{stack.api}/events/ticket-changed", headers=key, json=event, timeout=10)
    assert sent.status_code in (200, 201, 202), sent.text
    _wait_for(lambda: "ana@example.com" in stack.cli("mail"), "the ticket e-mail", stack)
    shown = stack.cli("mail", "--show", "1")
    reply_to = re.search(r"^Reply-To: (\S+)$", shown, re.MULTILINE)
    assert reply_to, shown

    # When Ana answers it with smtplib, to its Reply-To, through the inbound SMTP port
    answer = EmailMessage()
    answer["From"], answer["To"], answer["Subject"] = (
        "Ana García <ana@example.com>",
        reply_to.group(1),
        "Re: caso",
    )
    answer.set_content("Sigo sin conexión.")
    with smtplib.SMTP("127.0.0.1", stack.ports["inbound_smtp"], timeout=10) as smtp:
        smtp.send_message(answer)

    # Then within seconds it is in her register, threaded to the ticket e-mail
    def answered() -> list[Any]:
        items = requests.get(f"{stack.api}/clients/CLI-1/register", headers=admin, timeout=10).json()["items"]
        return [i for i in items if i["direction"] == "in" and i["subject"] == "Re: caso"]

    [received] = _wait_for(answered, "the reply in the register", stack)
    detail = requests.get(
        f"{stack.api}/inbound/{received['communication_id']}", headers=admin, timeout=10
    ).json()
    assert detail["in_reply_to"] == sent.json()["messages"][0]["communication_id"]

    # When the tickets area sends through SES, and a client's address is SES's bounce simulator
    ses_account = {"kind": "ses", "display_name": "Demo Soporte", "from_address": "soporte@demo.example"}
    account = requests.put(
        f"{stack.api}/sender-accounts/tickets",
        headers=admin,
        json=ses_account | {"ses_identity": "demo.example"},
        timeout=10,
    )
    assert account.status_code == 200, account.text
    bouncing = {"name": "Rebote SA", "emails": ["bounce@simulator.amazonses.com"]}
    assert (
        requests.put(f"{stack.api}/clients/CLI-9", headers=key, json=bouncing, timeout=10).status_code == 200
    )
    event = {
        "event_id": "t-2",
        "client_id": "CLI-9",
        "notify_client": True,
        "ticket": ticket | {"id": "4712"},
    }
    requests.post(
        f"{stack.api}/events/ticket-changed", headers=key, json=event, timeout=10
    ).raise_for_status()

    # Then the address is on the suppression list, and the history shows the message bounced
    def suppressed() -> list[Any]:
        items = requests.get(f"{stack.api}/suppressions", headers=admin, timeout=10).json()["items"]
        return [i for i in items if i["address"] == "bounce@simulator.amazonses.com"]

    [entry] = _wait_for(suppressed, "the bounce suppression", stack)
    assert entry["reason"] == "bounce", entry
    history = requests.get(f"{stack.api}/history/email", headers=admin, timeout=10).json()["items"]
    assert [h["state"] for h in history if h["to_address"] == "bounce@simulator.amazonses.com"] == ["bounced"]

    # When the company answers "SALDO" by SMS and Ana texts it from the local phone
    rules = {"balance": {"enabled": True, "keywords": "deuda, saldo", "template": "Su saldo es $ %deuda%"}}
    requests.put(f"{stack.api}/sms/auto-replies", headers=admin, json=rules, timeout=10).raise_for_status()
    stack.cli("sms", "--from", "+5491159876543", "SALDO")
    # Then the answer is in the stack's SMS outbox
    outbox = _wait_for(
        lambda: (listed := stack.cli("sms", "--outbox")) and "15.300,50" in listed and listed,
        "the SMS reply",
        stack,
    )
    assert "+5491159876543" in outbox and "Su saldo es $ 15.300,50" in outbox
    assert stack.stop() == 0

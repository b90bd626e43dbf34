"""The README's walkthrough on a whole local stack, as its reader sees it: the JSON answers a
snippet printed, the e-mails the stack's SMTP catcher caught, and what must still be there after
the stack is stopped and started again (tests/e2e/test_guides.py)."""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import Any

import requests

from infrastructure.local.mailcatcher import _mail_files, _parse
from tests.steps.documents import pdf_attachments, pdf_text
from tests.steps.stack import RunningStack


def json_answers(output: str) -> list[Any]:
    """Every JSON object a snippet printed, in order (``curl -s`` ends an answer with no newline,
    so the next one may follow on the same line; other text between them is skipped)."""
    decoder, found, i = json.JSONDecoder(), [], output.find("{")
    while i != -1:
        try:
            answer, end = decoder.raw_decode(output, i)
        except json.JSONDecodeError:
            end = i + 1
        else:
            found.append(answer)
        i = output.find("{", end)
    return found


def caught_mail(stack: RunningStack) -> list[EmailMessage]:
    """Every e-mail the stack's SMTP catcher caught so far, oldest first."""
    return [_parse(path) for path in _mail_files(stack.local_dir / "mail")]


def the_tracking_page_shows_the_parcel(stack: RunningStack) -> None:
    """The company's tracking page, as the README's step 2 says to open it in a browser: the
    parcel's two events and the alert form, under a Content-Security-Policy."""
    page = requests.get(f"{stack.api}/track/demo?tracking_id=DEMO-001", timeout=10)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    assert page.text.count('<li><div class="status">') == 2 and 'name="email"' in page.text


def confirmed_as_a_browser_and_as_curl(stack: RunningStack, link: str) -> None:
    """README step 3: the confirmation link opened (a page with a button; opening it changes
    nothing), its button pressed, then the link posted as the README's ``curl -s -X POST`` does
    (a second press renews the subscription)."""
    page = requests.get(f"{stack.api}{link}", timeout=10)
    assert page.status_code == 200 and 'method="post"' in page.text, page.text
    pressed = requests.post(f"{stack.api}{link}", timeout=10, headers={"Accept": "text/html"})
    assert pressed.status_code == 200 and "DEMO-001" in pressed.text, pressed.text
    assert requests.post(f"{stack.api}{link}", timeout=10).json()["confirmed"] is True


def the_statement_arrived_and_downloads_the_same(stack: RunningStack, admin: dict[str, str]) -> None:
    """README step 5's account statement: in the catcher as Ana's PDF attachment (its number's file
    name, her movement and name in its text), and the admin's download link gives the same bytes."""

    def attached() -> list[tuple[str, bytes]]:
        return [
            (name, pdf)
            for message in caught_mail(stack)
            if "ana@example.com" in str(message["To"])
            for name, pdf in pdf_attachments(message)
            if name.startswith("estado_de_cuenta_")
        ]

    [(name, pdf)] = stack.wait_for(attached, "the statement e-mail")
    assert name == "estado_de_cuenta_EC-CLI-1-20261130.pdf"
    text = pdf_text(pdf)
    assert "A-0001-00000042" in text and "12.345,67" in text and "Ana García" in text

    def sent() -> Any:  # (the outcome is written once the SMTP server took it)
        url = f"{stack.api}/documents/sent/statement/EC-CLI-1-20261130"
        document = requests.get(url, headers=admin, timeout=10).json()
        return document if document["message_state"] in ("sent", "delivered") else None

    document = stack.wait_for(sent, "the statement recorded sent")
    assert requests.get(document["download_url"], timeout=10).content == pdf


def the_statement_as_downloaded(stack: RunningStack, admin: dict[str, str]) -> bytes:
    """README step 5's statement as the admin's download link gives it now (a stored file: moto's S3)."""
    url = f"{stack.api}/documents/sent/statement/EC-CLI-1-20261130"
    document = requests.get(url, headers=admin, timeout=10).json()
    downloaded = requests.get(document["download_url"], timeout=10)
    assert downloaded.status_code == 200, downloaded.text
    return downloaded.content


def the_alert_is_recorded_sent(stack: RunningStack, admin: dict[str, str]) -> None:
    """Wait until the walkthrough's alert is caught and recorded sent, and the monitor counts it
    (each outcome is written once the SMTP server took the message)."""
    stack.wait_for(lambda: "su envío DEMO-001 está" in stack.cli("mail"), "the alert")

    def recorded() -> bool:
        alerts = requests.get(f"{stack.api}/parcels/DEMO-001/alerts", headers=admin, timeout=10).json()
        monitor = requests.get(f"{stack.api}/alerts", headers=admin, timeout=10).json()
        counted = [item["sent_count"] for item in monitor["items"] if item["alert_type"] == "tracking"]
        return [a["state"] for a in alerts["items"]] == ["sent"] and counted[0] >= 1

    stack.wait_for(recorded, "the alert recorded sent")


def what_a_restart_must_keep(stack: RunningStack, admin: dict[str, str]) -> dict[str, Any]:
    """The parcel's history and subscribers, as the administrator reads them."""
    parcel = requests.get(f"{stack.api}/parcels/DEMO-001", headers=admin, timeout=10).json()
    subscriptions = requests.get(f"{stack.api}/parcels/DEMO-001/subscriptions", headers=admin, timeout=10)
    return {"history": parcel["history"], "subscriptions": subscriptions.json()["items"]}


def the_domain_check_after_the_restart_warned_of_nothing(
    stack: RunningStack, admin: dict[str, str], restarted_at: int
) -> None:
    """docs/deliverability.md's domain, still verified once the hourly domain check ran at the
    restart's start (which found nothing that stopped verifying: no warning, no notice)."""
    stack.wait_for(
        lambda: any("ran check_sending_domains" in line for line in stack.output[restarted_at:]),
        "the domain check after the restart",
    )
    shown = requests.get(f"{stack.api}/sender-domains/avisos.example.com", headers=admin, timeout=30).json()
    assert shown["verified"] is True and shown["lapses_at"] is None, shown
    since_restart = stack.output[restarted_at:]
    assert [line for line in since_restart if "stopped verifying" in line] == []
    assert [line for line in since_restart if "sending domain notice sent" in line] == []


def a_new_alert_goes_through_the_account_whose_password_was_stored_before(
    stack: RunningStack, key: dict[str, str], admin: dict[str, str]
) -> None:
    """After the restart: alerts every minute again (README step 4 made them hourly), a clerk
    subscribes Lucía's neighbour, the parcel is delivered; the alert goes out through the tracking
    account the README's outbox section set (its display name), so the SMTP password stored
    before the restart still decrypts (the demo's own ``all`` account's is set again at each start)."""
    every_minute = {"enabled": True, "frequency_minutes": 1}
    requests.put(
        f"{stack.api}/alerts/tracking", headers=admin, json=every_minute, timeout=10
    ).raise_for_status()
    neighbour = {"first_name": "Julia", "last_name": "Sosa", "email": "julia@example.com"}
    subscribed = requests.post(
        f"{stack.api}/parcels/DEMO-001/subscriptions", headers=admin, json=neighbour, timeout=10
    )
    assert subscribed.status_code in (200, 201), subscribed.text
    delivered = {"event_id": "ev-4", "status": "DELIVERED", "occurred_at": "2026-11-24T12:00:00Z"}
    posted = requests.post(f"{stack.api}/parcels/DEMO-001/events", headers=key, json=delivered, timeout=10)
    assert posted.status_code == 201, posted.text

    def alerted() -> list[EmailMessage]:
        return [
            m
            for m in caught_mail(stack)
            if "julia@example.com" in str(m["To"]) and "Entregado" in str(m["Subject"])
        ]

    [alert] = stack.wait_for(alerted, "the alert after the restart", timeout=180)
    # (the demo's own account sends as "Demo Envíos" from the same address)
    assert str(alert["From"]) == "Avisos <avisos@demo.example>", alert["From"]

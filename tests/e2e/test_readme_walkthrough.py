"""The README's walkthrough, done the way a newcomer does it: start the stack with the README's
command, then issue a parcel, post two events, subscribe, wait for the sweep, read the e-mail."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.steps.stack import RunningStack

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    running = RunningStack(tmp_path / "local")
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()


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
        now = now.replace(second=(now.second + 1) % 60)
    # And the end customer looks it up and subscribes
    public: Any = requests.get(f"{stack.api}/public/demo/parcels/DEMO-001", timeout=10).json()
    assert public["alerts_available"] is True and len(public["history"]) == 2
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
    # When the stack is stopped and started again
    assert stack.stop() == 0
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
    assert stack.stop() == 0

"""The README walkthrough's account statement (D1), done against the stack its first command
starts: the demo key posts a client and her statement; the statement arrives as a PDF attachment
in the mail catcher, and the admin's download link gives the same PDF."""

from __future__ import annotations

import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import requests

from tests.steps.documents import pdf_attachments, pdf_text
from tests.steps.stack import RunningStack

pytestmark = pytest.mark.e2e


def test_the_readme_statement_arrives_as_a_pdf_and_staff_download_it(
    stack: RunningStack, tmp_path: Path
) -> None:
    # Given the whole service started with the README's first command, and the README's client
    banner = stack.start()
    key = {"Authorization": f"ApiKey {banner['api_key']}"}
    admin = {"Authorization": f"Bearer {banner['admin_token']}"}
    client = requests.put(
        f"{stack.api}/clients/CLI-1",
        headers=key,
        timeout=10,
        json={"name": "Ana García", "emails": ["ana@example.com"], "phones": ["011 15-5987-6543"]},
    )
    assert client.status_code == 200, client.text
    # When the ERP posts her statement as the README does
    posted = requests.post(
        f"{stack.api}/documents/statements",
        headers=key,
        timeout=30,
        json={
            "client_id": "CLI-1",
            "as_of": "2026-11-30",
            "movements": [
                {
                    "date": "2026-11-23",
                    "document": "A-0001-00000042",
                    "description": "Factura",
                    "due_on": "2026-12-10",
                    "amount": "12345.67",
                }
            ],
        },
    )
    assert posted.status_code == 202, posted.text
    # Then the mail catcher gets it with the PDF attached (the outbox worker polls moto's SQS)
    maildir = stack.local_dir / "mail"
    deadline = time.monotonic() + 120
    found: list[tuple[str, bytes]] = []
    while time.monotonic() < deadline and not found:
        time.sleep(2)
        for path in sorted(maildir.glob("*.eml")) if maildir.exists() else []:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            if "ana@example.com" in str(message["To"]):
                found = pdf_attachments(message)
    assert found, "".join(stack.output[-40:])
    [(name, pdf)] = found
    assert name == "estado_de_cuenta_EC-CLI-1-20261130.pdf"
    text = pdf_text(pdf)
    assert "A-0001-00000042" in text and "12.345,67" in text and "Ana García" in text
    # And the admin's link downloads the same file
    document = requests.get(
        f"{stack.api}/documents/sent/statement/EC-CLI-1-20261130", headers=admin, timeout=10
    ).json()
    assert document["message_state"] in ("sent", "delivered")
    assert requests.get(document["download_url"], timeout=10).content == pdf
    assert stack.stop() == 0

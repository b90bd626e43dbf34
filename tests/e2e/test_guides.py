"""The guides' shell snippets (docs/*.md and the README, every ```sh block), run as a reader runs
them: against the stack ``infrastructure/local/run.sh`` starts, after the README's walkthrough, in
one shell per guide (a variable a snippet sets is there for the next one), each with ``set -euo
pipefail``. Each must exit 0 and print what its guide says it prints. Then the stack is stopped
and started again, and nothing is lost.

One stack carries every whole-stack check but the crash's (test_crash_recovery.py, whose stack has
a short lease and is killed): what tests/e2e/test_readme_walkthrough.py, its AWS-loops test and
tests/e2e/test_readme_statement.py checked on stacks of their own (session 41 moved them here) is
checked where the README's steps produce it: the parcel's events, the tracking page, the
confirmation page's button (step 2 and 3); the reminders' preview, run and second run, and the
statement's PDF and download link (step 5); the reply threaded to the invoice e-mail's Reply-To,
the bounce in the history and the suppressions, the SMS answer in the outbox (step 6, and
docs/deliverability.md); the alert, the parcel's alerts and the monitor (steps 3 and 4); and the
restart: the same credentials, history and subscribers, the statement's PDF (a stored file, moto's
S3 kept in ``.local/s3``) byte for byte, docs/deliverability.md's domain still
verified, a new alert through the tracking account the README's outbox section set (its stored
password still decrypts), and ``stack env``, ``ops`` and ``sendjob`` finding the ports.

Run as written, with what a test must change to run beside other stacks: the stack's ports are free
ones, so the local stack's default ports in the snippets (the SMTP catcher's in a sender account's
body too) are mapped to them (and the commands that take ports, ``ops``, ``stack env`` and
``sendjob``, read them from the running stack's ports file); ``uv run python`` is this
environment's Python; the working folder is the test's own, so the files the snippets write
(``factura.pdf``, ``reply.eml``, ``history.xlsx``...) do not land in the repository. The reader's
``API``, ``KEY`` and ``ADMIN`` are set as the README's walkthrough sets them; an assignment of a
placeholder from the banner (``KEY='pk_...'``) takes the banner's value, as the reader would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from infrastructure.local.paths import REPO_ROOT
from infrastructure.local.stack import SAMPLE_INVOICE
from tests.steps.documents import pdf_attachments
from tests.steps.stack import RunningStack
from tests.steps.walkthrough import (
    a_new_alert_goes_through_the_account_whose_password_was_stored_before,
    caught_mail,
    confirmed_as_a_browser_and_as_curl,
    json_answers,
    the_alert_is_recorded_sent,
    the_domain_check_after_the_restart_warned_of_nothing,
    the_statement_arrived_and_downloads_the_same,
    the_statement_as_downloaded,
    the_tracking_page_shows_the_parcel,
    what_a_restart_must_keep,
)

pytestmark = pytest.mark.e2e

DOCS = REPO_ROOT / "docs"

# What each snippet's guide says it prints (in its comments or the text around it), by its first line.
EXPECTED: dict[str, dict[int, list[str]]] = {
    "deliverability.md": {
        1: ['"reason": "manual"', '"address": "+5491159876543"'],
        2: ['"state": "bounced"', '"address": "bounce@simulator.amazonses.com", "reason": "bounce"'],
        3: ['"mail_from_domain": "bounce.avisos.example.com"', '"purpose": "dmarc"'],
    },
    "documents.md": {
        1: ['"document_type": "order"', '"document_type": "purchase_order"', '"number": "EC-CLI-1-20261031"'],
        2: ['"state": "expanding"', '"job_id"'],
        3: ['"number": "EC-CLI-1-20261130-2"', '"file_name": "estado_de_cuenta_EC-CLI-1-20261130-2.pdf"'],
    },
    "events.md": {
        1: [
            '"event_id": "inv-7", "client_id": "CLI-7", "message_type": "invoice", "duplicate": false',
            '"event_type": "payment-recorded"',
            '"channel": "sms"',
            '"event_type": "pickups-confirmed"',
        ]
    },
    "history-and-register.md": {
        1: [],
        2: ['"resend_of": "', '"name": "SMS no enviados"', '"state": "done", "rows": '],
        3: ['"record_type": "call"', '"area": null', '"name": "escritura.pdf"', '"users": ["', "BEGIN:VTODO"],
    },
    "inbound-email.md": {
        1: [
            '"address": "demo@inbound.pregon.local"',
            '"subject": "Consulta de saldo"',
            '"client_id": "CLI-7"',
        ],
        2: ['"direction": "in"', '"subject": "Consulta"'],
        3: ['"subject": "Re: su caso"', '"in_reply_to": "'],
    },
    "inbound-sms.md": {
        1: [
            '"inbound_number": "+5491140001234"',
            '"keywords": "deuda, saldo, cuenta"',
            '"balance": "15300.50"',
        ],
        2: ["delivered to +5491140001234"],
        3: ["sns      Estimado Ana García su saldo pendiente es $ 15.300,50", '"channel": "sms"'],
        4: ['"provider": "http_gateway"', "gateway  Estimado Ana García su saldo pendiente es $ 15.300,50"],
        5: ['"text": "soporte: sin internet"', '"operator": "Marta"', '"source": "sms"'],
    },
    "mailboxes.md": {
        1: ['"host": "imap.gmail.com"', '"password_set": false', '"ok": false'],
        2: [
            '"auth": "microsoft365"',
            '"host": "outlook.office365.com"',
            '"client_secret_set": true',
            '"ok": false, "answer": "Microsoft sign-in ',
        ],
        3: ['"subject": "Re: ', '"direction": "out"', '"text": "El día 20. Un saludo."'],
    },
    "operations.md": {
        1: ["Paquetería Azteca", "The whole key, shown this once", "active"],
        2: ["works until", "revoked"],
        3: ['"company_id": "madrid"', '"api_key": "pk_', '"scopes": ["events:write", "clients:write"]'],
        4: [
            "azteca: Azteca",
            "azteca: (no sender IDs)",
            '{"company_id": "madrid", "sender_ids": ["CargasMad"]}',
        ],
        5: ["(no company chose a sender ID)", "azteca: Azteca"],
        6: ["azteca: +525512345678", "+525512345678    azteca", "claimed by: azteca; receiving: none"],
        7: ["(no number is held by two companies)", "madrid: (no numbers)"],
        8: ["azteca", "clients indexed for search"],
        9: ["azteca", "0 clients counted under their preferred agent"],
        10: ["0 sending domains indexed for the hourly check"],
        11: ["0 companies added to the listing"],
        12: [
            "saliente is suspended since",
            "410",
            "README.txt",
            "clients.jsonl",
            "saliente deleted; items and files deleted:",
            "status-catalog",
        ],
        13: [
            "pregon-outbox-dead                    0 messages  redrive: back to pregon-outbox",
            "pregon-local-async-failures           0 messages  redrive: invoked again",
        ],
    },
    "push.md": {1: ['"endpoint_arn": "arn:aws:sns:', '"key": "custom:aviso"', "done ", "sent     1"]},
    "reminders.md": {
        1: [
            '"document_number": "A-0001-00000042", "created": false',
            '"document_number": "A-0001-00000043", "created": true',
            '"state": "paid"',
        ],
        2: ['"description": "Tres días antes"', '"description": "Aviso a los 10 días", "days": 10'],
        3: ['"send_to_contacts": true'],
        4: ['"alert_type": "reminders", "enabled": true', '"receivables"'],
        5: [
            '"sms": true',
            '"reminder_sms_default": "Estimado %nombre%: el comprobante',
            '"document_number": "A-0001-00000044"',
            '"sms_to": "+5491159876543", "sms_skipped": null',
            '"reminders": 0',
            '"channel": "sms"',
        ],
    },
    "sends.md": {
        1: ["registered 40 demo clients (DEMO-C0001 ...)", "done ", "cliente0040@demo.example"],
        2: ['"to_address": "cliente0001@demo.example"', '"template_key": "custom:aviso"', '"channel": "sms"'],
    },
    "web.md": {
        1: ['"primary": "#C8102E"', '"logo_source": "upload"', '"tracking_page_url": null'],
        2: ['"user_id": "admin@demo"', '"id_token": "eyJ'],
        3: ['"message": "level: debe ser un número entero de 1 a 4"', '"field": "level"'],
    },
    "privacy.md": {1: ['"state": "done"', '"register_records": 1', "404"]},
    "webhooks.md": {
        1: [
            '"outcome": "delivered", "status_code": 204',
            '"event_type": "webhook.test"',
            't= {"id":"evt_',
            "\n204",
        ]
    },
    # Last: its unsubscribe link is the alert the walkthrough's subscription gets at a sweep (a minute).
    "api.md": {
        1: ['"tracking_id": "DEMO-001"', '"status_name": "En distribución"', '"alerts_available": true'],
        2: ['"status": "confirmation_sent"'],
        3: ['<form method="post"', "DEMO-001"],
        4: ['{"tracking_id": "DEMO-001", "unsubscribed": true}'],
        5: ["422 text/html; charset=utf-8"],
        6: ['"message": "colour: no es un campo conocido"', '"field": "colour"'],
        7: ['{"tracking_id": "DEMO-001", "event_id": "ev-3", "created": true}'],
        8: ['"ok": true'],
        9: ['opened at "', '"error": "PreconditionFailed"', '"field": "If-Match"'],
        10: ['"client_id": "CLI-40", "name": "Ferretería Gómez"', '"field": "q"'],
        11: ['"updated_by": "admin@demo"', '"updated_by_name": "Administración"'],
    },
}
# Not run here: api.md's 12th regenerates docs/openapi.json (tests/unit/test_openapi.py runs it).
NOT_HERE = {("api.md", 12)}

# The README's sh blocks run here, each named by a line of it; the others start the stack
# (``infrastructure/local/...``: run.sh is what the stack fixture runs, test.sh what runs this test).
README_STEPS = (
    "API=http://127.0.0.1:8000\n",  # its variables, from the banner
    "$API/parcels -H",  # step 1
    "$API/public/demo/parcels/DEMO-001\n",  # step 2
    "stack mail --show 1",  # step 3: the confirmation
    "stack mail            # list",  # step 3: the alert
    "$API/parcels/DEMO-001/alerts",  # step 4
    "# A client, then an invoice",  # step 5
    "# Ana answers her newest invoice",  # step 6
    "# At most 5 e-mails per hour",  # the outbox's rate limit
)


def sh_snippets(text: str) -> list[str]:
    """Every ```sh block of a Markdown text, its indentation removed."""
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = re.match(r"^(\s*)```sh\s*$", lines[i])
        if opening:
            indent, end = len(opening.group(1)), i + 1
            while not re.match(r"^\s*```\s*$", lines[end]):
                end += 1
            found.append("\n".join(line[indent:] for line in lines[i + 1 : end]) + "\n")
            i = end
        i += 1
    return found


def shortened(output: str, keep: int = 2000) -> str:
    """A long output's start (where a first failure shows) and end."""
    return output if len(output) <= 2 * keep else f"{output[:keep]}\n[...]\n{output[-keep:]}"


def readme_block(containing: str) -> str:
    [block] = [b for b in sh_snippets((REPO_ROOT / "README.md").read_text()) if containing in b]
    return block


def as_run_here(snippet: str, stack: RunningStack, banner: dict[str, str]) -> str:
    """The snippet with the test stack's ports and credentials in place of the defaults'."""
    ports = stack.ports
    python = sys.executable
    snippet = snippet.replace("ADMIN='eyJ...'", f"ADMIN='{banner['admin_token']}'")
    snippet = snippet.replace("KEY='pk_...'", f"KEY='{banner['api_key']}'")
    defaults = {"8000": "api", "2525": "inbound_smtp", "8082": "sms_gateway", "8084": "identity"}
    snippet = re.sub(
        r"127\.0\.0\.1:(8000|2525|8082|8084)(?!\d)",
        lambda m: f"127.0.0.1:{ports[defaults[m.group(1)]]}",
        snippet,
    )
    snippet = snippet.replace('"smtp_port": 1025,', f'"smtp_port": {ports["smtp"]},')
    # ops, sendjob and stack env are run as written: they read the running stack's ports file
    return snippet.replace("uv run python", python)


class Shell:
    """One reader's terminal: a bash that keeps its variables and functions from one snippet to the
    next, with ``set -euo pipefail`` (a failing command ends it)."""

    MARK = "::snippet-done::"

    def __init__(self, stack: RunningStack, banner: dict[str, str], folder: Path) -> None:
        self.stack, self.banner, self.folder = stack, banner, folder
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PREGON_"))}
        env |= {"PREGON_LOCAL_DIR": str(stack.local_dir), "PYTHONPATH": str(REPO_ROOT)}
        self.process = subprocess.Popen(
            ["bash"],
            cwd=folder,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.count = 0
        self._send(f"API={stack.api}\nKEY='{banner['api_key']}'\nADMIN='{banner['admin_token']}'\n")

    def _send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def run(self, snippet: str, what: str) -> str:
        self.count += 1
        script = self.folder / f"snippet-{id(self)}-{self.count}.sh"
        script.write_text(as_run_here(snippet, self.stack, self.banner))
        self._send(
            f"set -euo pipefail\nsource {script} </dev/null\nset +euo pipefail\necho; echo {self.MARK}\n"
        )
        assert self.process.stdout is not None
        output: list[str] = []
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(
                    f"{what} failed (exit {self.process.wait()}):\n" + shortened("".join(output))
                )
            if line.strip() == self.MARK:
                return "".join(output)
            output.append(line)

    def close(self) -> None:
        if self.process.poll() is None:
            self._send("exit 0\n")
            self.process.wait(timeout=10)


def readme_steps_3_and_4(stack: RunningStack, banner: dict[str, str], reader: Path) -> None:
    """The README's alert as the mail command lists it, and its step 4, the administrator's look
    (here, once the alert went: the walkthrough waits a minute for it, the guides run meanwhile)."""
    shell = Shell(stack, banner, reader)
    listed = shell.run(readme_block("stack mail            # list"), "README step 3's alert")
    looked = shell.run(readme_block("$API/parcels/DEMO-001/alerts"), "README step 4")
    shell.close()
    # Then the alert is listed, one alert after the confirmation, and a message shown
    for text in ("Lucía Pérez <lucia@example.com>", "su envío DEMO-001 está En distribución", "\nSubject: "):
        assert text in listed, f"README step 3: {text!r} not in:\n{shortened(listed)}"
    # (and any copy history-and-register.md's resend made of the newest e-mail sent, which is the
    # alert when the sweep sent it before that guide ran: a manual copy, not a second alert)
    admin = {"Authorization": f"Bearer {banner['admin_token']}"}
    listed_to_lucia = f"{stack.api}/history/email?q=lucia@example.com"
    to_lucia = requests.get(listed_to_lucia, headers=admin, timeout=10).json()
    copies = [item for item in to_lucia["items"] if item.get("resend_of")]
    assert stack.cli("mail").count("lucia@example.com") == 2 + len(copies), stack.cli("mail")
    # And step 4's calls answer what they look at or change: the parcel's one alert sent, the
    # monitor's minute schedule and its count
    shown = (
        '"novelty_id": "ev-2"',
        '"recipient_email": "lucia@example.com"',
        '"email": "lucia@example.com"',
        '"alert_type": "tracking", "enabled": true, "frequency_minutes": 60',
        '"display_name": "En Sucursal de Destino", "visibility": "visible", "notify": true',
    )
    for text in shown:
        assert text in looked, f"README step 4: {text!r} not in:\n{shortened(looked)}"
    alerts, _follow_ups, monitor, *_changes = json_answers(looked)
    assert [alert["state"] for alert in alerts["items"]] == ["sent"], alerts
    [tracking] = [item for item in monitor["items"] if item["alert_type"] == "tracking"]
    assert tracking["frequency_minutes"] == 1 and tracking["sent_count"] >= 1, tracking


# A stack start, a restart, the guides and three sweeps a minute apart: 298 s measured alone on a
# loaded 2-core machine (load 15); four times that, as the whole run's second pytest beside the rest.
@pytest.mark.timeout(1200)
def test_every_guides_sh_snippet_runs_as_written_after_the_walkthrough_and_a_restart_loses_nothing(
    stack: RunningStack, tmp_path: Path
) -> None:
    # Every sh snippet of the guides is listed here with what it prints (a new one must be added)
    guides = {path.name: sh_snippets(path.read_text()) for path in sorted(DOCS.glob("*.md"))}
    found = {(name, n) for name, snippets in guides.items() for n in range(1, len(snippets) + 1)}
    listed = {(name, n) for name, snippets in EXPECTED.items() for n in snippets} | NOT_HERE
    assert found == listed
    # And so is every sh block of the README
    readme = sh_snippets((REPO_ROOT / "README.md").read_text())
    starts = [b for b in readme if all(line.startswith("infrastructure/local/") for line in b.splitlines())]
    assert sorted(readme) == sorted([readme_block(step) for step in README_STEPS] + starts)

    # Given the stack started as the README says, its banner naming the inbound SMTP port
    banner = stack.start()
    assert any(line.startswith(" Inbound SMTP ") for line in stack.output), "".join(stack.output[-30:])
    key = {"Authorization": f"ApiKey {banner['api_key']}"}
    admin = {"Authorization": f"Bearer {banner['admin_token']}"}
    reader = tmp_path / "reader"
    reader.mkdir()
    shell = Shell(stack, banner, reader)
    shell.run(readme_block("API=http://127.0.0.1:8000\n"), "README's variables")
    # When the carrier issues the parcel and posts its two events (step 1)
    issued = json_answers(shell.run(readme_block("$API/parcels -H"), "README step 1"))
    # Then the parcel is stored with both events
    assert issued[0]["tracking_id"] == "DEMO-001", issued
    assert [(a["event_id"], a["created"]) for a in issued[1:]] == [("ev-1", True), ("ev-2", True)], issued
    # When Lucía looks it up and asks for alerts (step 2)
    looked_up, asked_for = json_answers(
        shell.run(readme_block("$API/public/demo/parcels/DEMO-001\n"), "step 2")
    )
    # Then she sees its two events and is sent a confirmation, as on the company's tracking page
    assert looked_up["alerts_available"] is True and len(looked_up["history"]) == 2, looked_up
    assert asked_for["status"] == "confirmation_sent", asked_for
    the_tracking_page_shows_the_parcel(stack)
    # When the confirmation e-mail arrives first and she confirms from its link (step 3)
    stack.wait_for(lambda: "lucia@example.com" in stack.cli("mail"), "the confirmation e-mail")
    asked = shell.run(readme_block("stack mail --show 1"), "README step 3")
    link = re.search(r"https?://[^/\s]+(/public/subscriptions/confirm\?token=[\w.\-]+)\n", asked)
    assert link, asked
    # Then opening it shows a button, and pressing it (or posting to it) confirms her
    confirmed_as_a_browser_and_as_curl(stack, link.group(1))

    # When the ERP sends a client, an invoice, a statement, a bulk send and a reminder (step 5)
    tried = shell.run(readme_block("# A client, then an invoice"), "README step 5")
    # Then the reminder settings, the preview (sending nothing) and the run name the receivable due
    # in 3 days, its e-mail arrives, and a second run sends nothing more
    answers = json_answers(tried)
    [settings] = [a for a in answers if "before_due_concept" in a]
    assert settings["before_due_concept"] == "before-7", settings
    preview, ran = [a for a in answers if isinstance(a.get("reminders"), int)]
    assert [(i["document_number"], i["to"]) for i in preview["items"]] == [
        ("A-0001-00000042", ["ana@example.com"])
    ]
    assert preview["queued"] == 0 and (ran["reminders"], ran["queued"]) == (1, 1), ran
    stack.wait_for(
        lambda: "recordatorio de vencimiento, A-0001-00000042" in stack.cli("mail"), "the reminder e-mail"
    )
    ran_again = requests.post(f"{stack.api}/reminders/run", headers=admin, timeout=10).json()
    assert ran_again["reminders"] == 0, ran_again
    # And the statement arrives as her PDF, which the admin's link downloads byte for byte
    the_statement_arrived_and_downloads_the_same(stack, admin)

    # When Ana answers her invoice, SES bounces a ticket e-mail and she texts SALDO (step 6)
    replies = shell.run(readme_block("# Ana answers her newest invoice"), "README step 6")
    invoice = shell.run('echo "$INVOICE"', "the invoice's id").strip()
    reply_to = shell.run('echo "$REPLY_TO"', "the invoice's Reply-To").strip()
    # Then Ana's reply is threaded to the invoice, the bounce suppressed, and her SMS answered
    shown = (
        f'"in_reply_to": "{invoice}"',
        '"subject": "Re: factura"',
        '"reason": "bounce"',
        "+5491159876543",
        "Su saldo es $ 15.300,50",
    )
    for text in shown:
        assert text in replies, f"README step 6: {text!r} not in:\n{shortened(replies)}"
    # And the invoice e-mail carries step 5's sample invoice, byte for byte, as a PDF a reader
    # opens; and the newest invoice e-mail Ana got (the bulk send's) the Reply-To she answered
    [sent] = stack.wait_for(
        lambda: [
            m for m in caught_mail(stack) if "A-0001-00000042" in str(m["Subject"]) and pdf_attachments(m)
        ],
        "the invoice e-mail",
    )
    assert SAMPLE_INVOICE.read_bytes() in [pdf for _name, pdf in pdf_attachments(sent)], str(sent["Subject"])
    to_ana = [
        m for m in caught_mail(stack) if "ana@example.com" in str(m["To"]) and "factura" in str(m["Subject"])
    ]
    assert str(to_ana[-1]["Reply-To"]) == reply_to, [(str(m["Subject"]), str(m["Reply-To"])) for m in to_ana]
    shell.close()

    # When each guide's snippets run in order, one terminal per guide (api.md last)
    for name, expected in EXPECTED.items():
        shell = Shell(stack, banner, reader)
        for n, snippet in enumerate(guides[name], start=1):
            if (name, n) in NOT_HERE:
                continue
            if (name, n) == ("inbound-sms.md", 3):  # the reader reads the outbox a few seconds later
                stack.wait_for(
                    lambda: "Estimado Ana García" in stack.cli("sms", "--outbox"), "the SMS answer"
                )
            if (name, n) == ("api.md", 1):  # the walkthrough's alert, sent at a sweep after the confirmation
                the_alert_is_recorded_sent(stack, admin)
                readme_steps_3_and_4(stack, banner, reader)
            output = shell.run(snippet, f"{name} snippet {n} ({snippet.splitlines()[0]})")
            # Then it printed what its guide says
            for text in expected[n]:
                assert text in output, f"{name} snippet {n}: {text!r} not in:\n{shortened(output)}"
            if (name, n) == ("deliverability.md", 2):  # and the one ticket e-mail to the simulator bounced
                [history] = [
                    a for a in json_answers(output) if any("to_address" in m for m in a.get("items", []))
                ]
                to_simulator = [
                    m for m in history["items"] if m["to_address"] == "bounce@simulator.amazonses.com"
                ]
                assert [m["state"] for m in to_simulator] == ["bounced"], history
            if (name, n) == ("deliverability.md", 3):  # and the local SES verifies the domain at once
                assert json_answers(output)[0]["verified"] is True, output
        shell.close()

    # When the reader limits the tracking account as the README's outbox section shows
    shell = Shell(stack, banner, reader)
    limited = shell.run(readme_block("# At most 5 e-mails per hour"), "README's rate limit")
    shell.close()
    # Then the account works, its limit with it (not an account without its password, skipped for `all`)
    working = '"rate_limit": {"messages": 5, "hours": 1}, "password_set": true, "working": true'
    assert working in limited, limited

    # When the stack is stopped and started again
    kept = what_a_restart_must_keep(stack, admin)
    statement = the_statement_as_downloaded(stack, admin)
    assert statement.startswith(b"%PDF-")
    assert stack.stop() == 0
    restarted_at = len(stack.output)
    again = stack.start()
    # Then nothing is lost: the same credentials, the parcel's history and its subscribers
    assert again["api_key"] == banner["api_key"]
    key = {"Authorization": f"ApiKey {again['api_key']}"}
    admin = {"Authorization": f"Bearer {again['admin_token']}"}
    assert what_a_restart_must_keep(stack, admin) == kept
    assert [h["event_id"] for h in kept["history"]] == ["ev-1", "ev-2", "ev-3"]
    # And the files stored before it are still there: the statement's PDF downloads byte for byte
    assert the_statement_as_downloaded(stack, admin) == statement
    # And the sending domain is still verified, the domain check at the start warning of nothing
    the_domain_check_after_the_restart_warned_of_nothing(stack, admin, restarted_at)
    # And a new event is delivered through the account whose password was stored before the restart
    a_new_alert_goes_through_the_account_whose_password_was_stored_before(stack, key, admin)
    # And the commands a developer runs beside it find its ports (not the defaults) with no flags
    assert f"AWS_ENDPOINT_URL_DYNAMODB='http://127.0.0.1:{stack.ports['dynamodb']}'" in stack.command(
        "infrastructure.local.stack", "env"
    )
    assert "demo" in stack.command("infrastructure.ops", "company", "list")
    sent_job = stack.command("infrastructure.local.sendjob", "--template", "invoice", "--clients", "CLI-1")
    assert "sent to one client: ana@example.com" in sent_job, sent_job
    assert stack.stop() == 0

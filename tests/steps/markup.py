"""Valid HTML, as the W3C's Nu HTML Checker sees it: ``vnu.jar`` (the npm package ``vnu-jar``
the project installs under .local/npm, infrastructure/local/npm.py) run with the machine's Java
over every document at once (the JVM's start-up costs more than checking dozens of pages).

    found = markup_problems({"tracking page": page_bytes, "e-mail invoice": html_part})
    assert found == {}, shown(found)      # each document's errors and warnings, one a line

What is not counted, and why, is ``IGNORED`` below (docs/decisions/0034-valid-markup.md).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from chalice.test import Client

    from tests.steps.tenants import Tenant

# Messages of the checker that are no mistake to fix, each with its reason; ``kind`` is "e-mail"
# (every HTML part), "fragment" (an e-mail whose HTML is a company's own few paragraphs, which
# Pregón puts in a document of its own) or "" (every document). docs/decisions/0034-valid-markup.md.
IGNORED: tuple[tuple[str, str, str], ...] = (
    (
        "e-mail",
        r"^The “(width|height|cellpadding|cellspacing|border|align|valign|bgcolor)” attribute"
        r" on the “(table|td|th|tr|img)” element is obsolete",
        "e-mail layout tables: Outlook's Word engine ignores the CSS that replaces these attributes",
    ),
    (
        "fragment",
        r"^Consider adding a “lang” attribute to the “html” start tag",
        "a company's own words: Pregón does not know their language, and a wrong lang is read aloud wrong",
    ),
)
IGNORED_SEEN: dict[str, int] = {}  # how often each reason hid a message, in the last check


_BROADER = {"fragment": ("e-mail",)}  # a fragment's e-mail is an e-mail too


def vnu_command() -> list[str]:
    """``java -jar vnu.jar`` with the JVM options that start it fastest (a short-lived program:
    the first compiler tier only, the serial collector)."""
    from infrastructure.local.npm import vnu_jar

    java = shutil.which("java")
    if java is None:
        pytest.fail(
            "Java is not installed: the Nu HTML Checker needs Java 17 "
            "(apt-get install openjdk-17-jre-headless)"
        )
    return [java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss4m", "-jar", str(vnu_jar())]


def markup_problems(documents: dict[str, bytes], kinds: dict[str, str] | None = None) -> dict[str, list[str]]:
    """The checker's errors and warnings for each document that has any (``name: [line, ...]``),
    less ``IGNORED``; ``kinds[name]`` is "page", "e-mail" or "fragment" (default "page"). One
    JVM checks them all."""
    kinds = kinds or {}
    IGNORED_SEEN.clear()
    with tempfile.TemporaryDirectory() as folder:
        files: dict[str, str] = {}
        for n, (name, document) in enumerate(documents.items()):
            path = Path(folder) / f"{n}.html"
            path.write_bytes(document)
            files[path.as_uri()] = name
        done = subprocess.run(
            [
                *vnu_command(),
                "--format",
                "json",
                "--stdout",
                "--exit-zero-always",
                *(u[len("file://") :] for u in files),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    found: dict[str, list[str]] = {}
    for message in json.loads(done.stdout)["messages"]:
        url = str(message.get("url", ""))
        name = files.get(url) or files.get(url.replace("file:", "file://", 1), url)
        level = message["type"] if message["type"] != "info" else message.get("subType", "info")
        if level not in ("error", "warning", "non-document-error"):
            continue
        text = str(message.get("message", ""))
        kind = kinds.get(name, "page")
        reasons = [
            why
            for only, pattern, why in IGNORED
            if only in ("", kind, *_BROADER.get(kind, ())) and re.search(pattern, text)
        ]
        if reasons:
            IGNORED_SEEN[reasons[0]] = IGNORED_SEEN.get(reasons[0], 0) + 1
            continue
        line = message.get("lastLine", "?")
        extract = str(message.get("extract", "")).replace("\n", "⏎")
        found.setdefault(name, []).append(f"{level} line {line}: {text} [{extract}]")
    return found


def shown(found: dict[str, list[str]]) -> str:
    problems = sum(len(lines) for lines in found.values())
    listed = "\n".join(
        f"{name}:\n" + "\n".join(f"  {line}" for line in lines) for name, lines in found.items()
    )
    return f"{problems} problems in {len(found)} documents\n{listed}"


def html_part(raw: bytes) -> bytes | None:
    """The text/html part of a raw e-mail, its transfer encoding undone, as ``as_served`` gives it
    the charset its Content-Type names; None when it has no HTML part."""
    mail = cast(EmailMessage, message_from_bytes(raw, policy=policy.default))
    part = mail.get_body(("html",))
    if part is None:
        return None
    return as_served(cast(bytes, part.get_payload(decode=True)), str(part.get_content_charset() or ""))


def as_served(document: bytes, charset: str) -> bytes:
    """The bytes to check for a document the HTTP answer's or the MIME part's Content-Type says is
    in ``charset``: a UTF-8 one starts with the byte order mark, which tells the checker (reading a
    file, with no header) what the header told the browser or the mail program. A ``<meta charset>``
    that says otherwise is then still an error."""
    if charset.lower().replace("_", "-") == "utf-8" and not document.startswith(b"\xef\xbb\xbf"):
        return b"\xef\xbb\xbf" + document
    return document


def served_pages(api: Client, web: str, tenant: Tenant) -> dict[str, bytes]:
    """Every public page of ``tenant`` as the app at ``web`` answers it (the bytes of the HTTP
    answer, each a text/html one), in Spanish and in English: the tracking page empty, with a
    parcel, an unknown parcel and an unknown company (404); the alert form sent with a mistake
    (422) and right; the confirmation and unsubscribe pages and what they answer; refused links;
    the manual unsubscribe and its answer; the console's shell; then, the company closed, its
    tracking page and a link it sent (410)."""
    import requests

    from chalicelib.core import clock
    from chalicelib.core.links import manual_unsubscribe_token, subscription_link_token
    from chalicelib.records.leaving import close_company
    from chalicelib.store.tracking import list_subscriptions
    from tests.steps.clients import put_client
    from tests.steps.tracking import ask_for_alerts, issue, post_event

    company = tenant.company_id
    put_client(api, tenant, "CLI-PAGES")
    issue(api, tenant, "TRK-PAGES")
    post_event(api, tenant, "TRK-PAGES", "e1", "IN_TRANSIT", minutes=1)
    pages: dict[str, bytes] = {}
    unexpected: list[str] = []
    session = requests.Session()

    def page(
        name: str, path: str, status: int, form: dict[str, str] | None = None, language: str = "es"
    ) -> None:
        headers = {"Accept": "text/html", "Accept-Language": language}
        if form is None:
            answer = session.get(f"{web}{path}", headers=headers, timeout=30)
        else:
            answer = session.post(f"{web}{path}", headers=headers, data=form, timeout=30)
        content_type = answer.headers.get("Content-Type", "")
        if answer.status_code != status or not content_type.startswith("text/html"):
            unexpected.append(f"{name} ({language}): {answer.status_code} {content_type} {answer.text[:300]}")
        pages[f"page {name} ({language})"] = as_served(answer.content, answer.encoding or "")

    exp = int(clock.now().timestamp()) + 86_400
    for language in ("es", "en"):
        email = f"paginas-{language}@example.com"

        def link(purpose: str) -> str:
            sub = next(s for s in list_subscriptions(company, "TRK-PAGES") if s.email == email)  # noqa: B023
            token = subscription_link_token(
                purpose, company, "TRK-PAGES", sub.subscription_id, sub.link_nonce, exp
            )
            return f"?token={token}"

        page("tracking page", f"/track/{company}", 200, language=language)
        page("tracking page with a parcel", f"/track/{company}?tracking_id=TRK-PAGES", 200, language=language)
        page("tracking page, unknown parcel", f"/track/{company}?tracking_id=NOPE-1", 404, language=language)
        page("tracking page, unknown company", "/track/nobody-here", 404, language=language)
        form = {
            "tracking_id": "TRK-PAGES",
            "first_name": "Ana",
            "last_name": "Paz",
            "email": "ana-at-example",
        }
        page("alert form with a mistake", f"/track/{company}/subscriptions", 422, form, language)
        page("alert form sent", f"/track/{company}/subscriptions", 202, form | {"email": email}, language)
        assert ask_for_alerts(api, tenant, "TRK-PAGES", email).status_code in (202, 409)
        confirm = f"/public/subscriptions/confirm{link('confirm')}"
        page("confirm alerts", confirm, 200, language=language)
        page("alerts confirmed", confirm, 200, {}, language)
        stop = f"/public/unsubscribe{link('unsubscribe')}"
        page("stop alerts", stop, 200, language=language)
        page("alerts stopped", stop, 200, {}, language)
        page("refused link", "/public/unsubscribe?token=not-a-token", 422, language=language)
        page("incomplete link", "/public/unsubscribe", 422, language=language)
        manual = f"/public/manual-sends/unsubscribe?token={manual_unsubscribe_token(company, 'CLI-PAGES')}"
        page("manual unsubscribe", manual, 200, language=language)
        page("manual unsubscribed", manual, 200, {}, language)
    page("console shell", "/console", 200)
    close_company(company, by="markup test")
    for language in ("es", "en"):
        page("closed company's tracking page", f"/track/{company}", 410, language=language)
        page("closed company's link", manual, 410, language=language)
    assert not unexpected, "\n".join(unexpected)
    return pages


def console_screens(driver: Any, web: str, tenant: Tenant, api: Client) -> dict[str, bytes]:
    """The console's screens as the browser leaves them once its script drew them (the document
    as the DOM holds it, ``<!doctype html>`` and ``outerHTML``: what a screen reader reads): the
    sign-in screen, and it refusing an empty company; for an administrator and for a level-4
    user, each screen the navigation offers and a client's page with its card open; for the
    administrator also a client's register with a received and with a sent e-mail open (its
    sandboxed frame, the reply and notify forms), the history's detail of a sent and of a received
    e-mail, the inbound screen's, and forms refused with their messages beside the fields (a
    frequency past a week, «Alta de cliente» with a code in use and with an address the API
    refuses); for the level-4 user, «Alta de cliente» refused too. The console speaks Spanish only:
    there is no English to walk."""
    from selenium.webdriver.common.by import By

    from tests.steps.clients import put_client
    from tests.steps.console import nav_screens, open_screen, sign_in, sign_out, wait_until
    from tests.steps.history import send_email
    from tests.steps.inbound import inbound_address, receive
    from tests.steps.outbox import deliver_outboxes

    def dom() -> bytes:
        html = driver.execute_script("return document.documentElement.outerHTML")
        return as_served(f"<!DOCTYPE html>\n{html}".encode(), "utf-8")

    # a client with a sent e-mail and an HTML e-mail it wrote, in its register and the history
    put_client(api, tenant, "CLI-MARKUP")
    sent_id = send_email(tenant, "cli-markup@example.com", "Factura de marzo", client_id="CLI-MARKUP")
    deliver_outboxes()
    raw = (
        b"From: Cliente <cli-markup@example.com>\r\nTo: " + inbound_address(tenant).encode() + b"\r\n"
        b"Subject: Consulta por la factura\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/alternative; boundary=b1\r\n\r\n"
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHola, una consulta.\r\n"
        b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hola, <b>una consulta</b>.</p>\r\n"
        b"--b1--\r\n"
    )
    received = receive(api, raw, to=[inbound_address(tenant)], source="cli-markup@example.com")
    received_id = received["communications"][0]

    screens: dict[str, bytes] = {}
    driver.get(f"{web}/console")
    wait_until(driver, lambda d: d.find_element(By.ID, "signin-company"))
    screens["console sign-in (DOM)"] = dom()
    refused(driver, "sign-in-form", {"signin-company": ""})
    screens["console sign-in, refused (DOM)"] = dom()
    for level in (1, 4):
        sign_in(driver, web, tenant, level=level)
        for screen in nav_screens(driver):
            open_screen(driver, screen)
            screens[f"console level {level} {screen} (DOM)"] = dom()
        open_screen(driver, "clients", "client=CLI-MARKUP&card=1")
        drawn(driver, "#b-client-card")
        screens[f"console level {level} client's page, its card open (DOM)"] = dom()
        if level == 1:
            screens |= admin_details(driver, sent_id, received_id, dom)
        else:
            open_screen(driver, "clients")
            mistaken = {"b-new-client-id": "CLI-4", "b-new-client-name": "Otra", "b-new-client-emails": "no"}
            refused(driver, "b-new-client", mistaken)
            screens["console level 4 «Alta de cliente», an address refused (DOM)"] = dom()
        sign_out(driver)
    return screens


# What makes the browser refuse a form itself, before the API could: taken off a field to see the
# API's refusal shown beside it.
LIFT_CHECKS = "for (const a of ['max', 'min', 'required', 'type', 'pattern']) arguments[0].removeAttribute(a)"


def refused(driver: Any, form: str, fields: dict[str, str]) -> None:
    """Fill the form with the ``id`` → text of ``fields`` (the browser's own checks lifted, so
    the API refuses), send it and wait for the refusal shown beside a field (one shown before
    is taken away first, as the console does when a form is sent)."""
    from selenium.webdriver.common.by import By

    from tests.steps.console import type_into

    shown = f"#{form} .field-error, #{form} .form-error"
    for element_id, text in fields.items():
        driver.execute_script(LIFT_CHECKS, driver.find_element(By.ID, element_id))
        type_into(driver, element_id, text)
    driver.execute_script("document.querySelectorAll(arguments[0]).forEach((e) => e.remove())", shown)
    driver.find_element(By.CSS_SELECTOR, f"#{form} button[type=submit]").click()
    drawn(driver, shown)


def drawn(driver: Any, css: str) -> None:
    """Wait until the page shows an element ``css`` finds."""
    from selenium.webdriver.common.by import By

    from tests.steps.console import wait_until

    wait_until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, css))


def admin_details(driver: Any, sent_id: str, received_id: str, dom: Any) -> dict[str, bytes]:
    """What ``console_screens`` draws for the administrator past the navigation's screens."""
    from tests.steps.console import open_screen

    screens: dict[str, bytes] = {}
    open_screen(driver, "clients", f"client=CLI-MARKUP&record={received_id}")
    drawn(driver, ".b-detail iframe.b-message")
    screens["console client's register, a received e-mail open (DOM)"] = dom()
    open_screen(driver, "clients", f"client=CLI-MARKUP&record={sent_id}")
    drawn(driver, f'.b-detail[data-id="{sent_id}"]')
    screens["console client's register, a sent e-mail open (DOM)"] = dom()
    for name, message in (("sent", sent_id), ("received", received_id)):
        open_screen(driver, "history", f"message={message}")
        drawn(driver, f'.b-detail[data-id="{message}"]')
        screens[f"console history, a {name} e-mail open (DOM)"] = dom()
    open_screen(driver, "inbound", f"message={received_id}")
    drawn(driver, ".b-detail iframe.b-message")
    screens["console inbound, a received e-mail open (DOM)"] = dom()
    open_screen(driver, "monitor")
    refused(driver, "alert-tracking-form", {"alert-tracking-frequency": "99999"})
    screens["console monitor, a frequency refused (DOM)"] = dom()
    open_screen(driver, "clients")
    refused(driver, "b-new-client", {"b-new-client-id": "CLI-MARKUP", "b-new-client-name": "Otro"})
    screens["console «Alta de cliente», a code in use (DOM)"] = dom()
    not_an_address = {"b-new-client-id": "CLI-MARKUP-2", "b-new-client-emails": "no-es-un-email"}
    refused(driver, "b-new-client", not_an_address)
    screens["console «Alta de cliente», an address refused (DOM)"] = dom()
    return screens

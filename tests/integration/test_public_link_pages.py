"""What a person's browser gets when a link from an e-mail or SMS cannot do what it was for (session
35): a page with the refusal's status, in the browser's language, in the company's look only when
the link proves which company sent it, saying what happened and what to do. A mail program's
one-click POST (RFC 8058) keeps its JSON answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from tests.steps.answers import body
from tests.steps.browser import chromium, screenshot, served_app, wait_for_text
from tests.steps.clients import put_client
from tests.steps.links import link_key_dropped, signed_by_a_stranger
from tests.steps.tenants import Tenant
from tests.steps.tracking import T0, issue

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
FORM = {**BROWSER, "Content-Type": "application/x-www-form-urlencoded"}
ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture(scope="module")
def web(api: Client) -> Iterator[str]:
    with served_app() as base:
        yield base


def page(response: Any, status: int) -> str:
    """The HTML page a browser was answered, with ``status``."""
    assert response.status_code == status, (response.status_code, response.body[:300])
    assert response.headers["Content-Type"] == "text/html; charset=utf-8", response.headers
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    text: str = response.body.decode()
    assert text.startswith("<!doctype html>")
    return text


def manual_token(company_id: str, client_id: str) -> str:
    from chalicelib.core.links import manual_unsubscribe_token

    return manual_unsubscribe_token(company_id, client_id)


def tracking_token(purpose: str, company_id: str, tracking_id: str, *, expires: timedelta) -> str:
    """A subscription link's token as an e-mail carries it, for a subscription that is not there
    (none is needed: a link is judged by its signature, its purpose and its expiry first)."""
    from chalicelib.core.links import subscription_link_token

    exp = int((T0 + expires).timestamp())
    return subscription_link_token(purpose, company_id, tracking_id, "sub-gone", "nonce", exp)


def brand_of(tenant: Tenant) -> str:
    return f'href="../track/{tenant.company_id}/brand.css"'


@pytest.mark.browser
def test_an_unsubscribe_link_whose_key_was_dropped_opens_a_page_saying_what_to_do(
    api: Client, tenant: Tenant, web: str
) -> None:
    # Given a client's manual e-mail carries its one-click unsubscribe link
    put_client(api, tenant, "CLI-1")
    link = f"/public/manual-sends/unsubscribe?token={manual_token(tenant.company_id, 'CLI-1')}"
    # When the operator drops the key that signed it (rotated, then taken off the previous keys)
    with link_key_dropped(), chromium("es") as browser:
        # And the client opens the link in their browser
        browser.get(web + link)
        wait_for_text(browser, "Este enlace no funciona")
        # Then a page says, in Spanish, that the link does not work and what to do instead
        assert browser.title == "Este enlace no funciona"
        text = browser.find_element(By.TAG_NAME, "main").text
        assert "use el enlace del final del último que recibió, o respóndalo" in text
        # And it is Pregón's neutral page: the link proves nothing, so it names no company
        assert "Cargas del Sur" not in browser.page_source
        sheets = [
            e.get_attribute("href") for e in browser.find_elements(By.CSS_SELECTOR, "link[rel=stylesheet]")
        ]
        assert sheets == [f"{web}/assets/pregon.css"]
        screenshot(browser, "s35-dropped-key-unsubscribe")
        # And the answer is a 422 page, in English for an English browser
        english = page(api.http.get(link, headers=ENGLISH), 422)
        assert "<h1>This link does not work</h1>" in english and "reply to it" in english
        # And the page's button or a browser posting the link is answered the same page
        posted = page(api.http.post(link, headers=FORM, body=b""), 422)
        assert "Este enlace no funciona" in posted
        # And a mail program's one-click POST keeps its JSON answer
        one_click = api.http.post(link, headers=ONE_CLICK, body=b"List-Unsubscribe=One-Click")
        assert one_click.status_code == 422 and body(one_click)["field"] == "token"


def test_a_tracking_alerts_refused_unsubscribe_link_is_a_page_for_each_reason(
    api: Client, tenant: Tenant
) -> None:
    # Given links of the company's alert e-mails: one whose 30 days and grace are over, one whose
    # subscription is no longer there, a confirmation link, one forged, one cut, none at all
    expired = tracking_token("unsubscribe", tenant.company_id, "TRK-OLD", expires=-timedelta(minutes=1))
    gone = tracking_token("unsubscribe", tenant.company_id, "TRK-GONE", expires=timedelta(days=5))
    confirm = tracking_token("confirm", tenant.company_id, "TRK-C", expires=timedelta(days=1))
    forged = signed_by_a_stranger(gone)
    cut = gone[: len(gone) // 2]
    for method, headers in (("GET", {}), ("POST", FORM)):

        def ask(
            token: str, extra: dict[str, str] | None = None, method: str = method, headers: Any = headers
        ) -> Any:
            path = f"/public/unsubscribe?token={token}"
            return api.http.request(method, path, headers={**headers, **(extra or {})}, body=b"")

        # When the person opens (or posts) each in their browser
        # Then an expired one is a 410 page in the company's look naming the parcel
        shown = page(ask(expired), 410)
        assert "<h1>Este enlace venció</h1>" in shown and "TRK-OLD" in shown
        assert brand_of(tenant) in shown and "Cargas del Sur" in shown
        # And in English for an English browser
        assert "<h1>This link has expired</h1>" in page(ask(expired, ENGLISH), 410)
        # And one whose subscription is gone is a 404 page: nothing left to stop
        shown = page(ask(gone), 404)
        assert "<h1>No hay avisos que cancelar</h1>" in shown and "TRK-GONE" in shown
        # And a confirmation link used to unsubscribe is refused (422), in the company's look
        shown = page(ask(confirm), 422)
        assert "<h1>Este enlace no funciona</h1>" in shown and brand_of(tenant) in shown
        # And forged and cut ones are the neutral 422 page, which names no company nor parcel
        for bad in (forged, cut):
            shown = page(ask(bad), 422)
            assert "<h1>Este enlace no funciona</h1>" in shown and "el último aviso que recibió" in shown
            assert "Cargas del Sur" not in shown and "TRK-GONE" not in shown and "brand.css" not in shown
        # And no token at all is a 422 page saying the link was cut
        assert "<h1>Este enlace está incompleto</h1>" in page(ask(""), 422)
    # And a mail program's one-click POST of the forged link keeps its JSON answer
    one_click = api.http.post(f"/public/unsubscribe?token={forged}", headers=ONE_CLICK, body=b"")
    assert one_click.status_code == 422 and body(one_click)["field"] == "token"


def test_a_refused_confirmation_link_says_how_to_ask_again(api: Client, tenant: Tenant) -> None:
    # Given a parcel, and the link of a confirmation e-mail sent more than 48 hours ago
    issue(api, tenant, "TRK-LATE")
    late = tracking_token("confirm", tenant.company_id, "TRK-LATE", expires=-timedelta(hours=1))
    # When the person opens it
    shown = page(api.http.get(f"/public/subscriptions/confirm?token={late}"), 410)
    # Then the page says it expired, in the company's look, with a link to ask for alerts again
    assert "<h1>Este enlace venció</h1>" in shown and brand_of(tenant).replace("../", "../../") in shown
    again = f"/track/{tenant.company_id}?tracking_id=TRK-LATE"
    assert f'<a href="https://pregon.test{again}">Vuelva a pedir los avisos</a>' in shown
    # When a link of a subscription that is gone is pressed
    gone = tracking_token("confirm", tenant.company_id, "TRK-LATE", expires=timedelta(hours=1))
    shown = page(api.http.post(f"/public/subscriptions/confirm?token={gone}", headers=FORM, body=b""), 404)
    # Then the page says it no longer works, and how to ask again
    assert "<h1>Este enlace ya no funciona</h1>" in shown and "vuelva a pedir los avisos" in shown
    # And a program posting it keeps the JSON answer
    program = api.http.post(f"/public/subscriptions/confirm?token={gone}", headers=ONE_CLICK, body=b"")
    assert program.status_code == 404 and body(program)["error"] == "NotFound"


def test_a_manual_unsubscribe_page_never_tells_more_than_its_link_proves(api: Client, tenant: Tenant) -> None:
    # Given a link the company signed for a client it no longer has
    signed = manual_token(tenant.company_id, "CLI-GONE")
    # When the person opens it
    shown = page(api.http.get(f"/public/manual-sends/unsubscribe?token={signed}"), 404)
    # Then the page, in the company's look, says there is nothing to stop, not why
    assert "<h1>Este enlace ya no funciona</h1>" in shown and "Cargas del Sur" in shown
    assert "cliente" not in shown.lower() and "CLI-GONE" not in shown
    # When links are forged naming the company, or a company that does not exist
    real = signed_by_a_stranger(signed)
    none = signed_by_a_stranger(manual_token("no-such-company", "CLI-GONE"))
    answers = [page(api.http.get(f"/public/manual-sends/unsubscribe?token={t}"), 422) for t in (real, none)]
    # Then both get the very same neutral page: it tells nobody which companies exist
    assert answers[0] == answers[1] and "Cargas del Sur" not in answers[0]
    # And a link that works opens its page in the browser's language and the company's look
    put_client(api, tenant, "CLI-2")
    link = f"/public/manual-sends/unsubscribe?token={manual_token(tenant.company_id, 'CLI-2')}"
    shown = page(api.http.get(link, headers=ENGLISH), 200)
    assert "Stop receiving mailings from Cargas del Sur?" in shown
    assert brand_of(tenant).replace("../", "../../") in shown


def test_an_unsubscribe_whose_event_cannot_be_told_yet_is_a_page_saying_it_is_saved_and_how_to_finish(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from chalicelib.core import clock
    from chalicelib.messaging.webhooks import service
    from tests.steps.webhooks import Receiver, deliver_webhooks, webhook_queue_refusing

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    with Receiver() as receiver:
        # Given a client with a manual e-mail's unsubscribe link, and an endpoint for unsubscribes
        put_client(api, tenant, "CLI-3")
        endpoint = api.http.post(
            "/webhooks",
            headers=tenant.admin_headers(),
            body=json.dumps({"url": receiver.url, "events": ["client.unsubscribed"]}),
        )
        assert endpoint.status_code == 201, endpoint.body
        link = f"/public/manual-sends/unsubscribe?token={manual_token(tenant.company_id, 'CLI-3')}"
        # When the person presses the page's button while the company's webhook queue refuses events
        with webhook_queue_refusing(times=1000):
            spanish = api.http.post(link, headers=FORM, body=b"")
            english = api.http.post(link, headers={**FORM, **ENGLISH}, body=b"")
        # Then a 503 page, in the company's look and the browser's language, says the request is
        # saved and that pressing the button again in a minute finishes it
        shown = page(spanish, 503)
        assert spanish.headers["Retry-After"] == "60" and spanish.headers["Vary"] == "Accept-Language"
        assert "<title>Falta poco</title>" in shown and "<h1>Falta poco</h1>" in shown
        # (what stops is what the link stops: manual and bulk mailings, not invoices nor alerts)
        assert (
            "Su pedido quedó guardado: no recibirá más envíos manuales ni masivos de Cargas del Sur. "
            "Solo falta avisarle a Cargas del Sur" in shown
        )
        assert brand_of(tenant).replace("../", "../../") in shown
        assert '<form method="post" action="?token=' in shown
        assert '<button type="submit">Terminar</button>' in shown
        # (a saved request is good news: it is not shown as an error)
        assert 'class="notice bad"' not in shown and 'role="status"' in shown
        english_page = page(english, 503)
        assert "<h1>Almost done</h1>" in english_page
        assert "you will receive no more manual or bulk mailings from Cargas del Sur." in english_page
        assert '<html lang="en">' in english_page
        # When the queue takes events again and the person presses the button again
        done = page(api.http.post(link, headers=FORM, body=b""), 200)
        # Then the page says it is done, and the company's systems heard of it once
        assert "Cargas del Sur" in done
        deliver_webhooks()
        events = receiver.events(body(endpoint)["secret"], clock.now().timestamp())
        assert [(e["type"], e["data"]["client_id"]) for e in events] == [("client.unsubscribed", "CLI-3")]


def test_the_alert_forms_address_opened_in_the_browser_is_the_tracking_page(
    api: Client, tenant: Tenant
) -> None:
    # Given a parcel
    issue(api, tenant, "TRK-AGAIN")
    # When the person opens the address the alert form posted to (reloaded, bookmarked, shared)
    shown = page(api.http.get(f"/track/{tenant.company_id}/subscriptions?tracking_id=TRK-AGAIN"), 200)
    # Then it is the tracking page with the parcel, not a 405 in JSON
    assert "Envío TRK-AGAIN" in shown and 'action="subscriptions"' in shown
    # And for a company that does not exist, the neutral page that says so
    missing = page(api.http.get("/track/no-such-company/subscriptions", headers=ENGLISH), 404)
    assert "<h1>Page not found</h1>" in missing

"""The HTTP API as its three kinds of callers use it: bad input, tenants, unsubscribe, secrets."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.aws import moto_received
from tests.steps.domains import verified_sending_domain
from tests.steps.mail import wire_problems
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import IDENTITY, SMTP_PASSWORD, Tenant
from tests.steps.tracking import (
    T0,
    ask_for_alerts,
    confirm_by_link,
    confirmation_link,
    issue,
    post_event,
    staff_subscribe,
    subscribe,
    sweep,
    track,
)


def unsubscribe_token(mail: Any) -> str:
    url = mail["List-Unsubscribe"].strip("<>")
    return parse_qs(urlparse(url).query)["token"][0]


def alert_for(api: Client, tenant: Tenant, mailbox: MailCatcher, tracking_id: str) -> Any:
    issue(api, tenant, tracking_id)
    subscribe(api, tenant, tracking_id, "ana@example.com")
    post_event(api, tenant, tracking_id, "ev-1", "IN_TRANSIT", minutes=1)
    sweep(tenant)
    return mailbox.wait_for(1)[0]


def test_the_public_look_up_answers_exactly_the_documented_fields(api: Client, tenant: Tenant) -> None:
    # Given a parcel with one status event
    from chalicelib.api.schemas import PublicHistoryEntry, PublicTrackingOut

    issue(api, tenant, "TRK-PUB")
    post_event(api, tenant, "TRK-PUB", "ev-1", "IN_TRANSIT", minutes=1)

    # When the end customer looks it up
    public = track(api, tenant, "TRK-PUB")

    # Then the answer has PublicTrackingOut's fields and no more (no staff fields such as "hidden")
    assert set(public) == set(PublicTrackingOut.model_fields)
    [entry] = public["history"]
    assert set(entry) == set(PublicHistoryEntry.model_fields)
    assert entry["status"] == "IN_TRANSIT"


def test_the_staff_look_up_answers_what_the_api_document_says_an_alert_waiting_included(
    api: Client, tenant: Tenant
) -> None:
    from chalicelib.api.schemas import IssueResultOut, NoveltyOut, StaffParcelOut

    # Given a parcel someone follows, whose newest event waits for the sweep to be told
    issue(api, tenant, "TRK-STAFF")
    staff_subscribe(api, tenant, "TRK-STAFF", "ana@example.com")
    post_event(api, tenant, "TRK-STAFF", "ev-1", "IN_TRANSIT", minutes=1)
    # When the back office looks it up, and issues it again
    looked = api.http.get("/parcels/TRK-STAFF", headers=tenant.key_headers())
    again = api.http.post(
        "/parcels",
        headers=tenant.key_headers(),
        body=json.dumps({"tracking_id": "TRK-STAFF", "client_id": "CLI-1", "waybill_issued": True}),
    )
    # Then both answers have the documented fields and no more, the waiting alert as documented
    for answer, model in ((body(looked), StaffParcelOut), (body(again), IssueResultOut)):
        assert set(answer) == set(model.model_fields)
        model.model_validate(answer)
        assert set(answer["pending_alert"]) == set(NoveltyOut.model_fields)
        assert answer["pending_alert"]["event_id"] == answer["latest"]["event_id"] == "ev-1"


def test_a_tracking_id_is_found_whatever_case_it_is_typed_in(api: Client, tenant: Tenant) -> None:
    # Given a parcel the carrier issued as AB-1001, with one event
    issue(api, tenant, "AB-1001")
    post_event(api, tenant, "AB-1001", "ev-1", "IN_TRANSIT", minutes=1)
    # When staff and the end customer look it up typed in lower case
    staff = api.http.get("/parcels/ab-1001", headers=tenant.key_headers())
    public = track(api, tenant, "ab-1001")
    # Then both find it, spelled as the carrier spells it, with its history
    assert staff.status_code == 200, staff.body
    assert body(staff)["tracking_id"] == "AB-1001" and len(body(staff)["history"]) == 1
    assert public["tracking_id"] == "AB-1001" and len(public["history"]) == 1
    # And an event posted in another case is the same parcel's, as is an issue again in lower case
    post_event(api, tenant, "Ab-1001", "ev-2", "DELIVERED", minutes=2)
    issue(api, tenant, "ab-1001")
    again = body(api.http.get("/parcels/AB-1001", headers=tenant.key_headers()))
    assert [entry["event_id"] for entry in again["history"]] == ["ev-1", "ev-2"]
    assert again["tracking_id"] == "AB-1001"


def test_a_tracking_id_typed_with_a_letter_that_only_looks_ascii_is_not_found(
    api: Client, tenant: Tenant
) -> None:
    # Given the parcel SKI-1
    issue(api, tenant, "SKI-1")
    # When it is looked up with a long s (ſ) or a dotless i (ı), whose capitals are S and I
    for typed in ("ſki-1", "skı-1"):
        staff = api.http.get(f"/parcels/{typed}", headers=tenant.key_headers())
        public = api.http.get(f"/public/{tenant.company_id}/parcels/{typed}")
        # Then neither finds it: only ASCII letters are read without regard to case (decision 0019)
        assert (staff.status_code, public.status_code) == (404, 404), typed


# --- unsubscribe (T7, RFC 8058) ------------------------------------------------------------


def test_unsubscribe_link_shows_a_page_whose_button_cancels(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given Ana received an alert with an unsubscribe link in the body and the headers
    mail = alert_for(api, tenant, mailbox, "TRK-U1")
    token = unsubscribe_token(mail)
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert token in html
    # When she (or a link scanner) opens the link
    page = api.http.get(f"/public/unsubscribe?token={token}")
    # Then a page asks her to confirm, with a button that posts back, and nothing is cancelled yet
    assert page.status_code == 200 and "TRK-U1" in page.body.decode()
    assert f'<form method="post" action="?token={token}">' in page.body.decode()
    subs = body(api.http.get("/parcels/TRK-U1/subscriptions", headers=tenant.staff_headers()))["items"]
    assert subs[0]["active"] is True and subs[0]["cancelled_at"] is None
    # When she presses the button
    done = api.http.post(
        f"/public/unsubscribe?token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        body=b"",
    )
    # Then she sees it is done and gets no further alerts
    assert done.status_code == 200 and "No recibirá más avisos" in done.body.decode()
    post_event(api, tenant, "TRK-U1", "ev-2", "DELIVERED", minutes=2)
    assert sweep(tenant).sent == 0
    subs = body(api.http.get("/parcels/TRK-U1/subscriptions", headers=tenant.staff_headers()))["items"]
    assert subs[0]["active"] is False and subs[0]["cancelled_at"]


def test_one_click_post_cancels(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given an alert
    mail = alert_for(api, tenant, mailbox, "TRK-U2")
    # When the mail client posts the RFC 8058 one-click body
    response = api.http.post(
        f"/public/unsubscribe?token={unsubscribe_token(mail)}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"List-Unsubscribe=One-Click",
    )
    # Then the subscription is cancelled
    assert response.status_code == 200 and body(response)["unsubscribed"] is True
    follow_ups = body(api.http.get("/follow-ups", headers=tenant.staff_headers()))["items"]
    assert "TRK-U2" not in [f["tracking_id"] for f in follow_ups]


def test_tampered_token_is_refused(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given a real token with its subscription id swapped
    token = unsubscribe_token(alert_for(api, tenant, mailbox, "TRK-U3"))
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload[:-2]}xx.{signature}"
    # When someone uses it, or uses none
    responses = [
        api.http.get(f"/public/unsubscribe?token={forged}"),
        api.http.post(
            f"/public/unsubscribe?token={forged}",
            body=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        api.http.get("/public/unsubscribe"),
    ]
    # Then it is refused: the one-click POST naming the token, the links a browser opens with a
    # page saying so (tests/integration/test_public_link_pages.py), and the subscription stays active
    assert [r.status_code for r in responses] == [422, 422, 422]
    assert body(responses[1])["field"] == "token"
    assert "Este enlace no funciona" in responses[0].body.decode()
    assert "Este enlace está incompleto" in responses[2].body.decode()
    subs = body(api.http.get("/parcels/TRK-U3/subscriptions", headers=tenant.staff_headers()))["items"]
    assert subs[0]["active"] is True


# --- double opt-in and limits on the public subscribe route (issue 8, item 1) --------------


def test_a_public_subscription_is_sent_only_a_confirmation_until_the_address_confirms(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    # Given a parcel that moves
    issue(api, tenant, "TRK-O1")
    post_event(api, tenant, "TRK-O1", "ev-1", "OUT_FOR_DELIVERY", minutes=1)
    # When someone asks for alerts for Ana's address from the tracking site
    asked = ask_for_alerts(api, tenant, "TRK-O1", "ana@example.com", "Ana")
    # Then the answer says a confirmation was sent, and only that e-mail arrives: from the
    # company's tracking account, with a link, and none of the text the requester typed
    assert asked.status_code == 202 and body(asked)["status"] == "confirmation_sent"
    report = sweep(tenant)
    assert report.queued == 0
    [mail] = mailbox.wait_for(1)
    raw = mailbox.files()[0].read_bytes()
    assert re.search(rb"(?m)^To: ana@example\.com\r?$", raw), raw[:400]
    assert mail["From"].addresses[0].addr_spec == "avisos@cargasdelsur.example"
    assert "TRK-O1" in mail["Subject"] and b"Ana" not in raw
    path, link = confirmation_link(mailbox, "ana@example.com")
    # When a link scanner opens the link (GET): a page with a button, and nothing changes
    scanned = api.http.get(link)
    assert scanned.status_code == 200 and 'method="post"' in scanned.body.decode()
    assert sweep(tenant).queued == 0
    [waiting] = body(api.http.get("/parcels/TRK-O1/subscriptions", headers=tenant.staff_headers()))["items"]
    assert waiting["awaiting_confirmation"] is True and waiting["active"] is False
    # When Ana presses the button
    path.unlink()
    confirmed = confirm_by_link(api, link)
    # Then she sees it is confirmed, and the parcel's latest status reaches her once
    assert confirmed.status_code == 200 and "TRK-O1" in confirmed.body.decode()
    assert sweep(tenant).sent == 1
    [alert] = mailbox.wait_for(1)
    assert envelope_recipients(alert) == ["ana@example.com"] and "En distribución" in alert["Subject"]
    # And pressing it again changes nothing
    assert confirm_by_link(api, link).status_code == 200
    assert sweep(tenant).sent == 0
    # When, a day later, a stranger asks again for her address with another name
    clock.set_now(T0 + timedelta(days=1))
    mailbox.files()[0].unlink()
    again = ask_for_alerts(api, tenant, "TRK-O1", "ana@example.com", "Gana")
    # Then the answer is the one any new address gets: nobody learns that she follows the parcel
    unknown = ask_for_alerts(api, tenant, "TRK-O1", "nadie@example.com")
    assert again.status_code == 202 and body(again)["status"] == "confirmation_sent"
    assert {k: v for k, v in body(again).items()} == body(unknown)
    # And nothing changes until she says so: her name and end stay, and she gets a link
    [sub] = [
        s
        for s in body(api.http.get("/parcels/TRK-O1/subscriptions", headers=tenant.staff_headers()))["items"]
        if s["email"] == "ana@example.com"
    ]
    assert sub["first_name"] == "Ana" and sub["active"] is True
    assert sub["expires_at"].startswith((T0 + timedelta(days=30)).date().isoformat())
    deliver_outboxes()
    path, renewal = confirmation_link(mailbox, "ana@example.com")
    # When she presses it, her subscription follows the parcel 30 days from now
    assert confirm_by_link(api, renewal).status_code == 200
    [sub] = [
        s
        for s in body(api.http.get("/parcels/TRK-O1/subscriptions", headers=tenant.staff_headers()))["items"]
        if s["email"] == "ana@example.com"
    ]
    assert sub["first_name"] == "Ana" and sub["active"] is True
    assert sub["expires_at"].startswith((T0 + timedelta(days=31)).date().isoformat())
    assert sweep(tenant).sent == 0


def test_an_unconfirmed_subscription_lapses_after_48_hours(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    # Given someone asked for alerts for Ana and the confirmation e-mail arrived
    issue(api, tenant, "TRK-O2")
    assert ask_for_alerts(api, tenant, "TRK-O2", "ana@example.com").status_code == 202
    deliver_outboxes()
    _, link = confirmation_link(mailbox, "ana@example.com")
    # When she presses its button 48 hours and a minute later
    clock.set_now(T0 + timedelta(hours=48, minutes=1))
    late = api.http.post(link, headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"")
    # Then the link has lapsed, and the parcel's novelties reach nobody
    assert late.status_code == 410 and "expired" in body(late)["message"]
    post_event(api, tenant, "TRK-O2", "ev-1", "DELIVERED", minutes=60 * 48 + 2)
    assert sweep(tenant).queued == 0
    [sub] = body(api.http.get("/parcels/TRK-O2/subscriptions", headers=tenant.staff_headers()))["items"]
    assert sub["active"] is False


def test_a_link_confirms_only_what_was_asked_when_it_was_sent(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given Ana asked for alerts from the tracking site, and her confirmation e-mail arrived
    issue(api, tenant, "TRK-O5")
    assert ask_for_alerts(api, tenant, "TRK-O5", "ana@example.com", "Ana").status_code == 202
    deliver_outboxes()
    path, first = confirmation_link(mailbox, "ana@example.com")
    path.unlink()
    # And she asked again the same way: the link she has still stands
    assert ask_for_alerts(api, tenant, "TRK-O5", "ana@example.com", "Ana").status_code == 202
    deliver_outboxes()
    path, _ = confirmation_link(mailbox, "ana@example.com")
    path.unlink()
    assert 'method="post"' in api.http.get(first).body.decode()
    # When, before she presses it, a stranger asks for her address with another name and a phone
    stranger = ask_for_alerts(api, tenant, "TRK-O5", "ana@example.com", "Eva", phone="+5491159876543")
    assert stranger.status_code == 202
    deliver_outboxes()
    _, latest = confirmation_link(mailbox, "ana@example.com")
    # Then the link Ana already had confirms nothing, and nobody follows the parcel
    pressed = api.http.post(first, headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"")
    assert pressed.status_code == 404, pressed.body
    [sub] = body(api.http.get("/parcels/TRK-O5/subscriptions", headers=tenant.staff_headers()))["items"]
    assert sub["active"] is False and sub["awaiting_confirmation"] is True
    # And only the newest link, sent to her address, confirms what was asked last
    assert confirm_by_link(api, latest).status_code == 200
    [sub] = body(api.http.get("/parcels/TRK-O5/subscriptions", headers=tenant.staff_headers()))["items"]
    assert (sub["first_name"], sub["phone"], sub["active"]) == ("Eva", "+5491159876543", True)


def test_public_subscribe_is_limited_per_parcel_per_address_and_per_client(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    for n in range(4):
        issue(api, tenant, f"TRK-L{n}")
    # Given ten addresses were subscribed to one parcel from the site
    for n in range(10):
        assert ask_for_alerts(api, tenant, "TRK-L0", f"p{n}@example.com").status_code == 202
    # When an eleventh is asked for the same parcel
    refused = ask_for_alerts(api, tenant, "TRK-L0", "p10@example.com")
    # Then it is refused with 429 and a Retry-After up to the end of the hour's window
    assert refused.status_code == 429, refused.body
    assert "this parcel" in body(refused)["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # When one address is asked for again and again (each asking re-sends the confirmation)
    answers = [ask_for_alerts(api, tenant, "TRK-L1", "eve@example.com").status_code for _ in range(4)]
    # Then the fourth confirmation within a day is refused
    assert answers == [202, 202, 202, 429]
    # When the same client keeps asking, for other parcels and addresses (15 requests so far)
    more = [ask_for_alerts(api, tenant, "TRK-L2", f"q{n}@example.com").status_code for n in range(6)]
    # Then its 21st request within the hour is refused
    assert more == [202] * 5 + [429]
    # And what was refused sent nothing: 10 + 3 + 5 confirmation e-mails in all
    deliver_outboxes()
    assert len(mailbox.wait_for(18)) == 18
    # When the hour has passed, the client may ask again
    clock.set_now(T0 + timedelta(hours=1))
    assert ask_for_alerts(api, tenant, "TRK-L3", "r@example.com").status_code == 202


def test_a_client_on_ipv6_cannot_pass_the_per_client_limit_by_changing_address(
    api: Client, tenant: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalice.local import LambdaEventConverter

    for n in range(3):
        issue(api, tenant, f"TRK-V{n}")
    # Given a client on IPv6, whose network (a /64, as every home and host is given) lets it pick
    # a new source address for every request
    answers = []
    for n in range(21):
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", f"2001:db8:7:1::{n + 1:x}")
        # When it asks for alerts 21 times within the hour, for other parcels and addresses
        answers.append(ask_for_alerts(api, tenant, f"TRK-V{n // 8}", f"v{n}@example.com").status_code)
    # Then its 21st request is refused as if it came from one address
    assert answers == [202] * 20 + [429]
    # And a client on another network is not held back by it
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "2001:db8:7:2::1")
    assert ask_for_alerts(api, tenant, "TRK-V2", "w@example.com").status_code == 202


def test_a_client_on_ipv6_cannot_pass_the_limits_by_taking_each_request_from_another_64(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import secrets

    from chalice.local import LambdaEventConverter

    from chalicelib.producers.tracking import limits
    from chalicelib.store.rate_limits import Limit

    # Given a site (an IPv6 /48: 65,536 /64s, what a tunnel broker gives away) may make five times
    # what one client may, played here at 4 subscribe requests and 6 look-ups an hour so that a
    # few requests show it; and one client 3 subscribe requests
    assert (limits.SUBSCRIBE_PER_SITE.count, limits.SUBSCRIBE_PER_SITE_ANYWHERE.count) == (100, 300)
    assert limits.LOOKUPS_PER_SITE_ANYWHERE.count == 1500
    monkeypatch.setattr(limits, "SUBSCRIBE_PER_SITE", Limit("site", 4, 3600))
    monkeypatch.setattr(limits, "LOOKUPS_PER_SITE_ANYWHERE", Limit("lookup-site", 6, 3600))
    monkeypatch.setattr(limits, "SUBSCRIBE_PER_CLIENT", Limit("ip", 3, 3600))
    for n in range(2):
        issue(api, tenant, f"TRK-S{n}")
    site = f"2001:db8:{secrets.randbelow(0xFFFF) + 1:x}"  # this test's own /48

    def from_address(address: str) -> None:
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)

    # When a client asks for alerts five times within the hour, each time from another /64 of its /48
    answers = []
    for n in range(5):
        from_address(f"{site}:{n + 1:x}::1")
        answers.append(ask_for_alerts(api, tenant, "TRK-S0", f"s{n}@example.com"))
    # Then the fifth is refused, for its network
    assert [a.status_code for a in answers] == [202] * 4 + [429]
    assert body(answers[-1])["message"].startswith("too many requests from this network")
    # When it looks a parcel up seven times, each time from yet another /64
    looked = []
    for n in range(7):
        from_address(f"{site}:{n + 100:x}::1")
        looked.append(api.http.get(f"/public/{tenant.company_id}/parcels/TRK-S1"))
    # Then the seventh is refused, for its network
    assert [a.status_code for a in looked] == [200] * 6 + [429]
    assert body(looked[-1])["message"].startswith("too many look-ups from this network")
    # And a client of another /48 is not held back
    from_address("2001:db8:0:1::1")  # 2001:db8::/48: no test's site is it
    assert ask_for_alerts(api, tenant, "TRK-S1", "t@example.com").status_code == 202
    # When a client on 6to4 (the /48 2002:<its IPv4>::/48 is every IPv4 address's) asks four
    # times, each time from another /64 of it
    ipv4 = secrets.randbelow(254) + 1
    six_to_four = [f"2002:cb00:71{ipv4:02x}:{n + 1:x}::1" for n in range(4)]  # 203.0.113.<ipv4>
    answers = []
    for n, address in enumerate(six_to_four):
        from_address(address)
        answers.append(ask_for_alerts(api, tenant, "TRK-S1", f"u{n}@example.com"))
    # Then it is counted as its one IPv4 address: the fourth is refused
    assert [a.status_code for a in answers] == [202] * 3 + [429]
    assert body(answers[-1])["message"].startswith("too many requests from this address")


def test_spellings_of_one_mailbox_share_its_limit_of_confirmations(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    issue(api, tenant, "TRK-P0")
    issue(api, tenant, "TRK-P1")
    # Given a stranger who knows that every +tag of an address, and a Gmail address with dots
    # anywhere or at googlemail.com, reaches the very same mailbox
    spellings = [
        "victim+1@example.com",
        "Victim+2@example.com",
        "victim+news@example.com",
        "victim@example.com",
        "jane.doe@gmail.com",
        "j.a.n.e.d.o.e+x@gmail.com",
        "janedoe@googlemail.com",
        "JaneDoe+y@gmail.com",
    ]
    # When they ask for alerts with each spelling, to flood the two mailboxes with confirmations
    answers = [
        ask_for_alerts(api, tenant, f"TRK-P{n // 4}", email).status_code for n, email in enumerate(spellings)
    ]
    # Then each mailbox is sent three confirmations that day, as if one spelling were used
    assert answers == [202, 202, 202, 429] * 2
    deliver_outboxes()
    assert len(mailbox.wait_for(6)) == 6
    # And a different mailbox of the same domains is not held back by it
    assert ask_for_alerts(api, tenant, "TRK-P1", "victim2@example.com").status_code == 202
    assert ask_for_alerts(api, tenant, "TRK-P1", "jane.doe2@gmail.com").status_code == 202


def test_one_address_is_sent_at_most_ten_confirmations_a_day_across_companies(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from tests.steps.tenants import make_tenant

    # Given four carriers using Pregón, each with a parcel whose alerts can be asked for
    carriers = [tenant, *(make_tenant(mailbox, name=f"Carrier {n}") for n in range(3))]
    for carrier in carriers:
        issue(api, carrier, "TRK-X")
    # When a stranger asks each carrier in turn to send the victim a confirmation, over and over
    answers = [
        ask_for_alerts(api, carrier, "TRK-X", "victim@example.com").status_code
        for carrier in carriers
        for _ in range(3)
    ]
    # Then the victim gets ten confirmations that day and no more, whichever carrier is asked
    assert answers == [202] * 10 + [429, 429]
    deliver_outboxes()
    assert len(mailbox.wait_for(10)) == 10
    assert all(m["To"] == "victim@example.com" for m in mailbox.messages())
    # And someone else's address is not held back by it
    assert ask_for_alerts(api, carriers[3], "TRK-X", "ana@example.com").status_code == 202
    # And the next day the victim may be asked for again
    clock.set_now(T0 + timedelta(days=1))
    assert ask_for_alerts(api, carriers[3], "TRK-X", "victim@example.com").status_code == 202


def test_one_client_asks_at_most_sixty_times_an_hour_across_companies(
    api: Client, tenant: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalice.local import LambdaEventConverter

    from tests.steps.tenants import make_tenant

    # Given four carriers, each with parcels whose alerts can be asked for
    carriers = [tenant, *(make_tenant(mailbox, name=f"Carrier {n}") for n in range(3))]
    for carrier in carriers:
        for n in range(2):
            issue(api, carrier, f"TRK-C{n}")
    # When one client asks the first three for alerts twenty times each (each one's own limit)
    answers = [
        ask_for_alerts(api, carrier, f"TRK-C{n // 10}", f"c{c}-{n}@example.com").status_code
        for c, carrier in enumerate(carriers[:3])
        for n in range(20)
    ]
    assert answers == [202] * 60
    # Then its request to the fourth is refused too: sixty an hour in all
    refused = ask_for_alerts(api, carriers[3], "TRK-C0", "d@example.com")
    assert refused.status_code == 429, refused.body
    assert "too many requests from this address" in body(refused)["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # And another client is not held back by it
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "192.0.2.77")
    assert ask_for_alerts(api, carriers[3], "TRK-C0", "d@example.com").status_code == 202


def test_one_phone_is_given_for_sms_alerts_on_at_most_three_public_subscriptions_a_day(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given four parcels whose alerts can be asked for
    for n in range(4):
        issue(api, tenant, f"TRK-P{n}")
    # When someone asks for alerts on each, with a new address of their own and the same phone
    answers = [
        ask_for_alerts(api, tenant, f"TRK-P{n}", f"me{n}@example.com", phone="+54 9 351 555 0199")
        for n in range(4)
    ]
    # Then the fourth is refused, naming the phone (nobody verifies it belongs to them)
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert body(answers[3])["field"] == "phone" and "this phone number" in body(answers[3])["message"]
    # And the same phone written otherwise is the same phone
    other_form = ask_for_alerts(api, tenant, "TRK-P3", "me9@example.com", phone="0351 15-555-0199")
    assert other_form.status_code == 429
    # And asking without a phone still works
    assert ask_for_alerts(api, tenant, "TRK-P3", "me3@example.com").status_code == 202
    # And the next day the phone may be given again
    clock.set_now(T0 + timedelta(days=1))
    assert ask_for_alerts(api, tenant, "TRK-P3", "me4@example.com", phone="+5493515550199").status_code == 202


def test_a_phone_given_on_the_public_page_is_one_of_the_companys_country(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given an Argentine carrier's parcel whose alerts can be asked for
    issue(api, tenant, "TRK-X0")
    # When strangers ask for alerts with a mobile abroad: Spain's, and Jamaica's (+1 876, the
    # country code of the US and Canada), each an SMS the carrier would pay for on every alert
    answers = [
        ask_for_alerts(api, tenant, "TRK-X0", f"x{n}@example.com", phone=phone)
        for n, phone in enumerate(["+34 612 34 56 78", "+1 876 555 1234"])
    ]
    # Then each is refused, naming the phone, and nothing is sent
    for answer in answers:
        assert answer.status_code == 422, answer.body
        assert body(answer)["field"] == "phone"
        assert "must be a phone number of AR, the company's country" in body(answer)["message"]
    deliver_outboxes()
    assert mailbox.messages() == []
    # And an Argentine mobile is taken
    argentine = ask_for_alerts(api, tenant, "TRK-X0", "x9@example.com", phone="011 15-4123-9876")
    assert argentine.status_code == 202, argentine.body
    # And the company's staff, whom the person asked, may still give a number abroad
    staff_subscribe(api, tenant, "TRK-X0", "x0@example.com", phone="+34 612 34 56 78")


def test_a_client_walking_through_tracking_ids_is_held_back_after_300_look_ups_an_hour(
    api: Client,
    tenant: Tenant,
    other_tenant: Tenant,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
    caller_address: str,
) -> None:
    from chalice.local import LambdaEventConverter

    from chalicelib.producers.tracking.limits import LOOKUPS_PER_CLIENT_ANYWHERE

    assert LOOKUPS_PER_CLIENT_ANYWHERE.count == 300
    issue(api, tenant, "TRK-W8")
    # Given a client that looked up 299 tracking ids within the hour, at two carriers, found or not
    for n in range(299):
        carrier = (tenant, other_tenant)[n % 2]
        answer = api.http.get(f"/public/{carrier.company_id}/parcels/TRK-W{n}")
        assert answer.status_code == (200 if n == 8 else 404), (n, answer.body)
    # When it looks up its 300th, then a 301st, as JSON and on the tracking page
    assert api.http.get(f"/public/{tenant.company_id}/parcels/TRK-W8").status_code == 200
    refused = api.http.get(f"/public/{tenant.company_id}/parcels/TRK-W8")
    page = api.http.get(f"/track/{tenant.company_id}?tracking_id=TRK-W8")
    # Then it is refused, with when to try again, and the parcel's history is not shown
    assert refused.status_code == 429, refused.body
    assert "too many look-ups" in body(refused)["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert page.status_code == 429 and 0 < int(page.headers["Retry-After"]) <= 3600
    html = page.body.decode()
    assert "Recibimos demasiadas consultas desde su conexión" in html and "TRK-W8</h2>" not in html
    # And the empty page still answers (it looks nothing up)
    assert api.http.get(f"/track/{tenant.company_id}").status_code == 200
    # And another client still finds the parcel
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "192.0.2.78")
    assert track(api, tenant, "TRK-W8")["tracking_id"] == "TRK-W8"
    # And an hour later the first client may look up again
    clock.set_now(T0 + timedelta(hours=1))
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", caller_address)
    assert api.http.get(f"/track/{tenant.company_id}?tracking_id=TRK-W8").status_code == 200


def test_a_full_parcel_answers_a_follower_and_a_stranger_alike(api: Client, tenant: Tenant) -> None:
    from chalicelib.producers.tracking.subscriptions import MAX_FOLLOWERS

    # Given a parcel a clerk subscribed the most people to, Ana among them
    issue(api, tenant, "TRK-FULL")
    for n in range(MAX_FOLLOWERS - 1):
        staff_subscribe(api, tenant, "TRK-FULL", f"f{n}@example.com")
    staff_subscribe(api, tenant, "TRK-FULL", "ana@example.com")
    # When a stranger asks the tracking site for alerts to Ana's address, and to another one
    ana = ask_for_alerts(api, tenant, "TRK-FULL", "ana@example.com")
    eve = ask_for_alerts(api, tenant, "TRK-FULL", "eve@example.com")
    # Then both answers are the same refusal: nothing tells whether Ana follows the parcel
    assert ana.status_code == eve.status_code == 409, (ana.body, eve.body)
    assert body(ana) == body(eve)
    assert "the most it may have" in body(ana)["message"]


# --- links name one subscription, and only POST changes it (issue 8, item 9) ----------------


def test_an_old_unsubscribe_link_does_not_cancel_a_newer_subscription(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given Ana unsubscribed through the link of an alert, then subscribed again (and confirmed)
    old = unsubscribe_token(alert_for(api, tenant, mailbox, "TRK-U4"))
    one_click = {"Content-Type": "application/x-www-form-urlencoded"}
    first = api.http.post(
        f"/public/unsubscribe?token={old}", headers=one_click, body=b"List-Unsubscribe=One-Click"
    )
    assert first.status_code == 200
    mailbox.clear()
    subscribe(api, tenant, "TRK-U4", "ana@example.com")
    # When the old link is used again (a forwarded e-mail, a scanner replaying the one-click POST)
    again = api.http.post(
        f"/public/unsubscribe?token={old}", headers=one_click, body=b"List-Unsubscribe=One-Click"
    )
    # Then it cancels nothing: the new subscription still gets the next alert
    assert again.status_code == 404 and "no longer exists" in body(again)["message"]
    post_event(api, tenant, "TRK-U4", "ev-2", "DELIVERED", minutes=2)
    assert sweep(tenant).sent == 1
    # And the new alert's own link does cancel it
    new = unsubscribe_token(mailbox.wait_for(1)[0])
    assert new != old
    assert api.http.post(f"/public/unsubscribe?token={new}", headers=one_click, body=b"").status_code == 200


def test_unsubscribe_links_expire_and_a_confirmation_link_cannot_unsubscribe(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    # Given Ana's alert carries an unsubscribe link, and Beto's confirmation e-mail a confirm link
    token = unsubscribe_token(alert_for(api, tenant, mailbox, "TRK-U5"))
    assert ask_for_alerts(api, tenant, "TRK-U5", "beto@example.com").status_code == 202
    deliver_outboxes()
    _, link = confirmation_link(mailbox, "beto@example.com")
    one_click = {"Content-Type": "application/x-www-form-urlencoded"}
    # When the confirm link's token is posted to the unsubscribe route
    confirm_token = link.split("token=", 1)[1]
    misused = api.http.post(f"/public/unsubscribe?token={confirm_token}", headers=one_click, body=b"")
    # Then it is refused naming the token
    assert misused.status_code == 422 and body(misused)["field"] == "token"
    # When Ana's link is used 30 days after her subscription ended
    clock.set_now(T0 + timedelta(days=60, minutes=1))
    late = api.http.post(f"/public/unsubscribe?token={token}", headers=one_click, body=b"")
    # Then it has expired
    assert late.status_code == 410 and "expired" in body(late)["message"]


def test_tracking_links_sent_before_the_link_key_was_rotated_work_until_they_expire(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from tests.steps.links import link_key_rotated, signed_by_a_stranger, signed_with

    # Given Ana's alert carries an unsubscribe link, and Beto's and Cora's confirmation e-mails
    # their confirm links, all signed with the link-signing key of the time
    token = unsubscribe_token(alert_for(api, tenant, mailbox, "TRK-R1"))
    for person in ("beto@example.com", "cora@example.com"):
        assert ask_for_alerts(api, tenant, "TRK-R1", person).status_code == 202
    deliver_outboxes()
    beto, cora = (confirmation_link(mailbox, p)[1] for p in ("beto@example.com", "cora@example.com"))
    one_click = {"Content-Type": "application/x-www-form-urlencoded"}
    # When the operator rotates the key, listing the old one as previous
    with link_key_rotated() as keys:
        # Then Beto's link still confirms his subscription
        assert confirm_by_link(api, beto).status_code == 200
        # And Ana's link, signed by a key that is neither current nor previous, is refused
        forged = api.http.post(
            f"/public/unsubscribe?token={signed_by_a_stranger(token)}", headers=one_click, body=b""
        )
        assert forged.status_code == 422 and body(forged)["field"] == "token"
        # And as sent, it still unsubscribes her with one click
        done = api.http.post(f"/public/unsubscribe?token={token}", headers=one_click, body=b"")
        assert done.status_code == 200, done.body
        # And the next alert goes to Beto alone, with a link signed by the new key, not the old one
        mailbox.clear()
        post_event(api, tenant, "TRK-R1", "ev-2", "OUT_FOR_DELIVERY", minutes=2)
        assert sweep(tenant).sent == 1
        [alert] = mailbox.wait_for(1)
        assert envelope_recipients(alert) == ["beto@example.com"]
        assert signed_with(unsubscribe_token(alert), keys.new) is not None
        assert signed_with(unsubscribe_token(alert), keys.old) is None
        # When Cora presses her old link after it expired (48 hours)
        clock.set_now(T0 + timedelta(hours=48, minutes=1))
        late = api.http.post(cora, headers=one_click, body=b"")
        # Then it has expired, as it would have without the rotation
        assert late.status_code == 410 and "expired" in body(late)["message"]


# --- staff follow-up management (T6.4, T7) ------------------------------------------------


def test_staff_subscribe_list_cancel_and_alert_listings(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a parcel, and a clerk who subscribes Beto by hand
    issue(api, tenant, "TRK-S1")
    response = api.http.post(
        "/parcels/TRK-S1/subscriptions",
        headers=tenant.staff_headers(),
        body=json.dumps({"first_name": "Beto", "last_name": "Paz", "email": "Beto@Example.com"}),
    )
    assert response.status_code == 201, response.body
    beto = body(response)
    assert beto["source"] == "staff" and beto["active"] is True
    subscribe(api, tenant, "TRK-S1", "ana@example.com")
    # When a novelty is swept
    post_event(api, tenant, "TRK-S1", "ev-1", "OUT_FOR_DELIVERY", minutes=1)
    assert sweep(tenant).sent == 2
    # Then the follow-up list shows the parcel with both, and alerts list per parcel and per subscriber
    [follow_up] = [
        f
        for f in body(api.http.get("/follow-ups", headers=tenant.staff_headers()))["items"]
        if f["tracking_id"] == "TRK-S1"
    ]
    assert sorted(s["email"] for s in follow_up["subscribers"]) == ["Beto@example.com", "ana@example.com"]
    parcel_alerts = body(api.http.get("/parcels/TRK-S1/alerts", headers=tenant.staff_headers()))["items"]
    assert sorted(a["recipient_email"] for a in parcel_alerts) == ["Beto@example.com", "ana@example.com"]
    assert all(a["state"] == "sent" and a["message_id"] for a in parcel_alerts)
    beto_alerts = body(api.http.get("/subscribers/beto%40example.com/alerts", headers=tenant.staff_headers()))
    assert [a["tracking_id"] for a in beto_alerts["items"]] == ["TRK-S1"]
    # When the clerk cancels Beto
    cancelled = api.http.delete(
        f"/parcels/TRK-S1/subscriptions/{beto['subscription_id']}", headers=tenant.staff_headers()
    )
    assert cancelled.status_code == 204
    post_event(api, tenant, "TRK-S1", "ev-2", "DELIVERED", minutes=2)
    # Then only Ana hears about the delivery
    assert sweep(tenant).sent == 1
    last = mailbox.wait_for(3)[-1]
    assert last["To"].addresses[0].addr_spec == "ana@example.com"


# --- sender account (C1) and secrets ---------------------------------------------------------


def test_sender_password_is_write_only_and_never_logged(
    api: Client, tenant: Tenant, mailbox: MailCatcher, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    # Given the admin sets up the "all" account and its password
    account = {
        "kind": "smtp",
        "display_name": "Cargas",
        "from_address": "hola@cargas.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "encryption": "none",
        "username": "carrier-mailer",
    }
    put = api.http.put("/sender-accounts/all", headers=tenant.admin_headers(), body=json.dumps(account))
    secret = "Very-Secret-Password-42"
    password = api.http.put(
        "/sender-accounts/all/password", headers=tenant.admin_headers(), body=json.dumps({"password": secret})
    )
    listed = api.http.get("/sender-accounts", headers=tenant.admin_headers())
    # When alerts are sent with the tracking account's stored password
    alert_for(api, tenant, mailbox, "TRK-P1")
    # Then the password is stored (password_set) but appears in no response and no log line
    assert put.status_code == 200 and password.status_code == 204
    accounts = {a["area"]: a for a in body(listed)["items"]}
    assert accounts["all"]["password_set"] is True and accounts["all"]["working"] is True
    everything = put.body + password.body + listed.body
    assert secret.encode() not in everything and SMTP_PASSWORD.encode() not in everything
    assert "password" not in accounts["all"]
    logs = caplog.text + "".join(capsys.readouterr())
    assert secret not in logs and SMTP_PASSWORD not in logs
    assert base64.b64encode(secret.encode()).decode() not in logs
    assert base64.b64encode(SMTP_PASSWORD.encode()).decode() not in logs
    # And the stored value is a KMS ciphertext, not the password
    from chalicelib.store import companies as store

    stored = store.get_sender_accounts(tenant.company_id, ["all"])["all"]
    assert stored.password_ciphertext and secret.encode() not in stored.password_ciphertext


def test_password_for_a_missing_account_is_404(api: Client, tenant: Tenant) -> None:
    response = api.http.put(
        "/sender-accounts/invoices/password",
        headers=tenant.admin_headers(),
        body=json.dumps({"password": "x"}),
    )
    assert response.status_code == 404 and "invoices" in body(response)["message"]


def ses_tracking_account(api: Client, tenant: Tenant, display_name: str) -> tuple[str, dict[str, Any]]:
    """The tracking area sends through SES from a verified domain of the company's; returns the
    domain and the saved account as the API answered it."""
    domain = verified_sending_domain(tenant.company_id, f"{tenant.company_id}.ses.example")
    response = api.http.put(
        "/sender-accounts/tracking",
        headers=tenant.admin_headers(),
        body=json.dumps(
            {
                "kind": "ses",
                "display_name": display_name,
                "from_address": f"avisos@{domain}",
                "ses_identity": domain,
            }
        ),
    )
    assert response.status_code == 200, response.body
    return domain, dict(body(response))


def test_ses_account_sends_through_ses(api: Client, tenant: Tenant, local_aws: dict[str, str]) -> None:

    # Given the tracking area uses a verified SES sending domain
    _, saved = ses_tracking_account(api, tenant, "Avisos")
    assert saved["working"] is True
    # When an alert is swept
    issue(api, tenant, "TRK-SES")
    staff_subscribe(api, tenant, "TRK-SES", "ses-reader@example.com")
    post_event(api, tenant, "TRK-SES", "ev-1", "DELIVERED", minutes=1, observation="En mano")
    assert sweep(tenant).sent == 1
    # Then SES (moto) holds the raw message, with its plain-text part and the unsubscribe header
    sent = moto_received("ses", "RawMessage")
    raw = [m["raw_data"] for m in sent if "ses-reader@example.com" in json.dumps(m)]
    assert raw and "List-Unsubscribe-Post" in raw[-1] and "TRK-SES" in raw[-1]


def test_the_confirmation_email_reaches_the_server_as_a_strict_receiver_reads_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a parcel; When someone asks for alerts from the tracking site
    issue(api, tenant, "TRK-WIRE")
    assert ask_for_alerts(api, tenant, "TRK-WIRE", "ana@example.com", "Ana").status_code == 202
    sweep(tenant)
    mailbox.wait_for(1)
    # Then the double opt-in e-mail's bytes are 7-bit, CRLF, short encoded-words and body lines
    assert wire_problems(mailbox.files()[0].read_bytes(), domain="cargasdelsur.example") == []


def test_an_ses_alert_is_handed_to_ses_as_the_bytes_a_strict_receiver_reads(
    api: Client, tenant: Tenant, local_aws: dict[str, str]
) -> None:
    from tests.steps.aws import recorded_calls

    # Given the tracking area sends through SES under a Spanish display name
    domain, _ = ses_tracking_account(api, tenant, "Envíos Núñez – Córdoba")
    issue(api, tenant, "TRK-SESW")
    staff_subscribe(
        api, tenant, "TRK-SESW", "ses-wire@example.com", first_name="Ana María", last_name="Núñez"
    )
    post_event(api, tenant, "TRK-SESW", "ev-1", "DELIVERED", minutes=1, observation="Recibió Peña")
    # When the alert is swept and sent
    with recorded_calls("sesv2", "SendEmail") as calls:
        assert sweep(tenant).sent == 1
    # Then SES gets the message as the SMTP path writes it: CRLF line ends, 7-bit, each header
    # once, the Message-ID on the sender's domain (RFC 5322; SES signs these bytes with DKIM)
    [call] = calls
    assert wire_problems(call["Content"]["Raw"]["Data"], domain=domain) == []
    # And the API's From is the bare address (SES takes no 8-bit display name there, RFC 2047
    # words only; the raw message's From header carries the name)
    assert call["FromEmailAddress"] == f"avisos@{domain}"


# --- tenants never see each other ----------------------------------------------------------


def test_a_company_cannot_read_or_write_another_companys_data(
    api: Client, tenant: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given company A has a followed parcel
    issue(api, tenant, "TRK-A1")
    subscribe(api, tenant, "TRK-A1", "ana@example.com")
    sub_id = body(api.http.get("/parcels/TRK-A1/subscriptions", headers=tenant.staff_headers()))["items"][0][
        "subscription_id"
    ]
    b_key, b_admin = other_tenant.key_headers(), other_tenant.admin_headers()
    # When company B's key and admin try to reach it
    attempts = {
        "read parcel": api.http.get("/parcels/TRK-A1", headers=b_key),
        "post event": api.http.post(
            "/parcels/TRK-A1/events",
            headers=b_key,
            body=json.dumps(
                {"event_id": "x", "status": "DELIVERED", "occurred_at": "2026-11-02T12:00:00+00:00"}
            ),
        ),
        "list subscriptions": api.http.get("/parcels/TRK-A1/subscriptions", headers=b_admin),
        "cancel": api.http.delete(f"/parcels/TRK-A1/subscriptions/{sub_id}", headers=b_admin),
        "alerts": api.http.get("/parcels/TRK-A1/alerts", headers=b_admin),
    }
    # Then B finds nothing, and A's data is unchanged
    assert {k: r.status_code for k, r in attempts.items()} == {k: 404 for k in attempts}
    assert body(api.http.get("/parcels/TRK-A1/subscriptions", headers=tenant.staff_headers()))["items"][0][
        "active"
    ]
    assert body(api.http.get("/parcels/TRK-A1", headers=tenant.key_headers()))["history"] == []
    # And B's follow-ups, subscriber alerts and accounts do not include A's
    assert body(api.http.get("/follow-ups", headers=b_admin))["items"] == []
    assert body(api.http.get("/subscribers/ana%40example.com/alerts", headers=b_admin))["items"] == []
    assert body(api.http.get("/sender-accounts", headers=b_admin))["items"] == []
    # And B's issuing a parcel with the same tracking id creates B's own parcel, not A's
    issue(api, other_tenant, "TRK-A1")
    assert body(api.http.get("/parcels/TRK-A1/subscriptions", headers=b_admin))["items"] == []


def test_credentials_are_required_and_roles_respected(api: Client, tenant: Tenant) -> None:
    issue(api, tenant, "TRK-R1")
    # No credentials, a wrong key, a token of an unknown issuer key: refused
    assert api.http.get("/parcels/TRK-R1").status_code in (401, 403)
    assert api.http.get("/parcels/TRK-R1", headers={"Authorization": "ApiKey pk_abc.def"}).status_code == 403
    from infrastructure.local.identity import LocalIdentity

    forged = LocalIdentity().mint(tenant.company_id, user_id="mallory", level=1)
    assert api.http.get("/alerts", headers={"Authorization": f"Bearer {forged}"}).status_code == 403
    # An API key cannot change configuration; a level-3 clerk cannot either; the admin can
    change = json.dumps({"enabled": True, "frequency_minutes": 5})
    assert api.http.put("/alerts/tracking", headers=tenant.key_headers(), body=change).status_code == 403
    assert api.http.put("/alerts/tracking", headers=tenant.staff_headers(), body=change).status_code == 403
    assert api.http.put("/alerts/tracking", headers=tenant.admin_headers(), body=change).status_code == 200
    # A read-only key cannot post events
    from chalicelib.tenants.companies import issue_api_key

    read_only = issue_api_key(tenant.company_id, "site", ["parcels:read"])
    response = api.http.post(
        "/parcels/TRK-R1/events",
        headers={"Authorization": f"ApiKey {read_only}"},
        body=json.dumps({"event_id": "e", "status": "DELIVERED", "occurred_at": "2026-11-02T12:00:00+00:00"}),
    )
    assert response.status_code == 403 and "parcels:write" in body(response)["message"]
    # An expired staff token is refused
    from datetime import timedelta

    expired = IDENTITY.mint(tenant.company_id, user_id="old", level=1, ttl=timedelta(seconds=-60))
    assert api.http.get("/alerts", headers={"Authorization": f"Bearer {expired}"}).status_code == 403


def test_a_token_for_a_company_that_does_not_exist_is_refused(api: Client, tenant: Tenant) -> None:
    from chalicelib.producers.tracking.catalog import status_catalog
    from chalicelib.store.companies import get_company

    # Given a well-signed administrator token naming a company nobody created
    ghost = f"co-ghost-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {IDENTITY.mint(ghost, user_id='admin@ghost', level=1)}"}
    headers["Content-Type"] = "application/json"
    # When it writes a status catalog entry and reads the catalog and the company
    write = api.http.put(
        "/status-catalog/IN_TRANSIT",
        headers=headers,
        body=json.dumps({"display_name": "En viaje", "visibility": "visible", "notify": True}),
    )
    reads = [api.http.get(path, headers=headers) for path in ("/status-catalog", "/company", "/alerts")]
    # Then every call is refused, and nothing was written for that company
    assert [r.status_code for r in [write, *reads]] == [403, 403, 403, 403]
    assert get_company(ghost) is None and status_catalog(ghost) == {}
    # And the same token shape for an existing company works
    mine = {"Authorization": f"Bearer {IDENTITY.mint(tenant.company_id, user_id='a@b', level=1)}"}
    assert api.http.get("/status-catalog", headers=mine).status_code == 200


# --- bad input: 4xx naming the field, nothing written ------------------------------------------


BAD_INPUTS: list[tuple[str, str, str, Any, str]] = [
    # (who, method, path, body, field named in the answer)
    ("key", "POST", "/parcels", {"client_id": "C"}, "tracking_id"),
    ("key", "POST", "/parcels", {"tracking_id": "T 1", "waybill_issued": True}, "tracking_id"),
    ("key", "POST", "/parcels", {"tracking_id": "T1", "waybill_issued": "maybe"}, "waybill_issued"),
    ("key", "POST", "/parcels", {"tracking_id": "T1", "waybill_issued": True, "color": "red"}, "color"),
    ("key", "POST", "/parcels", "not json", "body"),
    ("key", "POST", "/parcels", [1, 2], "body"),
    ("key", "POST", "/parcels/TRK-B1/events", {"event_id": "e", "status": "DELIVERED"}, "occurred_at"),
    (
        "key",
        "POST",
        "/parcels/TRK-B1/events",
        {"event_id": "e", "status": "DELIVERED", "occurred_at": "2026-11-02T12:00:00"},
        "occurred_at",
    ),
    (
        "key",
        "POST",
        "/parcels/TRK-B1/events",
        {"event_id": "e", "status": "NOPE", "occurred_at": "2026-11-02T12:00:00Z"},
        "status",
    ),
    (
        "key",
        "POST",
        "/parcel-events",
        {
            "events": [
                {
                    "tracking_id": "NO-SUCH",
                    "event_id": "e",
                    "status": "DELIVERED",
                    "occurred_at": "2026-11-02T12:00:00Z",
                },
            ]
        },
        "events[0].tracking_id",
    ),
    ("key", "POST", "/parcel-events", {"events": []}, "events"),
    (
        "key",
        "POST",
        "/parcel-events",
        {
            "events": [
                {
                    "tracking_id": "TRK-B1",
                    "event_id": "ok-1",
                    "status": "DELIVERED",
                    "occurred_at": "2026-11-02T12:00:00Z",
                },
                {
                    "tracking_id": "TRK-B1",
                    "event_id": "bad",
                    "status": "NOPE",
                    "occurred_at": "2026-11-02T12:00:00Z",
                },
            ]
        },
        "events[1].status",
    ),
    (
        "public",
        "POST",
        "/public/{company}/parcels/TRK-B1/subscriptions",
        {"first_name": "A", "last_name": "B", "email": "not-an-email"},
        "email",
    ),
    (
        "public",
        "POST",
        "/public/{company}/parcels/TRK-B1/subscriptions",
        {"first_name": "", "last_name": "B", "email": "a@example.com"},
        "first_name",
    ),
    (
        "public",
        "POST",
        "/public/{company}/parcels/TRK-B1/subscriptions",
        {"first_name": "A", "last_name": "B", "email": "a@example.com", "phone": "call me"},
        "phone",
    ),
    (
        "public",
        "POST",
        "/public/{company}/parcels/TRK-B1/subscriptions",
        {"first_name": "Ana\r\nBcc: x@example.com", "last_name": "B", "email": "a@example.com"},
        "first_name",
    ),
    (
        "public",
        "POST",
        "/public/{company}/parcels/TRK-B1/subscriptions",
        {
            "first_name": "Hola Gana un premio en http://premio.example",
            "last_name": "B",
            "email": "a@example.com",
        },
        "first_name",
    ),
    (
        "public",
        "POST",
        "/public/{company}/parcels/TRK-B1/subscriptions",
        {"first_name": "Ana", "last_name": "www.premio.example", "email": "a@example.com"},
        "last_name",
    ),
    (
        "public",
        "POST",
        "/public/{company}/parcels/TRK-B1/subscriptions",
        {"first_name": "Ana", "last_name": "\u202eoidemerp", "email": "a@example.com"},
        "last_name",
    ),
    (
        "public",
        "POST",
        "/public/{company}/parcels/TRK-B1/subscriptions",
        {"first_name": "Ana", "last_name": "B", "email": "a@example.com", "phone": "12345"},
        "phone",
    ),
    (
        "staff",
        "POST",
        "/parcels/TRK-B1/subscriptions",
        {"first_name": "A", "email": "a@example.com"},
        "last_name",
    ),
    (
        "admin",
        "PUT",
        "/status-catalog/DELIVERED",
        {"display_name": "X", "visibility": "secret", "notify": True},
        "visibility",
    ),
    ("admin", "PUT", "/status-catalog/DELIVERED", {"visibility": "visible", "notify": True}, "display_name"),
    ("admin", "PUT", "/alerts/tracking", {"enabled": True, "frequency_minutes": -5}, "frequency_minutes"),
    ("admin", "PUT", "/alerts/tracking", {"enabled": True}, "frequency_minutes"),
    ("admin", "PUT", "/alerts/weather", {"enabled": True, "frequency_minutes": 5}, "alert_type"),
    (
        "admin",
        "PUT",
        "/sender-accounts/tracking",
        {"display_name": "X", "from_address": "x@y.example"},
        "smtp_host",
    ),
    (
        "admin",
        "PUT",
        "/sender-accounts/tracking",
        {"display_name": "X", "from_address": "x@y.example", "smtp_host": "h", "smtp_port": 70000},
        "smtp_port",
    ),
    (
        "admin",
        "PUT",
        "/sender-accounts/tracking",
        {
            "display_name": "X",
            "from_address": "x@y.example",
            "smtp_host": "h",
            "smtp_port": 25,
            "encryption": "ssl3",
        },
        "encryption",
    ),
    (
        "admin",
        "PUT",
        "/sender-accounts/mars",
        {"display_name": "X", "from_address": "x@y.example", "smtp_host": "h", "smtp_port": 25},
        "area",
    ),
    (
        "admin",
        "PUT",
        "/sender-accounts/tracking",
        {"kind": "ses", "display_name": "X", "from_address": "x@y.example"},
        "ses_identity",
    ),
    ("admin", "PUT", "/sender-accounts/tracking/password", {"password": ""}, "password"),
    ("admin", "PATCH", "/company", {"language": "fr"}, "language"),
    ("admin", "PATCH", "/company", {"time_zone": "Mars/Olympus"}, "time_zone"),
    ("admin", "PATCH", "/company", {"locale": "xx_QQ"}, "locale"),
    ("admin", "PATCH", "/company", {"country": "ARG"}, "country"),
    ("staff", "GET", "/follow-ups?limit=0", None, "limit"),
    ("staff", "GET", "/follow-ups?cursor=%%%", None, "cursor"),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "payload", "field"),
    BAD_INPUTS,
    ids=[f"{m} {p} -> {f}" for _, m, p, _, f in BAD_INPUTS],
)
def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(
    api: Client, tenant: Tenant, who: str, method: str, path: str, payload: Any, field: str
) -> None:
    # Given a parcel TRK-B1 and a snapshot of what the company has
    issue(api, tenant, "TRK-B1")
    before = snapshot(api, tenant)
    headers = {
        "key": tenant.key_headers(),
        "admin": tenant.admin_headers(),
        "staff": tenant.staff_headers(),
        "public": {"Content-Type": "application/json"},
    }[who]
    raw = payload if isinstance(payload, str) else json.dumps(payload) if payload is not None else b""
    # When the bad request is made
    response = api.http.request(
        method,
        path.replace("{company}", tenant.company_id),
        headers=headers,
        body=raw.encode() if isinstance(raw, str) else raw,
    )
    # Then it is refused with a 4xx naming the field, and nothing changed
    assert 400 <= response.status_code < 500, response.body
    answer = body(response)
    assert answer["field"] == field, answer
    assert field.split(".")[-1].split("[")[0] in answer["message"] or answer.get("errors")
    assert snapshot(api, tenant) == before


def snapshot(api: Client, tenant: Tenant) -> Any:
    h = tenant.admin_headers()
    return (
        body(api.http.get("/parcels/TRK-B1", headers=h)),
        body(api.http.get("/parcels/TRK-B1/subscriptions", headers=h)),
        body(api.http.get("/status-catalog", headers=h)),
        body(api.http.get("/alerts", headers=h)),
        body(api.http.get("/sender-accounts", headers=h)),
        body(api.http.get("/company", headers=h)),
    )


def test_unknown_company_or_parcel_is_404(api: Client, tenant: Tenant) -> None:
    assert api.http.get(f"/public/{tenant.company_id}/parcels/NOPE").status_code == 404
    assert api.http.get("/public/no-such-company/parcels/NOPE").status_code == 404
    response = subscribe(api, tenant, "NOPE", "a@example.com")
    assert response.status_code == 404 and "NOPE" in body(response)["message"]


def test_over_long_ids_in_public_urls_are_a_404_never_a_500(api: Client, tenant: Tenant) -> None:
    # Given a parcel, and a stranger who puts ids longer than any company or parcel has in the
    # public URLs (DynamoDB refuses keys over 2,048 bytes, and a tracking id's over 1,024)
    issue(api, tenant, "TRK-LONG")
    company, parcel = "a" * 3000, "é" * 1100
    form = "tracking_id=TRK-LONG&first_name=Ana&last_name=Lopez&email=ana%40example.com"
    person = {"first_name": "Ana", "last_name": "Lopez", "email": "ana@example.com"}
    asks = [
        ("GET", f"/public/{company}/parcels/TRK-LONG", None),
        ("GET", f"/public/{tenant.company_id}/parcels/{parcel}", None),
        ("POST", f"/public/{company}/parcels/TRK-LONG/subscriptions", "json"),
        ("POST", f"/public/{tenant.company_id}/parcels/{parcel}/subscriptions", "json"),
        ("GET", f"/track/{company}", None),
        ("GET", f"/track/{company}/brand.css", None),
        ("POST", f"/track/{company}/subscriptions", "form"),
    ]
    for method, path, kind in asks:
        # When the stranger calls the route
        headers, payload = {}, b""
        if kind == "json":
            headers = {"Content-Type": "application/json"}
            payload = json.dumps(person).encode()
        elif kind == "form":
            headers, payload = {"Content-Type": "application/x-www-form-urlencoded"}, form.encode()
        response = api.http.request(method, path, headers=headers, body=payload)
        # Then the answer is a 404 saying there is no such company or parcel, never a 500
        assert response.status_code == 404, (method, path[:40], response.status_code, response.body[:200])
    # And the parcel and its page still answer as before
    assert api.http.get(f"/public/{tenant.company_id}/parcels/TRK-LONG").status_code == 200
    assert api.http.get(f"/track/{tenant.company_id}?tracking_id={parcel}").status_code == 404


def test_public_lookup_reveals_only_t1(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given a followed parcel with a client id and a subscriber
    issue(api, tenant, "TRK-T1")
    subscribe(api, tenant, "TRK-T1", "ana@example.com")
    post_event(api, tenant, "TRK-T1", "ev-1", "IN_TRANSIT", minutes=1)
    # When anyone looks it up
    view = track(api, tenant, "TRK-T1")
    # Then only the history and the alerts flag are there: no client, subscribers or internals
    assert set(view) == {"tracking_id", "history", "alerts_available"}
    text = json.dumps(view)
    assert "ana@example.com" not in text and "CLI-1" not in text and "ev-1" not in text


def test_an_alert_shows_what_became_of_its_e_mail_queued_then_sent_or_failed_for_a_suppressed_address(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.suppression import add_suppression
    from chalicelib.producers.tracking.sweep import sweep_company

    # Given a parcel followed by Ana and by Beto, whose address the company suppressed
    issue(api, tenant, "TRK-Q1")
    subscribe(api, tenant, "TRK-Q1", "ana@example.com")
    subscribe(api, tenant, "TRK-Q1", "beto@example.com", first_name="Beto")
    add_suppression(tenant.company_id, "beto@example.com", note=None, by="test")
    post_event(api, tenant, "TRK-Q1", "ev-q1", "OUT_FOR_DELIVERY", minutes=1)

    def alerts() -> dict[str, Any]:
        listed = api.http.get("/parcels/TRK-Q1/alerts", headers=tenant.staff_headers())
        return {a["recipient_email"]: a for a in body(listed)["items"]}

    # When the sweep has written the alerts but no worker has sent them yet
    assert sweep_company(tenant.company_id).queued == 2
    # Then both alerts show queued, with no provider id
    assert {e: (a["state"], a["message_id"]) for e, a in alerts().items()} == {
        "ana@example.com": ("queued", None),
        "beto@example.com": ("queued", None),
    }
    # When the outbox worker has run
    deliver_outboxes()
    # Then Ana's alert shows sent with the Message-ID the server got, and Beto's failed, naming why
    shown = alerts()
    assert shown["ana@example.com"]["state"] == "sent"
    [ana_mail] = [m for m in mailbox.messages() if "ana@example.com" in str(m["To"])]
    assert shown["ana@example.com"]["message_id"] == str(ana_mail["Message-ID"])
    # And the e-mail, as the server received it, names no alert: neither the carrier's event id
    # nor Ana's subscription id is anywhere in it (the alert names its e-mail instead)
    raw = next(p.read_bytes() for p in mailbox.files() if b"ana@example.com" in p.read_bytes())
    assert b"X-Pregon-Alert" not in raw and b"ev-q1" not in raw
    assert shown["ana@example.com"]["subscription_id"].encode() not in raw
    assert shown["beto@example.com"]["state"] == "failed"
    assert "suppressed" in shown["beto@example.com"]["error"]


@pytest.fixture
def three_confirmations_a_day(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The deployment lets a company's tracking site send 3 confirmation e-mails a day (1,000 by default)."""
    from chalicelib.core.settings import reset_settings

    monkeypatch.setenv("PREGON_PUBLIC_CONFIRMATIONS_PER_DAY", "3")
    reset_settings()
    yield
    monkeypatch.delenv("PREGON_PUBLIC_CONFIRMATIONS_PER_DAY")
    reset_settings()


@pytest.mark.usefixtures("three_confirmations_a_day")
def test_a_botnet_of_many_ipv4_addresses_cannot_make_one_company_send_more_than_its_confirmations_a_day(
    api: Client, tenant: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from chalice.local import LambdaEventConverter

    # Given a company whose tracking site may send 3 confirmation e-mails a day (the deployment's
    # PREGON_PUBLIC_CONFIRMATIONS_PER_DAY), and two parcels offering alerts
    for n in range(2):
        issue(api, tenant, f"TRK-B{n}")
    capsys.readouterr()
    # When a botnet asks for alerts four times, each request from another IPv4 address, for
    # another address (every per-client, per-parcel and per-mailbox limit has room)
    answers = []
    for n in range(4):
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", f"198.51.100.{n + 10}")
        answers.append(ask_for_alerts(api, tenant, f"TRK-B{n % 2}", f"bot{n}@example.com"))
    # Then the fourth is refused with 429, saying the company's day of confirmations is used up
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    refused = body(answers[-1])
    assert refused["message"].startswith(
        "this company's tracking site has sent all the confirmation e-mails it may send today (a UTC day)"
    )
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 86400
    # And the operator's metric counts the refusal
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert sum(line.get("PublicConfirmationsCapped", [0])[0] for line in lines) >= 1
    # And only three confirmations went
    deliver_outboxes()
    assert len(mailbox.wait_for(3)) == 3
    # And in Spanish for the company's Spanish-speaking visitors
    monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", "198.51.100.20")
    spanish = api.http.post(
        f"/public/{tenant.company_id}/parcels/TRK-B0/subscriptions",
        headers={"Content-Type": "application/json", "Accept-Language": "es"},
        body=json.dumps({"first_name": "Ana", "last_name": "García", "email": "bot9@example.com"}),
    )
    assert body(spanish)["message"].startswith(
        "el sitio de seguimiento de esta empresa ya envió todos los correos de confirmación"
    )

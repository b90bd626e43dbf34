"""Issue 14: the tracking sweep reads the followers of a chunk of due parcels in one request (a
PartiQL SELECT with an IN on the parcels' partitions), not a query per parcel, and still alerts
exactly the active followers: confirmed, not cancelled, not expired."""

from __future__ import annotations

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.aws import counted_requests
from tests.steps.tenants import Tenant
from tests.steps.tracking import issue, post_event, staff_subscribe, sweep


def test_the_sweep_reads_a_chunk_of_parcels_followers_at_once_and_alerts_only_the_active_ones(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.producers.tracking.subscriptions import cancel, subscriptions_of
    from chalicelib.producers.tracking.sweep import CLAIM_CHUNK

    # Given 30 due parcels (two chunks), each followed by one person, the first also by a second
    # one who then cancelled, and one parcel nobody follows
    parcels = [f"TRK-R{n:02d}" for n in range(30)]
    for n, tracking_id in enumerate(parcels):
        issue(api, tenant, tracking_id)
        staff_subscribe(api, tenant, tracking_id, f"ana{n}@example.com")
    staff_subscribe(api, tenant, parcels[0], "baja@example.com")
    [gone] = [s for s in subscriptions_of(tenant.company_id, parcels[0]) if s.email == "baja@example.com"]
    cancel(tenant.company_id, parcels[0], gone.subscription_id)
    issue(api, tenant, "TRK-NADIE")
    for tracking_id in [*parcels, "TRK-NADIE"]:
        post_event(api, tenant, tracking_id, "ev-1", "OUT_FOR_DELIVERY", minutes=1)
    # When the sweep runs
    with counted_requests() as requests:
        report = sweep(tenant)
    # Then each active follower gets one e-mail, and nobody else
    mails = mailbox.wait_for(30)
    assert sorted(r for m in mails for r in envelope_recipients(m)) == sorted(
        f"ana{n}@example.com" for n in range(30)
    )
    assert report.sent == 30
    # And the followers were read once per chunk of due parcels, never with a query per parcel
    chunks = -(-31 // CLAIM_CHUNK)
    assert requests["dynamodb:ExecuteStatement"] == chunks
    # (the few queries left are the sweep's and the outbox's own: due parcels, settings...)
    assert requests["dynamodb:Query"] <= 5, requests

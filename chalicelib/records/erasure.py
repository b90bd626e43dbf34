"""Erase a client's personal data on request (GDPR art. 17, Ley 25.326's supresión, LFPDPPP's
cancelación; docs/privacy.md, docs/decisions/0017-erasing-a-client.md).

An administrator (or the ERP's key with ``clients:write``) starts an erasure; it runs page by page
(``store.erasures``): a first part within the request, the rest from the minute schedule, which
also takes up an erasure whose run died. What is kept: the suppressions of the client's addresses,
under a digest, so a client pushed again with the same address is still not mailed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta

from chalicelib.core import clock
from chalicelib.core.domain import ClientErasure
from chalicelib.core.errors import NotFound
from chalicelib.core.observability import logger
from chalicelib.store import erasures as store
from chalicelib.store import outbox as watches
from chalicelib.tenants.auth.principal import Principal

# How long the request that starts an erasure works on it before answering (a client with a few
# hundred messages is erased by then), and how long each minute's run works on one.
REQUEST_SECONDS = 5.0
RUN_SECONDS = 20.0
# How long each minute's schedule works on erasures in all (the first it takes, whatever this
# says): the ``wake_outboxes`` function has 180 s for every part of the minute, and twenty due
# erasures of RUN_SECONDS each would be 400 s. The others stay due, for the next minute.
ERASURES_SECONDS = 60.0
# A run holds its erasure this long: should it die, the minute schedule takes it up after that.
LEASE = timedelta(minutes=2)
# The longest a send job's page works (the ``expand_send_job`` worker's lambda_timeout in
# .chalice/config.json, which is not deployed with the code; test_infrastructure checks they
# agree): a page that read its company before the erasure started, and so did not
# skip the client, has written its messages by then (or died). The erasure looks for the
# client's messages once more after such pages (phase ``late_messages``).
PAGE_SECONDS = 240
# How long DynamoDB's index by client may lag its table (a fraction of a second, normally; twice
# "up to a second" here): the late pass looks for the client's messages only this long after the
# last one that may name the client was written, or its Query may miss it.
INDEX_LAG_SECONDS = 2.0

# What an erasure does not erase, as GET answers it (docs/privacy.md says why).
NOT_ERASED = (
    "suppressions: kept as a digest of each address, so it is not mailed again",
    "inbound mail that matched no client (unassigned)",
    "send-job pages still waiting to be expanded that list the client's code (each goes once expanded)",
    "rate-limit counters: a digest of a phone number (they expire within a day)",
    "the webhook delivery log: event ids, a digest naming no one (it expires after 30 days)",
    "carriers' observations on the client's parcels, as the carrier wrote them",
    "backups (DynamoDB point-in-time recovery keeps 35 days)",
)


def start_erasure(caller: Principal, client_id: str) -> ClientErasure:
    """Start erasing a client (or answer the erasure already running), and work on it for
    :data:`REQUEST_SECONDS`; the minute schedule does the rest."""
    from chalicelib.store.communications import new_communication_id

    now = clock.now()
    key = store.erasure_key(caller.company_id, client_id)
    if not _may_hold_data(caller.company_id, client_id, key):
        raise NotFound(f"there is no client {client_id!r}")
    # watched before it starts, so no crash leaves it erasing unwatched
    held = watches.watch_erasure(caller.company_id, key, now + LEASE)
    job, started = store.start_erasure(
        caller.company_id, client_id, new_communication_id(now), caller.subject, now
    )
    if started:
        logger().info("client erasure started", extra={"company_id": caller.company_id, "job_id": job.job_id})
    try:
        return _run_held(caller.company_id, key, held, REQUEST_SECONDS) or job
    except Exception:  # the erasure is started and watched: the minute schedule goes on with it
        logger().exception("client erasure: the first run failed", extra={"company_id": caller.company_id})
        return store.get_erasure(caller.company_id, key) or job


def _may_hold_data(company_id: str, client_id: str, key: str) -> bool:
    """Whether an erasure of ``client_id`` may have something to erase: the client is there, it
    was erased before (asked again for what was left, e.g. items keyed since by ``ops
    erasure-keys``), or Pregón holds something under its code without its client (a receivable,
    parcel or open movements the ERP pushed for a code it never pushed as a client). A code that
    names none of these starts no job: a request cannot make jobs without bound."""
    if store.client_of(company_id, client_id) is not None:
        return True
    return store.get_erasure(company_id, key) is not None or store.holds_anything(company_id, client_id)


def get_erasure(caller: Principal, client_id: str) -> ClientErasure:
    job = store.get_erasure(caller.company_id, store.erasure_key(caller.company_id, client_id))
    if job is None:
        raise NotFound(f"no erasure of the client {client_id!r} was asked for")
    return job


def backfill_erasure_keys() -> dict[str, int]:
    """Key the items stored before the erasure's indexes by client (the operator's command
    ``ops erasure-keys``, once after an upgrade); how many of each table it keyed."""
    return store.backfill_erasure_keys()


def resume_due_erasures() -> int:
    """The minute schedule: work on each erasure whose look is due (a run that died, one that
    used its time), for :data:`RUN_SECONDS` each, until :data:`ERASURES_SECONDS` have passed
    (the next is not taken: it stays due). Returns how many it worked on."""
    now = clock.now()
    started = time.monotonic()
    worked = 0
    for company_id, key, held in watches.due_erasures(now, now + LEASE):
        left = ERASURES_SECONDS - (time.monotonic() - started)
        try:
            _run_held(company_id, key, held, min(RUN_SECONDS, max(0.0, left)))
            worked += 1
        except Exception:
            logger().exception("client erasure failed; tried again later", extra={"company_id": company_id})
        if time.monotonic() - started >= ERASURES_SECONDS:
            break  # before the next is taken
    return worked


def _run_held(company_id: str, key: str, held: str, seconds: float) -> ClientErasure | None:
    job = run_erasure(company_id, key, seconds)
    finished = job is None or job.state != "erasing"
    watches.settle_erasure(company_id, key, held, None if finished else clock.now())
    return job


def run_erasure(company_id: str, key: str, seconds: float) -> ClientErasure | None:
    """Erase pages of the erasure ``key`` for about ``seconds`` (at least one); the erasure as it
    is then. Safe to run twice at once, and again after a run that died anywhere."""
    deadline = time.monotonic() + seconds
    while True:
        job = store.get_erasure(company_id, key)
        if job is None or job.state != "erasing":
            return job
        _delete_pending_files(job)
        moved = _step(job)
        if moved is None or time.monotonic() >= deadline:  # None: it waits for the next minute
            return store.get_erasure(company_id, key)
        if not moved:
            time.sleep(0.05)  # a race, or an index behind its items: look again


def _delete_pending_files(job: ClientErasure) -> None:
    delete_files(job.pending_files)
    store.files_gone(job, job.pending_files)


def delete_files(names: Iterable[str]) -> None:
    """Delete S3 objects named ``<bucket>/<key>``, a thousand a request (a company's deletion too)."""
    from chalicelib.core.aws import client

    by_bucket: dict[str, list[str]] = {}
    for name in names:
        bucket, _, key = name.partition("/")
        by_bucket.setdefault(bucket, []).append(key)
    for bucket, keys in by_bucket.items():
        for start in range(0, len(keys), 1000):
            client("s3").delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True},
            )


def _step(job: ClientErasure) -> bool | None:
    """One page of the erasure's phase, or the move to the next phase; False when nothing moved
    (another worker, or an index a little behind), None when it waits for send pages to end."""
    from chalicelib.core.settings import get_settings

    now = clock.now()
    settings = get_settings()
    from chalicelib.store.clients import get_client
    from chalicelib.tenants.clients import addresses_and_phones

    client = get_client(job.company_id, str(job.client_id))
    addresses, phones = addresses_and_phones(job.company_id, client)
    if job.phase == "communications":
        page = store.communications_page(job, settings.files_bucket)
    elif job.phase == "notes":
        page = store.notes_page(job)
    elif job.phase == "receivables":
        page = store.receivables_page(job)
    elif job.phase == "events":
        page = store.events_page(job)
    elif job.phase == "message_keys":
        page = store.message_keys_page(job)
    elif job.phase == "tracking":
        page = store.tracking_page(job, addresses)
    elif job.phase == "subscriptions":
        page = store.subscriptions_page(job, addresses)
    elif job.phase == "parcels":
        page = store.parcels_page(job)
    elif job.phase == "send_jobs":
        page = store.send_jobs_page(job, now)
    elif job.phase == "items":
        page = store.single_items(job, addresses, phones)
    elif job.phase == "late_messages":
        # A send's page that read the company before the erasure started (so did not skip the
        # client) may write a message after the first phase passed: once no page can still be
        # writing, the client's messages are looked for again (almost always none).
        started_pages_may_run = now < job.created_at + timedelta(seconds=PAGE_SECONDS)
        if started_pages_may_run and watches.job_pages_pending(job.company_id):
            return None
        # Such a page (or a one-client send written just before the erasure started) may have
        # written a moment ago: its message is in the index by client once the index catches up.
        # Past the longest a page runs, and the lag after it, nothing can be that recent.
        if now < job.created_at + timedelta(seconds=PAGE_SECONDS + INDEX_LAG_SECONDS):
            time.sleep(INDEX_LAG_SECONDS)
        page = store.communications_page(job, settings.files_bucket)
    else:  # the client's item, and done
        page = store.client_page(job)
        return store.commit(job, page, now, done=True)
    if page.listed == 0:
        return store.next_phase(job, now)
    if page.empty:
        return False  # found in the index, gone from the table: the index catches up
    return store.commit(job, page, now)

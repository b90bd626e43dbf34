"""Webhook endpoints and their delivery log (docs/webhooks.md).

An endpoint is one item under its company; its secret is stored only as KMS ciphertext and leaves
this module only through :func:`secret_ciphertexts` (with the one a rotation replaced, while it
signs too). Each delivery attempt is one item of the log,
under ``<company>#<endpoint>``, newest last, expiring after :data:`LOG_DAYS` days.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError

from chalicelib.core import domain
from chalicelib.store.fields import checked_cursor, page_of, record_from
from chalicelib.store.models import WebhookDeliveryModel, WebhookEndpointModel
from chalicelib.store.tables import failure_code, new_version, version_held

LOG_DAYS = 30


def _endpoint(item: WebhookEndpointModel) -> domain.WebhookEndpoint:
    return record_from(
        item, domain.WebhookEndpoint, events=tuple(item.events or ()), version=int(item.version or 0)
    )


def endpoints_of(company_id: str) -> list[domain.WebhookEndpoint]:
    """A company's endpoints (a handful: :data:`messaging.webhooks.MAX_ENDPOINTS`)."""
    return [_endpoint(item) for item in WebhookEndpointModel.query(company_id, consistent_read=True)]


def get_endpoint(company_id: str, endpoint_id: str) -> domain.WebhookEndpoint | None:
    try:
        return _endpoint(WebhookEndpointModel.get(company_id, endpoint_id, consistent_read=True))
    except DoesNotExist:
        return None


def secret_ciphertexts(company_id: str, endpoint_id: str, now: datetime) -> list[bytes]:
    """The ciphertexts of the secrets that sign now: the current one, then the one a rotation
    replaced while its overlap lasts. None at all when there is no endpoint."""
    try:
        item = WebhookEndpointModel.get(company_id, endpoint_id, consistent_read=True)
    except DoesNotExist:
        return []
    found = [bytes(item.secret_ciphertext)]
    if item.previous_secret_ciphertext is not None and (item.previous_secret_until or now) > now:
        found.append(bytes(item.previous_secret_ciphertext))
    return found


def create_endpoint(endpoint: domain.WebhookEndpoint, ciphertext: bytes) -> bool:
    """Write a new endpoint; False when one with its id exists already."""
    item = WebhookEndpointModel(
        endpoint.company_id,
        endpoint.endpoint_id,
        url=endpoint.url,
        events=list(endpoint.events),
        secret_ciphertext=ciphertext,
        enabled=endpoint.enabled,
        created_at=endpoint.created_at,
        created_by=endpoint.created_by,
        updated_at=endpoint.updated_at,
        secret_set_at=endpoint.secret_set_at,
    )
    try:
        item.save(condition=WebhookEndpointModel.endpoint_id.does_not_exist())
    except PutError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def update_endpoint(
    company_id: str,
    endpoint_id: str,
    now: datetime,
    *,
    url: str | None = None,
    events: tuple[str, ...] | None = None,
    enabled: bool | None = None,
    ciphertext: bytes | None = None,
    overlap_until: datetime | None = None,
    expected: tuple[int, ...] | None = None,
) -> domain.WebhookEndpoint | None:
    """Change what is given; enabling clears the failure record. A change of the URL, the events
    or ``enabled`` (an administrator's edit) gives the endpoint a new version, and with
    ``expected`` (an ``If-Match``) is made only if it is still at one of them. None when there is
    no endpoint, or it is at another version (nothing written)."""
    model = WebhookEndpointModel
    actions: list[Any] = [model.updated_at.set(now)]
    if url is not None or events is not None or enabled is not None:
        actions.append(new_version(model))
    if url is not None:
        actions.append(model.url.set(url))
    if events is not None:
        actions.append(model.events.set(list(events)))  # type: ignore[arg-type]
    if enabled is not None:
        actions.append(model.enabled.set(enabled))
        if enabled:
            actions += [
                model.failing_since.remove(),
                model.disabled_at.remove(),
                model.disabled_reason.remove(),
            ]
    if ciphertext is not None:
        actions += [model.secret_ciphertext.set(ciphertext), model.secret_set_at.set(now)]
        if overlap_until is not None:  # the secret replaced signs too until then (one SET reads the old)
            actions += [
                model.previous_secret_ciphertext.set(model.secret_ciphertext),
                model.previous_secret_until.set(overlap_until),
            ]
    try:
        item = model(company_id, endpoint_id)
        held = version_held(model, expected)
        exists = model.endpoint_id.exists()
        item.update(actions=actions, condition=exists if held is None else exists & held)
    except UpdateError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    return _endpoint(item)


def delete_endpoint(company_id: str, endpoint_id: str) -> bool:
    try:
        WebhookEndpointModel(company_id, endpoint_id).delete(
            condition=WebhookEndpointModel.endpoint_id.exists()
        )
    except DeleteError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def note_success(company_id: str, endpoint_id: str) -> None:
    """The endpoint answered 2xx: it is failing no longer."""
    model = WebhookEndpointModel
    try:
        model(company_id, endpoint_id).update(
            actions=[model.failing_since.remove()],
            condition=model.endpoint_id.exists() & model.failing_since.exists(),
        )
    except UpdateError as exc:
        if failure_code(exc) != "ConditionalCheckFailedException":
            raise


def note_failure(company_id: str, endpoint_id: str, now: datetime) -> datetime | None:
    """The endpoint failed: since when it has been failing (now, if this is the first failure
    since its last success). None when the endpoint is gone."""
    model = WebhookEndpointModel
    item = model(company_id, endpoint_id)
    try:
        item.update(
            actions=[model.failing_since.set(model.failing_since | now)],
            condition=model.endpoint_id.exists(),
        )
    except UpdateError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    return item.failing_since


def disable_endpoint(company_id: str, endpoint_id: str, now: datetime, reason: str) -> bool:
    """Turn an enabled endpoint off; True only for the one call that did (so one notice is sent)."""
    model = WebhookEndpointModel
    try:
        model(company_id, endpoint_id).update(
            actions=[model.enabled.set(False), model.disabled_at.set(now), model.disabled_reason.set(reason)],
            condition=model.endpoint_id.exists() & (model.enabled == True),  # noqa: E712
        )
    except UpdateError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def log_delivery(company_id: str, endpoint_id: str, delivery: domain.WebhookDelivery) -> None:
    WebhookDeliveryModel(
        f"{company_id}#{endpoint_id}",
        f"{delivery.attempted_at.isoformat()}#{delivery.event_id}#{delivery.attempt}",
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        attempt=delivery.attempt,
        attempted_at=delivery.attempted_at,
        status_code=delivery.status_code,
        outcome=delivery.outcome,
        error=delivery.error,
        expires=delivery.attempted_at + timedelta(days=LOG_DAYS),
    ).save()


def hold_delivery(company_id: str, endpoint_id: str, job: dict[str, Any], now: datetime) -> None:
    """Keep a queued delivery while the company is suspended: a log item, ``held``, carrying the
    queue's message (the same message held twice is one item: its key is the event's and the
    attempt's, and the time it was first held)."""
    event = job["event"]
    key = f"{company_id}#{endpoint_id}"
    delivery_key = f"{now.isoformat()}#{event['id']}#{job['attempt']}"
    for item in WebhookDeliveryModel.query(
        key, filter_condition=(WebhookDeliveryModel.outcome == "held"), consistent_read=True
    ):
        if item.event_id == event["id"] and int(item.attempt) == int(job["attempt"]):
            return
    WebhookDeliveryModel(
        key,
        delivery_key,
        event_id=str(event["id"]),
        event_type=str(event["type"]),
        attempt=int(job["attempt"]),
        attempted_at=now,
        outcome="held",
        expires=now + timedelta(days=LOG_DAYS),
        held_job=json.dumps(job, sort_keys=True),
    ).save()


def held_deliveries(company_id: str, endpoint_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The endpoint's deliveries held while its company was suspended: (log key, queue message),
    oldest first. The log is read whole, filtered (an operator's reopening, a month at most)."""
    model = WebhookDeliveryModel
    return [
        (str(item.delivery_key), dict(json.loads(item.held_job)))
        for item in model.query(
            f"{company_id}#{endpoint_id}", filter_condition=(model.outcome == "held"), consistent_read=True
        )
        if item.held_job
    ]


def released_delivery(company_id: str, endpoint_id: str, delivery_key: str) -> None:
    """A held delivery was queued again: the log says ``released`` and keeps no message."""
    model = WebhookDeliveryModel
    try:
        model(f"{company_id}#{endpoint_id}", delivery_key).update(
            actions=[model.outcome.set("released"), model.held_job.remove()],
            condition=model.outcome == "held",
        )
    except UpdateError as exc:
        if failure_code(exc) != "ConditionalCheckFailedException":
            raise


def deliveries_page(
    company_id: str, endpoint_id: str, *, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[domain.WebhookDelivery], dict[str, Any] | None]:
    """An endpoint's delivery log, newest first."""
    key = f"{company_id}#{endpoint_id}"
    return page_of(
        WebhookDeliveryModel,
        key,
        scan_index_forward=False,
        limit=limit,
        cursor=checked_cursor(WebhookDeliveryModel, key, cursor),
        convert=lambda item: record_from(item, domain.WebhookDelivery, status_code=_int(item.status_code)),
    )


def _int(value: Any) -> int | None:
    return None if value is None else int(value)

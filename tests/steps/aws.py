"""What our code asks AWS, seen from our side of the client (moto does not keep everything)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def recorded_calls(service: str, operation: str) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every ``operation`` call our ``service`` clients (the shared one and the
    sending one) make while inside."""
    from chalicelib.core.aws import client, sending_client

    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    event, unique_id = f"provide-client-params.{service}.{operation}", f"test-{service}-{operation}"
    emitters = [client(service).meta.events, sending_client(service).meta.events]
    for events in emitters:
        events.register(event, record, unique_id=unique_id)
    try:
        yield calls
    finally:
        for events in emitters:
            events.unregister(event, unique_id=unique_id)


def stored_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: each attribute's name and value, in bytes."""

    def value(v: dict[str, Any]) -> int:
        [(kind, raw)] = v.items()
        if kind in ("S", "N"):
            return len(str(raw).encode())
        if kind == "B":
            return len(raw)
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(1 + len(k.encode()) + value(x) for k, x in raw.items())
        return 3 + sum(1 + value(x) for x in raw)  # L

    return sum(len(name.encode()) + value(v) for name, v in item.items())


@contextmanager
def counted_requests(record: Any = None) -> Iterator[Counter[str]]:
    """How many requests of each ``service:operation`` any botocore client sends while inside
    (PynamoDB's clients included); the requests themselves go through unchanged. With ``record``
    (DynamoDB's ``operation, params`` -> a name, or None), only DynamoDB's, under that name."""
    import threading

    from botocore.client import BaseClient

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009

    def counted(client: Any, operation: str, params: Any) -> Any:
        service = client.meta.service_model.service_name
        name = f"{service}:{operation}" if record is None else None
        if record is not None and service == "dynamodb":
            name = record(operation, params)
        if name is not None:
            with lock:
                counts[name] += 1
        return original(client, operation, params)

    setattr(BaseClient, "_make_api_call", counted)  # noqa: B010
    try:
        yield counts
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


@contextmanager
def dynamodb_requests_by_table() -> Iterator[Counter[str]]:
    """How many DynamoDB requests of each ``Operation table`` any botocore client sends while
    inside (PynamoDB's included), the table without the stage's prefix; a transaction or batch
    counts once under each table it names (``TransactWriteItems parcels+subscriptions``)."""
    from chalicelib.store.tables import bind

    prefix = bind()
    with counted_requests(record=_dynamodb_tables(prefix)) as counts:
        yield counts


def _dynamodb_tables(prefix: str) -> Any:
    def name(operation: str, params: dict[str, Any]) -> str | None:
        tables = {params["TableName"]} if "TableName" in params else set(params.get("RequestItems") or ())
        for item in params.get("TransactItems") or ():
            tables |= {action["TableName"] for action in item.values()}
        if not tables and "Statement" in params:
            tables = set(re.findall(r'"([^"]+)"', params["Statement"])[:1])
        bare = sorted(t.removeprefix(prefix) for t in tables)
        return f"{operation} {'+'.join(bare)}"

    return name


@contextmanager
def dynamodb_requests(model: Any = None) -> Iterator[list[str]]:
    """The DynamoDB operations our store sends while inside (its own client's wire); with a
    PynamoDB ``model``, only the requests its client sends that name its table (with the stage's
    prefix, as they name it)."""
    from chalicelib.store.models import CommunicationModel

    events = (model or CommunicationModel)._get_connection().connection.client.meta.events
    table = model.Meta.table_name if model is not None else None
    seen: list[str] = []

    def count(model: Any, params: dict[str, Any] | None = None, **_: Any) -> None:
        if table is not None:
            sent = (params or {}).get("body") or b""
            text = sent.decode("utf-8", "replace") if isinstance(sent, bytes) else str(sent)
            if f'{table}"' not in text:
                return
        seen.append(model.name)

    unique_id = f"count-dynamodb-{table or 'all'}"
    events.register("before-call.dynamodb", count, unique_id=unique_id)
    try:
        yield seen
    finally:
        events.unregister("before-call.dynamodb", unique_id=unique_id)


#: The account id moto answers as, and AWS's own wording of a refused call (IAM, for a role of ours)
ACCOUNT_ID = "123456789012"


def access_denied(action: str, resource: str) -> str:
    """AWS's words when a role's policy does not allow ``action`` (as the real service answers)."""
    return (
        f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/pregon-prod-sender/pregon-prod-drain is not "
        f"authorized to perform: {action} on resource: {resource} because no identity-based policy "
        f"allows the {action} action"
    )


class RawBody:
    """An HTTP body as botocore reads one, for an answer made at the wire."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


@contextmanager
def aws_answering(service: str, operation: str, code: str, message: str, status: int = 403) -> Iterator[None]:
    """AWS answers ``operation`` of ``service`` with this error, at the wire of our clients (the
    shared one and the sending one): botocore parses it as it parses the real service's."""
    import json

    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    from chalicelib.core.aws import client, sending_client

    request_id = "5f2e7c1a-8b3d-4e6f-9a0b-1c2d3e4f5a6b"

    def answer(request: Any, **_: Any) -> Any:  # a response short-cuts the HTTP send
        headers = HTTPHeaders()
        headers["x-amzn-RequestId"] = request_id
        if protocol in ("rest-json", "json"):
            headers["Content-Type"] = "application/json"
            headers["x-amzn-ErrorType"] = code
            data = json.dumps({"message": message}).encode()
        else:  # query: XML
            headers["Content-Type"] = "text/xml"
            data = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
        return AWSResponse(request.url, status, headers, RawBody(data))

    emitters = [client(service).meta.events, sending_client(service).meta.events]
    protocol = client(service).meta.service_model.protocol
    event, unique_id = f"before-send.{service}.{operation}", f"answering-{service}-{operation}"
    for events in emitters:
        events.register(event, answer, unique_id=unique_id)
    try:
        yield
    finally:
        for events in emitters:
            events.unregister(event, unique_id=unique_id)


@contextmanager
def dynamodb_connection_reset(operation: str) -> Iterator[list[str]]:
    """Every ``operation`` request our store sends while inside has its connection reset before
    DynamoDB's reply comes (a network path dropped, a proxy restarted): botocore raises what it
    raises then, ``ConnectionClosedError`` (an error with no response), retries it, and gives up.
    Every other request reaches DynamoDB Local. Yields the tables of the requests reset."""
    from botocore.exceptions import ConnectionClosedError

    reset: list[str] = []

    def drop(request: Any, body: str) -> None:
        reset.append(body.split('"TableName": "', 1)[-1].split('"', 1)[0])
        raise ConnectionClosedError(endpoint_url=request.url)

    with _store_sending(operation, drop):
        yield reset


@contextmanager
def dynamodb_before_sending(operation: str, act: Any) -> Iterator[list[str]]:
    """``act(body)`` runs as each ``operation`` request our store sends while inside is about to
    go (its JSON body as text); what it returns, an error code, is DynamoDB's answer to that
    request (botocore parses it as the real service's 400), or, None, the request goes on to
    DynamoDB Local. Yields the codes answered."""
    import json

    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    answered: list[str] = []

    def before(request: Any, body: str) -> Any:
        code = act(body)
        if code is None:
            return None
        answered.append(code)
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        data = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code}).encode()
        return AWSResponse(request.url, 400, headers, RawBody(data))

    with _store_sending(operation, before):
        yield answered


@contextmanager
def _store_sending(operation: str, handler: Any) -> Iterator[None]:
    """``handler(request, body)`` as each ``operation`` request of our store's DynamoDB clients is
    about to be sent (botocore's ``before-send``: a response it returns is the answer)."""
    from chalicelib.store.models import ALL_MODELS
    from chalicelib.store.tables import bind

    bind()
    emitters = {id(e): e for e in (m._get_connection().connection.client.meta.events for m in ALL_MODELS)}

    def before_send(request: Any, **_: Any) -> Any:
        raw = request.body
        return handler(request, raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))

    event, unique_id = f"before-send.dynamodb.{operation}", f"store-sending-{operation}"
    for events in emitters.values():
        events.register(event, before_send, unique_id=unique_id)
    try:
        yield
    finally:
        for events in emitters.values():
            events.unregister(event, unique_id=unique_id)


def scheduled_function_runs(api: Any, name: str) -> dict[str, Any]:
    """EventBridge fires the deployed scheduled function ``name`` (its rule's event); its answer."""
    event = api.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail={},
        resources=[f"arn:aws:events:rule/{name}"],
    )
    return dict(api.lambda_.invoke(name, event).payload)


def stored_items_naming(*company_ids: str, but: tuple[str, ...] = ()) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Every item of every table (a Scan of each: the test looks at all the storage) whose values
    may name one of ``company_ids``, with its model, as DynamoDB holds it. The Scan's filter sends
    back only the items with a string attribute that contains an id, a list or set with one as an
    element, or (for the models with no ``company_id`` of their own) any list, set or map: the
    other companies' items stay in DynamoDB Local, which reads them either way, and this process
    parses none (one of a whole run's processes holds tens of thousands of items by the time the
    erasure and leaving tests Scan). Binary attributes (compressed bodies, ciphertexts) never hold
    an id in clear. The caller checks each item as it would have checked every item. The tables
    ``but`` names (base names) are not looked at."""
    from pynamodb.attributes import (
        ListAttribute,
        MapAttribute,
        UnicodeAttribute,
        UnicodeSetAttribute,
        UTCDateTimeAttribute,
    )

    from chalicelib.core.aws import client
    from chalicelib.store.models import ALL_MODELS
    from chalicelib.store.tables import base_table_names, bind

    bind()
    values = {f":c{n}": {"S": company_id} for n, company_id in enumerate(company_ids)}
    for model in (m for m in ALL_MODELS if base_table_names()[m] not in but):
        attributes = model.get_attributes()
        names: dict[str, str] = {}
        tests: list[str] = []
        for n, attribute in enumerate(attributes.values()):
            name = f"#a{n}"
            if isinstance(attribute, UnicodeAttribute | UTCDateTimeAttribute):
                tests += [f"contains({name}, {value})" for value in values]
            elif "company_id" not in attributes and isinstance(
                attribute, ListAttribute | UnicodeSetAttribute | MapAttribute
            ):
                tests.append(f"attribute_exists({name})")
            elif isinstance(attribute, ListAttribute | UnicodeSetAttribute):
                tests += [f"contains({name}, {value})" for value in values]
            else:  # numbers, booleans, binary: no id in clear
                continue
            names[name] = attribute.attr_name
        scan = client("dynamodb").get_paginator("scan")
        pages = scan.paginate(
            TableName=model.Meta.table_name,
            FilterExpression=" OR ".join(tests),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        for page in pages:
            for item in page["Items"]:
                yield model, item


def moto_received(service: str, model: str) -> list[dict[str, Any]]:
    """What moto's ``service`` recorded as ``model`` instances, oldest first, each as
    ``/moto-api/data.json`` lists it (its public attributes that JSON holds, through JSON): e.g.
    ``("ses", "RawMessage")`` (``raw_data``, the e-mail as SES was handed it; ``destinations``),
    ``("sns", "SMS")`` (``phone_number``, ``message``, ``message_id``), ``("sns",
    "PlatformEndpoint")`` (``arn``, ``messages``: the pushes published to it).

    Read from moto's record of its models in this process (the tests' moto server runs in each
    worker): data.json dumps every model of every service, and grew with the run's state to 2 %
    of the workers' CPU."""
    import json

    from moto.core.model_instances import model_data

    kind = model_data.get(service, {}).get(model)
    instances = list(getattr(kind, "instances_tracked", []))  # a copy: moto's thread appends
    recorded = []
    for instance in instances:
        fields = {}
        for name, value in list(vars(instance).items()):
            if name.startswith("_"):
                continue
            try:
                fields[name] = json.loads(json.dumps(value))
            except (TypeError, ValueError):
                continue  # not in data.json either (e.g. an endpoint's application)
        recorded.append(fields)
    return recorded

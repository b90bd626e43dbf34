"""The operator's side of the dead-letter queues (docs/operations.md, "A dead-letter queue has
messages"): which hold messages, what each message is, and moving a queue's messages back to the
queue they came from, the same against the local stack (moto, which has no
``StartMessageMoveTask``) and a deployed stage.

    uv run python -m infrastructure.ops dead-letters list
    uv run python -m infrastructure.ops dead-letters show pregon-outbox-dead
    uv run python -m infrastructure.ops dead-letters redrive pregon-outbox-dead

A redrive sends each message to its source queue and only then deletes it from the dead-letter
queue, so a run that dies in between leaves a copy that the next run moves again: every handler
fed by these queues takes a message twice without sending twice (the outbox's leases, a send job's
saved pages, ``ses_events`` applying an event once; docs/operations.md). Within one run a message
is moved once: one SQS receive hides it for ``HIDE_SECONDS`` and a message id seen again is only
deleted.

The asynchronous invocations' queue (``<stack>-async-failures``) is no redrive queue: each of its
messages is the event a function failed on three times. A redrive of it invokes the SNS handler
the event was for (inbound mail, inbound SMS) again with that very event, its SNS ``MessageId`` and
``Timestamp`` included, which the handlers store each notification once by (publishing it to the
topic again would make a new notification, and a second SMS reply); locally in this process, on
AWS the stack's function (``<stack>``'s resource of that handler). A schedule's event is dropped:
the schedule's next run does its work (docs/operations.md, "A function fails").
"""

from __future__ import annotations

from typing import Any

DEAD_SUFFIX = "-dead"  # as infrastructure/aws/synth.py and infrastructure/local/queues.py name them
HIDE_SECONDS = 300  # how long a message being moved stays hidden from another reader
BODY_SHOWN = 600  # characters of a message's body that ``show`` prints


class Refused(Exception):
    """What the operator asked cannot be done; ``ops`` prints it as a refusal (exit status 2).
    (Not a ``PregonError``: no API answers it, so it has no Spanish.)"""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def source_queues() -> list[str]:
    """The app's SQS queues, each with its ``<queue>-dead`` (the same names on every stage)."""
    from chalice.app import SQSEventConfig

    from app import app

    return sorted(s.queue for s in app.event_sources if isinstance(s, SQSEventConfig) and s.queue)


def async_failures_queue(target: str, stack: str) -> str:
    """Where failed asynchronous invocations wait: ``<stack>-async-failures`` deployed
    (infrastructure/aws/operations.py), ``pregon-local-async-failures`` locally."""
    if target == "aws":
        return f"{stack}-async-failures"
    from infrastructure.local.topics import ASYNC_FAILURES_QUEUE

    return ASYNC_FAILURES_QUEUE


def _sqs() -> Any:
    from chalicelib.core.aws import client

    return client("sqs")


def _url(sqs: Any, queue: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        return None


def waiting(target: str, stack: str) -> dict[str, Any]:
    """Each dead-letter queue, how many messages wait in it, and where a redrive moves them."""
    sqs = _sqs()
    queues: list[tuple[str, str | None]] = [(q + DEAD_SUFFIX, q) for q in source_queues()]
    queues.append((async_failures_queue(target, stack), None))
    items = []
    for dead, source in queues:
        url = _url(sqs, dead)
        count = None
        if url:
            names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            count = sum(int(attributes.get(name, 0)) for name in names)
        items.append({"queue": dead, "messages": count, "redrive_to": source})
    return {"items": items}


def _dead_queue(queue: str, target: str, stack: str) -> tuple[str, str | None]:
    """``queue`` checked against the known dead-letter queues; returns it and its source."""
    sources = {q + DEAD_SUFFIX: q for q in source_queues()}
    if queue in sources:
        return queue, sources[queue]
    if queue == async_failures_queue(target, stack):
        return queue, None
    known = ", ".join([*sources, async_failures_queue(target, stack)])
    raise Refused(f"queue: {queue!r} is not a dead-letter queue of this stack ({known})", 422)


def show(queue: str, limit: int, target: str, stack: str) -> dict[str, Any]:
    """Up to ``limit`` of the queue's messages, left where they are (read with a visibility timeout
    of 0): id, when first sent, how many times received, the attributes (an async failure's
    ``RequestID``, ``ErrorCode``, ``ErrorMessage``) and the body's start."""
    dead, _ = _dead_queue(queue, target, stack)
    sqs = _sqs()
    url = _url(sqs, dead)
    if url is None:
        raise Refused(f"queue: {dead} does not exist on this target", 404)
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, (limit + 9) // 10) * 2):  # SQS answers from a sample of its servers
        if len(seen) >= limit:
            break
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        for message in answer.get("Messages", []):
            seen.setdefault(message["MessageId"], _message_out(message))
        if not answer.get("Messages"):
            break
    return {"queue": dead, "items": list(seen.values())[:limit]}


def _message_out(message: dict[str, Any]) -> dict[str, Any]:
    from datetime import UTC, datetime

    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    return {
        "message_id": message["MessageId"],
        "sent_at": datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
        "attributes": {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()},
        "body": message["Body"][:BODY_SHOWN],
    }


def redrive(queue: str, target: str, stack: str) -> dict[str, Any]:
    """Move every message of the dead-letter queue ``queue`` back to its source queue (body and
    attributes as they were); returns how many moved."""
    dead, source = _dead_queue(queue, target, stack)
    if source is None:
        return _invoke_again(dead, target, stack)
    sqs = _sqs()
    dead_url, source_url = _url(sqs, dead), _url(sqs, source)
    if dead_url is None or source_url is None:
        raise Refused(f"queue: {dead if dead_url is None else source} does not exist on this target", 404)
    moved: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=dead_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=HIDE_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        fresh = [m for m in messages if m["MessageId"] not in moved]
        sent: set[str] = set()
        failed: list[dict[str, Any]] = []
        if fresh:
            answer = sqs.send_message_batch(
                QueueUrl=source_url,
                Entries=[
                    {"Id": str(n), "MessageBody": m["Body"]}
                    | ({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {})
                    for n, m in enumerate(fresh)
                ],
            )
            sent = {fresh[int(entry["Id"])]["MessageId"] for entry in answer.get("Successful", [])}
            failed = answer.get("Failed", [])
        # What reached its source queue leaves this one before anything else can go wrong.
        done = [m for m in messages if m["MessageId"] in sent or m["MessageId"] in moved]
        if done:
            sqs.delete_message_batch(
                QueueUrl=dead_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
            )
        moved |= sent
        if failed:
            failure = failed[0]
            raise Refused(
                f"queue: {source} refused a message ({failure.get('Code')}: {failure.get('Message')}); "
                f"{len(moved)} moved, the rest wait in {dead}",
                502,
            )
    return {"queue": dead, "redrive_to": source, "moved": len(moved)}


def _invoke_again(queue: str, target: str, stack: str) -> dict[str, Any]:
    """Each failed asynchronous invocation parked in ``queue``: an SNS handler's event invoked
    again, a schedule's dropped; one that fails again stops the run and stays in the queue."""
    import json

    from chalice.app import SNSEventConfig

    from app import app

    handlers = {
        s.topic.rsplit(":", 1)[-1]: s.name for s in app.event_sources if isinstance(s, SNSEventConfig)
    }
    sqs = _sqs()
    url = _url(sqs, queue)
    if url is None:
        raise Refused(f"queue: {queue} does not exist on this target", 404)
    answer: dict[str, Any] = {"queue": queue, "invoked": 0, "schedule_runs_dropped": 0, "not_understood": 0}
    seen: set[str] = set()
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=HIDE_SECONDS
        ).get("Messages", [])
        messages = [m for m in messages if m["MessageId"] not in seen]
        if not messages:
            return answer
        for message in messages:
            seen.add(message["MessageId"])
            try:
                event = json.loads(message["Body"])
            except ValueError:
                event = {}
            records = (event.get("Records") or [{}]) if isinstance(event, dict) else [{}]
            topic = str((records[0].get("Sns") or {}).get("TopicArn", "")).rsplit(":", 1)[-1]
            if topic in handlers:
                _invoke(handlers[topic], event, target, stack, answer)
                answer["invoked"] += 1
            elif isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
                answer["schedule_runs_dropped"] += 1
            else:  # left where it is, for a person to read (``show``)
                answer["not_understood"] += 1
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _invoke(handler: str, event: dict[str, Any], target: str, stack: str, done: dict[str, Any]) -> None:
    """Invoke the function of ``handler`` with ``event`` and wait for it; refuse when it fails."""
    import json

    def failed(error: str) -> Refused:
        return Refused(
            f"queue: {handler} failed again ({error}); the event stays in the queue; "
            f"{done['invoked']} invoked again before it",
            502,
        )

    if target != "aws":
        from chalice.local import LambdaContext

        from app import app

        try:
            app.handler_map[handler](
                event, LambdaContext(f"ops-{handler}", memory_size=512, max_runtime_ms=900_000)
            )
        except Exception as exc:
            raise failed(str(exc) or type(exc).__name__) from exc
        return
    from chalice.utils import to_cfn_resource_name

    from chalicelib.core.aws import client

    function = client("cloudformation").describe_stack_resource(
        StackName=stack, LogicalResourceId=to_cfn_resource_name(handler)
    )["StackResourceDetail"]["PhysicalResourceId"]
    answer = client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    if answer.get("FunctionError"):
        raise failed(answer["Payload"].read().decode("utf-8", "replace")[:500])

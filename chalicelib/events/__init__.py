"""Scheduled and queue-driven entry points."""

# The SQS functions that answer with ``batchItemFailures`` (SQS partial batch responses): the
# deployment turns ``ReportBatchItemFailures`` on for their event source mapping
# (infrastructure/aws/operations.py), and the local poller deletes only the records they did
# not name (infrastructure/local/queues.py).
REPORTS_BATCH_ITEM_FAILURES = frozenset({"ses_events"})

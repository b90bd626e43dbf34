"""Webhooks: a company's own system told what happened to its messages (``service.py``,
docs/webhooks.md). Only names live here, for the queue's worker to import cheaply."""

WEBHOOKS_QUEUE = "pregon-webhooks"

"""Scheduled and queue-driven entry points."""

"""Core: domain types, settings, AWS clients, the clock, errors, observability, secrets,
phone numbers, names and files. Imports nothing above it."""

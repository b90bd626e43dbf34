"""Inbound e-mail (SPEC I3): received through SES, parsed, matched to a client, threaded, logged."""

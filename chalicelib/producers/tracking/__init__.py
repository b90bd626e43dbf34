"""Tracking alerts (SPEC T1-T11): parcels, novelties, subscriptions and the alert sweep."""

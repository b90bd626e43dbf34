"""Senders. Every channel takes a composed message and returns the provider's message id."""

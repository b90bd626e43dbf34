"""Clients and their contacts, as the company's systems register them."""

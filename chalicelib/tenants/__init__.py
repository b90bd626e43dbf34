"""Tenants: companies, their clients, staff identity and API keys."""

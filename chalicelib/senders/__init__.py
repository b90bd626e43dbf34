"""Sender accounts per area (C1): who a company's messages come from, and through which server."""

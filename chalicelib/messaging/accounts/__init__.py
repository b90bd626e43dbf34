"""Sending accounts: e-mail sender accounts (C1, C5), SMS settings (C6), push settings (C7)."""

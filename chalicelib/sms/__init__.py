"""A company's SMS service (C6): its settings, secrets and the sender they describe."""

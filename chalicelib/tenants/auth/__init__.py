"""Who calls: API keys, staff JWTs, the caller (Principal)."""

"""Companies (tenants): creation with sensible defaults, and their API keys."""

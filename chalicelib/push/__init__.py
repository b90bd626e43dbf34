"""Push notifications to clients' apps (C7)."""

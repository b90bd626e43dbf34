"""The queue of preferred-agent change pages (N4), import-light: the app's event blueprint names it
when the app starts, before any store module is needed."""

AGENT_CHANGES_QUEUE = "pregon-agent-changes"

"""The queue of background history exports, import-light: the app's event blueprint names it when
the app starts, before any store module is needed."""

EXPORTS_QUEUE = "pregon-history-exports"
# Where SQS moves a request whose every delivery failed (the queue's redrive policy: five
# receives); its worker marks the export failed (``events.history_exports``).
EXPORTS_DEAD_QUEUE = f"{EXPORTS_QUEUE}-dead"

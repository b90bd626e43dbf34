"""The queue of background history exports, import-light: the app's event blueprint names it when
the app starts, before any store module is needed."""

EXPORTS_QUEUE = "pregon-history-exports"

"""Manual sends (C8): staff pick clients (a list or a filter), a template and a channel; one
client is sent at once, many become a send job that fans out over SQS."""

# The queue of send-job pages (kept here, import-light: the app's event blueprint names it).
SEND_JOBS_QUEUE = "pregon-send-jobs"

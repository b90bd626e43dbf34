"""What tests do, phrased as what a carrier, a customer, a clerk or an administrator does: one
place for every helper the test files share (``conftest.py`` keeps only fixtures).

- ``tenants``: a company with its API key, tokens and SMTP sender account (``Tenant``).
- ``answers``: reading the API's answers (``body``).
- ``outbox``: running the deployed SQS workers until the queues are empty.
- ``mail``: reading the e-mails the SMTP server caught.
- ``clients``: the back office's client register (``put_client``).
- ``tracking``: parcels, events, alert subscriptions and the tracking sweep.
- ``templates``, ``history``, ``sends``: templates, the history, manual and bulk sends.
- ``sms``, ``tls``, ``stack``: an Android SMS gateway, private-CA certificates, the whole stack.
- ``walkthrough``: the README's walkthrough on the whole stack, as its reader sees it (the JSON
  a snippet printed, the caught e-mails) and what a restart must keep.
- ``crashing_worker``, ``crashing_sweep``: an outbox worker and a tracking sweep that die, each in a
  process forked from the test's (``crashes.killed_in_a_fork``).
"""

"""Receivable reminders (R1-R3, seed 001 "Avisos"): the "decide" step for payment reminders.

* :mod:`.receivables`: the ERP pushes receivables and marks them paid or cancelled;
* :mod:`.settings`: the concept catalog (R1) and each client's reminder settings (R2);
* :mod:`.plan`: which reminders a receivable still has to get, and on which of the company's days;
* :mod:`.run`: the daily run (R3) and its preview, through the one outbox.
"""

ALERT_TYPE = "reminders"
BEFORE_DUE = "before_due"
AFTER_DUE = "after_due"
KINDS = (BEFORE_DUE, AFTER_DUE)

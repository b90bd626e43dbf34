"""Deliverability (Q5, H1): what SES says became of a sent e-mail, and the suppression list.

* ``ses_events``: SES delivery notifications (event publishing, ``eventType``, and the older
  identity notifications, ``notificationType``) move a communication to delivered, bounced,
  complained or failed, and put hard-bouncing or complaining addresses on the company's
  suppression list;
* ``suppressions``: the list as administrators see it: list, add by hand, lift.
"""

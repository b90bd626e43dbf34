"""What moto's SES forgets when the local stack restarts, put back from what DynamoDB keeps.

moto keeps SES identities in memory. Before this, a restart left every sending domain a company
had registered (``POST /sender-domains``) unverified in moto while our ``sender-domains`` table
still said SES verified it; the hourly check, which the local scheduler fires at start, then
noted each one "no longer verified" and warned that it stopped verifying, as if its DNS records
were gone. On AWS an identity stays verified across anything we restart. So at every start, before
the API and the scheduler, the stack verifies again in moto the identity of every registered
domain (not being removed) that no check found unverified, with the MAIL FROM domain its
registration set up: the domain then reads as it did before the restart.

SES sender accounts (``kind: "ses"``) need nothing more: an account's ``ses_identity`` is a
registered domain or an address on one (``require_verified_domain``), and SES, moto too, sends
from any address on a verified domain. Pregón's own notice address and the demo's domain are the
demo seed's (``infrastructure/local/demo.py``). A domain a check did find unverified (its identity
deleted from moto to try the notices, say) stays unverified, as it was before the restart.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def restore_sending_domains() -> list[str]:
    """Verify again in moto's SES the registered sending domains our table says SES verifies (or
    that no check found unverified yet); returns them, in domain order. Needs the local stack's
    environment (DynamoDB Local's tables, moto's endpoint) set up first."""
    from chalicelib.core.aws import client
    from chalicelib.messaging.accounts.domains import MAIL_FROM_LABEL
    from chalicelib.store import domains as store

    ses: Any = client("ses")
    restored = []
    for listed in store.registered_domains():
        entry = store.get_domain(listed.domain)  # the index lags: the record itself, read strongly
        if entry is None or entry.removing or entry.unverified_since is not None:
            continue
        ses.verify_domain_identity(Domain=entry.domain)
        ses.set_identity_mail_from_domain(
            Identity=entry.domain,
            MailFromDomain=entry.mail_from_domain or f"{MAIL_FROM_LABEL}.{entry.domain}",
            BehaviorOnMXFailure="UseDefaultValue",
        )
        restored.append(entry.domain)
    if restored:
        log.info("verified again in moto's SES the registered sending domains %s", ", ".join(restored))
    return restored

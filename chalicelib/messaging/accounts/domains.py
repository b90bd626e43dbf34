"""Sending domains for SES accounts (issue 10, point 7): a company administrator registers a
domain, Pregón creates the SES identity with Easy DKIM and a custom MAIL FROM subdomain, answers
the DNS records to publish and, each time it is asked, every record's verification state and what
Gmail and Yahoo ask of bulk senders. SES sender accounts may only send from verified domains.

SES v1 identity calls (VerifyDomainIdentity, VerifyDomainDkim, SetIdentityMailFromDomain,
GetIdentity*Attributes): the same identities SESv2 sends from, and the ones moto (the local SES)
implements; its SESv2 CreateEmailIdentity answers no DKIM tokens and it has no
PutEmailIdentityMailFromAttributes (docs/decisions/0009-operators-and-domains.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib.core import clock
from chalicelib.core.aws import client
from chalicelib.core.domain import SenderAccount, SenderDomain
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed, edited_meanwhile
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings
from chalicelib.store import domains as store

MAIL_FROM_LABEL = "bounce"  # the custom MAIL FROM subdomain: bounce.<domain>
DMARC_START = "v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}; adkim=r; aspf=r"
SPF = "v=spf1 include:amazonses.com ~all"
# A removal checks the accounts again when one is saved meanwhile; an account save tries again
# when another transaction on the domain raced it.
_REMOVAL_TRIES = 3
# A registration SES has not verified this long after the company first registered the domain
# lapses: another company may take the domain over (SES gives up on an unverified identity then).
# One SES verified lapses this long after a check first found it no longer verified.
LAPSE = timedelta(hours=72)
# How long a removal's mark holds off another company's takeover: longer than any function that
# removes a domain can run (the API Lambda's timeout is 60 s in .chalice/config.json, and Lambda
# allows 15 minutes at most). A removal marks the domain right before it deletes the SES identity,
# so by the time a takeover may write, that removal has deleted the old identity or died: it can
# never delete the identity a takeover creates after it.
REMOVAL_HOLD = timedelta(minutes=15)
# Gmail asks bulk senders to stay under 0.3 % spam complaints and recommends under 0.1 %.
COMPLAINT_RATE_LIMIT = 0.003
COMPLAINT_RATE_TARGET = 0.001
COMPLAINT_WINDOW = timedelta(days=30)
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN = re.compile(rf"^(?:{_LABEL}\.)+[a-z]{{2,63}}$")
# SES's answers (v1) as this API says them.
_STATES = {
    "success": "verified",
    "pending": "pending",
    "failed": "failed",
    "temporaryfailure": "temporary_failure",
    "notstarted": "not_started",
}


@dataclass(frozen=True)
class DnsRecord:
    purpose: str  # dkim | mail_from_mx | mail_from_spf | dmarc
    type: str
    name: str
    value: str
    state: (
        str  # verified | pending | failed | temporary_failure | not_started | published | not_found | unknown
    )


@dataclass(frozen=True)
class Check:
    requirement: str
    state: str  # pass | fail | unknown
    detail: str


@dataclass(frozen=True)
class DomainStatus:
    domain: str
    mail_from_domain: str
    verified: bool
    records: tuple[DnsRecord, ...]
    bulk_sender_checks: tuple[Check, ...]
    created_at: Any
    lapses_at: Any  # None while it does not lapse (verified, or SES accounts send from it)


def normalize_domain(raw: str, field: str = "domain") -> str:
    name = (raw or "").strip().lower().rstrip(".")
    if len(name) > 253 or not DOMAIN.match(name):
        raise ValidationFailed(
            [{"field": field, "message": "must be a domain name, e.g. avisos.example.com"}]
        )
    return name


def register_sending_domain(company_id: str, raw_domain: str, *, by: str) -> DomainStatus:
    """Create the SES identity (Easy DKIM, MAIL FROM ``bounce.<domain>``) and keep the domain as
    the company's; answers the records to publish and their states. Registering again refreshes
    the records but not when the company first registered it.

    Another company's registration is a Conflict while SES verifies the domain (never taken), while
    that company has SES sender accounts on it, and until it lapses: 72 hours after that company
    first registered it without SES verifying it, or, SES having verified it once, 72 hours after a
    check first found it no longer verified (the time is in the answer); and for REMOVAL_HOLD after
    that company's removal of it marked it. Then this company takes it over (``_take_over``)."""
    name = normalize_domain(raw_domain)
    if name == get_settings().inbound_domain or name.endswith("." + get_settings().inbound_domain):
        raise ValidationFailed([{"field": "domain", "message": "is Pregón's inbound domain"}])
    if _pregons_own(name):
        raise ValidationFailed(
            [{"field": "domain", "message": "is Pregón's own domain, or above or under it"}]
        )
    for _ in range(_REMOVAL_TRIES):
        entry = store.get_domain(name)
        if entry is not None and entry.company_id != company_id:
            if _take_over(entry, company_id, by):
                return domain_status(company_id, name)
            continue  # the registration changed since it was read: judge it again
        mail_from, tokens = _set_up_identity(name, fresh=False)
        if store.claim_domain(SenderDomain(name, company_id, mail_from, tokens, clock.now(), by)):
            logger().info(
                "sending domain registered", extra={"company_id": company_id, "domain": name, "by": by}
            )
            return domain_status(company_id, name)
        # another company registered it meanwhile: judge its registration
    raise Conflict("another company registered this domain", field="domain")


def _pregons_own(name: str) -> bool:
    """Whether ``name`` is one of Pregón's own domains (``PREGON_MAIL_DOMAIN``,
    ``PREGON_INBOUND_DOMAIN``), a domain under one, or one above one. Their SES identities, if the
    operator verified them, live in the same account as the companies': registering one would adopt
    it (verified: the company could send as Pregón, or as any domain under it that SES sends for)
    and a removal would delete it."""
    settings = get_settings()
    for own in (settings.mail_domain.lower(), settings.inbound_domain):
        if name == own or name.endswith("." + own) or own.endswith("." + name):
            return True
    return False


def _set_up_identity(name: str, *, fresh: bool) -> tuple[str, tuple[str, ...]]:
    """The domain's SES identity with Easy DKIM and MAIL FROM ``bounce.<domain>``: its MAIL FROM
    domain and DKIM tokens. ``fresh`` deletes the identity first, so its tokens are new ones."""
    ses: Any = client("ses")
    if fresh:
        ses.delete_identity(Identity=name)  # succeeds for an identity already gone
    ses.verify_domain_identity(Domain=name)  # the identity; Easy DKIM's CNAMEs verify it
    tokens = tuple(ses.verify_domain_dkim(Domain=name)["DkimTokens"])
    mail_from = f"{MAIL_FROM_LABEL}.{name}"
    ses.set_identity_mail_from_domain(
        Identity=name, MailFromDomain=mail_from, BehaviorOnMXFailure="UseDefaultValue"
    )
    return mail_from, tokens


def _take_over(entry: SenderDomain, company_id: str, by: str) -> bool:
    """Give ``company_id`` another company's registration of the domain once it lapsed; Conflict
    while it holds; False when the registration changed since ``entry`` was read (nothing done).

    It holds while SES verifies the domain (that company proved it controls its DNS: never taken
    over), while that company has SES sender accounts on it (they could only be saved while SES
    verified it: its mail must not stop because someone else asked), for 72 hours from that
    company's first registration (SES itself gives up on an identity it has not verified by then)
    or, SES having verified it once, from the first check that found it no longer verified (this
    one, maybe: its owner gets 72 hours to publish its records again), and for REMOVAL_HOLD from a
    removal's mark (that removal may be about to delete the identity: the new one too).
    The takeover is one conditional write on the old owner, its first registration, its
    verification history, its accounts' version and the removal's mark, so of two companies taking
    over at once one wins and the other is told when the winner's registration lapses; only then
    is the SES identity made anew (fresh DKIM tokens, none the old owner saw) and written to the
    new owner's record. Stopped in between, the record is the new owner's with no records to
    publish yet, and registering again completes it."""
    name = entry.domain
    verified = _verified_in_ses(name)
    noted = note_check(entry, verified)
    if noted is None or noted.company_id != entry.company_id:
        return False  # removed or taken over since it was read
    entry = noted
    if verified:
        raise Conflict("another company registered this domain", field="domain")
    # The version first, then the accounts (as a removal does): an account saved after this read
    # moves the version, and the takeover below is refused.
    version = store.accounts_version(name)
    if accounts_sending_from(entry.company_id, name, consistent=True):
        raise Conflict(
            "another company registered this domain and sends from it with SES sender accounts: "
            "it does not lapse while they exist",
            field="domain",
        )
    unverified_from = entry.unverified_from
    if unverified_from is None:
        return False  # a check found it verified since SES was asked here: judge it again
    lapses_at = unverified_from + LAPSE
    now = clock.now()
    if now < lapses_at:
        when = lapses_at.isoformat()
        raise Conflict(
            f"another company registered this domain; unless SES verifies it first, that "
            f"registration lapses at {when} and the domain may be registered again then",
            field="domain",
        )
    if entry.removing_since is not None and now < entry.removing_since + REMOVAL_HOLD:
        # that company's removal may be about to delete the SES identity: the one made below too
        when = (entry.removing_since + REMOVAL_HOLD).isoformat()
        raise Conflict(
            f"another company is removing this domain; it may be registered again once that "
            f"removal is done, or at {when} if it stops half-way",
            field="domain",
        )
    taken = SenderDomain(name, company_id, f"{MAIL_FROM_LABEL}.{name}", (), now, by)
    if not store.take_over_domain(
        taken,
        previous=entry,
        version=version,
        removal_marked_by=now - REMOVAL_HOLD,
    ):
        return False
    logger().warning(
        "sending domain taken over",
        extra={
            "company_id": company_id,
            "previous_company_id": entry.company_id,
            "domain": name,
            "by": by,
            "previous_registered_at": entry.created_at.isoformat(),
        },
    )
    mail_from, tokens = _set_up_identity(name, fresh=True)
    if not store.claim_domain(SenderDomain(name, company_id, mail_from, tokens, now, by)):
        raise Conflict("another company registered this domain", field="domain")
    return True


def note_check(entry: SenderDomain, verified: bool) -> SenderDomain | None:
    """The registration as it stands once what a check found in SES is written to it, when that
    moves its lapse: found verified (it was verified once, and is no longer unverified since any
    time), or, verified once, found no longer verified (unverified since now: it lapses 72 hours
    later, not at once because its first registration is long past). None once it is gone."""
    if verified and (not entry.verified_once or entry.unverified_since is not None):
        store.note_verified(entry.domain, entry.company_id)
    elif not verified and entry.verified_once and entry.unverified_since is None:
        store.note_unverified(entry.domain, entry.company_id, clock.now())
    else:
        return entry
    return store.get_domain(entry.domain)


def _verified_in_ses(name: str) -> bool:
    """Whether SES verifies the domain's identity now (its own verification or Easy DKIM's)."""
    return verified_in_ses([name])[name]


# SES v1's GetIdentity*Attributes take up to 100 identities a call.
SES_IDENTITIES_PER_CALL = 100


def verified_in_ses(names: list[str]) -> dict[str, bool]:
    """Whether SES verifies each domain's identity now (its own verification or Easy DKIM's): two
    calls for up to ``SES_IDENTITIES_PER_CALL`` domains (SES allows these calls once a second)."""
    assert len(names) <= SES_IDENTITIES_PER_CALL
    ses: Any = client("ses")
    identities = ses.get_identity_verification_attributes(Identities=names)["VerificationAttributes"]
    dkim = ses.get_identity_dkim_attributes(Identities=names)["DkimAttributes"]
    return {
        name: "verified"
        in (
            _state(identities.get(name, {}).get("VerificationStatus")),
            _state(dkim.get(name, {}).get("DkimVerificationStatus")),
        )
        for name in names
    }


def remove_sending_domain(company_id: str, raw_domain: str, *, by: str) -> None:
    """Delete the domain's SES identity and the company's record of it. NotFound for a domain the
    company does not have (another company's included: it is never touched); Conflict naming the
    SES sender accounts that send from it, which would stop working without a word."""
    name = normalize_domain(raw_domain)
    for _ in range(_REMOVAL_TRIES):
        entry = store.get_domain(name)
        if entry is None or entry.company_id != company_id:
            raise NotFound(f"the company has no sending domain {name!r}", field="domain")
        if entry.removing:  # a removal that stopped half-way: its accounts were checked then
            # Marked again right before the identity goes, only while the domain is still the
            # company's and still marked: another company that took it over since it was read
            # (once the old mark was older than REMOVAL_HOLD) has a new identity that must stay;
            # and for REMOVAL_HOLD from this mark no other company may take it over.
            if store.renew_removal(name, company_id, clock.now()):
                break
            continue  # taken over (then a 404) or registered again (then checked anew)
        # The version first, then the accounts: an SES account saved after this read moves the
        # version (in the transaction that writes it), so the mark below is refused and the
        # accounts are checked again; one saved before is in the (strongly consistent) list.
        version = store.accounts_version(name)
        users = accounts_sending_from(company_id, name, consistent=True)
        if users:
            raise Conflict(
                f"the sender accounts {', '.join(users)} send from {name}: move them to another "
                "domain or remove them first",
                field="domain",
            )
        # From this mark on, no SES account can be saved on the domain, and for REMOVAL_HOLD no
        # other company may take it over (the identity goes right after it).
        if store.start_removal(name, company_id, version, clock.now()):
            break
    else:
        raise Conflict(f"sender accounts on {name} keep changing: try again", field="domain")
    # The identity next: a removal that stops half-way leaves the record (marked), and asking
    # again finishes it (SES's DeleteIdentity succeeds for an identity already gone).
    client("ses").delete_identity(Identity=name)
    if not store.release_domain(name, company_id):
        raise NotFound(f"the company has no sending domain {name!r}", field="domain")
    logger().info("sending domain removed", extra={"company_id": company_id, "domain": name, "by": by})


def save_on_domain(
    account: SenderAccount, *, clear_password: bool, expected: tuple[int, ...] | None = None
) -> SenderAccount:
    """Write an SES account bound to its identity's domain (the account as saved): refused (422
    on ``ses_identity``) when the domain stopped being the company's or a removal of it has begun
    since it was checked. With ``expected`` (the versions an ``If-Match`` names), a 412 when
    someone else saved the account since."""
    from chalicelib.store.companies import get_sender_accounts, save_sender_account

    name = normalize_domain((account.ses_identity or "").rpartition("@")[2], "ses_identity")
    for _ in range(_REMOVAL_TRIES):
        saved = save_sender_account(
            account, clear_password=clear_password, sending_domain=name, expected=expected
        )
        if saved is not None:
            return saved
        if expected is not None:
            now = get_sender_accounts(account.company_id, [account.area]).get(account.area)
            if (now.version if now else 0) not in expected:
                raise edited_meanwhile("this sender account")
        entry = store.get_domain(name)
        if entry is None or entry.company_id != account.company_id:
            raise _not_the_companys(name)
        if entry.removing:
            raise _being_removed(name)
        # else another transaction on the domain raced this one: try again
    raise Conflict(f"sender accounts on {name} keep changing: try again", field="ses_identity")


def _not_the_companys(name: str) -> ValidationFailed:
    return ValidationFailed(
        [
            {
                "field": "ses_identity",
                "message": f"{name} is not a sending domain of the company: "
                "register it (POST /sender-domains) and publish its records first",
            }
        ]
    )


def _being_removed(name: str) -> ValidationFailed:
    return ValidationFailed(
        [{"field": "ses_identity", "message": f"{name} is being removed from the company's sending domains"}]
    )


def accounts_sending_from(company_id: str, name: str, *, consistent: bool = False) -> list[str]:
    """The areas (``all``, ``tracking``, a user's ``user:<id>``) of the company's SES sender
    accounts whose identity or From address is on the domain, enabled or not. SMTP accounts send
    through their own server, whatever their From says: SES's identity is not theirs."""
    from chalicelib.store.companies import list_sender_accounts

    def on_domain(address: str | None) -> bool:
        return (address or "").rpartition("@")[2].strip().lower().rstrip(".") == name

    return sorted(
        account.area
        for account in list_sender_accounts(company_id, consistent=consistent)
        if account.kind == "ses" and (on_domain(account.ses_identity) or on_domain(account.from_address))
    )


def list_sending_domains(company_id: str) -> list[DomainStatus]:
    shown = []
    for listed in sorted(store.list_domains(company_id), key=lambda d: d.domain):
        try:
            shown.append(domain_status(company_id, listed.domain))
        except NotFound:  # the company index lags a takeover or a removal: no longer the company's
            continue
    return shown


def domain_status(company_id: str, raw_domain: str) -> DomainStatus:
    """The records to publish, each with its state as SES (DKIM, MAIL FROM) or DNS (DMARC) sees it
    now, the bulk-sender checks and when the registration lapses (noting on the record when SES
    verifies it, or first no longer does: ``note_check``)."""
    name = normalize_domain(raw_domain)
    entry = store.get_domain(name)
    if entry is None or entry.company_id != company_id:
        raise NotFound(f"the company has no sending domain {name!r}", field="domain")
    ses: Any = client("ses")
    dkim = ses.get_identity_dkim_attributes(Identities=[name])["DkimAttributes"].get(name, {})
    mail_from = ses.get_identity_mail_from_domain_attributes(Identities=[name])[
        "MailFromDomainAttributes"
    ].get(name, {})
    identity = ses.get_identity_verification_attributes(Identities=[name])["VerificationAttributes"].get(
        name, {}
    )
    dkim_state = _state(dkim.get("DkimVerificationStatus"))
    mail_from_state = (
        _state(mail_from.get("MailFromDomainStatus"))
        if mail_from.get("MailFromDomain") == entry.mail_from_domain
        else "not_started"
    )
    region = ses.meta.region_name
    dmarc_state = dmarc_published(name)
    records = [
        DnsRecord("dkim", "CNAME", f"{token}._domainkey.{name}", f"{token}.dkim.amazonses.com", dkim_state)
        for token in entry.dkim_tokens
    ]
    records += [
        DnsRecord(
            "mail_from_mx",
            "MX",
            entry.mail_from_domain,
            f"10 feedback-smtp.{region}.amazonses.com",
            mail_from_state,
        ),
        DnsRecord("mail_from_spf", "TXT", entry.mail_from_domain, f'"{SPF}"', mail_from_state),
        DnsRecord("dmarc", "TXT", f"_dmarc.{name}", f'"{DMARC_START.format(domain=name)}"', dmarc_state),
    ]
    # SES sends from a domain whose identity it verified; with Easy DKIM, finding the CNAMEs does it
    verified = "verified" in (_state(identity.get("VerificationStatus")), dkim_state)
    noted = note_check(entry, verified)
    if noted is None or noted.company_id != company_id:
        raise NotFound(f"the company has no sending domain {name!r}", field="domain")
    checks = bulk_sender_checks(company_id, name, dkim_state, mail_from_state, dmarc_state)
    # what another company's registration would be told (_take_over), as the company sees it
    unverified_from = noted.unverified_from
    lapses_at = (
        None
        if verified or unverified_from is None or accounts_sending_from(company_id, name)
        else unverified_from + LAPSE
    )
    return DomainStatus(
        name, entry.mail_from_domain, verified, tuple(records), checks, entry.created_at, lapses_at
    )


def _state(ses_status: str | None) -> str:
    return _STATES.get((ses_status or "NotStarted").replace("_", "").lower(), "pending")


def dmarc_published(name: str) -> str:
    """Whether ``_dmarc.<domain>`` has a DMARC record in public DNS: published, not_found, or
    unknown (no answer in time, e.g. without a network)."""
    import dns.exception
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver()
        resolver.lifetime = 2.0
        answer = resolver.resolve(f"_dmarc.{name}", "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return "not_found"
    except (dns.exception.DNSException, OSError):
        return "unknown"
    texts = [b"".join(r.strings).decode("ascii", "replace") for r in answer]
    return "published" if any(t.lower().startswith("v=dmarc1") for t in texts) else "not_found"


def bulk_sender_checks(
    company_id: str, name: str, dkim_state: str, mail_from_state: str, dmarc_state: str
) -> tuple[Check, ...]:
    """What Gmail and Yahoo ask of bulk senders (since 2024), checked for this domain."""
    now = clock.now()
    # an e-mail a worker may still be sending: created within its lease (and the minute the
    # schedule takes to find a lease that ran out)
    in_flight = timedelta(seconds=get_settings().outbox_lease_seconds) + timedelta(minutes=2)
    outcomes = store.email_outcomes_from(
        company_id, name, now - COMPLAINT_WINDOW, now, in_flight_since=now - in_flight
    )
    sent, complained = outcomes["sent"], outcomes["complained"]
    rate = complained / sent if sent else 0.0
    bulk, one_click = outcomes["bulk"], outcomes["bulk:one_click"]
    spf_ok, dkim_ok = mail_from_state == "verified", dkim_state == "verified"
    return (
        Check(
            "spf",
            "pass" if spf_ok else "fail",
            f"SPF of the MAIL FROM {MAIL_FROM_LABEL}.{name} includes amazonses.com"
            if spf_ok
            else f"publish the MX and SPF records of {MAIL_FROM_LABEL}.{name} (MAIL FROM: {mail_from_state})",
        ),
        Check(
            "dkim",
            "pass" if dkim_ok else "fail",
            f"SES signs with d={name} (Easy DKIM)"
            if dkim_ok
            else f"publish the 3 DKIM CNAMEs (DKIM: {dkim_state})",
        ),
        Check(
            "dmarc",
            {"published": "pass", "not_found": "fail"}.get(dmarc_state, "unknown"),
            f"_dmarc.{name}: {dmarc_state.replace('_', ' ')}",
        ),
        Check(
            "dmarc_alignment",
            "pass" if dkim_ok and spf_ok else "fail",
            f"DKIM d={name} and MAIL FROM {MAIL_FROM_LABEL}.{name} both align with From: @{name} (relaxed)"
            if dkim_ok and spf_ok
            else "needs DKIM and the custom MAIL FROM verified",
        ),
        Check(
            "one_click_unsubscribe",
            "pass" if one_click == bulk else "fail",
            f"{one_click} of {bulk} bulk e-mails (tracking alerts, manual sends) in 30 days carried "
            "List-Unsubscribe and List-Unsubscribe-Post (RFC 8058)"
            if bulk
            else "no bulk e-mail in 30 days; tracking alerts and manual sends carry RFC 8058 one-click",
        ),
        Check(
            "complaint_rate",
            "pass" if rate < COMPLAINT_RATE_LIMIT else "fail",
            f"{complained} complaints in {sent} e-mails in 30 days ({rate:.2%}); Gmail asks under 0.3 %, "
            "recommends under 0.1 %",
        ),
    )


def require_verified_domain(company_id: str, ses_identity: str, from_address: str) -> None:
    """An SES account sends only from a domain the company registered and SES verified: its
    identity's domain (an address identity: the part after @), and the From address's domain."""
    identity_domain = normalize_domain(ses_identity.rpartition("@")[2], "ses_identity")
    entry = store.get_domain(identity_domain)
    if entry is not None and entry.company_id == company_id and entry.removing:
        raise _being_removed(identity_domain)
    if entry is None or entry.company_id != company_id:
        raise _not_the_companys(identity_domain)
    if not domain_status(company_id, identity_domain).verified:
        raise ValidationFailed(
            [
                {
                    "field": "ses_identity",
                    "message": f"{identity_domain} is not verified yet: publish its DNS records "
                    "(GET /sender-domains/{domain}) and try again",
                }
            ]
        )
    if from_address.rpartition("@")[2].lower() != identity_domain:
        raise ValidationFailed(
            [{"field": "from_address", "message": f"must be an address @{identity_domain}"}]
        )

"""Seeds the demo company for the local stack, idempotently.

The first run creates company ``demo`` ("Demo Cargas"), an integration API key, an SMTP sender
account for every area (``all``) pointing at the local mail catcher, switches tracking alerts on
every minute, and puts the demo administrator (``admin@demo``) in the staff directory with every
directory permission (the console's preferred-agents screen asks for one). The API key's
plaintext is shown only once by the service, so it is kept in ``.local/demo-credentials.json``
(git-ignored) for the banner of later runs. Later runs change
nothing, so whatever was configured through the API since survives a restart. Needs the
environment of the local stack (tables, KMS) to be set up first.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from infrastructure.local.paths import LOCAL_DIR

log = logging.getLogger(__name__)

COMPANY_ID = "demo"
COMPANY_NAME = "Demo Cargas"
API_KEY_NAME = "demo-integration"
API_KEY_SCOPES = (
    "parcels:write",
    "parcels:read",
    "clients:write",
    "clients:read",
    "events:write",
    "receivables:write",
    "documents:write",
    "documents:read",
    "tickets:read",
)
SENDER_AREA = "all"
SMTP_USERNAME = "demo"
SMTP_PASSWORD = "demo-password"  # nosec B105 # the local mail catcher's login, not a secret
SMTP_PORT = 1025
TRACKING_FREQUENCY_MINUTES = 1
SES_DOMAIN = "demo.example"  # verified in moto's SES at every start (moto keeps it in memory)
INBOUND_NUMBER = "+5491140001234"  # the two-way number `stack sms` texts (SMS through SNS in moto)
CREDENTIALS_FILE = LOCAL_DIR / "demo-credentials.json"


def sender_fields(smtp_port: int = SMTP_PORT) -> dict[str, Any]:
    return {
        "kind": "smtp",
        "display_name": "Demo Envíos",
        "from_address": "avisos@demo.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "encryption": "none",
        "username": SMTP_USERNAME,
        "enabled": True,
    }


def _load(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _save(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state, indent=2))
    os.chmod(partial, 0o600)
    partial.replace(path)


def seed_demo_company(
    credentials_file: Path = CREDENTIALS_FILE, *, smtp_port: int = SMTP_PORT
) -> dict[str, Any]:
    """Create the demo company once; return what the banner shows.

    Returns ``{"company_id", "company_name", "api_key", "created", "sender_area",
    "smtp_username", "smtp_password"}``; ``created`` is True only on the run that created it.
    """
    from chalicelib.core.errors import NotFound
    from chalicelib.messaging.accounts.email import save_sender_account, set_sender_password
    from chalicelib.producers.tracking.monitor import configure_alert
    from chalicelib.tenants.companies import create_company, get_company, issue_api_key

    try:
        # Looked up first: create_company on an existing company should return False, but it is
        # cheap to not depend on that on every restart.
        get_company(COMPANY_ID)
        created = False
    except NotFound:
        # Z1: an Argentine carrier; its people read times in Buenos Aires, written es_AR.
        created = create_company(
            COMPANY_ID, COMPANY_NAME, language="es", country="AR", time_zone="America/Argentina/Buenos_Aires"
        )
    # A new company means a new (or wiped) database: whatever the file says is stale.
    state = {} if created else _load(credentials_file)
    if state.get("company_id") != COMPANY_ID:
        state = {"company_id": COMPANY_ID}

    if not state.get("api_key"):
        state["api_key"] = issue_api_key(COMPANY_ID, API_KEY_NAME, list(API_KEY_SCOPES))
        _save(credentials_file, state)
        log.info("issued the demo API key")

    if not state.get("configured"):
        # Each step is a create-or-replace, so a run interrupted here is simply repeated.
        save_sender_account(COMPANY_ID, SENDER_AREA, sender_fields(smtp_port))
        set_sender_password(COMPANY_ID, SENDER_AREA, SMTP_PASSWORD)
        configure_alert(COMPANY_ID, "tracking", enabled=True, frequency_minutes=TRACKING_FREQUENCY_MINUTES)
        state["configured"] = True
        _save(credentials_file, state)
        log.info("configured the demo company's sender account and tracking alerts")
    else:
        # A password is bound to its server by its KMS context (docs/decisions/0004); setting it
        # again on every start keeps a .local/ made before that change sending.
        set_sender_password(COMPANY_ID, SENDER_AREA, SMTP_PASSWORD)

    if not state.get("admin_permissions"):
        # The demo administrator (the local identity's admin@demo) in the staff directory with
        # every directory permission, so that the console offers them every screen (preferred
        # agents needs change_preferred_agent besides level 1). Once: an administrator who takes
        # a permission away later keeps it away across restarts.
        from chalicelib.tenants.staff import PERMISSIONS, UserFields, save_user
        from infrastructure.local.identity_server import DEMO_USERS

        user, name, level = next(u for u in DEMO_USERS if u[2] == 1)
        save_user(
            COMPANY_ID, f"{user}@{COMPANY_ID}", UserFields(name=name, level=level, permissions=PERMISSIONS)
        )
        state["admin_permissions"] = True
        _save(credentials_file, state)
        log.info("gave the demo administrator the directory permissions %s", ", ".join(PERMISSIONS))

    if not state.get("sms_configured"):
        # SMS through SNS (moto) and the two-way number the local phone texts (I1, I2), which the
        # operator gives the company first (as PUT /operator/companies/demo/sms-numbers would).
        from chalicelib.messaging.accounts.sms import assign_inbound_numbers, save_sms_settings

        assign_inbound_numbers(COMPANY_ID, [INBOUND_NUMBER])
        save_sms_settings(COMPANY_ID, {"enabled": True, "provider": "sns", "inbound_number": INBOUND_NUMBER})
        state["sms_configured"] = True
        _save(credentials_file, state)
        log.info("configured the demo company's SMS (two-way number %s)", INBOUND_NUMBER)

    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings, notice_from

    # An SES sender account (kind "ses") can send from the demo's domain, e.g. to the mailbox
    # simulator (infrastructure.local.ses_simulator): the domain is the demo company's registered
    # sending domain (Q5), which moto's SES verifies at once (moto keeps identities in memory, so
    # this runs at every start; registering again only refreshes it).
    from chalicelib.messaging.accounts.domains import register_sending_domain

    client("ses").verify_domain_identity(Domain=SES_DOMAIN)
    # Pregón's own notices (a sending domain stopped verifying) come from PREGON_NOTICE_FROM, an
    # identity of Pregón's own SES account: moto's, here.
    client("ses").verify_email_identity(EmailAddress=notice_from())
    register_sending_domain(COMPANY_ID, SES_DOMAIN, by="local stack")

    return {
        "ses_domain": SES_DOMAIN,
        "inbound_domain": get_settings().inbound_domain,
        "inbound_number": INBOUND_NUMBER,
        "company_id": COMPANY_ID,
        "company_name": COMPANY_NAME,
        "api_key": state["api_key"],
        "created": created,
        "sender_area": SENDER_AREA,
        "smtp_username": SMTP_USERNAME,
        "smtp_password": SMTP_PASSWORD,
    }

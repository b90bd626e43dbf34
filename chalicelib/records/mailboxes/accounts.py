"""H3 settings: the staff mailboxes the register reads, who sees and manages each, their
write-only passwords, and the connection test.

* A mailbox is ``private`` (its records are its owner's and level 1's) or ``public`` (the office's:
  whoever may see the client's register); only level 1 makes one public.
* Its owner or a level-1 administrator manages it; others see public ones only.
* The password is stored as sender-account passwords are (``messaging/accounts/email.py``): KMS
  encrypted, its encryption context bound to ``imap://<user>@<host>:<port>``, never returned;
  changing host, port or user removes it (and the folders are read from the start again), and so
  does turning TLS off (it would go out in clear).
* The host must be a public address (``channels/destinations.py``), checked when saved and on
  every connection.
* A Microsoft 365 mailbox (``auth: microsoft365``) has no host of the tenant's: it is read on
  Exchange Online (the deployment's setting) with its Entra app's OAuth2 token
  (``microsoft.py``); the tenant gives tenant id, client id and the client secret, which is kept
  as the password is (bound to ``microsoft365://<tenant>/<client>``).
* A Google Workspace mailbox (``auth: google``) is read on Gmail (the deployment's setting) with a
  token its company's service account gets by domain-wide delegation, as the mailbox's user
  (``google.py``); the tenant gives the service account's JSON key file, of which the account's
  address and its private key are kept, the key as the password is (bound to
  ``google://<client_email>``).
* Switching between kinds removes the other kinds' secrets.
"""

from __future__ import annotations

import imaplib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.channels.base import ANSWER_WITHIN_SECONDS
from chalicelib.channels.deadlines import Deadline
from chalicelib.channels.destinations import host_problem, is_host_name_or_address
from chalicelib.core import clock
from chalicelib.core.domain import Mailbox
from chalicelib.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, edited_meanwhile
from chalicelib.core.secrets import decrypt_password, encrypt_secret
from chalicelib.messaging.accounts.email import encryption_dropped
from chalicelib.records.mailboxes import google, microsoft
from chalicelib.records.mailboxes.imap import (
    TIMEOUT_SECONDS,
    BearerToken,
    ImapFailed,
    Password,
    Session,
    server_of,
    server_text,
    session,
)
from chalicelib.store import mailboxes as store
from chalicelib.tenants.auth.principal import Principal

VISIBILITIES = ("private", "public")
ENCRYPTIONS = ("tls", "starttls", "none")
AUTHS = ("password", "microsoft365", "google")
SERVER_FIELDS = ("host", "port", "encryption")  # an OAuth2 mailbox's are its provider's, not the tenant's
# The server each OAuth2 kind shows (it is read on the deployment's setting), and whose it is.
PROVIDER_SERVERS = {
    "microsoft365": (microsoft.HOST, microsoft.PORT, microsoft.ENCRYPTION, "Microsoft's"),
    "google": (google.HOST, google.PORT, google.ENCRYPTION, "Google's"),
}
DEFAULT_FOLDERS = ("INBOX", "Sent")
MAX_FOLDERS = 10
_PASSWORD_PURPOSE = "mailbox-password"  # noqa: S105  # nosec B105 # a KMS context label, not a secret
_CLIENT_SECRET_PURPOSE = "mailbox-client-secret"  # noqa: S105  # nosec B105 # a KMS context label, not a secret
_SERVICE_ACCOUNT_KEY_PURPOSE = "mailbox-service-account-key"


def is_admin(viewer: Principal) -> bool:
    return viewer.kind == "user" and viewer.level == 1


def may_see(viewer: Principal, mailbox: Mailbox) -> bool:
    return mailbox.visibility == "public" or mailbox.owner == viewer.subject or is_admin(viewer)


def may_manage(viewer: Principal, mailbox: Mailbox) -> bool:
    return mailbox.owner == viewer.subject or is_admin(viewer)


def destination_of(mailbox: Mailbox) -> str:
    """Where the password is sent: ``imap://<user>@<host>:<port>`` (the KMS context)."""
    return f"imap://{mailbox.username}@{mailbox.host.lower()}:{mailbox.port}"


def app_of(mailbox: Mailbox) -> str:
    """Whose client secret it is: ``microsoft365://<tenant>/<client>`` (its KMS context)."""
    return f"microsoft365://{(mailbox.tenant_id or '').lower()}/{(mailbox.client_id or '').lower()}"


def account_of(mailbox: Mailbox) -> str:
    """Whose private key it is: ``google://<client_email>`` (its KMS context)."""
    return f"google://{(mailbox.service_account or '').lower()}"


def has_secret(mailbox: Mailbox) -> bool:
    """Whether it can be read: its password, a Microsoft 365 mailbox's client secret, or a Google
    one's service account key, is set."""
    if mailbox.auth == "microsoft365":
        return mailbox.client_secret_ciphertext is not None
    if mailbox.auth == "google":
        return mailbox.service_account_key_ciphertext is not None
    return mailbox.password_ciphertext is not None


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    answer: str
    folders: dict[str, int]


def _check(viewer: Principal, fields: dict[str, Any]) -> None:
    errors: list[dict[str, str]] = []
    host = fields.get("host")
    if "host" in fields and (not host or not is_host_name_or_address(str(host))):
        errors.append({"field": "host", "message": "must be a host name or an IP address"})
    port = fields.get("port")
    if "port" in fields and not (isinstance(port, int) and 1 <= port <= 65535):
        errors.append({"field": "port", "message": "must be a port number (1 to 65535)"})
    if "encryption" in fields and fields["encryption"] not in ENCRYPTIONS:
        errors.append({"field": "encryption", "message": f"must be one of {', '.join(ENCRYPTIONS)}"})
    if "visibility" in fields and fields["visibility"] not in VISIBILITIES:
        errors.append({"field": "visibility", "message": "must be private or public"})
    username = fields.get("username")
    if "username" in fields and (not username or any(ord(c) < 32 or ord(c) == 127 for c in username)):
        errors.append({"field": "username", "message": "is required, without control characters"})
    if "auth" in fields and fields["auth"] not in AUTHS:
        errors.append({"field": "auth", "message": f"must be one of {', '.join(AUTHS)}"})
    tenant_id = fields.get("tenant_id")
    if "tenant_id" in fields and not (isinstance(tenant_id, str) and microsoft.is_tenant_id(tenant_id)):
        errors.append(
            {
                "field": "tenant_id",
                "message": "must be the directory (tenant) id: a GUID or the tenant's domain name",
            }
        )
    client_id = fields.get("client_id")
    if "client_id" in fields and not (isinstance(client_id, str) and microsoft.is_guid(client_id)):
        errors.append({"field": "client_id", "message": "must be the application (client) id, a GUID"})
    folders = fields.get("folders")
    if "folders" in fields:
        if not folders or len(folders) > MAX_FOLDERS:
            errors.append({"field": "folders", "message": f"must name 1 to {MAX_FOLDERS} folders"})
        elif any(not f or len(f) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in f) for f in folders):
            errors.append({"field": "folders", "message": "each folder is a name without control characters"})
    if errors:
        raise ValidationFailed(errors)
    if fields.get("visibility") == "public" and not is_admin(viewer):
        raise Forbidden(
            "only a company administrator (level 1) may make a mailbox public", field="visibility"
        )


def _check_auth(auth: str, given: dict[str, Any], after: dict[str, Any]) -> None:
    """A Microsoft 365 or Google mailbox takes no server (its server is its provider's: a secret,
    an assertion and a token never go to a host a tenant chose); a Microsoft 365 one needs tenant
    and client ids, a Google one a user's address; the others take no ids. ``given``: the fields
    sent; ``after``: the mailbox's values once changed."""
    errors: list[dict[str, str]] = []
    if auth in PROVIDER_SERVERS:
        whose = PROVIDER_SERVERS[auth][3]
        for name in SERVER_FIELDS:
            if name in given:
                errors.append({"field": name, "message": f"is {whose} for a {auth} mailbox, not a setting"})
    if auth == "microsoft365":
        for name in ("tenant_id", "client_id"):
            if not after.get(name):
                errors.append({"field": name, "message": "is required for a microsoft365 mailbox"})
    elif auth == "google":
        for name in ("tenant_id", "client_id"):
            if name in given:
                errors.append({"field": name, "message": "is for a microsoft365 mailbox only"})
        if not google.is_address(str(after.get("username") or "")):
            errors.append(
                {"field": "username", "message": "must be the Workspace user's address for a google mailbox"}
            )
    else:
        for name in ("tenant_id", "client_id"):
            if name in given:
                errors.append({"field": name, "message": "is for a microsoft365 mailbox only"})
        if not after.get("host"):
            errors.append({"field": "host", "message": "is required for a password mailbox"})
    if errors:
        raise ValidationFailed(errors)


def _check_host(host: str, port: int) -> None:
    problem = host_problem(host, port)  # Q7: never a private, link-local or loopback server
    if problem:
        raise ValidationFailed([{"field": "host", "message": problem}])


def list_visible(viewer: Principal) -> list[Mailbox]:
    """The caller's own mailboxes and the public ones (all of them for level 1)."""
    return [m for m in store.list_mailboxes(viewer.company_id) if may_see(viewer, m)]


def get_visible(viewer: Principal, mailbox_id: str) -> Mailbox:
    found = store.get_mailbox(viewer.company_id, mailbox_id)
    if found is None or not may_see(viewer, found):
        raise NotFound(f"there is no mailbox {mailbox_id!r}")
    return found


def managed(viewer: Principal, mailbox_id: str) -> Mailbox:
    """The mailbox, when ``viewer`` may change it: 404 when they may not see it (or it is not
    there), 403 when they may see it only. Checked before anything they sent is read, so that
    what they sent never tells them more than that."""
    found = get_visible(viewer, mailbox_id)
    if not may_manage(viewer, found):
        raise Forbidden("only the mailbox's owner or a company administrator may change it")
    return found


def add_mailbox(viewer: Principal, fields: dict[str, Any]) -> Mailbox:
    """A new mailbox of the caller's (no password yet: it is set by its own call, which starts
    the first sync)."""
    given = {k: v for k, v in fields.items() if v is not None}
    auth = given.get("auth", "password")
    fields = {"visibility": "private", "encryption": "tls", "folders": list(DEFAULT_FOLDERS), **given}
    fields.setdefault("username", None)
    _check(viewer, fields)
    _check_auth(auth, given, fields)
    if auth in PROVIDER_SERVERS:
        host, port, encryption, _ = PROVIDER_SERVERS[auth]
        fields.update(host=host, port=port, encryption=encryption)
    else:
        fields.setdefault("port", 993 if fields["encryption"] == "tls" else 143)
        _check_host(fields["host"], fields["port"])
    now = clock.now()
    mailbox = Mailbox(
        company_id=viewer.company_id,
        mailbox_id=secrets.token_hex(8),
        owner=viewer.subject,
        visibility=fields["visibility"],
        host=fields["host"],
        port=fields["port"],
        encryption=fields["encryption"],
        username=fields["username"],
        folders=tuple(dict.fromkeys(fields["folders"])),
        created_at=now,
        updated_at=now,
        enabled=bool(fields.get("enabled", True)),
        auth=auth,
        tenant_id=fields.get("tenant_id"),
        client_id=fields.get("client_id"),
    )
    store.create_mailbox(mailbox)
    return mailbox


def update_mailbox(
    viewer: Principal, mailbox_id: str, changes: dict[str, Any], if_match: tuple[int, ...] | None = None
) -> Mailbox:
    """Change settings; a new host, port or user removes the password (set it again), a new
    tenant or client id the client secret, and switching between kinds (password, Microsoft 365,
    Google) the other kinds' secrets. A new user removes a Microsoft 365 client secret and a
    Google service account key too: those open every mailbox the app or the service account
    may reach, so a secret an administrator set for Ana's address must not read Luis's once Ana
    (the mailbox's owner) names him. With ``if_match`` (the versions an ``If-Match`` names), a 412
    when someone else changed it since."""
    before = managed(viewer, mailbox_id)
    changes = {k: v for k, v in changes.items() if v is not None}
    _check(viewer, changes)
    auth = changes.get("auth", before.auth)
    switched = auth != before.auth
    after = {
        "host": changes.get("host", before.host),
        "port": changes.get("port", before.port),
        "username": changes.get("username", before.username),
        "tenant_id": changes.get("tenant_id", before.tenant_id if not switched else None),
        "client_id": changes.get("client_id", before.client_id if not switched else None),
    }
    _check_auth(auth, changes, after)
    if auth in PROVIDER_SERVERS:
        host, port, encryption, _ = PROVIDER_SERVERS[auth]
        after.update(host=host, port=port)
        changes.update(host=host, port=port, encryption=encryption)
    elif "host" in changes or "port" in changes:
        _check_host(after["host"], after["port"])
    moved = switched or (after["host"].lower(), after["port"], after["username"]) != (
        before.host.lower(),
        before.port,
        before.username,
    )
    in_clear = encryption_dropped(before.encryption, changes.get("encryption", before.encryption))
    other_app = (str(after["tenant_id"]).lower(), str(after["client_id"]).lower()) != (
        str(before.tenant_id).lower(),
        str(before.client_id).lower(),
    )
    if switched and auth != "microsoft365":
        changes.update(tenant_id=None, client_id=None)  # removed with the client secret
    if "folders" in changes:
        changes["folders"] = list(dict.fromkeys(changes["folders"]))
    written = store.update_settings(
        viewer.company_id,
        mailbox_id,
        changes,
        clock.now(),
        clear_password=moved or in_clear,
        restart_folders=moved,
        clear_client_secret=switched or other_app or moved,
        clear_service_account_key=moved,  # and the service account with it (moved: switched too)
        expected=if_match,
    )
    if not written and if_match is not None:
        managed(viewer, mailbox_id)  # 404 when it was removed meanwhile
        raise edited_meanwhile("this mailbox")
    after_change = get_visible(viewer, mailbox_id)
    if not after_change.enabled or not has_secret(after_change):
        store.schedule_sync(viewer.company_id, mailbox_id, None)  # nothing to read until it can be
    elif changes.get("enabled") is True and not before.enabled:
        _start_syncing(after_change)
    return after_change


def _start_syncing(mailbox: Mailbox) -> None:
    """Sync now, and be on the schedule (which also catches up if the SQS message is lost)."""
    from chalicelib.records.mailboxes.sync import SYNC_EVERY, request_syncs

    store.schedule_sync(mailbox.company_id, mailbox.mailbox_id, clock.now() + SYNC_EVERY)
    request_syncs(mailbox.company_id, [mailbox.mailbox_id])


def delete_mailbox(viewer: Principal, mailbox_id: str) -> None:
    """The mailbox leaves Pregón; the records it logged stay in the register (and the mailbox
    itself is never touched)."""
    managed(viewer, mailbox_id)
    store.delete_mailbox(viewer.company_id, mailbox_id)


@dataclass(frozen=True)
class _SecretKind:
    """A kind of mailbox secret: the ``auth`` it logs in with, its KMS context (purpose and
    destination), where it is kept, and what is said when it is missing or was set elsewhere."""

    auth: str
    purpose: str
    destination: Callable[[Mailbox], str]
    ciphertext: Callable[[Mailbox], bytes | None]
    keep: Callable[..., bool]  # (company_id, mailbox_id, ciphertext, now, **settings written with it)
    other_auth: str  # the 409 when the mailbox logs in the other way
    missing: str
    moved: str


_PASSWORD = _SecretKind(
    "password",
    _PASSWORD_PURPOSE,
    destination_of,
    lambda mailbox: mailbox.password_ciphertext,
    store.set_password,
    "a microsoft365 or google mailbox logs in with OAuth2 (PUT .../client-secret or "
    ".../service-account-key), not a password",
    "no password is set for this mailbox",
    "the stored password was set for another server or user; set it again",
)
_CLIENT_SECRET = _SecretKind(
    "microsoft365",
    _CLIENT_SECRET_PURPOSE,
    app_of,
    lambda mailbox: mailbox.client_secret_ciphertext,
    store.set_client_secret,
    "only a microsoft365 mailbox has a client secret (this one logs in otherwise)",
    "no client secret is set for this mailbox",
    "the stored client secret was set for another app; set it again",
)
_SERVICE_ACCOUNT_KEY = _SecretKind(
    "google",
    _SERVICE_ACCOUNT_KEY_PURPOSE,
    account_of,
    lambda mailbox: mailbox.service_account_key_ciphertext,
    store.set_service_account_key,
    "only a google mailbox has a service account key (this one logs in otherwise)",
    "no service account key is set for this mailbox",
    "the stored key was set for another service account; set it again",
)


def _keep_secret(
    viewer: Principal, mailbox: Mailbox, secret: str, kind: _SecretKind, **settings: Any
) -> None:
    """Encrypt and store the secret (never read back) of a mailbox the viewer manages
    (:func:`managed`), bound to where it goes, with the ``settings`` it comes with (a Google
    key's service account); start a sync."""
    mailbox_id = mailbox.mailbox_id
    if mailbox.auth != kind.auth:
        raise Conflict(kind.other_auth, field="auth")
    ciphertext = encrypt_secret(
        secret,
        company_id=viewer.company_id,
        purpose=f"{kind.purpose}:{mailbox_id}",
        destination=kind.destination(replace(mailbox, **settings)),
    )
    if not kind.keep(viewer.company_id, mailbox_id, ciphertext, clock.now(), **settings):
        raise NotFound(f"there is no mailbox {mailbox_id!r}")
    if mailbox.enabled:
        _start_syncing(mailbox)


def _secret_of(mailbox: Mailbox, kind: _SecretKind) -> str:
    """The secret, to log in with (never logged or returned); ``ImapFailed`` when none works."""
    ciphertext = kind.ciphertext(mailbox)
    if ciphertext is None:
        raise ImapFailed(kind.missing)
    return decrypt_password(
        ciphertext,
        company_id=mailbox.company_id,
        purpose=f"{kind.purpose}:{mailbox.mailbox_id}",
        destination=kind.destination(mailbox),
        moved=ImapFailed(kind.moved),
    )


def set_password(viewer: Principal, mailbox_id: str, password: str) -> None:
    """Encrypt and store the password (never read back), and start the first sync."""
    _keep_secret(viewer, managed(viewer, mailbox_id), password, _PASSWORD)


def password_of(mailbox: Mailbox) -> str:
    """The password, to log in (never logged or returned); ``ImapFailed`` when none works."""
    return _secret_of(mailbox, _PASSWORD)


def set_client_secret(viewer: Principal, mailbox_id: str, client_secret: str) -> None:
    """Encrypt and store a Microsoft 365 mailbox's client secret (never read back), as a password
    is, bound to its tenant and app; and start the first sync."""
    _keep_secret(viewer, managed(viewer, mailbox_id), client_secret, _CLIENT_SECRET)


def client_secret_of(mailbox: Mailbox) -> str:
    """The Entra app's client secret, to ask for a token (never logged or returned)."""
    return _secret_of(mailbox, _CLIENT_SECRET)


def set_service_account_key(viewer: Principal, mailbox_id: str, client_email: str, private_key: str) -> None:
    """Keep a Google mailbox's service account (``client_email``) and its private key (checked
    to be an RSA key; KMS-encrypted as a password is, bound to the account; never read back),
    and start the first sync. The rest of the key file, its ``token_uri`` included, is not kept.
    Who may not change the mailbox hears so before the key is looked at."""
    mailbox = managed(viewer, mailbox_id)
    if not google.is_address(client_email):
        problem = "must be the service account's address"
        raise ValidationFailed([{"field": "client_email", "message": problem}])
    pem = google.private_key_pem(private_key)
    _keep_secret(viewer, mailbox, pem, _SERVICE_ACCOUNT_KEY, service_account=client_email)


def service_account_key_of(mailbox: Mailbox) -> str:
    """The service account's private key, to sign an assertion with (never logged or returned)."""
    return _secret_of(mailbox, _SERVICE_ACCOUNT_KEY)


@contextmanager
def open_session(mailbox: Mailbox, deadline: Deadline) -> Iterator[Session]:
    """The mailbox, logged in within ``deadline`` (``imap.session``): with its password on its
    server; for Microsoft 365, with an app-only token (asked for now, kept nowhere) on Exchange
    Online; for Google, with a token its service account gets for the mailbox's user, on Gmail
    (``ImapFailed`` with the server's or the sign-in service's words when that fails)."""
    if mailbox.auth == "microsoft365":
        if not mailbox.tenant_id or not mailbox.client_id:
            raise ImapFailed("the mailbox has no tenant_id or client_id")
        token = microsoft.access_token(
            mailbox.tenant_id, mailbox.client_id, client_secret_of(mailbox), deadline
        )
        with session(microsoft.imap_server(), BearerToken(mailbox.username, token), deadline) as imap:
            yield imap
        return
    if mailbox.auth == "google":
        if not mailbox.service_account:
            raise ImapFailed(_SERVICE_ACCOUNT_KEY.missing)
        key = service_account_key_of(mailbox)
        token = google.access_token(mailbox.service_account, key, mailbox.username, deadline)
        with session(google.imap_server(), BearerToken(mailbox.username, token), deadline) as imap:
            yield imap
        return
    with session(server_of(mailbox), Password(mailbox.username, password_of(mailbox)), deadline) as imap:
        yield imap


#: The connection test's deadline: connecting, logging in, opening each folder and logging out,
#: however slowly the server answers (``channels.base.ANSWER_WITHIN_SECONDS``: before API Gateway
#: gives up on the call).
TEST_SECONDS = float(ANSWER_WITHIN_SECONDS)


def test_connection(viewer: Principal, mailbox_id: str) -> ConnectionTest:
    """Log in and open each folder read-only within :data:`TEST_SECONDS`: ``ok`` with the server's
    answer and each folder's message count, or the server's own words for what failed."""
    mailbox = get_visible(viewer, mailbox_id)
    folders: dict[str, int] = {}
    try:
        with open_session(mailbox, Deadline(TEST_SECONDS, wait=TIMEOUT_SECONDS)) as imap:
            for folder in mailbox.folders:
                folders[folder] = imap.examine(folder)[1]
            return ConnectionTest(True, imap.login_answer, folders)
    except (ImapFailed, imaplib.IMAP4.error, OSError) as exc:
        return ConnectionTest(False, server_text(exc), folders)

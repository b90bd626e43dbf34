"""A real IMAP server for tests and benchmarks: Debian's dovecot (``dovecot-imapd``) with a
throw-away configuration in a temporary folder, serving plain IMAP on a loopback port.

    with Dovecot({"ana@estudio.example": "secret"}) as server:
        server.append("ana@estudio.example", "INBOX", [raw_bytes])
        server.port                      # 127.0.0.1:<port>

With ``oauth2_introspection_url`` it also takes SASL XOAUTH2 logins (as Exchange Online does for
an app with ``IMAP.AccessAsApp``): an oauth2 passdb beside the password one, asking that URL
(``introspection_mode = post``; ``infrastructure/local/oauthserver.py`` answers it) whether the
bearer token is good and whose mailbox it opens.

``infrastructure/local/bootstrap.sh`` installs it when missing. The configuration has base_dir,
state_dir and the log in the temporary folder, a passwd-file passdb, a static userdb with a
non-root uid, and maildirs under the folder; the server runs in the foreground (``dovecot -F``)
and is stopped (and its folder removed) on exit.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess  # nosec B404 # argument lists only, never a shell (each call marked)
import tempfile
import time
from pathlib import Path
from types import TracebackType


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mail_user() -> tuple[int, int, str]:
    """The uid/gid the users' mail belongs to, and the internal user dovecot drops to: never root."""
    if os.getuid() != 0:
        name = pwd.getpwuid(os.getuid()).pw_name
        return os.getuid(), os.getgid(), name
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, grp.getgrnam("nogroup").gr_gid, "dovecot"


class Dovecot:
    """dovecot on 127.0.0.1:<port>, users from a passwd-file, a static userdb, maildirs."""

    def __init__(self, users: dict[str, str], *, oauth2_introspection_url: str | None = None) -> None:
        self.users = dict(users)
        self.oauth2_introspection_url = oauth2_introspection_url
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pregon-dovecot-"))
        self.process: subprocess.Popen[bytes] | None = None

    def _configure(self) -> Path:
        uid, gid, internal = _mail_user()
        root = self.root
        os.chmod(root, 0o755)  # noqa: S103  # nosec B103 # dovecot drops to another user, which must reach the mail
        for name in ("run", "state", "mail", "home"):
            (root / name).mkdir()
        for name in ("mail", "home"):
            os.chown(root / name, uid, gid)
        passwd = "".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items())
        (root / "passwd").write_text(passwd, encoding="utf-8")  # a password may hold an ñ
        login = internal if os.getuid() != 0 else "dovenull"
        mechanisms, oauth2 = "plain login", ""
        if self.oauth2_introspection_url:
            mechanisms += " xoauth2 oauthbearer"
            (root / "oauth2.conf").write_text(
                f"introspection_url = {self.oauth2_introspection_url}\n"
                "introspection_mode = post\n"
                "force_introspection = yes\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
            )
            oauth2 = f"""
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf
}}"""
        config = root / "dovecot.conf"
        config.write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_internal_user = {internal}
default_login_user = {login}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
first_valid_uid = {min(uid, 500)}
mail_location = maildir:{root}/mail/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}{oauth2}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
        )
        return config

    def __enter__(self) -> Dovecot:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        config = self._configure()
        self.process = subprocess.Popen(  # nosec B603 # dovecot with our own configuration file
            [binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dovecot stopped: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not answer within 15 s")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- what the mail user does (through IMAP, as a mail program would) ---------------------

    def login(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        login = f"\0{user}\0{self.users[user]}".encode()  # SASL PLAIN: UTF-8, as an ñ needs
        conn.authenticate("PLAIN", lambda _challenge: login)
        return conn

    def append(self, user: str, folder: str, messages: list[bytes]) -> None:
        """Put messages in a folder (created when missing), as a mail program files them."""
        conn = self.login(user)
        try:
            if folder.upper() != "INBOX":
                conn.create(folder)  # NO when it exists: fine
            for raw in messages:
                status, answer = conn.append(folder, "(\\Seen)" if folder != "INBOX" else "", None, raw)
                assert status == "OK", answer
        finally:
            conn.logout()

    def recreate(self, user: str, folder: str) -> None:
        """Delete a folder and make it again with the same messages: a new UIDVALIDITY, as when a
        server is migrated or its index rebuilt."""
        conn = self.login(user)
        try:
            conn.select(folder)
            _, data = conn.uid("SEARCH", "ALL")
            uids = (data[0] or b"").split()
            raws = []
            for uid in uids:
                _, fetched = conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                raws.append(bytes(fetched[0][1]))
            conn.close()
            conn.rename(folder, folder + "-old")
            time.sleep(1.1)  # UIDVALIDITY is a timestamp: a new second, a new value
            conn.create(folder)
            for raw in raws:
                conn.append(folder, "", None, raw)
            conn.delete(folder + "-old")
        finally:
            conn.logout()

    def flags(self, user: str, folder: str) -> list[bytes]:
        """Each message's flags (to see that a sync changed none)."""
        conn = self.login(user)
        try:
            conn.select(folder, readonly=True)
            _, data = conn.fetch("1:*", "(FLAGS)")
            return [d for d in data if isinstance(d, bytes)]
        finally:
            conn.logout()

    def uidvalidity(self, user: str, folder: str) -> int:
        conn = self.login(user)
        try:
            _, data = conn.status(folder, "(UIDVALIDITY)")
            return int(data[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))
        finally:
            conn.logout()

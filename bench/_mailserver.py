"""A MailCatcher in its own process, so the SMTP server never competes for the benchmark's GIL.

    uv run python -m bench._mailserver <maildir> <user> <password> [--no-pipelining]

``--no-pipelining``: the server does not offer PIPELINING (RFC 2920), so clients send one command
at a time. Prints the port on the first line of stdout, then serves until stdin closes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from infrastructure.local.mailcatcher import MailCatcher


def main() -> None:
    maildir, user, password = sys.argv[1:4]
    pipelining = "--no-pipelining" not in sys.argv[4:]
    with MailCatcher(Path(maildir), credentials={user: password}, pipelining=pipelining) as catcher:
        print(catcher.port, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


if __name__ == "__main__":
    main()

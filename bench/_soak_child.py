"""One killable part of the soak's stack (``bench.soak``), in a process of its own:

    uv run python -m bench._soak_child queues      # the SQS and SNS handlers (LocalQueueRunner)
    uv run python -m bench._soak_child scheduler   # the @app.schedule functions (LocalScheduler)

Runs until killed (the soak kills it with SIGKILL and starts it again); logs go to stderr, which
the soak keeps in a file and reads for tracebacks.
"""

from __future__ import annotations

import logging
import sys
import threading


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from app import app

    part = sys.argv[1]
    if part == "queues":
        from infrastructure.local.queues import LocalQueueRunner

        with LocalQueueRunner(app):
            print("ready", flush=True)
            threading.Event().wait()
    elif part == "scheduler":
        from infrastructure.local.scheduler import LocalScheduler

        with LocalScheduler(app, stage="local"):
            print("ready", flush=True)
            threading.Event().wait()
    else:
        raise SystemExit(f"unknown part {part!r}")


if __name__ == "__main__":
    main()

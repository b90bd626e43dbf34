"""One outbox worker process for ``bench.scale_out``: polls ``pregon-outbox`` (moto's SQS, over
HTTP) with the deployed ``deliver_outbox`` handler, as one Lambda event source mapping's
concurrent invocation does, until its stdin closes. Prints its CPU seconds on exit.

    uv run python -m bench._scale_worker
"""

from __future__ import annotations

import json
import os
import sys
import threading


def main() -> None:
    from app import app
    from infrastructure.local.queues import consumers

    [outbox] = [c for c in consumers(app) if c.name == "deliver_outbox"]
    stop = threading.Event()

    def wait_for_stdin() -> None:
        sys.stdin.read()  # until the benchmark closes it
        stop.set()

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    print("ready", flush=True)
    handled = 0
    while not stop.is_set():
        handled += outbox.poll_once(wait_seconds=1)
    times = os.times()
    print(json.dumps({"handled": handled, "cpu_seconds": times.user + times.system}), flush=True)


if __name__ == "__main__":
    main()

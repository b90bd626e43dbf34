"""One queue worker process, as one concurrent Lambda invocation of a deployed SQS handler: polls
the handler's queue (moto's SQS, over HTTP) with the app's own handler until its stdin closes,
then prints, as JSON, what it handled, its CPU seconds, its handler failures and every AWS call it
made (``bench._stack.AwsMeter``). On AWS each handler runs in processes of its own; the
benchmarks run it so too, rather than as threads beside the producer in one interpreter.

With ``BENCH_PROFILE_DIR`` set, every thread of the worker runs under cProfile counting its own
CPU time (``time.thread_time``), and the worker writes ``<handler>-<pid>.prof`` there when it
stops: ``python -c "import pstats; pstats.Stats('x.prof').sort_stats('tottime').print_stats(30)"``.

    uv run python -m bench._worker deliver_outbox

With ``BENCH_WARM_WORKERS=1`` the worker is a warm container before it says "ready": every
``chalicelib`` module imported and every table's and service's client made, so a timed run
measures steady-state throughput without the cold start (``bench.cold_start`` measures that).
"""

from __future__ import annotations

import cProfile
import json
import logging
import os
import pstats
import sys
import threading
import time


def main() -> None:
    from app import app
    from bench._stack import AwsMeter
    from infrastructure.local.queues import consumers

    handler = sys.argv[1] if len(sys.argv) > 1 else "deliver_outbox"
    [consumer] = [c for c in consumers(app) if c.name == handler]
    stop = threading.Event()

    def wait_for_stdin() -> None:
        sys.stdin.read()  # until the benchmark closes it
        stop.set()

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    if os.environ.get("BENCH_WARM_WORKERS") == "1":
        _warm()
    handled = failures = 0
    meter = AwsMeter()
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    profilers: list[cProfile.Profile] = []
    if profile_dir:

        def profile_thread(*_: object) -> None:  # each new thread (the worker's pools) gets its own
            profilers.append(cProfile.Profile(time.thread_time))
            profilers[-1].enable()

        threading.setprofile(profile_thread)
        profilers.append(cProfile.Profile(time.thread_time))
        profilers[0].enable()
    with meter.active():
        print("ready", flush=True)
        while not stop.is_set():
            try:
                handled += consumer.poll_once(wait_seconds=1)
            except Exception:
                failures += 1  # as Lambda: the messages come back after their visibility timeout
                logging.getLogger(__name__).exception("%s failed", handler)
                stop.wait(1.0)
    if profile_dir:
        threading.setprofile(None)
        profilers[0].disable()
        stats = pstats.Stats(profilers[0])
        for profiler in profilers[1:]:
            stats.add(profiler)
        os.makedirs(profile_dir, exist_ok=True)
        stats.dump_stats(os.path.join(profile_dir, f"{handler}-{os.getpid()}.prof"))
    times = os.times()
    report = {
        "handler": handler,
        "handled": handled,
        "failures": failures,
        "cpu_seconds": times.user + times.system,
        "calls": dict(meter.calls),
        "capacity": dict(meter.capacity),
    }
    print(json.dumps(report), flush=True)


def _warm() -> None:
    import importlib
    import pkgutil

    import chalicelib
    from chalicelib.core.aws import client
    from chalicelib.store import models

    for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        importlib.import_module(module.name)
    for model in models.ALL_MODELS:
        _ = model._get_connection().connection.client
    for service in ("sqs", "s3", "kms", "ses", "sns"):
        client(service)


if __name__ == "__main__":
    main()

"""An outbox worker that dies: :func:`main`, in a process forked from the test's
(:func:`tests.steps.crashes.killed_in_a_fork`), or by hand as
``python -m tests.steps.crashing_worker COMPANY OUTBOX POINT N NOW [PATH]``.

It runs the deployed drain (:func:`chalicelib.messaging.delivery.drain_outbox`), or with PATH
``handoff`` the deployed ``deliver_outbox`` handler over the SQS messages waiting (the ids a
producer handed over: :func:`chalicelib.messaging.delivery.deliver_handed_off`), in its own process,
with the clock frozen at NOW, and kills itself with SIGKILL at POINT, so no ``finally`` and no
background writer gets to run, as when Lambda times out or a machine dies:

- ``after-claim``: right after the first batch was claimed (a hand-off: its token taken), before
  anything was sent;
- ``mid-batch``: after the server accepted N messages, before the N+1th is sent;
- ``before-record``: when the first batch of outcomes is about to be written (all of it sent);
- ``before-count``: a recorded hand-off, every outcome written, just before it is counted;
- ``records-hang``: DynamoDB never answers the outcome writes (a database far slower than the mail
  server); the worker dies once the server has taken no e-mail for N seconds.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from typing import Any


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main(company_id: str, outbox: str, point: str, n: int, now: str, path: str = "drain") -> None:
    from chalicelib.core import clock
    from chalicelib.messaging import delivery
    from chalicelib.store import communications
    from chalicelib.store import outbox as outbox_store

    clock.set_now(datetime.fromisoformat(now))
    if point == "after-claim":
        claim = communications.claim
        take_handoff = outbox_store.take_handoff

        def claim_then_die(*args: Any, **kwargs: Any) -> Any:
            claim(*args, **kwargs)
            _die()

        def take_then_die(*args: Any, **kwargs: Any) -> bool:
            take_handoff(*args, **kwargs)
            _die()
            return True

        communications.claim = claim_then_die
        outbox_store.take_handoff = take_then_die
    elif point == "mid-batch":
        from chalicelib.channels.smtp import SmtpChannel

        deliver = SmtpChannel.send
        accepted = {"count": 0}

        def deliver_until_n(self: Any, message: Any) -> str:
            if accepted["count"] >= n:
                _die()
            answer = deliver(self, message)
            accepted["count"] += 1
            return answer

        SmtpChannel.send = deliver_until_n  # type: ignore[method-assign]
    elif point == "before-record":

        def die_before_recording(*args: Any, **kwargs: Any) -> list[Any]:
            _die()
            return []

        communications.record_outcomes = die_before_recording
        communications.record_handed_off_outcomes = die_before_recording
    elif point == "before-count":

        def die_before_counting(*args: Any, **kwargs: Any) -> bool:
            _die()
            return False

        outbox_store.finish_handoff = die_before_counting
    elif point == "records-hang":
        import threading
        import time

        from chalicelib.channels.smtp import SmtpChannel

        def never_answer(*args: Any, **kwargs: Any) -> list[Any]:
            threading.Event().wait()
            return []

        communications.record_outcomes = never_answer
        deliver = SmtpChannel.send
        last_send = {"at": time.monotonic()}

        def deliver_and_note(self: Any, message: Any) -> str:
            answer = deliver(self, message)
            last_send["at"] = time.monotonic()
            return answer

        def die_when_sending_stops() -> None:
            while time.monotonic() - last_send["at"] < n:
                time.sleep(0.2)
            _die()

        SmtpChannel.send = deliver_and_note  # type: ignore[method-assign]
        threading.Thread(target=die_when_sending_stops, daemon=True).start()
    else:
        raise SystemExit(f"unknown crash point {point!r}")
    if path == "handoff":
        from app import app
        from infrastructure.local.queues import run_queues_until_empty

        run_queues_until_empty(app)
    else:
        delivery.drain_outbox(company_id, outbox)
    raise SystemExit("the worker was meant to die before finishing")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], *sys.argv[6:7])

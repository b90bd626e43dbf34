"""A tracking sweep that dies: :func:`sweep_until_the_first_hand_off`, in a process forked from
the test's (:func:`tests.steps.crashes.killed_in_a_fork`), or by hand as
``python -m tests.steps.crashing_sweep COMPANY NOW``.

It runs the deployed sweep of one company (:func:`chalicelib.producers.tracking.sweep.sweep_company`,
one claim at a time) in its own process, with the clock frozen at NOW, and kills itself with
SIGKILL right after its first claim transaction committed and before its alerts are handed to the
outbox workers over SQS (``GatheredHandOffs.add``), as when Lambda times out or a machine dies: the claimed
alerts and their hand-off record are written, no SQS message is sent, and the parcels of the
chunks not yet claimed stay pending.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from typing import Any


def sweep_until_the_first_hand_off(company_id: str, now: str) -> None:
    from chalicelib.core import clock
    from chalicelib.messaging.outbox import GatheredHandOffs
    from chalicelib.producers.tracking import sweep

    clock.set_now(datetime.fromisoformat(now))

    def die_before_handing_off(*args: Any, **kwargs: Any) -> None:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    GatheredHandOffs.add = die_before_handing_off  # type: ignore[method-assign]
    sweep.sweep_company(company_id, workers=1)
    raise SystemExit("the sweep was meant to die before handing off")


if __name__ == "__main__":
    sweep_until_the_first_hand_off(sys.argv[1], sys.argv[2])

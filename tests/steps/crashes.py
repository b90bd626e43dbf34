"""A worker that dies for real, in a process of its own forked from the test's.

The crash tests kill a worker with SIGKILL, so no ``finally`` and no background writer of it gets
to run. Its process is forked from the test's, which has imported Python's libraries, botocore's
models and chalicelib already: a fresh ``python -m`` paid that start-up again, about 0.5 CPU-s a
crash (a seventh of ``test_outbox_recovery.py`` alone). The child makes its own AWS clients, so it
shares no connection with the test's process, and never returns into pytest.
"""

from __future__ import annotations

import os
import select
import signal
import tempfile
import traceback
from collections.abc import Callable


def _own_connections() -> None:
    """New clients and DynamoDB connections for the child, from the botocore session it inherited
    (its models already parsed): a connection of the parent's, reused here and cut by the kill
    half way through a request, would leave the test's process reading the child's answer."""
    import threading

    from chalicelib.core import aws
    from chalicelib.core.aws import client, queue_url, sending_client
    from chalicelib.store.tables import rebind
    from infrastructure.local.queues import _sqs_for

    # Only the forking thread goes on in the child: a lock another thread of the test's process
    # held at the fork (making a client) would never be released here
    aws.CLIENT_CREATION = threading.RLock()
    client.cache_clear()
    sending_client.cache_clear()
    queue_url.cache_clear()
    _sqs_for.cache_clear()  # the local queues' poller (a hand-off worker runs them until empty)
    rebind()


def killed_in_a_fork(work: Callable[[], object], timeout: float = 120.0) -> None:
    """Run ``work`` in a forked child, which kills itself with SIGKILL at its crash point; assert
    that it did (its traceback in the message if it ended otherwise), within ``timeout`` seconds."""
    with tempfile.TemporaryFile() as errors:
        pid = os.fork()
        if pid == 0:  # the child: never back into pytest, whatever happens
            try:
                os.dup2(errors.fileno(), 2)
                _own_connections()
                work()
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        ended = os.pidfd_open(pid)
        try:
            in_time = bool(select.select([ended], [], [], timeout)[0])
            if not in_time:
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        finally:
            os.close(ended)
        errors.seek(0)
        said = errors.read().decode(errors="replace")[-2000:]
    assert in_time, f"the worker was still running after {timeout} s: {said}"
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, said

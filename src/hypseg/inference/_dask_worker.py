"""What keeps hypseg's own local Dask cluster quiet where its run speaks for it (an interrupt, a close): the worker
plugin and the nanny's log filter; imported only where Dask runs the chunks."""

from __future__ import annotations

import logging
import signal
import threading

from distributed.diagnostics.plugin import WorkerPlugin


class QuietWorker(WorkerPlugin):
    """Set up on every worker of hypseg's local cluster as it starts, one its nanny restarts included.

    Ctrl+C is ignored: a terminal sends it to every process of the foreground group, and only hypseg's own process
    decides what an interrupt means (it keeps the finished chunks and closes the cluster); a worker would otherwise
    stop with a KeyboardInterrupt traceback of its own. A task cancelled by closing the cluster mid-run does not
    warn either: the interrupted run says itself what was kept.
    """

    name = "hypseg-quiet-worker"

    def setup(self, worker) -> None:
        logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


class _NannyKills(logging.Filter):
    """Drops the nanny's "Worker process still alive after 4.0 seconds, killing": closing a local cluster whose workers
    are busy (an interrupted run) has each nanny kill its worker, and the warning, logged from the cluster's own
    thread, can come after the close returned; it says nothing the run's own message does not."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Worker process still alive after")


def quiet_nanny_kills() -> None:
    """Put :class:`_NannyKills` on Dask's nanny logger, once per process."""
    nanny = logging.getLogger("distributed.nanny")
    if not any(isinstance(f, _NannyKills) for f in nanny.filters):
        nanny.addFilter(_NannyKills())

"""The worker plugin of hypseg's own local Dask cluster; imported only where Dask runs the chunks."""

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

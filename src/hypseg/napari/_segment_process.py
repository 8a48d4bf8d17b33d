"""The process :func:`hypseg.napari._jobs.segment_in_process` starts: one segmentation on its main thread.

Once it has imported hypseg it writes :data:`READY` to its standard output. It then reads ``(image, model, config,
torch threads)`` as one pickle from its standard input and writes one pickle to its standard output: ``(status, value,
warnings)``, the status ``"done"`` with the :class:`~hypseg.napari._jobs.ImageSegmentation`, or ``"error"`` with an
error a user can fix; ``warnings`` are ``(message, category, filename, lineno)`` of the warnings the segmentation
raised, for the parent to warn again, but its deprecation, pending-deprecation and import warnings, from any source
(Python hides them by default outside ``__main__``). A bug keeps its traceback on standard error and the process exits with status
1, answering nothing. Anything else that would print to standard output (a library's ``print``) goes to standard
error, so the answer stays whole. Once the job is read, a thread waits for the end of standard input: the parent
closes it only by ending, and the process then ends too, with status :data:`ORPHANED`, instead of computing for no one.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import warnings

#: the exit status of a process whose parent ended before it answered
ORPHANED = 3
#: what the process writes first, once it has imported what it needs
READY = b"R"


def _end_with_parent(fd: int) -> None:
    """Wait for the end of the file ``fd`` (the parent's end of the pipe closes), then end this process at once.

    It reads the descriptor itself, not ``sys.stdin``, whose lock a thread still waiting in it would hold while the
    interpreter shuts down."""
    while os.read(fd, 1 << 16):
        pass
    os._exit(ORPHANED)


def main() -> None:
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print goes to standard error, not into the answer

    import torch

    import hypseg.api  # noqa: F401  (all that segmenting imports, before the process says it is ready)
    from hypseg.napari._jobs import USER_ERRORS, segment_image

    answer.write(READY)
    answer.flush()
    image, model, config, threads = pickle.load(sys.stdin.buffer)
    threading.Thread(target=_end_with_parent, args=(sys.stdin.fileno(),), daemon=True).start()
    torch.set_num_threads(threads)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every one: the parent's filters choose which to show,
        for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):  # but these, from any source
            warnings.simplefilter("ignore", hidden)
        try:
            status, value = "done", segment_image(image, model, config)
        except USER_ERRORS as err:
            status, value = "error", err
    raised = [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
    pickle.dump((status, value, raised), answer, protocol=pickle.HIGHEST_PROTOCOL)
    answer.flush()


if __name__ == "__main__":
    main()

"""The process :func:`hypseg.napari._jobs.segment_in_process` starts: one segmentation on its main thread.

It reads ``(image, model folder, config)`` as one pickle from its standard input and writes one pickle to its standard
output: ``("done", ImageSegmentation)``, or ``("error", exception)`` for an error a user can fix. A bug keeps its
traceback on standard error and the process exits with status 1, writing nothing. Anything else that would print to
standard output (a library's ``print``) goes to standard error, so the answer stays whole. Once the job is read, a
thread waits for the end of standard input: the parent closes it only by ending, and the process then ends too, with
status :data:`ORPHANED`, instead of computing for no one.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading

#: the exit status of a process whose parent ended before it answered
ORPHANED = 3


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
    image, folder, config = pickle.load(sys.stdin.buffer)
    threading.Thread(target=_end_with_parent, args=(sys.stdin.fileno(),), daemon=True).start()

    from hypseg.api import load_model
    from hypseg.napari._jobs import USER_ERRORS, segment_image

    try:
        result = ("done", segment_image(image, load_model(folder), config))
    except USER_ERRORS as err:
        result = ("error", err)
    pickle.dump(result, answer, protocol=pickle.HIGHEST_PROTOCOL)
    answer.flush()


if __name__ == "__main__":
    main()

"""``hypseg.segment`` (or ``hypseg.train``) of one volume on the main thread or on a thread of its own, for timing
from outside.

napari's plugin trains on a worker thread, and segments a small image there (a large one in a process of its own).
glibc gives a thread an arena of its own whose heaps hold at most 64 MiB, so the blocks above that are mapped and
unmapped at every allocation whatever :func:`hypseg._malloc.keep_freed_memory` set; ``benchmarks/results/malloc.md``
(segmenting) and ``plugin_process.md`` (training) time the two from outside:

    python -m benchmarks.malloc_thread main|thread VOLUME.tif MODEL
    python -m benchmarks.malloc_thread main|thread VOLUME.tif --train 300   # train 300 steps into a temporary folder
"""

from __future__ import annotations

import argparse
import threading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("where", choices=("main", "thread"), help="the thread the work runs on")
    parser.add_argument("volume", help="a volume hypseg reads (TIFF, MRC, NIfTI, ...)")
    parser.add_argument("model", nargs="?", help="a run folder of hypseg train, to segment with")
    parser.add_argument("--train", type=int, metavar="STEPS", help="train this many steps instead of segmenting")
    args = parser.parse_args()
    if (args.model is None) == (args.train is None):
        parser.error("give either a MODEL to segment with or --train STEPS")
    import tempfile

    import hypseg

    volume = hypseg.load_volume(args.volume)
    results = []
    if args.train is None:
        model = hypseg.load_model(args.model)
        work = lambda: results.append(hypseg.segment(volume, model))  # noqa: E731
    else:
        folder = tempfile.TemporaryDirectory()
        work = lambda: results.append(hypseg.train(volume, out=f"{folder.name}/model", steps=args.train,  # noqa: E731
                                                   progress=False))
    if args.where == "thread":
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    else:
        work()
    if not results:
        raise SystemExit("the work failed (its traceback is above)")


if __name__ == "__main__":
    main()

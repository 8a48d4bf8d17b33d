"""``hypseg.segment`` of one volume on the main thread or on a thread of its own, for timing from outside.

napari's plugin trains and segments on a worker thread. glibc gives a thread an arena of its own whose heaps hold at
most 64 MiB, so the blocks above that are mapped and unmapped at every allocation whatever
:func:`hypseg._malloc.keep_freed_memory` set; ``benchmarks/results/malloc.md`` times the two from outside:

    python -m benchmarks.malloc_thread main|thread VOLUME.tif MODEL
"""

from __future__ import annotations

import argparse
import threading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("where", choices=("main", "thread"), help="the thread hypseg.segment runs on")
    parser.add_argument("volume", help="a volume hypseg reads (TIFF, MRC, NIfTI, ...)")
    parser.add_argument("model", help="a run folder of hypseg train")
    args = parser.parse_args()
    import hypseg

    volume, model = hypseg.load_volume(args.volume), hypseg.load_model(args.model)
    results = []
    work = lambda: results.append(hypseg.segment(volume, model))  # noqa: E731
    if args.where == "thread":
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    else:
        work()
    if not results:
        raise SystemExit("the segmentation failed (its traceback is above)")


if __name__ == "__main__":
    main()

"""One chunked segmentation with ``keep_freed_memory(LIMIT)`` (0: glibc's own thresholds), for timing from outside.

``benchmarks/results/malloc.md`` times it from outside (wall time and peak memory of the whole process) at several
limits, on the volume and model that ``benchmarks.scale`` leaves in its work folder:

    python -m benchmarks.malloc_limit LIMIT VOLUME MODEL OUT        # OUT is replaced
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("limit", type=int, help="bytes of freed memory the process keeps (0: glibc's own thresholds)")
    parser.add_argument("volume")
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--chunk", type=int, default=128)
    args = parser.parse_args()
    from hypseg._malloc import keep_freed_memory
    from hypseg.inference.pipeline import segment_files

    if args.limit and keep_freed_memory(args.limit) != args.limit:
        parser.error(f"this C library did not take a limit of {args.limit} bytes")
    segment_files([args.volume], model_dir=args.model, out=args.out, progress=False, chunk=args.chunk, overwrite=True)


if __name__ == "__main__":
    main()

"""napari's plugin: a segmentation on its worker thread, against the same handed to a process of its own.

The widget segments on a worker thread; where glibc's malloc runs, that thread's arena maps and unmaps every block
above its 64 MiB heaps, so the widget hands the segmentation to a new process, whose main thread keeps freed memory
(:func:`hypseg.napari._jobs.segment_in_process`), at the cost of starting it. This times both from a thread, as the
widget runs them, in turn, on synthetic volumes of several sides (or on one volume file), and prints a table of median
wall times with the median of the paired ratios (process / thread):

    python -m benchmarks.plugin_process MODEL --sides 32 64 96 128 160 --repeats 3
    python -m benchmarks.plugin_process MODEL --volume nuclei.tif --repeats 3

The two run in turn, each first in every other pair. The last two columns are the lowest share, over the pairs and the
levels, of voxels whose label the two paths agree on, and the most voxels on which they differ (0: equal label maps);
at several threads their embeddings may differ by float rounding between processes.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np


def _on_thread(work):
    """``work()`` run on a new thread, as the widget's worker runs it; (result, wall seconds)."""
    out = []
    start = time.perf_counter()
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    thread.join()
    if not out:
        raise SystemExit("the segmentation failed (its traceback is above)")
    return out[0], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a run folder of hypseg train")
    parser.add_argument("--sides", type=int, nargs="+", default=[32, 64, 96, 128, 160],
                        help="sides of the synthetic volumes (hypseg's generator, seed 0)")
    parser.add_argument("--volume", help="time this volume file instead of synthetic ones")
    parser.add_argument("--repeats", type=int, default=3, help="pairs per volume (default 3)")
    parser.add_argument("--preset", default="default", help="the segmentation preset (default: default)")
    args = parser.parse_args()

    import torch

    import hypseg
    from hypseg.config import segment_preset
    from hypseg.data import SyntheticConfig, generate_volume
    from hypseg.napari._jobs import image_array, segment_image, segment_in_process

    model = hypseg.load_model(args.model)
    config = segment_preset(args.preset)
    if args.volume:
        volumes = {args.volume: image_array(hypseg.load_volume(args.volume).array, name=args.volume)}
    else:
        volumes = {f"{s}^3": generate_volume(np.random.default_rng(0), config=SyntheticConfig.scaled(s)).image
                   .astype(np.float32) for s in args.sides}
    print(f"torch threads: {torch.get_num_threads()}")
    print("| volume | voxels | thread (s) | process (s) | process / thread (median of pairs) | labels equal (lowest) "
          "| voxels moved (most) |")
    print("|---|---|---|---|---|---|---|")
    for name, image in volumes.items():
        times, agreement, moved = {"thread": [], "process": []}, [], []
        runs = {"thread": lambda: segment_image(image, model, config),
                "process": lambda: segment_in_process(image, model, config)}
        for repeat in range(args.repeats):
            found = {}
            for path in (("thread", "process") if repeat % 2 == 0 else ("process", "thread")):  # each first in turn
                found[path], seconds = _on_thread(runs[path])
                times[path].append(seconds)
            a, b = found["thread"], found["process"]
            if a.labels.keys() != b.labels.keys():
                raise SystemExit(f"{name}: the two paths gave different levels")
            agreement.append(min(float(np.mean(a.labels[k] == b.labels[k])) for k in a.labels))
            moved.append(max(int(np.sum(a.labels[k] != b.labels[k])) for k in a.labels))
        ratios = [p / t for p, t in zip(times["process"], times["thread"])]
        print(f"| {name} | {image.size:,} | {statistics.median(times['thread']):.2f} | "
              f"{statistics.median(times['process']):.2f} | {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) | {min(agreement):.4f} | {max(moved)} |", flush=True)


if __name__ == "__main__":
    main()

"""Whether ``hypseg.segment`` gives the same result in fresh processes: the same job, run again and again.

Each run is a new Python process that reads one pickled job (a synthetic volume, a model, the default preset at the
given cluster counts) from a file and segments it with :func:`hypseg.napari._jobs.segment_image`, at torch's thread
count of its environment. Printed: per run, the voxels whose label differs from the first run's at each level, and
the largest difference of the embeddings from the first run's:

    python -m benchmarks.repeatability MODEL --runs 12
    OMP_NUM_THREADS=1 python -m benchmarks.repeatability MODEL --runs 12
    HYPSEG_SYSTEM_MALLOC=1 python -m benchmarks.repeatability MODEL --runs 12
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

_RUN = """
import pickle, sys
import numpy as np
from hypseg.napari._jobs import segment_image
image, model, config = pickle.loads(open(sys.argv[1], "rb").read())
found = segment_image(image, model, config)
np.savez(sys.argv[2], **{f"labels{k}": v for k, v in found.labels.items()},
         **{f"embedding{k}": v for k, v in found.embeddings.items()})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a run folder of hypseg train")
    parser.add_argument("--runs", type=int, default=12, help="fresh processes (default 12)")
    parser.add_argument("--side", type=int, default=32, help="side of the synthetic volume (hypseg's generator, seed 0)")
    parser.add_argument("--clusters", type=int, nargs="+", default=[2, 4], help="cluster counts (default 2 4)")
    args = parser.parse_args()

    import hypseg
    from hypseg.data import SyntheticConfig, generate_volume
    from hypseg.napari._jobs import segment_config

    image = generate_volume(np.random.default_rng(0), config=SyntheticConfig.scaled(args.side)).image.astype(np.float32)
    job = (image, hypseg.load_model(args.model), segment_config("default", args.clusters))
    with tempfile.TemporaryDirectory() as folder:
        job_file = Path(folder) / "job.pkl"
        job_file.write_bytes(pickle.dumps(job))
        first = None
        for run in range(args.runs):
            out = Path(folder) / f"run{run}.npz"
            subprocess.run([sys.executable, "-c", _RUN, str(job_file), str(out)], check=True)
            found = dict(np.load(out))
            first = first or found
            moved = {k: int((found[f"labels{k}"] != first[f"labels{k}"]).sum()) for k in args.clusters}
            gap = max(float(np.abs(found[f"embedding{k}"] - first[f"embedding{k}"]).max()) for k in args.clusters)
            print(f"run {run}: voxels whose label differs from run 0's {moved}, largest embedding difference {gap:.2e}",
                  flush=True)


if __name__ == "__main__":
    main()

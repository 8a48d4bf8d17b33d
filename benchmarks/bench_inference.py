"""Dense vs naive per-voxel embedding, and tiled memory (see hypseg.benchmarking.inference)."""

from hypseg.benchmarking import inference

if __name__ == "__main__":
    inference.run(repeats=3)

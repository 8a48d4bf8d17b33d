"""Dense vs naive per-voxel embedding, and tiled memory (see benchmarks.inference)."""

from benchmarks import inference

if __name__ == "__main__":
    inference.run(repeats=3)

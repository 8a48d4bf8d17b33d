"""Triplets per second of the multi-scale sampler (see benchmarks.sampling)."""

from benchmarks import sampling

if __name__ == "__main__":
    sampling.run(repeats=5)

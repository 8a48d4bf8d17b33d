"""Triplets per second of the multi-scale sampler (see hypseg.benchmarking.sampling)."""

from hypseg.benchmarking import sampling

if __name__ == "__main__":
    sampling.run(repeats=5)

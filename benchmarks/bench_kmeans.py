"""Hyperbolic k-means, 1M points, k=8, n_init=3, vs a loop implementation (see benchmarks.kmeans)."""

from benchmarks import kmeans

if __name__ == "__main__":
    kmeans.run(repeats=3)

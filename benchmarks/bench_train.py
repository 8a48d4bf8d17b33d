"""Training throughput per variant against a plain convolution stack (see benchmarks.train)."""

from benchmarks import train

if __name__ == "__main__":
    train.run(repeats=5)

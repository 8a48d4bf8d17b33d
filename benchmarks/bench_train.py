"""Training throughput per variant against a plain convolution stack (see hypseg.benchmarking.train)."""

from hypseg.benchmarking import train

if __name__ == "__main__":
    train.run(repeats=5)

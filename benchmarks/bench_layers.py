"""Gyroplane convolution vs nn.Conv3d and a loop implementation (see hypseg.benchmarking.layers)."""

from hypseg.benchmarking import layers

if __name__ == "__main__":
    layers.run(repeats=7)

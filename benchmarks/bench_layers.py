"""Gyroplane convolution vs nn.Conv3d and a loop implementation (see benchmarks.layers)."""

from benchmarks import layers

if __name__ == "__main__":
    layers.run(repeats=7)

"""The paper's ablations and the classical peers on the synthetic test split (see hypseg.benchmarking.quality)."""

from pathlib import Path

from hypseg.benchmarking import quality

if __name__ == "__main__":
    quality.run(repeats=3, out=Path(__file__).parent / "results" / "quality.md")

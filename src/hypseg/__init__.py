"""hypseg: unsupervised 3D segmentation with hyperbolic patch representations."""
__version__ = "0.1.0"

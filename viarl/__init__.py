"""viarl: train video frame selectors with reinforcement learning (ViaRL, arXiv 2505.15447)."""

__version__ = "0.1.0"

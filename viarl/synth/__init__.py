"""Synthetic data: needle-in-a-haystack videos with ground truth (`needle`, drawn by `scene`)."""

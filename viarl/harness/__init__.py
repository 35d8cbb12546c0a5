"""Evaluation harnesses other projects run, with viarl's frame selection inside them (lmms-eval)."""

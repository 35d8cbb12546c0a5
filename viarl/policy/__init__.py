"""The two models at inference: prompts, the KV-cached sampler, the trained selector, the answerer."""

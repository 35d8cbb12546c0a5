"""Training: prompts, rollouts, REINFORCE++ advantages and loss, stages, the cycle engine."""

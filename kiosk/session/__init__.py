"""Session logic: states, challenges, counters and timers. Pure Python, injected clock, no Qt."""

"""Networks: the conditional DCGAN, its configs and release format, and the scorers (judge)."""

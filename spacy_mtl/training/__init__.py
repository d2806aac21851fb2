"""Training: the weight-trace logger, its plot, and the schedules a config can name."""

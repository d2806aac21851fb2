"""Training helpers: the weight-trace logger."""

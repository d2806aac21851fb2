"""Multi-task weighting strategies, one module each, all in the `mtl_weightings` registry."""
from .base import TaskGradients, Weighting
from .static import StaticWeighting

__all__ = ["TaskGradients", "Weighting", "StaticWeighting"]

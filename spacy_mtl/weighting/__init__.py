"""Multi-task weighting strategies, one module each, all in the `mtl_weightings` registry."""

from .base import TaskGradients, Weighting
from .dwa import DWAWeighting
from .famo import FAMOWeighting
from .gradnorm import GradNormWeighting
from .mgda import MGDAWeighting
from .pcgrad import PCGradWeighting
from .rlw import RLWWeighting
from .static import StaticWeighting
from .uncertainty import UncertaintyWeighting

__all__ = [
    "TaskGradients",
    "Weighting",
    "StaticWeighting",
    "UncertaintyWeighting",
    "DWAWeighting",
    "GradNormWeighting",
    "FAMOWeighting",
    "PCGradWeighting",
    "MGDAWeighting",
    "RLWWeighting",
]

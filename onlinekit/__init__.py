"""onlinekit: an online learning and decision-making engine.

``import onlinekit`` is cheap: numba, cvxpy and river are imported only by the modules that
need them. Families live in subpackages (``onlinekit.oco``, ``onlinekit.experts``, ...);
``onlinekit.streams`` holds sources and environments, ``onlinekit.solvers`` convex
subproblems; ``onlinekit.engine`` the replay and simulate loops.
"""

from onlinekit.base import (
    ContinualRelease,
    DecisionMaker,
    Diverged,
    InvalidEvent,
    Learner,
    SupervisedLearner,
    load_state,
    save_state,
)

__version__ = "0.1.0"

__all__ = [
    "ContinualRelease",
    "DecisionMaker",
    "Diverged",
    "InvalidEvent",
    "Learner",
    "SupervisedLearner",
    "load_state",
    "save_state",
    "__version__",
]

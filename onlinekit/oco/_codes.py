"""The integer codes the OMD family passes to its numba kernels, defined once.

Mirror maps (:mod:`onlinekit.oco.geometry`), domains (likewise; ``DOMAIN_CVXPY`` has no
kernel), step-size schedules and hint sources (:mod:`onlinekit.oco.omd`) and losses
(:mod:`onlinekit.oco.losses`). The kernels (:mod:`onlinekit.oco._kernels`) read the same
constants, frozen at compile time.

>>> SCHEDULES["variation"] == SCHED_VARIATION, HINTS["given"] == HINT_GIVEN
(True, True)
"""

MIRROR_EUCLIDEAN = 0
MIRROR_ENTROPY = 1
MIRROR_PNORM = 2

DOMAIN_CVXPY = -1
DOMAIN_FREE = 0
DOMAIN_SIMPLEX = 1
DOMAIN_L1 = 2
DOMAIN_L2 = 3
DOMAIN_BOX = 4

SCHED_CONSTANT = 0
SCHED_SQRT = 1
SCHED_ADAGRAD = 2
SCHED_VARIATION = 3
SCHED_STRONG = 4

HINT_NONE = 0
HINT_LAST = 1
HINT_EXTRA = 2
HINT_GIVEN = 3

LOSS_LINEAR = 0
LOSS_QUADRATIC = 1
LOSS_SQ = 2
LOSS_LOG = 3
LOSS_HINGE = 4

#: ``schedule`` parameter -> code
SCHEDULES = {"constant": SCHED_CONSTANT, "sqrt": SCHED_SQRT, "adagrad": SCHED_ADAGRAD,
             "variation": SCHED_VARIATION, "strongly-convex": SCHED_STRONG}
#: ``hint`` parameter -> code (a callable hint is ``HINT_GIVEN``)
HINTS = {None: HINT_NONE, "last": HINT_LAST, "extra-gradient": HINT_EXTRA, "given": HINT_GIVEN}

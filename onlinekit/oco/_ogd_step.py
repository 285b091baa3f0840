"""OGD's weight step, written once (private).

``w <- Proj_{||w|| <= radius}(w - eta (dz x + l2 w))``: the step of :class:`onlinekit.oco.OGD`
(``_ogd_kernels``) and of the batched OGD runs (``onlinekit.cuda._bodies.ogd_run``, compiled for
the CPU and as a CUDA device function). ``register_jitable`` makes the one plain-Python
function callable from numba's CPU kernels and from CUDA device code (and it runs as itself
under ``NUMBA_DISABLE_JIT`` and the CUDA simulator). numba caches a kernel by the file that
defines it: after editing this step, clear the numba cache.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable


@register_jitable
def ogd_step(x, dz, eta, l2, radius, w, apply):
    """The squared norm of ``w - eta (dz x + l2 w)``; with ``apply``, also write the step
    (then projected on the ball of ``radius``; ``radius <= 0``: no projection) into ``w``.

    ``apply=False`` is the dry run that lets a caller refuse a step that would leave a
    non-finite weight; it computes the same numbers in the same order.
    """
    s = 0.0
    for j in range(x.shape[0]):
        v = w[j] - eta * (dz * x[j] + l2 * w[j])
        if apply:
            w[j] = v
        s += v * v
    if apply and radius > 0.0 and s > radius * radius:
        c = radius / math.sqrt(s)
        for j in range(x.shape[0]):
            w[j] *= c
    return s

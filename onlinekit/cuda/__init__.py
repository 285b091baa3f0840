"""Many independent runs at once: many seeds, step sizes, streams or states per call.

Batch APIs with ``device="cpu"`` (numba; the reference, always available) or
``device="cuda"`` (numba.cuda, one GPU thread per run): :func:`ogd_many`,
:func:`hedge_many`, :func:`tree_counter_many`, :func:`best_perm_many`. Names are imported
lazily, so ``import onlinekit.cuda`` neither compiles kernels nor imports ``numba.cuda``.
"""

from onlinekit._lazy import lazy_exports

_EXPORTS = {
    "cuda_available": "onlinekit.cuda.batch",
    "ogd_many": "onlinekit.cuda.batch",
    "hedge_many": "onlinekit.cuda.batch",
    "tree_noise": "onlinekit.cuda.batch",
    "tree_counter_many": "onlinekit.cuda.batch",
    "best_perm_many": "onlinekit.cuda.batch",
    "Resident": "onlinekit.cuda.batch",
    "resident": "onlinekit.cuda.batch",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

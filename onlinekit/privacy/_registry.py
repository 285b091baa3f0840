"""Registry entries of the privacy family (see :mod:`onlinekit.registry`)."""

LEARNERS = {
    "doubling-counter": ("onlinekit.privacy.doubling:DoublingCounter", "release", "unbounded-horizon counter: restarts a counter on epochs of doubling length"),
    "maxsum": ("onlinekit.privacy.maxsum:MaxSum", "release", "continual max of column sums (sparse-vector or parallel-counter route)"),
    "sumselect": ("onlinekit.privacy.maxsum:SumSelect", "release", "continual near-argmax column selection (sparse-vector or parallel-counter route)"),
    "optimal-factor-counter": ("onlinekit.privacy.sqrt_factor:OptimalFactorCounter", "release", "mean-error optimal matrix-factorization private running sum (small T)"),
    "sqrt-factor-counter": ("onlinekit.privacy.sqrt_factor:SqrtFactorCounter", "release", "square-root Toeplitz factorization private running sum (correlated Gaussian/Laplace noise)"),
    "tree-counter": ("onlinekit.privacy.tree:TreeCounter", "release", "binary-tree private running sum (Laplace/Gaussian, optional Honaker)"),
}

EXPERIMENTS = {
    "continual-counting": ("onlinekit.experiments.continual_counting", "error vs T of tree, tree+Honaker and sqrt-factorization counters against closed forms; MaxSum and SumSelect T^(1/3) vs sqrt(d) routes, T up to 10^6"),
}

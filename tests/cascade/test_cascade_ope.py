"""Off-policy evaluation of rankings: unbiasedness on simulated logs, and the OBD sample."""

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.cascade.ope import cascade_ips, independent_ips, ips, position_ips, prefix_match
from onlinekit.data import data_home
from onlinekit.streams.errors import MissingDataError
from onlinekit.streams.obd import load_obd

DATA = data_home()  # $ONLINEKIT_DATA (CI: the local mirror) or the per-user cache
N_ITEMS, K = 5, 3


def _simulate(click_model, n, seed):
    """Uniformly random slates of K distinct items; cascade or position-based clicks."""
    rng = np.random.default_rng(seed)
    q = np.array([0.6, 0.1, 0.4, 0.05, 0.3])
    exam = np.array([1.0, 0.6, 0.3])  # position-based examination probabilities
    slates = np.array([rng.permutation(N_ITEMS)[:K] for _ in range(n)])
    u = rng.random((n, K))
    clicks = np.zeros((n, K))
    for i in range(n):
        for k in range(K):
            if click_model == "cascade":
                if u[i, k] < q[slates[i, k]]:
                    clicks[i, k] = 1
                    break
            elif u[i, k] < exam[k] * q[slates[i, k]]:
                clicks[i, k] = 1
    return slates, clicks, q, exam


def _log_probs():
    prefix = np.array([1 / 5, 1 / 20, 1 / 60])      # uniform slates without replacement
    return prefix, np.full(K, 1 / 5)                 # prefix and item-position marginals


def test_cascade_ips_is_unbiased_under_the_cascade_model():
    slates, clicks, q, _ = _simulate("cascade", 60000, 0)
    target = np.array([0, 2, 4])
    true = 1 - np.prod(1 - q[target])                  # clicks per slate under the target
    prefix, marg = _log_probs()
    pt = prefix_match(slates, np.tile(target, (len(slates), 1)))
    res = cascade_ips(clicks, np.tile(prefix, (len(slates), 1)), pt)
    assert abs(res.value - true) < 4 * res.stderr
    full = ips(clicks, np.full(len(slates), prefix[-1]), pt[:, -1])
    assert abs(full.value - true) < 4 * full.stderr
    assert res.stderr < full.stderr                    # prefix weights: less variance
    # independent IPS assumes position-based clicks: biased here (clicks below a click vanish)
    indep = independent_ips(clicks, np.tile(marg, (len(slates), 1)), (slates == target).astype(float))
    assert abs(indep.value - true) > 4 * indep.stderr


def test_independent_ips_is_unbiased_under_the_position_based_model():
    slates, clicks, q, exam = _simulate("pbm", 60000, 1)
    target = np.array([0, 2, 4])
    true = float(np.sum(exam * q[target]))
    _, marg = _log_probs()
    res = independent_ips(clicks, np.tile(marg, (len(slates), 1)), (slates == target).astype(float))
    assert abs(res.value - true) < 4 * res.stderr
    # row format (one row per impression and position) gives the same point estimate
    rows = position_ips(np.tile(np.arange(K), len(slates)), clicks.ravel(), np.full(clicks.size, 0.2),
                        (slates == target).astype(float).ravel())
    assert rows.value == pytest.approx(res.value)


def test_ope_rejects_bad_input():
    c = np.array([[1, 0], [0, 0]])
    with pytest.raises(InvalidEvent):
        ips(c, [0.5, 0.0], [1.0, 1.0])          # zero logging probability
    with pytest.raises(InvalidEvent):
        cascade_ips(c, np.full((2, 3), 0.5), np.ones((2, 3)))
    with pytest.raises(InvalidEvent):
        independent_ips(np.array([[2, 0]]), np.full((1, 2), 0.5), np.ones((1, 2)))
    with pytest.raises(InvalidEvent):
        position_ips(np.array([0, 1]), np.array([1, 0]), np.array([0.5, 1.5]), np.array([1.0, 1.0]))


def test_obd_loader_missing_file(tmp_path):
    with pytest.raises(MissingDataError, match="Open Bandit Dataset"):
        load_obd(tmp_path / "nowhere")
    with pytest.raises(MissingDataError):
        load_obd(tmp_path)


@pytest.fixture(scope="module")
def obd():
    root = DATA / "obd"
    if not (root / "random" / "all" / "all.csv").exists() or not (root / "bts" / "all" / "all.csv").exists():
        pytest.skip(f"Open Bandit Dataset sample not present under {root} (run `onlinekit data fetch obd`)")
    return load_obd(root, "random"), load_obd(root, "bts")


def test_obd_sample_columns(obd):
    rnd, bts = obd
    assert len(rnd) == len(bts) == 10000
    assert rnd.n_items == 80 and rnd.n_positions == 3
    assert rnd.click.sum() == 38 and bts.click.sum() == 42
    np.testing.assert_allclose(rnd.propensity, 1 / 80)
    assert rnd.affinity.shape == (10000, 80)


def test_obd_uniform_policy_value_from_bts_log_matches_random_log(obd):
    """Position-wise IPS on the Bernoulli-TS log, target = uniform random policy.

    Its estimate (expected clicks per impression, assuming each slot's click depends only on
    the item in that slot) must agree with the on-policy mean of the uniformly logged file.
    """
    rnd, bts = obd
    on = position_ips(rnd.position, rnd.click, rnd.propensity, rnd.propensity)
    assert on.value == pytest.approx(sum(rnd.click[rnd.position == k].mean() for k in range(3)))
    off = position_ips(bts.position, bts.click, bts.propensity, np.full(len(bts), 1 / 80))
    assert abs(off.value - on.value) < 3 * np.hypot(off.stderr, on.stderr)

"""Fast tests of the groupwise comparison rows (small synthetic runs)."""

from __future__ import annotations

import dataclasses

from onlinekit.experiments import groupwise_synthetic as syn

CFG = dataclasses.replace(syn.Config.quick(), n=2000, rules=("mean",), k=5)


def test_no_always_on_row_without_that_expert():
    cfg = dataclasses.replace(CFG, always_on=False)
    res = syn.run(cfg, 0)
    assert "always_on" not in {r["group"] for r in res["rows"]}
    assert not any("always_on" in c.claim for c in syn.compare(cfg, [res]))
    assert not any("no_always_on" in k for r in res["rows"] for k in r)  # no ablation of an absent expert


def test_meta_rows_fail_when_the_meta_regret_exceeds_its_bound():
    res = syn.run(CFG, 0)
    assert syn.check(CFG, [res]) == []
    bad = {**res, "rows": [dict(r, meta_regret=r["meta_bound"] + 1.0) if r["group"] == "red" else r
                           for r in res["rows"]]}
    fails = syn.check(CFG, [bad])
    assert len(fails) == 1 and fails[0].startswith("meta-regret to the mean/red expert"), fails


def test_published_rows_are_checked_only_in_the_paper_setting():
    res = syn.run(CFG, 0)
    rows = [c for c in syn.compare(CFG, [res]) if c.claim.endswith("end regret")]
    assert rows and {c.verdict for c in rows} == {"info"}
    assert {c.paper for c in rows if c.claim == "mean/green: groupwise end regret"} == {"-14.13"}

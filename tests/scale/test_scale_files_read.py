"""The parallel read of a file dataset (``sharded_dataset.replay_sharded_files``), without Ray:
its read units, row tags and key rule against a plain one-file read (no Ray needed)."""

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import onlinekit.sharded_dataset as sd  # noqa: E402
from onlinekit._shard_keys import key_texts  # noqa: E402
from onlinekit.sharded import shard_plan  # noqa: E402
from onlinekit.streams import Schema, open_source  # noqa: E402


def _table(n, seed=0):
    rng = np.random.default_rng(seed)
    return pa.table({"tenant": rng.integers(0, 5, n).astype(float), "x": rng.normal(size=n), "y": rng.normal(size=n)})


def _read_all(kind, files, monkeypatch, piece_rows):
    monkeypatch.setattr(sd, "PIECE_ROWS", piece_rows)
    cols = open_source(files[0]).column_names()
    _, kinds, keep = shard_plan(cols, Schema(target="y"), "tenant")
    parts = []
    for p in sd._pieces(kind, files):
        batch = {k: np.array([v]) for k, v in p.items()}
        parts += list(sd._read_pieces(batch, kinds=kinds, keep=keep, shard_by="tenant", missing_key="pool",
                                      open_kw={}, columns=cols, chunk_size=333))
    return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


@pytest.mark.parametrize("piece_rows", [1, 700, 1 << 20])
def test_parquet_pieces_tag_rows_with_their_place_in_the_files_read_one_after_another(tmp_path, monkeypatch,
                                                                                    piece_rows):
    t = _table(4100)
    bounds = [0, 1500, 1500, 3700, 4100]  # an empty file in the middle
    for i in range(4):
        pq.write_table(t.slice(bounds[i], bounds[i + 1] - bounds[i]), tmp_path / f"part-{i}.parquet",
                       row_group_size=400)
    (tmp_path / "_SUCCESS").write_text("")  # marker files are not data
    kind, files = sd.dataset_files(str(tmp_path))
    assert kind == "parquet" and [f.rsplit("/", 1)[1] for f in files] == [f"part-{i}.parquet" for i in range(4)]
    got = _read_all(kind, files, monkeypatch, piece_rows)
    # oracle: the whole table, read in one go, keys by the shared rule
    assert got[sd._ORDER].tolist() == list(range(4100))
    np.testing.assert_array_equal(got["x"], t["x"].to_numpy())
    assert got[sd._KEY].tolist() == key_texts(t["tenant"].to_numpy())[0].tolist()


def test_csv_files_keep_their_lines_and_text_keys(tmp_path, monkeypatch):
    (tmp_path / "a.csv").write_text("tenant,x,y\n3,1,2\n03,2,3\n")
    (tmp_path / "b.csv").write_text("tenant,x,y\n3.0,1,1\n3,5,5\n")
    kind, files = sd.dataset_files(str(tmp_path))
    got = _read_all(kind, files, monkeypatch, 1 << 20)
    assert got[sd._KEY].tolist() == ["3", "03", "3.0", "3"]  # text keys as written
    assert got[sd._LINE].tolist() == [2, 3, 2, 3]
    assert got[sd._ORDER].tolist() == [0, 1, 1 << 40, (1 << 40) + 1]  # file order, then row order


def test_a_missing_key_names_its_file_and_line(tmp_path):
    (tmp_path / "a.csv").write_text("tenant,x,y\nq,1,2\n,2,3\n")
    cols = ["tenant", "x", "y"]
    _, kinds, keep = shard_plan(cols, Schema(target="y"), "tenant")
    batch = {"path": np.array([str(tmp_path / "a.csv")]), "start": np.array([0]), "stop": np.array([-1]),
             "base": np.array([0])}
    with pytest.raises(ValueError, match=r"a\.csv, line 3: shard key 'tenant' is missing"):
        list(sd._read_pieces(batch, kinds=kinds, keep=keep, shard_by="tenant", missing_key="error", open_kw={},
                             columns=cols, chunk_size=100))


def test_which_sources_the_cluster_reads(tmp_path, capsys):
    (tmp_path / "a.parquet").write_bytes(b"")
    (tmp_path / "b.csv").write_text("x\n1\n")
    with pytest.raises(ValueError, match="only CSV or only Parquet"):
        sd.dataset_files(str(tmp_path))
    assert sd.cli_dataset_files("synthetic:linear?n=10") is None
    assert "reading it on this machine" in capsys.readouterr().err
    assert sd.cli_dataset_files(str(tmp_path / "b.csv")) == [str(tmp_path / "b.csv")]
    assert sd.cli_dataset_files(str(tmp_path / "b.csv"), errors="skip") is None
    (tmp_path / "a.parquet").unlink()
    with pytest.raises(ValueError, match="--errors skip is not supported"):
        sd.cli_dataset_files(str(tmp_path), errors="skip")

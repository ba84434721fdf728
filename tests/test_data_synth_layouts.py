"""The synthetic sets (contemo.data.synth) read back through the FACES and AffectNet layouts."""

from __future__ import annotations

from contemo.data import open_dataset
from contemo.data.layouts import scan
from contemo.data.synth.sets import make_continuous_set, make_faces_set
from contemo.emotions import EMOTIONS


def test_synth_faces_set_reads_as_faces(tmp_path):
    root = make_faces_set(tmp_path / "faces", people=2, size=32, seed=0)
    result = scan(root, "faces")
    assert not result.problems and len(result.records) == 2 * 6 * 2
    assert result.counts("emotion") == {e: 4 for e in EMOTIONS}
    assert len(open_dataset(root, "faces", size=16)) == 24


def test_synth_continuous_set_reads_as_affectnet(tmp_path):
    root = make_continuous_set(tmp_path / "va", 12, size=32, seed=0)
    result = scan(root, "affectnet")
    assert not result.problems and len(result.records) == 12
    assert all(r.valence is not None and -1 <= r.valence <= 1 for r in result.records)
    ds = open_dataset(root, "affectnet", size=16)
    assert not ds.va.isnan().any() and (ds.classes >= 0).all()

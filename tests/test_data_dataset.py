"""FaceDataset and open_dataset: decode once, [-1, 1] images, face-box crop, bad images."""

from __future__ import annotations

import dataclasses
import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from data_fixtures import LONDON, make_affectnet, make_faces, write_image
from PIL import Image

import contemo.data.dataset as dataset_module
from contemo.data import open_dataset
from contemo.data.dataset import FaceDataset
from contemo.data.images import load_face, probe
from contemo.data.layouts import scan
from contemo.emotions import EMOTIONS, one_hot
from contemo.errors import ContemoError


def test_faces_items_shapes_ranges_and_labels(tmp_path):
    make_faces(tmp_path, people=2)
    ds = open_dataset(tmp_path, "faces", size=16)
    assert len(ds) == 24 and ds.images_uint8.shape == (24, 3, 16, 16)
    assert ds.images_uint8.dtype == torch.uint8 and ds.labels.shape == (24, 6)
    item = ds[5]
    assert item["image"].dtype == torch.float32 and item["image"].shape == (3, 16, 16)
    assert -1.0 <= item["image"].min() and item["image"].max() <= 1.0
    rec = ds.records[5]
    assert np.array_equal(item["label"].numpy(), one_hot(rec.emotion))
    assert torch.isnan(item["va"]).all() and item["cls"].dtype == torch.int64
    assert item["index"] == 5
    # The fixture colours each person by red = 40 * person: the pixels must carry it.
    expected_red = 40 * int(rec.meta["person"]) / 127.5 - 1
    assert abs(item["image"][0].mean().item() - expected_red) < 0.05


def test_images_are_decoded_once(tmp_path, monkeypatch):
    make_faces(tmp_path, people=1)
    calls = []
    real = dataset_module.load_face
    monkeypatch.setattr(dataset_module, "load_face", lambda *a: calls.append(a) or real(*a))
    ds = open_dataset(tmp_path, size=8)
    for _ in range(3):  # three "epochs"
        batch = torch.stack([ds[i]["image"] for i in range(len(ds))])
    assert len(calls) == len(ds) == 12 and batch.shape == (12, 3, 8, 8)
    lazy = open_dataset(tmp_path, size=8, cache=False)
    assert lazy.images_uint8 is None
    assert torch.equal(lazy[3]["image"], ds[3]["image"])


def test_affectnet_face_box_crop_and_targets(tmp_path):
    make_affectnet(tmp_path)
    ds = open_dataset(tmp_path, "affectnet", size=12)
    assert len(ds) == 9
    red, _, blue = ds.images_uint8.float().mean(dim=(0, 2, 3)).tolist()
    assert red > 200 and blue < 50  # only the painted red box, none of the blue background
    whole = FaceDataset([dataclasses.replace(r, bbox=None) for r in ds.records], 12)
    assert whole.images_uint8[:, 2].float().mean() > 100  # without the crop, blue is there
    surprise = ds[[r.affectnet_class for r in ds.records].index(3)]
    assert surprise["label"].sum() == 0 and surprise["cls"] == 3
    assert not torch.isnan(surprise["va"]).any()
    assert torch.isnan(ds.va).all(dim=1).sum() == 1  # the one -2 row


def test_draft_decoding_matches_full_decode(tmp_path):
    # A large JPEG is decoded at reduced DCT scale; the crop must still land on the same pixels.
    yy, xx = np.mgrid[0:600, 0:800]
    pixels = np.stack([xx * 255 // 800, yy * 255 // 600, (xx + yy) * 255 // 1400], -1)
    path = tmp_path / "big.jpg"
    Image.fromarray(pixels.astype(np.uint8)).save(path, quality=95)
    box = (200, 100, 400, 300)
    got = load_face(path, 32, box).astype(float)
    with Image.open(path) as im:
        ref = im.convert("RGB").crop((200, 100, 600, 400)).resize((32, 32), Image.BICUBIC)
    ref = np.asarray(ref, dtype=float).transpose(2, 0, 1)
    assert np.abs(got - ref).mean() < 2.0


def test_center_crop_keeps_the_middle_square(tmp_path):
    im = Image.new("RGB", (60, 20), (255, 0, 0))
    im.paste(Image.new("RGB", (20, 20), (0, 255, 0)), (20, 0))
    im.save(tmp_path / "wide.png")
    square = load_face(tmp_path / "wide.png", 10, center_crop=True)
    assert square[1].min() == 255 and square[0].max() == 0
    squeezed = load_face(tmp_path / "wide.png", 10)  # plain resize keeps all three bands
    assert squeezed[0, :, 0].min() == 255


def test_grey_palette_and_alpha_images_become_rgb(tmp_path):
    for mode in ("L", "P", "RGBA", "I;16"):
        Image.new(mode, (12, 10)).save(tmp_path / f"{mode.replace(';', '')}.png")
        assert load_face(tmp_path / f"{mode.replace(';', '')}.png", 6).shape == (3, 6, 6)


def test_unreadable_images_raise_or_are_skipped(tmp_path):
    make_faces(tmp_path, people=1)
    bad = tmp_path / "person1" / "001_m_f_a_a.jpg"
    bad.write_bytes(b"not a jpeg")
    good = tmp_path / "person1" / "001_m_f_h_b.jpg"
    good.write_bytes(good.read_bytes()[:200])  # truncated
    with pytest.raises(ContemoError) as err:
        open_dataset(tmp_path, size=8)
    message = str(err.value)
    assert "\n" not in message and "unreadable image" in message and "and 1 more" in message
    assert str(bad) in message or str(good) in message
    ds = open_dataset(tmp_path, size=8, skip_bad=True)
    assert len(ds) == 10 and len(ds.skipped) == 2 and len(ds.images_uint8) == 10
    assert bad not in [r.path for r in ds.records]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_damaged_files_never_escape_as_other_exceptions(tmp_path, fmt):
    pixels = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt)
    data = buf.getvalue()
    outcomes = set()
    for cut in np.linspace(1, len(data) - 1, 12).astype(int):
        path = tmp_path / f"cut{cut}.img"
        path.write_bytes(data[:cut])
        for read, args in ((load_face, (path, 16, (2, 2, 20, 20))), (probe, (path,))):
            try:
                got = read(*args)
                assert got == (40, 30) if isinstance(got, tuple) else got.shape == (3, 16, 16)
                outcomes.add("ok")
            except ContemoError as err:
                assert "\n" not in str(err) and str(path) in str(err)
                outcomes.add("error")
    assert "error" in outcomes
    if fmt == "JPEG":
        path.write_bytes(data[:-3])  # only the end marker lost: the 1/8-scale probe still sees it
        with pytest.raises(ContemoError, match="unreadable image"):
            probe(path)


def test_face_box_outside_image_is_named(tmp_path):
    path = write_image(tmp_path / "a.jpg", (20, 20))
    rec = dataclasses.replace(scan_one(path), bbox=(30, 30, 5, 5))
    with pytest.raises(ContemoError, match=r"a.jpg: face box x=30 y=30 w=5 h=5 lies outside"):
        FaceDataset([rec], 8)
    with pytest.raises(ContemoError, match="no usable face images"):
        FaceDataset([rec], 8, skip_bad=True)


def scan_one(path: Path):
    """Return a FaceRecord for a single image via the folder layout."""
    folder = path.parent / "set"
    (folder / "happy").mkdir(parents=True)
    path.rename(folder / "happy" / path.name)
    return scan(folder, "folder").records[0]


@pytest.mark.skipif(not LONDON.is_dir(), reason="London set not at /work/shared/data/london-faces")
def test_real_london_set():
    result = scan(LONDON, "london")
    neutral = sorted((LONDON / "neutral_front").glob("*_03.jpg"))
    smiling = sorted((LONDON / "smiling_front").glob("*_08.jpg"))
    assert not result.problems
    assert result.counts("emotion") == {"neutral": len(neutral), "happy": len(smiling)}
    assert len({r.meta["person"] for r in result.records}) == 102
    assert all(r.meta["gender"] in ("female", "male") for r in result.records)
    info = (LONDON / "london_info.csv").read_text().splitlines()[1:]
    known_ages = sum(line.split(",")[1].isdigit() for line in info)  # two faces' age is NA
    assert sum("age" in r.meta for r in result.records) == 2 * known_ages
    ds = open_dataset(LONDON, "london", size=32)
    assert ds.images_uint8.shape == (len(neutral) + len(smiling), 3, 32, 32)
    happy = ds.labels[:, EMOTIONS.index("happy")] == 1
    assert happy.sum() == len(smiling) and math.isclose(float(ds.labels.sum()), len(ds))

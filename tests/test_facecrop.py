"""Face-aware crops: one box for a studio set, a box per in-the-wild image, cached, reported."""

from pathlib import Path

import numpy as np
import pytest
from data_fixtures import LONDON, make_folder, make_london
from PIL import Image

from contemo.cli import main
from contemo.data import facecrop, open_dataset
from contemo.data.facecrop import CropSpec, resolve_crop, widen
from contemo.data.images import load_face, padded_crop
from contemo.data.layouts import scan
from contemo.errors import ContemoError


def test_widen_makes_a_square_scaled_and_lifted_box():
    box = widen((0.4, 0.4, 0.6, 0.6), 2.0, 0.1)
    left, top, right, bottom = box
    assert right - left == pytest.approx(0.4) and bottom - top == pytest.approx(0.4)
    assert (left + right) / 2 == pytest.approx(0.5)
    assert (top + bottom) / 2 == pytest.approx(0.5 - 0.1 * 0.2)


def test_a_crop_past_the_edge_repeats_the_edge_instead_of_black():
    pixels = np.zeros((10, 10, 3), np.uint8)
    pixels[:, 0] = 200  # a bright left edge
    out = np.asarray(padded_crop(Image.fromarray(pixels), (-4, 0, 6, 10)))
    assert out.shape == (10, 10, 3)
    assert (out[:, :5] == 200).all() and (out[:, 5:] == 0).all()


def test_fixed_crop_uses_the_median_box_and_caches_it(tmp_path, monkeypatch):
    root = make_london(tmp_path / "london", people=3)
    records = scan(root, "london").records
    boxes = iter([(0.3, 0.3, 0.5, 0.5), (0.4, 0.4, 0.6, 0.6), None, (0.5, 0.5, 0.7, 0.7)] * 2)
    calls = []

    def fake_detect(path, find):
        calls.append(path)
        return next(boxes)

    monkeypatch.setattr(facecrop, "detect_box", fake_detect)
    monkeypatch.setattr(facecrop, "detector", lambda: None)
    cache = tmp_path / "cache"
    out, spec, problems = resolve_crop(records, CropSpec("fixed", scale=1.0, lift=0.0),
                                       cache_dir=cache)
    assert problems == [] and spec.found == len(records) - 1 and spec.cropped == len(records)
    assert spec.box == pytest.approx(widen((0.4, 0.4, 0.6, 0.6), 1.0, 0.0))
    assert all(r.crop == spec.box for r in out)
    _again, spec2, _ = resolve_crop(records, CropSpec("fixed", scale=1.0, lift=0.0),
                                   cache_dir=cache)
    assert len(calls) == len(records)  # the second call read the cache: no detection
    assert spec2.box == spec.box


def test_detect_crop_reports_images_without_a_face(tmp_path):
    root = make_folder(tmp_path / "folder")  # flat colour images: no face to find
    records = scan(root, "folder").records
    with pytest.raises(ContemoError, match="no face found .*--skip-bad"):
        resolve_crop(records, CropSpec("detect"), cache_dir=tmp_path / "c")
    with pytest.raises(ContemoError, match="found no face in any image"):
        resolve_crop(records, CropSpec("fixed"), cache_dir=tmp_path / "c")
    kept, spec, problems = resolve_crop(records, CropSpec("detect"), skip_bad=True,
                                        cache_dir=tmp_path / "c")
    assert kept == [] and len(problems) == len(records) and spec.found == 0


def test_crop_spec_refuses_bad_values():
    with pytest.raises(ContemoError, match="crop mode 'box'"):
        CropSpec("box")
    with pytest.raises(ContemoError, match="crop scale"):
        CropSpec("fixed", scale=9)


def test_a_folder_read_as_faces_names_the_layout_that_fits(tmp_path, capsys):
    root = make_folder(tmp_path / "folder")
    code = main(["train", "--preset", "tiny", "--data", str(root), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code != 0 and "looks like layout 'folder'" in err and "--layout folder" in err
    assert "Traceback" not in err


needs_london = pytest.mark.skipif(not LONDON.is_dir(), reason="London set not in ../shared")


@needs_london
def test_london_fixed_crop_finds_every_face_and_frames_it(tmp_path):
    ds = open_dataset(LONDON, "london", 64, crop=CropSpec("fixed"))
    assert ds.crop.found == ds.crop.images == ds.crop.cropped == 204
    left, top, right, _bottom = ds.crop.box
    assert 0.1 < left < 0.35 and 0.1 < top < 0.35 and 0.4 < right - left < 0.7
    whole = open_dataset(LONDON, "london", 64)
    # cropped faces fill the frame: far less of the flat studio background at the border
    border = lambda x: x[:, :, :4, :].float().std(dim=(1, 2, 3)).mean()
    assert border(ds.images_uint8) > border(whole.images_uint8)
    # dlib finds the face again in the cropped 64-px image
    find = facecrop.detector()
    path = tmp_path / "crop.png"
    Image.fromarray(ds.images_uint8[0].permute(1, 2, 0).numpy()).resize((256, 256)).save(path)
    assert facecrop.detect_box(path, find) is not None


@needs_london
def test_data_check_reports_faces_found_and_cropped(capsys):
    code = main(["data", "check", str(LONDON), "--layout", "london", "--crop", "fixed"])
    out = capsys.readouterr().out
    assert code == 0
    assert "found 204 of 204, cropped 204 (crop fixed" in out


def test_load_face_applies_a_fractional_crop(tmp_path):
    pixels = np.zeros((100, 100, 3), np.uint8)
    pixels[25:75, 25:75] = 255
    path = tmp_path / "sq.png"
    Image.fromarray(pixels).save(path)
    out = load_face(Path(path), 10, crop=(0.25, 0.25, 0.75, 0.75))
    assert out.shape == (3, 10, 10) and out.min() > 200

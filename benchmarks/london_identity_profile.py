"""Where identity goes along Neutral -> happy: dlib distance by step, and pixel change per pair.

Run: `python benchmarks/london_identity_profile.py GENERATOR [GENERATOR ...]
[--real ../shared/data/london-faces] [--seeds 60] [--out JSON]` (GENERATOR: a release
folder, a run's generator/, or a shipped name such as london64).

Why: london_targets.py gives one number for identity (same z at w=0 and w=1 below 0.6).
To know what to change, it helps to see *when* a face stops being its own person, and
whether G's two faces of one z differ in pixels more than two real photos of one person
do (if not, the pair D has done its pixel-level job and the drift lies in what dlib reads,
not in how much changes). Printed for each generator and for the real London pairs:
- dlib distance from w=0 to w=0.1, 0.3, 0.5, 0.7, 1.0 (median, share below 0.6);
- the distance from a face to its own mirror image (the descriptor's floor on these faces);
- the mean absolute pixel change (the real photos framed with the first generator's crop)
  between the two ends of one z (or one person's two photos),
  over the whole 64 px face and its top and bottom halves, against two different z (people);
- sharpness: the spread of the Laplacian over the faces (is G noisier or smoother than
  the photos?);
- the real pairs again with Gaussian pixel noise of each `--noise` sigma added to both
  photos: how far image quality alone moves dlib's same-person distance, against the
  generators' distance at w=1.0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from contemo.errors import ContemoError
from contemo.fileio import atomic_write_json

DEFAULT_REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "london-faces"
STEPS = (1, 3, 5, 7, 10)  # of 11: w = 0.1, 0.3, 0.5, 0.7, 1.0
NOISE_SEED = 0  # the pixel noise of the real pairs' quality check


def distances(a: np.ndarray, b: np.ndarray) -> dict[str, float | None]:
    """Return median and share below 0.6 of row-wise descriptor distances (NaN rows: no face)."""
    d = np.linalg.norm(a - b, axis=1)
    d = d[~np.isnan(d)]
    if len(d) == 0:
        return {"median": None, "below_0_6": None, "pairs": 0}
    return {"median": round(float(np.median(d)), 3), "below_0_6": round(float((d < 0.6).mean()), 3),
            "pairs": len(d)}


def pixels(first: torch.Tensor, second: torch.Tensor) -> dict[str, float]:
    """Return mean |first - second| (images in [-1, 1]) over the face, its top and bottom."""
    diff = (first.float() - second.float()).abs()
    half = diff.shape[-2] // 2
    return {"whole": round(diff.mean().item(), 3), "top": round(diff[..., :half, :].mean().item(), 3),
            "bottom": round(diff[..., half:, :].mean().item(), 3)}


def sharpness(images: torch.Tensor) -> float:
    """Return the standard deviation of the 4-neighbour Laplacian of images in [-1, 1]."""
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).expand(3, 1, 3, 3)
    return round(torch.nn.functional.conv2d(images.float(), kernel, groups=3).std().item(), 3)


def noisy_pairs(neutral: torch.Tensor, happy: torch.Tensor, sigmas: list[float],
                face_id) -> dict[str, dict]:
    """Return the same-person distances of real pairs with Gaussian noise of each sigma."""
    gen = torch.Generator().manual_seed(NOISE_SEED)
    out = {}
    for sigma in sigmas:
        a, b = ((x + sigma * torch.randn(x.shape, generator=gen)).clamp(-1, 1)
                for x in (neutral, happy))
        out[f"{sigma:g}"] = {**distances(face_id.describe(a)[1], face_id.describe(b)[1]),
                             "sharpness": sharpness(a)}
    return out


def profile_generator(name: str, seeds: int, face_id) -> dict:
    """Return the profile of one generator over `seeds` z."""
    from contemo.generation.pipeline import EmotionPipeline
    from contemo.labels.paths import path

    pipe = EmotionPipeline.from_pretrained(name)
    z = pipe.noise(list(range(seeds)))
    labels = torch.from_numpy(path("neutral", "happy", 11))
    ends = {k: pipe.generate(labels[k:k + 1], z=z, batch_size=seeds) for k in (0, *STEPS)}
    desc = {k: face_id.describe(img)[1] for k, img in ends.items()}
    mirror = face_id.describe(ends[0].flip(-1))[1]
    crop = (pipe.meta.get("preprocess") or {}).get("crop") or {"mode": "none"}
    return {
        "resolution": pipe.resolution, "crop": {k: crop.get(k) for k in ("mode", "scale", "lift")},
        "from_w0": {f"{k / 10:.1f}": distances(desc[0], desc[k]) for k in STEPS},
        "mirror": distances(desc[0], mirror),
        "different_z_w0": distances(desc[0], np.roll(desc[0], 1, axis=0)),
        "pixels_same": pixels(ends[0], ends[10]),
        "pixels_different": pixels(ends[0], ends[0].roll(1, 0)),
        "sharpness": sharpness(ends[0]),
    }


def profile_real(root: str, resolution: int, crop: dict, face_id,
                 sigmas: list[float] = ()) -> dict:
    """Return the real London pairs' profile (neutral against smiling photo of one person),
    framed as the generator's training data was (its release's crop), so pixels compare."""
    from contemo.data import open_dataset
    from contemo.data.facecrop import CropSpec

    spec = CropSpec(crop["mode"]) if crop["mode"] == "none" else CropSpec(**crop)
    data = open_dataset(root, "london", resolution, crop=spec)
    first: dict[str, dict[str, int]] = {}
    for i, r in enumerate(data.records):
        if r.emotion in ("neutral", "happy") and r.meta.get("person"):
            first.setdefault(r.meta["person"], {}).setdefault(r.emotion, i)
    pairs = [(v["neutral"], v["happy"]) for v in first.values() if len(v) == 2]
    images = data.images_uint8.float() / 127.5 - 1.0
    neutral, happy = (images[[p[k] for p in pairs]] for k in (0, 1))
    desc_n, desc_h = face_id.describe(neutral)[1], face_id.describe(happy)[1]
    return {
        "people": len(pairs), "resolution": resolution, "crop": crop,
        "from_w0": {"1.0": distances(desc_n, desc_h)},
        "mirror": distances(desc_n, face_id.describe(neutral.flip(-1))[1]),
        "different_z_w0": distances(desc_n, np.roll(desc_n, 1, axis=0)),
        "pixels_same": pixels(neutral, happy),
        "pixels_different": pixels(neutral, neutral.roll(1, 0)),
        "sharpness": sharpness(neutral),
        "with_noise": noisy_pairs(neutral, happy, list(sigmas), face_id),
    }


def line(name: str, p: dict) -> str:
    """Return one printed row: distances by step, mirror floor, pixel change."""
    steps = " ".join(f"{w}:{v['median']}" for w, v in p["from_w0"].items())
    return (f"{name:<28} dlib from w=0 {steps} | mirror {p['mirror']['median']} | different "
            f"{p['different_z_w0']['median']} | pixels same {p['pixels_same']['whole']} (top "
            f"{p['pixels_same']['top']}, bottom {p['pixels_same']['bottom']}) different "
            f"{p['pixels_different']['whole']} | sharpness {p['sharpness']}")


def main(argv: list[str] | None = None) -> int:
    """Profile each generator and the real pairs, print one row each, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generators", nargs="+", help="release folders or shipped names")
    parser.add_argument("--real", default=str(DEFAULT_REAL), help="the London set's folder")
    parser.add_argument("--seeds", type=int, default=60, help="z per generator (default 60)")
    parser.add_argument("--out", default="london_identity_profile.json", help="JSON to write")
    parser.add_argument("--noise", default="0.05,0.1,0.15", metavar="SIGMAS",
                        help="pixel-noise sigmas added to the real pairs (images in [-1, 1]; "
                        "default 0.05,0.1,0.15; empty: none)")
    args = parser.parse_args(argv)
    try:
        sigmas = [float(s) for s in args.noise.split(",") if s.strip()]
    except ValueError:
        print(f"error: --noise {args.noise!r}: expected comma-separated numbers",
              file=sys.stderr)
        return 2
    from contemo.models.face_id import shared_face_id

    try:
        face_id = shared_face_id()
        report = {"seeds": args.seeds, "generators": {}}
        for name in args.generators:
            report["generators"][name] = profile_generator(name, args.seeds, face_id)
            print(line(name, report["generators"][name]), flush=True)
        first = next(iter(report["generators"].values()))
        if Path(args.real).is_dir():
            report["real"] = profile_real(args.real, first["resolution"], first["crop"], face_id,
                                          sigmas)
            print(line("real London pairs", report["real"]))
            for sigma, d in report["real"]["with_noise"].items():
                print(f"  real pairs + noise sigma {sigma}: same person median {d['median']}, "
                      f"below 0.6 {d['below_0_6']} ({d['pairs']} pairs found), "
                      f"sharpness {d['sharpness']}")
        else:
            print(f"{args.real}: not found; the real reference is left out")
    except ContemoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    atomic_write_json(Path(args.out), report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

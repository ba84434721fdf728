"""How much one face changes between two emotions: real people's photos against G's z.

Run: `python benchmarks/pair_change.py --data ../shared/data/london-faces [CHECKPOINT ...]
[--preset london64] [--end happy] [--seeds 200] [--json FILE]`

Why: before asking G to change less of a face between Neutral and an emotion (a pixel
budget such as `edit_mask`), check whether it changes more than real people do. This
prints the mean L1 (images in [-1, 1]) between the Neutral and END photo of each real
person, framed as the preset trains (its crop and size), between the Neutral photos of
two different people, and, per checkpoint, between the Neutral and END face of each z.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import torch
from harness import print_and_keep

from contemo.emotions import EMOTIONS, NEUTRAL
from contemo.errors import ContemoError
from contemo.generation.pipeline import EmotionPipeline
from contemo.training.config import get_preset
from contemo.training.data import load_train_data


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Return the mean absolute difference of each image pair (N,)."""
    return (a.float() - b.float()).abs().mean(dim=(1, 2, 3))


def real_change(data_dir: str, preset: str, end: str) -> dict:
    """Return the real same-person and different-people L1 of the set, as `preset` frames it."""
    config = get_preset(preset)
    data = load_train_data(replace(config, data=data_dir, layout="london"))
    images = data.images.float() / 127.5 - 1
    kinds = data.labels.argmax(dim=1)
    pairs = [(a, b) for a, b in data.pairs.tolist()  # (Neutral photo, other photo)
             if int(kinds[b]) == EMOTIONS.index(end)]
    if not pairs:
        raise ContemoError(f"{data_dir}: no person has both a neutral and a {end} photo")
    first, second = (torch.tensor(side) for side in zip(*pairs, strict=True))
    neutral = (kinds == NEUTRAL).nonzero().flatten()
    other = neutral.roll(1)  # each Neutral photo against the next person's
    return {"same_person": round(float(l1(images[first], images[second]).mean()), 4),
            "different_people": round(float(l1(images[neutral], images[other]).mean()), 4),
            "people": len(pairs)}


def generated_change(checkpoint: str, end: str, seeds: int) -> float:
    """Return the mean L1 between the Neutral and END face of `seeds` z of a generator."""
    pipe = EmotionPipeline.from_pretrained(checkpoint)
    z = pipe.noise(list(range(seeds)))
    with torch.no_grad():
        neutral = pipe.generator(z, torch.eye(6)[[NEUTRAL] * seeds])
        emotion = pipe.generator(z, torch.eye(6)[[EMOTIONS.index(end)] * seeds])
    return round(float(l1(neutral, emotion).mean()), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*")
    parser.add_argument("--data", required=True, help="a London-layout set")
    parser.add_argument("--preset", default="london64")
    parser.add_argument("--end", default="happy", choices=EMOTIONS[1:])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    try:
        result = {"real": real_change(args.data, args.preset, args.end),
                  "generated": {c: generated_change(c, args.end, args.seeds)
                                for c in args.checkpoints}}
    except ContemoError as err:
        print(f"pair_change: {err}", file=sys.stderr)
        return 1
    return print_and_keep(result, args.json)


if __name__ == "__main__":
    sys.exit(main())

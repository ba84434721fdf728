"""Show and measure where an edit generator (model.g_edit) changes a face along a path.

Run: `python benchmarks/edit_masks.py CHECKPOINT --out FIGURE.png [--json FILE]
[--seeds 0-5] [--steps 6] [--end happy]`

Why: with `model.g_edit` each face is (1 - m) * base + m * colour, and the base is the
same for every emotion of one z. The promise (a path keeps its person) holds only where
the masks stay shut, so this draws, for each seed, the Neutral -> END faces over their
masks (white = edited), and prints the mean mask per step and the share of pixels that
no step of the path edits by more than 5% (they are the base face's, to within 0.1 of
the [-1, 1] range).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from harness import print_and_keep

from contemo.emotions import EMOTIONS
from contemo.errors import ContemoError
from contemo.figures import save_png, upscale
from contemo.generation.pipeline import EmotionPipeline, parse_seeds
from contemo.labels.paths import neutral_to

KEPT = 0.05  # a pixel whose mask stays below this on every step is the base face's


def masks_along(pipe: EmotionPipeline, seeds: list[int], end: str, steps: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the faces (S, T, 3, R, R) in [-1, 1] and masks (S, T, 1, R, R) of each path."""
    g = pipe.generator
    if not g.config.g_edit:
        raise ContemoError("this generator is not an edit generator (model.g_edit)")
    labels = torch.from_numpy(neutral_to(end, steps)).float()  # (T, 6)
    z = pipe.noise(seeds)
    with torch.no_grad():
        faces, masks = g(z.repeat_interleave(steps, 0), labels.repeat(len(seeds), 1),
                         with_mask=True)
    size = faces.shape[-1]
    return (faces.float().reshape(len(seeds), steps, 3, size, size),
            masks.float().reshape(len(seeds), steps, 1, size, size))


def figure(faces: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Return one uint8 (H, W, 3) image: per seed a row of faces over a row of masks."""
    rows = []
    for face_row, mask_row in zip(faces, masks, strict=True):
        rows.append(torch.cat(list((face_row + 1) / 2), dim=2))
        rows.append(torch.cat(list(mask_row.expand(-1, 3, -1, -1)), dim=2))
    image = torch.cat(rows, dim=1).clamp(0, 1)
    return (image.permute(1, 2, 0) * 255).round().to(torch.uint8)


def summary(masks: torch.Tensor) -> dict:
    """Return the mean mask per step and the share of pixels no step edits."""
    return {"mean_mask_by_step": [round(float(m), 4) for m in masks.mean(dim=(0, 2, 3, 4))],
            "kept_share": round(float((masks.amax(dim=1) < KEPT).float().mean()), 4),
            "kept_threshold": KEPT}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--out", required=True, help="the figure (.png)")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--seeds", default="0-5")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--end", default="happy", choices=EMOTIONS[1:])
    args = parser.parse_args(argv)
    try:
        pipe = EmotionPipeline.from_pretrained(args.checkpoint)
        faces, masks = masks_along(pipe, parse_seeds(args.seeds, 64), args.end, args.steps)
    except ContemoError as err:
        print(f"edit_masks: {err}", file=sys.stderr)
        return 1
    save_png(upscale(figure(faces, masks).numpy(), 2), Path(args.out))
    return print_and_keep({"checkpoint": args.checkpoint, "end": args.end, **summary(masks)},
                          args.json)


if __name__ == "__main__":
    sys.exit(main())

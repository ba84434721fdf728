"""Animated transitions: label keyframes -> a smooth frame schedule -> a looping GIF.

A GIF shows the same faces (fixed seeds, so fixed identity) while the label glides
through the keyframes. Frames are re-sampled densely between keyframes, whatever
``--steps`` the grid used, so the motion is smooth: every frame's vector is a convex
blend of two neighbouring keyframes, hence itself a valid label (Eq. 2-3).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from contemo.emotions import label_va, validate_labels
from contemo.errors import ContemoError
from contemo.figures import BACKGROUND, INK, PAD, font, text_size, to_uint8, upscale
from contemo.generation.images import save_gif
from contemo.generation.pipeline import EmotionPipeline
from contemo.labels.sets import describe

MODES = ("pingpong", "forward")


@dataclass(frozen=True)
class GifOptions:
    """How a transition GIF moves; the defaults give a 4-second neutral->emotion->neutral loop."""

    fps: float = 12.0  # frames per second while moving
    frames: int = 24  # frames from the first keyframe to the last (one direction)
    mode: str = "pingpong"  # pingpong: there and back (A->B->A); forward: A->B, then jump back
    hold: float = 0.5  # extra seconds to rest on held keyframes (by default the two ends)
    seeds: int = 4  # how many faces (the job's first seeds) side by side

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ContemoError(f"--gif-mode {self.mode!r}: expected one of {', '.join(MODES)}")
        if not 0.5 <= self.fps <= 50:
            raise ContemoError(f"--gif-fps {self.fps:g}: expected 0.5 to 50")
        if not 2 <= self.frames <= 1000:
            raise ContemoError(f"--gif-frames {self.frames}: expected 2 to 1000")
        if not 0 <= self.hold <= 10:
            raise ContemoError(f"--gif-hold {self.hold:g}: expected 0 to 10 seconds")
        if not 1 <= self.seeds <= 16:
            raise ContemoError(f"--gif-seeds {self.seeds}: expected 1 to 16")


def resample(keyframes: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (labels (frames, 6), keyframe index or -1 per frame) evenly along the keyframes."""
    keys = np.asarray(keyframes, dtype=np.float64)
    if len(keys) < 2:
        raise ContemoError("a transition needs at least 2 labels (give a path, or several "
                           "--label vectors separated by ';')")
    t = np.linspace(0.0, len(keys) - 1, frames)
    low = np.minimum(np.floor(t).astype(int), len(keys) - 2)
    frac = (t - low)[:, None]
    labels = (1 - frac) * keys[low] + frac * keys[low + 1]
    labels /= labels.sum(axis=1, keepdims=True)  # undo rounding drift: sums stay exactly 1
    on_key = np.where(np.isclose(t, np.round(t), atol=1e-9), np.round(t).astype(int), -1)
    return validate_labels(labels), on_key


def schedule(keyframes: np.ndarray, options: GifOptions,
             hold_at: Collection[int] | None = None) -> tuple[np.ndarray, list[int]]:
    """Return (labels per frame, duration in ms per frame) for the whole loop.

    `hold_at` names keyframes to rest on (default: the first and last); a keyframe only
    holds if a frame lands exactly on it.
    """
    labels, on_key = resample(keyframes, options.frames)
    held = {0, len(keyframes) - 1} if hold_at is None else set(hold_at)
    step_ms = 1000.0 / options.fps
    seconds = [step_ms + (1000 * options.hold if k in held else 0) for k in on_key]
    if options.mode == "pingpong" and len(labels) > 2:
        labels = np.concatenate([labels, labels[-2:0:-1]])
        seconds += [step_ms] * (options.frames - 2)
    return labels, gif_durations(seconds)


def gif_durations(ms: Sequence[float]) -> list[int]:
    """Return `ms` rounded to the GIF's 10 ms ticks, carrying the error so the total is right."""
    ends = np.round(np.cumsum(ms) / 10.0).astype(int) * 10
    return np.diff(ends, prepend=0).tolist()


def frame_captions(labels: np.ndarray, anchors: dict[str, tuple[float, float]] | None,
                   width: int, size: int) -> list[str]:
    """Return each frame's caption (weights, then label VA): one line if all fit, else two."""
    parts = []
    for label in labels:
        valence, arousal = label_va(label, anchors)
        parts.append((describe(label, places=2).replace("\n", ", "),
                      f"V {valence:+.2f} A {arousal:+.2f}"))
    one_line = [f"{w}   {va}" for w, va in parts]
    if max(text_size(c, size)[0] for c in one_line) <= width - 2 * PAD:
        return one_line
    return [f"{w}\n{va}" for w, va in parts]


def render(pipe: EmotionPipeline, seeds: Sequence[int], keyframes: np.ndarray, out: str | Path,
           options: GifOptions, *, scale: int = 2, method: str = "nearest",
           batch_size: int = 256, hold_at: Collection[int] | None = None,
           anchors: dict[str, tuple[float, float]] | None = None) -> tuple[Path, int]:
    """Return (path, frame count) after writing the GIF of `seeds` moving through `keyframes`."""
    labels, durations = schedule(keyframes, options, hold_at)
    seeds = list(seeds)[: options.seeds]
    noise = pipe.noise(seeds)
    tile = pipe.resolution * scale
    size = 11 if tile * len(seeds) >= 240 else 9
    captions = frame_captions(labels, anchors, tile * len(seeds), size)
    line_h = text_size("Hg", size)[1] + 1
    caption_h = (captions[0].count("\n") + 1) * line_h + 2 * PAD
    frames: list[Image.Image] = []
    per_batch = max(1, batch_size // len(seeds))
    for start in range(0, len(labels), per_batch):
        chunk = labels[start:start + per_batch]
        z = noise.repeat(len(chunk), 1)
        v = torch.as_tensor(np.repeat(chunk, len(seeds), axis=0))
        images = to_uint8(pipe.generate(v, z=z, batch_size=batch_size))
        for f in range(len(chunk)):
            frame = Image.new("RGB", (tile * len(seeds), tile + caption_h), BACKGROUND)
            draw = ImageDraw.Draw(frame)
            for i, line in enumerate(captions[start + f].split("\n")):
                draw.text((PAD, PAD + i * line_h), line, fill=INK, font=font(size))
            for s in range(len(seeds)):
                frame.paste(upscale(images[f * len(seeds) + s], scale, method),
                            (s * tile, caption_h))
            frames.append(frame)
    return save_gif(frames, out, durations), len(frames)

"""What the explorer adds around one face: the model's trained emotions, its card, path GIFs.

* A generator's config.json may list ``"trained_emotions"`` (a subset of the six, in
  order); without the key all six were trained. The explorer offers only those: the
  pad blends only trained emotions and a label or blend asking for an untrained one
  is refused with one line.
* ``MODEL_CARD.md`` beside the weights is served as text, linked from the page.
* A played pad path becomes a looping GIF on the server (Pillow, one shared palette):
  the same frames the page showed, from the renderer's cache when just played.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from contemo.serve.schemas import MAX_BATCH_ITEMS, MAX_SEED, VAPoint

MODEL_CARD = "MODEL_CARD.md"
MAX_GIF_SIZE = 256  # a GIF of 64 frames at 256 px is ~2 MB; larger is not a demo's job


def model_card(checkpoint: str) -> Path | None:
    """Return the checkpoint folder's MODEL_CARD.md when it has one."""
    path = Path(checkpoint) / MODEL_CARD
    return path if path.is_file() else None


class PathGif(BaseModel):
    """A pad path to turn into a GIF: VA points in order, one seed (identity), fps."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"seed": 7, "points": [{"valence": 0, "arousal": 0}, {"valence": 0.6, "arousal": 0.4}],
         "fps": 15}]})
    seed: int = Field(0, ge=0, le=MAX_SEED)
    points: list[VAPoint] = Field(min_length=2, max_length=MAX_BATCH_ITEMS,
                                  description=f"2-{MAX_BATCH_ITEMS} VA points, one per frame.")
    size: int = Field(256, ge=32, le=MAX_GIF_SIZE, description="Frame side in pixels.")
    fps: float = Field(15.0, ge=1.0, le=30.0, description="Frames per second.")


def frames_gif(pngs: list[bytes], fps: float) -> bytes:
    """Return PNG frames as a looping GIF at `fps`."""
    import io

    from contemo.generation.images import gif_bytes

    frames = [Image.open(io.BytesIO(png)).convert("RGB") for png in pngs]
    return gif_bytes(frames, [round(1000 / fps)] * len(frames))

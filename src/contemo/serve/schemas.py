"""The JSON API's request and response models (pydantic): what /docs shows and validates.

A face is asked for in exactly one of three ways: a full label vector (the paper's
v, Eq. 3), a blend of two emotions with a weight (Eq. 4 generalised), or a
valence-arousal point that `contemo.labels.va.model_va_label` turns into a label.
Limits live here as constants so the docs, the validation and the tests agree.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, model_validator

from contemo.emotions import EMOTIONS, LabelError, canonical_emotion
from contemo.serve.faces import MAX_SIZE

MAX_SEED = 2**31 - 1  # seeds are JSON numbers; keep them exact in every client's doubles
MAX_BATCH_ITEMS = 64  # label specs per batch request (a 64-frame path animation)
MAX_BATCH_SEEDS = 16  # seeds per batch request
MAX_BATCH_IMAGES = 64  # specs x seeds per batch request: bounds one request's CPU time
# Pixels per batch reply: the page's largest request (64 frames at 256 px). Bounds a
# reply at ~17 MB of JSON even for incompressible PNGs; 64 at 512 px would be ~70 MB.
MAX_BATCH_PIXELS = 64 * 256 * 256
MIN_SIZE = 16
MAX_NAME = 32  # longest emotion name a client may send (the longest is 8 letters)

# Numbers are strict: JSON `true` is not seed 1 and "0.5" is not a label weight; a
# client that sends them has a bug that a silent conversion would hide.

Seed = Field(0, ge=0, le=MAX_SEED, strict=True, description="Noise seed: the same seed is the same face.",
             examples=[7])
Size = Field(None, ge=MIN_SIZE, le=MAX_SIZE, strict=True,
             description=f"Side of the returned PNG in pixels (bicubic upscale of the model's "
                         f"output); default: the model's resolution. At most {MAX_SIZE}.",
             examples=[256])


class Blend(BaseModel):
    """A two-emotion blend: (1 - weight) * one_hot(a) + weight * one_hot(b)."""

    model_config = ConfigDict(extra="forbid")
    a: str = Field(max_length=MAX_NAME, description=f"First emotion, one of "
                                                    f"{', '.join(EMOTIONS)}.", examples=["neutral"])
    b: str = Field(max_length=MAX_NAME, description="Second emotion (not a).",
                   examples=["happy"])
    weight: StrictFloat = Field(ge=0.0, le=1.0, description="Share of emotion b, in [0, 1].",
                                examples=[0.8])

    @model_validator(mode="after")
    def _two_emotions(self) -> Blend:
        try:
            a, b = canonical_emotion(self.a), canonical_emotion(self.b)
        except LabelError:
            return self  # an unknown name is answered 400 naming it, when the label is built
        if a == b:
            raise ValueError(f"a and b are both {a!r}: a blend needs two different emotions "
                             "(for one emotion send its label)")
        return self


class VAPoint(BaseModel):
    """A point of Russell's circumplex; both coordinates in [-1, 1]."""

    model_config = ConfigDict(extra="forbid")
    valence: StrictFloat = Field(ge=-1.0, le=1.0, description="Pleasantness, -1 to 1.",
                                 examples=[0.5])
    arousal: StrictFloat = Field(ge=-1.0, le=1.0, description="Activation, -1 to 1.",
                                 examples=[0.3])


class FaceSpec(BaseModel):
    """Which emotion to show: exactly one of `label`, `blend` or `va`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"va": {"valence": 0.5, "arousal": 0.3}},
        {"blend": {"a": "neutral", "b": "happy", "weight": 0.8}},
        {"label": [0.2, 0, 0, 0, 0, 0.8]},
    ]})
    label: list[StrictFloat] | None = Field(
        None, min_length=len(EMOTIONS), max_length=len(EMOTIONS),
        description=f"Conditioning vector in the order {', '.join(EMOTIONS)}: each in [0, 1], "
                    "summing to 1.", examples=[[0.2, 0, 0, 0, 0, 0.8]])
    blend: Blend | None = Field(None, description="Blend of two emotions.")
    va: VAPoint | None = Field(None, description="Valence-arousal target; unreachable targets "
                                                 "move to the nearest reachable point.")

    @model_validator(mode="after")
    def _exactly_one(self) -> FaceSpec:
        given = [name for name in ("label", "blend", "va") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of label, blend or va"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


class FaceRequest(FaceSpec):
    """One face: an emotion spec, a seed, and how to return it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"seed": 7, "va": {"valence": 0.5, "arousal": 0.3}, "format": "json"},
        {"seed": 3, "blend": {"a": "neutral", "b": "sad", "weight": 0.6}, "format": "png"},
    ]})
    seed: int = Seed
    size: int | None = Size
    format: Literal["png", "json"] = Field(
        "png", description="png: the image itself (image/png); json: base64 PNG + the label used.")


class BatchRequest(BaseModel):
    """Many faces in one call: every spec with every seed (a path, a grid of identities)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"items": [{"va": {"valence": 0.0, "arousal": 0.0}},
                   {"va": {"valence": 0.6, "arousal": 0.4}}], "seeds": [0, 1]},
    ]})
    items: list[FaceSpec] = Field(min_length=1, max_length=MAX_BATCH_ITEMS,
                                  description=f"Emotion specs, at most {MAX_BATCH_ITEMS}.")
    seeds: list[StrictInt] = Field([0], min_length=1, max_length=MAX_BATCH_SEEDS,
                             description=f"Seeds, at most {MAX_BATCH_SEEDS}; each in "
                                         f"[0, {MAX_SEED}].", examples=[[0, 1, 2]])
    size: int | None = Size

    @model_validator(mode="after")
    def _bounded(self) -> BatchRequest:
        if any(not 0 <= s <= MAX_SEED for s in self.seeds):
            raise ValueError(f"every seed must be in [0, {MAX_SEED}]")
        total = len(self.items) * len(self.seeds)
        if total > MAX_BATCH_IMAGES:
            raise ValueError(f"{len(self.items)} items x {len(self.seeds)} seeds = {total} "
                             f"images; at most {MAX_BATCH_IMAGES} per request")
        side = self.size or 0  # None: the model's resolution, checked in the app
        if total * side * side > MAX_BATCH_PIXELS:
            raise ValueError(f"{total} images of {side} px = {total * side * side / 1e6:.1f} "
                             f"megapixels; at most {MAX_BATCH_PIXELS / 1e6:.1f} per request "
                             f"(e.g. 64 images at 256 px or 16 at 512 px)")
        return self


class Face(BaseModel):
    """A generated face and exactly what produced it."""

    seed: int = Field(description="Seed of the noise (the identity).", examples=[7])
    label: list[float] = Field(description=f"Label vector fed to the generator "
                                           f"({', '.join(EMOTIONS)}).",
                               examples=[[0.2, 0, 0, 0, 0, 0.8]])
    label_named: dict[str, float] = Field(description="The label's non-zero elements by name.",
                                          examples=[{"neutral": 0.2, "happy": 0.8}])
    valence: float = Field(description="Valence of the label under the checkpoint's anchors.")
    arousal: float = Field(description="Arousal of the label under the checkpoint's anchors.")
    requested_va: VAPoint | None = Field(None, description="The VA target asked for, if any.")
    clipped: bool = Field(False, description="True when the VA target was unreachable and "
                                             "moved to the nearest reachable point.")
    neighbours: list[str] | None = Field(None, description="The two emotions blended with "
                                                           "neutral for a VA target.")
    filename: str = Field(description="A download name that states seed, VA and label.")
    size: int = Field(description="Side of the PNG in pixels.")
    render_ms: float = Field(description="Server time for generator + PNG encoding (0: cached).")
    cached: bool = Field(description="Served from the renderer's cache.")
    image_base64: str = Field(description="The PNG, base64-encoded.")
    media_type: str = Field("image/png", description="Always image/png.")


class BatchResponse(BaseModel):
    """Faces in item-major order: all seeds of item 0, then item 1, ..."""

    faces: list[Face]
    render_ms: float = Field(description="Total server time for the batch.")


class Limits(BaseModel):
    """What the API accepts."""

    max_batch_items: int = MAX_BATCH_ITEMS
    max_batch_seeds: int = MAX_BATCH_SEEDS
    max_batch_images: int = MAX_BATCH_IMAGES
    max_seed: int = MAX_SEED
    max_size: int = MAX_SIZE
    max_batch_pixels: int = MAX_BATCH_PIXELS
    max_body_bytes: int
    max_response_bytes: int
    max_batches_in_flight: int
    max_faces_in_flight: int


class Info(BaseModel):
    """The served checkpoint and what it can be asked."""

    checkpoint: str = Field(description="Name of the served generator's folder (no server "
                                        "paths are shown).")
    model: dict = Field(description="The checkpoint's model config (config.json 'model').")
    training: dict = Field(description="What the checkpoint says about its training.")
    resolution: int = Field(description="Side of the generator's output in pixels.")
    emotions: list[str] = Field(description="Order of the label vector.")
    anchors: dict[str, list[float]] = Field(description="Valence-arousal anchor of each emotion "
                                                        "(from the checkpoint).")
    sectors: list[list[str]] = Field(description="Neighbour pairs whose triangle with neutral "
                                                 "is reachable from the pad.")
    trained_emotions: list[str] = Field(description="The emotions the model was trained on "
                                                    "(the others cannot be asked for).")
    model_card: bool = Field(description="True when /model-card serves the model card.")
    limits: Limits

"""The explorer app for a checkpoint, warmed up: what `contemo serve` runs and tests drive."""

from __future__ import annotations

from typing import Any


def build(checkpoint: str | None, device: str = "cpu", limits: Any = None) -> Any:
    """Return the explorer app for a checkpoint folder (None: the shipped one) under `limits`."""
    from contemo.emotions import one_hot
    from contemo.generation.pipeline import EmotionPipeline
    from contemo.hardware import resolve_device
    from contemo.models.pretrained import resolve_model_dir
    from contemo.serve.app import create_app
    from contemo.serve.faces import FaceRenderer

    folder = str(resolve_model_dir(checkpoint))
    pipeline = EmotionPipeline.from_pretrained(folder, resolve_device(device))
    renderer = FaceRenderer(pipeline)
    # One render at start-up: torch's first call pays one-off costs (kernel selection,
    # allocator, thread pool) that the first visitor should not wait for.
    renderer.render(one_hot(pipeline.trained[0])[None], [0])
    return create_app(renderer, pipeline.meta, folder, limits)

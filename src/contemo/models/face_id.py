"""Face identity on real photographs: dlib's HOG detector, 5-point landmarks, ResNet descriptor.

contemo's own scorers were trained on its data; to ask "is this the same person?" it
needs a network trained on millions of real faces. dlib's face-recognition ResNet
(the one behind the `face_recognition` package) maps an aligned face to a 128-d
descriptor in which two photos of one person lie closer than 0.6 (its documented
threshold; 99.38% on LFW). The weights ship inside `face-recognition-models` (offline).

That package imports `pkg_resources`, which current setuptools no longer has, so its
`.dat` files are located with `importlib.util.find_spec` and never imported.

Generated faces are small (64 px) and the HOG detector does not see faces narrower than
about 80 px, so images are upscaled (bicubic, by a whole factor) to at least
`DETECT_SIDE` before detection and description; boxes are returned in the input's
own pixel coordinates.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from contemo.errors import ContemoError

MODELS_PACKAGE = "face_recognition_models"
LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_FILE = "dlib_face_recognition_resnet_model_v1.dat"
INSTALL_HINT = "install them with `pip install dlib-bin face-recognition-models`"
SAME_PERSON = 0.6  # dlib's threshold: descriptors closer than this are one person
DETECT_SIDE = 256  # images are upscaled to at least this side so HOG finds 64 px faces
DESCRIPTOR_DIM = 128


@dataclass(frozen=True)
class FaceBox:
    """A detected face: (left, top, right, bottom) in the input image's pixels, floats."""

    left: float
    top: float
    right: float
    bottom: float

    def widened(self, margin: float) -> FaceBox:
        """Return the box grown by `margin` x its width (height) on the left and right (top, bottom)."""
        w, h = self.right - self.left, self.bottom - self.top
        return FaceBox(self.left - margin * w, self.top - margin * h,
                       self.right + margin * w, self.bottom + margin * h)

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """Return the box rounded to whole pixels and clipped to a width x height image."""
        left, top = max(0, round(self.left)), max(0, round(self.top))
        right, bottom = min(width, round(self.right)), min(height, round(self.bottom))
        return left, top, max(right, left + 1), max(bottom, top + 1)


def models_folder() -> Path:
    """Return the folder of face_recognition_models' .dat files, found without importing it."""
    try:
        spec = importlib.util.find_spec(MODELS_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    for folder in list(spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(folder) / "models"
        if (candidate / DESCRIPTOR_FILE).is_file() and (candidate / LANDMARKS_FILE).is_file():
            return candidate
    raise ContemoError(f"dlib face models not found ({MODELS_PACKAGE} is not installed "
                       f"or lacks {DESCRIPTOR_FILE}): {INSTALL_HINT}")


def load_dlib() -> Any:
    """Return the dlib module, or raise a one-line ContemoError saying how to install it."""
    try:
        import dlib
    except ImportError:
        raise ContemoError(f"dlib is not installed: {INSTALL_HINT}") from None
    return dlib


def to_rgb_uint8(images: torch.Tensor) -> torch.Tensor:
    """Return (N, 3, H, W) uint8 RGB from float images in [-1, 1] or uint8, grey or colour."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ContemoError(f"face images: expected (N, 3, H, W) or (N, 1, H, W), got "
                           f"{tuple(images.shape)}")
    if images.dtype != torch.uint8:
        images = ((images.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class FaceID:
    """Finds faces and describes who they are (dlib); batch-friendly, CPU only."""

    def __init__(self, models: Path | None = None, detect_side: int = DETECT_SIDE) -> None:
        dlib = load_dlib()
        folder = models_folder() if models is None else Path(models)
        for name in (LANDMARKS_FILE, DESCRIPTOR_FILE):
            if not (folder / name).is_file():
                raise ContemoError(f"{folder / name}: dlib model file not found; {INSTALL_HINT}")
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(folder / LANDMARKS_FILE))
        self.encoder = dlib.face_recognition_model_v1(str(folder / DESCRIPTOR_FILE))
        self.detect_side = detect_side
        self._rectangle = dlib.rectangle

    def upscale(self, images: torch.Tensor) -> tuple[np.ndarray, int]:
        """Return ((N, H', W', 3) uint8 RGB at a whole-factor upscale, the factor) for dlib."""
        rgb = to_rgb_uint8(images)
        factor = max(1, math.ceil(self.detect_side / min(rgb.shape[-2:])))
        if factor > 1:
            rgb = F.interpolate(rgb.float(), scale_factor=factor, mode="bicubic",
                                align_corners=False).clamp_(0, 255).round_().to(torch.uint8)
        return rgb.permute(0, 2, 3, 1).contiguous().numpy(), factor

    def detect(self, images: torch.Tensor) -> list[FaceBox | None]:
        """Return the largest frontal face of each image (None where dlib finds none)."""
        big, factor = self.upscale(images)
        return [self._largest(img, factor) for img in big]

    def _largest(self, img: np.ndarray, factor: int) -> FaceBox | None:
        """Return the biggest HOG detection of one upscaled image, in input pixels."""
        found = self.detector(img, 0)
        if not len(found):
            return None
        r = max(found, key=lambda b: b.area())
        return FaceBox(r.left() / factor, r.top() / factor, (r.right() + 1) / factor,
                       (r.bottom() + 1) / factor)

    def describe(self, images: torch.Tensor, boxes: list[FaceBox | None] | None = None
                 ) -> tuple[list[FaceBox | None], np.ndarray]:
        """Return (boxes, (N, 128) descriptors); rows without a face are NaN.

        `boxes` (from `detect` on the same images) saves a second detection pass.
        """
        big, factor = self.upscale(images)
        if boxes is None:
            boxes = [self._largest(img, factor) for img in big]
        if len(boxes) != len(big):
            raise ContemoError(f"{len(boxes)} face boxes for {len(big)} images")
        out = np.full((len(big), DESCRIPTOR_DIM), np.nan, dtype=np.float64)
        for i, (img, box) in enumerate(zip(big, boxes)):
            if box is None:
                continue
            rect = self._rectangle(round(box.left * factor), round(box.top * factor),
                                   round(box.right * factor) - 1, round(box.bottom * factor) - 1)
            shape = self.landmarks(img, rect)
            out[i] = np.asarray(self.encoder.compute_face_descriptor(img, shape))
        return boxes, out


@lru_cache(maxsize=1)
def shared_face_id() -> FaceID:
    """Return one FaceID per process (loading dlib's three models takes seconds)."""
    return FaceID()


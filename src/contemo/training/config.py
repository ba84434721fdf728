"""TrainConfig: every setting of a GAN run, with named presets, JSON files and `key=value` overrides.

Configs are data: a run starts from a preset (`TRAIN_PRESETS`, mirrored as files in
``configs/``), a JSON file may change any field, ``--set key=value`` changes one more,
and the fully resolved config is written into the run folder, so every run says
exactly how it was made. The model's shape is a ``ModelConfig`` (contemo.models);
its resolution is the training image size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from contemo import schema
from contemo.data.facecrop import CROP_MODES
from contemo.errors import ContemoError
from contemo.fileio import read_json
from contemo.hardware import ALIASES, PRECISION_CHOICES
from contemo.models.config import D_NORMS, MODEL_PRESETS, ModelConfig
from contemo.training.augment import parse_ops

LOSSES = ("bce", "hinge")
AUTO = "auto"


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one GAN training run; every field is written to the run's config.json."""

    preset: str = "synth64"  # the preset this config started from (recorded, also names the run)
    model: ModelConfig = field(default_factory=lambda: MODEL_PRESETS["synth64"])  # G/D shape
    data: str = ""  # training set folder (read in place)
    layout: str = "faces"  # how `data` is organised: faces, affectnet, folder, csv, london
    center_crop: bool = False  # centre-crop non-square photos instead of padding/squashing
    # Face-aware framing (contemo.data.facecrop): none (the paper: whole frames), fixed (one
    # box for a studio set, from dlib's median face) or detect (a box per in-the-wild image).
    crop: str = "none"
    crop_scale: float = 1.6  # crop side / dlib face box side
    skip_bad: bool = False  # skip unreadable images instead of stopping at the first
    flip: bool = False  # random horizontal flips; off as in the paper ("no preprocessing")
    batch_size: int = 64  # per process; DDP's global batch is this times the process count
    lr: float = 1e-4  # Adam learning rate for G and D: the paper's 0.0001
    # D's own rate, the pair D's too (0: lr). TTUR (Heusel et al. 2017), as SAGAN and
    # BigGAN run hinge + spectral norm: D at 4x G's rate, one D step per G step.
    lr_d: float = 0.0
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas; DCGAN's beta1 = 0.5 tames oscillation
    steps: int = 0  # optimisation steps to run; 0 means "use epochs"
    epochs: float = 0.0  # passes over the data (the paper: 10,000), used when steps is 0
    # Mode-seeking weight (Mao et al., 2019; gan.py): 0 = the paper's plain loss. Without it
    # G ignored z on 2,052 faces (one face per emotion); 40 gave data-like variety.
    diversity: float = 0.0
    # The image/noise distance ratio above which it stops pushing; 0 = the data's own ratio
    # (mean L1 between two same-emotion images / mean L1 between two noise vectors).
    diversity_cap: float = 0.15
    # The small-data recipe (training/augment.py; docs/training.md has the measurements).
    augment: str = ""  # DiffAugment ops on real and fake before D: color,translation,cutout
    augment_p: float = 1.0  # probability of each op per image (the start value when ada)
    ada: bool = False  # adapt augment_p ADA-style so that E[sign D(real)] stays near 0.6
    loss: str = "bce"  # bce: DCGAN's non-saturating loss (the paper) | hinge (SNGAN/BigGAN)
    r1: float = 0.0  # R1 gradient penalty weight on real images (0: off)
    r1_every: int = 4  # lazy R1: every this many steps, scaled up to match (StyleGAN2)
    # AC-GAN weight (needs model.d_classifier): D's emotion head learns real faces' emotion,
    # G's faces must be read as their label; 0 = off (the paper has no classifier).
    classify: float = 0.0
    # Identity-pair D (training/pairs.py): two photos of one person under two emotions
    # against G's two faces of one z; its G loss weight (0 = off, the paper has none).
    pairs: float = 0.0
    pair_batch: int = 16  # pairs per step (G renders twice as many extra faces)
    # The pair D's normalisation: "" = the main D's (model.d_norm), or batch | spectral.
    # london64 pairs a spectral main D with a BatchNorm pair D: against an all-spectral
    # run, faces found, AUC and the smile rose; identity did not (docs/training.md).
    pair_d_norm: str = ""
    # Matching-aware pair D (Reed et al. 2016's GAN-CLS, for identity): real photos of two
    # *different* people, under the same two emotions, are shown to the pair D as fakes
    # with this weight, so it learns what one person is from real faces before it judges
    # G's; 0 = off.
    pair_mismatch: float = 0.0
    # DiffAugment ops for the pair D (color,translation,cutout), tied within a pair: both
    # faces get the same draws, so a real pair still differs by its expression alone.
    # Without it the pair D memorises London's 102 real pairs (its hinge loss near 0.1
    # by step 3,000). Each op is applied with the main D's probability (augment_p, or
    # ADA's p); "" = off.
    pair_augment: str = ""
    # LeCam regularisation (Tseng et al. 2021, training/lecam.py) with this weight, on the
    # main D and on the pair D, each against the running means of its own outputs: a D
    # cannot push real and fake outputs apart without bound, so it memorises the photos
    # more slowly; it changes nothing D sees. 0 = off; the paper's BigGAN runs used 0.3.
    # Measured on London at 0.3 and 0.03 (rows LC, LC03): not kept, it trades like the rest.
    lecam: float = 0.0
    # Identity contrast (training/identity.py): an encoder learns from the real pairs to
    # match each person's two photos among B people (InfoNCE); G's pairs must be matched
    # the same way, so one z stays one person and different z are different people. Its
    # G loss weight (0 = off; needs pairs > 0, whose G faces it scores).
    identity: float = 0.0
    identity_tau: float = 0.1  # InfoNCE temperature (SimCLR's range: 0.1-0.5)
    # DiffAugment ops on every face E sees, each face its own draws. With colour E cannot
    # tell people apart by brightness alone (rows ID1 and IDC: same person 0.732 -> 0.765,
    # different z matched 0.253 -> 0.209).
    identity_augment: str = "color,translation,cutout"
    # Inner-face D (training/local.py): a second conditional D judges only the window of
    # eyes, nose and mouth, resized to half the resolution; its G loss weight (0 = off).
    local: float = 0.0
    # The window as (centre x, centre y, side), fractions of the frame; the default fits
    # face-aware crops (crop=fixed or detect at crop_scale 1.6): brows to chin.
    local_box: tuple[float, float, float] = (0.5, 0.58, 0.5)
    # Path linearity (training/linearity.py): each identity pair's z is also rendered at a
    # blend of its two labels, and D's emotion head must read it on the straight line
    # between the ends; its G loss weight (0 = off; needs pairs > 0 and classify > 0).
    linearity: float = 0.0
    # Self-supervised D (training/recon.py, FastGAN): decoders redraw each real face, and a
    # random quarter of it, from D's 8x8 and 16x16 maps; the L1 loss's weight in D's
    # objective (0 = off; needs model.resolution >= 64).
    recon: float = 0.0
    # The same for the identity-pair D, whose decoders redraw both faces of a real pair
    # (0 = off; needs pairs > 0).
    pair_recon: float = 0.0
    # With model.g_edit: the weight of the mean edit mask in G's loss, so G changes only
    # what an emotion changes and keeps the rest of its Neutral face (0 = no penalty).
    edit_mask: float = 0.0
    # Label mixing (training/mixing.py): this share of G's faces per step is asked for a
    # blend of two emotions, so the middle of a path is trained too; 0 = off (the paper).
    mix: float = 0.0
    # Class-balanced sampling: each emotion drawn equally often. auto = on when the largest
    # class has more than 3x the images of the smallest (AffectNet: 7,215 happy vs 436 disgust).
    balance: bool | str = AUTO
    min_images: int = 10  # an emotion with fewer images is not learnt: warned about and refused
    ema_decay: float = 0.999  # EMA of G's weights and BN buffers, used for grids and release
    ema_warmup: int = 10  # decay ramps as min(ema_decay, (1+t)/(ema_warmup+t)): early EMA follows G
    bn_batches: int = 8  # batches of random labels that re-estimate the sampling G's BN statistics
    bn_batch_size: int = 256  # size of those batches (large: running stats of the whole population)
    grid_every: int = 500  # write grid-NNNNNN.png every this many steps (0: only the final grid)
    grid_rows: int = 6  # seeds 0..rows-1 down, the 6 emotions across (the paper's Fig. 3)
    checkpoint_every: int = 500  # resumable state every this many steps (and on Ctrl-C/SIGTERM)
    keep_checkpoints: int = 3  # the newest K checkpoints are kept, older ones deleted
    # Also keep every checkpoint whose step is a multiple of this (0: none), so a run can
    # be released and scored at an earlier step afterwards (benchmarks/release_checkpoint.py).
    keep_every: int = 0
    log_every: int = 20  # one stats.jsonl line (means since the last line) every this many steps
    max_loss: float = 1000.0  # a D or G loss above this (or NaN/inf) stops the run: it exploded
    seed: int = 0  # seeds init, data order and noise; same seed + config = same run
    mixed_precision: str = AUTO  # fp32 (or no) | bf16 | fp16 | auto: contemo.hardware decides
    channels_last: bool | str = AUTO  # NHWC memory layout: auto = on for CUDA and CPU fp32
    compile: bool = False  # torch.compile G and D (opt-in: compile time dominates short runs)
    fused_adam: bool | str = AUTO  # fused Adam kernels: auto = on for CUDA
    data_on_device: bool | str = AUTO  # keep the uint8 image cache on the GPU: auto = if it fits
    out: str = "runs"  # parent folder of the numbered run folders

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, what: str) -> None:
            if not ok:
                raise ContemoError(f"train config field {name!r}: {what}, got "
                                   f"{getattr(self, name)!r}")

        for name in ("batch_size", "grid_rows", "keep_checkpoints", "log_every", "bn_batch_size",
                     "min_images", "pair_batch"):
            need(getattr(self, name) >= 1, name, "expected a positive integer")
        for name in ("steps", "grid_every", "checkpoint_every", "bn_batches", "ema_warmup",
                     "keep_every"):
            need(getattr(self, name) >= 0, name, "expected a non-negative integer")
        need(self.lr > 0 and math.isfinite(self.lr), "lr", "expected a positive number")
        need(self.lr_d >= 0 and math.isfinite(self.lr_d), "lr_d", "expected >= 0 (0: lr)")
        need(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "betas",
             "expected two numbers in [0, 1)")
        need(self.epochs >= 0 and math.isfinite(self.epochs), "epochs", "expected >= 0")
        need(0 <= self.ema_decay < 1, "ema_decay", "expected a number in [0, 1)")
        need(self.max_loss > 0, "max_loss", "expected a positive number")
        need(self.diversity >= 0 and math.isfinite(self.diversity), "diversity", "expected >= 0")
        need(self.diversity_cap >= 0, "diversity_cap", "expected >= 0 (0: the data's ratio)")
        need(0 <= self.augment_p <= 1, "augment_p", "expected a probability in [0, 1]")
        need(self.loss in LOSSES, "loss", f"expected one of {', '.join(LOSSES)}")
        need(self.r1 >= 0 and math.isfinite(self.r1), "r1", "expected >= 0")
        need(self.r1_every >= 1, "r1_every", "expected a positive integer")
        need(self.classify >= 0 and math.isfinite(self.classify), "classify", "expected >= 0")
        need(self.pairs >= 0 and math.isfinite(self.pairs), "pairs", "expected >= 0")
        need(self.pair_mismatch >= 0 and math.isfinite(self.pair_mismatch), "pair_mismatch",
             "expected >= 0")
        need(not self.pair_mismatch or self.pairs, "pair_mismatch",
             "needs the pair D: set pairs > 0 too")
        need(self.lecam >= 0 and math.isfinite(self.lecam), "lecam", "expected >= 0")
        need(self.identity >= 0 and math.isfinite(self.identity), "identity", "expected >= 0")
        need(not self.identity or self.pairs, "identity", "needs the pair D: set pairs > 0 too")
        need(self.identity_tau > 0 and math.isfinite(self.identity_tau), "identity_tau",
             "expected a positive number")
        need(self.local >= 0 and math.isfinite(self.local), "local", "expected >= 0")
        need(len(self.local_box) == 3 and all(0 < b <= 1 for b in self.local_box), "local_box",
             "expected three fractions in (0, 1]: centre x, centre y, side")
        need(not self.local or self.model.resolution >= 64, "local",
             "needs model.resolution >= 64 (the window is judged at half the resolution)")
        need(self.recon >= 0 and math.isfinite(self.recon), "recon", "expected >= 0")
        need(not self.recon or self.model.resolution >= 64, "recon",
             "needs model.resolution >= 64 (a quarter of the face is redrawn at 32 px)")
        need(self.pair_recon >= 0 and math.isfinite(self.pair_recon), "pair_recon",
             "expected >= 0")
        need(not self.pair_recon or self.pairs, "pair_recon",
             "needs the pair D: set pairs > 0 too")
        need(not self.pair_recon or self.model.resolution >= 64, "pair_recon",
             "needs model.resolution >= 64 (a quarter of the face is redrawn at 32 px)")
        need(self.edit_mask >= 0 and math.isfinite(self.edit_mask), "edit_mask", "expected >= 0")
        need(not self.edit_mask or self.model.g_edit, "edit_mask",
             "weighs G's edit masks: set model.g_edit=true too")
        need(self.linearity >= 0 and math.isfinite(self.linearity), "linearity", "expected >= 0")
        need(not self.linearity or self.pairs, "linearity", "needs the pair D: set pairs > 0 too")
        need(not self.linearity or self.classify, "linearity",
             "reads the path with D's emotion head: set classify > 0 and "
             "model.d_classifier=true too")
        need(self.pair_d_norm in ("", *D_NORMS), "pair_d_norm",
             f"expected one of {', '.join(D_NORMS)} (empty: model.d_norm)")
        need(0 <= self.mix <= 1, "mix", "expected a share in [0, 1]")
        need(not self.classify or self.model.d_classifier, "classify",
             "needs model.d_classifier=true")
        parse_ops(self.augment)
        parse_ops(self.pair_augment)
        parse_ops(self.identity_augment)
        need(not self.pair_augment or self.pairs, "pair_augment",
             "needs the pair D: set pairs > 0 too")
        need(self.crop in CROP_MODES, "crop", f"expected one of {', '.join(CROP_MODES)}")
        need(0.5 <= self.crop_scale <= 4.0, "crop_scale", "expected a number in [0.5, 4]")
        need(self.mixed_precision in (*PRECISION_CHOICES, *ALIASES), "mixed_precision",
             f"expected one of {', '.join(PRECISION_CHOICES)} (no: fp32)")
        for name in ("channels_last", "fused_adam", "data_on_device", "balance"):
            need(isinstance(getattr(self, name), bool) or getattr(self, name) == AUTO, name,
                 "expected true, false or auto")

    def to_dict(self) -> dict[str, Any]:
        """Return the config as JSON-ready data (the model as its full shape)."""
        data = asdict(self)
        data["betas"] = list(self.betas)
        data["local_box"] = list(self.local_box)
        return data

    def total_steps(self, num_images: int, world_size: int = 1) -> int:
        """Return the number of steps this run trains for on `num_images` images."""
        if self.steps:
            return self.steps
        if not self.epochs:
            raise ContemoError("train config: set steps or epochs (both are 0)")
        per_step = self.batch_size * world_size
        return max(1, math.ceil(self.epochs * num_images / per_step))


# Upper bounds (contemo.schema) where a field's type default (1e9) is not sane; the
# lower bounds and relations are checked in __post_init__. Fields not named here, new
# ones included, still get their type's default bound.
schema.register_bounds(TrainConfig, {
    "batch_size": (1, 65536), "bn_batch_size": (1, 65536), "bn_batches": (0, 10_000),
    "grid_rows": (1, 64), "keep_checkpoints": (1, 10_000), "keep_every": (0, 10**9),
    "epochs": (0, 1e7),
    "lr": (0, 10), "lr_d": (0, 10), "seed": (0, 2**32 - 1), "steps": (0, 10**9),
    "grid_every": (0, 10**9),
    "checkpoint_every": (0, 10**9), "log_every": (1, 10**9), "ema_warmup": (0, 10**9),
    "pair_batch": (1, 65536), "pairs": (0, 1e4), "pair_mismatch": (0, 1e4),
})

# Named runs. configs/<name>.json holds the same settings as a file to copy and edit.
TRAIN_PRESETS: dict[str, TrainConfig] = {
    # The paper (§4.1): FACES (2,052 images) at 256x256, 10,000 epochs, Adam at lr 1e-4.
    "paper256": TrainConfig(
        preset="paper256", model=MODEL_PRESETS["paper256"], layout="faces", batch_size=64,
        lr=1e-4, epochs=10_000, grid_every=5000, checkpoint_every=5000, log_every=100,
        diversity=40.0,
    ),
    # The synthetic set on a 2-core CPU: all 6 emotions recognisable within ~15 minutes.
    "synth64": TrainConfig(
        preset="synth64", model=MODEL_PRESETS["synth64"], layout="faces", batch_size=64,
        lr=2e-4, steps=1500, grid_every=250, checkpoint_every=250, log_every=20,
        diversity=40.0, pairs=1.0,
    ),
    # Real studio photos (the London set, FACES) on a 2-core CPU in under 30 minutes: one
    # fixed face crop for the set, flips, the mode-seeking cap measured from the data, a
    # hinge loss with a spectral-norm D, conditional BatchNorm in G, and the identity-pair
    # D with BatchNorm (docs/training.md, "Real photographs", has the table these
    # defaults were chosen from). A plain 0.999 EMA from step 0 (ema_warmup=0): the
    # default ramp would still be at 0.998 at step 4,500, and the longer average holds
    # the person and the smile better (row EMA-W0); early grids show the young average.
    # Each emotion is a warp of the same z's Neutral face (model.g_warp, mask penalty 3):
    # same person 0.712 -> 0.969 (row GWB); 4,000 steps take 33 min (3 over the budget).
    "london64": TrainConfig(
        preset="london64", model=MODEL_PRESETS["london64"], layout="london", crop="fixed",
        flip=True, batch_size=64, lr=2e-4, steps=4000, grid_every=250, checkpoint_every=250,
        log_every=20, diversity=40.0, diversity_cap=0.0, loss="hinge", pairs=1.0,
        pair_d_norm="batch", ema_warmup=0, edit_mask=3.0,
    ),
    # The same recipe at 128 px with twice the widths, for a GPU.
    "london128": TrainConfig(
        preset="london128", model=MODEL_PRESETS["london128"], layout="london", crop="fixed",
        flip=True, batch_size=64, lr=2e-4, steps=20000, grid_every=1000, checkpoint_every=1000,
        log_every=50, diversity=40.0, diversity_cap=0.0, loss="hinge", pairs=1.0,
        pair_d_norm="batch", ema_warmup=0, edit_mask=3.0,
    ),
    # Tests and smoke runs: a few seconds on one core.
    "tiny": TrainConfig(
        preset="tiny", model=MODEL_PRESETS["tiny"], layout="faces", batch_size=8, steps=20,
        grid_every=10, grid_rows=2, checkpoint_every=10, log_every=1, bn_batches=2,
        bn_batch_size=16, min_images=1,
    ),
}


def get_preset(name: str) -> TrainConfig:
    """Return the named training preset."""
    if name not in TRAIN_PRESETS:
        raise ContemoError(f"unknown preset {name!r}: expected one of {', '.join(TRAIN_PRESETS)}")
    return TRAIN_PRESETS[name]


def apply(base: TrainConfig, changes: dict[str, Any], where: str) -> TrainConfig:
    """Return `base` with `changes` applied; unknown fields and wrong types are one-line errors.

    `changes` are JSON values or command-line text (`--set`); both are checked by
    contemo.schema, the one coercion path of every config. A key ``model.FIELD``
    changes one field of the model shape (``model.g_width=48``), and ``model`` may name
    a model preset instead of giving an object.
    """
    plain = {k: v for k, v in changes.items() if not k.startswith("model.")}
    model_changes = {k[len("model."):]: v for k, v in changes.items() if k.startswith("model.")}
    if isinstance(plain.get("model"), str):
        if plain["model"] not in MODEL_PRESETS:
            raise ContemoError(f"{where}: field 'model': expected a model preset "
                               f"({', '.join(MODEL_PRESETS)}) or an object, got {plain['model']!r}")
        plain["model"] = MODEL_PRESETS[plain["model"]].to_dict()
    values = schema.fields(TrainConfig, schema.parse_text(TrainConfig, plain), where)
    if model_changes:  # in the same replace: fields may depend on the shape (classify)
        model = values.get("model", base.model)
        shape = {**model.to_dict(), **schema.parse_text(ModelConfig, model_changes)}
        values["model"] = ModelConfig.from_dict(shape, f"{where}: field 'model'")
    return replace(base, **values)


def load_file(path: str | Path) -> TrainConfig:
    """Return the config in a JSON file; its optional "preset" field names the base settings."""
    file = Path(path)
    if not file.is_file():
        raise ContemoError(f"{file}: config file not found")
    data = read_json(file, allow_nan=False)
    if not isinstance(data, dict):
        raise ContemoError(f"{file}: expected a JSON object of config fields")
    base = get_preset(str(data["preset"])) if "preset" in data else TrainConfig()
    return apply(base, data, str(file))


def parse_sets(items: list[str]) -> dict[str, str]:
    """Return the `key=value` overrides of --set as a dict (one-line error on a malformed one)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ContemoError(f"--set {item!r}: expected key=value, e.g. --set lr=2e-4")
        out[key.strip()] = value
    return out

"""ModelConfig: the shape of the cGAN (resolution, noise size, widths), with named presets.

The config travels with every checkpoint (``config.json``), so a generator can be
rebuilt from its folder alone. Only shape goes here; optimisation settings live in
``contemo.training.config``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from contemo import schema
from contemo.emotions import NUM_EMOTIONS
from contemo.errors import ContemoError

RESOLUTIONS = (32, 64, 128, 256)  # 4x4 start doubled 3..6 times; DCGAN's shape at every size
INT_FIELDS = ("resolution", "z_dim", "num_labels", "label_dim", "g_width", "d_width",
              "max_width_mult")
D_NORMS = ("batch", "spectral")
G_NORMS = ("batch", "conditional")
G_UPSAMPLES = ("transposed", "nearest")


@dataclass(frozen=True)
class ModelConfig:
    """Shape of generator and discriminator; every field is saved with the weights."""

    resolution: int = 64  # output side in pixels: one of RESOLUTIONS (paper: 256)
    z_dim: int = 100  # noise size; DCGAN's and the paper's 100
    num_labels: int = NUM_EMOTIONS  # conditioning vector length (the paper's v, Eq. 1)
    label_dim: int = 64  # the label vector goes through a Linear to this size (blends just work)
    g_width: int = 64  # DCGAN's ngf: generator channels at the last block before RGB
    d_width: int = 64  # DCGAN's ndf: discriminator channels at the first block
    max_width_mult: int = 8  # channels at low resolution are capped at width * this (DCGAN: 8)
    # D's normalisation: batch (DCGAN) | spectral (Miyato et al. 2018: spectral norm on every
    # layer, no BatchNorm; a Lipschitz D that overfits a small set more slowly). G is unchanged.
    d_norm: str = "batch"
    # An auxiliary emotion classifier on D's pooled features (AC-GAN, Odena et al. 2017): D
    # learns the emotion of real faces, G is rewarded when its faces are read as their label.
    d_classifier: bool = False
    # G's normalisation: batch (DCGAN: the label enters once, beside z) | conditional
    # (de Vries et al. 2017, as in SNGAN/BigGAN's cGANs: every BatchNorm's gain and bias
    # are linear in v, so the label shapes every scale and z is left to carry the person).
    g_norm: str = "batch"
    # Where the label first reaches G. 0: beside z at the input, as in the paper (and, with
    # conditional BatchNorm, at every block too). A resolution (4, 8, ...): only through the
    # conditional BatchNorm of the blocks at that size and above, so the coarser layout
    # (pose, face shape, hair) is z's alone and one z keeps its person across emotions.
    label_from: int = 0
    # The last resolution whose conditional BatchNorm sees the label. 0: every block from
    # label_from on. A resolution (4, 8, ...): the finer blocks use plain BatchNorm, so the
    # fine detail a face recognizer reads (skin, the eyes' and nose's edges) is drawn
    # from the same features whatever the emotion, and the label moves the coarser shape.
    label_until: int = 0
    # How G doubles its feature maps: transposed (DCGAN: 4x4 stride-2 transposed convs) |
    # nearest (Odena et al. 2016: nearest-neighbour 2x resize, then a 3x3 conv), which cannot
    # make the checkerboard of overlapping transposed kernels, the speckle seen on London.
    g_upsample: str = "transposed"
    # G draws each face as an edit of the same z's Neutral face (GANimation's attention,
    # Pumarola et al. 2018): one pass renders z under v and under one-hot Neutral, and
    # face = (1 - m) * neutral + m * colour, with colour and a mask m in [0, 1] drawn under
    # v. Where m is 0 every emotion shows the very pixels of the person's Neutral face, so
    # a path keeps its person by construction; `edit_mask` (training) keeps m small.
    g_edit: bool = False
    # With g_edit: the emotion's face is first its Neutral face moved along a smooth flow
    # field drawn under v (models/warp.py), and the mask blends new colour over *that*, so
    # what an emotion moves (mouth, cheeks, brows) keeps the person's own pixels.
    g_warp: bool = False

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            above = [r for r in RESOLUTIONS if r >= self.resolution]
            hint = f"; train at {above[0]} and smaller images are upscaled to it" if above else ""
            raise ContemoError(
                f"resolution {self.resolution}: expected one of "
                f"{', '.join(map(str, RESOLUTIONS))}{hint}"
            )
        for name in INT_FIELDS:
            if int(getattr(self, name)) < 1:
                raise ContemoError(f"model config {name} must be a positive integer")
        for name, choices in (("d_norm", D_NORMS), ("g_norm", G_NORMS),
                              ("g_upsample", G_UPSAMPLES)):
            if getattr(self, name) not in choices:
                raise ContemoError(f"model config {name} {getattr(self, name)!r}: expected one "
                                   f"of {', '.join(choices)}")
        self._check_label_block("label_from", "the input",
                                "it is the only other way in for the label")
        self._check_label_block("label_until", "every block",
                                "it limits the conditional BatchNorm")
        if self.g_warp and not self.g_edit:
            raise ContemoError("model config g_warp warps the edit generator's Neutral face: "
                               "set g_edit=true too")
        if self.label_until and self.label_until < self.label_from:
            raise ContemoError(f"model config label_until {self.label_until}: expected at "
                               f"least label_from ({self.label_from})")

    def _check_label_block(self, name: str, zero: str, why: str) -> None:
        """Raise a one-line error unless field `name` (label_from, label_until) is 0 (meaning
        `zero`) or one of G's block sizes, with conditional BatchNorm (`why` it needs it)."""
        size = getattr(self, name)
        if not size:
            return
        if size not in self.block_sizes:
            raise ContemoError(f"model config {name} {size}: expected 0 ({zero}) or one of "
                               f"{', '.join(map(str, self.block_sizes))}")
        if self.g_norm != "conditional":
            raise ContemoError(f"model config {name} {size} needs g_norm=conditional: {why}")

    @property
    def num_blocks(self) -> int:
        """Return how many 2x up-samplings lead from 4x4 to the resolution."""
        return self.resolution.bit_length() - 3  # log2(resolution / 4)

    @property
    def block_sizes(self) -> list[int]:
        """Return the side of G's feature maps at each block: 4, 8, ..., resolution / 2."""
        return [4 * 2**i for i in range(self.num_blocks)]

    def to_dict(self) -> dict[str, Any]:
        """Return the config as plain JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "model config") -> ModelConfig:
        """Return a config from JSON data; an unknown, mistyped or out-of-bounds field is one line.

        Types come from the field annotations and bounds from MODEL_BOUNDS
        (contemo.schema), so a hostile `g_width: 1e6` is refused before any layer exists.
        """
        if not isinstance(data, dict):
            raise ContemoError(f"{where}: expected an object of model fields")
        return schema.build(cls, data, where)


# Sane ranges of the shape's fields. A layer is width * max_width_mult channels wide, so
# these keep the largest model near a few GB of weights; the paper uses 64 and 8.
MODEL_BOUNDS = {
    "z_dim": (1, 4096), "num_labels": (1, 64), "label_dim": (1, 4096),
    "g_width": (1, 1024), "d_width": (1, 1024), "max_width_mult": (1, 32),
    "label_from": (0, 1024), "label_until": (0, 1024),
}
schema.register_bounds(ModelConfig, MODEL_BOUNDS)

# Named shapes. Training presets (contemo.training.config) pick one of these.
MODEL_PRESETS: dict[str, ModelConfig] = {
    "paper256": ModelConfig(resolution=256),  # the paper: 256x256, DCGAN widths
    "synth64": ModelConfig(resolution=64, g_width=32, d_width=32),  # 2-core CPU in minutes
    # real photos, 2-core CPU / one GPU: spectral-norm D, conditional BatchNorm in G, and
    # each emotion drawn as a warp of its z's Neutral face (g_edit + g_warp: the person stays)
    "london64": ModelConfig(resolution=64, g_width=32, d_width=32, d_norm="spectral",
                            g_norm="conditional", g_edit=True, g_warp=True),
    "london128": ModelConfig(resolution=128, g_width=64, d_width=64, d_norm="spectral",
                             g_norm="conditional", g_edit=True, g_warp=True),
    "tiny": ModelConfig(resolution=32, z_dim=16, label_dim=8, g_width=8, d_width=8),  # tests
}

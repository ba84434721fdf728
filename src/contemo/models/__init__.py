"""Networks: the conditional DCGAN, its configs, the VA regressor, their release format, dlib identity.

Inference code imports from here and from contemo.generation; nothing in this
package imports training code.
"""

from contemo.models.config import MODEL_PRESETS, RESOLUTIONS, ModelConfig
from contemo.models.dcgan import Discriminator, Generator
from contemo.models.pretrained import default_checkpoint, from_pretrained
from contemo.models.release import save_pretrained

__all__ = [
    "MODEL_PRESETS",
    "RESOLUTIONS",
    "Discriminator",
    "Generator",
    "ModelConfig",
    "default_checkpoint",
    "from_pretrained",
    "save_pretrained",
]

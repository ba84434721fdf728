"""Synthetic faces with known ground truth: the FACES-like default training set and a VA set.

FACES and AffectNet cannot ship with contemo, so it renders its own stand-in.
A face is parametric: an `Identity` (shape, colouring, hair, age cues) and an
expression given as FACS action units (`actions.PROTOTYPES`: the EMFACS
prototype of each emotion). `render` draws one photo; `make_faces_set` writes
the FACES layout, `make_continuous_set` an AffectNet-style set of random
expression blends whose valence/arousal is the blend of the VA anchors.
"""

from contemo.data.synth.actions import AU_NAMES, PROTOTYPES, blend, prototype
from contemo.data.synth.identity import Identity, faces_roster, sample_identity
from contemo.data.synth.render import Jitter, render, sample_jitter
from contemo.data.synth.sets import GENERATOR_VERSION, make_continuous_set, make_faces_set

__all__ = [
    "AU_NAMES", "GENERATOR_VERSION", "PROTOTYPES", "Identity", "Jitter", "blend",
    "faces_roster", "make_continuous_set", "make_faces_set", "prototype", "render",
    "sample_identity", "sample_jitter",
]

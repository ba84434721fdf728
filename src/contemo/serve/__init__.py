"""The web app: the valence-arousal explorer + JSON API, and the paper's user study (§4.2).

Imports inference code only (contemo.generation, contemo.models, contemo.labels)
and contemo.data for reading real study images; never training code.
"""

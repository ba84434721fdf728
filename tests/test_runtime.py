"""One runtime vocabulary: every command's --device and --precision, and contemo.hardware."""

from __future__ import annotations

import argparse

import pytest
import torch

from contemo import hardware
from contemo.cli import COMMANDS, build_parser
from contemo.errors import ContemoError

# Commands that run a torch model; each must take --device (demo, generate, train, ...).
RUNS_A_MODEL = {("demo",), ("train",), ("generate",), ("regressor", "train"),
                ("evaluate", "sweep"), ("evaluate", "quality"), ("evaluate", "judge"),
                ("evaluate", "identity"), ("evaluate", "targeting"), ("serve",)}


def _subparsers() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Return each command's own parser, keyed by its words."""
    out = {}
    top = build_parser()
    for words, _ in COMMANDS:
        parser = top
        for word in words:
            action = next(a for a in parser._actions
                          if isinstance(a, argparse._SubParsersAction))
            parser = action.choices[word]
        out[words] = parser
    return out


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return next((a for a in parser._actions if flag in a.option_strings), None)


def test_every_model_command_has_the_same_device_flag():
    parsers = _subparsers()
    reference = _option(parsers[("generate",)], "--device")
    for words in RUNS_A_MODEL:
        device = _option(parsers[words], "--device")
        assert device is not None, words
        assert (device.default, device.help, device.metavar) == (
            "auto", reference.help, reference.metavar), words


def test_every_precision_flag_speaks_one_vocabulary():
    parsers = _subparsers()
    found = {words: _option(p, "--precision") for words, p in parsers.items()}
    found = {words: action for words, action in found.items() if action is not None}
    assert {("generate",), ("demo",), ("evaluate", "sweep"),
            ("evaluate", "targeting")} <= set(found)
    for words, action in found.items():
        assert tuple(action.choices) == hardware.PRECISION_CHOICES, words
        assert action.default in hardware.PRECISION_CHOICES, words


def test_train_keeps_cpu_as_an_alias_of_device_cpu():
    from contemo.commands.train import train_device

    parser = _subparsers()[("train",)]
    assert train_device(parser.parse_args(["--cpu"])) == "cpu"
    assert train_device(parser.parse_args(["--device", "cpu"])) == "cpu"
    assert train_device(parser.parse_args([])) == "auto"
    with pytest.raises(ContemoError, match="--cpu and --device cuda conflict"):
        train_device(parser.parse_args(["--cpu", "--device", "cuda"]))


def test_auto_precision_follows_the_hardware(monkeypatch):
    for native in (True, False):
        monkeypatch.setattr(hardware, "cpu_has_bf16", lambda native=native: native)
        expected = "bf16" if native else "fp32"
        assert hardware.resolve_precision("auto", "cpu") == expected
        assert hardware.resolve_precision("auto", "cpu", training=True) == expected
        assert hardware.auto_precision("cpu") == expected
    assert hardware.resolve_precision("no", "cpu") == "fp32"  # Accelerate's spelling
    assert hardware.resolve_precision("fp16", "cpu") == "fp16"  # inference autocast allows it
    assert hardware.accelerate_precision("fp32") == "no"
    assert hardware.accelerate_precision("bf16") == "bf16"


@pytest.mark.parametrize("call, message", [
    (lambda: hardware.resolve_precision("fp8", "cpu"), "--precision 'fp8': expected one of"),
    (lambda: hardware.resolve_precision("fp16", "cpu", training=True, where="mixed_precision"),
     "mixed_precision fp16 needs a CUDA GPU"),
    (lambda: hardware.resolve_device("tpu9"), "--device 'tpu9': expected auto, cpu"),
    (lambda: hardware.resolve_device("meta"), "--device 'meta': expected auto, cpu"),
])
def test_bad_runtime_values_are_one_line(call, message):
    with pytest.raises(ContemoError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_cuda_without_cuda_is_refused():
    with pytest.raises(ContemoError, match="CUDA is not available"):
        hardware.resolve_device("cuda:0")


def test_autocast_is_off_for_fp32_and_on_otherwise():
    x = torch.ones(2, 2)
    with hardware.autocast("fp32", "cpu"):
        assert (x @ x).dtype == torch.float32
    with hardware.autocast("bf16", "cpu"):
        assert (x @ x).dtype == torch.bfloat16


def test_the_pipeline_resolves_auto_itself(monkeypatch, tmp_path):
    from contemo.generation.pipeline import EmotionPipeline
    from contemo.models.config import MODEL_PRESETS
    from contemo.models.dcgan import Generator

    monkeypatch.setattr(hardware, "cpu_has_bf16", lambda: False)
    pipe = EmotionPipeline(Generator(MODEL_PRESETS["tiny"]), precision="auto")
    assert pipe.precision == "fp32"
    with pytest.raises(ContemoError, match="expected one of auto, fp32, bf16, fp16"):
        EmotionPipeline(Generator(MODEL_PRESETS["tiny"]), precision="half")

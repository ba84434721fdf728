"""The identity-pair term: which photos pair up, the pair D's shape, and resumable training."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from data_fixtures import make_folder, make_london

from contemo.cli import main
from contemo.models import Discriminator
from contemo.models.config import MODEL_PRESETS
from contemo.training.data import person_ids, person_pairs
from contemo.training.pairs import stack_pairs

FP32 = ["--set", "mixed_precision=no"]


def train(data: Path, out: Path, *extra: str) -> int:
    return main(["train", "--preset", "tiny", "--data", str(data), "--out", str(out), *FP32,
                 *extra])


def test_person_pairs_join_one_person_across_emotions_only():
    persons = torch.tensor([0, 0, 1, 1, -1, -1, 2])
    labels = torch.eye(6)[[0, 5, 5, 0, 0, 5, 1]]
    pairs = person_pairs(persons, labels).tolist()
    # person 0: (neutral 0, happy 1); person 1: (neutral 3, happy 2); unknown people never pair,
    # and a person with one photo has no pair
    assert sorted(pairs) == [[0, 1], [3, 2]]
    assert person_pairs(None, labels).shape == (0, 2)


def test_person_ids_number_people_in_order_of_first_appearance():
    class Record:
        def __init__(self, person):
            self.meta = {"person": person} if person is not None else {}

    ids = person_ids([Record("066"), Record("012"), Record(None), Record("066")])
    assert ids.tolist() == [0, 1, -1, 0]


def test_pair_discriminator_reads_two_stacked_faces_under_both_labels():
    d = Discriminator(MODEL_PRESETS["tiny"], images=2)
    size = MODEL_PRESETS["tiny"].resolution
    fakes = torch.randn(8, 3, size, size)  # 4 first faces, then their 4 second faces
    pairs = stack_pairs(fakes)
    assert pairs.shape == (4, 6, size, size)
    assert torch.equal(pairs[1, 3:], fakes[5])
    assert d(pairs, torch.rand(4, 12)).shape == (4,)
    assert d.classifier is None


def test_pairs_train_log_and_resume_exactly(tmp_path):
    data = make_london(tmp_path / "london", people=4)
    extra = ["--layout", "london", "--set", "pairs=1", "--set", "pair_batch=3",
             "--set", "flip=true"]
    assert train(data, tmp_path / "a", "--steps", "4", *extra) == 0
    (run,) = [p for p in (tmp_path / "a").iterdir() if p.is_dir()]
    stats = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert all(s["pair_d"] > 0 and s["pair_g"] > 0 for s in stats)
    meta = json.loads((run / "generator" / "config.json").read_text())
    assert meta["training"]["identity_pairs"] == 4  # one (neutral, smiling) pair per person
    assert train(data, tmp_path / "b", "--steps", "2", *extra) == 0
    (run_b,) = [p for p in (tmp_path / "b").iterdir() if p.is_dir()]
    assert main(["train", "--resume", str(run_b), "--steps", "4"]) == 0
    from safetensors.torch import load_file
    a = load_file(str(run / "generator" / "generator.safetensors"))
    b = load_file(str(run_b / "generator" / "generator.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_pairs_on_data_without_people_is_one_line(tmp_path, capsys):
    folder = make_folder(tmp_path / "folder")  # the folder layout names nobody
    code = train(folder, tmp_path / "out", "--layout", "folder", "--steps", "1",
                 "--set", "pairs=1", "--set", "min_images=1", "--batch-size", "4")
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("contemo: error: pairs=1 needs photos of one person")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_mix_labels_blends_a_share_towards_another_trained_emotion():
    from contemo.training.mixing import mix_labels

    labels = torch.eye(6)[[0, 5] * 8]  # neutral, happy, ...
    out = mix_labels(labels, 0.5, [0, 5], torch.Generator().manual_seed(0))
    assert torch.equal(out[8:], labels[8:])  # only the first half is blended
    assert torch.allclose(out.sum(dim=1), torch.ones(16))
    mixed = out[:8]
    assert ((mixed[:, 0] > 0) & (mixed[:, 5] > 0)).sum() >= 7  # between neutral and happy
    assert mixed[:, 1:5].abs().sum() == 0  # never towards an untrained emotion
    own = labels[:8].argmax(dim=1)
    assert torch.all(mixed[torch.arange(8), own] >= 0)


def test_mixed_training_resumes_exactly(tmp_path):
    data = make_london(tmp_path / "london", people=4)
    extra = ["--layout", "london", "--set", "mix=0.5", "--set", "diversity=5"]
    assert_resume_is_exact(data, tmp_path, extra)


def run_keys_and_stats(out: Path) -> tuple[list[str], list[str]]:
    """Return the tensor names of the newest checkpoint of the one run under `out`, and
    the lines of its stats.jsonl (what a switch's test checks it saved and logged)."""
    from safetensors import safe_open

    (run,) = [p for p in out.iterdir() if p.is_dir()]
    with safe_open(str(max((run / "checkpoints").glob("*.safetensors"))), "pt") as f:
        keys = list(f.keys())
    return keys, [line for line in (run / "stats.jsonl").read_text().splitlines() if line]


def london_switch_run(tmp_path: Path, extra: list[str], prefix: str, stat: str
                      ) -> tuple[Path, list[str]]:
    """Check a 64 px London run whose last two arguments turn a switch on: exact resume, a G
    unlike the run without it, its parts saved under `prefix` with their optimiser
    (`opt` + prefix), and `stat` in every stats line. Return (the data, the stats lines)."""
    data = make_london(tmp_path / "london", people=4)
    assert_switch_resumes_exactly_and_changes_g(
        data, tmp_path, ["--layout", "london", "--set", "model.resolution=64", *extra])
    keys, rows = run_keys_and_stats(tmp_path / "a")
    assert any(k.startswith(f"{prefix}.") for k in keys), keys
    assert any(k.startswith(f"opt{prefix}") for k in keys), keys
    assert rows and all(f'"{stat}"' in r for r in rows)
    return data, rows


def assert_refused_in_one_line(data: Path, out: Path, capsys, cases: list[tuple[list[str], str]]
                               ) -> None:
    """Assert that a 1-step London run with each case's arguments stops with exit 2 and one
    line of error naming the case's field."""
    for arguments, field in cases:
        capsys.readouterr()
        assert train(data, out, "--steps", "1", "--layout", "london", *arguments) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and field in err[0], err


def assert_resume_is_exact(data: Path, tmp_path: Path, extra: list[str]) -> dict:
    """Train 4 steps, and 2 steps resumed to 4; assert equal generators; return the first."""
    from safetensors.torch import load_file

    assert train(data, tmp_path / "a", "--steps", "4", *extra) == 0
    assert train(data, tmp_path / "b", "--steps", "2", *extra) == 0
    (run,) = [p for p in (tmp_path / "a").iterdir() if p.is_dir()]
    (run_b,) = [p for p in (tmp_path / "b").iterdir() if p.is_dir()]
    assert main(["train", "--resume", str(run_b), "--steps", "4"]) == 0
    a = load_file(str(run / "generator" / "generator.safetensors"))
    b = load_file(str(run_b / "generator" / "generator.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    return a


def test_pair_d_can_keep_batchnorm_beside_a_spectral_main_d(tmp_path, capsys):
    data = make_london(tmp_path / "london", people=4)
    extra = ["--layout", "london", "--set", "pairs=1", "--set", "pair_batch=3",
             "--set", "model.d_norm=spectral", "--set", "loss=hinge"]
    assert train(data, tmp_path / "a", "--steps", "2", *extra, "--set", "pair_d_norm=batch") == 0
    (run,) = [p for p in (tmp_path / "a").iterdir() if p.is_dir()]
    from safetensors import safe_open
    (ckpt,) = (run / "checkpoints").glob("*.safetensors")
    with safe_open(str(ckpt), "pt") as f:
        keys = list(f.keys())
    assert any(k.startswith("P.") and k.endswith("running_mean") for k in keys)
    assert any(k.startswith("D.") and "parametrizations" in k for k in keys)
    assert not any(k.startswith("D.") and k.endswith("running_mean") for k in keys)
    capsys.readouterr()  # the first run's progress bars
    assert train(data, tmp_path / "b", "--steps", "2", *extra, "--set", "pair_d_norm=layer") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pair_d_norm" in err[0] and "got 'layer'" in err[0]


def test_mismatched_pairs_are_two_real_people_in_the_real_pairs_emotion_order():
    from contemo.training.pairs import PairSampler

    persons = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    labels = torch.eye(6)[[0, 5] * 4]
    images = torch.arange(8, dtype=torch.uint8)[:, None, None, None].expand(8, 3, 4, 4)
    pairs = person_pairs(persons, labels)
    sampler = PairSampler(images.contiguous(), labels, pairs, 32, 4, 0, 0, True,
                          torch.device("cpu"), False, persons)
    real, pair_labels = sampler.mismatched(7)
    assert 0 < len(real) <= 32 and real.shape[1:] == (6, 4, 4)
    first, second = (((real[:, k, 0, 0] + 1) * 127.5).round().long() for k in (0, 3))
    assert torch.all(persons[first] != persons[second])  # never one person
    assert torch.all(pair_labels[:, 0] == 1) and torch.all(pair_labels[:, 11] == 1)
    again, _ = sampler.mismatched(7)
    assert torch.equal(real, again)  # (seed, rank, step) decide the draw
    before = sampler.batch(7)
    assert all(torch.equal(a, b) for a, b in zip(before, sampler.batch(7), strict=True))


def assert_switch_resumes_exactly_and_changes_g(data: Path, tmp_path: Path, extra: list[str]
                                                ) -> dict:
    """Check a run whose last two arguments (`--set name=value`) turn a switch on: exact
    resume, and a G unlike the same run without the switch. Return the G tensors."""
    from safetensors.torch import load_file

    a = assert_resume_is_exact(data, tmp_path, extra)
    assert train(data, tmp_path / "d", "--steps", "4", *extra[:-2]) == 0  # the switch off
    (run_d,) = [p for p in (tmp_path / "d").iterdir() if p.is_dir()]
    d = load_file(str(run_d / "generator" / "generator.safetensors"))
    assert not all(torch.equal(a[k], d[k]) for k in a)  # the switch reached G
    return a


def assert_pair_switch_reaches_g_and_needs_the_pair_d(tmp_path: Path, capsys, switch: str
                                                      ) -> tuple[Path, list[str]]:
    """Check a pair-D switch (`name=value`): exact resume, a G unlike the run without it,
    and a one-line refusal without `pairs`. Return the data and the run's arguments."""
    data = make_london(tmp_path / "london", people=4)
    extra = ["--layout", "london", "--set", "pairs=1", "--set", "pair_batch=3", "--set", switch]
    assert_switch_resumes_exactly_and_changes_g(data, tmp_path, extra)
    capsys.readouterr()
    assert train(data, tmp_path / "c", "--steps", "2", "--layout", "london", "--set", switch) == 2
    err = capsys.readouterr().err.strip().splitlines()
    name = switch.partition("=")[0]
    assert len(err) == 1 and name in err[0] and "pairs > 0" in err[0]
    return data, extra


def test_mismatch_trains_resumes_exactly_and_needs_the_pair_d(tmp_path, capsys):
    assert_pair_switch_reaches_g_and_needs_the_pair_d(tmp_path, capsys, "pair_mismatch=1")


def test_pair_augmentation_moves_both_faces_of_a_pair_alike():
    from contemo.training.augment import augment
    from contemo.training.pairs import augment_pairs

    torch.manual_seed(0)
    face = torch.rand(8, 3, 16, 16) * 2 - 1
    pairs = torch.cat([face, face], dim=1)  # each pair: one face twice
    ops = ("color", "translation", "cutout")
    out = augment_pairs(pairs, ops, 1.0, torch.Generator().manual_seed(3))
    assert out.shape == pairs.shape and not torch.equal(out, pairs)
    assert torch.equal(out[:, :3], out[:, 3:])  # the same draws for both halves
    assert not torch.equal(out[0, :3], out[1, :3])  # but each pair its own
    # untied, the halves of a pair would part ways
    loose = augment(torch.cat([face, face]), ops, 1.0, torch.Generator().manual_seed(3))
    assert not torch.equal(loose[:8], loose[8:])
    # tied=1 is the plain call: runs without pair_augment draw exactly as before
    plain = augment(face, ops, 1.0, torch.Generator().manual_seed(5))
    assert torch.equal(plain, augment(face, ops, 1.0, torch.Generator().manual_seed(5), tied=1))
    assert torch.equal(augment_pairs(pairs, (), 1.0, torch.Generator()), pairs)


def test_pair_augment_trains_resumes_exactly_and_needs_the_pair_d(tmp_path, capsys):
    data, extra = assert_pair_switch_reaches_g_and_needs_the_pair_d(
        tmp_path, capsys, "pair_augment=translation,cutout")
    assert train(data, tmp_path / "e", "--steps", "2", *extra[:-1], "pair_augment=blur") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "blur" in err[0]

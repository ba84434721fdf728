"""Judge check: port vs Keras agreement per input group, London AUC by crop, judge throughput.

Run: `python benchmarks/judge_port_check.py [--london DIR] [--judge-weights FILE]`. Prints
the tables and writes benchmarks/results/judge_port_check.json.

1. The PyTorch port against the original Keras model's softmax outputs stored in
   tests/fixtures/judge/reference.npz (made by make_reference.py under TensorFlow):
   max |softmax difference| and top-1 agreement on drawn faces, random inputs,
   contemo's synthetic faces and every London face (102 neutral + 102 smiling; recomputed from the files).
2. The judge's ROC AUC of P(happy) for smiling vs neutral London faces, by the
   central-square crop the judge looks at (the face fills about the central half).
3. contemo's synthetic faces: how often the judge names the rendered expression.
4. Scoring speed on 64x64 RGB batches (CPU unless --device), best of 7, against the
   same network in PyTorch's default NCHW layout (the judge runs channels_last).
"""

from __future__ import annotations

import argparse
import copy
import os
from pathlib import Path

import numpy as np
import torch
from harness import print_table, timed, write_result

from contemo.emotions import FER2013_CLASSES
from contemo.judge.model import Judge
from contemo.judge.port_check import compare
from contemo.judge.scores import rank_auc, score_folder

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "fixtures" / "judge" / "reference.npz"
CROPS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4)


def london_auc_by_crop(judge: Judge, london: Path) -> list[dict]:
    """Return, per crop fraction, the happy-vs-neutral AUC and accuracy on the London set."""
    out = []
    happy = FER2013_CLASSES.index("happy")
    for crop in CROPS:
        result = score_folder(Judge(judge.net, judge.weights, crop), london, "london")
        is_happy = np.array([t == "happy" for t in result.truth])
        truth = np.array([FER2013_CLASSES.index(t) for t in result.truth])
        out.append({"crop": crop, "images": len(truth),
                    "auc_happy_vs_neutral": rank_auc(result.probs[:, happy], is_happy),
                    "accuracy": float((result.probs.argmax(1) == truth).mean())})
    return out


def synth_recognition(judge: Judge) -> dict | None:
    """Return how often the judge names the expression contemo's renderer drew (synth group)."""
    ref = np.load(REFERENCE)
    if "synth_labels" not in ref.files:
        return None
    probs = judge.score_grey_uint8(torch.from_numpy(ref["synth_inputs"]))["probs"].numpy()
    labels = [str(x) for x in ref["synth_labels"]]
    predicted = [FER2013_CLASSES[k] for k in probs.argmax(1)]
    per = {e: float(np.mean([p == e for p, t in zip(predicted, labels) if t == e]))
           for e in dict.fromkeys(labels)}
    return {"images": len(labels), "accuracy": float(np.mean(np.array(predicted) == labels)),
            "recall": per, "judged": [{"rendered": t, "judged": p} for t, p in zip(labels, predicted)]}


def throughput(judge: Judge, batch: int = 256) -> dict:
    """Return images/s of judge.score on 64x64 RGB batches, and of the plain NCHW network."""
    images = torch.rand(batch, 3, 64, 64, device=judge.device) * 2 - 1
    ours = timed(lambda: judge.score(images), repeat=7, sync=judge.device.type == "cuda")
    grey = judge.preprocess(images).contiguous()  # baseline: the same net in default NCHW
    plain = copy.deepcopy(judge.net).to(memory_format=torch.contiguous_format)
    with torch.inference_mode():
        baseline = timed(lambda: plain(grey), repeat=7, sync=judge.device.type == "cuda")
    return {"batch": batch, "images_per_second": batch / ours,
            "nchw_network_only_images_per_second": batch / baseline,
            "device": str(judge.device), "torch_threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--london", default=os.environ.get(
        "CONTEMO_LONDON_FACES", str(ROOT.parent / "shared" / "data" / "london-faces")))
    parser.add_argument("--judge-weights", default=None)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if not Path(args.london).is_dir() and Path("/work/shared/data/london-faces").is_dir():
        args.london = "/work/shared/data/london-faces"
    judge = Judge.from_file(args.judge_weights)
    london = Path(args.london) if Path(args.london).is_dir() else None

    port = compare(REFERENCE, judge, london)
    print("PyTorch port vs Keras (softmax):")
    print_table([{"group": g, **v} for g, v in port.items()],
                ["group", "n", "max_abs_diff", "top1_agreement"])
    auc = london_auc_by_crop(judge, london) if london else []
    if auc:
        print("\nLondon set, smiling vs neutral, by central crop:")
        print_table(auc, ["crop", "images", "auc_happy_vs_neutral", "accuracy"])
    else:
        print("\nLondon set not found: AUC skipped (pass --london DIR)")
    synth = synth_recognition(judge)
    if synth:
        print(f"\ncontemo's synthetic faces (64 px): the judge names the rendered expression "
              f"for {synth['accuracy']:.0%} of {synth['images']}")
        print_table([{"rendered": e, "recall": r} for e, r in synth["recall"].items()],
                    ["rendered", "recall"])
    speed = throughput(judge.to(args.device))
    print(f"\nscoring speed: {speed['images_per_second']:.0f} images/s with preprocessing "
          f"(channels_last), vs {speed['nchw_network_only_images_per_second']:.0f} images/s "
          f"for the NCHW network alone (batch {speed['batch']}, {speed['device']}, "
          f"{speed['torch_threads']} threads; shared machine)")
    ref = np.load(REFERENCE)
    path = write_result("judge_port_check", {
        "port": port, "london_auc_by_crop": auc, "synth_recognition": synth,
        "london": str(london) if london else None, "throughput": speed,
        "reference": {"tensorflow": str(ref["tensorflow_version"]),
                      "keras": str(ref["keras_version"]),
                      "weights_sha256": str(ref["weights_sha256"])},
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Generate faces for chosen emotion labels: a labelled grid, the images, a manifest, a GIF.

One row per seed (a seed is one identity: the noise z stays fixed along the row),
one column per label vector. Images go to OUT/images/, their labels and VA to
OUT/manifest.csv (a csv-layout data set), the grid to OUT/grid.png, the resolved
options to OUT/generate.json.
"""

from __future__ import annotations

import argparse

from contemo.commands.options import add_figure_arguments, add_generator_arguments, load_pipeline

EXAMPLES = """\
  contemo generate --emotion happy --steps 11 --seeds 0-7 --out out/happy
  contemo generate --from sad --to happy --seeds 0-3 --out out/sad-happy --gif
  contemo generate --label 0.2,0,0,0,0,0.8 --seeds 0-15 --out out/mostly-happy
  contemo generate --label "1,0,0,0,0,0;0.5,0,0,0,0,0.5" --seeds 3 --out out/two
  contemo generate --all-emotions --seeds 0-7 --out out/fig3
  contemo generate --emotion fear --seeds 0-999 --grid-rows 16 --out data/fear-continuum
"""

SEED_LIMIT = 1_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    from contemo.generation import label_options

    which = parser.add_argument_group("labels (give exactly one source)")
    label_options.declare(which)
    parser.add_argument("--seeds", default="0-7",
                        help="one face per seed, e.g. 0-7, 3,5,9 or 0-3,10 (default 0-7)")
    add_generator_arguments(parser)
    parser.add_argument("--out", default="out/generate", metavar="DIR",
                        help="output folder (default: out/generate/)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier job's images and manifest in OUT")
    parser.add_argument("--grid-rows", type=int, default=32, metavar="N",
                        help="seeds shown in grid.png (default 32; 0: no grid)")
    parser.add_argument("--strips", action="store_true",
                        help="also write one labelled strip per seed: OUT/strips/seed0003.png")
    add_figure_arguments(parser)
    gif = parser.add_argument_group("animated transition")
    gif.add_argument("--gif", action="store_true",
                     help="also write OUT/transition.gif: the first seeds moving along the labels")
    gif.add_argument("--gif-mode", default="pingpong", choices=("pingpong", "forward"),
                     help="pingpong: there and back (neutral->emotion->neutral); forward: one way")
    gif.add_argument("--gif-fps", type=float, default=12.0, metavar="FPS", help="frames per second (default 12)")
    gif.add_argument("--gif-frames", type=int, default=24, metavar="N",
                     help="frames from the first label to the last (default 24)")
    gif.add_argument("--gif-hold", type=float, default=0.5, metavar="SECONDS",
                     help="rest on the first and last label (default 0.5)")
    gif.add_argument("--gif-seeds", type=int, default=4, metavar="N",
                     help="faces side by side in the GIF (default 4)")


def gif_options(args: argparse.Namespace):
    """Return the GifOptions of the --gif-* flags (validated)."""
    from contemo.generation.animation import GifOptions

    return GifOptions(fps=args.gif_fps, frames=args.gif_frames, mode=args.gif_mode,
                      hold=args.gif_hold, seeds=args.gif_seeds)


def run(args: argparse.Namespace) -> int:
    """Write the job's files and print their paths and a one-line summary; return 0."""
    from pathlib import Path

    from contemo.errors import ContemoError
    from contemo.generation import label_options, manifest
    from contemo.generation.images import display_scale
    from contemo.generation.job import GRID, IMAGE_DIR, Figures
    from contemo.generation.outputs import STRIPS, write_outputs
    from contemo.generation.pipeline import parse_seeds
    from contemo.labels.va import ModelLabels, checkpoint_anchors

    label_options.select(args)  # bad label options fail before the checkpoint loads
    seeds = parse_seeds(args.seeds, limit=SEED_LIMIT)
    if args.grid_rows < 0:
        raise ContemoError(f"--grid-rows {args.grid_rows}: expected 0 or more")
    options = gif_options(args) if args.gif else None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ContemoError(f"--out {out}: exists and is not a folder")
    if (out / manifest.MANIFEST).exists() and not args.overwrite:
        raise ContemoError(f"--out {out}: holds an earlier job's {manifest.MANIFEST}; "
                           "pass --overwrite to replace it or choose another folder")
    pipe = load_pipeline(args)
    # The checkpoint's own anchors and emotions: --va gives the web app's label for it.
    label_set = label_options.build(args, ModelLabels(checkpoint_anchors(pipe.meta),
                                                      pipe.trained))
    if options is not None and len(label_set.labels) < 2:
        raise ContemoError("--gif needs at least 2 labels to move between (a path, or several "
                           "--label vectors separated by ';')")
    figures = Figures(grid_name=GRID if args.grid_rows else None, grid_rows=args.grid_rows,
                      strips_dir=STRIPS if args.strips else None, method=args.resample,
                      scale=display_scale(args.display_scale, pipe.resolution))
    try:
        result, run_file = write_outputs(
            pipe, seeds, label_set, out, figures=figures, gif=options,
            batch_size=args.batch_size, overwrite=args.overwrite,
            record={"checkpoint": str(args.checkpoint or "shipped"), "seeds": args.seeds})
    except OSError as err:
        raise ContemoError(f"--out {out}: cannot write there ({err.strerror or err})") from None
    for path in [*result.files, run_file, out / IMAGE_DIR]:
        print(path)
    partial = 0 < result.grid_rows < len(seeds)
    shown = f"; grid shows the first {result.grid_rows} seeds" if partial else ""
    counts = f"{_count(len(seeds), 'seed')} x {_count(len(label_set.labels), 'label')}"
    print(f"generate: {_count(result.images, 'image')} ({counts}, {label_set.title}) in "
          f"{result.seconds:.1f} s on {pipe.device} -> {out}{shown}")
    return 0


def _count(n: int, noun: str) -> str:
    """Return '1 seed' or '8 seeds'."""
    return f"{n} {noun}{'s' * (n != 1)}"

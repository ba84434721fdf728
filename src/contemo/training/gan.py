"""GANTrainer: the conditional DCGAN training loop (non-saturating loss, EMA G, resumable).

One loop for CPU, one GPU and many (HF Accelerate, `accelerate launch`). Per step:
G makes fakes for the real batch's labels; D learns real vs fake (real and fake in
separate BatchNorm batches, as DCGAN does); G learns to fool D; the EMA of G moves.

Multi-process (DDP) choices, and why:
* D is wrapped with ``broadcast_buffers=False``: D only ever runs in train mode, so its
  BN running statistics are never used; each rank normalises by its own batch (the
  single-GPU behaviour at the per-rank batch size) and nothing is broadcast between
  D's two forward passes. SyncBatchNorm would buy a larger BN batch at the price of
  an all-reduce per BN layer per pass; DCGAN's per-batch statistics do not need it.
* The real pass runs under ``no_sync``, so D's gradient is all-reduced once per step.
* G's step runs D's plain module (no DDP hooks) with D frozen: no wasted D gradients.
* Only rank 0 writes grids, stats and checkpoints; parameters stay identical on all
  ranks because every rank applies the same averaged gradients.
"""

from __future__ import annotations

import copy
import signal
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from tqdm import tqdm

from contemo import __version__
from contemo.emotions import EMOTIONS, NUM_EMOTIONS
from contemo.errors import ContemoError
from contemo.generation.pipeline import noise_for_seeds
from contemo.models import Discriminator, Generator, save_pretrained
from contemo.models.dcgan import split_outputs
from contemo.training import checkpoint as ckpt
from contemo.training import fastpaths
from contemo.training.augment import AdaptiveP, augment, parse_ops
from contemo.training.batches import BatchSampler, step_generator
from contemo.training.config import TrainConfig
from contemo.training.data import TrainData
from contemo.training.diversity import data_diversity_ratio, mode_seeking, paired_labels
from contemo.training.ema import ema_decay, sampling_copy, update_ema
from contemo.training.grids import save_grid
from contemo.training.identity import IdentityTerm
from contemo.training.lecam import LeCam
from contemo.training.linearity import path_linearity, path_middles
from contemo.training.local import LocalTerm
from contemo.training.losses import d_loss, g_loss
from contemo.training.mixing import mix_labels
from contemo.training.pairs import PairTerm
from contemo.training.recon import ReconTerm
from contemo.training.rng import get_rng_state, set_rng_state
from contemo.training.runs import CHECKPOINTS, RunLog, truncate_stats

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
# What stats.jsonl logs per window (means): the order of the sums _train_step keeps.
STAT_NAMES = ("loss_d", "loss_g", "d_real", "d_fake", "mode_seeking", "r_t", "r1", "augment_p",
              "pair_d", "pair_g", "identity_e", "identity_g", "local_d", "local_g",
              "linearity", "recon", "edit_mask")
ADA_INTERVAL = 4  # steps between updates of the adaptive augmentation probability
BN_SEED = 12345  # fixed noise for BN re-estimation: the same statistics at every grid


class GANTrainer:
    """Train G and D of one run folder; `train()` returns the process exit status."""

    def __init__(self, config: TrainConfig, accelerator: Accelerator, run_dir: Path,
                 data: TrainData, resume: Path | None = None) -> None:
        self.cfg = config
        self.acc = accelerator
        self.run_dir = run_dir
        self.data = data
        self.log = RunLog(run_dir, accelerator.is_main_process)
        self.fast = fastpaths.resolve(config, accelerator.device, data.images.nbytes)
        device = accelerator.device
        torch.manual_seed(config.seed)  # same initial weights on every rank
        g, d = Generator(config.model), Discriminator(config.model)
        layout = torch.channels_last if self.fast.channels_last else torch.contiguous_format
        g.to(device, memory_format=layout)
        d.to(device, memory_format=layout)
        self.g, self.d = g, d
        self.ema = copy.deepcopy(g).requires_grad_(False)
        fused = True if self.fast.fused_adam else None
        opt_g = torch.optim.Adam(g.parameters(), config.lr, betas=config.betas, fused=fused)
        opt_d = torch.optim.Adam(d.parameters(), config.lr_d or config.lr, betas=config.betas,
                                 fused=fused)
        self.step, self.wall_time = 0, 0.0
        self.last_checkpoint: Path | None = None
        self._saved_step = -1
        images = data.images.to(device) if self.fast.data_on_device else data.images
        self.trained_ids = [EMOTIONS.index(e) for e in data.trained_emotions]
        self.pairs = PairTerm(config, accelerator, images, data.labels, data.pairs, fused,
                              self.fast.channels_last, data.persons) if config.pairs else None
        self.lecam = LeCam(config.lecam, device) if config.lecam else None
        self.identity = IdentityTerm(config, accelerator, images, data.pairs, fused,
                                     self.fast.channels_last) if config.identity else None
        self.inner = LocalTerm(config, accelerator, fused,  # the inner-face D (`local`)
                               self.fast.channels_last) if config.local else None
        self.recon = ReconTerm(config, accelerator, d.map_channels(),  # self-supervised D
                               fused) if config.recon else None
        if resume is not None:
            self._load(resume, opt_g, opt_d)
        g_run, self.d_local = (torch.compile(g), torch.compile(d)) if self.fast.compile else (g, d)
        self.g_train, self.d_train, self.opt_g, self.opt_d = accelerator.prepare(
            g_run, self.d_local, opt_g, opt_d)
        for term in (self.pairs, self.identity, self.inner, self.recon):
            if term is not None:
                term.prepare()
        self.sampler = BatchSampler(
            images, data.labels, config.batch_size, config.model.z_dim, config.seed,
            accelerator.process_index, accelerator.num_processes, config.flip, device,
            self.fast.channels_last, data.balanced)
        self.ops = parse_ops(config.augment)
        self.ada = AdaptiveP(0.0 if config.ada else config.augment_p, config.ada)
        self._ada_signs, self._ada_count = torch.zeros((), device=device), 0
        if resume is not None and config.ada:
            self.ada.p = float(self._resume_meta.get("augment_p", self.ada.p))
        self.diversity_cap = config.diversity_cap or data_diversity_ratio(
            data.images, data.labels, config.model.z_dim, config.seed)
        self._reset_window()
        self._signal: int | None = None

    # -- one optimisation step ------------------------------------------------------------
    def _train_step(self) -> None:
        """Run one D step and one G step on this rank's batch, then update the EMA."""
        acc, step, cfg = self.acc, self.step, self.cfg
        real, labels, z = self.sampler.batch(step)
        fake_labels = labels
        if cfg.mix:  # a share of G's faces asked for a blend (mixing.py), by (seed, rank, step)
            mix_rng = step_generator(cfg.seed, 5, self.acc.process_index, step)
            rows = labels.shape[0] // 2 if cfg.diversity else labels.shape[0]  # paired below
            fake_labels = torch.cat([mix_labels(labels[:rows], cfg.mix, self.trained_ids,
                                                mix_rng), labels[rows:]])
        if cfg.diversity:
            fake_labels = paired_labels(fake_labels)
        # One augmentation stream per (seed, rank, step): a resumed run draws the same ones.
        aug_rng = step_generator(cfg.seed, 3, self.acc.process_index, step)
        p = self.ada.p

        def seen(x: torch.Tensor) -> torch.Tensor:  # what D sees: augmented, real or fake
            return augment(x, self.ops, p, aug_rng)

        pair = self.pairs.generator_input(step) if self.pairs else None
        middle = (path_middles(pair[2], pair[3], cfg.seed, acc.process_index, step)
                  if pair and cfg.linearity else None)
        # One forward: G's BatchNorm sees both faces of each pair (and each pair's z once
        # more, between its labels) together with the batch's faces.
        zs, vs = [z], [fake_labels]
        if pair is not None:
            zs, vs = zs + [pair[2]], vs + [pair[3]]
        if middle is not None:
            zs, vs = zs + [middle[0]], vs + [middle[1]]
        edit = cfg.model.g_edit
        with acc.autocast():
            every = self.g_train(torch.cat(zs), torch.cat(vs), with_mask=edit)
        every, mask = every if edit else (every, None)  # g_edit: each face's edit mask
        n, m = z.shape[0], pair[2].shape[0] if pair is not None else 0
        fake, pair_fakes, middle_fakes = every[:n], every[n:n + m], every[n + m:]
        self.opt_d.zero_grad(set_to_none=True)
        r1_step = cfg.r1 > 0 and step % cfg.r1_every == 0
        with acc.no_sync(self.d_train):  # all-reduce D's gradient once, after the fake pass
            real_in = seen(real).detach().requires_grad_(r1_step)
            with acc.autocast():
                d_real, extras = split_outputs(self.d_train(
                    real_in, labels, with_class=bool(cfg.classify),
                    with_maps=self.recon is not None))
                d_real = d_real.float()
            loss_real = d_loss(d_real, True, cfg.loss)
            if cfg.classify:  # D's emotion head learns from real faces only
                classified = F.cross_entropy(extras.pop(0).float(), labels.argmax(dim=1))
                loss_real = loss_real + cfg.classify * classified
            redrawn = (self.recon.loss(real_in, *extras, step) if self.recon is not None
                       else torch.zeros((), device=d_real.device))  # D's maps redraw the face
            penalty = torch.zeros((), device=d_real.device)
            if r1_step:  # lazy R1: ||grad_x D(x)||^2 on reals, scaled by the interval
                grad, = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
                penalty = grad.float().square().sum(dim=(1, 2, 3)).mean() * (
                    cfg.r1 / 2 * cfg.r1_every)
            held = self.lecam.real_term(d_real) if self.lecam is not None else 0.0
            # LeCam: D(real) held near mean D(fake)
            acc.backward(loss_real + redrawn + penalty + held)
        fake_in = seen(fake.detach())
        with acc.autocast():
            d_fake = self.d_train(fake_in, fake_labels).float()
        loss_fake = d_loss(d_fake, False, cfg.loss)
        held = self.lecam.fake_term(d_fake) if self.lecam is not None else 0.0
        acc.backward(loss_fake + held)
        self.opt_d.step()
        if self.recon is not None:
            self.recon.step()
        if self.lecam is not None:
            self.lecam.update(d_real, d_fake, acc)
        zero = torch.zeros((), device=d_real.device)
        pair_d = self.pairs.d_step(pair[0], pair[1], pair_fakes, step, p) if pair else zero
        identity_e = self.identity.e_step(step) if self.identity else zero
        local_d = (self.inner.d_step(real_in, labels, fake_in, fake_labels) if self.inner
                   else zero)  # the windows of what the main D saw, augmented alike

        self.d_local.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        fake_in = seen(fake)
        with acc.autocast():
            g_logits, read = split_outputs(self.d_local(fake_in, fake_labels,
                                                        with_class=bool(cfg.classify)))
            g_logits = g_logits.float()
        loss_g = g_loss(g_logits, cfg.loss)
        if cfg.classify:  # G's faces must be read as the emotion they were asked for
            loss_g = loss_g + cfg.classify * F.cross_entropy(read[0].float(),
                                                             fake_labels.argmax(dim=1))
        seeking = (mode_seeking(fake, z, self.diversity_cap) if cfg.diversity
                   else torch.zeros((), device=loss_g.device))
        pair_g = self.pairs.g_loss(pair_fakes, pair[1], step, p) if pair else zero
        identity_g = self.identity.g_loss(pair_fakes, step) if self.identity else zero
        local_g = self.inner.g_loss(fake_in, fake_labels) if self.inner else zero
        linear = zero
        if middle is not None:  # D's reading of the emotion along each path must be straight
            with acc.autocast():
                evidence = self.d.emotion_logits(torch.cat([pair_fakes, middle_fakes]))
            linear = path_linearity(evidence, middle[2])
        masked = mask.float().mean() if mask is not None else zero  # share of pixels edited
        acc.backward(loss_g + pair_g + identity_g + local_g + cfg.linearity * linear
                     + cfg.edit_mask * masked - cfg.diversity * seeking)
        self.opt_g.step()
        self.d_local.requires_grad_(True)
        update_ema(self.ema, self.g, ema_decay(step, cfg.ema_decay, cfg.ema_warmup))

        values = torch.stack([loss_real + loss_fake, loss_g, torch.sigmoid(d_real).mean(),
                              torch.sigmoid(d_fake).mean(), seeking.float(),
                              d_real.detach().sign().mean(), penalty.detach(),
                              torch.tensor(p, device=d_real.device), pair_d,
                              pair_g.detach(), identity_e, identity_g.detach(), local_d,
                              local_g.detach(), linear.detach(), redrawn.detach(),
                              masked.detach()]).detach()
        losses = values[:2]
        self._bad |= (~torch.isfinite(losses) | (losses > self.cfg.max_loss)).any()
        self._sums += values
        self._count += 1
        self.step += 1
        if self.ada.adaptive:
            self._ada_signs = self._ada_signs + values[5] * d_real.shape[0]
            self._ada_count += d_real.shape[0]
            if self.step % ADA_INTERVAL == 0:
                signs, count = self._ada_signs, self._ada_count
                if self.acc.num_processes > 1:
                    both = self.acc.reduce(torch.stack([signs, torch.tensor(
                        float(count), device=signs.device)]), "sum")
                    signs, count = both[0], int(both[1].item())
                self.ada.update(float(signs), count, count)
                self._ada_signs, self._ada_count = torch.zeros((), device=self.acc.device), 0

    def _reset_window(self) -> None:
        """Start a new logging window (sums of losses and D outputs since the last line)."""
        device = self.acc.device
        self._sums = torch.zeros(len(STAT_NAMES), device=device)
        self._count = 0
        self._bad = torch.zeros((), dtype=torch.bool, device=device)
        self._window_start = time.perf_counter()
        self._window_other = 0.0  # seconds spent on grids/checkpoints inside the window

    # -- checks, logs, grids, checkpoints ----------------------------------------------------
    def _window_means(self) -> list[float]:
        """Return the means of STAT_NAMES over the window and all ranks."""
        means = self._sums / max(self._count, 1)
        if self.acc.num_processes > 1:
            means = self.acc.reduce(means, "mean")
        return means.tolist()

    def _check(self, means: list[float]) -> None:
        """Stop with a one-line error if a loss was NaN/inf or above max_loss on any rank."""
        bad = self._bad.float()
        if self.acc.num_processes > 1:
            bad = self.acc.reduce(bad, "sum")
        if bad.item() == 0 and all(torch.isfinite(p).all() for p in self.g.parameters()):
            return
        last = self.last_checkpoint.name if self.last_checkpoint else "none written yet"
        message = (f"training diverged by step {self.step}: loss_d={means[0]:.4g}, "
                   f"loss_g={means[1]:.4g} (NaN/inf or above max_loss={self.cfg.max_loss:g}); "
                   f"stopped without saving, last good checkpoint: {last}; try a lower lr "
                   f"or mixed_precision=no")
        self.log.line(message)
        raise ContemoError(message)

    def _log_window(self) -> None:
        """Check the window for divergence, then write its stats.jsonl line and reset it."""
        if self._count == 0:
            return
        means = self._window_means()
        self._check(means)
        seconds = max(time.perf_counter() - self._window_start - self._window_other, 1e-9)
        per_step = self.cfg.batch_size * self.acc.num_processes
        record = {
            "step": self.step, "epoch": round(self.epoch, 4), "images_seen": self.images_seen,
            **dict(zip(STAT_NAMES, means, strict=True)),
            "img_per_s": round(self._count * per_step / seconds, 2),
            "sec_per_step": round(seconds / self._count, 5), "lr": self.cfg.lr,
            "time_s": round(self.wall_time, 2),
        }
        self.log.stats(record)
        self._last_record = record
        self._reset_window()

    @property
    def images_seen(self) -> int:
        return self.step * self.cfg.batch_size * self.acc.num_processes

    @property
    def epoch(self) -> float:
        return self.images_seen / self.data.images.shape[0]

    def sampling_generator(self) -> Generator:
        """Return the EMA generator, eval mode, with BN statistics re-estimated (for sampling)."""
        ids = [EMOTIONS.index(e) for e in self.data.trained_emotions]
        return sampling_copy(self.ema, self.cfg.bn_batches, self.cfg.bn_batch_size, BN_SEED,
                             self.acc.device, ids)

    @torch.no_grad()
    def write_grid(self, name: str, generator: Generator | None = None) -> Path:
        """Return the path of a seeds x emotions grid of the (BN-re-estimated) EMA generator."""
        g = generator or self.sampling_generator()
        rows, names = self.cfg.grid_rows, self.data.trained_emotions
        z = noise_for_seeds(range(rows), self.cfg.model.z_dim).repeat_interleave(len(names), 0)
        labels = torch.eye(NUM_EMOTIONS)[[EMOTIONS.index(e) for e in names]].repeat(rows, 1)
        images = g(z.to(self.acc.device), labels.to(self.acc.device)).cpu()
        return save_grid(self.run_dir / name, images, rows, names,
                         [f"seed {r}" for r in range(rows)])

    def _checkpointed(self, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer
                      ) -> tuple[list[tuple[str, torch.nn.Module]],
                                 list[tuple[str, torch.optim.Optimizer]]]:
        """Return the (prefix, module) and (name, optimiser) parts a checkpoint holds.

        One list for saving and loading, so the two cannot disagree (the pair D's parts
        are there only when `pairs` is on, LeCam's running means only when `lecam` is, the
        identity encoder only when `identity` is, the inner-face D only when `local` is, the
        decoders only when `recon` is).
        """
        modules: list[tuple[str, torch.nn.Module]] = [("G", self.g), ("D", self.d),
                                                      ("EMA", self.ema)]
        optimizers = [("optG", opt_g), ("optD", opt_d)]
        if self.lecam is not None:
            modules.append(("LC", self.lecam))
        if self.pairs is not None:
            modules.append(("P", self.pairs.d))
            optimizers.append(("optP", self.pairs.opt))
            if self.pairs.lecam is not None:
                modules.append(("LCP", self.pairs.lecam))
            if self.pairs.recon is not None:
                modules.append(("RCP", self.pairs.recon.decoders))
                optimizers.append(("optRCP", self.pairs.recon.opt))
        if self.identity is not None:
            modules.append(("ID", self.identity.e))
            optimizers.append(("optID", self.identity.opt))
        if self.inner is not None:
            modules.append(("LD", self.inner.d))
            optimizers.append(("optLD", self.inner.opt))
        if self.recon is not None:
            modules.append(("RC", self.recon.decoders))
            optimizers.append(("optRC", self.recon.opt))
        return modules, optimizers

    def _state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Return the resumable state as (tensors, JSON data)."""
        modules, optimizers = self._checkpointed(self.opt_g, self.opt_d)
        tensors: dict[str, torch.Tensor] = {}
        for prefix, module in modules:
            tensors.update(ckpt.module_tensors(prefix, module))
        meta: dict[str, Any] = {"epoch": self.epoch, "images_seen": self.images_seen,
                                "wall_time_s": self.wall_time, "contemo_version": __version__,
                                "num_processes": self.acc.num_processes,
                                "sampler": {"kind": "epoch-permutation-by-step",
                                            "step": self.step}}
        for name, opt in optimizers:
            t, m = ckpt.flatten_optimizer(name, opt.state_dict())
            tensors.update(t)
            meta[name] = m
        scaler = getattr(self.acc, "scaler", None)
        meta["scaler"] = scaler.state_dict() if scaler is not None else None
        meta["augment_p"] = self.ada.p
        rng_tensors, meta["rng"] = get_rng_state()
        tensors.update(rng_tensors)
        meta["config"] = self.cfg.to_dict()
        return tensors, meta

    def save_checkpoint(self) -> Path | None:
        """Return the checkpoint written for the current step (main process), after a check."""
        self._log_window()  # checks for divergence first: a bad state is never saved
        if not all(torch.isfinite(p).all() for p in self.d.parameters()):
            self._check([float("nan")] * len(self._sums))
        self._check_ranks_agree()
        path = None
        if self.acc.is_main_process:
            tensors, meta = self._state()
            folder = self.run_dir / CHECKPOINTS
            path = ckpt.save(folder, self.step, tensors, meta)
            ckpt.prune(folder, self.cfg.keep_checkpoints, self.cfg.keep_every)
            self.log.line(f"checkpoint {path.name} (step {self.step})")
        self.last_checkpoint = path
        self._saved_step = self.step  # on every rank (only rank 0 knows the path)
        self.acc.wait_for_everyone()
        return path

    def _check_ranks_agree(self) -> None:
        """Raise unless G and D parameters are identical on every rank (DDP kept them in step)."""
        if self.acc.num_processes == 1:
            return
        local = torch.stack([torch.cat([p.detach().float().flatten() for p in m.parameters()])
                             .double().square().sum() for m in (self.g, self.d)])
        every = self.acc.gather(local[None]).view(-1, 2)
        if not torch.equal(every, every[:1].expand_as(every)):
            raise ContemoError(f"step {self.step}: parameters differ between ranks "
                               f"({every.tolist()}); distributed training is broken")
        self.log.line(f"step {self.step}: G and D parameters identical on "
                      f"{self.acc.num_processes} ranks")

    def _load(self, sidecar: Path, opt_g: torch.optim.Optimizer,
              opt_d: torch.optim.Optimizer) -> None:
        """Restore the state of a checkpoint (before accelerate wraps the modules)."""
        tensors, meta = ckpt.load(sidecar)
        self._resume_meta = meta
        modules, optimizers = self._checkpointed(opt_g, opt_d)
        for prefix, module in modules:
            ckpt.load_module(prefix, module, tensors, sidecar)
        for name, opt in optimizers:
            try:
                opt.load_state_dict(ckpt.unflatten_optimizer(name, tensors, meta[name],
                                                             opt.state_dict()))
            except (KeyError, ValueError, RuntimeError) as err:
                raise ContemoError(f"{sidecar}: optimizer state {name} unusable ({err})"
                                   .splitlines()[0]) from None
        scaler = getattr(self.acc, "scaler", None)
        if scaler is not None and meta.get("scaler"):
            scaler.load_state_dict(meta["scaler"])
        set_rng_state(tensors, meta["rng"])
        self.step = int(meta["step"])
        self.wall_time = float(meta.get("wall_time_s", 0.0))
        self.last_checkpoint = sidecar
        self._saved_step = self.step
        if self.acc.is_main_process:
            truncate_stats(self.run_dir, self.step)

    # -- the loop --------------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signal = signum
        signal.signal(signum, signal.SIG_DFL)  # a second Ctrl-C kills at once

    def _stop_requested(self) -> bool:
        """Return whether any rank got SIGINT/SIGTERM (all ranks agree, so all stop together)."""
        flag = torch.tensor(float(self._signal or 0), device=self.acc.device)
        if self.acc.num_processes > 1:
            flag = self.acc.reduce(flag, "max")
        if flag.item() and self._signal is None:
            self._signal = int(flag.item())
        return bool(flag.item())

    def train(self) -> int:
        """Return 0 after training to the end and releasing the EMA generator (130/143 on a signal)."""
        cfg, n = self.cfg, self.data.images.shape[0]
        total = cfg.total_steps(n, self.acc.num_processes)
        self.log.line(f"training steps {self.step}->{total} on {self.acc.device} "
                      f"x{self.acc.num_processes}, fast paths {asdict(self.fast)}")
        handlers = {s: signal.getsignal(s) for s in EXIT_CODES}
        try:
            for s in EXIT_CODES:
                signal.signal(s, self._on_signal)
        except ValueError:  # not the main thread (embedded use): no signal handling
            handlers = {}
        bar = tqdm(total=total, initial=self.step, unit="step", dynamic_ncols=True,
                   disable=not self.acc.is_main_process, desc=self.run_dir.name)
        try:
            return self._loop(total, bar)
        finally:
            bar.close()
            for s, h in handlers.items():
                signal.signal(s, h)

    def _loop(self, total: int, bar: tqdm) -> int:
        """Run steps until `total` or a signal; return the exit status."""
        cfg = self.cfg
        self._tick = time.perf_counter()
        while self.step < total:
            self._train_step()
            stop = self._stop_requested()
            self._clock()
            if self.step % cfg.log_every == 0:
                self._log_window()
                rec = self._last_record
                bar.set_postfix_str(f"{rec['img_per_s']:.0f} img/s D {rec['loss_d']:.3f} "
                                    f"G {rec['loss_g']:.3f}", refresh=False)
            bar.update(1)
            other = time.perf_counter()
            if cfg.grid_every and self.step % cfg.grid_every == 0 and self.step < total:
                if self.acc.is_main_process:
                    self.write_grid(f"grid-{self.step:06d}.png")
                self.acc.wait_for_everyone()
            if stop or (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0
                        and self.step < total):
                self._clock()
                self.save_checkpoint()
            self._window_other += time.perf_counter() - other
            self._clock()
            if stop:
                code = EXIT_CODES.get(self._signal, 130)
                self.log.line(f"stopped by signal {self._signal} at step {self.step}; "
                              f"resume with: contemo train --resume {self.run_dir}")
                if self.acc.is_main_process:
                    tqdm.write(f"contemo: stopped at step {self.step}, checkpoint saved; resume "
                               f"with: contemo train --resume {self.run_dir}")
                return code
        if self._saved_step != self.step:
            self.save_checkpoint()
        if self.acc.is_main_process:
            self.release()
        self.acc.wait_for_everyone()
        return 0

    def _clock(self) -> None:
        """Add the time since the last call to the run's wall time (kept across resumes)."""
        now = time.perf_counter()
        self.wall_time += now - self._tick
        self._tick = now

    def release(self) -> Path:
        """Return run_dir/generator after writing grid-final.png and the released EMA G."""
        g = self.sampling_generator()
        self.write_grid("grid-final.png", g)
        training = {
            "preset": self.cfg.preset, "data": self.data.description, "steps": self.step,
            "epochs": round(self.epoch, 3), "images_seen": self.images_seen,
            "wall_time_s": round(self.wall_time, 1), "device": str(self.acc.device),
            "processes": self.acc.num_processes, "fast_paths": asdict(self.fast),
            "contemo_version": __version__, "ema_decay": self.cfg.ema_decay,
            "bn_recomputed_batches": self.cfg.bn_batches, "diversity_cap": self.diversity_cap,
            "augment_p": self.ada.p,
            "identity_pairs": self.pairs.count if self.pairs else 0,
        }
        out = save_pretrained(g, self.run_dir / "generator", training=training,
                              trained_emotions=list(self.data.trained_emotions),
                              preprocess=self.data.preprocess)
        self.log.line(f"released EMA generator to {out}")
        return out


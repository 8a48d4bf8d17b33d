"""The training loop: ELBO + hierarchical triplet loss, checkpoints, resume, validation, DDP.

One step: draw this process's shards of the step's batch (:mod:`hypseg.training.stream`), encode the
3B patches (anchors, positives, negatives) once, decode K samples of each, and minimise

    loss = -ELBO (per patch) + triplet_weight * triplet loss (per triplet)

with gradient-norm clipping. Under ``torchrun`` the model is wrapped in DistributedDataParallel,
which averages the gradients of the processes' equal-sized shards: the update equals that of one
process on the whole batch. Only rank 0 writes ``log.jsonl`` and checkpoints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import numpy as np
import torch

from hypseg.config import RunConfig
from hypseg.data import PaperTripletSampler, TripletSampler
from hypseg.errors import UserError
from hypseg.models.collapse import COLLAPSED_SPREAD, CollapsedModelWarning, embedding_spread
from hypseg.io.checkpoint import (
    COLLAPSED_FOLDER,
    CONFIG_NAME,
    DATA_NAME,
    LOG_NAME,
    WEIGHTS_NAME,
    check_data_fingerprint,
    recorded_shapes,
    data_fingerprint,
    load_checkpoint,
    load_run_config,
    log_lines,
    read_log,
    save_checkpoint,
    save_data_fingerprint,
    save_run_config,
    set_aside_runs,
)
from hypseg.losses import centre_precision, negative_elbo, triplet_loss
from hypseg.models import HVAE
from hypseg.training.distributed import DistributedContext, context_from_env, init_process_group
from hypseg.training.optim import build_optimiser
from hypseg.training.stream import TRAIN, VALIDATION, StepBatch, TripletStream



class StepLosses(NamedTuple):
    loss: torch.Tensor
    reconstruction: torch.Tensor
    kl: torch.Tensor
    triplet: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        return {name: float(value.detach()) for name, value in self._asdict().items()}


class TrainResult(NamedTuple):
    run_dir: Path
    step: int
    last: dict[str, float]  # the last logged training losses
    model: HVAE  # the trained model (unwrapped), in eval mode
    config: RunConfig  # the run's config (its seed is the last run's when a collapsed run trained again)
    spread: float  # embedding_spread of the posterior means of a fixed batch of patches
    collapsed: tuple[int, ...] = ()  # seeds whose runs collapsed and were set aside (see Trainer.fit)
    embeds_alike: bool = False  # the kept run collapsed too: every run did (Trainer.fit warned)


def initial_model(config: RunConfig) -> HVAE:
    """The model a run of ``config`` starts from: torch's generators seeded with the run's seed, then the
    network built, so every rank (and anyone measuring how far training moved it) gets the same weights."""
    torch.manual_seed(config.train.seed)
    return HVAE(config.model)


def compute_losses(model: torch.nn.Module, batch: StepBatch, config: RunConfig) -> StepLosses:
    """All loss terms of one batch (``model`` may be wrapped in DDP)."""
    core: HVAE = model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
    train = config.train
    B = batch.patches.shape[0] // 3
    parents_only = train.reconstruct == "parent"
    out = model(batch.patches, noise=batch.noise, decode=B if parents_only else None)
    patches = batch.patches[:B] if parents_only else batch.patches
    if train.centred_target:
        patches = patches - patches.mean(dim=(2, 3, 4), keepdim=True)
    posterior = core.restrict(out.posterior, B) if parents_only else out.posterior
    precision = None
    if train.centre_sigma > 0:
        precision = centre_precision(patches.shape[-1], train.centre_sigma, dtype=patches.dtype, device=patches.device)
    elbo = negative_elbo(
        patches, out.reconstruction, out.z, posterior, core.prior(patches), kl_weight=train.kl_weight, reduction=train.reduction,
        noise=out.noise, precision=precision,
    )
    anchor, positive, negative = out.posterior.loc.chunk(3)  # (B, d) each
    triplet = triplet_loss(anchor, positive, negative, ball=core.ball, margin=train.triplet_margin, squared=train.triplet_squared)
    return StepLosses(elbo.loss + train.triplet_weight * triplet, elbo.reconstruction, elbo.kl, triplet)


class TrainingDiverged(UserError, FloatingPointError):
    """The loss or the weights became NaN or Inf: a setting (the learning rate, most often), not a bug."""


def check_fresh_run_folder(run_dir: Path) -> None:
    """A new run may go into ``run_dir`` when it does not exist, or holds only what a run that stopped before its
    first checkpoint leaves (``config.toml``, ``log.jsonl``, ``data.json``), the collapsed runs set aside and hidden
    files (a file manager's, or another process's half-written temporary); a checkpoint is a run to resume, and
    anything else is the user's, which the run's files would overwrite or mix with: each is refused in one line."""
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is a file; choose a folder for the run")
    if (run_dir / WEIGHTS_NAME).exists():
        raise FileExistsError(f"{run_dir} already holds a checkpoint; resume it (--resume, resume=True) or choose "
                              "another output folder")
    leftovers = {CONFIG_NAME, LOG_NAME, DATA_NAME}
    aside = set(set_aside_runs(run_dir))
    for entry in sorted(run_dir.iterdir()):
        if entry.name not in leftovers and entry not in aside and not entry.name.startswith("."):
            raise UserError(f"{run_dir} holds {entry.name}, which is not part of a hypseg run; choose a new or empty folder")
    if (run_dir / CONFIG_NAME).exists():
        try:
            load_run_config(run_dir)
        except UserError as err:
            reason = str(err).removeprefix(f"{run_dir / CONFIG_NAME}: ")
            raise UserError(f"{run_dir} holds a {CONFIG_NAME} this hypseg cannot use ({reason}); choose a new or empty "
                            "folder") from None


def past_steps(run_dir: Path, held: int, steps: int) -> UserError:
    """The error of resuming a run that holds ``held`` steps with ``steps`` fewer than that."""
    return UserError(f"{run_dir} is already at step {held}, past the {steps} steps asked for; resume it with more steps "
                     "to train longer")


def check_resumed_config(run_dir: Path, config: RunConfig) -> None:
    """Refuse to resume the run in ``run_dir`` with ``config`` unless it is the run's own: only the number of steps
    may change on resume (to train longer). ``config`` is first clipped to the volumes the run recorded
    (``data.json``), as the run's own config was when it started (:func:`hypseg.config.clip_patch_sides`)."""
    from hypseg.config.recipes import clip_patch_sides

    saved = load_run_config(run_dir)
    config = clip_patch_sides(config, recorded_shapes(run_dir))
    if dataclasses.replace(saved, train=dataclasses.replace(saved.train, steps=config.train.steps)) != config:
        retried = saved.train.seed != config.train.seed and bool(set_aside_runs(run_dir))
        note = f" (seed {saved.train.seed}: a collapsed run was trained again)" if retried else ""
        raise UserError(f"{run_dir} was trained with another config{note}; resume it with its own config.toml")


class Trainer:
    """Train an :class:`~hypseg.models.HVAE` on normalised volumes.

    Parameters
    ----------
    config : RunConfig
    volumes : sequence of ndarray (Z, Y, X)
        Normalised training volumes.
    run_dir : path
        Where ``config.toml``, ``model.pt`` and ``log.jsonl`` go.
    validation : sequence of ndarray, optional
        Normalised validation volumes (defaults to the training volumes, with their own stream).
    context : DistributedContext, optional
        Rank and world size (read from torchrun's environment by default).
    progress : bool
        Show a progress bar (rank 0 only).
    on_step : callable, optional
        Called with the step's number after every completed step (checkpoint and log included); an
        exception it raises ends the training there and propagates (a GUI's cancel button). A
        KeyboardInterrupt, wherever it arrives, first saves the last step whose update is in the weights.
    """

    def __init__(
        self,
        config: RunConfig,
        volumes: Sequence[np.ndarray],
        *,
        run_dir: str | Path,
        validation: Sequence[np.ndarray] | None = None,
        context: DistributedContext | None = None,
        progress: bool = True,
        on_step: Callable[[int], None] | None = None,
    ):
        if len(volumes) == 0:
            raise UserError("no training volumes were given")
        self.config, self.run_dir, self.progress, self.on_step = config, Path(run_dir), progress, on_step
        self.context = context if context is not None else context_from_env()
        self._volumes, self._validation = volumes, validation
        self._probe: torch.Tensor | None = None  # the patches :meth:`spread` encodes, drawn once
        self._data_fingerprint: dict | None = None
        train = config.train
        self.device = torch.device(train.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise UserError("device 'cuda' was requested but CUDA is not available on this machine")
        for name, group in (("training", volumes), ("validation", validation or [])):
            for i, volume in enumerate(group):
                if config.data.sampler == "multiscale" and min(volume.shape) < config.data.patch_max:
                    raise UserError(
                        f"{name} volume {i} of shape {tuple(volume.shape)} is smaller than the largest patch side "
                        f"{config.data.patch_max:g}; lower data.patch_max"
                    )
        sampler_type = PaperTripletSampler if config.data.sampler == "paper" else TripletSampler
        sampler = sampler_type(volumes, config=config.data, seed=train.seed)
        val_sampler = sampler_type(validation, config=config.data, seed=train.seed) if validation else sampler
        stream_args = dict(seed=train.seed, shard_size=train.shard_size, samples=train.samples, latent_dim=config.model.latent_dim)
        self.stream = TripletStream(sampler, **stream_args)
        self.val_stream = TripletStream(val_sampler, **stream_args)
        self.shards = self.stream.shards_of(self.context.rank, self.context.world_size, config.data.triplets_per_batch)

    # ------------------------------------------------------------------------------------------ setup
    def _fingerprint(self) -> dict:
        """The training and validation volumes' :func:`~hypseg.io.checkpoint.data_fingerprint`, computed once."""
        if self._data_fingerprint is None:
            self._data_fingerprint = data_fingerprint(self._volumes, self._validation)
        return self._data_fingerprint

    def _validation_missing(self, step: int) -> bool:
        """Whether ``step`` is one the run validates at and the log has no ``val`` line for it (every process
        reads the log, so that all of them validate or none)."""
        train = self.config.train
        if not (train.validation_batches and step > 0 and (step % train.validate_every == 0 or step == train.steps)):
            return False
        if not (self.run_dir / LOG_NAME).exists():  # a run whose log was removed: it starts a new one
            return True
        return not any(r.get("step") == step and r.get("split") == "val" for r in read_log(self.run_dir))

    def _build(self) -> tuple[HVAE, torch.optim.Optimizer]:
        model = initial_model(self.config).to(self.device)
        return model, build_optimiser(model.parameters(), self.config.train)

    def _restore(self, model: HVAE, optimiser: torch.optim.Optimizer) -> int:
        check_resumed_config(self.run_dir, self.config)
        check_data_fingerprint(self.run_dir, self._fingerprint())
        state = load_checkpoint(self.run_dir, map_location=self.device)
        model.load_weights(state["model"], source=str(self.run_dir / WEIGHTS_NAME))
        try:
            optimiser.load_state_dict(state["optimiser"])
        except (ValueError, KeyError) as err:
            raise UserError(f"{self.run_dir / WEIGHTS_NAME}: optimiser state does not match ({err})") from None
        torch.set_rng_state(state["rng_torch"])
        return int(state["step"])

    def _save(self, model: HVAE, optimiser: torch.optim.Optimizer, step: int) -> None:
        if self.context.is_main:
            save_checkpoint(
                self.run_dir,
                {"model": model.state_dict(), "optimiser": optimiser.state_dict(), "step": step, "rng_torch": torch.get_rng_state()},
            )

    def _log(self, record: dict) -> None:
        if self.context.is_main:
            with open(self.run_dir / LOG_NAME, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")

    def _truncate_log(self, step: int) -> None:
        """Drop log lines past the checkpoint we resume from (they will be produced again), a torn last line
        among them (a run killed while writing it was past its checkpoint); any other line that is not a
        record is a :class:`UserError` naming the file and line."""
        path = self.run_dir / LOG_NAME
        if not (self.context.is_main and path.exists()):
            return
        kept = []
        for number, line, record in log_lines(path)[0]:  # a torn last line left out
            if not isinstance(record, dict) or not isinstance(record.get("step"), int):
                raise UserError(f"{path}:{number}: is not a log record (a JSON object with a step)")
            if record["step"] <= step:
                kept.append(line)
        path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")

    # ------------------------------------------------------------------------------------------ loop
    def validate(self, model: torch.nn.Module) -> dict[str, float]:
        """Mean losses over the fixed validation batches."""
        totals: dict[str, float] = {}
        n = self.config.train.validation_batches
        with torch.no_grad():
            for i in range(n):
                batch = self.val_stream.batch(i, self.shards, stream=VALIDATION).to(self.device)
                for key, value in compute_losses(model, batch, self.config).as_floats().items():
                    totals[key] = totals.get(key, 0.0) + value / n
        return totals

    def spread(self, model: HVAE) -> float:
        """:func:`~hypseg.models.collapse.embedding_spread` of the posterior means of the first validation
        batch's patches (fixed for the run): about 0 when the encoder embeds every patch alike. Every DDP
        process reads the whole batch with the same weights (DDP keeps them identical), so all of them reach
        the same verdict and retry or stop together without exchanging it (an extra collective at the end of
        a run made gloo processes abort at exit)."""
        if self._probe is None:
            whole = self.val_stream.shards_of(0, 1, self.config.data.triplets_per_batch)
            self._probe = self.val_stream.batch(0, whole, stream=VALIDATION).patches.to(self.device)
        with torch.no_grad():
            return embedding_spread(model.encode_mean(self._probe).double().cpu().numpy())

    def collapsed(self, spread: float) -> bool:
        """Whether a model of this run trained to :meth:`spread` ``spread`` collapsed: below
        :data:`~hypseg.models.collapse.COLLAPSED_SPREAD` and at most a tenth of the spread of the run's
        initial weights. The second condition spares a run of a few steps, which keeps its initial spread,
        and that of a small model can lie below the bar."""
        if spread >= COLLAPSED_SPREAD:
            return False
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # _build seeds torch's generators
            initial = self.spread(self._build()[0])
        return spread <= initial / 10

    def fit(self, *, resume: bool = False) -> TrainResult:
        """Train to ``config.train.steps``; ``resume`` continues from the run directory's checkpoint.

        A run whose trained encoder embeds every patch alike (:meth:`collapsed`: most of its ReLU units
        died, the posterior sits at the prior and the triplet loss at its margin) says nothing about the
        volume and no clustering can mend it. Such a run is moved into ``collapsed-seed<seed>/`` of the run directory and the model
        trains again from scratch with the seed ``seed + 1000``, up to ``config.train.collapse_retries``
        times; the run directory then holds the last run, whose ``config.toml`` names its seed. If every
        run collapsed, the last one is kept with a :class:`~hypseg.models.collapse.CollapsedModelWarning`.
        While a retry remains, a run whose embedding has stopped varying at all (spread exactly 0 at a
        checkpoint: its output no longer depends on the patch, and dead ReLU units pass no gradient) stops there
        instead of finishing.
        """
        existed, self._wrote = self.run_dir.exists(), False
        try:
            return self._fit(resume=resume)
        except BaseException:
            if self.context.is_main and self._wrote:  # not when the folder check refused the user's folder
                self._discard_unsaved(existed)
            raise

    def _discard_unsaved(self, existed: bool) -> None:
        """After a new run stopped (an interrupt, an error) before its first checkpoint: remove the files it
        wrote, and the run folder when it made it and nothing else is in it (collapsed runs set aside stay)."""
        if (self.run_dir / WEIGHTS_NAME).exists():
            return  # a checkpoint to resume from: the run's files stay with it
        for name in (CONFIG_NAME, LOG_NAME, DATA_NAME):
            (self.run_dir / name).unlink(missing_ok=True)
        if not existed and not any(self.run_dir.iterdir()):
            self.run_dir.rmdir()

    def _fit(self, *, resume: bool) -> TrainResult:
        """:meth:`fit`, without the clean-up of a new run that stops before its first checkpoint."""
        # a resumed run counts the runs its directory already set aside against the budget
        earlier = len(set_aside_runs(self.run_dir)) if resume else 0
        retries = max(self.config.train.collapse_retries - earlier, 0)
        result = self._fit_once(resume=resume, stop_when_dead=retries > 0)
        collapsed: list[int] = []
        trainer = self
        while (dead := trainer.collapsed(result.spread)) and len(collapsed) < retries:
            seed = trainer.config.train.seed
            collapsed.append(seed)
            trainer._set_aside(result)
            config = dataclasses.replace(trainer.config, train=dataclasses.replace(trainer.config.train, seed=seed + 1000))
            trainer = Trainer(
                config, self._volumes, run_dir=self.run_dir, validation=self._validation, context=self.context,
                progress=self.progress, on_step=self.on_step,
            )
            trainer._data_fingerprint = self._data_fingerprint  # the same volumes: not hashed again
            self._wrote = True  # the retry writes a new run's files (also after a resumed first run)
            result = trainer._fit_once(resume=False, stop_when_dead=len(collapsed) < retries)
        if dead:
            runs = "1 training run" if not collapsed else f"{len(collapsed) + 1} training runs"
            warnings.warn(CollapsedModelWarning(
                f"the trained model embeds every patch alike (spread {result.spread:.1g}, below "
                f"{COLLAPSED_SPREAD:g}) after {runs}; its label maps will say nothing"), stacklevel=2)
        return result._replace(collapsed=tuple(collapsed), embeds_alike=bool(dead))

    def _set_aside(self, result: TrainResult) -> None:
        """Move this run's files into ``collapsed-seed<seed>/`` of the run directory (main process), and say so."""
        seed, spread = self.config.train.seed, result.spread
        when = "" if result.step == self.config.train.steps else f" at step {result.step}"
        if self.context.is_main:
            name = COLLAPSED_FOLDER.format(seed=seed)
            suffixes = itertools.chain([""], (f"-{n}" for n in itertools.count(2)))
            folder = next(self.run_dir / f"{name}{suffix}" for suffix in suffixes
                          if not (self.run_dir / f"{name}{suffix}").exists())  # an earlier run's folder is kept
            folder.mkdir()
            for name in (CONFIG_NAME, WEIGHTS_NAME, LOG_NAME):  # the run's own files, nothing else of the folder
                if (self.run_dir / name).exists():
                    (self.run_dir / name).rename(folder / name)
            print(
                f"training with seed {seed} collapsed{when} (the model embeds every patch alike: spread {spread:.1g}, below "
                f"{COLLAPSED_SPREAD:g}); that run is kept in {folder.name}/ of the run folder, training again with seed {seed + 1000}",
                file=sys.stderr,
            )
        if self.context.active:
            torch.distributed.barrier()  # no process starts the next run before the files are moved

    def _fit_once(self, *, resume: bool, stop_when_dead: bool = False) -> TrainResult:
        """One training run to ``config.train.steps`` with this trainer's seed; with ``stop_when_dead``, it
        ends early at a checkpoint where :meth:`spread` is exactly 0."""
        train = self.config.train
        init_process_group(self.context, self.device)
        model, optimiser = self._build()
        if resume:
            start = self._restore(model, optimiser)
            if start > train.steps:  # before the log is cut to the steps asked for
                raise past_steps(self.run_dir, start, train.steps)
            self._truncate_log(start)
            if self.context.is_main:  # the steps may have changed: config.toml says what the run trains to
                save_run_config(self.run_dir, self.config)
        else:
            check_fresh_run_folder(self.run_dir)
            start = 0
            if self.context.is_main:  # a run killed before its first checkpoint left a log a new run must not extend
                (self.run_dir / LOG_NAME).unlink(missing_ok=True)
                save_run_config(self.run_dir, self.config)
                save_data_fingerprint(self.run_dir, self._fingerprint())
                self._wrote = True  # this run's files, which fit removes if it stops before its first checkpoint
        wrapped: torch.nn.Module = model
        if self.context.active:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
        if resume and self._validation_missing(start):  # an interrupt inside validation left its step without one
            model.eval()
            self._log({"step": start, "split": "val", **self.validate(wrapped)})
        autocast = (
            torch.autocast(device_type="cuda", dtype=torch.bfloat16)
            if train.amp and self.device.type == "cuda"
            else contextlib.nullcontext()
        )
        bar = None
        if self.progress and self.context.is_main:
            from hypseg.progress import progress

            bar = progress(total=train.steps, initial=start, desc="training", unit="step")
        stopped = False
        step, last, window_start, window_triplets = start, {}, time.perf_counter(), 0
        # The last step whose update is in the weights, the step model.pt holds, and whether an update is
        # under way (an interrupt inside optimiser.step leaves some parameters updated and others not).
        completed, saved, updating = start, start, False
        triplets_per_step = self.config.data.triplets_per_batch
        try:
            for step in range(start + 1, train.steps + 1):
                model.train()
                batch = self.stream.batch(step, self.shards).to(self.device)
                try:
                    with autocast:
                        losses = compute_losses(wrapped, batch, self.config)
                except ValueError:  # a distribution refuses NaN parameters: the last update diverged
                    if all(bool(torch.isfinite(p.detach()).all()) for p in model.parameters()):
                        raise
                    raise TrainingDiverged(f"the weights became NaN or Inf before step {step}; lower the learning "
                                           "rate") from None
                # Reading the loss synchronises a GPU: do it only where a log line or checkpoint needs
                # it, so that a diverged run never writes a checkpoint.
                logging = step % train.log_every == 0 or step % train.checkpoint_every == 0 or step == train.steps
                if logging and not torch.isfinite(losses.loss):
                    raise TrainingDiverged(f"the loss became {float(losses.loss.detach())} at step {step}; lower the learning rate")
                optimiser.zero_grad(set_to_none=True)
                losses.loss.backward()
                if train.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
                updating = True
                optimiser.step()
                completed, updating = step, False
                window_triplets += triplets_per_step
                if step % train.log_every == 0 or step == train.steps:  # (a subset of ``logging``)
                    elapsed = time.perf_counter() - window_start
                    last = {"step": step, "split": "train", **losses.as_floats(), "triplets_per_s": window_triplets / max(elapsed, 1e-9)}
                    self._log(last)
                    window_start, window_triplets = time.perf_counter(), 0
                    if bar is not None:
                        bar.set_postfix(
                            loss=f"{last['loss']:.4g}", rec=f"{last['reconstruction']:.4g}", kl=f"{last['kl']:.3g}",
                            triplet=f"{last['triplet']:.3g}", tps=f"{last['triplets_per_s']:.0f}",
                        )
                if train.validation_batches and (step % train.validate_every == 0 or step == train.steps):
                    model.eval()
                    self._log({"step": step, "split": "val", **self.validate(wrapped)})
                if step % train.checkpoint_every == 0 or step == train.steps:
                    self._save(model, optimiser, step)
                    saved = step
                if bar is not None:
                    bar.update(1)
                if self.on_step is not None:
                    self.on_step(step)
                if stop_when_dead and step % train.checkpoint_every == 0 and step < train.steps:
                    stopped = self.spread(model) == 0.0
                    if stopped:
                        break  # a collapsed run: fit sets it aside and trains again
        except KeyboardInterrupt:
            # Keep what was learned: the last step whose update is in the weights becomes the checkpoint
            # to resume from, labelled with that step. Torn weights keep the previous checkpoint.
            if completed > saved and not updating:
                self._save(model, optimiser, completed)
            raise
        finally:
            if bar is not None:
                bar.close()
        model.eval()
        last = {k: v for k, v in last.items() if isinstance(v, float)}
        spread = 0.0 if stopped else self.spread(model)  # a run stopped early was measured where it stopped
        return TrainResult(self.run_dir, step, last, model, self.config, spread)


def smoothed(values: Sequence[float], window: int) -> np.ndarray:
    """Moving average with a window of ``window`` values (for comparing noisy loss curves)."""
    values = np.asarray(values, dtype=np.float64)
    if window < 1 or window > len(values):
        raise ValueError(f"window must be in [1, {len(values)}], got {window}")
    return np.convolve(values, np.ones(window) / window, mode="valid")


__all__ = ["Trainer", "TrainResult", "StepLosses", "compute_losses", "read_log", "smoothed", "LOG_NAME"]

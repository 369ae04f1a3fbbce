"""Training that survives interruptions: the guard around ESPnet's trainer.

Our training entry points (``espnet_mixrep.bin.{asr,lm,cls,l2d}_train``) run
ESPnet's task through :func:`run_training`. On the first process of a
training run (not collect-stats; rank 0 of torchrun, node 0 of
``espnet2.bin.launch``), before ESPnet starts:

1. the experiment directory is locked (``flock`` on ``.training.lock``, which
   records the holder's PID): a second trainer on it fails naming that PID;
   the kernel drops the lock of a dead process, whose record is taken over;
2. ``--retrain true`` moves the old training state into ``superseded_<n>/``;
3. with ``--resume true`` the saved state is checked: only an unreadable file
   is set aside (``*.unreadable``); training resumes from the newest readable
   full checkpoint (``checkpoint.pth``, else ``checkpoint_prev.pth``) and
   says which; a missing or unreadable ``<N>epoch.pth`` of that epoch is
   rewritten from it;
4. :class:`ResumeSafeTrainer` refuses to resume that state under a config
   that differs from the one it was trained with (``.config.trained.yaml``).

:class:`ResumeSafeTrainer` (ESPnet's Trainer) writes every file through a
temporary sibling and a rename, so an interrupted save never truncates one,
keeps the previous ``checkpoint.pth`` as ``checkpoint_prev.pth``, and copies
``config.yaml`` to ``.config.trained.yaml`` with each checkpoint.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import re
import socket
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import yaml
from espnet2.train.trainer import Trainer

from espnet_mixrep.core.datadir import PathLike, write_text_atomic

LOCK_NAME = ".training.lock"
CHECKPOINT = "checkpoint.pth"
PREVIOUS_CHECKPOINT = "checkpoint_prev.pth"
TRAINED_CONFIG = ".config.trained.yaml"  # config.yaml of the training state being resumed
PARTIAL_SUFFIX = ".partial"  # an atomic save in progress: ".<name>.partial"
# Kept in place by --retrain: written by the launcher and the driver before training starts.
KEPT_ON_RETRAIN = re.compile(r"(\.training\.lock|.*\.log|run\.sh|q|\.dist_init_.*|superseded_\d+)")

# config.yaml keys that may change between a run and its resumption without
# changing what is trained: where and how it runs, logging, and how long it
# goes on and which epochs it keeps.
RUNTIME_KEYS = frozenset(
    """config output_dir resume print_config log_level dry_run iterator_type ngpu num_workers
    dist_backend dist_init_method dist_world_size dist_rank local_rank dist_master_addr
    dist_master_port dist_launcher multiprocessing_distributed unused_parameters sharded_ddp
    use_deepspeed deepspeed_config cudnn_enabled cudnn_benchmark cudnn_deterministic
    collect_stats write_collected_feats max_epoch patience early_stopping_criterion
    best_model_criterion keep_nbest_models nbest_averaging_interval log_interval
    use_matplotlib use_tensorboard create_graph_in_tensorboard use_wandb wandb_project
    wandb_id wandb_entity wandb_name wandb_model_log_interval detect_anomaly num_att_plot
    version""".split()
)


class TrainingGuardError(RuntimeError):
    """A training that must not start; the message says why and what to do."""


def _log(message: str) -> None:
    # ESPnet configures logging only inside its worker; this runs before.
    print(f"espnet_mixrep: {message}", file=sys.stderr, flush=True)


# -- 1. the lock --------------------------------------------------------------
@contextlib.contextmanager
def experiment_lock(exp_dir: PathLike) -> Iterator[Optional[str]]:
    """Hold the lock of ``exp_dir``; yields the record of a dead holder it took over, if any.

    On release the record is emptied (the file stays: unlinking a lock file
    lets two processes lock two different files).
    """
    exp_dir = Path(exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    path = exp_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "a process that has not written its PID yet"
            raise TrainingGuardError(
                f"{exp_dir} is in use by another trainer ({holder}); stop that one first "
                f"(kill <pid>) or train into another experiment directory"
            ) from None
        stale = os.pread(fd, 4096, 0).decode(errors="replace").strip() or None
        record = (
            f"pid {os.getpid()} on {socket.gethostname()} since "
            f"{datetime.datetime.now().isoformat(timespec='seconds')}\n"
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode(), 0)
        try:
            yield stale
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


# -- 2. retrain ---------------------------------------------------------------
def supersede_training_state(exp_dir: PathLike) -> Optional[Path]:
    """Move everything training wrote in ``exp_dir`` into a new ``superseded_<n>/``."""
    exp_dir = Path(exp_dir)
    entries = [p for p in sorted(exp_dir.iterdir()) if not KEPT_ON_RETRAIN.fullmatch(p.name)]
    if not entries:
        return None
    taken = [int(p.name.split("_")[1]) for p in exp_dir.glob("superseded_*") if p.name.split("_")[1].isdigit()]
    target = exp_dir / f"superseded_{max(taken, default=0) + 1}"
    target.mkdir()
    for entry in entries:
        os.replace(entry, target / entry.name)
    return target


# -- 3. checkpoint recovery ---------------------------------------------------
def _load(path: Path) -> Optional[Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # truncated zip, pickle error, EOF...: all mean "unreadable"
        return None


def _set_aside(path: Path) -> Path:
    target = path.with_name(path.name + ".unreadable")
    os.replace(path, target)
    return target


def _epoch_files(exp_dir: Path) -> List[Tuple[int, Path]]:
    found = []
    for path in exp_dir.glob("*epoch.pth"):
        match = re.fullmatch(r"(\d+)epoch\.pth", path.name)
        if match and not path.is_symlink():
            found.append((int(match.group(1)), path))
    return sorted(found)


def _is_training_state(state: Any) -> bool:
    return isinstance(state, dict) and {"model", "reporter", "optimizers"} <= set(state)


def recover_training_state(exp_dir: PathLike) -> List[str]:
    """Make ``exp_dir`` resumable from its newest readable checkpoint; -> what was done."""
    exp_dir = Path(exp_dir)
    notes = []
    for partial in exp_dir.glob(f".*{PARTIAL_SUFFIX}"):
        partial.unlink()  # an interrupted atomic save; the file it was replacing is intact
    checkpoint = exp_dir / CHECKPOINT
    resumed: Optional[Tuple[Path, Dict[str, Any]]] = None
    for candidate in (checkpoint, exp_dir / PREVIOUS_CHECKPOINT):
        if not candidate.exists():
            continue
        state = _load(candidate)
        if _is_training_state(state):
            resumed = (candidate, state)
            break
        notes.append(f"{candidate}: unreadable (a save cut short?), set aside as {_set_aside(candidate).name}")
    if resumed is None:
        if notes:
            notes.append(f"{exp_dir}: no readable checkpoint left; training starts from epoch 1")
        return notes
    source, state = resumed
    epoch = int(state["reporter"]["epoch"])
    if source != checkpoint:
        os.replace(source, checkpoint)
    for number, path in _epoch_files(exp_dir):
        if number <= epoch and _load(path) is None:
            notes.append(f"{path}: unreadable, set aside as {_set_aside(path).name}"
                         + ("" if number == epoch else f"; epoch {number} can no longer be averaged"))
    newest = exp_dir / f"{epoch}epoch.pth"
    if epoch > 0 and not newest.exists():
        # ESPnet saves checkpoint.pth first, then <N>epoch.pth: the same weights.
        save_atomically(torch.save, state["model"], newest)
        notes.append(f"{newest}: rewritten from {source.name}")
    notes.append(f"resuming from {source} (epoch {epoch} done)")
    return notes


# -- 4. config drift ----------------------------------------------------------
def keep_trained_config(exp_dir: PathLike) -> None:
    """Record config.yaml as the trained config of an existing checkpoint that has none
    (one saved before this guard); drop the record of a checkpoint that is gone."""
    exp_dir = Path(exp_dir)
    kept = exp_dir / TRAINED_CONFIG
    config = exp_dir / "config.yaml"
    if not (exp_dir / CHECKPOINT).exists():
        if kept.exists():
            kept.unlink()
    elif not kept.exists() and config.exists():
        write_text_atomic(kept, config.read_text(encoding="utf-8"))


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def config_differences(trained: Dict[str, Any], new: Dict[str, Any], prefix: str = "") -> List[str]:
    """``key: old -> new`` for every key that changes what is trained (nested keys dotted)."""
    missing = object()
    diffs = []
    for key in list(trained) + [k for k in new if k not in trained]:
        if not prefix and key in RUNTIME_KEYS:
            continue
        old, now = trained.get(key, missing), new.get(key, missing)
        if isinstance(old, dict) and isinstance(now, dict):
            diffs += config_differences(old, now, f"{prefix}{key}.")
        elif old != now:
            diffs.append(f"{prefix}{key}: {'(absent)' if old is missing else _short(old)} -> "
                         f"{'(absent)' if now is missing else _short(now)}")
    return diffs


def check_config_drift(exp_dir: PathLike) -> None:
    """Raise (and put back the trained config.yaml) if ESPnet just wrote a different config."""
    exp_dir = Path(exp_dir)
    kept = exp_dir / TRAINED_CONFIG
    if not (kept.exists() and (exp_dir / CHECKPOINT).exists()):
        return
    trained_text = kept.read_text(encoding="utf-8")
    diffs = config_differences(yaml.safe_load(trained_text) or {},
                               yaml.safe_load((exp_dir / "config.yaml").read_text(encoding="utf-8")) or {})
    if not diffs:
        return
    write_text_atomic(exp_dir / "config.yaml", trained_text)
    raise TrainingGuardError(
        f"{exp_dir} was trained with another config (differing keys: " + "; ".join(diffs) + "). "
        "Nothing was trained and config.yaml still describes the saved model. To train the new config, "
        "give it a new experiment name (asr.sh --asr_tag, cls.sh --cls_tag, or --output_dir), or start "
        "this experiment again from epoch 1 with --retrain true (the old state moves to superseded_<n>/)"
    )


# -- the trainer --------------------------------------------------------------
def save_atomically(save: Callable[..., Any], obj: Any, path: PathLike, *args: Any, **kwargs: Any) -> None:
    """``save(obj, file)`` into a temporary sibling of ``path``, synced, then renamed onto it.

    An interrupted save leaves ``path`` as it was. A replaced ``checkpoint.pth``
    becomes ``checkpoint_prev.pth``; a new one gets its config recorded.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}{PARTIAL_SUFFIX}")
    try:
        with open(tmp, "wb") as f:
            save(obj, f, *args, **kwargs)
            f.flush()
            os.fsync(f.fileno())
        if path.name == CHECKPOINT and path.exists():
            os.replace(path, path.with_name(PREVIOUS_CHECKPOINT))
        os.replace(tmp, path)
        config = path.with_name("config.yaml")
        if path.name == CHECKPOINT and config.exists():  # the config this checkpoint was trained with
            write_text_atomic(path.with_name(TRAINED_CONFIG), config.read_text(encoding="utf-8"))
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_torch_saves() -> Iterator[None]:
    """Within the context, ``torch.save`` to a path saves atomically (see :func:`save_atomically`)."""
    original = torch.save

    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(f, (str, os.PathLike)):
            return original(obj, f, *args, **kwargs)
        save_atomically(original, obj, f, *args, **kwargs)

    torch.save = save
    try:
        yield
    finally:
        torch.save = original


class ResumeSafeTrainer(Trainer):
    """ESPnet's Trainer with atomic saves that refuses to resume under a changed config."""

    @classmethod
    def run(cls, *args: Any, **kwargs: Any) -> None:
        options = kwargs["trainer_options"]
        distributed = kwargs["distributed_option"]
        if options.resume and (not distributed.distributed or distributed.dist_rank == 0):
            check_config_drift(options.output_dir)
        with atomic_torch_saves():
            super().run(*args, **kwargs)


# -- the entry point ----------------------------------------------------------
def _pop_bool_option(argv: List[str], name: str) -> Tuple[bool, List[str]]:
    """Remove ``--name true|false`` (or ``--name=...``) from argv; -> (value, rest)."""
    value, rest, i = False, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == name or arg.startswith(name + "="):
            text = arg.split("=", 1)[1] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "")
            i += 1 if "=" in arg else 2
            if text.lower() not in ("true", "false"):
                raise SystemExit(f"ERROR: {name} takes true or false, got {text!r}")
            value = text.lower() == "true"
            continue
        rest.append(arg)
        i += 1
    return value, rest


def _is_first_process(args: Any) -> bool:
    """Node 0 of a multi-process training (torchrun rank 0, launch's --dist_rank 0), or a single process."""
    from espnet2.train.distributed_utils import get_node_rank, get_rank

    try:
        if args.multiprocessing_distributed:
            rank = get_node_rank(args.dist_rank, args.dist_launcher)
        else:
            rank = get_rank(args.dist_rank, args.dist_launcher)
    except RuntimeError:
        return True  # ESPnet itself will report the bad launcher setup
    return rank in (None, 0)


def _train_and_close(task_cls: Any, argv: List[str]) -> None:
    task_cls.main(cmd=argv)
    # Close the process group that ESPnet's DDP set-up opened, all ranks together:
    # rank 0 still averages the n-best models when the others finish, and a rank
    # that tore gloo down (or exited) meanwhile was seen to abort with "terminate
    # called without an active exception" (SIGABRT, so torchrun failed the run).
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def run_training(task_cls: Any, cmd: Optional[Sequence[str]] = None) -> None:
    """``task_cls.main(cmd)`` behind the lock, the checkpoint checks and ``--retrain``."""
    retrain, argv = _pop_bool_option(list(sys.argv[1:] if cmd is None else cmd), "--retrain")
    args = task_cls.get_parser().parse_args(argv)
    if args.collect_stats or args.print_config or args.output_dir is None or not _is_first_process(args):
        _train_and_close(task_cls, argv)
        return
    exp_dir = Path(args.output_dir)
    try:
        with experiment_lock(exp_dir) as stale:
            if stale:
                _log(f"{exp_dir}: took over the lock of a trainer that is gone ({stale})")
            if retrain:
                moved = supersede_training_state(exp_dir)
                _log(f"--retrain true: {'moved the old training state to ' + str(moved) if moved else 'nothing to move'}")
            if args.resume:
                for note in recover_training_state(exp_dir):
                    _log(note)
                keep_trained_config(exp_dir)
            _train_and_close(task_cls, argv)
    except TrainingGuardError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        sys.exit(1)

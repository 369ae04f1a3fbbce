"""Training-step time and peak memory: MixRep vs ESPnet's Conformer baseline.

Same batch, same run, same weights. Three variants per model size:
  baseline  ESPnetASRModel with ConformerEncoder (train_asr_conformer_te.yaml)
  mixrep    MixRepASRModel, partner-transcript pass on the mixed rows only
  authors   the same mixing, but the whole batch through CTC and decoder twice
            (as the authors' fork does)
Sizes: "wsj" (12 blocks, d=256, FFN 2048, 6-block decoder: the paper's) and
"small" (4 blocks, d=144, FFN 576, 2-block decoder). Prints median step time
(forward + backward + Adam step) and peak memory, and their ratios to the
baseline. Peak memory is torch.cuda.max_memory_allocated on a GPU; on CPU,
where torch keeps no allocator statistics, it is the memory of the activations
saved for the backward pass (what differs between the variants; weights,
gradients and Adam state are the same for all three). Targets (issue 2): time ratio <= 1.05 at tau = 0.15, memory <= 1.10.
frames_per_s: the frontend's frames (hop 128 at 16 kHz) of the batch per second of training step.
--autocast bf16 runs the forward pass under torch.autocast(bfloat16), as
ESPnet's --use_amp true does on GPUs that support it.

  python benchmarks/mixrep_step.py [--sizes wsj small] [--device cpu|cuda] [--steps 5] [--autocast bf16]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
import yaml

REPO = Path(__file__).resolve().parent.parent
TUNING = REPO / "egs2/wsj_mixrep/asr1/conf/tuning"
TOKENS = ["<blank>", "<unk>", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ'.-", "<space>", "<sos/eos>"]
SMALL = dict(encoder_conf=dict(output_size=144, linear_units=576, num_blocks=4, cnn_module_kernel=15),
             decoder_conf=dict(linear_units=576, num_blocks=2))
VARIANTS = ("baseline", "mixrep", "authors")


def build(variant: str, size: str, tau: float, device: str):
    from espnet2.tasks.asr import ASRTask

    from espnet_mixrep.registration import register_all

    register_all()
    name = "train_asr_conformer_te.yaml" if variant == "baseline" else "train_asr_mixrep_s0_9.yaml"
    config = yaml.safe_load((TUNING / name).read_text())
    if size == "small":
        for key, override in SMALL.items():
            config[key].update(override)
        if variant != "baseline":
            config["encoder_conf"]["mix_layers"] = "0,3"
    if variant != "baseline":
        config["encoder_conf"]["mix_tau"] = tau
    config.update(token_list=TOKENS, normalize=None, input_size=None)
    parser = ASRTask.get_parser()
    args = parser.parse_args(["--output_dir", "/tmp/unused"])
    vars(args).update(config)
    torch.manual_seed(0)
    model = ASRTask.build_model(args).to(device).train()
    return model


def make_batch(batch_size: int, device: str, seed: int = 0) -> Tuple[torch.Tensor, ...]:
    """WSJ-like: 16 kHz, 4-10 s utterances, ~12 characters per second."""
    g = torch.Generator().manual_seed(seed)
    seconds = 4 + 6 * torch.rand(batch_size, generator=g)
    speech_lengths = (seconds * 16000).long()
    text_lengths = (seconds * 12).long()
    speech = torch.randn(batch_size, int(speech_lengths.max()), generator=g) * 0.1
    text = torch.randint(2, len(TOKENS) - 1, (batch_size, int(text_lengths.max())), generator=g)
    for i in range(batch_size):
        speech[i, speech_lengths[i]:] = 0
        text[i, text_lengths[i]:] = -1
    return tuple(t.to(device) for t in (speech, speech_lengths, text, text_lengths))


def authors_loss(model, speech, speech_lengths, text, text_lengths):
    """The authors' step: every row mixed-or-not goes through CTC and decoder twice."""
    plan = model.encoder.draw_mix_plan(speech.size(0))
    if plan is None:
        return model(speech, speech_lengths, text, text_lengths)[0]
    text = text.masked_fill(text == -1, model.ignore_id)
    with model._mixing(plan):
        enc, enc_lens = model.encode(speech, speech_lengths)
    partner_of = torch.arange(speech.size(0), device=enc.device).index_copy(
        0, plan.rows.to(enc.device), plan.partners.to(enc.device))
    lam = torch.ones(speech.size(0), device=enc.device).index_copy(0, plan.rows.to(enc.device), plan.lam.to(enc.device))
    other_text, other_lens = text[partner_of], text_lengths[partner_of]
    ctc = lam * model._ctc_per_row(enc, enc_lens, text, text_lengths) + (1 - lam) * model._ctc_per_row(
        enc, enc_lens, other_text, other_lens)
    att = lam * model._att_per_row(enc, enc_lens, text, text_lengths)[0] + (1 - lam) * model._att_per_row(
        enc, enc_lens, other_text, other_lens)[0]
    B = speech.size(0)
    return model.ctc_weight * ctc.sum() / B + (1 - model.ctc_weight) * att.sum() / B


def step(variant: str, model, optimizer, batch, autocast: Optional[torch.dtype] = None) -> None:
    optimizer.zero_grad(set_to_none=True)
    device = batch[0].device.type
    with torch.autocast(device, dtype=autocast) if autocast else contextlib.nullcontext():
        if variant == "authors":
            loss = authors_loss(model, *batch)
        else:
            loss = model(*batch)[0]
    loss.backward()
    optimizer.step()


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_variants(size: str, tau: float, device: str, steps: int, batch_size: int,
                  autocast: Optional[torch.dtype] = None) -> Dict[str, float]:
    models = {v: build(v, size, tau, device) for v in VARIANTS}
    state = models["baseline"].state_dict()
    for v in VARIANTS[1:]:
        models[v].load_state_dict(state)
    optimizers = {v: torch.optim.Adam(models[v].parameters(), lr=1e-4) for v in VARIANTS}
    batch = make_batch(batch_size, device)
    times: Dict[str, List[float]] = {v: [] for v in VARIANTS}
    for round_ in range(steps + 1):  # round 0 is warm-up; variants interleaved
        for v in VARIANTS:
            b = tuple(t.clone() for t in batch)
            sync(device)
            start = time.perf_counter()
            step(v, models[v], optimizers[v], b, autocast)
            sync(device)
            if round_ > 0:
                times[v].append(time.perf_counter() - start)
    return {v: statistics.median(t) for v, t in times.items()}


def peak_memory(variant: str, size: str, tau: float, device: str, batch_size: int,
                autocast: Optional[torch.dtype] = None) -> float:
    """Peak training-step memory of one variant, in bytes (see the module doc)."""
    model = build(variant, size, tau, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    batch = make_batch(batch_size, device)
    if device == "cuda":
        step(variant, model, optimizer, tuple(t.clone() for t in batch), autocast)  # optimizer state exists from here
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        step(variant, model, optimizer, tuple(t.clone() for t in batch), autocast)
        torch.cuda.synchronize()
        return float(torch.cuda.max_memory_allocated())
    # CPU: torch keeps no allocator statistics, so count what the step adds on
    # top of weights, gradients and optimizer state (identical across variants):
    # the activations autograd saves for the backward pass, at their peak (the
    # end of the forward pass).
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: Dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step(variant, model, optimizer, tuple(t.clone() for t in batch), autocast)
    return float(sum(saved.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["small", "wsj"], choices=["small", "wsj"])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tau", type=float, default=0.15)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--skip_memory", action="store_true")
    parser.add_argument("--autocast", choices=["none", "bf16"], default="none")
    args = parser.parse_args()
    autocast = torch.bfloat16 if args.autocast == "bf16" else None
    hop = yaml.safe_load((TUNING / "train_asr_conformer_te.yaml").read_text())["frontend_conf"]["hop_length"]
    frames = float(make_batch(args.batch_size, "cpu")[1].sum()) / hop  # the frontend's frames
    print(f"device={args.device} tau={args.tau} batch={args.batch_size} steps={args.steps} autocast={args.autocast} "
          f"torch={torch.__version__} threads={torch.get_num_threads()}")
    print(f"{'size':6} {'variant':9} {'step_s':>8} {'time_ratio':>10} {'peak_MiB':>9} {'mem_ratio':>9} {'frames_per_s':>12}")
    for size in args.sizes:
        times = time_variants(size, args.tau, args.device, args.steps, args.batch_size, autocast)
        mem = {v: (float("nan") if args.skip_memory
                   else peak_memory(v, size, args.tau, args.device, args.batch_size, autocast))
               for v in VARIANTS}
        for v in VARIANTS:
            print(f"{size:6} {v:9} {times[v]:8.3f} {times[v] / times['baseline']:10.3f} "
                  f"{mem[v] / 2**20:9.1f} {mem[v] / mem['baseline']:9.3f} {frames / times[v]:12.0f}", flush=True)


if __name__ == "__main__":
    main()

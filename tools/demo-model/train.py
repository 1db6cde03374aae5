"""Train the demo MiniCPM-V model on synthetic kiosk scenes (CPU, float32, deterministic seed).

    .venv/bin/python tools/demo-model/train.py --out build/demo --steps 800

Writes OUT/model.pt (state dict + config), OUT/tokenizer.json and OUT/train-log.txt.
Training scenes use seeds [seed*10^6, ...); evaluate.py uses a disjoint range.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

import demomodel as dm
import scenes


def make_example(seed: int, cfg: dm.Config, vocab: dm.Vocab):
    """One image, all its questions packed behind one shared image prefix."""
    sc = scenes.make_scene(seed)
    prep = dm.preprocess(sc.image, cfg)
    prefix = dm.image_prefix(vocab, prep.grid, cfg.queries)
    segs, answer_starts = [], []
    for kind, q, a, _ in sc.questions():
        qi = dm.question_ids(vocab, q)
        segs.append(qi + vocab.encode(a) + [vocab.id["<|im_end|>"]])
        answer_starts.append(len(qi))
    return prep, prefix, segs, answer_starts, aux_labels(sc)


N_CLS = (len(scenes.SHAPES) + 1, len(scenes.COLOURS) + 1, len(scenes.SIZES) + 1)


def aux_labels(sc):
    """Per cell (shape, colour, size) class (0 = empty), shape count, sign word (0 = none)."""
    cells = [[0, 0, 0] for _ in range(9)]
    for o in sc.objects:
        cells[o.cell] = [scenes.SHAPES.index(o.shape) + 1, list(scenes.COLOURS).index(o.colour) + 1,
                         scenes.SIZES.index(o.size) + 1]
    sign = 0 if sc.sign is None else scenes.WORDS.index(sc.sign) + 1
    return cells, len(sc.objects), sign


class AuxHeads(torch.nn.Module):
    """Training-only probes on the resampler output (not exported): they give the vision tower
    and resampler a direct gradient for the scene attributes, which the tiny LLM alone takes
    thousands of images to provide. Overview tokens -> per-cell attributes and count; mean of
    all crops' tokens -> sign word."""

    def __init__(self, cfg: dm.Config):
        super().__init__()
        flat = cfg.queries * cfg.d_model
        self.cells = torch.nn.Linear(flat, 9 * sum(N_CLS))
        self.count = torch.nn.Linear(flat, 4)
        self.sign = torch.nn.Linear(cfg.d_model, len(scenes.WORDS) + 1)

    def loss(self, vis_crops, crop_counts, labels):
        ov_idx, at = [], 0
        for n in crop_counts:
            ov_idx.append(at)
            at += n
        ov = vis_crops[ov_idx].flatten(1)                        # [B, Q*D]
        cell_logits = self.cells(ov).view(len(ov_idx), 9, sum(N_CLS))
        cells = torch.tensor([c for c, _, _ in labels])          # [B, 9, 3]
        loss, off = 0.0, 0
        for k, n in enumerate(N_CLS):
            loss = loss + F.cross_entropy(cell_logits[..., off:off + n].reshape(-1, n),
                                          cells[..., k].reshape(-1))
            off += n
        loss = loss + F.cross_entropy(self.count(ov), torch.tensor([c for _, c, _ in labels]))
        pooled = torch.stack([vis_crops[s:s + n].mean(dim=(0, 1))
                              for s, n in zip(ov_idx, crop_counts)])
        return loss + F.cross_entropy(self.sign(pooled), torch.tensor([w for _, _, w in labels]))


def collate(examples, cfg: dm.Config, pad_id: int):
    crops, rows = [], []
    for prep, prefix, segs, starts, _ in examples:
        off = len(crops) * cfg.queries
        prefix = [t - off if t < 0 else t for t in prefix]
        ids, pos, seg, order = dm.pack(prefix, segs)
        labels = [-100] * len(ids)
        at = len(prefix)
        for s, st in zip(segs, starts):
            # position at+i predicts token i+1 of the segment; learn answer + <|im_end|>
            for i in range(st - 1, len(s) - 1):
                labels[at + i] = s[i + 1]
            at += len(s)
        rows.append((ids, pos, seg, order, labels))
        crops += prep.crops
    T = max(len(r[0]) for r in rows)
    B = len(rows)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    pos = torch.zeros((B, T), dtype=torch.long)
    seg = torch.full((B, T), -2, dtype=torch.long)   # padding: its own segment
    order = torch.arange(T).repeat(B, 1)
    labels = torch.full((B, T), -100, dtype=torch.long)
    for i, (a, p, s, o, l) in enumerate(rows):
        n = len(a)
        ids[i, :n], pos[i, :n], seg[i, :n], labels[i, :n] = (torch.tensor(a), torch.tensor(p),
                                                              torch.tensor(s), torch.tensor(l))
    return crops, ids, pos, seg, order, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=8, help="images per step")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--aux-weight", type=float, default=0.3)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--save-every", type=int, default=100,
                    help="also write OUT/ckpt-STEP.pt (same schedule; for stopping early)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)

    tok = dm.build_tokenizer()
    tok.save(os.path.join(args.out, "tokenizer.json"))
    vocab = dm.Vocab(tok)
    cfg = dm.Config(vocab_size=tok.get_vocab_size())
    model = dm.DemoVLM(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "pos" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "pos" not in n)]
    aux = AuxHeads(cfg)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0},
                             {"params": list(aux.parameters()), "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-8)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        t = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    log = open(os.path.join(args.out, "train-log.txt"), "w")
    msg = (f"params {n_params} vocab {cfg.vocab_size} config {json.dumps(dm.config_dict(cfg))} "
           f"args {vars(args)}")
    print(msg, flush=True)
    log.write(msg + "\n")
    base = args.seed * 1_000_000
    t0 = time.time()
    ema = None
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        exs = [make_example(base + step * args.batch + i, cfg, vocab) for i in range(args.batch)]
        crops, ids, pos, seg, order, labels = collate(exs, cfg, vocab.id["<|endoftext|>"])
        vis_crops = model.encode_crops(crops)
        vis = vis_crops.reshape(-1, cfg.d_model)
        logits = model.logits(ids, vis, pos, seg, order)
        lm_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                  ignore_index=-100)
        aux_loss = aux.loss(vis_crops, [len(e[0].crops) for e in exs], [e[4] for e in exs])
        loss = lm_loss + args.aux_weight * aux_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(aux.parameters()), 1.0)
        opt.step()
        ema = lm_loss.item() if ema is None else 0.95 * ema + 0.05 * lm_loss.item()
        if step % args.log_every == 0 or step == args.steps - 1:
            msg = (f"step {step} loss {loss.item():.4f} lm {lm_loss.item():.4f} "
                   f"aux {aux_loss.item():.4f} ema {ema:.4f} lr {lr_at(step):.2e} "
                   f"crops {len(crops)} T {ids.shape[1]} elapsed {time.time() - t0:.0f}s")
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if args.save_every and (step + 1) % args.save_every == 0 and step + 1 < args.steps:
            torch.save({"config": dm.config_dict(cfg), "state": model.state_dict(),
                        "args": vars(args), "steps_done": step + 1,
                        "wall_seconds": time.time() - t0},
                       os.path.join(args.out, f"ckpt-{step + 1}.pt"))
    wall = time.time() - t0
    torch.save({"config": dm.config_dict(cfg), "state": model.state_dict(), "steps_done": args.steps,
                "args": vars(args), "wall_seconds": wall}, os.path.join(args.out, "model.pt"))
    msg = f"done: {args.steps} steps in {wall:.0f}s"
    print(msg)
    log.write(msg + "\n")


if __name__ == "__main__":
    main()

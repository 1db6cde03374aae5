"""Toy check of the demo ViT's ability to learn shape: one large shape per 168x168 image.

    nice -n 5 .venv/bin/python tools/demo-model/toy_shapes.py --model vit --seconds 100

Each image holds a single shape (scenes.py's drawing, random colour and background) of radius
--radius (default 20-40 px, i.e. 3-6 patches across) at a random position; the classifier is a
pooling of the per-token features (--readout: mean, max, or attention pooling with one learned
query) followed by a linear layer (6 shapes, chance 1/6). --model picks the token features:
`vit` (the demo ViT, post_ln output), `mlp` (patch embedding + a per-token GELU MLP, no
attention), `linear` (patch embedding only), `torch` (the same patch embedding and position
table, then 3 of PyTorch's own pre-norm `TransformerEncoderLayer`s, width 64, 4 heads, MLP 256,
GELU, and a LayerNorm: an independent check of the demo ViT blocks), `cnn` (a small conv net on
the pixels: the learnability check of round 5), `distill` (the demo ViT trained jointly on the
readout and on regressing, token by token, the 12x12 feature grid of a patch-aligned CNN
teacher that was first trained for --teacher-seconds on dense per-cell shape labels).
--patch-init edges initialises the ViT patch embedding as oriented luminance edge filters at
several sub-patch offsets (an init only; still trained). Prints held-out accuracy on 300 fixed
images every 50 steps of batch 32, with the number of training images seen.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

import demomodel as dm
import scenes


def sample(rng: random.Random, radius):
    """(patches, shape index, [144] dense cell labels: shape+1 where the shape covers >= 30 % of
    the 14x14 cell, 0 = background)."""
    img = Image.new("RGB", (168, 168), rng.choice(scenes.BACKGROUNDS))
    k = rng.randrange(len(scenes.SHAPES))
    r = rng.uniform(*radius)
    cx, cy = rng.uniform(r, 168 - r), rng.uniform(r, 168 - r)
    scenes._draw_shape(ImageDraw.Draw(img), scenes.SHAPES[k], cx, cy, r,
                       scenes.COLOURS[rng.choice(list(scenes.COLOURS))])
    mask = Image.new("L", (168, 168), 0)
    scenes._draw_shape(ImageDraw.Draw(mask), scenes.SHAPES[k], cx, cy, r, 255)
    cover = np.asarray(mask, dtype=np.float32).reshape(12, 14, 12, 14).mean((1, 3)) / 255
    cells = np.where(cover.reshape(-1) >= 0.3, k + 1, 0).astype(np.int64)
    return dm.patchify(img), k, cells


def unpatchify(p, h: int = 12, w: int = 12):
    """[h*w, 3*14*14] (c, ky, kx) patches -> [3, 14h, 14w] image (inverse of dm.patchify)."""
    return p.reshape(h, w, 3, 14, 14).transpose(2, 0, 3, 1, 4).reshape(3, 14 * h, 14 * w)


class Transpose(torch.nn.Module):
    def forward(self, x):
        return x.transpose(1, 2)


def conv_net(width: int) -> torch.nn.Module:
    """Learnability check: 4 x (conv3x3 + ReLU + 2x2 max-pool), 168 -> 10 px grid, output
    [B, cells, width] like the ViT's tokens (so the same readout applies)."""
    layers, c_in = [], 3
    for c_out in (16, 32, 64, width):
        layers += [torch.nn.Conv2d(c_in, c_out, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        c_in = c_out
    return torch.nn.Sequential(*layers, torch.nn.Flatten(2), Transpose())


def patch_cnn(width: int) -> torch.nn.Module:
    """Patch-aligned teacher: its output grid is the ViT's 12x12 patch grid (168 / 14)."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(7),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(64, width, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(width, width, 3, padding=1),
        torch.nn.Flatten(2), Transpose())


def edge_filters(width: int, n_colour: int = 16) -> torch.Tensor:
    """[width, 588] patch-embedding init: rows n_colour.. are soft luminance step edges at
    8 orientations and several offsets from the patch centre; the first n_colour rows keep
    PyTorch's default init (colour). Scaled to the default init's row norm."""
    ys, xs = np.mgrid[0:14, 0:14].astype(np.float32) - 6.5
    rows = []
    n_edge = width - n_colour
    n_off = max(1, n_edge // 8)
    offsets = np.linspace(-5, 5, n_off)
    for j in range(n_edge):
        th = math.pi * 2 * (j % 8) / 8
        d = offsets[(j // 8) % n_off]
        f = np.tanh((xs * math.cos(th) + ys * math.sin(th) - d) / 1.0)
        f = f - f.mean()
        rows.append(np.tile(f.reshape(1, -1), (3, 1)).reshape(-1) / 3)  # (c, ky, kx) order
    e = torch.from_numpy(np.stack(rows))
    return e


def readout_pool(kind: str, f: torch.Tensor, attn: torch.nn.Module) -> torch.Tensor:
    if kind == "mean":
        return f.mean(1)
    if kind == "max":
        return f.max(1).values
    w = torch.softmax(attn(f).squeeze(-1), dim=1)       # [B, N] one learned query
    return torch.einsum("bn,bnw->bw", w, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["vit", "mlp", "linear", "torch", "cnn", "distill"], default="vit")
    ap.add_argument("--radius", type=float, nargs=2, default=(20.0, 40.0))
    ap.add_argument("--seconds", type=float, default=100)
    ap.add_argument("--teacher-seconds", type=float, default=120)
    ap.add_argument("--distill-weight", type=float, default=1.0)
    ap.add_argument("--distill-loss", choices=["cosine", "mse"], default="cosine",
                    help="mse: on teacher features standardised per channel (held-out mean/std)")
    ap.add_argument("--teacher", help="load the teacher from / save it to this file")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=0, help="linear lr warm-up steps")
    ap.add_argument("--readout", choices=["mean", "max", "attn"], default="mean")
    ap.add_argument("--v-width", type=int, default=64)
    ap.add_argument("--patch-init", choices=["default", "edges"], default="default")
    ap.add_argument("--pos-init", choices=["random", "sincos"], default="sincos")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = dm.Config(vocab_size=16, v_width=args.v_width, v_ffn=4 * args.v_width,
                    pos_init_sincos=args.pos_init == "sincos", pos_init_scale=0.5)
    m = dm.DemoVLM(cfg)
    if args.patch_init == "edges":
        with torch.no_grad():
            e = edge_filters(cfg.v_width)
            w = m.patch.weight
            e = e * (w[16:].norm(dim=1).mean() / e.norm(dim=1).mean())
            w[16:] = e
    head = torch.nn.Linear(cfg.v_width, len(scenes.SHAPES))
    attn = torch.nn.Linear(cfg.v_width, 1)
    mlp = torch.nn.Sequential(torch.nn.Linear(cfg.v_width, 4 * cfg.v_width), torch.nn.GELU(),
                              torch.nn.Linear(4 * cfg.v_width, cfg.v_width))
    params = [p for n, p in m.named_parameters() if n.startswith(("patch.", "pos.", "vit.", "post_ln."))]
    ref = torch.nn.ModuleList(torch.nn.TransformerEncoderLayer(
        cfg.v_width, cfg.v_heads, cfg.v_ffn, dropout=0.0, activation="gelu", batch_first=True,
        norm_first=True) for _ in range(cfg.v_layers))
    ref_ln = torch.nn.LayerNorm(cfg.v_width)
    params += list(head.parameters()) + list(mlp.parameters()) + list(attn.parameters())
    if args.model == "torch":
        params += list(ref.parameters()) + list(ref_ln.parameters())
    cnn = conv_net(cfg.v_width)
    if args.model == "cnn":
        params = list(cnn.parameters()) + list(head.parameters()) + list(attn.parameters())
    rng, held_rng = random.Random(0), random.Random(99)
    held = [sample(held_rng, args.radius) for _ in range(300)]
    images = lambda batch: torch.stack([torch.from_numpy(unpatchify(b[0][0])) for b in batch])

    teacher, proj = None, None
    if args.model == "distill":
        teacher = patch_cnn(64)
        cell_head = torch.nn.Linear(64, len(scenes.SHAPES) + 1)
        topt = torch.optim.AdamW(list(teacher.parameters()) + list(cell_head.parameters()), lr=1e-3)
        t0, step = time.time(), 0
        loaded = False
        if args.teacher and os.path.exists(args.teacher):
            teacher.load_state_dict(torch.load(args.teacher))
            print(f"teacher loaded from {args.teacher}", flush=True)
            loaded = True
        while not loaded and time.time() - t0 < args.teacher_seconds:
            batch = [sample(rng, args.radius) for _ in range(32)]
            cells = torch.from_numpy(np.stack([b[2] for b in batch]))
            lg = cell_head(teacher(images(batch)))
            wt = torch.where(cells > 0, 4.0, 1.0)
            loss = (F.cross_entropy(lg.reshape(-1, lg.shape[-1]), cells.reshape(-1), reduction="none")
                    * wt.reshape(-1)).sum() / wt.sum()
            topt.zero_grad()
            loss.backward()
            topt.step()
            if step % 50 == 0:
                with torch.no_grad():
                    lg = cell_head(teacher(images(held)))
                    cells = torch.from_numpy(np.stack([b[2] for b in held]))
                    on = cells > 0
                    cacc = (lg.argmax(-1)[on] == cells[on]).float().mean().item()
                    # image-level: majority vote of the object cells' predicted shape
                    votes = F.softmax(lg, -1)[..., 1:].sum(1).argmax(-1)
                    iacc = (votes == torch.tensor([b[1] for b in held])).float().mean().item()
                print(f"teacher step {step} {time.time() - t0:.0f}s images {step * 32} loss {loss.item():.3f} "
                      f"held object-cell acc {cacc:.3f} image vote acc {iacc:.3f}", flush=True)
            step += 1
        if args.teacher and not loaded:
            torch.save(teacher.state_dict(), args.teacher)
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            hf = teacher(images(held)).reshape(-1, 64)
            t_mean, t_std = hf.mean(0), hf.std(0).clamp_min(1e-3)
        proj = torch.nn.Linear(cfg.v_width, 64)
        params += list(proj.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr)

    def run(batch):
        if args.model == "cnn":
            f = cnn(images(batch))
        elif args.model in ("vit", "distill"):
            _, f = m.encode_crops([b[0] for b in batch], return_patches=True)
        else:
            f = m.patch(torch.stack([torch.from_numpy(b[0][0]) for b in batch]))
            if args.model == "mlp":
                f = mlp(F.gelu(f))
            elif args.model == "torch":
                f = f + m.pos(torch.from_numpy(dm.bucket_ids(12, 12)))
                for layer in ref:
                    f = layer(f)
                f = ref_ln(f)
        return head(readout_pool(args.readout, f, attn)), torch.tensor([b[1] for b in batch]), f

    t0, step = time.time(), 0
    while time.time() - t0 < args.seconds:
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / max(args.warmup, 1))
        batch = [sample(rng, args.radius) for _ in range(32)]
        logits, y, f = run(batch)
        loss = F.cross_entropy(logits, y)
        dl = torch.zeros(())
        if teacher is not None:
            with torch.no_grad():
                tf = teacher(images(batch))
            if args.distill_loss == "cosine":
                dl = (1 - F.cosine_similarity(proj(f), tf, dim=-1)).mean()
            else:
                dl = F.mse_loss(proj(f), (tf - t_mean) / t_std)
            loss = loss + args.distill_weight * dl
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            with torch.no_grad():
                logits, y, _ = run(held)
            acc = (logits.argmax(-1) == y).float().mean().item()
            print(f"step {step} {time.time() - t0:.0f}s images {step * 32} loss {loss.item():.3f} "
                  f"distill {dl.item():.3f} held {acc:.3f}", flush=True)
        step += 1


if __name__ == "__main__":
    main()

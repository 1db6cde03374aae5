"""Toy check of the demo ViT's ability to learn shape: one large shape per 168x168 image.

    nice -n 5 .venv/bin/python tools/demo-model/toy_shapes.py --model vit --seconds 100

Each image holds a single shape (scenes.py's drawing, random colour and background) of radius
--radius (default 20-40 px, i.e. 3-6 patches across) at a random position; the classifier is the
mean of the per-token features followed by a linear layer (6 shapes, chance 1/6). --model picks
the token features: `vit` (the demo ViT, post_ln output), `mlp` (patch embedding + a per-token
GELU MLP, no attention), `linear` (patch embedding only), `torch` (the same patch embedding and
position table, then 3 of PyTorch's own pre-norm `TransformerEncoderLayer`s, width 64, 4 heads,
MLP 256, GELU, and a LayerNorm: an independent check of the demo ViT blocks). Prints held-out accuracy on 300 fixed
images every 50 steps of batch 32.
"""
from __future__ import annotations

import argparse
import random
import time

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

import demomodel as dm
import scenes


def sample(rng: random.Random, radius):
    img = Image.new("RGB", (168, 168), rng.choice(scenes.BACKGROUNDS))
    k = rng.randrange(len(scenes.SHAPES))
    r = rng.uniform(*radius)
    cx, cy = rng.uniform(r, 168 - r), rng.uniform(r, 168 - r)
    scenes._draw_shape(ImageDraw.Draw(img), scenes.SHAPES[k], cx, cy, r,
                       scenes.COLOURS[rng.choice(list(scenes.COLOURS))])
    return dm.patchify(img), k


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["vit", "mlp", "linear", "torch"], default="vit")
    ap.add_argument("--radius", type=float, nargs=2, default=(20.0, 40.0))
    ap.add_argument("--seconds", type=float, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--pos-init", choices=["random", "sincos"], default="sincos")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = dm.Config(vocab_size=16, pos_init_sincos=args.pos_init == "sincos", pos_init_scale=0.5)
    m = dm.DemoVLM(cfg)
    head = torch.nn.Linear(cfg.v_width, len(scenes.SHAPES))
    mlp = torch.nn.Sequential(torch.nn.Linear(cfg.v_width, 4 * cfg.v_width), torch.nn.GELU(),
                              torch.nn.Linear(4 * cfg.v_width, cfg.v_width))
    params = [p for n, p in m.named_parameters() if n.startswith(("patch.", "pos.", "vit.", "post_ln."))]
    ref = torch.nn.ModuleList(torch.nn.TransformerEncoderLayer(
        cfg.v_width, cfg.v_heads, cfg.v_ffn, dropout=0.0, activation="gelu", batch_first=True,
        norm_first=True) for _ in range(cfg.v_layers))
    ref_ln = torch.nn.LayerNorm(cfg.v_width)
    params += list(head.parameters()) + list(mlp.parameters())
    if args.model == "torch":
        params += list(ref.parameters()) + list(ref_ln.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr)
    rng, held_rng = random.Random(0), random.Random(99)
    held = [sample(held_rng, args.radius) for _ in range(300)]

    def run(batch):
        if args.model == "vit":
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
        return head(f.mean(1)), torch.tensor([b[1] for b in batch])

    t0, step = time.time(), 0
    while time.time() - t0 < args.seconds:
        logits, y = run([sample(rng, args.radius) for _ in range(32)])
        loss = F.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            with torch.no_grad():
                logits, y = run(held)
            acc = (logits.argmax(-1) == y).float().mean().item()
            print(f"step {step} {time.time() - t0:.0f}s loss {loss.item():.3f} held {acc:.3f}", flush=True)
        step += 1


if __name__ == "__main__":
    main()

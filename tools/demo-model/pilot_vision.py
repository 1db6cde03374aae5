"""Vision-only pilot: the ViT alone, from random init, trained with the per-object pooled probe.

    nice -n 5 .venv/bin/python tools/demo-model/pilot_vision.py --minutes 10 --log build/pilot.txt

Checks that the ViT can learn shape at all before a full run: every step draws fresh training
scenes (seeds 9*10^6 + i, disjoint from training and evaluation), encodes the crops chosen by
--crops (overview only, or overview + slices), and trains ViT + ObjectPoolHead on the pooled
shape/colour/size (and sign) loss. Every --eval-every steps it reports the pooled shape/colour/size
accuracy on a fixed held-out set of 200 scenes (evaluation seeds 7*10^6 + i).

--teacher-minutes T > 0 (round 5, dense distillation): first trains a patch-aligned CNN teacher
(toy_shapes.patch_cnn: its output grid is the crop's 14-px patch grid) for T minutes on the dense
per-patch (shape, colour, size) labels of `train.patch_labels`, then freezes it and adds
--distill-weight x (1 - cosine) between a linear projection of every ViT output token and the
teacher's feature of the same cell to the pooled object loss (144 targets per crop instead of one
per object). The teacher's pooled accuracy (same ObjectPoolHead readout, on its features) is
logged as it trains.
"""
from __future__ import annotations

import argparse
import math
import random
import time

import numpy as np
import torch

import demomodel as dm
import scenes
import toy_shapes
import train


def batch(seeds, cfg, overview_only):
    crops, labels = [], []
    for s in seeds:
        sc = scenes.make_scene(s)
        prep = dm.preprocess(sc.image, cfg)
        if overview_only:
            prep = dm.Prepared(prep.crops[:1], None)
        crops += prep.crops
        labels += train.patch_labels(sc, prep)
    n = max(p.shape[0] for p, _, _ in crops)
    lab = torch.full((len(labels), n, 4), -100, dtype=torch.long)
    for i, l in enumerate(labels):
        lab[i, :l.shape[0]] = torch.from_numpy(l)
    return crops, lab


def crop_images(crops) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops -> zero-padded pixel batch [B, 3, 14 H, 14 W] and the token index of every cell of the
    teacher's H x W output grid in the ViT's row-major token order ([B, H*W], -1 = padding)."""
    H, W = max(h for _, h, _ in crops), max(w for _, _, w in crops)
    img = torch.zeros(len(crops), 3, 14 * H, 14 * W)
    idx = torch.full((len(crops), H, W), -1, dtype=torch.long)
    for i, (p, h, w) in enumerate(crops):
        img[i, :, :14 * h, :14 * w] = torch.from_numpy(toy_shapes.unpatchify(p, h, w))
        idx[i, :h, :w] = torch.arange(h * w).view(h, w)
    return img, idx.view(len(crops), -1)


def teacher_tokens(teacher, crops, n: int) -> torch.Tensor:
    """Teacher features rearranged to the ViT token layout [B, n, C] (zeros on padding)."""
    img, idx = crop_images(crops)
    f = teacher(img)                                   # [B, H*W, C]
    out = torch.zeros(len(crops), n, f.shape[-1])
    valid = idx >= 0
    b = torch.arange(len(crops))[:, None].expand_as(idx)
    out[b[valid], idx[valid]] = f[valid]
    return out


def accuracy(model, head, data, teacher=None):
    """Pooled per-object (shape, colour, size) accuracy over held-out crops (of the teacher's
    features when `teacher` is given)."""
    hits, tot = np.zeros(5), np.zeros(5)
    with torch.no_grad():
        for crops, lab in data:
            if teacher is not None:
                feats = teacher_tokens(teacher, crops, lab.shape[1])
            else:
                _, feats = model.encode_crops(crops, return_patches=True)
            shape = lab[..., 0].clamp_min(0)
            onehot = torch.nn.functional.one_hot(shape, train.N_CLS[0]).float()[..., 1:]
            cnt = onehot.sum(1)
            pooled = head.pool(feats, onehot)
            present = cnt > 0
            first = ((onehot.cumsum(1) == 1) & (onehot > 0)).float().argmax(1)
            want = torch.gather(lab[..., :3], 1, first[..., None].expand(-1, -1, 3))[present]
            logits = head.obj(pooled[present])
            off = 0
            for k, n in enumerate(head.sizes):
                ok = logits[:, off:off + n].argmax(-1) == want[:, k]
                hits[k] += ok.sum().item()
                tot[k] += want.shape[0]
                if k == 0:  # shape accuracy of big (size class 1) and small (2) objects
                    for j in (1, 2):
                        hits[2 + j] += ok[want[:, 2] == j].sum().item()
                        tot[2 + j] += (want[:, 2] == j).sum().item()
                off += n
    return hits / np.maximum(tot, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image-size", type=int, default=168)
    ap.add_argument("--v-width", type=int, default=64)
    ap.add_argument("--v-ffn", type=int, default=256)
    ap.add_argument("--v-layers", type=int, default=3)
    ap.add_argument("--v-heads", type=int, default=4)
    ap.add_argument("--pos-init", choices=["random", "sincos"], default="random")
    ap.add_argument("--pos-scale", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=16, help="images per step")
    ap.add_argument("--crops", choices=["overview", "all"], default="overview")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", required=True)
    ap.add_argument("--pool", choices=["mean", "max"], default="mean",
                    help="ObjectPoolHead pooling over an object's tokens")
    ap.add_argument("--save", help="write the trained ViT (patch, pos, vit, post_ln) and the probe here, "
                    "for train.py --init-vision")
    ap.add_argument("--teacher-minutes", type=float, default=0.0)
    ap.add_argument("--teacher-lr", type=float, default=1e-3)
    ap.add_argument("--distill-weight", type=float, default=1.0)
    args = ap.parse_args()
    scenes.BASE_SIDE = args.image_size
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    cfg = dm.Config(vocab_size=16, image_size=args.image_size, v_width=args.v_width,
                    v_ffn=args.v_ffn, v_layers=args.v_layers, v_heads=args.v_heads,
                    pos_init_sincos=args.pos_init == "sincos", pos_init_scale=args.pos_scale)
    model = dm.DemoVLM(cfg)
    head = train.ObjectPoolHead(cfg, args.pool)
    vision = [p for n, p in model.named_parameters() if n.startswith(("patch.", "pos.", "vit.", "post_ln."))]
    opt = torch.optim.AdamW(vision + list(head.parameters()), lr=args.lr, betas=(0.9, 0.98),
                            weight_decay=0.01)
    ov = args.crops == "overview"
    held = [batch(range(7_000_000 + i, 7_000_000 + i + 20), cfg, ov) for i in range(0, 200, 20)]
    log = open(args.log, "w")
    teacher, proj, params = None, None, vision + list(head.parameters())
    if args.teacher_minutes > 0:
        teacher = toy_shapes.patch_cnn(64)
        thead = train.ObjectPoolHead(dm.Config(vocab_size=16, v_width=64))
        cell = train.DensePatchHead(dm.Config(vocab_size=16, v_width=64))
        tparams = list(teacher.parameters()) + list(thead.parameters()) + list(cell.parameters())
        topt = torch.optim.AdamW(tparams, lr=args.teacher_lr)
        t0, step = time.time(), 0
        while time.time() - t0 < args.teacher_minutes * 60:
            crops, lab = batch(range(8_000_000 + step * args.batch, 8_000_000 + (step + 1) * args.batch), cfg, ov)
            feats = teacher_tokens(teacher, crops, lab.shape[1])
            dense, _ = cell.losses(feats, lab)
            obj, _, acc = thead.losses(feats, lab)
            topt.zero_grad(set_to_none=True)
            (dense + obj).backward()
            topt.step()
            if step % args.eval_every == 0:
                a = accuracy(None, thead, held, teacher)
                msg = (f"teacher step {step} t {time.time() - t0:.0f}s images {step * args.batch} dense {dense.item():.3f} "
                       f"obj {obj.item():.3f} held shape {a[0]:.3f} colour {a[1]:.3f} size {a[2]:.3f}")
                print(msg, flush=True)
                log.write(msg + "\n")
                log.flush()
            step += 1
        a = accuracy(None, thead, held, teacher)
        msg = f"teacher final step {step} images {step * args.batch} held shape {a[0]:.3f} colour {a[1]:.3f} size {a[2]:.3f}"
        print(msg, flush=True)
        log.write(msg + "\n")
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        proj = torch.nn.Linear(cfg.v_width, 64)
        params += list(proj.parameters())
        opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    t0, step, ema = time.time(), 0, None
    total = args.minutes * 60
    while time.time() - t0 < total:
        frac = (time.time() - t0) / total
        lr = args.lr * min(1.0, (step + 1) / 50) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        crops, lab = batch(range(9_000_000 + step * args.batch, 9_000_000 + (step + 1) * args.batch), cfg, ov)
        _, feats = model.encode_crops(crops, return_patches=True)
        obj, sign, acc = head.losses(feats, lab)
        loss = obj + (0 if ov else sign)
        dl = torch.zeros(())
        if teacher is not None:
            with torch.no_grad():
                tf = teacher_tokens(teacher, crops, feats.shape[1])
            valid = lab[..., 0] >= 0
            dl = (1 - torch.nn.functional.cosine_similarity(proj(feats), tf, dim=-1))[valid].mean()
            loss = loss + args.distill_weight * dl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema = acc.item() if ema is None else 0.95 * ema + 0.05 * acc.item()
        if step % args.eval_every == 0:
            a = accuracy(model, head, held)
            msg = (f"step {step} t {time.time() - t0:.0f}s images {step * args.batch} lr {lr:.2e} loss {obj.item():.3f} distill {dl.item():.3f} sign {sign.item():.3f} "
                   f"train-shape-ema {ema:.3f} held shape {a[0]:.3f} colour {a[1]:.3f} size {a[2]:.3f} shape-big {a[3]:.3f} shape-small {a[4]:.3f}")
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        step += 1
    a = accuracy(model, head, held)
    msg = f"final step {step} t {time.time() - t0:.0f}s held shape {a[0]:.3f} colour {a[1]:.3f} size {a[2]:.3f} shape-big {a[3]:.3f} shape-small {a[4]:.3f} args {vars(args)}"
    print(msg, flush=True)
    log.write(msg + "\n")
    if args.save:
        vision_state = {k: v for k, v in model.state_dict().items()
                        if k.startswith(("patch.", "pos.", "vit.", "post_ln."))}
        torch.save({"vision": vision_state, "objhead": head.state_dict(), "args": vars(args)}, args.save)


if __name__ == "__main__":
    main()

"""Stage 1 of the staged recipe (round 9): train the ViT and the resampler alone, no LLM.

    .venv/bin/python tools/demo-model/perception.py --out build/perc --steps 1500

Rounds 2-8 trained the LLM together with a vision path that carried no shape yet; the LLM learnt
the answer prior (colour of a random object) and never unlearnt it (round8-notes.md). Here the
vision path is trained first, on the output the LLM will read: resampler query k < 9 must carry
the (shape, colour, size) of 3x3 cell k (linear cell head on the query output), the 9 cell queries
the object count, query 9 the sign word (max over crops). The attention supervision and the
per-object max-pooled ViT probe (which taught the ViT shape ~10x faster than a mean in the
round-5 toy) stay as helpers. Step-based schedule (deterministic from --seed).

Every --eval-every steps: held-out accuracy of what the LLM will see (evaluation seeds 7*10^6+i):
the cell head's shape / colour / size on occupied cells, empty-cell detection, count, sign word.
Writes OUT/perception.pt: ViT + resampler state (for train.py --init-perception) and the heads.
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import demomodel as dm
import scenes
import train

VISION_PREFIXES = ("patch.", "pos.", "vit.", "post_ln.", "resampler.")


def example(seed: int, cfg: dm.Config, overview_only: bool):
    sc = scenes.make_scene(seed)
    prep = dm.preprocess(sc.image, cfg)
    if overview_only:
        prep = dm.Prepared(prep.crops[:1], None)
    return prep, train.aux_labels(sc), train.attention_targets(sc, prep), train.patch_labels(sc, prep)


def sign_example(seed: int, cfg: dm.Config):
    """A scene with a sign -> (the crop that shows most of the sign's tokens at a readable scale,
    its attention targets, its dense labels, word index + 1); None if the scene has no sign or no
    crop shows it readably. The reading phase (--sign-crops) trains on these alone, so that the
    ViT sees thousands of signs at native resolution instead of one slice in ~14 crops."""
    sc = scenes.make_scene(seed)
    if sc.sign is None:
        return None
    prep = dm.preprocess(sc.image, cfg)
    labs = train.patch_labels(sc, prep)
    c = train.sign_crop(labs)
    if c is None:
        return None
    return prep.crops[c], train.attention_targets(sc, prep)[c], labs[c], scenes.WORDS.index(sc.sign) + 1


class SignStream:
    """Sign examples from their own seed range (disjoint from the scene stream of the step)."""

    def __init__(self, base: int, cfg: dm.Config):
        self.next, self.cfg = base, cfg

    def take(self, n: int) -> list:
        out = []
        while len(out) < n:
            e = sign_example(self.next, self.cfg)
            self.next += 1
            if e is not None:
                out.append(e)
        return out


def stack_sign(sex):
    """Sign examples -> (crops, masks [n, 10, N], dense [n, N, 4], words [n])."""
    n = max(e[0][0].shape[0] for e in sex)
    masks = torch.zeros(len(sex), train.SIGN_QUERY + 1, n, dtype=torch.bool)
    dense = torch.full((len(sex), n, 4), -100, dtype=torch.long)
    for i, (_, m, lab, _) in enumerate(sex):
        masks[i, :, :m.shape[1]] = torch.from_numpy(m)
        dense[i, :lab.shape[0]] = torch.from_numpy(lab)
    return [e[0] for e in sex], masks, dense, torch.tensor([e[3] for e in sex])


def stack(exs):
    crops = [c for e in exs for c in e[0].crops]
    n = max(p.shape[0] for p, _, _ in crops)
    masks = torch.zeros(len(crops), train.SIGN_QUERY + 1, n, dtype=torch.bool)
    dense = torch.full((len(crops), n, 4), -100, dtype=torch.long)
    i = 0
    for e in exs:
        for m, lab in zip(e[2], e[3]):
            masks[i, :, :m.shape[1]] = torch.from_numpy(m)
            dense[i, :lab.shape[0]] = torch.from_numpy(lab)
            i += 1
    return crops, [len(e[0].crops) for e in exs], [e[1] for e in exs], masks, dense


def evaluate(model, aux, held, held_sign):
    """Held-out accuracy of the cell head on the overview queries, count, the sign word (query 9,
    max over all crops of a scene: what the LLM can use) and the sign word on the crop that shows
    the sign (sign_crop)."""
    hits = dict(shape=0, colour=0, size=0, empty=0, count=0, sign=0, object=0, sign_crop=0)
    tot = dict(shape=0, colour=0, size=0, empty=0, count=0, sign=0, object=0, sign_crop=0)
    with torch.no_grad():
        for sex in held_sign:
            crops, _, _, words = stack_sign(sex)
            pred = aux.sign(model.encode_crops(crops)[:, train.SIGN_QUERY]).argmax(-1)
            hits["sign_crop"] += (pred == words).sum().item()
            tot["sign_crop"] += len(sex)
        for exs in held:
            crops, counts, labels, _, _ = stack(exs)
            vis = model.encode_crops(crops)
            ov_idx = np.cumsum([0] + counts[:-1])
            ov = vis[ov_idx, :train.CELL_QUERIES]
            lg = aux.cell(ov)
            off, pred = 0, []
            for n in train.N_CLS:
                pred.append(lg[..., off:off + n].argmax(-1))
                off += n
            cells = torch.tensor([c for c, _, _ in labels])
            occ = cells[..., 0] > 0
            hits["empty"] += ((pred[0] > 0) == occ).sum().item()
            tot["empty"] += occ.numel()
            allok = torch.ones_like(occ)
            for k, name in enumerate(("shape", "colour", "size")):
                ok = pred[k] == cells[..., k]
                allok &= ok
                hits[name] += ok[occ].sum().item()
                tot[name] += occ.sum().item()
            hits["object"] += allok[occ].sum().item()
            tot["object"] += occ.sum().item()
            cnt = aux.count(ov.flatten(1)).argmax(-1)
            hits["count"] += (cnt == torch.tensor([c for _, c, _ in labels])).sum().item()
            tot["count"] += len(labels)
            scores = aux.sign(vis[:, train.SIGN_QUERY])
            for s, n, (_, _, w) in zip(ov_idx, counts, labels):
                if w > 0:
                    hits["sign"] += int(scores[s:s + n].max(0).values.argmax().item() == w)
                    tot["sign"] += 1
    return {k: hits[k] / max(tot[k], 1) for k in hits}


def grow_vit(model, loaded_layers: int):
    """Blocks beyond the `loaded_layers` of a checkpoint start as exact identities: a pre-norm
    block whose attention output projection and second MLP layer are zero adds nothing to the
    residual stream. The trained function is kept and the new blocks add depth from there
    (round 11: more capacity for size and shape without retraining the chain from scratch)."""
    if loaded_layers > len(model.vit):
        raise SystemExit(f"--v-layers {len(model.vit)} < the checkpoint's {loaded_layers}")
    with torch.no_grad():
        for blk in model.vit[loaded_layers:]:
            for lin in (blk.o, blk.fc2):
                lin.weight.zero_()
                lin.bias.zero_()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=8, help="images per step")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--overview-only-steps", type=int, default=0)
    ap.add_argument("--object-weight", type=float, default=1.0, help="max-pooled ViT object probe")
    ap.add_argument("--attn-weight", type=float, default=1.0)
    ap.add_argument("--cell-weight", type=float, default=1.0)
    ap.add_argument("--shape-weight", type=float, default=1.0,
                    help="weight of shape within the cell head's loss (colour: 1)")
    ap.add_argument("--sign-weight", type=float, default=1.0)
    ap.add_argument("--size-weight", type=float, default=1.0, help="weight of the size term "
                    "in the cell head's loss")
    ap.add_argument("--v-layers", type=int, default=dm.Config.v_layers,
                    help="ViT blocks; with --init from fewer blocks, the new ones are appended "
                    "as identity blocks (see grow_vit)")
    ap.add_argument("--var-weight", type=float, default=0.1)
    ap.add_argument("--object-layer", type=int, default=-1,
                    help="ViT block whose output the max-pooled object probe reads (-1: post_ln). "
                         "An earlier block learns the parts; the blocks after it, trained by the "
                         "dense per-token loss, spread them over the object")
    ap.add_argument("--attn-entropy-weight", type=float, default=0.0,
                    help="penalise the entropy of the cell queries' attention: a near one-hot "
                         "attention reads one token (a max-like readout) instead of averaging")
    ap.add_argument("--dense-weight", type=float, default=0.0,
                    help="per-token (shape, colour, size) of the object under each post_ln token: "
                         "makes an average over the object's tokens, which is what the resampler "
                         "takes, carry the shape")
    ap.add_argument("--sign-font", default="", help="comma-separated sign text sizes in px "
                    "(default: scenes.SIGN_FONT_PX)")
    ap.add_argument("--sign-crops", type=int, default=0,
                    help="reading phase: N more crops per step, each the slice that shows a sign "
                         "(own seed range), trained on the sign word: query 9's word, the dense "
                         "and pooled sign probes, all at --sign-weight, in every step")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-scenes", type=int, default=100)
    ap.add_argument("--init", help="continue from a perception.pt (fresh optimizer and schedule)")
    args = ap.parse_args()
    train.start_run(args)

    cfg = dm.Config(vocab_size=16, pos_init_sincos=True, pos_init_scale=0.5,
                    v_layers=args.v_layers)
    model = dm.DemoVLM(cfg)
    aux = train.AuxHeads(cfg)
    aux.attr_weights = (args.shape_weight, 1.0, args.size_weight)
    objhead = train.ObjectPoolHead(cfg, "max")
    densehead = train.DensePatchHead(cfg)
    captured = train.capture_block_output(model, args.object_layer)
    if args.init:
        ck = torch.load(args.init, weights_only=False)
        model.load_state_dict(ck["vision"], strict=False)
        grow_vit(model, ck["config"]["v_layers"])
        aux.load_state_dict(ck["aux"])
        objhead.load_state_dict(ck["objhead"])
        if "densehead" in ck:
            densehead.load_state_dict(ck["densehead"])
    params = [p for n, p in model.named_parameters() if n.startswith(VISION_PREFIXES)]
    heads = list(aux.parameters()) + list(objhead.parameters()) + list(densehead.parameters())
    decay = [p for p in params if p.dim() >= 2]
    other = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": other + heads, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98))
    held = [[example(7_000_000 + i + j, cfg, False) for j in range(10)]
            for i in range(0, args.eval_scenes, 10)]
    held_sign = [SignStream(7_500_000 + i * 1000, cfg).take(10) for i in range(10)]
    signs = SignStream(args.seed * 1_000_000 + 500_000, cfg)
    log = open(os.path.join(args.out, "perception-log.txt"), "w")

    def out(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    out(f"args {vars(args)} sign_font {scenes.SIGN_FONT_PX} shapes {scenes.SHAPES} radius {scenes.RADIUS}")
    base = args.seed * 1_000_000
    t0, ema = time.time(), {}
    for step in range(args.steps):
        if step < args.warmup:
            lr = args.lr * (step + 1) / args.warmup
        else:
            t = (step - args.warmup) / max(1, args.steps - args.warmup)
            lr = args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))
        for g in opt.param_groups:
            g["lr"] = lr
        ov_only = step < args.overview_only_steps
        exs = [example(base + step * args.batch + i, cfg, ov_only) for i in range(args.batch)]
        crops, counts, labels, masks, dense = stack(exs)
        n_main = len(crops)
        if args.sign_crops > 0:
            s_crops, s_masks, s_dense, s_words = stack_sign(signs.take(args.sign_crops))
            crops = crops + s_crops
        vis, attn, feats = model.encode_crops(crops, return_attn=True, return_patches=True)
        layer = captured.get("layer", feats)
        if args.sign_crops > 0:
            n = masks.shape[-1]
            s_attn = train.attention_loss(attn[n_main:, ..., :s_masks.shape[-1]], s_masks)
            _, s_dsign = densehead.losses(feats[n_main:, :s_dense.shape[1]], s_dense)
            _, s_osign, _ = objhead.losses(layer[n_main:, :s_dense.shape[1]], s_dense)
            s_scores = aux.sign(vis[n_main:, train.SIGN_QUERY])
            s_word = F.cross_entropy(s_scores, s_words)
            s_acc = (s_scores.argmax(-1) == s_words).float().mean()
            vis, attn, feats, layer = (vis[:n_main], attn[:n_main, ..., :n], feats[:n_main, :n],
                                       layer[:n_main, :n])
        else:
            s_attn = s_dsign = s_osign = s_word = s_acc = torch.zeros(())
        attn_loss = train.attention_loss(attn, masks)
        a = attn[:, 0, :train.CELL_QUERIES, :]
        entropy = -(a * a.clamp_min(1e-9).log()).sum(-1).mean()
        cell_loss, count_loss, sign_loss = aux.losses(vis, counts, labels)
        obj_loss, osign_loss, oacc = objhead.losses(layer, dense)
        if args.dense_weight > 0:
            dobj_loss, dsign_loss = densehead.losses(feats, dense)
        else:
            dobj_loss = dsign_loss = torch.zeros(())
        var_loss = F.relu(1.0 - vis.std(dim=0)).mean()
        sign_w = 0.0 if ov_only else args.sign_weight
        loss = (args.attn_weight * attn_loss + args.cell_weight * (cell_loss + count_loss)
                + sign_w * (sign_loss + osign_loss) + args.object_weight * obj_loss
                + args.var_weight * var_loss + args.attn_entropy_weight * entropy
                + args.dense_weight * (dobj_loss + (0.0 if ov_only else dsign_loss))
                + args.attn_weight * s_attn + args.sign_weight * (s_word + s_dsign + s_osign))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params + heads, 1.0)
        opt.step()
        for k, v in (("attn", attn_loss), ("cell", cell_loss), ("count", count_loss),
                     ("sign", sign_loss), ("obj", obj_loss), ("osign", osign_loss),
                     ("oacc", oacc), ("var", var_loss), ("dense", dobj_loss), ("entropy", entropy),
                     ("s_attn", s_attn), ("s_word", s_word), ("s_dsign", s_dsign),
                     ("s_osign", s_osign), ("s_acc", s_acc)):
            ema[k] = v.item() if k not in ema else 0.95 * ema[k] + 0.05 * v.item()
        if step % 25 == 0:
            out(f"step {step} " + " ".join(f"{k} {v:.3f}" for k, v in ema.items())
                + f" lr {lr:.2e} crops {len(crops)} elapsed {time.time() - t0:.0f}s")
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            acc = evaluate(model, aux, held, held_sign)
            out(f"eval step {step + 1} images {(step + 1) * args.batch} "
                + " ".join(f"{k} {v:.3f}" for k, v in acc.items())
                + f" elapsed {time.time() - t0:.0f}s")
            state = {k: v for k, v in model.state_dict().items() if k.startswith(VISION_PREFIXES)}
            torch.save({"vision": state, "aux": aux.state_dict(), "objhead": objhead.state_dict(),
                        "densehead": densehead.state_dict(), "config": dm.config_dict(cfg), "args": vars(args), "steps_done": step + 1,
                        "sign_font": scenes.SIGN_FONT_PX, "eval": acc},
                       os.path.join(args.out, "perception.pt"))
    out(f"done: {args.steps} steps in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()

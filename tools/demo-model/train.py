"""Train the demo MiniCPM-V model on synthetic kiosk scenes (CPU, float32, deterministic seed).

    .venv/bin/python tools/demo-model/train.py --out build/demo --steps 4000 \
        --overview-only-steps 600 --lm-to-vision-after 300 --aux-weight 1.0 --var-weight 1.0

(the exact commands of the committed model are in models/demo/README.md). Writes OUT/model.pt
(state dict + config), OUT/tokenizer.json, OUT/train-log.txt, and every --save-every steps
OUT/ckpt.pt (resumable with --resume) and OUT/ckpt-STEP.pt (exportable).
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


def make_example(seed: int, cfg: dm.Config, vocab: dm.Vocab, sep_newline_prob: float,
                 overview_only: bool = False, sign_repeat: int = 1):
    """One image, all its questions packed behind one shared image prefix.

    Each question is preceded by EdgeVLM's reference separator (a newline) with probability
    `sep_newline_prob`, else by nothing (llama-mtmd-cli's layout). `overview_only` (curriculum)
    drops the slices and the sign question, which needs them. `sign_repeat` asks the sign
    question that many times (a heavier loss on the rarest kind, at no image cost)."""
    sc = scenes.make_scene(seed)
    prep = dm.preprocess(sc.image, cfg)
    if overview_only:
        prep = dm.Prepared(prep.crops[:1], None)
    prefix = dm.image_prefix(vocab, prep.grid, cfg.queries)
    rng = random.Random(seed * 7919 + 17)
    segs, answer_starts, lookups = [], [], []
    cell_of = {o.shape: o.cell for o in sc.objects}
    dense = patch_labels(sc, prep)
    sign_at = sign_crop(dense)
    questions = sc.questions()
    questions += [x for x in questions if x[0] == "sign"] * (sign_repeat - 1)
    for kind, q, a, shape in questions:
        if overview_only and kind == "sign":
            continue
        sep = dm.SEP_REFERENCE if rng.random() < sep_newline_prob else dm.SEP_LLAMA_CPP
        qi = dm.question_ids(vocab, q, sep)
        segs.append(qi + vocab.encode(a) + [vocab.id["<|im_end|>"]])
        answer_starts.append(len(qi))
        # Lookup targets (--lookup-weight, --copy-weight): (kind, prefix position of the image
        # token to find, position of the word to copy). Colour: overview query k (cell k holds
        # the shape) and the shape's word in the question; sign: query 9 of the crop that shows
        # the sign, nothing to copy.
        if kind == "colour":
            lookups.append((kind, prefix.index(-1 - cell_of[shape]),
                            qi.index(vocab.encode(" " + shape)[0])))
        elif kind == "sign" and sign_at is not None:
            lookups.append((kind, prefix.index(-1 - (sign_at * cfg.queries + SIGN_QUERY)), None))
        else:
            lookups.append(None)
    return (prep, prefix, segs, answer_starts, aux_labels(sc), attention_targets(sc, prep),
            dense, lookups)


def sign_crop(dense: list[np.ndarray]) -> int | None:
    """Index of the crop that shows most of the sign readably (patch_labels' word labels), None
    if no crop does."""
    shown = [int((lab[:, 3] >= 0).sum()) for lab in dense]
    return int(np.argmax(shown)) if max(shown) > 0 else None


def lookup_targets(examples, word: bool = False, kinds: tuple[str, ...] = ("colour", "sign")):
    """(batch index, query position, key position) in collate order for every question of
    `kinds` with a lookup target: the position that predicts the answer, and the image token to
    find (--lookup-weight) or, with `word`, the question word to copy (--copy-weight; colour
    questions only)."""
    out = []
    for b, e in enumerate(examples):
        prefix, segs, starts, lookups = e[1], e[2], e[3], e[7]
        at = len(prefix)
        for s, st, target in zip(segs, starts, lookups):
            if target is not None and target[0] in kinds:
                kind, image_pos, word_pos = target
                if not word:
                    out.append((b, at + st - 1, image_pos))
                elif word_pos is not None:
                    out.append((b, at + st - 1, at + word_pos))
            at += len(s)
    return torch.tensor(out, dtype=torch.long).reshape(-1, 3)


def lookup_loss(logw: torch.Tensor, targets: torch.Tensor, heads: int) -> torch.Tensor:
    """-log of the attention weight that the first `heads` heads of one LLM block put, at each
    answering position of `targets`, on its target token. Taken from the log-softmax: a clamped
    log of the weight has no gradient where the head starts far from the target."""
    if targets.shape[0] == 0:
        return torch.zeros(())
    b, qp, kp = targets.unbind(1)
    return -logw[b, :heads, qp, kp].mean()


N_CLS = (len(scenes.SHAPES) + 1, len(scenes.COLOURS) + 1, len(scenes.SIZES) + 1)
CELL_QUERIES = 9  # resampler query k < 9 is trained to look at 3x3 cell k of every crop


def aux_labels(sc):
    """Per cell (shape, colour, size) class (0 = empty), shape count, sign word (0 = none)."""
    cells = [[0, 0, 0] for _ in range(9)]
    for o in sc.objects:
        cells[o.cell] = [scenes.SHAPES.index(o.shape) + 1, list(scenes.COLOURS).index(o.colour) + 1,
                         scenes.SIZES.index(o.size) + 1]
    sign = 0 if sc.sign is None else scenes.WORDS.index(sc.sign) + 1
    return cells, len(sc.objects), sign


SIGN_QUERY = 9    # resampler query 9 is trained to look at the sign wherever a crop shows it


def _patch_boxes(h: int, w: int, region) -> np.ndarray:
    """[h*w, 4] boxes (x0, y0, x1, y1), as image fractions, of the patches of an h x w crop that
    shows `region` of the image (the overview shows all of it, slice (c, r) of a cols x rows grid
    its cell: the reference slicing resizes the whole image, then cuts equal slices)."""
    rx0, ry0, rx1, ry1 = region
    xs = rx0 + (rx1 - rx0) * np.arange(w + 1) / w
    ys = ry0 + (ry1 - ry0) * np.arange(h + 1) / h
    X0, Y0 = np.meshgrid(xs[:-1], ys[:-1])
    X1, Y1 = np.meshgrid(xs[1:], ys[1:])
    return np.stack([X0, Y0, X1, Y1], -1).reshape(-1, 4)


def _overlaps(boxes: np.ndarray, b) -> np.ndarray:
    return (boxes[:, 0] < b[2]) & (boxes[:, 2] > b[0]) & (boxes[:, 1] < b[3]) & (boxes[:, 3] > b[1])


def attention_targets(sc, prep) -> list[np.ndarray]:
    """Per crop, a [10, h*w] bool mask of where resampler query k should look (empty row = no
    target): query k < 9 at the object of cell k in the overview, else at cell k of the crop (any
    patch of it); query 9 at the sign in every crop that shows it."""
    cols, rows = prep.grid if prep.grid is not None else (1, 1)
    by_cell = {o.cell: o for o in sc.objects}
    out = []
    for c, (_, h, w) in enumerate(prep.crops):
        if c == 0:
            region = (0.0, 0.0, 1.0, 1.0)
        else:
            s = c - 1
            region = (s % cols / cols, s // cols / rows, (s % cols + 1) / cols, (s // cols + 1) / rows)
        boxes = _patch_boxes(h, w, region)
        r_idx = np.minimum((3 * (2 * np.arange(h) + 1)) // (2 * h), 2)
        c_idx = np.minimum((3 * (2 * np.arange(w) + 1)) // (2 * w), 2)
        cell = (r_idx[:, None] * 3 + c_idx[None, :]).reshape(-1)
        m = np.zeros((SIGN_QUERY + 1, h * w), dtype=bool)
        for k in range(CELL_QUERIES):
            m[k] = cell == k
            if c == 0 and k in by_cell and by_cell[k].box is not None:
                obj = _overlaps(boxes, by_cell[k].box)
                if obj.any():
                    m[k] = obj
        if sc.sign_box is not None:
            m[SIGN_QUERY] = _overlaps(boxes, sc.sign_box)
        out.append(m)
    return out


SIGN_READABLE_SCALE = 0.75  # crops showing the image at >= 3/4 of its pixels: the word is legible


def _crop_region(prep, c: int):
    """Region (x0, y0, x1, y1), as image fractions, that crop c shows (see _patch_boxes)."""
    if c == 0:
        return 0.0, 0.0, 1.0, 1.0
    cols, rows = prep.grid
    s = c - 1
    return s % cols / cols, s // cols / rows, (s % cols + 1) / cols, (s // cols + 1) / rows


def patch_labels(sc, prep) -> list[np.ndarray]:
    """Per crop, [h*w, 4] int64 dense targets for the ViT output: (shape, colour, size) class of the
    object whose box holds the patch centre (0 = background), and the sign word (0..7) for the
    patches that overlap the sign in a crop shown near native resolution (-100 elsewhere)."""
    out = []
    for c, (_, h, w) in enumerate(prep.crops):
        region = _crop_region(prep, c)
        boxes = _patch_boxes(h, w, region)
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        lab = np.zeros((h * w, 4), dtype=np.int64)
        lab[:, 3] = -100
        for o in sc.objects:
            inside = (cx > o.box[0]) & (cx < o.box[2]) & (cy > o.box[1]) & (cy < o.box[3])
            lab[inside, :3] = (scenes.SHAPES.index(o.shape) + 1,
                               list(scenes.COLOURS).index(o.colour) + 1,
                               scenes.SIZES.index(o.size) + 1)
        if sc.sign_box is not None:
            scale = w * 14 / ((region[2] - region[0]) * sc.width)
            if scale >= SIGN_READABLE_SCALE:
                lab[_overlaps(boxes, sc.sign_box), 3] = scenes.WORDS.index(sc.sign)
        out.append(lab)
    return out


class DensePatchHead(torch.nn.Module):
    """Training-only linear probes on every ViT output token (not exported): object shape,
    colour, size (0 = background) and sign word. Measured on the 4 000-step model, a linear
    probe of the ViT output at object centres read colour (100 %) but not shape (27 %, chance
    17 %) or size (78 %): the 9 query probes and the LM alone gave the ViT too weak a signal.
    Dense targets give ~100 labelled tokens per crop instead of 9."""

    OBJECT_WEIGHT = 4.0  # object tokens are ~1/10 of all; weigh them up against the background

    def __init__(self, cfg: dm.Config):
        super().__init__()
        self.sizes = (N_CLS[0], N_CLS[1], N_CLS[2], len(scenes.WORDS))
        self.head = torch.nn.Linear(cfg.v_width, sum(self.sizes))

    def losses(self, feats: torch.Tensor, labels: torch.Tensor):
        """feats [crops, N, Wv], labels [crops, N, 4] (-100 = padding / no target) ->
        (object loss summed over shape/colour/size, sign-word loss)."""
        logits = self.head(feats)
        obj_w = torch.where(labels[..., 0] > 0, self.OBJECT_WEIGHT, 1.0) * (labels[..., 0] >= 0)
        obj_loss, off = 0.0, 0
        for k, n in enumerate(self.sizes):
            lg = logits[..., off:off + n].reshape(-1, n)
            ce = F.cross_entropy(lg, labels[..., k].reshape(-1).clamp_min(0) if k < 3
                                 else labels[..., k].reshape(-1), reduction="none",
                                 ignore_index=-100)
            if k < 3:
                w = obj_w.reshape(-1)
                obj_loss = obj_loss + (ce * w).sum() / w.sum().clamp_min(1)
            else:
                valid = labels[..., 3].reshape(-1) >= 0
                sign_loss = (ce * valid).sum() / valid.sum().clamp_min(1)
            off += n
        return obj_loss, sign_loss


class ObjectPoolHead(torch.nn.Module):
    """Training-only per-object probe on the ViT output (not exported). For every object of every
    crop, the ViT tokens whose patch centre lies in the object's box are averaged (what an
    attending resampler query sees) and classified into shape, colour and size; the tokens over
    the sign in a crop shown near native resolution are averaged and classified into the word.
    One label per object instead of per token: the ViT must put the whole shape into the tokens
    that cover it (probe_features.py measured shape 0.23 at post_ln without this)."""

    def __init__(self, cfg: dm.Config, pool: str = "mean"):
        super().__init__()
        self.sizes = (N_CLS[0], N_CLS[1], N_CLS[2])
        self.obj = torch.nn.Linear(cfg.v_width, sum(self.sizes))
        self.sign = torch.nn.Linear(cfg.v_width, len(scenes.WORDS))
        # Round 5: "max" (per-channel max over the object's tokens) instead of the mean. In the
        # toy (toy_shapes.py --readout max) the ViT then learnt shape ~10x faster: the gradient
        # goes to the token that carries a part (a corner, a tip) instead of being spread evenly
        # over every token of the object.
        self.pool_kind = pool

    def pool(self, feats: torch.Tensor, member: torch.Tensor) -> torch.Tensor:
        """feats [crops, N, Wv], member [crops, N, K] 0/1 -> pooled [crops, K, Wv] (zeros where
        a group has no token)."""
        cnt = member.sum(1)
        if self.pool_kind == "mean":
            return torch.einsum("cns,cnw->csw", member, feats) / cnt.clamp_min(1)[..., None]
        masked = feats[:, None, :, :].masked_fill(member.transpose(1, 2)[..., None] == 0, float("-inf"))
        out = masked.max(2).values                                 # [crops, K, Wv]
        return torch.where(cnt[..., None] > 0, out, torch.zeros_like(out))

    def losses(self, feats: torch.Tensor, labels: torch.Tensor):
        """feats [crops, N, Wv], labels [crops, N, 4] (dense_labels) -> (object loss summed over
        shape/colour/size, sign-word loss, shape accuracy of the batch). Shapes are unique
        within a scene, so the shape class identifies the object within a crop."""
        shape = labels[..., 0].clamp_min(0)                       # [crops, N], 0 = background
        onehot = F.one_hot(shape, N_CLS[0]).float()[..., 1:]      # [crops, N, shapes]
        cnt = onehot.sum(1)                                       # [crops, shapes]
        pooled = self.pool(feats, onehot)
        present = cnt > 0
        x = pooled[present]                                       # [objects, Wv]
        # per object: its (shape, colour, size) from any of its tokens
        first = (onehot.cumsum(1) == 1) & (onehot > 0)            # first token of each object
        idx = first.float().argmax(1)                             # [crops, shapes]
        lab = torch.gather(labels[..., :3], 1, idx[..., None].expand(-1, -1, 3))[present]
        logits = self.obj(x)
        obj_loss, off = torch.zeros(()), 0
        for k, n in enumerate(self.sizes):
            obj_loss = obj_loss + F.cross_entropy(logits[:, off:off + n], lab[:, k])
            off += n
        shape_acc = (logits[:, :self.sizes[0]].argmax(-1) == lab[:, 0]).float().mean()
        on_sign = (labels[..., 3] >= 0).float()                   # [crops, N]
        has = on_sign.sum(1) > 0
        if has.any():
            ps = self.pool(feats, on_sign[..., None])[has][:, 0]
            word = (labels[..., 3].clamp_min(0).max(1).values)[has]
            sign_loss = F.cross_entropy(self.sign(ps), word)
        else:
            sign_loss = torch.zeros(())
        return obj_loss, sign_loss, shape_acc


def dense_labels(examples, n_max: int) -> torch.Tensor:
    """[crops, n_max, 4] int64, crops in collate order, padding -100."""
    ls = [l for e in examples for l in e[6]]
    out = torch.full((len(ls), n_max, 4), -100, dtype=torch.long)
    for i, l in enumerate(ls):
        out[i, :l.shape[0]] = torch.from_numpy(l)
    return out


def target_masks(examples, n_max: int) -> torch.Tensor:
    """[crops, 10, n_max] bool, crops in collate order."""
    ms = [m for e in examples for m in e[5]]
    out = torch.zeros(len(ms), SIGN_QUERY + 1, n_max, dtype=torch.bool)
    for i, m in enumerate(ms):
        out[i, :, :m.shape[1]] = torch.from_numpy(m)
    return out


def attention_loss(attn: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Spatial attention supervision: -log of the attention mass resampler query k puts inside
    its target (any distribution within the target is free)."""
    q = masks.shape[1]
    mass = (attn[:, 0, :q, :] * masks).sum(-1)                   # [crops, q]
    valid = masks.any(-1)
    return -(mass.clamp_min(1e-6).log() * valid).sum() / valid.sum().clamp_min(1)


class AuxHeads(torch.nn.Module):
    """Training-only probes on the resampler output (not exported): they give the vision tower
    and resampler a direct gradient for the scene attributes, which the tiny LLM alone takes
    thousands of images to provide.

    * cell probe, shared by the 9 cell queries: overview query k -> (shape, colour, size) of
      cell k, so every query encodes its cell in one format the LLM can read;
    * count from the 9 cell queries of the overview;
    * sign word: max over every token of every crop of a per-token linear score (the word is in
      one place of one slice)."""

    def __init__(self, cfg: dm.Config):
        super().__init__()
        D = cfg.d_model
        self.cell = torch.nn.Linear(D, sum(N_CLS))
        self.count = torch.nn.Linear(CELL_QUERIES * D, 4)
        self.sign = torch.nn.Linear(D, len(scenes.WORDS) + 1)
        # Loss weights of the cell head's (shape, colour, size): shape is learnt last.
        self.attr_weights = (1.0, 1.0, 1.0)

    def losses(self, vis_crops, crop_counts, labels):
        ov_idx, at = [], 0
        for n in crop_counts:
            ov_idx.append(at)
            at += n
        ov = vis_crops[ov_idx, :CELL_QUERIES]                    # [B, 9, D]
        cell_logits = self.cell(ov)                              # [B, 9, sum(N_CLS)]
        cells = torch.tensor([c for c, _, _ in labels])          # [B, 9, 3]
        cell_loss, off = 0.0, 0
        for k, n in enumerate(N_CLS):
            cell_loss = cell_loss + self.attr_weights[k] * F.cross_entropy(
                cell_logits[..., off:off + n].reshape(-1, n), cells[..., k].reshape(-1))
            off += n
        count_loss = F.cross_entropy(self.count(ov.flatten(1)),
                                     torch.tensor([c for _, c, _ in labels]))
        scores = self.sign(vis_crops[:, SIGN_QUERY])             # [crops, words+1]
        pooled = torch.stack([scores[s:s + n].max(0).values
                              for s, n in zip(ov_idx, crop_counts)])
        sign_loss = F.cross_entropy(pooled, torch.tensor([w for _, _, w in labels]))
        return cell_loss, count_loss, sign_loss


def start_run(args):
    """What every training script does first (train.py, perception.py): the sign type size, torch
    threads, seeds, deterministic kernels, the output folder."""
    if args.sign_font:
        scenes.SIGN_FONT_PX = tuple(int(x) for x in args.sign_font.split(","))
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)


def capture_block_output(model: dm.DemoVLM, layer: int) -> dict:
    """A dict whose "layer" entry holds ViT block `layer`'s output after every forward pass
    (empty for layer < 0): what `--object-layer` points the object probe at."""
    captured = {}
    if layer >= 0:
        model.vit[layer].register_forward_hook(lambda _m, _i, o: captured.__setitem__("layer", o))
    return captured


def collate(examples, cfg: dm.Config, pad_id: int):
    crops, rows = [], []
    for prep, prefix, segs, starts, *_ in examples:
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
    ap.add_argument("--vision-lr-mult", type=float, default=1.0,
                    help="learning-rate factor for the vision tower (and the resampler unless "
                         "--resampler-lr-mult is given)")
    ap.add_argument("--resampler-lr-mult", type=float, default=None,
                    help="learning-rate factor for the resampler; default: --vision-lr-mult "
                         "(round 6: a pre-trained ViT at a low rate under a resampler at full rate)")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--aux-weight", type=float, default=0.3, help="weight of the attribute probes")
    ap.add_argument("--attn-weight", type=float, default=1.0,
                    help="weight of the resampler spatial-attention supervision")
    ap.add_argument("--var-weight", type=float, default=1.0,
                    help="weight of the anti-collapse term: each resampler output feature must vary "
                         "across the crops of a step (std >= 1, VICReg-style hinge)")
    ap.add_argument("--v-width", type=int, default=dm.Config.v_width, help="ViT width")
    ap.add_argument("--v-ffn", type=int, default=dm.Config.v_ffn, help="ViT MLP width")
    ap.add_argument("--v-layers", type=int, default=dm.Config.v_layers, help="ViT blocks")
    ap.add_argument("--llm-layers", type=int, default=dm.Config.n_layers, help="LLM blocks")
    ap.add_argument("--dense-weight", type=float, default=0.0,
                    help="weight of the dense per-token ViT probes (object shape/colour/size, "
                         "sign word); 0 = the recipe of the 4 000-step model")
    ap.add_argument("--object-weight", type=float, default=0.0,
                    help="weight of the per-object pooled ViT probe (shape/colour/size of each "
                         "object's tokens, sign word of the sign's tokens); 0 = off")
    ap.add_argument("--vision-only-steps", type=int, default=0,
                    help="the first N steps of this run train only the ViT with the per-object "
                         "probe at --object-pre-weight (no LM, resampler or query probes)")
    ap.add_argument("--object-pool", choices=["mean", "max"], default="mean",
                    help="how the object probe pools an object's ViT tokens (round 5: max)")
    ap.add_argument("--init-vision", help="load the ViT (patch, pos, vit, post_ln) and the object "
                    "probe from a pilot_vision.py --save file (after --init, if both)")
    ap.add_argument("--object-pre-weight", type=float, default=1.0,
                    help="weight of the per-object probe during --vision-only-steps")
    ap.add_argument("--init-perception", help="load the ViT, the resampler and their probe heads "
                    "from a perception.py file (stage 1 of the staged recipe)")
    ap.add_argument("--shape-weight", type=float, default=1.0,
                    help="weight of shape within the cell probe's loss (colour and size: 1)")
    ap.add_argument("--object-layer", type=int, default=-1,
                    help="ViT block whose output the object probe reads (-1: post_ln); see "
                         "perception.py")
    ap.add_argument("--freeze-perception", action="store_true",
                    help="keep the ViT and the resampler fixed: only the LLM trains (stage 2)")
    ap.add_argument("--align-weight", type=float, default=0.0,
                    help="with --freeze-perception: each overview cell query's embedding must pick "
                         "its object's shape, colour and size words among their token embeddings "
                         "(a dot product with the LLM's embedding rows), so that a question's word "
                         "and the image token it asks about start out similar")
    ap.add_argument("--lookup-weight", type=float, default=0.0,
                    help="with --freeze-perception: attention supervision of the colour lookup: "
                         "at the position that answers 'What colour is the S?', the first "
                         "--lookup-heads heads of LLM block --lookup-layer must attend to the "
                         "overview image token of the cell holding S; at the position that "
                         "answers the sign question, to query 9 of the crop showing the sign "
                         "(round 10)")
    ap.add_argument("--lookup-layer", type=int, default=1)
    ap.add_argument("--lookup-kinds", default="colour,sign",
                    help="question kinds whose lookup is supervised (round 10's first stage, lmF, "
                         "ran before the sign lookup existed: colour)")
    ap.add_argument("--sign-repeat", type=int, default=1,
                    help="ask each image's sign question this many times (packed segments)")
    ap.add_argument("--copy-weight", type=float, default=0.0,
                    help="with --freeze-perception: the first --lookup-heads heads of LLM block "
                         "--copy-layer must attend, at the position that answers a colour "
                         "question, to the question's shape word (the lookup's query)")
    ap.add_argument("--copy-layer", type=int, default=0)
    ap.add_argument("--lookup-heads", type=int, default=1)
    ap.add_argument("--sign-font", default="", help="comma-separated sign text sizes in px "
                    "(default: scenes.SIGN_FONT_PX)")
    ap.add_argument("--init", help="start from the model and probe weights of this checkpoint "
                                   "(fresh optimizer and schedule; fine-tuning)")
    ap.add_argument("--init-heads", help="with --init: take the training-only probe heads (aux, "
                                         "object pool) from this full checkpoint instead (a run's "
                                         "model.pt has none; its last ckpt.pt has them)")
    ap.add_argument("--lm-to-vision-after", type=int, default=0,
                    help="the LM loss reaches the vision tower and resampler only from this step on "
                         "(before: probes, attention and variance terms only; keeps the LM from "
                         "collapsing the image tokens to constants while they carry no information)")
    ap.add_argument("--overview-only-steps", type=int, default=0,
                    help="curriculum: the first N steps see the overview only (no slices, no sign)")
    ap.add_argument("--sep-newline-prob", type=float, default=0.75,
                    help="share of questions laid out as EdgeVLM's default (newline after the "
                         "image block); the rest as llama-mtmd-cli (nothing)")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--save-every", type=int, default=250,
                    help="write OUT/ckpt.pt (model, probes, optimizer, step) for --resume and "
                         "OUT/ckpt-STEP.pt (model only) for exporting early")
    ap.add_argument("--resume", help="continue from an OUT/ckpt.pt of the same arguments")
    args = ap.parse_args()

    start_run(args)

    tok = dm.build_tokenizer()
    tok.save(os.path.join(args.out, "tokenizer.json"))
    vocab = dm.Vocab(tok)
    cfg = dm.Config(vocab_size=tok.get_vocab_size(), v_width=args.v_width, v_ffn=args.v_ffn,
                    v_layers=args.v_layers, n_layers=args.llm_layers)
    model = dm.DemoVLM(cfg)
    perception_prefixes = ("patch.", "pos.", "vit.", "post_ln.", "resampler.")
    if args.freeze_perception:
        for n, p in model.named_parameters():
            if n.startswith(perception_prefixes):
                p.requires_grad_(False)
    n_params = sum(p.numel() for p in model.parameters())
    aux = AuxHeads(cfg)
    dense = DensePatchHead(cfg)
    objhead = ObjectPoolHead(cfg, args.object_pool)
    aux.attr_weights = (args.shape_weight, 1.0, 1.0)
    captured = capture_block_output(model, args.object_layer)
    vit_prefixes = ("patch.", "pos.", "vit.", "post_ln.")
    resampler_mult = (args.vision_lr_mult if args.resampler_lr_mult is None
                      else args.resampler_lr_mult)
    groups = {}
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        mult = (args.vision_lr_mult if n.startswith(vit_prefixes)
                else resampler_mult if n.startswith("resampler.") else 1.0)
        decay = p.dim() >= 2 and "pos" not in n and "query" not in n
        groups.setdefault((mult, decay), []).append(p)
    param_groups = [{"params": ps, "weight_decay": 0.01 if decay else 0.0, "lr_mult": mult}
                    for (mult, decay), ps in sorted(groups.items())]
    param_groups.append({"params": list(aux.parameters()), "weight_decay": 0.0, "lr_mult": 1.0})
    if args.dense_weight > 0:
        param_groups.append({"params": list(dense.parameters()), "weight_decay": 0.0,
                             "lr_mult": 1.0})
    if args.object_weight > 0 or args.vision_only_steps > 0:
        param_groups.append({"params": list(objhead.parameters()), "weight_decay": 0.0,
                             "lr_mult": 1.0})
    opt = torch.optim.AdamW(param_groups, lr=args.lr, betas=(0.9, 0.98), eps=1e-8)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        t = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))

    start, wall_before = 0, 0.0
    if args.init:
        ck = torch.load(args.init, weights_only=False)
        if args.init_perception:
            # The perception loaded below replaces the init's vision weights (and may have more
            # ViT blocks than it).
            missing, unexpected = model.load_state_dict(
                {k: v for k, v in ck["state"].items() if not k.startswith(perception_prefixes)},
                strict=False)
            assert not unexpected and all(k.startswith(perception_prefixes) for k in missing), \
                (missing, unexpected)
        else:
            model.load_state_dict(ck["state"])
        hk = torch.load(args.init_heads, weights_only=False) if args.init_heads else ck
        if "aux" in hk:
            aux.load_state_dict(hk["aux"])
        if "objhead" in hk:
            objhead.load_state_dict(hk["objhead"])
    if args.init_vision:
        vk = torch.load(args.init_vision, weights_only=False)
        missing, unexpected = model.load_state_dict(vk["vision"], strict=False)
        assert not unexpected and all(not k.startswith(("patch.", "pos.", "vit.", "post_ln."))
                                      for k in missing), (missing, unexpected)
        if vk["args"].get("pool", "mean") == args.object_pool:
            objhead.load_state_dict(vk["objhead"])
    if args.init_perception:
        pk = torch.load(args.init_perception, weights_only=False)
        for key in ("v_width", "v_layers", "v_ffn"):
            if pk["config"][key] != getattr(cfg, key):
                raise SystemExit(f"--init-perception has {key} {pk['config'][key]}, "
                                 f"this run {getattr(cfg, key)}: pass --{key.replace('_', '-')}")
        missing, unexpected = model.load_state_dict(pk["vision"], strict=False)
        assert not unexpected and all(not k.startswith(perception_prefixes) for k in missing), \
            (missing, unexpected)
        aux.load_state_dict(pk["aux"])
        objhead.load_state_dict(pk["objhead"])
        if "densehead" in pk:
            dense.load_state_dict(pk["densehead"])
    if args.resume:
        ck = torch.load(args.resume, weights_only=False)
        model.load_state_dict(ck["state"])
        aux.load_state_dict(ck["aux"])
        if "dense" in ck:
            dense.load_state_dict(ck["dense"])
        if "objhead" in ck:
            objhead.load_state_dict(ck["objhead"])
        opt.load_state_dict(ck["opt"])
        torch.set_rng_state(ck["torch_rng"])
        start, wall_before = ck["steps_done"], ck["wall_seconds"]

    log = open(os.path.join(args.out, "train-log.txt"), "a" if args.resume else "w")
    msg = (f"params {n_params} vocab {cfg.vocab_size} config {json.dumps(dm.config_dict(cfg))} "
           f"args {vars(args)}" + (f" resumed at step {start}" if args.resume else ""))
    print(msg, flush=True)
    log.write(msg + "\n")
    base = args.seed * 1_000_000
    t0 = time.time() - wall_before
    ema = {}

    def save(path, step, full):
        ck = {"config": dm.config_dict(cfg), "state": model.state_dict(), "args": vars(args),
              "steps_done": step, "wall_seconds": time.time() - t0}
        if full:
            ck.update(aux=aux.state_dict(), dense=dense.state_dict(), objhead=objhead.state_dict(), opt=opt.state_dict(), torch_rng=torch.get_rng_state())
        torch.save(ck, path + ".tmp")
        os.replace(path + ".tmp", path)

    def word_ids(words):
        ids = [vocab.encode(w) for w in words]
        assert all(len(i) == 1 for i in ids), ids
        return torch.tensor([i[0] for i in ids])

    align_sets = [(0, word_ids([" " + s for s in scenes.SHAPES])),
                  (1, word_ids([c.capitalize() for c in scenes.COLOURS])),
                  (1, word_ids([" " + c for c in scenes.COLOURS])),
                  (2, word_ids([" " + s for s in scenes.SIZES]))]

    def align_loss(vis, exs):
        """Cross-entropy of each occupied overview cell query's attribute words, scored by the dot
        product of the query's embedding with the words' embedding rows."""
        at, rows = 0, []
        for e in exs:
            rows.append(at)
            at += len(e[0].crops)
        ov = vis.view(-1, cfg.queries, cfg.d_model)[rows, :CELL_QUERIES]     # [B, 9, D]
        cells = torch.tensor([e[4][0] for e in exs])                          # [B, 9, 3]
        occ = cells[..., 0] > 0
        x = ov[occ]
        out = torch.zeros(())
        for k, ids in align_sets:
            out = out + F.cross_entropy(x @ model.embed.weight[ids].t(), cells[..., k][occ] - 1)
        return out

    def joint_losses(exs, crops, ids, pos, seg, order, labels, step, ov_only):
        """The LLM's loss plus the perception losses, everything trained (rounds 2-8)."""
        vis_crops, attn, feats = model.encode_crops(crops, return_attn=True, return_patches=True)
        vis = vis_crops.reshape(-1, cfg.d_model)
        if step < args.lm_to_vision_after:
            vis = vis.detach()
        logits = model.logits(ids, vis, pos, seg, order)
        lm_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                  ignore_index=-100)
        attn_loss = attention_loss(attn, target_masks(exs, attn.shape[-1]))
        cell_loss, count_loss, sign_loss = aux.losses(vis_crops, [len(e[0].crops) for e in exs],
                                                      [e[4] for e in exs])
        if args.dense_weight > 0:
            dobj_loss, dsign_loss = dense.losses(feats, dense_labels(exs, feats.shape[1]))
        else:
            dobj_loss = dsign_loss = torch.zeros(())
        if args.object_weight > 0:
            oobj_loss, osign_loss, oacc = objhead.losses(captured.get("layer", feats),
                                                         dense_labels(exs, feats.shape[1]))
        else:
            oobj_loss = osign_loss = oacc = torch.zeros(())
        var_loss = F.relu(1.0 - vis_crops.std(dim=0)).mean()   # per (query, feature) across crops
        loss = (lm_loss + args.attn_weight * attn_loss + args.var_weight * var_loss
                + args.aux_weight * (cell_loss + count_loss + (0 if ov_only else sign_loss))
                + args.dense_weight * (dobj_loss + (0 if ov_only else dsign_loss))
                + args.object_weight * (oobj_loss + (0 if ov_only else osign_loss)))
        terms = (("lm", lm_loss), ("attn", attn_loss), ("var", var_loss), ("cell", cell_loss),
                 ("count", count_loss), ("sign", sign_loss), ("dobj", dobj_loss),
                 ("dsign", dsign_loss), ("oobj", oobj_loss), ("osign", osign_loss), ("oacc", oacc))
        return loss, terms

    for step in range(start, args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step) * g["lr_mult"]
        ov_only = step < args.overview_only_steps
        exs = [make_example(base + step * args.batch + i, cfg, vocab, args.sep_newline_prob, ov_only,
                            args.sign_repeat) for i in range(args.batch)]
        crops, ids, pos, seg, order, labels = collate(exs, cfg, vocab.id["<|endoftext|>"])
        if step < args.vision_only_steps:
            # vision-only pre-phase: the ViT alone, trained by the per-object probe
            _, feats = model.encode_crops(crops, return_patches=True)
            oobj_loss, osign_loss, oacc = objhead.losses(feats, dense_labels(exs, feats.shape[1]))
            loss = args.object_pre_weight * (oobj_loss + osign_loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(objhead.parameters()), 1.0)
            opt.step()
            for k, v in (("oobj", oobj_loss), ("osign", osign_loss), ("oacc", oacc)):
                ema[k] = v.item() if k not in ema else 0.95 * ema[k] + 0.05 * v.item()
            if step % args.log_every == 0:
                msg = (f"step {step} vision-only loss {loss.item():.4f} "
                       + " ".join(f"{k} {v:.4f}" for k, v in ema.items())
                       + f" lr {lr_at(step):.2e} crops {len(crops)} elapsed {time.time() - t0:.0f}s")
                print(msg, flush=True)
                log.write(msg + "\n")
                log.flush()
            if args.save_every and (step + 1) % args.save_every == 0:
                save(os.path.join(args.out, "ckpt.pt"), step + 1, True)
                save(os.path.join(args.out, f"ckpt-{step + 1}.pt"), step + 1, False)
            continue
        if args.freeze_perception:
            # stage 2: the perception path is fixed, so only the LLM's losses are computed
            with torch.no_grad():
                vis = model.encode_crops(crops).reshape(-1, cfg.d_model)
            # attention weights of the supervised blocks (one dict per block, shared if the
            # lookup and the copy are supervised in the same block)
            captured_attn = {}
            attn = (captured_attn.setdefault(args.lookup_layer, {})
                    if args.lookup_weight > 0 else None)
            copy = (captured_attn.setdefault(args.copy_layer, {})
                    if args.copy_weight > 0 else None)
            logits = model.logits(ids, vis, pos, seg, order, attn_layers=captured_attn)
            lm_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                      ignore_index=-100)
            align = align_loss(vis, exs) if args.align_weight > 0 else torch.zeros(())
            look = (lookup_loss(attn["logw"], lookup_targets(exs, kinds=tuple(args.lookup_kinds.split(","))),
                                args.lookup_heads)
                    if attn is not None else torch.zeros(()))
            cp = (lookup_loss(copy["logw"], lookup_targets(exs, word=True), args.lookup_heads)
                  if copy is not None else torch.zeros(()))
            loss = lm_loss + args.align_weight * align + args.lookup_weight * look + args.copy_weight * cp
            terms = (("lm", lm_loss), ("align", align), ("lookup", look), ("copy", cp))
        else:
            loss, terms = joint_losses(exs, crops, ids, pos, seg, order, labels, step, ov_only)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(aux.parameters())
                                       + list(dense.parameters()) + list(objhead.parameters()), 1.0)
        opt.step()
        for k, v in terms:
            ema[k] = v.item() if k not in ema else 0.95 * ema[k] + 0.05 * v.item()
        if step % args.log_every == 0 or step == args.steps - 1:
            msg = (f"step {step} loss {loss.item():.4f} "
                   + " ".join(f"{k} {v:.4f}" for k, v in ema.items())
                   + f" lr {lr_at(step):.2e} crops {len(crops)} T {ids.shape[1]}"
                   + f"{' ov' if ov_only else ''} elapsed {time.time() - t0:.0f}s")
            print(msg, flush=True)
            log.write(msg + "\n")
            log.flush()
        if args.save_every and (step + 1) % args.save_every == 0 and step + 1 < args.steps:
            save(os.path.join(args.out, "ckpt.pt"), step + 1, True)
            save(os.path.join(args.out, f"ckpt-{step + 1}.pt"), step + 1, False)
    wall = time.time() - t0
    save(os.path.join(args.out, "model.pt"), args.steps, False)
    msg = f"done: {args.steps} steps in {wall:.0f}s (losses are EMAs, factor 0.95)"
    print(msg)
    log.write(msg + "\n")


if __name__ == "__main__":
    main()

"""Where does the demo model lose the scene? Linear probes of its vision path on held-out scenes.

    .venv/bin/python tools/demo-model/probe_features.py build/demo/ckpt.pt -n 300

For a training checkpoint (`model.pt`, `ckpt.pt` or `ckpt-STEP.pt` of train.py):

* **ViT tokens**: a fresh linear probe (fitted on 70 % of the objects, scored on the other 30 %)
  of the overview token at each object's centre, after the patch embedding and after every ViT
  block, for shape (chance ~17 %), size (50 %) and colour (12.5 %);
* **raw pixels** (the ceiling): the same linear probe on the overview's pixels in a 42x42 window
  (3x3 tokens) centred on each object, as |pixel - window corner| summed over RGB (so colour does
  not enter), for shape: how much shape the overview itself holds for a linear read-out;
* **resampler queries** (only for checkpoints with the training probes, i.e. `ckpt.pt`): the
  trained cell probe on overview query k for cell k (shape / colour / size of occupied cells,
  "empty" for the others, all 9 cells right), count from the 9 cell queries, sign word from
  query 9 (max over crops).

Measured on the shipped model's last full checkpoint (4 000-step run, ckpt.pt at step 3 750, 300
scenes): ViT post_ln token shape 0.23, size 0.79, colour 0.99; query probes shape 0.16, colour 0.93,
size 0.65, count 0.95, sign 0.13; raw-pixel window shape 0.96. The overview holds the shape (a
linear read-out of object-centred pixels gets it), the vision tower does not learn it does not encode shape: that, not the resampler
or the LM, is what caps colour questions (the LM must find the named shape) and captions.

* **grid-aligned windows** (the fair ceiling): the same linear probe on the 3x3 tokens' pixels
  around the object's centre token, aligned to the patch grid as the ViT sees them, raw and
  colour-invariant. Measured (300 scenes): 0.32 raw, 0.54 colour-invariant, against 0.96 for the
  object-centred window: most of what separates shapes linearly is the object's alignment,
  which the tokens do not have; the ViT has to learn shift- and colour-invariant shape
  features itself.

* **ViT pooled over the object** (fresh linear probe, shape): the post_ln tokens whose patches
  overlap the object's box, mean- and max-pooled, and weighted by the resampler's own attention of
  query k = the object's cell (what the single-head resampler actually averages);
* **fresh query probe**: a fresh linear probe on overview query k for the object in cell k (shape,
  colour, size), independent of the trained cell head;
* **LM probes** (needs `tokenizer.json` next to the checkpoint): for every object, the prompt
  "What colour is the SHAPE?" after the image block; a fresh linear probe of the LM input and the
  hidden state after each block, (a) at overview query k's position for cell k's shape, (b) at the
  answer position (last prompt token) for the named object's colour.

Round 8 measured the chain on round 7's ckpt.pt (round 3's in brackets), shape, 300 scenes: ViT
max over object 0.80 (0.26), mean 0.64 (0.32), resampler-attention-weighted 0.51 (0.21), query
output 0.31 (0.16), LM after block 1..3 0.23/0.22/0.23 (0.16/0.17/0.17); colour of the named
object at the answer position 0.53 (0.55). Held-out sets are ~180 objects: differences under
~0.05 are noise. See round8-notes.md.

Scenes: the held-out seeds of evaluate.py (7 000 000 + i), never trained on. Prints one JSON
object. One torch thread; ~40 s for 300 scenes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import demomodel as dm  # noqa: E402
import scenes  # noqa: E402
import train  # noqa: E402

EVAL_SEED_BASE = 7_000_000
ATTRIBUTES = (("shape", len(scenes.SHAPES)), ("size", len(scenes.SIZES)),
              ("colour", len(scenes.COLOURS)))


def vit_layers(model: dm.DemoVLM, crop) -> list[torch.Tensor]:
    """[h*w, Wv] tokens of one crop after the patch embedding and after each ViT block (the
    last one after post_ln, as the resampler sees it)."""
    p, h, w = crop
    x = model.patch(torch.from_numpy(p)[None]) + model.pos(torch.from_numpy(dm.bucket_ids(h, w)))[None]
    mask = torch.ones(1, 1, 1, h * w, dtype=torch.bool)
    out = [x[0]]
    for blk in model.vit:
        x = blk(x, mask)
        out.append(x[0])
    out[-1] = model.post_ln(x)[0]
    return out


RAW_WINDOW = 42  # pixels: 3x3 tokens of 14


def raw_window(crop, box) -> np.ndarray:
    """Colour-invariant pixels of the RAW_WINDOW-square around the centre of `box` (image
    fractions) in crop (patches, h, w): |pixel - window corner| summed over RGB, flattened."""
    p, h, w = crop
    img = p.reshape(h, w, 3, 14, 14).transpose(0, 3, 1, 4, 2).reshape(h * 14, w * 14, 3)
    r = RAW_WINDOW // 2
    img = np.pad(img, ((r, r), (r, r), (0, 0)))
    cx = int((box[0] + box[2]) / 2 * w * 14) + r
    cy = int((box[1] + box[3]) / 2 * h * 14) + r
    win = img[cy - r:cy + r, cx - r:cx + r]
    return np.abs(win - win[0, 0]).sum(-1).reshape(-1)


def grid_window(crop, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The 3x3 tokens' pixels around token k of crop (patches, h, w), aligned to the patch grid
    as the ViT sees them (zero outside the crop): (raw normalised pixels, |pixel - window
    corner| summed over RGB), both flattened. The fair ceiling for a linear read-out of tokens
    that do not know where the object sits inside them."""
    p, h, w = crop
    img = p.reshape(h, w, 3, 14, 14).transpose(0, 3, 1, 4, 2).reshape(h * 14, w * 14, 3)
    img = np.pad(img, ((14, 14), (14, 14), (0, 0)))
    r, c = divmod(k, w)
    win = img[r * 14:r * 14 + 42, c * 14:c * 14 + 42]
    return win.reshape(-1), np.abs(win - win[0, 0]).sum(-1).reshape(-1)


def lm_states(model: dm.DemoVLM, ids: list[int], vis: torch.Tensor) -> torch.Tensor:
    """[LM layers + 1, T, D]: the LM's input embeddings and its hidden state after each block, for
    one unpacked sequence (causal)."""
    T = len(ids)
    t = lambda x: torch.tensor([x])  # noqa: E731
    x = model.embed_ids(t(ids), vis)
    pos, seg, order = t(list(range(T))), t([0] * T), t(list(range(T)))
    mask = dm.packed_mask(seg, seg, order, order)
    out = [x[0]]
    for blk in model.blocks:
        x = blk(x, pos, mask)
        out.append(x[0])
    return torch.stack(out)


def fit_probe(x: torch.Tensor, y: torch.Tensor, classes: int, train_n: int) -> float:
    """Held-out accuracy of a linear classifier (Adam, 300 full-batch steps, standardised input)."""
    mu, sd = x[:train_n].mean(0), x[:train_n].std(0) + 1e-5
    x = (x - mu) / sd
    lin = torch.nn.Linear(x.shape[1], classes)
    opt = torch.optim.Adam(lin.parameters(), lr=1e-2, weight_decay=1e-3)
    for _ in range(300):
        opt.zero_grad()
        F.cross_entropy(lin(x[:train_n]), y[:train_n]).backward()
        opt.step()
    with torch.no_grad():
        return (lin(x[train_n:]).argmax(-1) == y[train_n:]).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("-n", type=int, default=300, help="held-out scenes")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    ck = torch.load(args.checkpoint, weights_only=False)
    cfg = dm.Config(**ck["config"])
    model = dm.DemoVLM(cfg)
    model.load_state_dict(ck["state"])
    model.eval()
    aux = None
    if "aux" in ck:
        aux = train.AuxHeads(cfg)
        aux.load_state_dict(ck["aux"])

    tokens, labels, windows, grid_raw, grid_inv = [], [], [], [], []
    query_feats, query_labels = [], []  # overview query k of occupied cell k, (shape, colour, size)
    pooled = {"mean": [], "max": [], "attention": []}  # post_ln tokens over the object, shape label
    pooled_shape = []
    lm_query, lm_query_shape = [], []   # [LM layers+1, D] at overview query k's position
    lm_answer, lm_answer_colour = [], []  # [LM layers+1, D] at the answer position, colour questions
    tok_path = os.path.join(os.path.dirname(args.checkpoint), "tokenizer.json")
    vocab = dm.Vocab(Tokenizer.from_file(tok_path)) if os.path.exists(tok_path) else None
    hits = {k: [0, 0] for k in ("shape", "colour", "size", "empty", "all_cells", "count", "sign")}
    with torch.no_grad():
        for i in range(args.n):
            sc = scenes.make_scene(EVAL_SEED_BASE + i)
            prep = dm.preprocess(sc.image, cfg)
            _, h, w = prep.crops[0]
            layers = vit_layers(model, prep.crops[0])
            for o in sc.objects:
                cx, cy = (o.box[0] + o.box[2]) / 2, (o.box[1] + o.box[3]) / 2
                k = min(int(cy * h), h - 1) * w + min(int(cx * w), w - 1)
                tokens.append(torch.stack([layer[k] for layer in layers]))
                windows.append(raw_window(prep.crops[0], o.box))
                g_raw, g_inv = grid_window(prep.crops[0], k)
                grid_raw.append(g_raw)
                grid_inv.append(g_inv)
                labels.append((scenes.SHAPES.index(o.shape), scenes.SIZES.index(o.size),
                               list(scenes.COLOURS).index(o.colour)))
            vis, attn, patches = model.encode_crops(prep.crops, return_attn=True, return_patches=True)
            cells, count, sign = train.aux_labels(sc)
            boxes = train._patch_boxes(h, w, (0.0, 0.0, 1.0, 1.0))
            for o in sc.objects:
                ov = torch.from_numpy(train._overlaps(boxes, o.box))
                toks = patches[0, :h * w][ov]
                pooled["mean"].append(toks.mean(0))
                pooled["max"].append(toks.max(0).values)
                wk = attn[0, :, o.cell, :h * w].mean(0)  # what query k = cell actually averages
                pooled["attention"].append(wk @ patches[0, :h * w])
                pooled_shape.append(scenes.SHAPES.index(o.shape))
            for c in range(train.CELL_QUERIES):
                if cells[c][0] != 0:  # label 0 = empty cell; 1.. = class + 1
                    query_feats.append(vis[0, c])
                    query_labels.append(tuple(cells[c][a] - 1 for a in range(3)))
            if vocab is not None:
                prefix = dm.image_prefix(vocab, prep.grid, cfg.queries)
                for j, o in enumerate(sc.objects):
                    ids = prefix + dm.question_ids(vocab, scenes.q_colour(o.shape))
                    states = lm_states(model, ids, vis.reshape(-1, cfg.d_model))
                    lm_answer.append(states[:, -1])
                    lm_answer_colour.append(list(scenes.COLOURS).index(o.colour))
                    if j == 0:  # the image positions do not depend on the question (causal)
                        for c in range(train.CELL_QUERIES):
                            if cells[c][0] != 0:
                                lm_query.append(states[:, ids.index(-1 - c)])
                                lm_query_shape.append(cells[c][0] - 1)
            if aux is None:
                continue
            logits, off, preds = aux.cell(vis[0, :train.CELL_QUERIES]), 0, []
            for n in train.N_CLS:
                preds.append(logits[:, off:off + n].argmax(-1).tolist())
                off += n
            all_right = True
            for c in range(train.CELL_QUERIES):
                if cells[c][0] == 0:
                    ok = preds[0][c] == 0
                    hits["empty"][0] += ok
                    hits["empty"][1] += 1
                    all_right &= ok
                    continue
                for a, name in enumerate(("shape", "colour", "size")):
                    ok = preds[a][c] == cells[c][a]
                    hits[name][0] += ok
                    hits[name][1] += 1
                    all_right &= ok
            hits["all_cells"][0] += all_right
            hits["all_cells"][1] += 1
            hits["count"][0] += aux.count(vis[0, :train.CELL_QUERIES].flatten()).argmax().item() == count
            hits["count"][1] += 1
            if sign:
                got = aux.sign(vis[:, train.SIGN_QUERY]).max(0).values.argmax().item()
                hits["sign"][0] += got == sign
                hits["sign"][1] += 1

    x = torch.stack(tokens)            # [objects, layers, Wv]
    y = torch.tensor(labels)
    train_n = int(0.7 * len(y))
    names = ["patch_embedding"] + [f"block_{b}" for b in range(1, cfg.v_layers)] + ["post_ln"]
    report = {"checkpoint": args.checkpoint, "scenes": args.n, "objects": len(y),
              "vit_token_probe": {name: {attr: round(fit_probe(x[:, li], y[:, a], n, train_n), 3)
                                         for a, (attr, n) in enumerate(ATTRIBUTES)}
                                  for li, name in enumerate(names)},
              "raw_window_probe": {"shape": round(fit_probe(
                  torch.tensor(np.array(windows), dtype=torch.float32), y[:, 0],
                  len(scenes.SHAPES), train_n), 3),
                  "grid_aligned_raw_shape": round(fit_probe(
                      torch.tensor(np.array(grid_raw), dtype=torch.float32), y[:, 0],
                      len(scenes.SHAPES), train_n), 3),
                  "grid_aligned_colour_invariant_shape": round(fit_probe(
                      torch.tensor(np.array(grid_inv), dtype=torch.float32), y[:, 0],
                      len(scenes.SHAPES), train_n), 3)}}
    # A fresh linear probe on the resampler's overview query k for the object in cell k: what the
    # queries hold, independently of how well the trained cell head reads it.
    qx, qy = torch.stack(query_feats), torch.tensor(query_labels)
    q_train = int(0.7 * len(qy))
    report["fresh_query_probe"] = {"objects": len(qy), **{
        name: round(fit_probe(qx, qy[:, a], n, q_train), 3)
        for a, name, n in ((0, "shape", train.N_CLS[0] - 1), (1, "colour", train.N_CLS[1] - 1),
                           (2, "size", train.N_CLS[2] - 1))}}
    py = torch.tensor(pooled_shape)
    report["vit_pooled_over_object_shape"] = {k: round(fit_probe(torch.stack(v), py, len(scenes.SHAPES),
                                                                 int(0.7 * len(py))), 3)
                                              for k, v in pooled.items()}
    if lm_query:
        names_lm = ["input"] + [f"block_{b + 1}" for b in range(cfg.n_layers)]
        ax, ay = torch.stack(lm_answer), torch.tensor(lm_answer_colour)
        lx, ly = torch.stack(lm_query), torch.tensor(lm_query_shape)
        report["lm_probe"] = {
            "overview_query_k_cell_shape": {n: round(fit_probe(lx[:, li], ly, len(scenes.SHAPES),
                                                              int(0.7 * len(ly))), 3)
                                            for li, n in enumerate(names_lm)},
            "answer_position_colour": {n: round(fit_probe(ax[:, li], ay, len(scenes.COLOURS),
                                                         int(0.7 * len(ay))), 3)
                                       for li, n in enumerate(names_lm)}}
    if aux is not None:
        report["resampler_query_probes"] = {k: {"correct": c, "total": t,
                                                "accuracy": round(c / t, 3) if t else None}
                                            for k, (c, t) in hits.items()}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

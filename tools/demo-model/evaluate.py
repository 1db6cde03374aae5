"""Held-out accuracy of the demo model, per question kind, for one of three runners.

    # the shipped GGUF pair, run by this package's PyTorch implementation (loads the GGUF files)
    .venv/bin/python tools/demo-model/evaluate.py --runner python -n 300
    # llama.cpp's reference CLI (greedy), on a sample
    .venv/bin/python tools/demo-model/evaluate.py --runner llama \
        --binary /work/ref/llama.cpp/build/bin/llama-mtmd-cli -n 40 --compare build/eval-python.json
    # EdgeVLM's CLI: `edgevlm caption --model M --mmproj P --image F --prompt Q --json` -> {"text"}
    .venv/bin/python tools/demo-model/evaluate.py --runner edgevlm --binary .build/debug/edgevlm -n 300

Scenes come from seeds EVAL_SEED_BASE + i (training uses 10^6 * train_seed + i, disjoint).
Scoring is exact attribute match per kind (scenes.check_answer). `--json` writes every answer;
`--compare OTHER.json` reports the rate of identical answers with another run on the same
questions. Exit status 1 if `--min-accuracy` is given and the overall accuracy is below it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scenes  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_MODEL = os.path.join(REPO, "models", "demo", "edgevlm-demo-F16.gguf")
DEFAULT_MMPROJ = os.path.join(REPO, "models", "demo", "mmproj-edgevlm-demo-F16.gguf")
EVAL_SEED_BASE = 7_000_000


# ---------------------------------------------------------------------------------------------
# Runners: answer(scene image path / PIL image, list of questions) -> list of answers

class PythonRunner:
    """The PyTorch model with weights and tokenizer read back from the GGUF pair."""

    def __init__(self, model_path: str, mmproj_path: str, sep: str):
        import torch
        self.sep = sep
        import gguf_load
        torch.set_num_threads(1)
        self.torch = torch
        self.model, self.vocab, self.cfg = gguf_load.load_pair(model_path, mmproj_path)
        import demomodel as dm
        self.dm = dm

    def answer(self, image, image_path, questions, max_new=48):
        torch, dm, v, cfg = self.torch, self.dm, self.vocab, self.cfg
        with torch.no_grad():
            prep = dm.preprocess(image, cfg)
            vis = self.model.encode_crops(prep.crops).reshape(-1, cfg.d_model)
            prefix = dm.image_prefix(v, prep.grid, cfg.queries)
            segs = [dm.question_ids(v, q, self.sep) for q in questions]
            ids, pos, seg, order = dm.pack(prefix, segs)
            cache = {}
            t = lambda x: torch.tensor([x])  # noqa: E731
            logits = self.model.logits(t(ids), vis, t(pos), t(seg), t(order), cache)
            ends, at = [], len(prefix)
            for s in segs:
                at += len(s)
                ends.append(at - 1)
            nxt = logits[0, ends].argmax(-1).tolist()
            lens = [len(s) for s in segs]
            outs = [[] for _ in segs]
            done = [False] * len(segs)
            n_order = len(ids)
            eog = {v.id["<|im_end|>"], v.id["<|endoftext|>"]}
            for _ in range(max_new):
                active = [j for j in range(len(segs)) if not done[j]]
                for j in active:
                    if nxt[j] in eog:
                        done[j] = True
                    else:
                        outs[j].append(nxt[j])
                active = [j for j in active if not done[j]]
                if not active:
                    break
                new_ids = [nxt[j] for j in active]
                new_pos = [len(prefix) + lens[j] for j in active]
                new_ord = list(range(n_order, n_order + len(active)))
                n_order += len(active)
                for j in active:
                    lens[j] += 1
                logits = self.model.logits(t(new_ids), None, t(new_pos), t(active), t(new_ord),
                                           cache)
                step = logits[0].argmax(-1).tolist()
                for k, j in enumerate(active):
                    nxt[j] = step[k]
            return [v.decode(o).strip() for o in outs]


class CliRunner:
    """One process per question: llama.cpp's llama-mtmd-cli or EdgeVLM's `edgevlm caption`."""

    def __init__(self, kind: str, binary: str, model_path: str, mmproj_path: str,
                 timeout: float = 300):
        self.kind, self.binary, self.model, self.mmproj = kind, binary, model_path, mmproj_path
        self.timeout = timeout
        self.commands = []

    def command(self, image_path, question):
        if self.kind == "llama":
            return [self.binary, "-m", self.model, "--mmproj", self.mmproj, "--image", image_path,
                    "-p", question, "--temp", "0", "-n", "48", "-t", "1", "--seed", "0"]
        return [self.binary, "caption", "--model", self.model, "--mmproj", self.mmproj,
                "--image", image_path, "--prompt", question, "--json"]

    def answer(self, image, image_path, questions):
        out = []
        for q in questions:
            cmd = self.command(image_path, q)
            if not self.commands:
                self.commands.append(" ".join(cmd))
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout)
            if r.returncode != 0:
                raise RuntimeError(f"{cmd[0]} failed ({r.returncode}): {r.stderr[-2000:]}")
            if self.kind == "llama":
                out.append(r.stdout.strip())
            else:
                out.append(str(json.loads(r.stdout)["text"]).strip())
        return out


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runner", choices=["python", "llama", "edgevlm"], default="python")
    ap.add_argument("--binary", help="llama-mtmd-cli or edgevlm executable")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--mmproj", default=DEFAULT_MMPROJ)
    ap.add_argument("-n", type=int, default=300, help="number of held-out images")
    ap.add_argument("--first", type=int, default=0, help="index of the first held-out image")
    ap.add_argument("--seed-base", type=int, default=EVAL_SEED_BASE)
    ap.add_argument("--json", help="write all answers here")
    ap.add_argument("--compare", help="answers JSON of another run: report agreement")
    ap.add_argument("--min-accuracy", type=float)
    ap.add_argument("--layout", choices=["reference", "llamacpp"], default="reference",
                    help="python runner: text between image block and question as EdgeVLM's default "
                         "(reference: a newline) or llama-mtmd-cli (nothing) sends it")
    args = ap.parse_args()

    if args.runner == "python":
        import demomodel as dm
        runner = PythonRunner(args.model, args.mmproj,
                              dm.SEP_REFERENCE if args.layout == "reference" else dm.SEP_LLAMA_CPP)
    else:
        if not args.binary:
            ap.error("--binary is required for --runner llama/edgevlm")
        runner = CliRunner(args.runner, args.binary, args.model, args.mmproj)

    results = []
    per_kind: dict[str, list[int]] = {k: [0, 0] for k in scenes.KINDS}
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.first, args.first + args.n):
            seed = args.seed_base + i
            sc = scenes.make_scene(seed)
            path = os.path.join(tmp, f"scene-{seed}.png")
            sc.image.save(path)
            qs = sc.questions()
            answers = runner.answer(sc.image, path, [q for _, q, _, _ in qs])
            for (kind, q, want, shape), got in zip(qs, answers):
                ok = scenes.check_answer(kind, got, sc, shape)
                per_kind[kind][0] += ok
                per_kind[kind][1] += 1
                results.append({"seed": seed, "size": [sc.width, sc.height], "kind": kind,
                                "question": q, "expected": want, "answer": got, "correct": ok})
    wall = time.time() - t0
    total_ok = sum(v[0] for v in per_kind.values())
    total = sum(v[1] for v in per_kind.values())
    summary = {"runner": args.runner, "images": args.n, "first": args.first,
               "seed_base": args.seed_base, "questions": total,
               "accuracy": total_ok / max(total, 1), "wall_seconds": round(wall, 1),
               "per_kind": {k: {"correct": c, "total": n, "accuracy": c / n if n else None}
                            for k, (c, n) in per_kind.items()}}
    if isinstance(runner, CliRunner) and runner.commands:
        summary["example_command"] = runner.commands[0]
    if args.compare:
        other = json.load(open(args.compare))["results"]
        key = lambda r: (r["seed"], r["question"])  # noqa: E731
        theirs = {key(r): r["answer"] for r in other}
        pairs = [(r["answer"], theirs[key(r)]) for r in results if key(r) in theirs]
        same = sum(a == b for a, b in pairs)
        summary["agreement"] = {"compared": len(pairs), "identical": same,
                                "rate": same / len(pairs) if pairs else None,
                                "with": args.compare}
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "results": results}, f, indent=1)
    if args.min_accuracy is not None and summary["accuracy"] < args.min_accuracy:
        sys.exit(1)


if __name__ == "__main__":
    main()

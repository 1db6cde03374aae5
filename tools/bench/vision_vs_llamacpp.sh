#!/bin/bash
# Vision encoder, EdgeVLM (`edgevlm bench vision`) vs llama-mtmd-cli on the same mmproj and images,
# alternating runs, llama.cpp slicing on both sides: encode seconds, stage breakdown, peak RSS.
# Not run in CI (needs llama.cpp binaries built elsewhere).
#   BENCH_DIR=dir-with-img448.png-and-img1344x896.png LLAMA_CPP_BIN=.../build/bin \
#   LLM=qwen2-0.5b-shape-q4_0.gguf MMPROJ=mmproj.gguf tools/bench/vision_vs_llamacpp.sh [THREADS...]
# (LLM: tools/goldens/make_llm_fixtures.py --realistic; MMPROJ: tools/bench/make_siglip_mmproj.py.)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "${BENCH_DIR:?folder with img448.png and img1344x896.png}"
E=${EDGEVLM:-$ROOT/.build/release/edgevlm}
L=${LLAMA_CPP_BIN:?set LLAMA_CPP_BIN to llama.cpp build/bin}/llama-mtmd-cli
LLM=${LLM:?Qwen2-0.5B-shaped Q4_0 GGUF}
MM=${MMPROJ:?SigLIP-400M-shaped mmproj}
for t in "${@:-1}"; do
  for img in img448.png img1344x896.png; do
    echo "== $img, $t thread(s), $(uptime | sed 's/.*load/load/')"
    /usr/bin/time -v "$E" bench vision --mmproj "$MM" -i "$img" --threads "$t" --compat llamacpp > "ours-$img-t$t.txt" 2> "ours-$img-t$t.err"
    sed -n 2p "ours-$img-t$t.txt"
    grep "Maximum resident" "ours-$img-t$t.err"
    LD_LIBRARY_PATH="$LLAMA_CPP_BIN" /usr/bin/time -v "$L" -m "$LLM" --mmproj "$MM" --image "$img" -p "Describe the image." -n 1 --temp 0 -t "$t" > "llama-$img-t$t.out" 2> "llama-$img-t$t.err"
    echo "llama.cpp: $(grep -o 'encoding done in [0-9]* ms' "llama-$img-t$t.err" | awk '{s+=$4} END {printf "encode %.2f s over %d batch(es)", s/1000, NR}')"
    grep "Maximum resident" "llama-$img-t$t.err"
  done
done

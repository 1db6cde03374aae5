#!/usr/bin/env bash
# Side-by-side language-model throughput: llama.cpp's llama-bench vs `edgevlm bench-llm`, same file,
# same thread count, one run. Not run in CI (needs the reference llama.cpp and the realistic files).
#
#   LLAMA_CPP_BIN=/work/ref/llama.cpp/build/bin tools/bench/llm_bench.sh DIR [THREADS...]
#
# DIR holds qwen2-0.5b-shape-{f16,q8_0,q4_0,q4_k_m}.gguf (tools/goldens/make_llm_fixtures.py --realistic DIR).
# Prints one markdown table row per (file, threads): pp512 and tg128 tok/s of both, ratios, peak RSS.
set -euo pipefail
DIR=${1:?directory of the realistic GGUF files}
shift
THREADS=("${@:-1 2}")
BIN=${LLAMA_CPP_BIN:-/work/ref/llama.cpp/build/bin}
EDGEVLM=${EDGEVLM:-.build/release/edgevlm}
REPS=${REPS:-3}
echo "| file | threads | llama.cpp pp512 | edgevlm pp512 | ratio | llama.cpp tg128 | edgevlm tg128 | ratio | RSS llama.cpp (MiB) | RSS edgevlm (MiB) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for q in f16 q8_0 q4_0 q4_k_m; do
  f="$DIR/qwen2-0.5b-shape-$q.gguf"
  [[ -e "$f" ]] || continue
  for t in ${THREADS[@]}; do
    lj=$( { /usr/bin/time -v "$BIN/llama-bench" -m "$f" -t "$t" -p 512 -n 128 -r "$REPS" -o json 2>/tmp/llm_bench_l.err; } 2>&1 )
    lrss=$(grep "Maximum resident" /tmp/llm_bench_l.err | awk '{print int($6/1024)}')
    lpp=$(echo "$lj" | python3 -c 'import json,sys; d=json.load(sys.stdin); print([round(x["avg_ts"],1) for x in d if x["n_prompt"]>0][0])')
    ltg=$(echo "$lj" | python3 -c 'import json,sys; d=json.load(sys.stdin); print([round(x["avg_ts"],1) for x in d if x["n_gen"]>0][0])')
    ej=$( { /usr/bin/time -v "$EDGEVLM" bench-llm -m "$f" -t "$t" -p 512 -n 128 -r "$REPS" --json 2>/tmp/llm_bench_e.err; } 2>&1 )
    erss=$(grep "Maximum resident" /tmp/llm_bench_e.err | awk '{print int($6/1024)}')
    epp=$(echo "$ej" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["pp512"],1))')
    etg=$(echo "$ej" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["tg128"],1))')
    rpp=$(python3 -c "print(round($epp/$lpp,2))")
    rtg=$(python3 -c "print(round($etg/$ltg,2))")
    echo "| $q | $t | $lpp | $epp | ${rpp}x | $ltg | $etg | ${rtg}x | $lrss | $erss |"
  done
done

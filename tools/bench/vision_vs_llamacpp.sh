#!/bin/bash
# Vision encoder, EdgeVLM vs llama-mtmd-cli on the same mmproj, alternating runs (1 thread):
# encode seconds, breakdown and peak RSS per input. Uses llama.cpp binaries built elsewhere.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "${BENCH_DIR:?folder with img448.png and img1344x896.png}"
E=${EDGEVLM:-$ROOT/.build/release/edgevlm}
L=${LLAMA_CPP_BIN:?set LLAMA_CPP_BIN to llama.cpp build/bin}/llama-mtmd-cli
LLM=${LLM:?Qwen2-0.5B-shaped Q4_0 GGUF (tools/goldens/make_llm_fixtures.py --realistic)}
MM=${MMPROJ:?SigLIP-400M-shaped mmproj (tools/bench/make_siglip_mmproj.py)}
for img in img448.png img448.png img1344x896.png; do
  for t in 1; do
    uptime
    /usr/bin/time -v $E caption -m $LLM --mmproj $MM -i $img --max-tokens 4 --threads $t --compat llamacpp --json > ours-$img-t$t.json 2> ours-$img-t$t.err
    python3 -c "import json;o=json.load(open('ours-$img-t$t.json'));print('ours', '$img', $t, 'encode_s', round(sum(o['timings']['encode_s']),2), o['timings']['encode_breakdown_s'])"
    grep "Maximum resident" ours-$img-t$t.err
    LD_LIBRARY_PATH=$LLAMA_CPP_BIN /usr/bin/time -v $L -m $LLM --mmproj $MM --image $img -p "Describe the image." -n 4 --temp 0 -t $t > llama-$img-t$t.out 2> llama-$img-t$t.err
    echo llama $img $t $(grep "batch encoding done\|image slice encoded" llama-$img-t$t.err | tail -3)
    grep "Maximum resident" llama-$img-t$t.err
  done
done

// Dumps what llama.cpp's mtmd makes of one image for a MiniCPM-V model pair: the prompt chunks
// (text tokens and image chunks in order) and every image chunk's output embeddings.
// Reference-data tool for tools/goldens/make_vision_goldens.py; compile it against a llama.cpp
// build you made yourself (nothing here builds llama.cpp):
//   c++ -O2 -std=c++17 mtmd_embeddings.cpp -I$LLAMA/include -I$LLAMA/ggml/include -I$LLAMA/tools/mtmd \
//       -L$LLAMA/build/bin -lmtmd -lllama -lggml -lggml-base -Wl,-rpath,$LLAMA/build/bin -o mtmd_embeddings
// Usage: mtmd_embeddings LLM.gguf MMPROJ.gguf IMAGE.rgb WIDTH HEIGHT OUT.bin   (stdout: JSON layout)
// OUT.bin: the image chunks' embeddings, float32, concatenated in chunk order.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "llama.h"
#include "mtmd.h"

int main(int argc, char ** argv) {
    if (argc != 7) { std::fprintf(stderr, "usage: %s LLM MMPROJ IMAGE.rgb W H OUT.bin\n", argv[0]); return 2; }
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { std::fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    mtmd_context_params cp = mtmd_context_params_default();
    cp.use_gpu = false;
    cp.n_threads = 2;
    cp.warmup = false;
    cp.print_timings = false;
    mtmd_context * ctx = mtmd_init_from_file(argv[2], model, cp);
    if (!ctx) { std::fprintf(stderr, "cannot load %s\n", argv[2]); return 1; }
    const int w = std::atoi(argv[4]), h = std::atoi(argv[5]);
    std::vector<unsigned char> rgb((size_t) w * h * 3);
    FILE * f = std::fopen(argv[3], "rb");
    if (!f || std::fread(rgb.data(), 1, rgb.size(), f) != rgb.size()) { std::fprintf(stderr, "bad image\n"); return 1; }
    std::fclose(f);
    mtmd_bitmap * bitmap = mtmd_bitmap_init(w, h, rgb.data());
    const char * marker = mtmd_default_marker();
    mtmd_input_text text = { marker, std::strlen(marker), false, true };
    mtmd_input_chunks * chunks = mtmd_input_chunks_init();
    const mtmd_bitmap * bitmaps[] = { bitmap };
    if (mtmd_tokenize(ctx, chunks, &text, bitmaps, 1) != 0) { std::fprintf(stderr, "tokenize failed\n"); return 1; }
    FILE * out = std::fopen(argv[6], "wb");
    const int n_embd = llama_model_n_embd(model);
    std::printf("{\"n_embd\": %d, \"chunks\": [", n_embd);
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks); i++) {
        const mtmd_input_chunk * chunk = mtmd_input_chunks_get(chunks, i);
        if (i) std::printf(", ");
        if (mtmd_input_chunk_get_type(chunk) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
            size_t n = 0;
            const llama_token * t = mtmd_input_chunk_get_tokens_text(chunk, &n);
            std::printf("{\"text\": [");
            for (size_t j = 0; j < n; j++) std::printf("%s%d", j ? ", " : "", t[j]);
            std::printf("]}");
        } else {
            if (mtmd_encode_chunk(ctx, chunk) != 0) { std::fprintf(stderr, "encode failed\n"); return 1; }
            const size_t n = mtmd_input_chunk_get_n_tokens(chunk);
            std::fwrite(mtmd_get_output_embd(ctx), sizeof(float), n * n_embd, out);
            std::printf("{\"image_tokens\": %zu}", n);
        }
    }
    std::printf("]}\n");
    std::fclose(out);
    mtmd_input_chunks_free(chunks);
    mtmd_bitmap_free(bitmap);
    mtmd_free(ctx);
    llama_model_free(model);
    return 0;
}

// Kernel level switches under load (scripts/checks/kernel-dispatch.sh): worker threads run
// kernels while the main thread switches the process-wide level as fast as it can. Every call
// must use one whole kernel table (refilling the live table in place once let a caller jump
// through a zeroed entry), and a thread's own level (ck_isa_set_thread) must not leak.
#include "ckernels.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

enum { WIDTH = 131, WORKERS = 3, SWITCHES = 400000 };
static atomic_int stop_workers;
static float input[WIDTH], gate[WIDTH], up[WIDTH];
static float want_softmax[WIDTH], want_swiglu[WIDTH];

// Softmax of one row through the dispatched passes: ck_scale_max then ck_exp_shifted.
static void softmax(float *y) {
    const float maximum = ck_scale_max(y, input, NULL, WIDTH, 1.0f);
    const double sum = ck_exp_shifted(y, y, WIDTH, maximum);
    for (int i = 0; i < WIDTH; i++) y[i] = (float)(y[i] / sum);
}

static void *worker(void *arg) {
    double *worst = arg;
    float y[WIDTH], s[WIDTH];
    long rounds = 0;
    while (!atomic_load(&stop_workers) || rounds < 1000) {
        softmax(y);
        ck_swiglu(s, gate, up, WIDTH);
        for (int i = 0; i < WIDTH; i++) {
            const double e = fabs((double)y[i] - want_softmax[i]) + fabs((double)s[i] - want_swiglu[i]) / 8;
            if (!(e <= *worst)) *worst = e;  // NaN counts as worst
        }
        rounds++;
    }
    return NULL;
}

static void *own_level(void *arg) {
    int *seen = arg;
    ck_isa_set_thread(CK_ISA_SCALAR);
    seen[0] = ck_isa_current();
    seen[1] = ck_isa_thread();
    ck_isa_set_thread(-1);
    seen[2] = ck_isa_thread();
    return NULL;
}

int main(void) {
    for (int i = 0; i < WIDTH; i++) {
        input[i] = sinf(0.37f * i) * 4;
        gate[i] = cosf(0.11f * i) * 3;
        up[i] = sinf(0.05f * i + 1);
    }
    const int best = ck_isa_best();
    ck_isa_set(CK_ISA_SCALAR);
    softmax(want_softmax);
    ck_swiglu(want_swiglu, gate, up, WIDTH);
    ck_isa_set(best);
    int failures = 0;

    int seen[3];
    pthread_t other;
    pthread_create(&other, NULL, own_level, seen);
    pthread_join(other, NULL);
    if (seen[0] != CK_ISA_SCALAR || seen[1] != CK_ISA_SCALAR || seen[2] != -1 || ck_isa_current() != best) {
        printf("kernel-dispatch: thread level leaked: %d %d %d, main %d\n", seen[0], seen[1], seen[2], ck_isa_current());
        failures++;
    }

    pthread_t threads[WORKERS];
    double worst[WORKERS] = {0};
    for (int t = 0; t < WORKERS; t++) pthread_create(&threads[t], NULL, worker, &worst[t]);
    const int levels[] = {CK_ISA_SCALAR, best};
    for (int i = 0; i < SWITCHES; i++) ck_isa_set(levels[i & 1]);
    atomic_store(&stop_workers, 1);
    for (int t = 0; t < WORKERS; t++) {
        pthread_join(threads[t], NULL);
        if (!(worst[t] < 1e-5)) {
            printf("kernel-dispatch: worker %d: error %g against the scalar results\n", t, worst[t]);
            failures++;
        }
    }
    ck_isa_set(best);
    printf("kernel-dispatch: %d level switches beside %d workers (best %s): %s\n", SWITCHES, WORKERS,
           ck_isa_name(best), failures ? "FAILED" : "ok");
    return failures != 0;
}

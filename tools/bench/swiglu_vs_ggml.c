// ck_swiglu against llama.cpp's own SwiGLU (ggml_vec_swiglu_f32 from its CPU backend library),
// 200 rows of 4864 (Qwen2-0.5B's feed-forward width), on each ISA level, counting results that
// differ in any bit. Not run in CI (needs the reference llama.cpp build).
//   clang -O2 -ISources/CKernels/include -ISources/CKernels tools/bench/swiglu_vs_ggml.c Sources/CKernels/*.c \
//       -o /tmp/swiglu_vs_ggml -lm -lpthread -ldl
//   GGML_CPU_LIB=/work/ref/llama.cpp/build/bin/libggml-cpu.so /tmp/swiglu_vs_ggml
#include "ckernels.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
typedef void (*fn)(int, float*, const float*, const float*);
int main(void){
  const char*lib=getenv("GGML_CPU_LIB"); if(!lib){fprintf(stderr,"set GGML_CPU_LIB to llama.cpp's libggml-cpu.so\n");return 2;}
  void*h=dlopen(lib,RTLD_NOW); if(!h){printf("%s\n",dlerror());return 1;}
  fn f=(fn)dlsym(h,"ggml_vec_swiglu_f32"); if(!f){fprintf(stderr,"no ggml_vec_swiglu_f32 in %s\n",lib);return 2;}
  int n=4864*200; float*g=malloc(4*n),*u=malloc(4*n),*a=malloc(4*n),*b=malloc(4*n),*c=malloc(4*n);
  srand(3); for(int i=0;i<n;i++){ g[i]=((rand()/(float)RAND_MAX)-0.5f)*(i%7==0?200.f:12.f); u[i]=(rand()/(float)RAND_MAX)-0.5f; }
  for(int r=0;r<200;r++) f(4864,a+r*4864,g+r*4864,u+r*4864);
  int levels[]={2,1,0};
  for(int l=0;l<3;l++){ ck_isa_set(levels[l]); ck_swiglu(b,g,u,n); ck_swiglu_ref(c,g,u,n);
    int diff=0, diffref=0, big=0; for(int i=0;i<n;i++){ if(memcmp(&a[i],&b[i],4)) { diff++; if(fabsf(a[i]-b[i])>1e-30f && diff<4) printf("  g=%g ggml %a ours %a\n",g[i],a[i],b[i]); if(fabsf(a[i]-b[i])>1e-30f) big++; } if(memcmp(&a[i],&c[i],4)) diffref++; }
    printf("%s: %d of %d differ from ggml (%d beyond 1e-30); libm twin differs from ggml in %d\n", ck_isa_name(ck_isa_current()), diff, n, big, diffref); }
}

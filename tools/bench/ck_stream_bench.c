// Streaming mat-vec bandwidth of ck_mul_mat: batch 1, a ROWS x COLS weight matrix of ggml type TYPE
// large enough to stream from DRAM (e.g. 150+ MiB), ITERS calls, best and median per call.
// Random weight bytes; the fp16 block scales of Q4_0/Q5_0/Q8_0 are set to a normal value (random
// ones include NaN and denormals, which change the float work). ISA=N picks a level (ckernels.h).
// Build and run (one process per variant; compare builds back to back):
//   clang -O3 -ISources/CKernels/include -ISources/CKernels tools/bench/ck_stream_bench.c Sources/CKernels/*.c -o /tmp/cksb -lm -lpthread
//   /tmp/cksb 8 151936 896 10     # Q8_0, 151936 x 896 (the Qwen2-0.5B output matrix, 138 MiB)
//   ISA=1 /tmp/cksb 2 151936 896 10   # Q4_0 on the AVX2 level
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  if(argc<5){fprintf(stderr,"usage: %s TYPE ROWS COLS ITERS\n",argv[0]);return 2;}
  if(getenv("ISA")) ck_isa_set(atoi(getenv("ISA")));
  int type=atoi(argv[1]); int64_t rows=atoll(argv[2]), cols=atoll(argv[3]); int iters=atoi(argv[4]);
  if(iters<1||iters>1000){fprintf(stderr,"ITERS must be 1..1000\n");return 2;}
  const int bb=ck_block_bytes(type);
  size_t rb = cols/ck_block_size(type)*bb; unsigned char*w=malloc(rb*rows);
  unsigned char pat[4096]; srand(1); for(int i=0;i<4096;i++) pat[i]=rand();
  for(size_t i=0;i<rb*rows;i+=4096) memcpy(w+i,pat,(rb*rows-i)<4096?(rb*rows-i):4096);
  if(type==CK_TYPE_Q4_0||type==CK_TYPE_Q5_0||type==CK_TYPE_Q8_0)
    for(size_t b=0;b<rb*rows/bb;b++){ w[b*bb]=0x00; w[b*bb+1]=0x20; } // d = 2^-7
  float*x=malloc(4*cols); for(int64_t i=0;i<cols;i++) x[i]=(rand()%2000-1000)/1000.0f;
  size_t ab=ck_activation_row_bytes(type,cols); unsigned char*a=malloc(ab);
  ck_prepare_activation(type,x,a,cols);
  float*o=malloc(4*rows); double t[1000];
  for(int it=0;it<iters;it++){ double s=now(); ck_mul_mat(type,cols,w,rb,rows,a,ab,1,o,rows); t[it]=now()-s; }
  qsort(t,iters,sizeof(double),cmp);
  double sum=0; for(int64_t r=0;r<rows;r++) sum+=o[r];
  printf("%s type %d %lldx%lld: best %.2f ms (%.2f GB/s) median %.2f ms, checksum %.6g\n", ck_isa_name(ck_isa_current()),
         type,(long long)rows,(long long)cols, t[0]*1e3, rb*rows/t[0]/1e9, t[iters/2]*1e3, sum);
}

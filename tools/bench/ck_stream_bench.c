// Streaming mat-vec bandwidth of ck_mul_mat: batch 1, a ROWS x COLS weight matrix of ggml type TYPE
// large enough to stream from DRAM (e.g. 150+ MiB), ITERS calls, best and median per call.
// Build and run (one process per variant; compare builds back to back):
//   clang -O3 -ISources/CKernels/include -ISources/CKernels tools/bench/ck_stream_bench.c Sources/CKernels/*.c -o /tmp/cksb -lm -lpthread
//   /tmp/cksb 6 262144 896 15     # Q5_0, 262144 x 896 (160 MiB)
#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  int type=atoi(argv[1]); int64_t rows=atoi(argv[2]), cols=atoi(argv[3]); int iters=atoi(argv[4]);
  size_t rb = cols/ck_block_size(type)*ck_block_bytes(type); unsigned char*w=malloc(rb*rows);
  unsigned char pat[4096]; srand(1); for(int i=0;i<4096;i++) pat[i]=rand();
  for(size_t i=0;i<rb*rows;i+=4096) memcpy(w+i,pat,(rb*rows-i)<4096?(rb*rows-i):4096);
  float*x=malloc(4*cols); for(int64_t i=0;i<cols;i++) x[i]=(rand()%2000-1000)/1000.0f;
  size_t ab=ck_activation_row_bytes(type,cols); unsigned char*a=malloc(ab);
  ck_prepare_activation(type,x,a,cols);
  float*o=malloc(4*rows); double t[1000];
  for(int it=0;it<iters;it++){ double s=now(); ck_mul_mat(type,cols,w,rb,rows,a,ab,1,o,rows); t[it]=now()-s; }
  qsort(t,iters,sizeof(double),cmp);
  printf("best %.2f ms (%.2f GB/s) median %.2f ms\n", t[0]*1e3, rb*rows/t[0]/1e9, t[iters/2]*1e3);
}

#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
// Times ck_mul_mat (2048x2048 weights of ggml type argv[1], batch argv[2]) at the AVX2 and AVX-512 VNNI
// levels in one process, best of 5, three alternating rounds. Build and run:
//   clang -O3 -ISources/CKernels/include -ISources/CKernels tools/bench/ck_mul_mat_bench.c Sources/CKernels/*.c -o /tmp/ckb -lm -lpthread
//   /tmp/ckb 2 64    # Q4_0, batch 64   (8 = Q8_0)
int main(int argc,char**argv){
  if(argc<3){fprintf(stderr,"usage: ck_mul_mat_bench TYPE BATCH\n");return 2;}
  int type = atoi(argv[1]); int64_t rows=2048, cols=2048, batch=atoi(argv[2]);
  size_t rb = cols/32*ck_block_bytes(type); unsigned char*w=malloc(rb*rows); for(size_t i=0;i<rb*rows;i++) w[i]=rand();
  // fix fp16 scales to sane values
  int bb=ck_block_bytes(type); for(size_t i=0;i<rb*rows;i+=bb){ w[i]=0x00; w[i+1]=0x3c; }
  float*x=malloc(4*cols*batch); for(int64_t i=0;i<cols*batch;i++) x[i]=(rand()%2000-1000)/1000.0f;
  size_t ab=ck_activation_row_bytes(type,cols); unsigned char*a=malloc(ab*batch);
  for(int64_t b=0;b<batch;b++) ck_prepare_activation(type,x+b*cols,a+b*ab,cols);
  float*o=malloc(4*rows*batch);
  int levels[2]={CK_ISA_AVX2,CK_ISA_AVX512VNNI};
  for(int rep=0;rep<3;rep++) for(int l=0;l<2;l++){ ck_isa_set(levels[l]); double best=1e9;
    for(int it=0;it<5;it++){double t=now(); ck_mul_mat(type,cols,w,rb,rows,a,ab,batch,o,rows); t=now()-t; if(t<best)best=t;}
    printf("%s type %d batch %ld: %.2f ms  %.1f GOPS\n", ck_isa_name(ck_isa_current()), type, (long)batch, best*1e3, 2.0*rows*cols*batch/best/1e9);}
}

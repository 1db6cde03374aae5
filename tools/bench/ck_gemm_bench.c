// One thread, one weight matrix of ggml type TYPE (ROWS x COLS) times BATCH activation rows, three
// ways in one process, best of 3 in three alternating rounds: ck_mul_mat's register tiles, the
// strip-packed integer GEMM (ck_gemm, packing included), and the SGEMM route (weights decoded to
// floats with ck_dequantize_row, activations expanded, OpenBLAS sgemm). Checks ck_gemm against its
// scalar twin bit for bit on the first 64 rows first. Random weight bytes with sane fp16 scales.
//   clang -O3 -ISources/CKernels/include -ISources/CKernels tools/bench/ck_gemm_bench.c Sources/CKernels/*.c \
//       -o /tmp/ckg -lopenblas -lm -lpthread
//   /tmp/ckg 2 4864 896 512    # Q4_0 (8 = Q8_0, 6 = Q5_0)
#include "ckernels.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  if(argc<5){fprintf(stderr,"usage: %s TYPE ROWS COLS BATCH\n",argv[0]);return 2;}
  openblas_set_num_threads(1);
  int type=atoi(argv[1]); int64_t rows=atoll(argv[2]), cols=atoll(argv[3]), batch=atoll(argv[4]);
  size_t rb=cols/32*ck_block_bytes(type); unsigned char*w=malloc(rb*rows);
  for(size_t i=0;i<rb*rows;i++) w[i]=rand();
  int bb=ck_block_bytes(type); for(size_t i=0;i<rb*rows;i+=bb){ w[i]=rand(); w[i+1]=0x1c+(rand()%8); }
  float*x=malloc(4*cols*batch); for(int64_t i=0;i<cols*batch;i++) x[i]=(rand()%2000-1000)/1000.0f;
  size_t ab=ck_activation_row_bytes(type,cols); unsigned char*a=malloc(ab*batch);
  for(int64_t b=0;b<batch;b++) ck_prepare_activation(type,x+b*cols,a+b*ab,cols);
  size_t sb=ck_gemm_side_row_bytes(cols); void*side=malloc(sb*batch); ck_gemm_prepare(type,cols,a,ab,batch,side);
  void*scratch=aligned_alloc(64,(ck_gemm_strip_bytes(cols)+63)/64*64);
  float*o1=malloc(4*rows*batch),*o2=malloc(4*rows*batch),*o3=malloc(4*rows*batch);
  float*panel=malloc(4*rows*cols),*xe=malloc(4*cols*batch);
  int64_t check=rows<64?rows:64;
  ck_gemm(type,cols,w,rb,check,a,ab,side,batch,o1,rows,scratch);
  ck_gemm_ref(type,cols,w,rb,check,a,ab,side,batch,o2,rows);
  long diff=0; for(int64_t b=0;b<batch;b++) for(int64_t r=0;r<check;r++) diff+=memcmp(&o1[b*rows+r],&o2[b*rows+r],4)!=0;
  ck_mul_mat(type,cols,w,rb,check,a,ab,batch,o3,rows);
  double worst=0; for(int64_t b=0;b<batch;b++) for(int64_t r=0;r<check;r++){double d=o1[b*rows+r]-o3[b*rows+r]; if(d<0)d=-d; double m=o3[b*rows+r]; if(m<0)m=-m; if(d/(m+1e-3)>worst)worst=d/(m+1e-3);}
  printf("ck_gemm (%s) vs twin: %ld of %ld differ in any bit; vs tiles: worst relative %.2e; vector kernel: %d\n",
         ck_isa_name(ck_isa_current()),diff,(long)(check*batch),worst,ck_gemm_supported(type));
  double gop=2.0*rows*cols*batch/1e9;
  for(int rep=0;rep<3;rep++){
    double bt=1e9,bg=1e9,bs=1e9;
    for(int it=0;it<3;it++){double t=now(); ck_mul_mat(type,cols,w,rb,rows,a,ab,batch,o1,rows); t=now()-t; if(t<bt)bt=t;}
    for(int it=0;it<3;it++){double t=now(); ck_gemm(type,cols,w,rb,rows,a,ab,side,batch,o2,rows,scratch); t=now()-t; if(t<bg)bg=t;}
    for(int it=0;it<3;it++){double t=now();
      for(int64_t r=0;r<rows;r++) ck_dequantize_row(type,w+r*rb,panel+r*cols,cols);
      for(int64_t b=0;b<batch;b++) ck_expand_activation(type,a+b*ab,xe+b*cols,cols);
      cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,batch,rows,cols,1,xe,cols,panel,cols,0,o3,rows);
      t=now()-t; if(t<bs)bs=t;}
    printf("type %d %ldx%ld batch %ld: tiles %.2f ms (%.0f GOPS)  gemm %.2f ms (%.0f)  sgemm route %.2f ms (%.0f)  gemm/sgemm speed %.2fx\n",
           type,(long)rows,(long)cols,(long)batch,bt*1e3,gop/bt,bg*1e3,gop/bg,bs*1e3,gop/bs,bs/bg);
  }
}

// Fused attention (ck_attention_f32) against the OpenBLAS route it replaced in
// Attention.compute (per head: scores = scale·Q·Kᵀ by SGEMM in blocks of 128 query rows,
// ck_scale_max + ck_exp_shifted softmax, then P·V by SGEMM), one thread, process CPU time per
// pass over all heads (the machine is shared: CPU time is steadier than wall time), both
// errors against the scalar twin. Build and run:
//   clang -O3 -ISources/CKernels/include -ISources/CKernels tools/bench/ck_attention_bench.c Sources/CKernels/*.c \
//       -o /tmp/ckab -lopenblas -lm -lpthread
//   /tmp/ckab 1024 72 16 5     # SigLIP-400M at 448×448: 1024 tokens, head width 72, 16 heads, 5 passes
#include "ckernels.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double cpu(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static float rnd(float s){return (float)(rand()%2001-1000)/1000.0f*s;}
static double rel(const float*a,const float*b,long n){double e=0,r=0;for(long i=0;i<n;i++){e+=(a[i]-(double)b[i])*(a[i]-(double)b[i]);r+=(double)b[i]*b[i];}return sqrt(e/r);}
int main(int argc,char**argv){
  const int n=argc>1?atoi(argv[1]):1024, d=argc>2?atoi(argv[2]):72, heads=argc>3?atoi(argv[3]):16, passes=argc>4?atoi(argv[4]):5;
  const long w=(long)heads*d; const float scale=1/sqrtf((float)d);
  float*q=malloc(4*n*w),*k=malloc(4*n*w),*v=malloc(4*n*w),*blas=malloc(4*n*w),*fused=malloc(4*n*w),*twin=malloc(4*n*w);
  srand(1); for(long i=0;i<n*w;i++){q[i]=rnd(2);k[i]=rnd(2);v[i]=rnd(1);}
  float*scratch=malloc(4*(size_t)ck_attention_f32_scratch(n,d)),*s=malloc(4*128*(size_t)n),*kf=malloc(4*(size_t)n*d),*vf=malloc(4*(size_t)n*d);
  openblas_set_num_threads(1);
  for(int h=0;h<heads;h++) ck_attention_f32_ref(q+h*d,w,n,k+h*d,w,v+h*d,w,n,d,scale,twin+h*d,w,scratch);
  const double flop=4.0*n*n*d*heads;
  printf("tokens %d, head width %d, heads %d: CPU ms per pass (GFLOP/s of CPU time)\n",n,d,heads);
  for(int p=0;p<passes;p++){
    double a=cpu();
    for(int h=0;h<heads;h++){
      for(int j=0;j<n;j++)for(int c=0;c<d;c++){kf[j*d+c]=k[j*w+h*d+c];vf[j*d+c]=v[j*w+h*d+c];}
      for(int t0=0;t0<n;t0+=128){const int rows=n-t0<128?n-t0:128;
        cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,rows,n,d,scale,q+t0*w+h*d,w,kf,d,0,s,n);
        for(int r=0;r<rows;r++){float*row=s+(long)r*n;const float m=ck_scale_max(row,row,NULL,n,1);const double sum=ck_exp_shifted(row,row,n,m);for(int j=0;j<n;j++)row[j]=(float)(row[j]/sum);}
        cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,rows,d,n,1,s,n,vf,d,0,blas+t0*w+h*d,w);}
    }
    double b=cpu();
    for(int h=0;h<heads;h++) ck_attention_f32(q+h*d,w,n,k+h*d,w,v+h*d,w,n,d,scale,fused+h*d,w,scratch);
    double c=cpu();
    printf("openblas %7.1f (%5.1f)  fused %7.1f (%5.1f)  fused speed %.2fx  rel. L2 vs twin: openblas %.1e fused %.1e\n",
           (b-a)*1e3,flop/(b-a)*1e-9,(c-b)*1e3,flop/(c-b)*1e-9,(b-a)/(c-b),rel(blas,twin,n*w),rel(fused,twin,n*w));
  }
}

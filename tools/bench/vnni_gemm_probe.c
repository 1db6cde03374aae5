// Probe (not used by the runtime): how fast AVX512-VNNI integer products could run the vision
// encoder's projections against OpenBLAS SGEMM, and at what error. Activations and weights are
// quantized per row, symmetric: int8 (vpdpbusd, 4 products per lane) or 12-bit int16 (vpdpwssd,
// 2 per lane, int32 partials flushed to float every 256 k). Activations ~ sums of uniforms with
// every 97th channel 8x larger (outlier channels, as SigLIP has). Process CPU time, one thread.
//   clang -O3 -march=native tools/bench/vnni_gemm_probe.c -o /tmp/vgp -lopenblas -lm
//   /tmp/vgp 8 1152 4288 ; /tmp/vgp 16 1152 4288 ; /tmp/vgp 16 4304 1152   (mode, K, N; N a multiple of 32)
#include <immintrin.h>
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
static double cpu(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
// W: N rows x K floats -> packed int8 panels of 32 rows: [N/32][K/4][32][4], scale per row, colsum per row
static void pack_w8(const float*w,int N,int K,void*wpv,float*sw,int32_t*csum){ int8_t*wp=wpv;
  for(int j=0;j<N;j++){float m=0;for(int k=0;k<K;k++)m=fmaxf(m,fabsf(w[(long)j*K+k]));sw[j]=m/127.f;float inv=m>0?127.f/m:0;int32_t s=0;
    for(int k=0;k<K;k++){int q=(int)lrintf(w[(long)j*K+k]*inv);s+=q;wp[((long)(j/32)*(K/4)+k/4)*128+(j%32)*4+k%4]=(int8_t)q;}csum[j]=s*128;}
}
static void quant_a8(const float*a,int M,int K,void*uav,float*sa){ uint8_t*ua=uav;
  for(int i=0;i<M;i++){float m=0;for(int k=0;k<K;k++)m=fmaxf(m,fabsf(a[(long)i*K+k]));sa[i]=m/127.f;float inv=m>0?127.f/m:0;
    for(int k=0;k<K;k++)ua[(long)i*K+k]=(uint8_t)((int)lrintf(a[(long)i*K+k]*inv)+128);}
}
#define R8 8
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void gemm8(const uint8_t*ua,const float*sa,int M,int K,const int8_t*wp,const float*sw,const int32_t*cs,int N,float*c){
  for(int jp=0;jp<N/32;jp++){
    const int8_t*pw=wp+(long)jp*(K/4)*128;
    __m512 s0=_mm512_loadu_ps(sw+jp*32),s1=_mm512_loadu_ps(sw+jp*32+16);
    __m512i c0=_mm512_loadu_si512(cs+jp*32),c1=_mm512_loadu_si512(cs+jp*32+16);
    for(int i0=0;i0<M;i0+=R8){
      __m512i acc[R8][2];
      for(int r=0;r<R8;r++){acc[r][0]=_mm512_setzero_si512();acc[r][1]=_mm512_setzero_si512();}
      const uint8_t*pa=ua+(long)i0*K;
      for(int kq=0;kq<K/4;kq++){
        __m512i w0=_mm512_loadu_si512(pw+kq*128),w1=_mm512_loadu_si512(pw+kq*128+64);
#pragma unroll
        for(int r=0;r<R8;r++){__m512i a=_mm512_set1_epi32(*(const int32_t*)(pa+(long)r*K+kq*4));
          acc[r][0]=_mm512_dpbusd_epi32(acc[r][0],a,w0);acc[r][1]=_mm512_dpbusd_epi32(acc[r][1],a,w1);}
      }
      for(int r=0;r<R8;r++){__m512 f0=_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][0],c0)),f1=_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][1],c1));
        __m512 sc=_mm512_set1_ps(sa[i0+r]);
        _mm512_storeu_ps(c+(long)(i0+r)*N+jp*32,_mm512_mul_ps(_mm512_mul_ps(f0,s0),sc));
        _mm512_storeu_ps(c+(long)(i0+r)*N+jp*32+16,_mm512_mul_ps(_mm512_mul_ps(f1,s1),sc));}
    }
  }
}
#define QMAX 2047.f
static void pack_w16(const float*w,int N,int K,int16_t*wp,float*sw){ // [N/32][K/2][32][2]
  for(int j=0;j<N;j++){float m=0;for(int k=0;k<K;k++)m=fmaxf(m,fabsf(w[(long)j*K+k]));sw[j]=m/QMAX;float inv=m>0?QMAX/m:0;
    for(int k=0;k<K;k++)wp[((long)(j/32)*(K/2)+k/2)*64+(j%32)*2+k%2]=(int16_t)lrintf(w[(long)j*K+k]*inv);}
}
static void quant_a16(const float*a,int M,int K,int16_t*qa,float*sa){
  for(int i=0;i<M;i++){float m=0;for(int k=0;k<K;k++)m=fmaxf(m,fabsf(a[(long)i*K+k]));sa[i]=m/QMAX;float inv=m>0?QMAX/m:0;
    for(int k=0;k<K;k++)qa[(long)i*K+k]=(int16_t)lrintf(a[(long)i*K+k]*inv);}
}
#define R 6
#define KB 256
__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void gemm16(const int16_t*qa,const float*sa,int M,int K,const int16_t*wp,const float*sw,int N,float*c){
  for(int jp=0;jp<N/32;jp++){
    const int16_t*pw=wp+(long)jp*(K/2)*64;
    __m512 s0=_mm512_loadu_ps(sw+jp*32),s1=_mm512_loadu_ps(sw+jp*32+16);
    for(int i0=0;i0+R<=M;i0+=R){
      __m512 f[R][2]; for(int r=0;r<R;r++){f[r][0]=_mm512_setzero_ps();f[r][1]=_mm512_setzero_ps();}
      for(int k0=0;k0<K;k0+=KB){
        __m512i acc[R][2]; for(int r=0;r<R;r++){acc[r][0]=_mm512_setzero_si512();acc[r][1]=_mm512_setzero_si512();}
        int k1=k0+KB<K?k0+KB:K;
        for(int kp=k0/2;kp<k1/2;kp++){
          __m512i w0=_mm512_loadu_si512(pw+kp*64),w1=_mm512_loadu_si512(pw+kp*64+32);
#pragma unroll
          for(int r=0;r<R;r++){__m512i a=_mm512_set1_epi32(*(const int32_t*)(qa+(long)(i0+r)*K+kp*2));
            acc[r][0]=_mm512_dpwssd_epi32(acc[r][0],a,w0);acc[r][1]=_mm512_dpwssd_epi32(acc[r][1],a,w1);}
        }
        for(int r=0;r<R;r++){f[r][0]=_mm512_add_ps(f[r][0],_mm512_cvtepi32_ps(acc[r][0]));f[r][1]=_mm512_add_ps(f[r][1],_mm512_cvtepi32_ps(acc[r][1]));}
      }
      for(int r=0;r<R;r++){__m512 sc=_mm512_set1_ps(sa[i0+r]);
        _mm512_storeu_ps(c+(long)(i0+r)*N+jp*32,_mm512_mul_ps(_mm512_mul_ps(f[r][0],s0),sc));
        _mm512_storeu_ps(c+(long)(i0+r)*N+jp*32+16,_mm512_mul_ps(_mm512_mul_ps(f[r][1],s1),sc));}
    }
  }
}
int main(int argc,char**argv){
  const int mode=argc>1?atoi(argv[1]):16, K=argc>2?atoi(argv[2]):1152, N=argc>3?atoi(argv[3]):4288, M=1032; // a multiple of both row tiles (8, 6)
  if(N%32||K%4||(mode!=8&&mode!=16)){fprintf(stderr,"usage: vgp 8|16 K N (N a multiple of 32, K of 4)\n");return 2;}
  float*a=malloc(4L*M*K),*w=malloc(4L*N*K),*c1=malloc(4L*M*N),*c2=malloc(4L*M*N);
  srand(3);
  for(long i=0;i<(long)M*K;i++){float g=0;for(int t=0;t<4;t++)g+=(rand()/(float)RAND_MAX-0.5f);a[i]=g*1.7f;}
  for(int i=0;i<M;i++)for(int k=0;k<K;k+=97)a[(long)i*K+k]*=8;
  for(long i=0;i<(long)N*K;i++){float g=0;for(int t=0;t<4;t++)g+=(rand()/(float)RAND_MAX-0.5f);w[i]=g*0.05f;}
  void*wp=aligned_alloc(64,2L*N*K),*qa=aligned_alloc(64,2L*M*K);float*sw=malloc(4*N),*sa=malloc(4*M);int32_t*cs=malloc(4*N);
  openblas_set_num_threads(1);
  if(mode==8)pack_w8(w,N,K,wp,sw,cs);else pack_w16(w,N,K,wp,sw);
  for(int rep=0;rep<3;rep++){
    double t0=cpu(); cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,M,N,K,1,a,K,w,K,0,c1,N);
    double t1=cpu();
    if(mode==8)quant_a8(a,M,K,qa,sa);else quant_a16(a,M,K,qa,sa);
    double t2=cpu();
    if(mode==8)gemm8(qa,sa,M,K,wp,sw,cs,N,c2);else gemm16(qa,sa,M,K,wp,sw,N,c2);
    double t3=cpu();
    double e=0,r=0;for(long i=0;i<(long)M*N;i++){e+=(c1[i]-c2[i])*(double)(c1[i]-c2[i]);r+=c1[i]*(double)c1[i];}
    const double ops=2.0*M*N*K;
    printf("int%d K %d N %d: sgemm %.1f ms (%.0f GF/s)  integer %.1f ms (%.0f GOP/s) + quantize %.1f ms  speed %.2fx  rel. L2 %.2e\n",
           mode,K,N,(t1-t0)*1e3,ops/(t1-t0)*1e-9,(t3-t2)*1e3,ops/(t3-t2)*1e-9,(t2-t1)*1e3,(t1-t0)/(t3-t1),sqrt(e/r));
  }
}

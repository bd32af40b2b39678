// Host emulation of the grid-stride kernels of native/cuda/{recurrence,spectral,conv_pad}.cu (one thread, so each
// loop covers everything) driven in the same order as CudaRecurrence and the CUDA stft op, with a scalar row-major
// GEMM standing in for cuBLAS. check.py compares the results with PyTorch float64 autograd. No GPU needed:
//   cd tools/cuda-emu/golden && g++ -O1 -std=c++17 -w host.cpp -o /tmp/host && python3 check.py /tmp/host
// dnn_planes.cu (block reductions, __syncthreads) is checked by planes.cpp with real threads.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <string>
using namespace std;
struct D3 { unsigned x, y, z; };
static D3 blockIdx{0,0,0}, blockDim{1,1,1}, threadIdx{0,0,0}, gridDim{1,1,1};
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#include "../../../native/cuda/recurrence.cu"
#include "../../../native/cuda/spectral.cu"
#include "../../../native/cuda/conv_pad.cu"

// row-major C(m,n) = alpha op(A) op(B) + beta C
static void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) {
    double s = 0;
    for (int p = 0; p < k; p++) s += (double)(ta ? A[p*lda+i] : A[i*lda+p]) * (tb ? B[j*ldb+p] : B[p*ldb+j]);
    C[i*ldc+j] = (float)(alpha*s + (beta == 0 ? 0 : beta*C[i*ldc+j]));
  }
}
static vector<float> rd(const char* f, size_t n) { vector<float> v(n); FILE* p = fopen(f, "rb"); fread(v.data(), 4, n, p); fclose(p); return v; }
static void wr(const char* f, const vector<float>& v) { FILE* p = fopen(f, "wb"); fwrite(v.data(), 4, v.size(), p); fclose(p); }

int main(int argc, char** argv) {
  string what = argv[1];
  if (what == "rnn") {
    // args: cell(0 relu,1 tanh,2 lstm) T B H reverse inputMajor hasBias len0..lenB-1
    int cell = atoi(argv[2]), T = atoi(argv[3]), B = atoi(argv[4]), H = atoi(argv[5]), reverse = atoi(argv[6]), im = atoi(argv[7]), hasb = atoi(argv[8]);
    vector<int> lengths(B); for (int b = 0; b < B; b++) lengths[b] = atoi(argv[9+b]);
    int G = cell == 2 ? 4 : 1, GH = G*H;
    auto xw = rd("xw.bin", (size_t)T*B*GH), w = rd("w.bin", (size_t)GH*H), bh = rd("b.bin", GH), gy = rd("gy.bin", (size_t)T*B*H);
    const float* bhh = hasb ? bh.data() : nullptr;
    vector<float> hs((size_t)(T+1)*B*H, 0), cs((size_t)(T+1)*B*H, 0), gates((size_t)max(T,1)*B*GH), pre((size_t)B*GH), y((size_t)T*B*H);
    auto TimeOf = [&](int s) { return reverse ? T-1-s : s; };
    for (int s = 0; s < T; s++) {
      int t = TimeOf(s);
      float *hPrev = &hs[(size_t)s*B*H], *hNext = &hs[(size_t)(s+1)*B*H];
      gemm(false, !im, B, GH, H, 1, hPrev, H, w.data(), im ? GH : H, 0, pre.data(), GH);
      if (cell == 2) lstm_cell_forward_f32(pre.data(), &xw[(size_t)t*B*GH], bhh, &cs[(size_t)s*B*H], hPrev, &gates[(size_t)s*B*GH], &cs[(size_t)(s+1)*B*H], hNext, &y[(size_t)t*B*H], H, lengths.data(), t, B, H, 1.0f);
      else rnn_cell_forward_f32(pre.data(), &xw[(size_t)t*B*GH], bhh, hPrev, hNext, &y[(size_t)t*B*H], H, lengths.data(), t, B, H, cell == 0);
    }
    wr("y.out", y);
    vector<float> dpre((size_t)T*B*GH), dh((size_t)B*H), dhg((size_t)B*H), dc((size_t)B*H, 0), dxw((size_t)T*B*GH), dw((size_t)GH*H), db(GH);
    for (int s = T-1; s >= 0; s--) {
      int t = TimeOf(s), ta = s == T-1 ? -1 : TimeOf(s+1);
      float* dps = &dpre[(size_t)s*B*GH];
      if (cell == 2) lstm_cell_backward_f32(&gates[(size_t)s*B*GH], &cs[(size_t)s*B*H], &cs[(size_t)(s+1)*B*H], &gy[(size_t)t*B*H], H, dhg.data(), dh.data(), dc.data(), dps, &dxw[(size_t)t*B*GH], lengths.data(), t, ta, B, H);
      else rnn_cell_backward_f32(&hs[(size_t)(s+1)*B*H], &gy[(size_t)t*B*H], H, dhg.data(), dh.data(), dps, &dxw[(size_t)t*B*GH], lengths.data(), t, ta, B, H, cell == 0);
      if (s > 0) gemm(false, im, B, H, GH, 1, dps, GH, w.data(), im ? GH : H, 0, dhg.data(), H);
    }
    int rows = T*B;
    if (im) gemm(true, false, H, GH, rows, 1, hs.data(), H, dpre.data(), GH, 0, dw.data(), GH);
    else gemm(true, false, GH, H, rows, 1, dpre.data(), GH, hs.data(), H, 0, dw.data(), H);
    vector<float> ones(rows, 1.0f);
    gemm(false, false, 1, GH, rows, 1, ones.data(), rows, dpre.data(), GH, 0, db.data(), GH);
    wr("dxw.out", dxw); wr("dw.out", dw); wr("db.out", db);
  } else if (what == "stft") {
    // args: B N frames len hop off bins ; basis.bin (2bins, len), x.bin, g.bin (B, F, bins, 2)
    int B = atoi(argv[2]), N = atoi(argv[3]), F = atoi(argv[4]), L = atoi(argv[5]), hop = atoi(argv[6]), off = atoi(argv[7]), bins = atoi(argv[8]);
    auto x = rd("x.bin", (size_t)B*N), basis = rd("basis.bin", (size_t)2*bins*L), g = rd("g.bin", (size_t)B*F*bins*2);
    int rows = B*F;
    vector<float> fr((size_t)rows*L), y((size_t)rows*2*bins), dfr((size_t)rows*L), dx((size_t)B*N);
    stft_frames_f32(x.data(), fr.data(), B, N, F, L, hop, off);
    gemm(false, true, rows, 2*bins, L, 1, fr.data(), L, basis.data(), L, 0, y.data(), 2*bins);
    gemm(false, false, rows, L, 2*bins, 1, g.data(), 2*bins, basis.data(), L, 0, dfr.data(), L);
    stft_overlap_add_f32(dfr.data(), dx.data(), B, N, F, L, hop, off);
    wr("y.out", y); wr("dx.out", dx);
  } else if (what == "polar") {
    long long n = atoll(argv[2]); int angle = atoi(argv[3]);
    auto z = rd("z.bin", n*2), g = rd("g.bin", n);
    vector<float> y(n), dz(n*2);
    complex_polar_forward_f32(z.data(), y.data(), n, angle);
    complex_polar_backward_f32(g.data(), z.data(), dz.data(), n, angle);
    wr("y.out", y); wr("dz.out", dz);
  } else if (what == "pad") {
    long long P = atoll(argv[2]); int h = atoi(argv[3]), w = atoi(argv[4]), top = atoi(argv[5]), left = atoi(argv[6]), oh = atoi(argv[7]), ow = atoi(argv[8]);
    auto x = rd("x.bin", P*h*w), yin = rd("g.bin", P*oh*ow);
    vector<float> y(P*oh*ow), back(P*h*w);
    conv_pad2d_f32(x.data(), y.data(), P, h, w, top, left, oh, ow);
    conv_crop2d_f32(yin.data(), back.data(), P, h, w, top, left, oh, ow);
    wr("y.out", y); wr("dx.out", back);
  }
  return 0;
}

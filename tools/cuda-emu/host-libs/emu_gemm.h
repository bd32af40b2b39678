// The host GEMM both fake BLAS libraries (libcublas.cpp, libcublasLt.cpp) compute with: column-major
// C (m, n; ldc) = alpha op(A) op(B) + beta C, products summed in double and rounded once, TF32 input rounding on request.
// Deliberate bug for check_blas_dnn.py --mutants: -DEMU_BREAK_beta0 (beta 0 reads C).
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

namespace emu_gemm {

// Round to TF32 (8-bit exponent, 10-bit mantissa, round to nearest even), as tensor cores read float inputs.
inline float tf32(float v) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    if ((b & 0x7f800000u) == 0x7f800000u) return v;  // inf / NaN unchanged
    b += 0x0fffu + ((b >> 13) & 1u);
    b &= 0xffffe000u;
    std::memcpy(&v, &b, 4);
    return v;
}

// op(A) is (m, k), op(B) is (k, n); ta / tb: the operand is stored transposed. beta == 0 never reads C (it may hold
// NaN), and alpha == 0 or k == 0 never reads A or B (reference BLAS quick return). op(A) rows and op(B) columns are
// first copied contiguous (ap (m, k), bp (n, k)) so each dot product streams.
inline void gemm(bool tf, bool ta, bool tb, int m, int n, int k, float alpha, const float *A, int64_t lda,
                 const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    bool skipProduct = alpha == 0.0f || k == 0;
    std::vector<float> ap, bp;
    if (!skipProduct) {
        ap.resize((size_t)m * k);
        bp.resize((size_t)n * k);
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) {
                float a = !ta ? A[i + (int64_t)p * lda] : A[p + (int64_t)i * lda];
                ap[(size_t)i * k + p] = tf ? tf32(a) : a;
            }
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++) {
                float b = !tb ? B[p + (int64_t)j * ldb] : B[j + (int64_t)p * ldb];
                bp[(size_t)j * k + p] = tf ? tf32(b) : b;
            }
    }
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            double r = 0.0;
            if (!skipProduct) {
                const float *a = &ap[(size_t)i * k], *b = &bp[(size_t)j * k];
                double acc = 0.0;
                for (int p = 0; p < k; p++) acc += (double)a[p] * (double)b[p];
                r = (double)alpha * acc;
            }
            float *c = &C[i + (int64_t)j * ldc];
#ifdef EMU_BREAK_beta0
            r += (double)beta * (double)*c;
#else
            if (beta != 0.0f) r += (double)beta * (double)*c;
#endif
            *c = (float)r;
        }
    }
}

}  // namespace emu_gemm

// Fake cuBLAS v2 (libcublas.so.13) for the host "GPU" of tools/cuda-emu: a device pointer is a host pointer and
// a stream runs synchronously on the calling thread, so every call computes right away on the CPU.
// Types, enum values, status codes and argument checks follow the cuBLAS documentation and cublas_api.h
// (CUDA 12.6 header: cublasStatus_t, cublasOperation_t, cublasMath_t, cublasPointerMode_t), not Cochlea's C#.
// Implemented: handle create/destroy, stream, math and pointer mode, status strings, version, cublasSgemm_v2 and
// cublasSgemmStridedBatched (column-major, every op combination). CUBLAS_TF32_TENSOR_OP_MATH rounds A and B to
// TF32 (10-bit mantissa) as tensor cores would; products are summed in double and rounded once.
// Build: g++ -std=c++17 -O2 -shared -fPIC -Wl,-soname,libcublas.so.13 libcublas.cpp -o DIR/libcublas.so.13
// Deliberate bugs for tools/cuda-emu/host-libs/check_blas_dnn.py --mutants: -DEMU_BREAK_<name> (see the #ifdefs).
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "emu_cublas_status.h"
#include "emu_gemm.h"
#include "emu_stats.h"

extern "C" {

typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2, CUBLAS_OP_CONJG = 3 } cublasOperation_t;
typedef enum { CUBLAS_POINTER_MODE_HOST = 0, CUBLAS_POINTER_MODE_DEVICE = 1 } cublasPointerMode_t;
typedef enum {
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_TENSOR_OP_MATH = 1,
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
    CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION = 16,
} cublasMath_t;

typedef void *cudaStream_t;

// The handle: opaque to callers; the magic catches a stale or foreign pointer.
struct cublasContext {
    uint32_t magic;
    cudaStream_t stream;
    cublasMath_t math;
    cublasPointerMode_t pointerMode;
};
typedef cublasContext *cublasHandle_t;

static const uint32_t kHandleMagic = 0xC0B1A5u;

static bool valid(cublasHandle_t h) { return h != nullptr && h->magic == kHandleMagic; }

// TF32 rounding only under CUBLAS_TF32_TENSOR_OP_MATH (the DISALLOW_REDUCED_PRECISION flag aside); the deprecated
// CUBLAS_TENSOR_OP_MATH (inputs may go to half) is computed in full float here, which the README says.
static bool usesTf32(cublasHandle_t h) {
    return (static_cast<int>(h->math) & ~static_cast<int>(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)) == CUBLAS_TF32_TENSOR_OP_MATH;
}

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle) { EMU_STAT("cublas");
    if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    auto *h = new (std::nothrow) cublasContext{kHandleMagic, nullptr, CUBLAS_DEFAULT_MATH, CUBLAS_POINTER_MODE_HOST};
    if (h == nullptr) return CUBLAS_STATUS_ALLOC_FAILED;
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) { EMU_STAT("cublas");
    if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->magic = 0;
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version) { EMU_STAT("cublas");
    if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (version == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    *version = 130000;  // CUBLAS_VERSION = major * 10000 + minor * 100 + patch (cuBLAS 13.0.0)
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) { EMU_STAT("cublas");
    if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = stream;  // kept only to be read back: the host "GPU" runs every stream synchronously
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *stream) { EMU_STAT("cublas");
    if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (stream == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    *stream = handle->stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) { EMU_STAT("cublas");
    if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    int base = static_cast<int>(mode) & ~static_cast<int>(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION);
    if (base < CUBLAS_DEFAULT_MATH || base > CUBLAS_TF32_TENSOR_OP_MATH) return CUBLAS_STATUS_INVALID_VALUE;
    handle->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode) { EMU_STAT("cublas");
    if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->math;
    return CUBLAS_STATUS_SUCCESS;
}

// Device and host pointers are the same memory here, so both pointer modes read alpha/beta the same way.
cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode) { EMU_STAT("cublas");
    if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != CUBLAS_POINTER_MODE_HOST && mode != CUBLAS_POINTER_MODE_DEVICE) return CUBLAS_STATUS_INVALID_VALUE;
    handle->pointerMode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t *mode) { EMU_STAT("cublas");
    if (!valid(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->pointerMode;
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusName(cublasStatus_t status) { return emu_cublas::statusName(status); }

const char *cublasGetStatusString(cublasStatus_t status) { return emu_cublas::statusString(status); }

}  // extern "C"

namespace {

bool validOp(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; }
int maxi(int a, int b) { return a > b ? a : b; }

// The argument checks the cuBLAS documentation lists for cublas<t>gemm: INVALID_VALUE for negative sizes, an
// unknown op, lda < max(1, m or k), ldb < max(1, k or n), ldc < max(1, m), or a missing alpha / beta.
cublasStatus_t checkGemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                         const float *alpha, int lda, int ldb, const float *beta, int ldc) {
    if (!valid(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0 || !validOp(ta) || !validOp(tb)) return CUBLAS_STATUS_INVALID_VALUE;
    if (lda < maxi(1, ta == CUBLAS_OP_N ? m : k)) return CUBLAS_STATUS_INVALID_VALUE;
    if (ldb < maxi(1, tb == CUBLAS_OP_N ? k : n)) return CUBLAS_STATUS_INVALID_VALUE;
#ifndef EMU_BREAK_ldc
    if (ldc < maxi(1, m)) return CUBLAS_STATUS_INVALID_VALUE;
#endif
    if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

// Real-valued: CUBLAS_OP_C is CUBLAS_OP_T.
void gemm(bool tf, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, const float *A,
          int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    emu_gemm::gemm(tf, ta != CUBLAS_OP_N, tb != CUBLAS_OP_N, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

extern "C" {

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                              int k, const float *alpha, const float *A, int lda, const float *B, int ldb,
                              const float *beta, float *C, int ldc) { EMU_STAT("cublas");
    cublasStatus_t s = checkGemm(handle, transa, transb, m, n, k, alpha, lda, ldb, beta, ldc);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (m == 0 || n == 0 || emu_stats::skip_work()) return CUBLAS_STATUS_SUCCESS;
    gemm(usesTf32(handle), transa, transb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

// Batch i uses A + i*strideA, B + i*strideB, C + i*strideC (strides in elements; 0 repeats one matrix).
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         long long int strideA, const float *B, int ldb, long long int strideB,
                                         const float *beta, float *C, int ldc, long long int strideC, int batchCount) { EMU_STAT("cublas");
    cublasStatus_t s = checkGemm(handle, transa, transb, m, n, k, alpha, lda, ldb, beta, ldc);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (batchCount < 0) return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0 || emu_stats::skip_work()) return CUBLAS_STATUS_SUCCESS;
    bool tf = usesTf32(handle);
    for (int i = 0; i < batchCount; i++)
        gemm(tf, transa, transb, m, n, k, *alpha, A + i * strideA, lda, B + i * strideB, ldb, *beta, C + i * strideC, ldc);
    return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"

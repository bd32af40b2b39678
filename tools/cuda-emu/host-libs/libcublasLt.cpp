// Fake cuBLASLt (libcublasLt.so.13) for the host "GPU" of tools/cuda-emu: a device pointer is a host pointer and a
// stream runs synchronously, so cublasLtMatmul computes on the CPU before it returns.
// Types, enum values, status codes and signatures follow the cuBLAS 12/13 reference's cuBLASLt API (cublasLt.h:
// cublasLtMatmulDescAttributes_t, cublasLtEpilogue_t, cublasLtMatmulPreferenceAttributes_t, cublasComputeType_t,
// cublasLtMatmulHeuristicResult_t with its 64-byte cublasLtMatmulAlgo_t), not Cochlea's C#.
// Implemented: create/destroy, status name/string, matmul descriptors (compute type, scale type, pointer mode,
// transa/b, epilogue, bias pointer), matrix layouts (type, rows, cols, ld; column order, no batches), preferences
// (search mode, max workspace, min alignments), the heuristic (one algorithm for a float32 problem the fake computes),
// cublasLtMatmul: D = alpha op(A) op(B) + beta C (+ bias per row of D with the BIAS epilogues, then ReLU with the RELU
// ones); CUBLAS_COMPUTE_32F_FAST_TF32 rounds A and B to TF32. Calls are counted in the emulator's "cublaslt" group.
// Build: g++ -std=c++17 -O2 -shared -fPIC -Wl,-soname,libcublasLt.so.13 libcublasLt.cpp -o DIR/libcublasLt.so.13
// Deliberate bugs for check_blas_dnn.py --mutants: -DEMU_BREAK_<name> (see the #ifdefs).
#include <cstdint>
#include <cstring>
#include <new>

#include "emu_cublas_status.h"
#include "emu_gemm.h"
#include "emu_stats.h"

extern "C" {


typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;
typedef enum { CUDA_R_32F = 0 } cudaDataType;
typedef enum { CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_TF32 = 77 } cublasComputeType_t;
typedef enum {
    CUBLASLT_MATMUL_DESC_COMPUTE_TYPE = 0,
    CUBLASLT_MATMUL_DESC_SCALE_TYPE = 1,
    CUBLASLT_MATMUL_DESC_POINTER_MODE = 2,
    CUBLASLT_MATMUL_DESC_TRANSA = 3,
    CUBLASLT_MATMUL_DESC_TRANSB = 4,
    CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
    CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
} cublasLtMatmulDescAttributes_t;
typedef enum {
    CUBLASLT_EPILOGUE_DEFAULT = 1,
    CUBLASLT_EPILOGUE_RELU = 2,
    CUBLASLT_EPILOGUE_BIAS = 4,
    CUBLASLT_EPILOGUE_RELU_BIAS = 6,
} cublasLtEpilogue_t;
typedef enum {
    CUBLASLT_MATMUL_PREF_SEARCH_MODE = 0,
    CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,
} cublasLtMatmulPreferenceAttributes_t;

typedef struct { uint64_t data[8]; } cublasLtMatmulAlgo_t;
typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;
static_assert(sizeof(cublasLtMatmulHeuristicResult_t) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes");

typedef void *cudaStream_t;

// Opaque objects, each tagged so that a stale or foreign pointer is caught.
struct cublasLtContext { uint32_t magic; };
struct cublasLtMatmulDescOpaque_t {
    uint32_t magic;
    int32_t computeType, scaleType, pointerMode, transa, transb;
    uint32_t epilogue;
    const void *bias;
};
struct cublasLtMatrixLayoutOpaque_t { uint32_t magic; uint32_t type; uint64_t rows, cols; int64_t ld; };
struct cublasLtMatmulPreferenceOpaque_t { uint32_t magic; uint32_t searchMode; uint64_t maxWorkspace; uint32_t align[4]; };
typedef cublasLtContext *cublasLtHandle_t;
typedef cublasLtMatmulDescOpaque_t *cublasLtMatmulDesc_t;
typedef cublasLtMatrixLayoutOpaque_t *cublasLtMatrixLayout_t;
typedef cublasLtMatmulPreferenceOpaque_t *cublasLtMatmulPreference_t;

}  // extern "C"

namespace {

const uint32_t kHandle = 0x17A1u, kDesc = 0x17A2u, kLayout = 0x17A3u, kPref = 0x17A4u;
// The fake's one algorithm: data[0] = this id; data[1..4] = the alignments (A, B, C, D) it was chosen for; data[5] =
// the workspace bytes it needs.
const uint64_t kAlgoId = 0x1717000000000001ull;
// Workspace the fake's algorithm asks for when the preference allows it (so the caller's workspace path is exercised).
const size_t kAlgoWorkspace = 64 * 1024;

template <class T> bool ok(T *p, uint32_t magic) { return p != nullptr && p->magic == magic; }

bool epilogueSupported(uint32_t e) {
    return e == CUBLASLT_EPILOGUE_DEFAULT || e == CUBLASLT_EPILOGUE_RELU || e == CUBLASLT_EPILOGUE_BIAS ||
           e == CUBLASLT_EPILOGUE_RELU_BIAS;
}
bool hasBias(uint32_t e) { return e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_RELU_BIAS; }
bool hasRelu(uint32_t e) { return e == CUBLASLT_EPILOGUE_RELU || e == CUBLASLT_EPILOGUE_RELU_BIAS; }

uint32_t alignmentOf(const void *p) {
    uint32_t a = 256;
    while (a > 1 && reinterpret_cast<uintptr_t>(p) % a != 0) a >>= 1;
    return a;
}

// The problem a descriptor and four layouts describe: op(A) (m, k), op(B) (k, n), C and D (m, n). INVALID_VALUE when
// the layouts do not fit the ops or a leading dimension is below the rows stored; NOT_SUPPORTED for what this fake
// does not compute (non-float data, other compute types, epilogues beyond bias and ReLU).
cublasStatus_t problem(cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t A, cublasLtMatrixLayout_t B,
                       cublasLtMatrixLayout_t C, cublasLtMatrixLayout_t D, int *m, int *n, int *k) {
    if (!ok(d, kDesc) || !ok(A, kLayout) || !ok(B, kLayout) || !ok(C, kLayout) || !ok(D, kLayout))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (A->type != CUDA_R_32F || B->type != CUDA_R_32F || C->type != CUDA_R_32F || D->type != CUDA_R_32F ||
        d->scaleType != CUDA_R_32F || (d->computeType != CUBLAS_COMPUTE_32F && d->computeType != CUBLAS_COMPUTE_32F_FAST_TF32))
        return CUBLAS_STATUS_NOT_SUPPORTED;
#ifndef EMU_BREAK_lt_epilogue
    if (!epilogueSupported(d->epilogue)) return CUBLAS_STATUS_NOT_SUPPORTED;
#endif
    bool ta = d->transa != CUBLAS_OP_N, tb = d->transb != CUBLAS_OP_N;
    uint64_t am = ta ? A->cols : A->rows, ak = ta ? A->rows : A->cols;
    uint64_t bk = tb ? B->cols : B->rows, bn = tb ? B->rows : B->cols;
    if (ak != bk || C->rows != am || C->cols != bn || D->rows != am || D->cols != bn) return CUBLAS_STATUS_INVALID_VALUE;
    for (auto *l : {A, B, C, D})
        if (l->ld < (int64_t)(l->rows > 0 ? l->rows : 1)) return CUBLAS_STATUS_INVALID_VALUE;
    if (am > INT32_MAX || bn > INT32_MAX || ak > INT32_MAX) return CUBLAS_STATUS_NOT_SUPPORTED;
    *m = (int)am; *n = (int)bn; *k = (int)ak;
    return CUBLAS_STATUS_SUCCESS;
}

// Creates a tagged object into *out (INVALID_VALUE for a NULL out, ALLOC_FAILED when memory runs out).
template <class T> cublasStatus_t make(T **out, const T &init) {
    if (out == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    T *p = new (std::nothrow) T(init);
    if (p == nullptr) return CUBLAS_STATUS_ALLOC_FAILED;
    *out = p;
    return CUBLAS_STATUS_SUCCESS;
}

// Destroys a tagged object; a stale or foreign pointer is `bad`.
template <class T> cublasStatus_t release(T *p, uint32_t magic, cublasStatus_t bad = CUBLAS_STATUS_INVALID_VALUE) {
    if (!ok(p, magic)) return bad;
    p->magic = 0;
    delete p;
    return CUBLAS_STATUS_SUCCESS;
}

template <class T> cublasStatus_t put(T *field, const void *buf, size_t size) {
    if (buf == nullptr || size != sizeof(T)) return CUBLAS_STATUS_INVALID_VALUE;
    std::memcpy(field, buf, sizeof(T));
    return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t *handle) { EMU_STAT("cublaslt");
    return make(handle, cublasLtContext{kHandle});
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) { EMU_STAT("cublaslt");
    return release(handle, kHandle, CUBLAS_STATUS_NOT_INITIALIZED);
}

size_t cublasLtGetVersion(void) { return 130000; }  // CUBLASLT_VERSION = major * 10000 + minor * 100 + patch

const char *cublasLtGetStatusName(cublasStatus_t status) { return emu_cublas::statusName(status); }

const char *cublasLtGetStatusString(cublasStatus_t status) { return emu_cublas::statusString(status); }

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *desc, cublasComputeType_t computeType, cudaDataType scaleType) { EMU_STAT("cublaslt");
    return make(desc, cublasLtMatmulDescOpaque_t{kDesc, computeType, scaleType, 0, CUBLAS_OP_N, CUBLAS_OP_N,
                                                 CUBLASLT_EPILOGUE_DEFAULT, nullptr});
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) { EMU_STAT("cublaslt");
    return release(desc, kDesc);
}

// Each attribute has the size the reference gives it (int32_t, uint32_t for the epilogue, a pointer for the bias);
// another size, a NULL buffer or an attribute this fake does not know is INVALID_VALUE.
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t sizeInBytes) { EMU_STAT("cublaslt");
    if (!ok(desc, kDesc)) return CUBLAS_STATUS_INVALID_VALUE;
    switch (attr) {
    case CUBLASLT_MATMUL_DESC_COMPUTE_TYPE: return put(&desc->computeType, buf, sizeInBytes);
    case CUBLASLT_MATMUL_DESC_SCALE_TYPE: return put(&desc->scaleType, buf, sizeInBytes);
    case CUBLASLT_MATMUL_DESC_POINTER_MODE: return put(&desc->pointerMode, buf, sizeInBytes);
    case CUBLASLT_MATMUL_DESC_TRANSA: return put(&desc->transa, buf, sizeInBytes);
    case CUBLASLT_MATMUL_DESC_TRANSB: return put(&desc->transb, buf, sizeInBytes);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return put(&desc->epilogue, buf, sizeInBytes);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return put(&desc->bias, buf, sizeInBytes);
    }
    return CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *layout, cudaDataType type, uint64_t rows,
                                          uint64_t cols, int64_t ld) { EMU_STAT("cublaslt");
    if (ld < 0) return CUBLAS_STATUS_INVALID_VALUE;
    return make(layout, cublasLtMatrixLayoutOpaque_t{kLayout, (uint32_t)type, rows, cols, ld});
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) { EMU_STAT("cublaslt");
    return release(layout, kLayout);
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref) { EMU_STAT("cublaslt");
    return make(pref, cublasLtMatmulPreferenceOpaque_t{kPref, 0, 0, {256, 256, 256, 256}});
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) { EMU_STAT("cublaslt");
    return release(pref, kPref);
}

// MAX_WORKSPACE_BYTES is uint64_t, SEARCH_MODE and the MIN_ALIGNMENT_* are uint32_t (the alignment defaults: 256).
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr, const void *buf,
                                                    size_t sizeInBytes) { EMU_STAT("cublaslt");
    if (!ok(pref, kPref)) return CUBLAS_STATUS_INVALID_VALUE;
    switch (attr) {
    case CUBLASLT_MATMUL_PREF_SEARCH_MODE: return put(&pref->searchMode, buf, sizeInBytes);
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: return put(&pref->maxWorkspace, buf, sizeInBytes);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES:
        return put(&pref->align[attr - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES], buf, sizeInBytes);
    }
    return CUBLAS_STATUS_INVALID_VALUE;
}

// One algorithm for any problem the fake computes (returnAlgoCount 1), none (count 0, NOT_SUPPORTED) otherwise; it
// needs kAlgoWorkspace bytes when the preference's maximum allows, else none.
cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t A, cublasLtMatrixLayout_t B,
                                              cublasLtMatrixLayout_t C, cublasLtMatrixLayout_t D,
                                              cublasLtMatmulPreference_t pref, int requestedAlgoCount,
                                              cublasLtMatmulHeuristicResult_t results[], int *returnAlgoCount) { EMU_STAT("cublaslt");
    if (!ok(handle, kHandle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!ok(pref, kPref) || requestedAlgoCount <= 0 || results == nullptr || returnAlgoCount == nullptr)
        return CUBLAS_STATUS_INVALID_VALUE;
    *returnAlgoCount = 0;
    int m, n, k;
    cublasStatus_t s = problem(desc, A, B, C, D, &m, &n, &k);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    std::memset(&results[0], 0, sizeof(results[0]));
    results[0].algo.data[0] = kAlgoId;
    for (int i = 0; i < 4; i++) results[0].algo.data[1 + i] = pref->align[i];
    results[0].workspaceSize = pref->maxWorkspace >= kAlgoWorkspace ? kAlgoWorkspace : 0;
    results[0].algo.data[5] = results[0].workspaceSize;
    results[0].state = CUBLAS_STATUS_SUCCESS;
    results[0].wavesCount = 1.0f;
    *returnAlgoCount = 1;
    return CUBLAS_STATUS_SUCCESS;
}

// D = alpha op(A) op(B) + beta C, then + bias[i] on row i of D (BIAS epilogues), then max(., 0) (RELU epilogues).
// INVALID_VALUE: a bad descriptor or layout, NULL alpha/beta/A/B/D (C only when beta != 0), a BIAS epilogue without a
// bias pointer, an algorithm the heuristic did not return, less workspace than it asked for, or a pointer less aligned
// than the preference it was chosen under. beta == 0 never reads C.
cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc,
                              const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace,
                              size_t workspaceSizeInBytes, cudaStream_t stream) { EMU_STAT("cublaslt");
    (void)stream;  // the host "GPU" runs every stream synchronously
    if (!ok(handle, kHandle)) return CUBLAS_STATUS_NOT_INITIALIZED;
    int m, n, k;
    cublasStatus_t s = problem(desc, Adesc, Bdesc, Cdesc, Ddesc, &m, &n, &k);
    if (s != CUBLAS_STATUS_SUCCESS) return s;
    if (alpha == nullptr || beta == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    float a = *static_cast<const float *>(alpha), b = *static_cast<const float *>(beta);
    if (m > 0 && n > 0 && (D == nullptr || (k > 0 && (A == nullptr || B == nullptr)) || (b != 0.0f && C == nullptr)))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (hasBias(desc->epilogue) && desc->bias == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    if (algo != nullptr) {
        if (algo->data[0] != kAlgoId) return CUBLAS_STATUS_INVALID_VALUE;
        if (workspaceSizeInBytes < algo->data[5]) return CUBLAS_STATUS_INVALID_VALUE;
        if (algo->data[5] > 0 && workspace == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
        const void *ptrs[4] = {A, B, C != nullptr ? C : D, D};
        for (int i = 0; i < 4; i++)
            if (ptrs[i] != nullptr && alignmentOf(ptrs[i]) < algo->data[1 + i]) return CUBLAS_STATUS_INVALID_VALUE;
    }
    // The algorithm's workspace is scribbled on (NaN bytes), so a buffer that overlaps an operand shows up.
    if (algo != nullptr && algo->data[5] > 0 && !emu_stats::skip_work()) std::memset(workspace, 0xFF, algo->data[5]);
    if (m == 0 || n == 0 || emu_stats::skip_work()) return CUBLAS_STATUS_SUCCESS;
    float *d = static_cast<float *>(D);
    const float *c = static_cast<const float *>(C);
    if (b != 0.0f && c != d)
        for (int j = 0; j < n; j++) std::memcpy(d + (int64_t)j * Ddesc->ld, c + (int64_t)j * Cdesc->ld, sizeof(float) * m);
    emu_gemm::gemm(desc->computeType == CUBLAS_COMPUTE_32F_FAST_TF32, desc->transa != CUBLAS_OP_N,
                   desc->transb != CUBLAS_OP_N, m, n, k, a, static_cast<const float *>(A), Adesc->ld,
                   static_cast<const float *>(B), Bdesc->ld, b, d, Ddesc->ld);
    const float *bias = static_cast<const float *>(desc->bias);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float &v = d[i + (int64_t)j * Ddesc->ld];
#ifndef EMU_BREAK_lt_bias
            if (hasBias(desc->epilogue)) v = (float)((double)v + (double)bias[i]);
#endif
            if (hasRelu(desc->epilogue) && v < 0.0f) v = 0.0f;
        }
    return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"

// Fake cuDNN 9 (libcudnn.so.9) for the host "GPU" of tools/cuda-emu: a device pointer is a host pointer and a
// stream runs synchronously on the calling thread, so every call computes right away on the CPU.
// Types, enum values, status codes and struct layouts follow the cuDNN 9 API documentation and its headers
// (cudnn_graph.h, cudnn_ops.h, cudnn_cnn.h of cuDNN 9.6.0), not Cochlea's C#. Implemented, float data only:
// handle + stream, 4-d tensor descriptors (cudnnSetTensor4dDescriptor NCHW/NHWC and ...Ex with any positive
// strides), 4-d filter descriptors (NCHW/NHWC), 2-d convolution descriptors (pad, stride, dilation, mode, groups,
// math type), Find*AlgorithmEx, convolution forward / backward data / backward filter / backward bias,
// cudnnAddTensor, 2-d pooling forward/backward, batch norm forward training / inference / backward.
// What is not implemented returns CUDNN_STATUS_NOT_SUPPORTED and what the library rejects CUDNN_STATUS_BAD_PARAM,
// each with a message for cudnnGetLastErrorString (also printed to stderr when CUDNN_EMU_VERBOSE is set).
// Every result is y = alpha * op(...) + beta * y; beta == 0 never reads y (it may hold NaN). Sums run in double.
// Build: g++ -std=c++17 -O2 -shared -fPIC -Wl,-soname,libcudnn.so.9 libcudnn.cpp -o DIR/libcudnn.so.9
// Deliberate bugs for check_blas_dnn.py --mutants: -DEMU_BREAK_<name> (see the #ifdefs).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "emu_stats.h"

extern "C" {

typedef enum {
    CUDNN_STATUS_SUCCESS = 0,
    CUDNN_STATUS_NOT_INITIALIZED = 1001,
    CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH = 1002,
    CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH = 1003,
    CUDNN_STATUS_DEPRECATED = 1004,
    CUDNN_STATUS_LICENSE_ERROR = 1005,
    CUDNN_STATUS_RUNTIME_IN_PROGRESS = 1006,
    CUDNN_STATUS_RUNTIME_FP_OVERFLOW = 1007,
    CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED = 1008,
    CUDNN_STATUS_BAD_PARAM = 2000,
    CUDNN_STATUS_INVALID_VALUE = 2001,  // deprecated alias kept by cuDNN 9
    CUDNN_STATUS_BAD_PARAM_NULL_POINTER = 2002,
    CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER = 2003,
    CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED = 2004,
    CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND = 2005,
    CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT = 2006,
    CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH = 2007,
    CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH = 2008,
    CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES = 2009,
    CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE = 2010,
    CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH = 2011,
    CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE = 2012,
    CUDNN_STATUS_NOT_SUPPORTED = 3000,
    CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN = 3001,
    CUDNN_STATUS_NOT_SUPPORTED_SHAPE = 3002,
    CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE = 3003,
    CUDNN_STATUS_NOT_SUPPORTED_LAYOUT = 3004,
    CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER = 3005,
    CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART = 3006,
    CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH = 3007,
    CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING = 3008,
    CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE = 3009,
    CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT = 3010,
    CUDNN_STATUS_NOT_SUPPORTED_PADDING = 3011,
    CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM = 3012,
    CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API = 3013,
    CUDNN_STATUS_INTERNAL_ERROR = 4000,
    CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED = 4001,
    CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE = 4002,
    CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED = 4003,  // = deprecated CUDNN_STATUS_ALLOC_FAILED
    CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED = 4004,
    CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM = 4005,
    CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED = 4006,
    CUDNN_STATUS_EXECUTION_FAILED = 5000,
    CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER = 5001,
    CUDNN_STATUS_EXECUTION_FAILED_CUBLAS = 5002,
    CUDNN_STATUS_EXECUTION_FAILED_CUDART = 5003,
    CUDNN_STATUS_EXECUTION_FAILED_CURAND = 5004,
} cudnnStatus_t;
#define CUDNN_STATUS_ALLOC_FAILED CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED

typedef enum {
    CUDNN_DATA_FLOAT = 0, CUDNN_DATA_DOUBLE = 1, CUDNN_DATA_HALF = 2, CUDNN_DATA_INT8 = 3, CUDNN_DATA_INT32 = 4,
    CUDNN_DATA_INT8x4 = 5, CUDNN_DATA_UINT8 = 6, CUDNN_DATA_UINT8x4 = 7, CUDNN_DATA_INT8x32 = 8,
    CUDNN_DATA_BFLOAT16 = 9, CUDNN_DATA_INT64 = 10, CUDNN_DATA_BOOLEAN = 11, CUDNN_DATA_FP8_E4M3 = 12,
    CUDNN_DATA_FP8_E5M2 = 13, CUDNN_DATA_FAST_FLOAT_FOR_FP8 = 14,
} cudnnDataType_t;
typedef enum { CUDNN_DEFAULT_MATH = 0, CUDNN_TENSOR_OP_MATH = 1, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION = 2, CUDNN_FMA_MATH = 3 } cudnnMathType_t;
typedef enum { CUDNN_NOT_PROPAGATE_NAN = 0, CUDNN_PROPAGATE_NAN = 1 } cudnnNanPropagation_t;
typedef enum { CUDNN_TENSOR_NCHW = 0, CUDNN_TENSOR_NHWC = 1, CUDNN_TENSOR_NCHW_VECT_C = 2 } cudnnTensorFormat_t;
typedef enum { CUDNN_CONVOLUTION = 0, CUDNN_CROSS_CORRELATION = 1 } cudnnConvolutionMode_t;
typedef enum { CUDNN_NON_DETERMINISTIC = 0, CUDNN_DETERMINISTIC = 1 } cudnnDeterminism_t;
typedef enum {
    CUDNN_POOLING_MAX = 0, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING = 1,
    CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING = 2, CUDNN_POOLING_MAX_DETERMINISTIC = 3
} cudnnPoolingMode_t;
typedef enum { CUDNN_BATCHNORM_PER_ACTIVATION = 0, CUDNN_BATCHNORM_SPATIAL = 1, CUDNN_BATCHNORM_SPATIAL_PERSISTENT = 2 } cudnnBatchNormMode_t;
#define CUDNN_BN_MIN_EPSILON 0.0  // cuDNN 9's value (cudnn_ops.h); older versions had 1e-5
typedef enum {
    CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM = 0, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1,
    CUDNN_CONVOLUTION_FWD_ALGO_GEMM = 2, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT = 3, CUDNN_CONVOLUTION_FWD_ALGO_FFT = 4,
    CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING = 5, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD = 6,
    CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED = 7, CUDNN_CONVOLUTION_FWD_ALGO_COUNT = 8
} cudnnConvolutionFwdAlgo_t;
typedef enum {
    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 = 0, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 = 1,
    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT = 2, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3 = 3,
    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD = 4, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED = 5,
    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING = 6, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT = 7
} cudnnConvolutionBwdFilterAlgo_t;
typedef enum {
    CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 = 0, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 = 1,
    CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT = 2, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING = 3,
    CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD = 4, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED = 5,
    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT = 6
} cudnnConvolutionBwdDataAlgo_t;

// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t share this layout (cudnn_cnn.h): 48 bytes, memory at offset 16.
typedef struct {
    int algo;
    cudnnStatus_t status;
    float time;
    size_t memory;
    cudnnDeterminism_t determinism;
    cudnnMathType_t mathType;
    int reserved[3];
} cudnnConvolutionAlgoPerf_t;
static_assert(sizeof(cudnnConvolutionAlgoPerf_t) == 48, "cudnnConvolution*AlgoPerf_t is 48 bytes");
static_assert(offsetof(cudnnConvolutionAlgoPerf_t, memory) == 16, "memory follows time after 4 bytes of padding");

typedef void *cudaStream_t;

}  // extern "C"

// ---------------------------------------------------------------------------------------------------------------
// Opaque objects: each starts with a magic number naming its kind, so a descriptor of the wrong kind (or a stale
// pointer) is BAD_PARAM instead of garbage.
enum : uint32_t { kHandle = 0xD11A0001u, kTensor = 0xD11A0002u, kFilter = 0xD11A0003u, kConv = 0xD11A0004u, kPool = 0xD11A0005u };

struct cudnnContext { uint32_t magic; cudaStream_t stream; };
struct cudnnTensorStruct { uint32_t magic; bool set; cudnnDataType_t type; int n, c, h, w; int64_t sn, sc, sh, sw; };
struct cudnnFilterStruct { uint32_t magic; bool set; cudnnDataType_t type; cudnnTensorFormat_t format; int k, c, h, w; };
struct cudnnConvolutionStruct {
    uint32_t magic; bool set; int padH, padW, u, v, dilH, dilW;
    cudnnConvolutionMode_t mode; cudnnDataType_t computeType; int groups; cudnnMathType_t math;
};
struct cudnnPoolingStruct { uint32_t magic; bool set; cudnnPoolingMode_t mode; cudnnNanPropagation_t nan; int wh, ww, ph, pw, sh, sw; };

typedef cudnnContext *cudnnHandle_t;
typedef cudnnTensorStruct *cudnnTensorDescriptor_t;
typedef cudnnFilterStruct *cudnnFilterDescriptor_t;
typedef cudnnConvolutionStruct *cudnnConvolutionDescriptor_t;
typedef cudnnPoolingStruct *cudnnPoolingDescriptor_t;

// ---------------------------------------------------------------------------------------------------------------
// Errors: the status plus a message kept per thread for cudnnGetLastErrorString.
static thread_local char g_lastError[512];

static cudnnStatus_t fail(cudnnStatus_t status, const char *fn, const char *fmt, ...) {
    int n = std::snprintf(g_lastError, sizeof g_lastError, "%s: ", fn);
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(g_lastError + n, sizeof g_lastError - n, fmt, ap);
    va_end(ap);
    if (std::getenv("CUDNN_EMU_VERBOSE") != nullptr) std::fprintf(stderr, "[fake cudnn] %s\n", g_lastError);
    return status;
}

#define BAD(...) return fail(CUDNN_STATUS_BAD_PARAM, __func__, __VA_ARGS__)
#define UNSUPPORTED(...) return fail(CUDNN_STATUS_NOT_SUPPORTED, __func__, __VA_ARGS__)
#define TRY(expr) do { cudnnStatus_t s_ = (expr); if (s_ != CUDNN_STATUS_SUCCESS) return s_; } while (0)

template <class T> static bool is(const T *p, uint32_t magic) { return p != nullptr && p->magic == magic; }

template <class T> static cudnnStatus_t create(T **out, uint32_t magic, const char *fn) {
    if (out == nullptr) return fail(CUDNN_STATUS_BAD_PARAM, fn, "the output pointer is NULL");
    T *p = new (std::nothrow) T{};
    if (p == nullptr) return fail(CUDNN_STATUS_ALLOC_FAILED, fn, "out of host memory");
    p->magic = magic;
    *out = p;
    return CUDNN_STATUS_SUCCESS;
}

template <class T> static cudnnStatus_t destroy(T *p, uint32_t magic, const char *fn) {
    if (p == nullptr) return CUDNN_STATUS_SUCCESS;  // destroying NULL is a no-op
    if (p->magic != magic) return fail(CUDNN_STATUS_BAD_PARAM, fn, "not a descriptor of this kind (or already destroyed)");
    p->magic = 0;
    delete p;
    return CUDNN_STATUS_SUCCESS;
}

static bool validType(int t) { return t >= CUDNN_DATA_FLOAT && t <= CUDNN_DATA_FAST_FLOAT_FOR_FP8; }

// ---------------------------------------------------------------------------------------------------------------
// Views: a 4-d float tensor with element strides, so NCHW, NHWC and any strided layout index the same way.
struct View4 {
    float *p; int n, c, h, w; int64_t sn, sc, sh, sw;
    float &at(int a, int b, int y, int x) const { return p[a * sn + b * sc + y * sh + x * sw]; }
    int64_t count() const { return (int64_t)n * c * h * w; }
};

static cudnnStatus_t tensorView(cudnnTensorDescriptor_t d, const void *ptr, const char *what, const char *fn, View4 *out) {
    if (!is(d, kTensor)) return fail(CUDNN_STATUS_BAD_PARAM, fn, "%s: not a tensor descriptor", what);
    if (!d->set) return fail(CUDNN_STATUS_BAD_PARAM, fn, "%s: descriptor created but never set", what);
    if (d->type != CUDNN_DATA_FLOAT) return fail(CUDNN_STATUS_NOT_SUPPORTED, fn, "%s: data type %d (the fake implements CUDNN_DATA_FLOAT only)", what, (int)d->type);
    if (ptr == nullptr) return fail(CUDNN_STATUS_BAD_PARAM, fn, "%s: NULL data pointer", what);
    *out = View4{(float *)ptr, d->n, d->c, d->h, d->w, d->sn, d->sc, d->sh, d->sw};
    return CUDNN_STATUS_SUCCESS;
}

static cudnnStatus_t filterView(cudnnFilterDescriptor_t d, const void *ptr, const char *what, const char *fn, View4 *out) {
    if (!is(d, kFilter)) return fail(CUDNN_STATUS_BAD_PARAM, fn, "%s: not a filter descriptor", what);
    if (!d->set) return fail(CUDNN_STATUS_BAD_PARAM, fn, "%s: descriptor created but never set", what);
    if (d->type != CUDNN_DATA_FLOAT) return fail(CUDNN_STATUS_NOT_SUPPORTED, fn, "%s: data type %d (the fake implements CUDNN_DATA_FLOAT only)", what, (int)d->type);
    if (ptr == nullptr) return fail(CUDNN_STATUS_BAD_PARAM, fn, "%s: NULL data pointer", what);
    View4 v{(float *)ptr, d->k, d->c, d->h, d->w, 0, 0, 0, 0};
    if (d->format == CUDNN_TENSOR_NCHW) { v.sw = 1; v.sh = d->w; v.sc = (int64_t)d->h * d->w; v.sn = (int64_t)d->c * d->h * d->w; }
    else if (d->format == CUDNN_TENSOR_NHWC) { v.sc = 1; v.sw = d->c; v.sh = (int64_t)d->w * d->c; v.sn = (int64_t)d->h * d->w * d->c; }
    else return fail(CUDNN_STATUS_NOT_SUPPORTED, fn, "%s: filter format %d (the fake implements NCHW and NHWC)", what, (int)d->format);
    *out = v;
    return CUDNN_STATUS_SUCCESS;
}

static bool sameDims(const View4 &a, const View4 &b) { return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w; }

static cudnnStatus_t scalars(const void *alpha, const void *beta, const char *fn, float *a, float *b) {
    if (alpha == nullptr || beta == nullptr) return fail(CUDNN_STATUS_BAD_PARAM, fn, "alpha or beta is NULL");
    *a = *(const float *)alpha;  // float data: alpha and beta are host floats
    *b = *(const float *)beta;
    return CUDNN_STATUS_SUCCESS;
}

// y = alpha * r + beta * y, never reading y when beta == 0.
static inline void blend(float &y, double r, float alpha, float beta) {
#ifdef EMU_BREAK_beta0
    y = (float)(alpha * r + (double)beta * y);
#else
    y = beta == 0.0f ? (float)(alpha * r) : (float)(alpha * r + (double)beta * y);
#endif
}

// Round to TF32 (10-bit mantissa, nearest even), what tensor-core math does to float convolution inputs.
static inline float tf32(float v) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    if ((b & 0x7f800000u) == 0x7f800000u) return v;
    b += 0x0fffu + ((b >> 13) & 1u);
    b &= 0xffffe000u;
    std::memcpy(&v, &b, 4);
    return v;
}

// ---------------------------------------------------------------------------------------------------------------
extern "C" {

size_t cudnnGetVersion(void) { return 90600; }  // CUDNN_VERSION = major * 10000 + minor * 100 + patch (9.6.0)
size_t cudnnGetCudartVersion(void) { return 13000; }

const char *cudnnGetErrorString(cudnnStatus_t status) {
    switch (status) {
#define NAME(s) case s: return #s;
    NAME(CUDNN_STATUS_SUCCESS) NAME(CUDNN_STATUS_NOT_INITIALIZED) NAME(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH)
    NAME(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH) NAME(CUDNN_STATUS_DEPRECATED) NAME(CUDNN_STATUS_LICENSE_ERROR)
    NAME(CUDNN_STATUS_RUNTIME_IN_PROGRESS) NAME(CUDNN_STATUS_RUNTIME_FP_OVERFLOW) NAME(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED)
    NAME(CUDNN_STATUS_BAD_PARAM) NAME(CUDNN_STATUS_INVALID_VALUE) NAME(CUDNN_STATUS_BAD_PARAM_NULL_POINTER)
    NAME(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER) NAME(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED)
    NAME(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND) NAME(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT)
    NAME(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH) NAME(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH)
    NAME(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES) NAME(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE)
    NAME(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH) NAME(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED) NAME(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN) NAME(CUDNN_STATUS_NOT_SUPPORTED_SHAPE)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE) NAME(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER) NAME(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH) NAME(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE) NAME(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_PADDING) NAME(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM)
    NAME(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API) NAME(CUDNN_STATUS_INTERNAL_ERROR)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED) NAME(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED) NAME(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    NAME(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM) NAME(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED)
    NAME(CUDNN_STATUS_EXECUTION_FAILED) NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS) NAME(CUDNN_STATUS_EXECUTION_FAILED_CUDART)
    NAME(CUDNN_STATUS_EXECUTION_FAILED_CURAND)
#undef NAME
    }
    return "CUDNN_STATUS_UNKNOWN";
}

void cudnnGetLastErrorString(char *message, size_t max_size) {
    if (message == nullptr || max_size == 0) return;
    std::snprintf(message, max_size, "%s", g_lastError);
    g_lastError[0] = 0;
}

cudnnStatus_t cudnnCreate(cudnnHandle_t *handle) { EMU_STAT("cudnn"); return create(handle, kHandle, __func__); }
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) { EMU_STAT("cudnn"); return destroy(handle, kHandle, __func__); }

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream) { EMU_STAT("cudnn");
    if (!is(handle, kHandle)) BAD("not a cuDNN handle");
    handle->stream = stream;  // kept only to be read back: the host "GPU" runs every stream synchronously
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t *stream) { EMU_STAT("cudnn");
    if (!is(handle, kHandle)) BAD("not a cuDNN handle");
    if (stream == nullptr) BAD("stream is NULL");
    *stream = handle->stream;
    return CUDNN_STATUS_SUCCESS;
}

// ---- tensor descriptors ---------------------------------------------------------------------------------------
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d) { EMU_STAT("cudnn"); return create(d, kTensor, __func__); }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { EMU_STAT("cudnn"); return destroy(d, kTensor, __func__); }

cudnnStatus_t cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t d, cudnnDataType_t type, int n, int c, int h, int w,
                                           int nStride, int cStride, int hStride, int wStride) { EMU_STAT("cudnn");
    if (!is(d, kTensor)) BAD("not a tensor descriptor");
    if (!validType(type)) BAD("dataType %d is not a cudnnDataType_t", (int)type);
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0) BAD("dimensions (%d, %d, %d, %d) must be positive", n, c, h, w);
    if (nStride < 0 || cStride < 0 || hStride < 0 || wStride < 0) BAD("strides (%d, %d, %d, %d) must not be negative", nStride, cStride, hStride, wStride);
    if (nStride == 0 || cStride == 0 || hStride == 0 || wStride == 0) UNSUPPORTED("zero strides (broadcast views) are not implemented by the fake");
    if ((int64_t)n * c * h * w > (int64_t)INT32_MAX) UNSUPPORTED("more than 2^31 elements");
    *d = cudnnTensorStruct{kTensor, true, type, n, c, h, w, nStride, cStride, hStride, wStride};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t format, cudnnDataType_t type,
                                         int n, int c, int h, int w) { EMU_STAT("cudnn");
    if (!is(d, kTensor)) BAD("not a tensor descriptor");
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0) BAD("dimensions (%d, %d, %d, %d) must be positive", n, c, h, w);
    if ((int64_t)n * c * h * w > (int64_t)INT32_MAX) UNSUPPORTED("more than 2^31 elements");
    if (format == CUDNN_TENSOR_NCHW) return cudnnSetTensor4dDescriptorEx(d, type, n, c, h, w, c * h * w, h * w, w, 1);
    if (format == CUDNN_TENSOR_NHWC) return cudnnSetTensor4dDescriptorEx(d, type, n, c, h, w, h * w * c, 1, w * c, c);
    if (format == CUDNN_TENSOR_NCHW_VECT_C) UNSUPPORTED("CUDNN_TENSOR_NCHW_VECT_C is not implemented by the fake");
    BAD("format %d is not a cudnnTensorFormat_t", (int)format);
}

cudnnStatus_t cudnnGetTensor4dDescriptor(const cudnnTensorDescriptor_t d, cudnnDataType_t *type, int *n, int *c, int *h,
                                         int *w, int *nStride, int *cStride, int *hStride, int *wStride) { EMU_STAT("cudnn");
    if (!is(d, kTensor) || !d->set) BAD("not a set tensor descriptor");
    if (!type || !n || !c || !h || !w || !nStride || !cStride || !hStride || !wStride) BAD("an output pointer is NULL");
    *type = d->type; *n = d->n; *c = d->c; *h = d->h; *w = d->w;
    *nStride = (int)d->sn; *cStride = (int)d->sc; *hStride = (int)d->sh; *wStride = (int)d->sw;
    return CUDNN_STATUS_SUCCESS;
}

// ---- filter descriptors ---------------------------------------------------------------------------------------
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d) { EMU_STAT("cudnn"); return create(d, kFilter, __func__); }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { EMU_STAT("cudnn"); return destroy(d, kFilter, __func__); }

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t type, cudnnTensorFormat_t format,
                                         int k, int c, int h, int w) { EMU_STAT("cudnn");
    if (!is(d, kFilter)) BAD("not a filter descriptor");
    if (!validType(type)) BAD("dataType %d is not a cudnnDataType_t", (int)type);
    if (format < CUDNN_TENSOR_NCHW || format > CUDNN_TENSOR_NCHW_VECT_C) BAD("format %d is not a cudnnTensorFormat_t", (int)format);
    if (k <= 0 || c <= 0 || h <= 0 || w <= 0) BAD("dimensions (%d, %d, %d, %d) must be positive", k, c, h, w);
    *d = cudnnFilterStruct{kFilter, true, type, format, k, c, h, w};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetFilter4dDescriptor(const cudnnFilterDescriptor_t d, cudnnDataType_t *type, cudnnTensorFormat_t *format,
                                         int *k, int *c, int *h, int *w) { EMU_STAT("cudnn");
    if (!is(d, kFilter) || !d->set) BAD("not a set filter descriptor");
    if (!type || !format || !k || !c || !h || !w) BAD("an output pointer is NULL");
    *type = d->type; *format = d->format; *k = d->k; *c = d->c; *h = d->h; *w = d->w;
    return CUDNN_STATUS_SUCCESS;
}

// ---- convolution descriptors ----------------------------------------------------------------------------------
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d) { EMU_STAT("cudnn");
    TRY(create(d, kConv, __func__));
    (*d)->groups = 1;
    (*d)->math = CUDNN_DEFAULT_MATH;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) { EMU_STAT("cudnn"); return destroy(d, kConv, __func__); }

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                              int dilation_h, int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType) { EMU_STAT("cudnn");
    if (!is(d, kConv)) BAD("not a convolution descriptor");
    if (pad_h < 0 || pad_w < 0) BAD("padding (%d, %d) is negative", pad_h, pad_w);
    if (u <= 0 || v <= 0) BAD("stride (%d, %d) must be positive", u, v);
    if (dilation_h <= 0 || dilation_w <= 0) BAD("dilation (%d, %d) must be positive", dilation_h, dilation_w);
    if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) BAD("mode %d is not a cudnnConvolutionMode_t", (int)mode);
    if (!validType(computeType)) BAD("computeType %d is not a cudnnDataType_t", (int)computeType);
    d->set = true;
    d->padH = pad_h; d->padW = pad_w; d->u = u; d->v = v; d->dilH = dilation_h; d->dilW = dilation_w;
    d->mode = mode; d->computeType = computeType;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dDescriptor(const cudnnConvolutionDescriptor_t d, int *pad_h, int *pad_w, int *u, int *v,
                                              int *dilation_h, int *dilation_w, cudnnConvolutionMode_t *mode,
                                              cudnnDataType_t *computeType) { EMU_STAT("cudnn");
    if (!is(d, kConv) || !d->set) BAD("not a set convolution descriptor");
    if (!pad_h || !pad_w || !u || !v || !dilation_h || !dilation_w || !mode || !computeType) BAD("an output pointer is NULL");
    *pad_h = d->padH; *pad_w = d->padW; *u = d->u; *v = d->v; *dilation_h = d->dilH; *dilation_w = d->dilW;
    *mode = d->mode; *computeType = d->computeType;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int groupCount) { EMU_STAT("cudnn");
    if (!is(d, kConv)) BAD("not a convolution descriptor");
    if (groupCount < 1) BAD("groupCount %d must be at least 1", groupCount);
    d->groups = groupCount;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int *groupCount) { EMU_STAT("cudnn");
    if (!is(d, kConv) || groupCount == nullptr) BAD("not a convolution descriptor, or groupCount is NULL");
    *groupCount = d->groups;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t mathType) { EMU_STAT("cudnn");
    if (!is(d, kConv)) BAD("not a convolution descriptor");
    if (mathType < CUDNN_DEFAULT_MATH || mathType > CUDNN_FMA_MATH) BAD("mathType %d is not a cudnnMathType_t", (int)mathType);
    d->math = mathType;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t *mathType) { EMU_STAT("cudnn");
    if (!is(d, kConv) || mathType == nullptr) BAD("not a convolution descriptor, or mathType is NULL");
    *mathType = d->math;
    return CUDNN_STATUS_SUCCESS;
}

}  // extern "C"

// ---------------------------------------------------------------------------------------------------------------
// Convolution. x (N, C, H, W), w (K, C/G, R, S), y (N, K, P, Q) with P = (H + 2 padH - dilH (R - 1) - 1) / u + 1.
// Cross-correlation: y[n,k,p,q] = sum_{c,r,s} x[n, g Cg + c, p u - padH + r dilH, q v - padW + s dilW] w[k,c,r,s],
// g = k / (K / G); CUDNN_CONVOLUTION reads the filter flipped, w[k, c, R-1-r, S-1-s].
namespace {

struct Conv {
    View4 x, w, y;  // x / dx, w / dw, y / dy
    int groups, cg, kg;  // groups, input and output channels per group
    int padH, padW, u, v, dilH, dilW;
    bool flip, tf;
    int fr(int r) const { return flip ? w.h - 1 - r : r; }
    int fs(int s) const { return flip ? w.w - 1 - s : s; }
};

int outSize(int in, int pad, int k, int dil, int stride) { return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1; }

// Checks the descriptors against each other as cuDNN does and fills a Conv; fn names the public call.
cudnnStatus_t makeConv(const char *fn, cudnnHandle_t handle, cudnnTensorDescriptor_t xd, const void *x,
                       cudnnFilterDescriptor_t wd, const void *w, cudnnConvolutionDescriptor_t cd,
                       cudnnTensorDescriptor_t yd, const void *y, Conv *out) {
    if (!is(handle, kHandle)) return fail(CUDNN_STATUS_BAD_PARAM, fn, "not a cuDNN handle");
    Conv c{};
    TRY(tensorView(xd, x, "x", fn, &c.x));
    TRY(filterView(wd, w, "w", fn, &c.w));
    TRY(tensorView(yd, y, "y", fn, &c.y));
    if (!is(cd, kConv) || !cd->set) return fail(CUDNN_STATUS_BAD_PARAM, fn, "not a set convolution descriptor");
    if (cd->computeType != CUDNN_DATA_FLOAT)
        return fail(CUDNN_STATUS_NOT_SUPPORTED, fn, "computeType %d with float data (the fake implements CUDNN_DATA_FLOAT)", (int)cd->computeType);
    c.groups = cd->groups;
    if (c.x.c != c.w.c * c.groups)
        return fail(CUDNN_STATUS_BAD_PARAM, fn, "x has %d channels but the filter has %d per group x %d groups", c.x.c, c.w.c, c.groups);
    if (c.w.n % c.groups != 0) return fail(CUDNN_STATUS_BAD_PARAM, fn, "%d filters do not split into %d groups", c.w.n, c.groups);
    c.cg = c.w.c; c.kg = c.w.n / c.groups;
    c.padH = cd->padH; c.padW = cd->padW; c.u = cd->u; c.v = cd->v; c.dilH = cd->dilH; c.dilW = cd->dilW;
    int p = outSize(c.x.h, c.padH, c.w.h, c.dilH, c.u), q = outSize(c.x.w, c.padW, c.w.w, c.dilW, c.v);
    if (p <= 0 || q <= 0) return fail(CUDNN_STATUS_BAD_PARAM, fn, "the dilated filter does not fit the padded input (output %d x %d)", p, q);
    if (c.y.n != c.x.n || c.y.c != c.w.n || c.y.h != p || c.y.w != q)
        return fail(CUDNN_STATUS_BAD_PARAM, fn, "y is (%d, %d, %d, %d) but the convolution gives (%d, %d, %d, %d)",
                    c.y.n, c.y.c, c.y.h, c.y.w, c.x.n, c.w.n, p, q);
#ifdef EMU_BREAK_flip
    c.flip = false;
#else
    c.flip = cd->mode == CUDNN_CONVOLUTION;
#endif
    // DEFAULT and TENSOR_OP math let float convolutions run as TF32 on tensor cores (Ampere and later); FMA does not.
    c.tf = cd->math != CUDNN_FMA_MATH;
    *out = c;
    return CUDNN_STATUS_SUCCESS;
}

// Outputs o in [lo, hi) whose input o * stride - pad + off lies inside [0, in): the taps that read no padding.
void validRange(int in, int out, int stride, int pad, int off, int *lo, int *hi) {
    int a = pad - off, b = in - 1 + pad - off;
    *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    *hi = b < 0 ? 0 : std::min(out, b / stride + 1);
    if (*lo > *hi) *lo = *hi;
}

// A contiguous NCHW float copy of a view (TF32-rounded when the math type allows tensor cores), so the loops below
// stream over rows whatever the caller's strides.
std::vector<float> packed(const View4 &v, bool tf) {
    std::vector<float> r((size_t)v.count());
    size_t i = 0;
    for (int a = 0; a < v.n; a++)
        for (int b = 0; b < v.c; b++)
            for (int y = 0; y < v.h; y++)
                for (int x = 0; x < v.w; x++) { float f = v.at(a, b, y, x); r[i++] = tf ? tf32(f) : f; }
    return r;
}

// y (N, K, P, Q): per (n, k) one double plane; each filter tap adds w * (shifted input rows) to it.
void convForward(const Conv &c, float alpha, float beta) {
    const int H = c.x.h, W = c.x.w, P = c.y.h, Q = c.y.w, R = c.w.h, S = c.w.w;
    std::vector<float> X = packed(c.x, c.tf), Wt = packed(c.w, c.tf);
    std::vector<double> acc((size_t)P * Q);
    for (int n = 0; n < c.y.n; n++)
        for (int k = 0; k < c.y.c; k++) {
            std::fill(acc.begin(), acc.end(), 0.0);
            int g = k / c.kg;
            for (int ci = 0; ci < c.cg; ci++) {
                const float *xp = &X[((size_t)n * c.x.c + g * c.cg + ci) * H * W];
                for (int r = 0; r < R; r++) {
                    int p0, p1;
                    validRange(H, P, c.u, c.padH, r * c.dilH, &p0, &p1);
                    for (int s = 0; s < S; s++) {
                        int q0, q1;
                        validRange(W, Q, c.v, c.padW, s * c.dilW, &q0, &q1);
                        double wv = Wt[(((size_t)k * c.cg + ci) * R + c.fr(r)) * S + c.fs(s)];
                        for (int p = p0; p < p1; p++) {
                            const float *row = xp + (size_t)(p * c.u - c.padH + r * c.dilH) * W - c.padW + s * c.dilW;
                            double *a = &acc[(size_t)p * Q];
                            for (int q = q0; q < q1; q++) a[q] += wv * row[(size_t)q * c.v];
                        }
                    }
                }
            }
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) blend(c.y.at(n, k, p, q), acc[(size_t)p * Q + q], alpha, beta);
        }
}

// dx = conv^T(dy, w): each filter tap scatters w * dy rows into a double copy of dx, then blended.
void convBackwardData(const Conv &c, float alpha, float beta) {
    const int H = c.x.h, W = c.x.w, P = c.y.h, Q = c.y.w, R = c.w.h, S = c.w.w;
    std::vector<float> DY = packed(c.y, c.tf), Wt = packed(c.w, c.tf);
    std::vector<double> acc((size_t)c.x.count(), 0.0);
    for (int n = 0; n < c.y.n; n++)
        for (int k = 0; k < c.y.c; k++) {
            int g = k / c.kg;
            const float *gp = &DY[((size_t)n * c.y.c + k) * P * Q];
            for (int ci = 0; ci < c.cg; ci++) {
                double *ap = &acc[((size_t)n * c.x.c + g * c.cg + ci) * H * W];
                for (int r = 0; r < R; r++) {
                    int p0, p1;
                    validRange(H, P, c.u, c.padH, r * c.dilH, &p0, &p1);
                    for (int s = 0; s < S; s++) {
                        int q0, q1;
                        validRange(W, Q, c.v, c.padW, s * c.dilW, &q0, &q1);
                        double wv = Wt[(((size_t)k * c.cg + ci) * R + c.fr(r)) * S + c.fs(s)];
                        for (int p = p0; p < p1; p++) {
                            double *row = ap + (size_t)(p * c.u - c.padH + r * c.dilH) * W - c.padW + s * c.dilW;
                            const float *d = gp + (size_t)p * Q;
                            for (int q = q0; q < q1; q++) row[(size_t)q * c.v] += wv * d[q];
                        }
                    }
                }
            }
        }
    size_t i = 0;
    for (int n = 0; n < c.x.n; n++)
        for (int ch = 0; ch < c.x.c; ch++)
            for (int yy = 0; yy < H; yy++)
                for (int xx = 0; xx < W; xx++) blend(c.x.at(n, ch, yy, xx), acc[i++], alpha, beta);
}

// dw[k, c, r', s'] = sum over n, p, q of dy[n, k, p, q] x[n, g Cg + c, ih, iw] (r', s' flipped in CONVOLUTION mode).
void convBackwardFilter(const Conv &c, float alpha, float beta) {
    const int H = c.x.h, W = c.x.w, P = c.y.h, Q = c.y.w, R = c.w.h, S = c.w.w;
    std::vector<float> X = packed(c.x, c.tf), DY = packed(c.y, c.tf);
    for (int k = 0; k < c.w.n; k++) {
        int g = k / c.kg;
        for (int ci = 0; ci < c.cg; ci++)
            for (int r = 0; r < R; r++) {
                int p0, p1;
                validRange(H, P, c.u, c.padH, r * c.dilH, &p0, &p1);
                for (int s = 0; s < S; s++) {
                    int q0, q1;
                    validRange(W, Q, c.v, c.padW, s * c.dilW, &q0, &q1);
                    double acc = 0.0;
                    for (int n = 0; n < c.y.n; n++) {
                        const float *xp = &X[((size_t)n * c.x.c + g * c.cg + ci) * H * W];
                        const float *gp = &DY[((size_t)n * c.y.c + k) * P * Q];
                        for (int p = p0; p < p1; p++) {
                            const float *row = xp + (size_t)(p * c.u - c.padH + r * c.dilH) * W - c.padW + s * c.dilW;
                            const float *d = gp + (size_t)p * Q;
                            for (int q = q0; q < q1; q++) acc += (double)d[q] * row[(size_t)q * c.v];
                        }
                    }
                    blend(c.w.at(k, ci, c.fr(r), c.fs(s)), acc, alpha, beta);
                }
            }
    }
}

// The algorithms the fake offers per pass (all compute the same reference sum): id, workspace bytes, determinism.
// The others of the enum are listed by Find with CUDNN_STATUS_NOT_SUPPORTED and refused when executed.
enum class Pass { Forward, BackwardData, BackwardFilter };
struct Algo { int id; bool supported; size_t workspace; cudnnDeterminism_t det; };

int algoCount(Pass pass) {
    if (pass == Pass::Forward) return CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    return pass == Pass::BackwardData ? (int)CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT : (int)CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
}

Algo algoInfo(Pass pass, int id, const Conv &c) {
    // im2col-sized scratch: one (C/G * R * S) x (P * Q) float matrix, what an explicit-GEMM algorithm would need.
    size_t cols = (size_t)c.cg * c.w.h * c.w.w * c.y.h * c.y.w * sizeof(float);
    size_t small = (size_t)c.cg * c.w.h * c.w.w * sizeof(int) + 256;
    switch (pass) {
    case Pass::Forward:
        if (id == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM) return {id, true, 0, CUDNN_DETERMINISTIC};
        if (id == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM) return {id, true, small, CUDNN_DETERMINISTIC};
        if (id == CUDNN_CONVOLUTION_FWD_ALGO_GEMM) return {id, true, cols, CUDNN_DETERMINISTIC};
        break;
    case Pass::BackwardData:
        if (id == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0) return {id, true, 0, CUDNN_NON_DETERMINISTIC};
        if (id == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1) return {id, true, 0, CUDNN_DETERMINISTIC};
        break;
    case Pass::BackwardFilter:
        if (id == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0) return {id, true, 0, CUDNN_NON_DETERMINISTIC};
        if (id == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1) return {id, true, 0, CUDNN_DETERMINISTIC};
        if (id == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3) return {id, true, small, CUDNN_NON_DETERMINISTIC};
        break;
    }
    return {id, false, 0, CUDNN_DETERMINISTIC};
}

void runPass(Pass pass, const Conv &c, float alpha, float beta) {
    if (pass == Pass::Forward) convForward(c, alpha, beta);
    else if (pass == Pass::BackwardData) convBackwardData(c, alpha, beta);
    else convBackwardFilter(c, alpha, beta);
}

// Runs one pass with a given algorithm: BAD_PARAM for an id outside the enum or a workspace smaller than the
// algorithm needs, NOT_SUPPORTED for an algorithm the fake does not offer. The workspace it uses is overwritten
// with NaN first, so a workspace that overlaps an operand shows up as NaN in the result.
cudnnStatus_t execute(const char *fn, Pass pass, const Conv &c, int algo, void *ws, size_t wsBytes, const void *alpha, const void *beta) {
    float a = 0, b = 0;
    TRY(scalars(alpha, beta, fn, &a, &b));
    if (algo < 0 || algo >= algoCount(pass)) return fail(CUDNN_STATUS_BAD_PARAM, fn, "algorithm %d is outside the enum", algo);
    Algo info = algoInfo(pass, algo, c);
    if (!info.supported) return fail(CUDNN_STATUS_NOT_SUPPORTED, fn, "algorithm %d is not implemented by the fake", algo);
    if (ws == nullptr) wsBytes = 0;
    if (wsBytes < info.workspace)
        return fail(CUDNN_STATUS_BAD_PARAM, fn, "algorithm %d needs %zu bytes of workspace, %zu given", algo, info.workspace, wsBytes);
    if (emu_stats::skip_work()) return CUDNN_STATUS_SUCCESS;
    if (info.workspace > 0) std::memset(ws, 0xff, info.workspace);
    runPass(pass, c, a, b);
    return CUDNN_STATUS_SUCCESS;
}

// cudnnFind*AlgorithmEx: every algorithm of the pass is tried on the caller's buffers (the output is written with
// alpha 1, beta 0, as the real search does); results sorted with the successful ones first by time, at most
// requestedAlgoCount of them. An algorithm needing more workspace than given gets CUDNN_STATUS_ALLOC_FAILED.
cudnnStatus_t find(const char *fn, Pass pass, const Conv &c, int requested, int *returned, cudnnConvolutionAlgoPerf_t *perf,
                   void *ws, size_t wsBytes, cudnnMathType_t math) {
    if (requested <= 0) return fail(CUDNN_STATUS_BAD_PARAM, fn, "requestedAlgoCount %d must be positive", requested);
    if (returned == nullptr || perf == nullptr) return fail(CUDNN_STATUS_BAD_PARAM, fn, "returnedAlgoCount or perfResults is NULL");
    if (ws == nullptr) wsBytes = 0;
    std::vector<cudnnConvolutionAlgoPerf_t> all;
    double measured = -1.0;
    for (int id = 0; id < algoCount(pass); id++) {
        Algo info = algoInfo(pass, id, c);
        cudnnConvolutionAlgoPerf_t r{};
        r.algo = id; r.memory = info.workspace; r.determinism = info.det; r.mathType = math; r.time = -1.0f;
        if (!info.supported) r.status = CUDNN_STATUS_NOT_SUPPORTED;
        else if (info.workspace > wsBytes) r.status = CUDNN_STATUS_ALLOC_FAILED;
        else {
            if (measured < 0) {  // all offered algorithms compute the same sum: run and time it once
                auto t0 = std::chrono::steady_clock::now();
                if (!emu_stats::skip_work()) runPass(pass, c, 1.0f, 0.0f);
                measured = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
            }
            r.status = CUDNN_STATUS_SUCCESS;
            r.time = (float)(measured * (1.0 + 0.1 * id));  // a stable, plausible order: lower ids first
        }
        all.push_back(r);
    }
    std::stable_sort(all.begin(), all.end(), [](const cudnnConvolutionAlgoPerf_t &l, const cudnnConvolutionAlgoPerf_t &r) {
        bool lok = l.status == CUDNN_STATUS_SUCCESS, rok = r.status == CUDNN_STATUS_SUCCESS;
        if (lok != rok) return lok;
        return lok && l.time < r.time;
    });
    int n = std::min(requested, (int)all.size());
    for (int i = 0; i < n; i++) perf[i] = all[i];
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void *x,
                                                     const cudnnFilterDescriptor_t wDesc, const void *w,
                                                     const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc,
                                                     void *y, const int requestedAlgoCount, int *returnedAlgoCount,
                                                     cudnnConvolutionAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes) { EMU_STAT("cudnn-find");
    Conv c;
    TRY(makeConv(__func__, handle, xDesc, x, wDesc, w, convDesc, yDesc, y, &c));
    return find(__func__, Pass::Forward, c, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes, convDesc->math);
}

cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const void *w,
                                                          const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                                          const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc,
                                                          void *dx, const int requestedAlgoCount, int *returnedAlgoCount,
                                                          cudnnConvolutionAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes) { EMU_STAT("cudnn-find");
    Conv c;
    TRY(makeConv(__func__, handle, dxDesc, dx, wDesc, w, convDesc, dyDesc, dy, &c));
    return find(__func__, Pass::BackwardData, c, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes, convDesc->math);
}

cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void *x,
                                                            const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                                            const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc,
                                                            void *dw, const int requestedAlgoCount, int *returnedAlgoCount,
                                                            cudnnConvolutionAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes) { EMU_STAT("cudnn-find");
    Conv c;
    TRY(makeConv(__func__, handle, xDesc, x, dwDesc, dw, convDesc, dyDesc, dy, &c));
    return find(__func__, Pass::BackwardFilter, c, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes, convDesc->math);
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x,
                                      const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc,
                                      int algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
                                      const cudnnTensorDescriptor_t yDesc, void *y) { EMU_STAT("cudnn");
    Conv c;
    TRY(makeConv(__func__, handle, xDesc, x, wDesc, w, convDesc, yDesc, y, &c));
    return execute(__func__, Pass::Forward, c, algo, workSpace, workSpaceSizeInBytes, alpha, beta);
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha, const cudnnFilterDescriptor_t wDesc, const void *w,
                                           const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnConvolutionDescriptor_t convDesc,
                                           int algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
                                           const cudnnTensorDescriptor_t dxDesc, void *dx) { EMU_STAT("cudnn");
    Conv c;
    TRY(makeConv(__func__, handle, dxDesc, dx, wDesc, w, convDesc, dyDesc, dy, &c));
    return execute(__func__, Pass::BackwardData, c, algo, workSpace, workSpaceSizeInBytes, alpha, beta);
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x,
                                             const cudnnTensorDescriptor_t dyDesc, const void *dy, const cudnnConvolutionDescriptor_t convDesc,
                                             int algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
                                             const cudnnFilterDescriptor_t dwDesc, void *dw) { EMU_STAT("cudnn");
    Conv c;
    TRY(makeConv(__func__, handle, xDesc, x, dwDesc, dw, convDesc, dyDesc, dy, &c));
    return execute(__func__, Pass::BackwardFilter, c, algo, workSpace, workSpaceSizeInBytes, alpha, beta);
}

// db (1, K, 1, 1) = alpha * sum over n, h, w of dy (N, K, H, W) + beta * db.
cudnnStatus_t cudnnConvolutionBackwardBias(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                           const void *beta, const cudnnTensorDescriptor_t dbDesc, void *db) { EMU_STAT("cudnn");
    if (!is(handle, kHandle)) BAD("not a cuDNN handle");
    View4 g, b;
    float a = 0, bt = 0;
    TRY(tensorView(dyDesc, dy, "dy", __func__, &g));
    TRY(tensorView(dbDesc, db, "db", __func__, &b));
    TRY(scalars(alpha, beta, __func__, &a, &bt));
    if (b.n != 1 || b.c != g.c || b.h != 1 || b.w != 1) BAD("db is (%d, %d, %d, %d), expected (1, %d, 1, 1)", b.n, b.c, b.h, b.w, g.c);
    if (emu_stats::skip_work()) return CUDNN_STATUS_SUCCESS;
    for (int k = 0; k < g.c; k++) {
        double acc = 0.0;
        for (int n = 0; n < g.n; n++)
            for (int y = 0; y < g.h; y++)
                for (int x = 0; x < g.w; x++) acc += g.at(n, k, y, x);
        blend(b.at(0, k, 0, 0), acc, a, bt);
    }
    return CUDNN_STATUS_SUCCESS;
}

// C = alpha * A + beta * C, where each dimension of A equals C's or is 1 (broadcast).
cudnnStatus_t cudnnAddTensor(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t aDesc, const void *A,
                             const void *beta, const cudnnTensorDescriptor_t cDesc, void *C) { EMU_STAT("cudnn");
    if (!is(handle, kHandle)) BAD("not a cuDNN handle");
    View4 av, cv;
    float a = 0, b = 0;
    TRY(tensorView(aDesc, A, "A", __func__, &av));
    TRY(tensorView(cDesc, C, "C", __func__, &cv));
    TRY(scalars(alpha, beta, __func__, &a, &b));
    if ((av.n != cv.n && av.n != 1) || (av.c != cv.c && av.c != 1) || (av.h != cv.h && av.h != 1) || (av.w != cv.w && av.w != 1))
        BAD("A (%d, %d, %d, %d) does not broadcast to C (%d, %d, %d, %d): each dimension must match or be 1",
            av.n, av.c, av.h, av.w, cv.n, cv.c, cv.h, cv.w);
    if (emu_stats::skip_work()) return CUDNN_STATUS_SUCCESS;
    for (int n = 0; n < cv.n; n++)
        for (int c = 0; c < cv.c; c++)
            for (int y = 0; y < cv.h; y++)
                for (int x = 0; x < cv.w; x++)
                    blend(cv.at(n, c, y, x), av.at(av.n == 1 ? 0 : n, av.c == 1 ? 0 : c, av.h == 1 ? 0 : y, av.w == 1 ? 0 : x), a, b);
    return CUDNN_STATUS_SUCCESS;
}

// ---- pooling ----------------------------------------------------------------------------------------------------
cudnnStatus_t cudnnCreatePoolingDescriptor(cudnnPoolingDescriptor_t *d) { EMU_STAT("cudnn"); return create(d, kPool, __func__); }
cudnnStatus_t cudnnDestroyPoolingDescriptor(cudnnPoolingDescriptor_t d) { EMU_STAT("cudnn"); return destroy(d, kPool, __func__); }

cudnnStatus_t cudnnSetPooling2dDescriptor(cudnnPoolingDescriptor_t d, cudnnPoolingMode_t mode, cudnnNanPropagation_t maxpoolingNanOpt,
                                          int windowHeight, int windowWidth, int verticalPadding, int horizontalPadding,
                                          int verticalStride, int horizontalStride) { EMU_STAT("cudnn");
    if (!is(d, kPool)) BAD("not a pooling descriptor");
    if (mode < CUDNN_POOLING_MAX || mode > CUDNN_POOLING_MAX_DETERMINISTIC) BAD("mode %d is not a cudnnPoolingMode_t", (int)mode);
    if (maxpoolingNanOpt != CUDNN_NOT_PROPAGATE_NAN && maxpoolingNanOpt != CUDNN_PROPAGATE_NAN) BAD("maxpoolingNanOpt %d is not a cudnnNanPropagation_t", (int)maxpoolingNanOpt);
    if (windowHeight <= 0 || windowWidth <= 0) BAD("window (%d, %d) must be positive", windowHeight, windowWidth);
    if (verticalPadding < 0 || horizontalPadding < 0) BAD("padding (%d, %d) is negative", verticalPadding, horizontalPadding);
    if (verticalStride <= 0 || horizontalStride <= 0) BAD("stride (%d, %d) must be positive", verticalStride, horizontalStride);
    *d = cudnnPoolingStruct{kPool, true, mode, maxpoolingNanOpt, windowHeight, windowWidth, verticalPadding, horizontalPadding, verticalStride, horizontalStride};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetPooling2dForwardOutputDim(const cudnnPoolingDescriptor_t d, const cudnnTensorDescriptor_t x, int *n, int *c, int *h, int *w) { EMU_STAT("cudnn");
    if (!is(d, kPool) || !d->set) BAD("not a set pooling descriptor");
    if (!is(x, kTensor) || !x->set) BAD("not a set tensor descriptor");
    if (!n || !c || !h || !w) BAD("an output pointer is NULL");
    *n = x->n; *c = x->c;
    *h = 1 + (x->h + 2 * d->ph - d->wh) / d->sh;
    *w = 1 + (x->w + 2 * d->pw - d->ww) / d->sw;
    return CUDNN_STATUS_SUCCESS;
}

}  // extern "C"

namespace {

// Checks x (N, C, H, W) and y (N, C, OH, OW) against the pooling output rule OH = 1 + (H + 2 ph - wh) / sh.
cudnnStatus_t checkPool(const char *fn, cudnnPoolingDescriptor_t d, const View4 &x, const View4 &y) {
    if (!is(d, kPool) || !d->set) return fail(CUDNN_STATUS_BAD_PARAM, fn, "not a set pooling descriptor");
    if (d->ph >= d->wh || d->pw >= d->ww)
        return fail(CUDNN_STATUS_NOT_SUPPORTED, fn, "padding (%d, %d) not smaller than the window (%d, %d): windows of padding only are not implemented", d->ph, d->pw, d->wh, d->ww);
    int oh = 1 + (x.h + 2 * d->ph - d->wh) / d->sh, ow = 1 + (x.w + 2 * d->pw - d->ww) / d->sw;
    if (x.h + 2 * d->ph < d->wh || x.w + 2 * d->pw < d->ww) return fail(CUDNN_STATUS_BAD_PARAM, fn, "the window is larger than the padded input");
    if (y.n != x.n || y.c != x.c || y.h != oh || y.w != ow)
        return fail(CUDNN_STATUS_BAD_PARAM, fn, "y is (%d, %d, %d, %d), pooling gives (%d, %d, %d, %d)", y.n, y.c, y.h, y.w, x.n, x.c, oh, ow);
    return CUDNN_STATUS_SUCCESS;
}

bool isMax(cudnnPoolingMode_t m) { return m == CUDNN_POOLING_MAX || m == CUDNN_POOLING_MAX_DETERMINISTIC; }

// The window of output (oy, ox), clipped to the input: rows [y0, y1), columns [x0, x1).
struct Window { int y0, y1, x0, x1; };
Window window(cudnnPoolingDescriptor_t d, const View4 &x, int oy, int ox) {
    int ys = oy * d->sh - d->ph, xs = ox * d->sw - d->pw;
    return {std::max(ys, 0), std::min(ys + d->wh, x.h), std::max(xs, 0), std::min(xs + d->ww, x.w)};
}

// The divisor of an average window: the full window with padding counted, else the input elements it covers.
int divisor(cudnnPoolingDescriptor_t d, const Window &win) {
#ifdef EMU_BREAK_exclude
    return d->wh * d->ww;
#else
    return d->mode == CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING ? d->wh * d->ww : (win.y1 - win.y0) * (win.x1 - win.x0);
#endif
}

// Position of a window's maximum (first in row-major order); padding never wins. With CUDNN_PROPAGATE_NAN the first
// NaN is the maximum, otherwise NaNs are skipped (an all-NaN window gives its first element).
void argmax(cudnnPoolingDescriptor_t d, const View4 &x, int n, int c, const Window &win, int *my, int *mx) {
    *my = win.y0; *mx = win.x0;
    float best = -INFINITY;
    bool found = false;
    for (int yy = win.y0; yy < win.y1; yy++)
        for (int xx = win.x0; xx < win.x1; xx++) {
            float v = x.at(n, c, yy, xx);
            if (std::isnan(v)) {
                if (d->nan == CUDNN_PROPAGATE_NAN) { *my = yy; *mx = xx; return; }
                continue;
            }
            if (!found || v > best) { best = v; *my = yy; *mx = xx; found = true; }
        }
}

}  // namespace

extern "C" {

cudnnStatus_t cudnnPoolingForward(cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc, const void *alpha,
                                  const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta,
                                  const cudnnTensorDescriptor_t yDesc, void *y) { EMU_STAT("cudnn");
    if (!is(handle, kHandle)) BAD("not a cuDNN handle");
    View4 xv, yv;
    float a = 0, b = 0;
    TRY(tensorView(xDesc, x, "x", __func__, &xv));
    TRY(tensorView(yDesc, y, "y", __func__, &yv));
    TRY(scalars(alpha, beta, __func__, &a, &b));
    TRY(checkPool(__func__, poolingDesc, xv, yv));
    if (emu_stats::skip_work()) return CUDNN_STATUS_SUCCESS;
    for (int n = 0; n < yv.n; n++)
        for (int c = 0; c < yv.c; c++)
            for (int oy = 0; oy < yv.h; oy++)
                for (int ox = 0; ox < yv.w; ox++) {
                    Window win = window(poolingDesc, xv, oy, ox);
                    double r;
                    if (isMax(poolingDesc->mode)) {
                        int my, mx;
                        argmax(poolingDesc, xv, n, c, win, &my, &mx);
                        r = xv.at(n, c, my, mx);
                    } else {
                        double s = 0.0;
                        for (int yy = win.y0; yy < win.y1; yy++)
                            for (int xx = win.x0; xx < win.x1; xx++) s += xv.at(n, c, yy, xx);
                        r = s / divisor(poolingDesc, win);
                    }
                    blend(yv.at(n, c, oy, ox), r, a, b);
                }
    return CUDNN_STATUS_SUCCESS;
}

// dx = alpha * pool^T(dy) + beta * dx: max sends dy to the window's maximum in x (first one on ties), average spreads
// dy / divisor over the window's input elements.
cudnnStatus_t cudnnPoolingBackward(cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc, const void *alpha,
                                   const cudnnTensorDescriptor_t yDesc, const void *y, const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                   const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta,
                                   const cudnnTensorDescriptor_t dxDesc, void *dx) { EMU_STAT("cudnn");
    if (!is(handle, kHandle)) BAD("not a cuDNN handle");
    View4 yv, gv, xv, dv;
    float a = 0, b = 0;
    TRY(tensorView(yDesc, y, "y", __func__, &yv));
    TRY(tensorView(dyDesc, dy, "dy", __func__, &gv));
    TRY(tensorView(xDesc, x, "x", __func__, &xv));
    TRY(tensorView(dxDesc, dx, "dx", __func__, &dv));
    TRY(scalars(alpha, beta, __func__, &a, &b));
    if (!sameDims(yv, gv)) BAD("y and dy differ in shape");
    if (!sameDims(xv, dv)) BAD("x and dx differ in shape");
    TRY(checkPool(__func__, poolingDesc, xv, yv));
    if (emu_stats::skip_work()) return CUDNN_STATUS_SUCCESS;
    std::vector<double> acc((size_t)xv.count(), 0.0);
    auto ai = [&](int n, int c, int yy, int xx) -> double & { return acc[(((size_t)n * xv.c + c) * xv.h + yy) * xv.w + xx]; };
    for (int n = 0; n < gv.n; n++)
        for (int c = 0; c < gv.c; c++)
            for (int oy = 0; oy < gv.h; oy++)
                for (int ox = 0; ox < gv.w; ox++) {
                    Window win = window(poolingDesc, xv, oy, ox);
                    double g = gv.at(n, c, oy, ox);
                    if (isMax(poolingDesc->mode)) {
                        int my, mx;
                        argmax(poolingDesc, xv, n, c, win, &my, &mx);
                        ai(n, c, my, mx) += g;
                    } else {
                        double share = g / divisor(poolingDesc, win);
                        for (int yy = win.y0; yy < win.y1; yy++)
                            for (int xx = win.x0; xx < win.x1; xx++) ai(n, c, yy, xx) += share;
                    }
                }
    for (int n = 0; n < dv.n; n++)
        for (int c = 0; c < dv.c; c++)
            for (int yy = 0; yy < dv.h; yy++)
                for (int xx = 0; xx < dv.w; xx++) blend(dv.at(n, c, yy, xx), ai(n, c, yy, xx), a, b);
    return CUDNN_STATUS_SUCCESS;
}

}  // extern "C"

// ---------------------------------------------------------------------------------------------------------------
// Batch norm over x (N, C, H, W). SPATIAL (and SPATIAL_PERSISTENT): one statistic per channel over N*H*W values,
// parameters (1, C, 1, 1). PER_ACTIVATION: one per (c, h, w) over N values, parameters (1, C, H, W).
namespace {

struct Bn {
    View4 x, y, p;      // data in, data out, parameter shape
    bool spatial;
    int features;       // statistics computed: C or C*H*W
    int64_t m;          // values per statistic
    int feature(int c, int yy, int xx) const { return spatial ? c : (c * x.h + yy) * x.w + xx; }
    float &param(const float *base, int f) const {  // parameter f of a (1, C, 1, 1) or (1, C, H, W) tensor
        int c = spatial ? f : f / (x.h * x.w), r = spatial ? 0 : f % (x.h * x.w);
        return const_cast<float *>(base)[c * p.sc + (r / x.w) * p.sh + (r % x.w) * p.sw];
    }
    template <class F> void each(F fn) const {  // fn(feature, n, c, h, w) over every element
        for (int n = 0; n < x.n; n++)
            for (int c = 0; c < x.c; c++)
                for (int yy = 0; yy < x.h; yy++)
                    for (int xx = 0; xx < x.w; xx++) fn(feature(c, yy, xx), n, c, yy, xx);
    }
};

cudnnStatus_t makeBn(const char *fn, cudnnHandle_t handle, cudnnBatchNormMode_t mode, cudnnTensorDescriptor_t xd, const void *x,
                     cudnnTensorDescriptor_t yd, const void *y, cudnnTensorDescriptor_t pd, double epsilon, Bn *out) {
    if (!is(handle, kHandle)) return fail(CUDNN_STATUS_BAD_PARAM, fn, "not a cuDNN handle");
    if (mode < CUDNN_BATCHNORM_PER_ACTIVATION || mode > CUDNN_BATCHNORM_SPATIAL_PERSISTENT) return fail(CUDNN_STATUS_BAD_PARAM, fn, "mode %d is not a cudnnBatchNormMode_t", (int)mode);
    if (!(epsilon >= CUDNN_BN_MIN_EPSILON)) return fail(CUDNN_STATUS_BAD_PARAM, fn, "epsilon %g is below CUDNN_BN_MIN_EPSILON (%g)", epsilon, CUDNN_BN_MIN_EPSILON);
    Bn b{};
    TRY(tensorView(xd, x, "x", fn, &b.x));
    TRY(tensorView(yd, y, "y", fn, &b.y));
    if (!sameDims(b.x, b.y)) return fail(CUDNN_STATUS_BAD_PARAM, fn, "x and y differ in shape");
    if (!is(pd, kTensor) || !pd->set) return fail(CUDNN_STATUS_BAD_PARAM, fn, "not a set scale/bias/mean/variance descriptor");
    if (pd->type != CUDNN_DATA_FLOAT) return fail(CUDNN_STATUS_NOT_SUPPORTED, fn, "parameter data type %d (float data needs float parameters)", (int)pd->type);
    b.p = View4{nullptr, pd->n, pd->c, pd->h, pd->w, pd->sn, pd->sc, pd->sh, pd->sw};
    b.spatial = mode != CUDNN_BATCHNORM_PER_ACTIVATION;
    int eh = b.spatial ? 1 : b.x.h, ew = b.spatial ? 1 : b.x.w;
    if (b.p.n != 1 || b.p.c != b.x.c || b.p.h != eh || b.p.w != ew)
        return fail(CUDNN_STATUS_BAD_PARAM, fn, "parameter tensor is (%d, %d, %d, %d), this mode needs (1, %d, %d, %d)", b.p.n, b.p.c, b.p.h, b.p.w, b.x.c, eh, ew);
    b.features = b.spatial ? b.x.c : b.x.c * b.x.h * b.x.w;
    b.m = b.spatial ? (int64_t)b.x.n * b.x.h * b.x.w : b.x.n;
    *out = b;
    return CUDNN_STATUS_SUCCESS;
}

// Per-feature mean and biased variance of x (two passes in double).
void moments(const Bn &b, std::vector<double> &mean, std::vector<double> &var) {
    mean.assign(b.features, 0.0);
    var.assign(b.features, 0.0);
    b.each([&](int f, int n, int c, int yy, int xx) { mean[f] += b.x.at(n, c, yy, xx); });
    for (auto &v : mean) v /= (double)b.m;
    b.each([&](int f, int n, int c, int yy, int xx) { double d = b.x.at(n, c, yy, xx) - mean[f]; var[f] += d * d; });
    for (auto &v : var) v /= (double)b.m;
}

bool bothOrNeither(const void *a, const void *b) { return (a == nullptr) == (b == nullptr); }

}  // namespace

extern "C" {

// y = alpha * (scale (x - mean) / sqrt(var + eps) + bias) + beta * y with the batch's mean and biased variance;
// running = factor * batch + (1 - factor) * running, the variance unbiased (m / (m - 1));
// saveMean = mean, saveInvVariance = 1 / sqrt(biased var + eps).
cudnnStatus_t cudnnBatchNormalizationForwardTraining(cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
                                                     const cudnnTensorDescriptor_t xDesc, const void *x,
                                                     const cudnnTensorDescriptor_t yDesc, void *y,
                                                     const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
                                                     const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
                                                     void *resultRunningVariance, double epsilon, void *resultSaveMean,
                                                     void *resultSaveInvVariance) { EMU_STAT("cudnn");
    Bn b;
    float a = 0, bt = 0;
    TRY(makeBn(__func__, handle, mode, xDesc, x, yDesc, y, bnScaleBiasMeanVarDesc, epsilon, &b));
    TRY(scalars(alpha, beta, __func__, &a, &bt));
    if (bnScale == nullptr || bnBias == nullptr) BAD("bnScale or bnBias is NULL");
    if (!bothOrNeither(resultRunningMean, resultRunningVariance)) BAD("resultRunningMean and resultRunningVariance must both be NULL or both be set");
    if (!bothOrNeither(resultSaveMean, resultSaveInvVariance)) BAD("resultSaveMean and resultSaveInvVariance must both be NULL or both be set");
    if (b.m < 2) UNSUPPORTED("one value per statistic: the unbiased running variance is undefined");
    if (emu_stats::skip_work()) return CUDNN_STATUS_SUCCESS;
    std::vector<double> mean, var;
    moments(b, mean, var);
    std::vector<double> inv(b.features);
    for (int f = 0; f < b.features; f++) inv[f] = 1.0 / std::sqrt(var[f] + epsilon);
    b.each([&](int f, int n, int c, int yy, int xx) {
        double r = b.param((const float *)bnScale, f) * (b.x.at(n, c, yy, xx) - mean[f]) * inv[f] + b.param((const float *)bnBias, f);
        blend(b.y.at(n, c, yy, xx), r, a, bt);
    });
    for (int f = 0; f < b.features; f++) {
        if (resultRunningMean != nullptr) {
            float &rm = b.param((const float *)resultRunningMean, f), &rv = b.param((const float *)resultRunningVariance, f);
#ifdef EMU_BREAK_unbiased
            double unbiased = var[f];
#else
            double unbiased = var[f] * (double)b.m / (double)(b.m - 1);
#endif
            rm = (float)(exponentialAverageFactor * mean[f] + (1.0 - exponentialAverageFactor) * rm);
            rv = (float)(exponentialAverageFactor * unbiased + (1.0 - exponentialAverageFactor) * rv);
        }
        if (resultSaveMean != nullptr) {
            b.param((const float *)resultSaveMean, f) = (float)mean[f];
            b.param((const float *)resultSaveInvVariance, f) = (float)inv[f];
        }
    }
    return CUDNN_STATUS_SUCCESS;
}

// y = alpha * (scale (x - estimatedMean) / sqrt(estimatedVariance + eps) + bias) + beta * y.
cudnnStatus_t cudnnBatchNormalizationForwardInference(cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
                                                      const cudnnTensorDescriptor_t xDesc, const void *x,
                                                      const cudnnTensorDescriptor_t yDesc, void *y,
                                                      const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
                                                      const void *bnBias, const void *estimatedMean, const void *estimatedVariance,
                                                      double epsilon) { EMU_STAT("cudnn");
    Bn b;
    float a = 0, bt = 0;
    TRY(makeBn(__func__, handle, mode, xDesc, x, yDesc, y, bnScaleBiasMeanVarDesc, epsilon, &b));
    TRY(scalars(alpha, beta, __func__, &a, &bt));
    if (!bnScale || !bnBias || !estimatedMean || !estimatedVariance) BAD("bnScale, bnBias, estimatedMean and estimatedVariance must all be set");
    if (emu_stats::skip_work()) return CUDNN_STATUS_SUCCESS;
    b.each([&](int f, int n, int c, int yy, int xx) {
        double inv = 1.0 / std::sqrt((double)b.param((const float *)estimatedVariance, f) + epsilon);
        double r = b.param((const float *)bnScale, f) * (b.x.at(n, c, yy, xx) - b.param((const float *)estimatedMean, f)) * inv
                 + b.param((const float *)bnBias, f);
        blend(b.y.at(n, c, yy, xx), r, a, bt);
    });
    return CUDNN_STATUS_SUCCESS;
}

// With xhat = (x - mean) r (r = inverse std): dBias = sum dy, dScale = sum dy xhat,
// dx = scale r / m (m dy - dBias - xhat dScale). dx blends with alphaDataDiff / betaDataDiff, dScale and dBias with
// alphaParamDiff / betaParamDiff. savedMean / savedInvVariance NULL (both): recomputed from x and epsilon.
cudnnStatus_t cudnnBatchNormalizationBackward(cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alphaDataDiff,
                                              const void *betaDataDiff, const void *alphaParamDiff, const void *betaParamDiff,
                                              const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc,
                                              const void *dy, const cudnnTensorDescriptor_t dxDesc, void *dx,
                                              const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void *bnScale, void *dBnScaleResult,
                                              void *dBnBiasResult, double epsilon, const void *savedMean, const void *savedInvVariance) { EMU_STAT("cudnn");
    Bn b;
    float ad = 0, bd = 0, ap = 0, bp = 0;
    TRY(makeBn(__func__, handle, mode, xDesc, x, dyDesc, dy, dBnScaleBiasDesc, epsilon, &b));
    View4 dv;
    TRY(tensorView(dxDesc, dx, "dx", __func__, &dv));
    if (!sameDims(b.x, dv)) BAD("x and dx differ in shape");
    TRY(scalars(alphaDataDiff, betaDataDiff, __func__, &ad, &bd));
    TRY(scalars(alphaParamDiff, betaParamDiff, __func__, &ap, &bp));
    if (!bnScale || !dBnScaleResult || !dBnBiasResult) BAD("bnScale, dBnScaleResult and dBnBiasResult must all be set");
    if (!bothOrNeither(savedMean, savedInvVariance)) BAD("savedMean and savedInvVariance must both be NULL or both be set");
    if (emu_stats::skip_work()) return CUDNN_STATUS_SUCCESS;
    std::vector<double> mean(b.features), inv(b.features);
    if (savedMean != nullptr) {
        for (int f = 0; f < b.features; f++) {
            mean[f] = b.param((const float *)savedMean, f);
            inv[f] = b.param((const float *)savedInvVariance, f);
        }
    } else {
        std::vector<double> var;
        moments(b, mean, var);
        for (int f = 0; f < b.features; f++) inv[f] = 1.0 / std::sqrt(var[f] + epsilon);
    }
    const View4 &g = b.y;  // dy
    std::vector<double> dbias(b.features, 0.0), dscale(b.features, 0.0);
    b.each([&](int f, int n, int c, int yy, int xx) {
        double d = g.at(n, c, yy, xx);
        dbias[f] += d;
        dscale[f] += d * (b.x.at(n, c, yy, xx) - mean[f]) * inv[f];
    });
    b.each([&](int f, int n, int c, int yy, int xx) {
        double xhat = (b.x.at(n, c, yy, xx) - mean[f]) * inv[f];
        double r = b.param((const float *)bnScale, f) * inv[f] / (double)b.m * ((double)b.m * g.at(n, c, yy, xx) - dbias[f] - xhat * dscale[f]);
        blend(dv.at(n, c, yy, xx), r, ad, bd);
    });
    for (int f = 0; f < b.features; f++) {
        blend(b.param((const float *)dBnScaleResult, f), dscale[f], ap, bp);
        blend(b.param((const float *)dBnBiasResult, f), dbias[f], ap, bp);
    }
    return CUDNN_STATUS_SUCCESS;
}

}  // extern "C"

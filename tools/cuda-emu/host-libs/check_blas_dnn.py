#!/usr/bin/python3
"""Checks the fake cuBLAS / cuBLASLt / cuDNN of tools/cuda-emu/host-libs against PyTorch, independently of Cochlea's C#.

The libraries are loaded with ctypes (a "device pointer" of the host GPU is a host pointer, so numpy buffers are
passed directly); every result is compared with a float64 PyTorch reference (torch.matmul, F.conv2d and autograd,
F.max_pool2d / F.avg_pool2d, F.batch_norm), every documented error case with its status code.

    /usr/bin/python3 tools/cuda-emu/host-libs/check_blas_dnn.py              # builds both libraries, runs the checks
    /usr/bin/python3 tools/cuda-emu/host-libs/check_blas_dnn.py --lib-dir D  # uses D/libcublas.so.13, D/libcudnn.so.9
    /usr/bin/python3 tools/cuda-emu/host-libs/check_blas_dnn.py --mutants    # each deliberately broken build must fail

Prints one line per failed check and a summary; exits 1 when a check failed.
"""
import argparse
import ctypes as C
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
LIBS = {"libcublas.so.13": "libcublas.cpp", "libcublasLt.so.13": "libcublasLt.cpp", "libcudnn.so.9": "libcudnn.cpp"}
# Deliberate bugs (-DEMU_BREAK_<name>) and the library each one is compiled into; --mutants expects each to fail.
MUTANTS = [("beta0", "libcublas.so.13"), ("ldc", "libcublas.so.13"), ("lt_bias", "libcublasLt.so.13"),
           ("lt_epilogue", "libcublasLt.so.13"), ("beta0", "libcublasLt.so.13"), ("beta0", "libcudnn.so.9"),
           ("flip", "libcudnn.so.9"), ("exclude", "libcudnn.so.9"), ("unbiased", "libcudnn.so.9")]

# cuBLAS / cuDNN 9 constants, from cublas_api.h and cudnn_graph.h / cudnn_ops.h / cudnn_cnn.h.
CUBLAS_SUCCESS, CUBLAS_NOT_INITIALIZED, CUBLAS_INVALID_VALUE = 0, 1, 7
OP_N, OP_T, OP_C = 0, 1, 2
CUBLAS_DEFAULT_MATH, CUBLAS_TF32_TENSOR_OP_MATH = 0, 3
CUBLAS_NOT_SUPPORTED = 15
# cuBLASLt (cublasLt.h): compute types, matmul-descriptor and preference attributes, epilogues.
COMPUTE_32F, COMPUTE_32F_FAST_TF32, CUDA_R_32F = 68, 77, 0
DESC_TRANSA, DESC_TRANSB, DESC_EPILOGUE, DESC_BIAS_POINTER = 3, 4, 7, 8
PREF_MAX_WORKSPACE_BYTES, PREF_MIN_ALIGNMENT_A_BYTES = 1, 5
EPI_DEFAULT, EPI_RELU, EPI_BIAS, EPI_RELU_BIAS, EPI_GELU = 1, 2, 4, 6, 32
OK, BAD_PARAM, NOT_SUPPORTED, ALLOC_FAILED = 0, 2000, 3000, 4003
DATA_FLOAT, DATA_HALF = 0, 2
NCHW, NHWC = 0, 1
CONVOLUTION, CROSS_CORRELATION = 0, 1
DEFAULT_MATH, FMA_MATH = 0, 3
POOL_MAX, POOL_AVG_INCLUDE, POOL_AVG_EXCLUDE, POOL_MAX_DET = 0, 1, 2, 3
NOT_PROPAGATE_NAN, PROPAGATE_NAN = 0, 1
BN_PER_ACTIVATION, BN_SPATIAL, BN_SPATIAL_PERSISTENT = 0, 1, 2
FWD_ALGO_COUNT, BWD_DATA_ALGO_COUNT, BWD_FILTER_ALGO_COUNT = 8, 6, 7


class AlgoPerf(C.Structure):
    """cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t as cudnn_cnn.h declares it."""
    _fields_ = [("algo", C.c_int), ("status", C.c_int), ("time", C.c_float), ("memory", C.c_size_t),
                ("determinism", C.c_int), ("mathType", C.c_int), ("reserved", C.c_int * 3)]


class Report:
    def __init__(self):
        self.passed, self.failed = 0, []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)
            print(f"FAIL {name}{': ' + detail if detail else ''}")

    def close(self, name, ours, ref, atol=1e-4, rtol=1e-4):
        ours = np.asarray(ours, dtype=np.float64)
        ref = np.asarray(ref, dtype=np.float64)
        if ours.shape != ref.shape:
            return self.check(name, False, f"shape {ours.shape} vs {ref.shape}")
        err = np.abs(ours - ref)
        bad = ~((err <= atol + rtol * np.abs(ref)) | (np.isnan(ours) & np.isnan(ref)))  # NaN only where the reference has NaN
        self.check(name, not bad.any(), f"max error {np.nanmax(err) if err.size else 0:.3g}, {int(bad.sum())} of {err.size} off"
                   + (" (NaN)" if np.isnan(ours).any() else ""))


def ptr(a):
    return C.c_void_p(a.ctypes.data) if a is not None else C.c_void_p(0)


def f32(v):
    return C.byref(C.c_float(v))


def tf32(a):
    """Rounds float32 values to TF32 (10-bit mantissa, nearest even), as tensor cores read them."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = a.view(np.uint32).astype(np.uint64)
    b = ((b + 0xFFF + ((b >> 13) & 1)) & 0xFFFFE000).astype(np.uint32)
    r = b.view(np.float32).reshape(a.shape)
    return np.where(np.isfinite(a), r, a)


# ---------------------------------------------------------------------------------------------------------------
def load_blas(path):
    L = C.CDLL(path)
    h, i, v, f, ll = C.c_void_p, C.c_int, C.c_void_p, C.c_void_p, C.c_longlong
    L.cublasCreate_v2.argtypes = [C.POINTER(C.c_void_p)]
    L.cublasDestroy_v2.argtypes = [h]
    L.cublasSetStream_v2.argtypes = [h, v]
    L.cublasGetStream_v2.argtypes = [h, C.POINTER(C.c_void_p)]
    L.cublasSetMathMode.argtypes = [h, i]
    L.cublasGetMathMode.argtypes = [h, C.POINTER(C.c_int)]
    L.cublasGetStatusString.argtypes = [i]
    L.cublasGetStatusString.restype = C.c_char_p
    L.cublasSgemm_v2.argtypes = [h, i, i, i, i, i, f, v, i, v, i, f, v, i]
    L.cublasSgemmStridedBatched.argtypes = [h, i, i, i, i, i, f, v, i, ll, v, i, ll, f, v, i, ll, i]
    return L


def colmajor(buf, rows, cols, ld, offset=0):
    """The (rows, cols) column-major matrix with leading dimension ld inside the flat buffer."""
    return np.lib.stride_tricks.as_strided(buf[offset:], shape=(rows, cols), strides=(4, 4 * ld))


def check_blas(L, R, rng):
    h = C.c_void_p()
    R.check("cublasCreate_v2", L.cublasCreate_v2(C.byref(h)) == CUBLAS_SUCCESS)
    s = C.c_void_p()
    L.cublasSetStream_v2(h, C.c_void_p(0x5151))
    L.cublasGetStream_v2(h, C.byref(s))
    R.check("cublasSetStream_v2 stores the stream", s.value == 0x5151)

    def gemm_case(ta, tb, m, n, k, alpha, beta, nan_c=False, batch=None, tf=False):
        ar, ac = (m, k) if ta == OP_N else (k, m)
        br, bc = (k, n) if tb == OP_N else (n, k)
        lda, ldb, ldc = max(1, ar) + int(rng.integers(0, 3)), max(1, br) + int(rng.integers(0, 3)), max(1, m) + int(rng.integers(0, 3))
        nb = batch or 1
        sa, sb, sc = lda * ac + 5, 0 if batch else ldb * bc, ldc * n + 3  # B shared across the batch (stride 0)
        A = rng.standard_normal(sa * nb + 8).astype(np.float32)
        B = rng.standard_normal(ldb * bc + 8).astype(np.float32)
        Cb = (np.full(sc * nb + 8, np.nan, np.float32) if nan_c else rng.standard_normal(sc * nb + 8).astype(np.float32))
        C0 = Cb.copy()
        if batch:
            st = L.cublasSgemmStridedBatched(h, ta, tb, m, n, k, f32(alpha), ptr(A), lda, sa, ptr(B), ldb, sb, f32(beta),
                                             ptr(Cb), ldc, sc, batch)
        else:
            st = L.cublasSgemm_v2(h, ta, tb, m, n, k, f32(alpha), ptr(A), lda, ptr(B), ldb, f32(beta), ptr(Cb), ldc)
        name = f"sgemm{'StridedBatched' if batch else ''} op=({ta},{tb}) m={m} n={n} k={k} alpha={alpha} beta={beta}{' C=NaN' if nan_c else ''}{' tf32' if tf else ''}"
        R.check(name + " status", st == CUBLAS_SUCCESS, f"status {st}")
        expected = C0.copy()
        for b in range(nb):
            a = colmajor(A, ar, ac, lda, b * sa)
            bb = colmajor(B, br, bc, ldb, b * sb)
            if tf:
                a, bb = tf32(a), tf32(bb)
            opa = torch.tensor(np.array(a), dtype=torch.float64)
            opb = torch.tensor(np.array(bb), dtype=torch.float64)
            opa = opa if ta == OP_N else opa.T
            opb = opb if tb == OP_N else opb.T
            c0 = torch.tensor(np.array(colmajor(C0, m, n, ldc, b * sc)), dtype=torch.float64)
            ref = alpha * (opa @ opb) + (beta * c0 if beta != 0 else 0)
            colmajor(expected, m, n, ldc, b * sc)[:, :] = ref.numpy()
        # the whole buffer: the m x n blocks as computed, the padding rows and gaps untouched
        R.close(name, Cb, expected, atol=1e-5, rtol=1e-5)

    for ta in (OP_N, OP_T, OP_C):
        for tb in (OP_N, OP_T, OP_C):
            m, n, k = (int(v) for v in rng.integers(1, 24, 3))
            gemm_case(ta, tb, m, n, k, 1.0, 0.0)
            gemm_case(ta, tb, m + 2, n + 1, k + 3, -0.75, 1.25)
    gemm_case(OP_T, OP_N, 17, 1, 33, 2.0, 0.0, nan_c=True)
    gemm_case(OP_N, OP_T, 5, 9, 0, 1.0, 0.5)      # k = 0: C = beta C
    gemm_case(OP_N, OP_N, 7, 3, 4, 0.0, 2.0)      # alpha = 0: A and B not needed
    gemm_case(OP_N, OP_N, 6, 5, 11, 1.0, 0.5, batch=3)
    gemm_case(OP_T, OP_T, 9, 4, 7, 1.5, 0.0, nan_c=True, batch=4)

    # Math mode: TF32 rounds A and B; the default mode does not.
    R.check("cublasSetMathMode(99) is INVALID_VALUE", L.cublasSetMathMode(h, 99) == CUBLAS_INVALID_VALUE)
    R.check("cublasSetMathMode(TF32)", L.cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH) == CUBLAS_SUCCESS)
    mode = C.c_int(-1)
    L.cublasGetMathMode(h, C.byref(mode))
    R.check("cublasGetMathMode returns TF32", mode.value == CUBLAS_TF32_TENSOR_OP_MATH)
    gemm_case(OP_N, OP_T, 13, 11, 64, 1.0, 0.0, tf=True)
    A = rng.standard_normal(64 * 64).astype(np.float32)
    Ct = np.zeros(64 * 64, np.float32)
    L.cublasSgemm_v2(h, OP_N, OP_N, 64, 64, 64, f32(1), ptr(A), 64, ptr(A), 64, f32(0), ptr(Ct), 64)
    L.cublasSetMathMode(h, CUBLAS_DEFAULT_MATH)
    Cd = np.zeros(64 * 64, np.float32)
    L.cublasSgemm_v2(h, OP_N, OP_N, 64, 64, 64, f32(1), ptr(A), 64, ptr(A), 64, f32(0), ptr(Cd), 64)
    R.check("TF32 math changes the result, default math does not round", np.abs(Ct - Cd).max() > 1e-4)

    # Argument checks of the cuBLAS documentation.
    A = np.zeros(400, np.float32)
    def st(ta=OP_N, tb=OP_N, m=4, n=4, k=4, lda=4, ldb=4, ldc=4, handle=None):
        return L.cublasSgemm_v2(h if handle is None else handle, ta, tb, m, n, k, f32(1), ptr(A), lda, ptr(A), ldb, f32(0), ptr(A), ldc)
    R.check("sgemm m < 0 is INVALID_VALUE", st(m=-1) == CUBLAS_INVALID_VALUE)
    R.check("sgemm k < 0 is INVALID_VALUE", st(k=-1) == CUBLAS_INVALID_VALUE)
    R.check("sgemm transa = 7 is INVALID_VALUE", st(ta=7) == CUBLAS_INVALID_VALUE)
    R.check("sgemm lda < m (op N) is INVALID_VALUE", st(m=5, lda=4, ldc=5) == CUBLAS_INVALID_VALUE)
    R.check("sgemm lda < k (op T) is INVALID_VALUE", st(ta=OP_T, k=6, lda=5, ldb=6) == CUBLAS_INVALID_VALUE)
    R.check("sgemm ldb < k (op N) is INVALID_VALUE", st(k=6, lda=4, ldb=5) == CUBLAS_INVALID_VALUE)
    R.check("sgemm ldb < n (op T) is INVALID_VALUE", st(tb=OP_T, n=6, ldb=5, ldc=4) == CUBLAS_INVALID_VALUE)
    R.check("sgemm ldc < m is INVALID_VALUE", st(m=4, ldc=3) == CUBLAS_INVALID_VALUE)
    R.check("sgemm ld 0 with m 0 is INVALID_VALUE (ld >= max(1, m))", st(m=0, lda=0, ldc=0) == CUBLAS_INVALID_VALUE)
    R.check("sgemm m 0 with ld 1 succeeds", st(m=0, lda=1, ldc=1) == CUBLAS_SUCCESS)
    R.check("sgemm NULL handle is NOT_INITIALIZED", st(handle=C.c_void_p(0)) == CUBLAS_NOT_INITIALIZED)
    R.check("strided batchCount < 0 is INVALID_VALUE",
            L.cublasSgemmStridedBatched(h, 0, 0, 2, 2, 2, f32(1), ptr(A), 2, 4, ptr(A), 2, 4, f32(0), ptr(A), 2, 4, -1) == CUBLAS_INVALID_VALUE)
    R.check("cublasGetStatusString(INVALID_VALUE) has text", bool(L.cublasGetStatusString(CUBLAS_INVALID_VALUE)))
    R.check("cublasDestroy_v2", L.cublasDestroy_v2(h) == CUBLAS_SUCCESS)


# ---------------------------------------------------------------------------------------------------------------
def load_dnn(path):
    L = C.CDLL(path)
    v, i, d, sz = C.c_void_p, C.c_int, C.c_double, C.c_size_t
    pv = C.POINTER(C.c_void_p)
    sig = {
        "cudnnGetVersion": ([], sz), "cudnnGetErrorString": ([i], C.c_char_p), "cudnnGetLastErrorString": ([C.c_char_p, sz], None),
        "cudnnCreate": ([pv], i), "cudnnDestroy": ([v], i), "cudnnSetStream": ([v, v], i), "cudnnGetStream": ([v, pv], i),
        "cudnnCreateTensorDescriptor": ([pv], i), "cudnnDestroyTensorDescriptor": ([v], i),
        "cudnnSetTensor4dDescriptor": ([v, i, i, i, i, i, i], i),
        "cudnnSetTensor4dDescriptorEx": ([v, i, i, i, i, i, i, i, i, i], i),
        "cudnnCreateFilterDescriptor": ([pv], i), "cudnnDestroyFilterDescriptor": ([v], i),
        "cudnnSetFilter4dDescriptor": ([v, i, i, i, i, i, i], i),
        "cudnnCreateConvolutionDescriptor": ([pv], i), "cudnnDestroyConvolutionDescriptor": ([v], i),
        "cudnnSetConvolution2dDescriptor": ([v, i, i, i, i, i, i, i, i], i),
        "cudnnSetConvolutionGroupCount": ([v, i], i), "cudnnSetConvolutionMathType": ([v, i], i),
        "cudnnFindConvolutionForwardAlgorithmEx": ([v, v, v, v, v, v, v, v, i, C.POINTER(C.c_int), C.POINTER(AlgoPerf), v, sz], i),
        "cudnnFindConvolutionBackwardDataAlgorithmEx": ([v, v, v, v, v, v, v, v, i, C.POINTER(C.c_int), C.POINTER(AlgoPerf), v, sz], i),
        "cudnnFindConvolutionBackwardFilterAlgorithmEx": ([v, v, v, v, v, v, v, v, i, C.POINTER(C.c_int), C.POINTER(AlgoPerf), v, sz], i),
        "cudnnConvolutionForward": ([v, v, v, v, v, v, v, i, v, sz, v, v, v], i),
        "cudnnConvolutionBackwardData": ([v, v, v, v, v, v, v, i, v, sz, v, v, v], i),
        "cudnnConvolutionBackwardFilter": ([v, v, v, v, v, v, v, i, v, sz, v, v, v], i),
        "cudnnConvolutionBackwardBias": ([v, v, v, v, v, v, v], i),
        "cudnnAddTensor": ([v, v, v, v, v, v, v], i),
        "cudnnCreatePoolingDescriptor": ([pv], i), "cudnnDestroyPoolingDescriptor": ([v], i),
        "cudnnSetPooling2dDescriptor": ([v, i, i, i, i, i, i, i, i], i),
        "cudnnPoolingForward": ([v, v, v, v, v, v, v, v], i),
        "cudnnPoolingBackward": ([v, v, v, v, v, v, v, v, v, v, v, v], i),
        "cudnnBatchNormalizationForwardTraining": ([v, i, v, v, v, v, v, v, v, v, v, d, v, v, d, v, v], i),
        "cudnnBatchNormalizationForwardInference": ([v, i, v, v, v, v, v, v, v, v, v, v, v, d], i),
        "cudnnBatchNormalizationBackward": ([v, i, v, v, v, v, v, v, v, v, v, v, v, v, v, v, d, v, v], i),
    }
    for name, (args, res) in sig.items():
        fn = getattr(L, name)
        fn.argtypes, fn.restype = args, res
    return L


class Dnn:
    """Descriptor helpers over the fake cuDNN; every descriptor made is destroyed by close()."""

    def __init__(self, L):
        self.L, self.made = L, []
        self.h = C.c_void_p()
        assert L.cudnnCreate(C.byref(self.h)) == OK

    def _new(self, kind):
        d = C.c_void_p()
        assert getattr(self.L, f"cudnnCreate{kind}Descriptor")(C.byref(d)) == OK
        self.made.append((kind, d))
        return d

    def tensor(self, shape, layout="nchw"):
        d = self._new("Tensor")
        n, c, hh, w = shape
        if layout == "nchw":
            st = self.L.cudnnSetTensor4dDescriptor(d, NCHW, DATA_FLOAT, n, c, hh, w)
        elif layout == "nhwc":
            st = self.L.cudnnSetTensor4dDescriptorEx(d, DATA_FLOAT, n, c, hh, w, hh * w * c, 1, w * c, c)
        else:  # padded rows: every row of w values followed by 3 unused floats
            st = self.L.cudnnSetTensor4dDescriptorEx(d, DATA_FLOAT, n, c, hh, w, c * hh * (w + 3), hh * (w + 3), w + 3, 1)
        assert st == OK, st
        return d

    def filter(self, shape, fmt=NCHW):
        d = self._new("Filter")
        assert self.L.cudnnSetFilter4dDescriptor(d, DATA_FLOAT, fmt, *shape) == OK
        return d

    def conv(self, pad, stride, dil, mode, groups, math):
        d = self._new("Convolution")
        assert self.L.cudnnSetConvolution2dDescriptor(d, *pad, *stride, *dil, mode, DATA_FLOAT) == OK
        assert self.L.cudnnSetConvolutionGroupCount(d, groups) == OK
        assert self.L.cudnnSetConvolutionMathType(d, math) == OK
        return d

    def pool(self, mode, win, pad, stride, nan=PROPAGATE_NAN):
        d = self._new("Pooling")
        assert self.L.cudnnSetPooling2dDescriptor(d, mode, nan, *win, *pad, *stride) == OK
        return d

    def close(self):
        for kind, d in reversed(self.made):
            getattr(self.L, f"cudnnDestroy{kind}Descriptor")(d)
        self.L.cudnnDestroy(self.h)


class Buf:
    """A float32 4-d tensor in a host buffer laid out as a descriptor says (nchw, nhwc or padded rows)."""

    def __init__(self, shape, layout="nchw", fill=None, rng=None):
        self.shape, self.layout = shape, layout
        n, c, h, w = shape
        size = {"nchw": n * c * h * w, "nhwc": n * c * h * w, "padded": n * c * h * (w + 3)}[layout]
        self.data = (np.full(size + 16, np.nan, np.float32) if fill is None else np.full(size + 16, fill, np.float32))
        if rng is not None:
            self.set(torch.tensor(rng.standard_normal(shape)))

    def view(self):
        n, c, h, w = self.shape
        if self.layout == "nchw":
            return self.data[: n * c * h * w].reshape(n, c, h, w)
        if self.layout == "nhwc":
            return self.data[: n * c * h * w].reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return self.data[: n * c * h * (w + 3)].reshape(n, c, h, w + 3)[..., :w]

    def t(self):
        return torch.tensor(np.array(self.view()), dtype=torch.float64)

    def set(self, t):
        self.view()[...] = np.asarray(t, dtype=np.float32)

    def guard_ok(self):
        return np.isnan(self.data[-16:]).all() or (self.data[-16:] == self.data[-1]).all()


def check_conv(D, R, rng, case):
    N, Cin, H, W, K, G, (kh, kw), pad, stride, dil, mode, layout = case
    L, h = D.L, D.h
    name = f"conv N{N} C{Cin} {H}x{W} K{K} G{G} {kh}x{kw} pad{pad} stride{stride} dil{dil} {'conv' if mode == CONVOLUTION else 'xcorr'} {layout}"
    OH = (H + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    OW = (W + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    xd, yd = D.tensor((N, Cin, H, W), layout), D.tensor((N, K, OH, OW), layout)
    wd, cd = D.filter((K, Cin // G, kh, kw)), D.conv(pad, stride, dil, mode, G, FMA_MATH)
    x, w = Buf((N, Cin, H, W), layout, rng=rng), Buf((K, Cin // G, kh, kw), rng=rng)
    dy = Buf((N, K, OH, OW), layout, rng=rng)
    ws = np.zeros(1 << 20, np.uint8)

    xt, wt = x.t().requires_grad_(), w.t().requires_grad_()
    weff = torch.flip(wt, dims=(2, 3)) if mode == CONVOLUTION else wt
    yt = F.conv2d(xt, weff, stride=stride, padding=pad, dilation=dil, groups=G)
    yt.backward(dy.t())

    def best(find, count, *args):
        perf = (AlgoPerf * 16)()
        n = C.c_int(-1)
        st = find(h, *args, 16, C.byref(n), perf, ptr(ws), ws.nbytes)
        R.check(f"{name} {find.__name__} status", st == OK, f"status {st}")
        R.check(f"{name} {find.__name__} returns every algorithm of the enum", n.value == count, f"{n.value} of {count}")
        ok = [p for p in perf[: max(n.value, 0)] if p.status == OK]
        R.check(f"{name} {find.__name__} successes first, by time",
                all(p.status == OK for p in perf[: len(ok)]) and all(ok[i].time <= ok[i + 1].time for i in range(len(ok) - 1)))
        R.check(f"{name} {find.__name__} math type", all(p.mathType == FMA_MATH for p in perf[: n.value]))
        return ok[0]

    # (pass, its Find and execute calls, Find's algorithm count, output shape / layout / descriptor, the other two
    # operands as Find and execute take them, the float64 reference of the result)
    passes = [
        ("forward", L.cudnnFindConvolutionForwardAlgorithmEx, L.cudnnConvolutionForward, FWD_ALGO_COUNT,
         (N, K, OH, OW), layout, yd, (xd, ptr(x.data), wd, ptr(w.data)), yt.detach()),
        ("backward data", L.cudnnFindConvolutionBackwardDataAlgorithmEx, L.cudnnConvolutionBackwardData, BWD_DATA_ALGO_COUNT,
         (N, Cin, H, W), layout, xd, (wd, ptr(w.data), yd, ptr(dy.data)), xt.grad),
        ("backward filter", L.cudnnFindConvolutionBackwardFilterAlgorithmEx, L.cudnnConvolutionBackwardFilter, BWD_FILTER_ALGO_COUNT,
         (K, Cin // G, kh, kw), "nchw", wd, (xd, ptr(x.data), yd, ptr(dy.data)), wt.grad),
    ]
    for alpha, beta in ((1.0, 0.0), (0.5, -1.5)):
        tag = f"{name} alpha={alpha} beta={beta}"
        for what, find, run, count, oshape, olayout, od, ins, ref in passes:
            out = Buf(oshape, olayout, rng=None if beta == 0 else rng)  # beta 0: the output starts as NaN
            out0 = out.t()
            p = best(find, count, *ins, cd, od, ptr(out.data))
            out.set(out0)
            st = run(h, f32(alpha), *ins, cd, p.algo, ptr(ws), p.memory, f32(beta), od, ptr(out.data))
            R.check(f"{tag} {what} status", st == OK, f"status {st}")
            R.close(f"{tag} {what}", out.t(), alpha * ref + (beta * out0 if beta else 0))
            R.check(f"{tag} {what} guard", out.guard_ok())
        # backward bias
        bd = D.tensor((1, K, 1, 1))
        db = Buf((1, K, 1, 1), rng=None if beta == 0 else rng)
        db0 = db.t()
        st = L.cudnnConvolutionBackwardBias(h, f32(alpha), yd, ptr(dy.data), f32(beta), bd, ptr(db.data))
        R.check(f"{tag} backward bias status", st == OK, f"status {st}")
        R.close(f"{tag} backward bias", db.t(), alpha * dy.t().sum(dim=(0, 2, 3), keepdim=True) + (beta * db0 if beta else 0))


def check_conv_api(D, R, rng):
    """Find / execute semantics and the descriptor checks, on one small convolution."""
    L, h = D.L, D.h
    xd, yd, wd = D.tensor((2, 4, 6, 6)), D.tensor((2, 6, 6, 6)), D.filter((6, 2, 3, 3))
    cd = D.conv((1, 1), (1, 1), (1, 1), CROSS_CORRELATION, 2, FMA_MATH)
    x, w, y = Buf((2, 4, 6, 6), rng=rng), Buf((6, 2, 3, 3), rng=rng), Buf((2, 6, 6, 6))
    perf = (AlgoPerf * 16)()
    n = C.c_int(-1)
    R.check("AlgoPerf is 48 bytes as cudnn_cnn.h lays it out", C.sizeof(AlgoPerf) == 48 and AlgoPerf.memory.offset == 16)
    st = L.cudnnFindConvolutionForwardAlgorithmEx(h, xd, ptr(x.data), wd, ptr(w.data), cd, yd, ptr(y.data), 2, C.byref(n), perf, None, 0)
    R.check("Find requested 2 returns 2", st == OK and n.value == 2, f"status {st}, returned {n.value}")
    st = L.cudnnFindConvolutionForwardAlgorithmEx(h, xd, ptr(x.data), wd, ptr(w.data), cd, yd, ptr(y.data), 16, C.byref(n), perf, None, 0)
    gemm = [p for p in perf[: n.value] if p.algo == 2]
    R.check("Find without workspace: the GEMM algorithm is ALLOC_FAILED with its size", len(gemm) == 1 and gemm[0].status == ALLOC_FAILED and gemm[0].memory > 0)
    R.check("Find lists unimplemented algorithms as NOT_SUPPORTED last", perf[n.value - 1].status == NOT_SUPPORTED)
    R.check("Find requestedAlgoCount 0 is BAD_PARAM",
            L.cudnnFindConvolutionForwardAlgorithmEx(h, xd, ptr(x.data), wd, ptr(w.data), cd, yd, ptr(y.data), 0, C.byref(n), perf, None, 0) == BAD_PARAM)
    one, zero = f32(1), f32(0)
    ws = np.zeros(1 << 20, np.uint8)  # kept alive: the fake writes into the workspace it is given
    fwd = lambda algo, wsz, ydesc=yd, xdesc=xd, wdesc=wd: L.cudnnConvolutionForward(
        h, one, xdesc, ptr(x.data), wdesc, ptr(w.data), cd, algo, ptr(ws) if wsz else None, wsz, zero, ydesc, ptr(y.data))
    R.check("ConvolutionForward GEMM without its workspace is BAD_PARAM", fwd(2, 0) == BAD_PARAM)
    R.check("ConvolutionForward GEMM with its workspace succeeds", fwd(2, int(gemm[0].memory)) == OK)
    R.check("ConvolutionForward an unimplemented algorithm is NOT_SUPPORTED", fwd(4, 0) == NOT_SUPPORTED)
    R.check("ConvolutionForward algorithm 99 is BAD_PARAM", fwd(99, 0) == BAD_PARAM)
    R.check("ConvolutionForward wrong y shape is BAD_PARAM", fwd(0, 0, ydesc=D.tensor((2, 6, 5, 6))) == BAD_PARAM)
    R.check("ConvolutionForward channels not matching groups is BAD_PARAM", fwd(0, 0, xdesc=D.tensor((2, 3, 6, 6))) == BAD_PARAM)
    R.check("ConvolutionForward a tensor descriptor as filter is BAD_PARAM", fwd(0, 0, wdesc=xd) == BAD_PARAM)
    msg = C.create_string_buffer(256)
    L.cudnnGetLastErrorString(msg, 256)
    R.check("cudnnGetLastErrorString names the call", b"cudnnConvolutionForward" in msg.value, msg.value.decode())
    hd = D.tensor((2, 4, 6, 6))
    assert L.cudnnSetTensor4dDescriptor(hd, NCHW, DATA_HALF, 2, 4, 6, 6) == OK
    R.check("half data is NOT_SUPPORTED by the fake", fwd(0, 0, xdesc=hd) == NOT_SUPPORTED)
    bad = D._new("Convolution")
    R.check("SetConvolution2d stride 0 is BAD_PARAM", L.cudnnSetConvolution2dDescriptor(bad, 0, 0, 0, 1, 1, 1, 1, DATA_FLOAT) == BAD_PARAM)
    R.check("SetConvolution2d pad -1 is BAD_PARAM", L.cudnnSetConvolution2dDescriptor(bad, -1, 0, 1, 1, 1, 1, 1, DATA_FLOAT) == BAD_PARAM)
    R.check("SetConvolution2d dilation 0 is BAD_PARAM", L.cudnnSetConvolution2dDescriptor(bad, 0, 0, 1, 1, 0, 1, 1, DATA_FLOAT) == BAD_PARAM)
    R.check("SetConvolution2d mode 2 is BAD_PARAM", L.cudnnSetConvolution2dDescriptor(bad, 0, 0, 1, 1, 1, 1, 2, DATA_FLOAT) == BAD_PARAM)
    R.check("SetConvolutionGroupCount 0 is BAD_PARAM", L.cudnnSetConvolutionGroupCount(bad, 0) == BAD_PARAM)
    R.check("SetConvolutionMathType 4 is BAD_PARAM", L.cudnnSetConvolutionMathType(bad, 4) == BAD_PARAM)
    td = D._new("Tensor")
    R.check("SetTensor4d n = 0 is BAD_PARAM", L.cudnnSetTensor4dDescriptor(td, NCHW, DATA_FLOAT, 0, 1, 1, 1) == BAD_PARAM)
    R.check("SetTensor4d format 7 is BAD_PARAM", L.cudnnSetTensor4dDescriptor(td, 7, DATA_FLOAT, 1, 1, 1, 1) == BAD_PARAM)
    R.check("SetTensor4d dataType 42 is BAD_PARAM", L.cudnnSetTensor4dDescriptor(td, NCHW, 42, 1, 1, 1, 1) == BAD_PARAM)
    R.check("SetTensor4dEx negative stride is BAD_PARAM", L.cudnnSetTensor4dDescriptorEx(td, DATA_FLOAT, 1, 1, 1, 2, 2, 2, 2, -1) == BAD_PARAM)

    # TF32: DEFAULT math rounds the inputs to TF32 (tensor cores on Ampere and later), FMA math does not.
    tf_cd = D.conv((1, 1), (1, 1), (1, 1), CROSS_CORRELATION, 2, DEFAULT_MATH)
    st = L.cudnnConvolutionForward(h, one, xd, ptr(x.data), wd, ptr(w.data), tf_cd, 0, None, 0, zero, yd, ptr(y.data))
    ref = F.conv2d(torch.tensor(tf32(x.view()), dtype=torch.float64), torch.tensor(tf32(w.view()), dtype=torch.float64), padding=1, groups=2)
    R.check("DEFAULT math forward status", st == OK)
    R.close("DEFAULT math convolution is TF32-rounded", y.t(), ref, atol=1e-5, rtol=1e-5)
    exact = F.conv2d(x.t(), w.t(), padding=1, groups=2)
    R.check("DEFAULT math differs from exact float", (y.t() - exact).abs().max().item() > 1e-5)


def check_add_tensor(D, R, rng):
    L, h = D.L, D.h
    shape = (3, 4, 5, 6)
    cdsc = D.tensor(shape)
    for ashape in ((1, 4, 1, 1), (3, 4, 1, 1), (1, 1, 5, 6), (1, 4, 5, 6), shape, (1, 1, 1, 1)):
        for alpha, beta in ((1.0, 1.0), (0.5, 0.0), (-2.0, 0.25)):
            a = Buf(ashape, rng=rng)
            c = Buf(shape, rng=None if beta == 0 else rng)
            c0 = c.t()
            st = L.cudnnAddTensor(h, f32(alpha), D.tensor(ashape), ptr(a.data), f32(beta), cdsc, ptr(c.data))
            R.check(f"cudnnAddTensor A{ashape} alpha={alpha} beta={beta} status", st == OK, f"status {st}")
            R.close(f"cudnnAddTensor A{ashape} alpha={alpha} beta={beta}", c.t(), (alpha * a.t()).expand(shape) + (beta * c0 if beta else 0))
    a, c = Buf((2, 4, 1, 1), rng=rng), Buf(shape, fill=0)
    R.check("cudnnAddTensor A (2, 4, 1, 1) onto N = 3 is BAD_PARAM",
            L.cudnnAddTensor(h, f32(1), D.tensor((2, 4, 1, 1)), ptr(a.data), f32(1), cdsc, ptr(c.data)) == BAD_PARAM)


def check_pooling(D, R, rng):
    L, h = D.L, D.h
    cases = [((2, 3, 7, 8), (3, 3), (1, 1), (2, 2)), ((1, 2, 9, 5), (2, 3), (1, 1), (2, 1)), ((2, 2, 6, 6), (2, 2), (0, 0), (2, 2)),
             ((1, 3, 1, 17), (1, 5), (0, 2), (1, 3)), ((3, 1, 10, 11), (4, 3), (2, 1), (3, 2))]
    for shape, win, pad, stride in cases:
        N, Cc, H, W = shape
        OH, OW = 1 + (H + 2 * pad[0] - win[0]) // stride[0], 1 + (W + 2 * pad[1] - win[1]) // stride[1]
        for mode in (POOL_MAX, POOL_AVG_INCLUDE, POOL_AVG_EXCLUDE, POOL_MAX_DET):
            for alpha, beta in ((1.0, 0.0), (0.75, 0.5)):
                name = f"pooling mode {mode} {shape} win{win} pad{pad} stride{stride} alpha={alpha} beta={beta}"
                pd, xd, yd = D.pool(mode, win, pad, stride), D.tensor(shape), D.tensor((N, Cc, OH, OW))
                x = Buf(shape, rng=rng)
                xt = x.t().requires_grad_()
                if mode in (POOL_MAX, POOL_MAX_DET):
                    yt = F.max_pool2d(xt, win, stride, pad)
                else:
                    yt = F.avg_pool2d(xt, win, stride, pad, count_include_pad=mode == POOL_AVG_INCLUDE)
                dy = Buf((N, Cc, OH, OW), rng=rng)
                yt.backward(dy.t())
                y = Buf((N, Cc, OH, OW), rng=None if beta == 0 else rng)
                y0 = y.t()
                st = L.cudnnPoolingForward(h, pd, f32(alpha), xd, ptr(x.data), f32(beta), yd, ptr(y.data))
                R.check(name + " forward status", st == OK, f"status {st}")
                R.close(name + " forward", y.t(), alpha * yt.detach() + (beta * y0 if beta else 0))
                yplain = Buf((N, Cc, OH, OW))
                L.cudnnPoolingForward(h, pd, f32(1), xd, ptr(x.data), f32(0), yd, ptr(yplain.data))
                dx = Buf(shape, rng=None if beta == 0 else rng)
                dx0 = dx.t()
                st = L.cudnnPoolingBackward(h, pd, f32(alpha), yd, ptr(yplain.data), yd, ptr(dy.data), xd, ptr(x.data), f32(beta), xd, ptr(dx.data))
                R.check(name + " backward status", st == OK, f"status {st}")
                R.close(name + " backward", dx.t(), alpha * xt.grad + (beta * dx0 if beta else 0))
    # output size rule and NaN propagation
    pd, xd = D.pool(POOL_MAX, (2, 2), (0, 0), (2, 2)), D.tensor((1, 1, 4, 4))
    x, y = Buf((1, 1, 4, 4), rng=rng), Buf((1, 1, 3, 2))
    R.check("PoolingForward y not of the output size rule is BAD_PARAM",
            L.cudnnPoolingForward(h, pd, f32(1), xd, ptr(x.data), f32(0), D.tensor((1, 1, 3, 2)), ptr(y.data)) == BAD_PARAM)
    x.view()[0, 0, 1, 1] = np.nan
    y = Buf((1, 1, 2, 2))
    L.cudnnPoolingForward(h, pd, f32(1), xd, ptr(x.data), f32(0), D.tensor((1, 1, 2, 2)), ptr(y.data))
    R.check("max pooling with PROPAGATE_NAN gives NaN for the window", np.isnan(y.view()[0, 0, 0, 0]) and np.isfinite(y.view()[0, 0, 1, 1]))
    pd2 = D.pool(POOL_MAX, (2, 2), (0, 0), (2, 2), nan=NOT_PROPAGATE_NAN)
    L.cudnnPoolingForward(h, pd2, f32(1), xd, ptr(x.data), f32(0), D.tensor((1, 1, 2, 2)), ptr(y.data))
    R.check("max pooling with NOT_PROPAGATE_NAN skips the NaN", np.isfinite(y.view()).all()
            and y.view()[0, 0, 0, 0] == np.nanmax(x.view()[0, 0, :2, :2]))
    bad = D._new("Pooling")
    R.check("SetPooling2d stride 0 is BAD_PARAM", L.cudnnSetPooling2dDescriptor(bad, POOL_MAX, PROPAGATE_NAN, 2, 2, 0, 0, 0, 1) == BAD_PARAM)
    R.check("SetPooling2d mode 9 is BAD_PARAM", L.cudnnSetPooling2dDescriptor(bad, 9, PROPAGATE_NAN, 2, 2, 0, 0, 1, 1) == BAD_PARAM)


def check_batch_norm(D, R, rng):
    L, h = D.L, D.h
    for mode in (BN_SPATIAL, BN_PER_ACTIVATION, BN_SPATIAL_PERSISTENT):
        for shape in ((4, 3, 5, 2), (2, 5, 1, 7), (6, 2, 1, 1)):
            N, Cc, H, W = shape
            pshape = (1, Cc, 1, 1) if mode != BN_PER_ACTIVATION else (1, Cc, H, W)
            xd, pd = D.tensor(shape), D.tensor(pshape)
            eps, factor = 1e-3, 0.3
            for alpha, beta in ((1.0, 0.0), (0.5, 2.0)):
                name = f"batch norm mode {mode} {shape} alpha={alpha} beta={beta}"
                x = Buf(shape)
                x.set(torch.tensor(rng.standard_normal(shape) * 2 + 0.5))
                scale, bias = Buf(pshape, rng=rng), Buf(pshape, rng=rng)
                rmean, rvar = Buf(pshape, rng=rng), Buf(pshape)
                rvar.set(torch.tensor(rng.uniform(0.5, 2, pshape)))
                rm0, rv0 = rmean.t(), rvar.t()
                smean, sinv = Buf(pshape), Buf(pshape)
                y = Buf(shape, rng=None if beta == 0 else rng)
                y0 = y.t()
                st = L.cudnnBatchNormalizationForwardTraining(h, mode, f32(alpha), f32(beta), xd, ptr(x.data), xd, ptr(y.data), pd,
                                                              ptr(scale.data), ptr(bias.data), factor, ptr(rmean.data), ptr(rvar.data),
                                                              eps, ptr(smean.data), ptr(sinv.data))
                R.check(name + " training status", st == OK, f"status {st}")
                # reference: features = channels (spatial) or every (c, h, w) (per activation)
                xt = x.t().requires_grad_()
                sc, bi = scale.t().requires_grad_(), bias.t().requires_grad_()
                flat = (lambda t: t.reshape(1, -1)) if mode == BN_PER_ACTIVATION else (lambda t: t.reshape(-1))
                xin = xt.reshape(N, -1) if mode == BN_PER_ACTIVATION else xt
                rm_ref, rv_ref = flat(rm0).reshape(-1).clone(), flat(rv0).reshape(-1).clone()
                yt = F.batch_norm(xin, rm_ref, rv_ref, sc.reshape(-1), bi.reshape(-1), training=True, momentum=factor, eps=eps).reshape(shape)
                R.close(name + " y", y.t(), alpha * yt.detach() + (beta * y0 if beta else 0))
                R.close(name + " running mean", rmean.t().reshape(-1), rm_ref)
                R.close(name + " running variance (unbiased)", rvar.t().reshape(-1), rv_ref)
                dims = (0,) if mode == BN_PER_ACTIVATION else (0, 2, 3)
                bmean, bvar = x.t().mean(dim=dims), x.t().var(dim=dims, unbiased=False)
                R.close(name + " saveMean", smean.t().reshape(-1), bmean.reshape(-1))
                R.close(name + " saveInvVariance = 1/sqrt(biased var + eps)", sinv.t().reshape(-1), (1 / torch.sqrt(bvar + eps)).reshape(-1))
                # backward, from the saved statistics and (second pass) recomputing them
                dy = Buf(shape, rng=rng)
                yt.backward(dy.t())
                for saved in (True, False):
                    tag = f"{name} backward {'saved' if saved else 'recomputed'} stats"
                    dx = Buf(shape, rng=None if beta == 0 else rng)
                    dsc, dbi = Buf(pshape, rng=None if beta == 0 else rng), Buf(pshape, rng=None if beta == 0 else rng)
                    dx0, dsc0, dbi0 = dx.t(), dsc.t(), dbi.t()
                    ad, bd, ap, bp = alpha, beta, 1.5 * alpha, 0.5 * beta
                    st = L.cudnnBatchNormalizationBackward(h, mode, f32(ad), f32(bd), f32(ap), f32(bp), xd, ptr(x.data), xd, ptr(dy.data), xd,
                                                           ptr(dx.data), pd, ptr(scale.data), ptr(dsc.data), ptr(dbi.data), eps,
                                                           ptr(smean.data) if saved else None, ptr(sinv.data) if saved else None)
                    R.check(tag + " status", st == OK, f"status {st}")
                    R.close(tag + " dx", dx.t(), ad * xt.grad + (bd * dx0 if bd else 0), atol=2e-4, rtol=2e-4)
                    R.close(tag + " dScale", dsc.t(), ap * sc.grad + (bp * dsc0 if bp else 0), atol=2e-4, rtol=2e-4)
                    R.close(tag + " dBias", dbi.t(), ap * bi.grad + (bp * dbi0 if bp else 0), atol=2e-4, rtol=2e-4)
                # inference with the running statistics
                y = Buf(shape, rng=None if beta == 0 else rng)
                y0 = y.t()
                st = L.cudnnBatchNormalizationForwardInference(h, mode, f32(alpha), f32(beta), xd, ptr(x.data), xd, ptr(y.data), pd,
                                                               ptr(scale.data), ptr(bias.data), ptr(rmean.data), ptr(rvar.data), eps)
                R.check(name + " inference status", st == OK, f"status {st}")
                ref = F.batch_norm(x.t().reshape(N, -1) if mode == BN_PER_ACTIVATION else x.t(), rmean.t().reshape(-1), rvar.t().reshape(-1),
                                   scale.t().reshape(-1), bias.t().reshape(-1), training=False, eps=eps).reshape(shape)
                R.close(name + " inference", y.t(), alpha * ref + (beta * y0 if beta else 0))
    # documented rejections
    shape, pshape = (4, 3, 2, 2), (1, 3, 1, 1)
    xd, pd = D.tensor(shape), D.tensor(pshape)
    x, y, p1, p2 = Buf(shape, rng=rng), Buf(shape), Buf(pshape, fill=1), Buf(pshape, fill=0)
    def train(eps=1e-5, rm=p1.data, rv=p2.data, pdesc=pd, mode=BN_SPATIAL):
        return L.cudnnBatchNormalizationForwardTraining(h, mode, f32(1), f32(0), xd, ptr(x.data), xd, ptr(y.data), pdesc, ptr(p1.data),
                                                        ptr(p2.data), 0.1, ptr(rm), ptr(rv), eps, None, None)
    R.check("BN training without any running statistics succeeds", train(rm=None, rv=None) == OK)
    R.check("BN training epsilon < CUDNN_BN_MIN_EPSILON (0 in cuDNN 9) is BAD_PARAM", train(eps=-1e-3) == BAD_PARAM)
    R.check("BN training with only a running mean is BAD_PARAM", train(rv=None) == BAD_PARAM)
    R.check("BN spatial with a (1, C, H, W) parameter tensor is BAD_PARAM", train(pdesc=D.tensor((1, 3, 2, 2))) == BAD_PARAM)
    R.check("BN mode 5 is BAD_PARAM", train(mode=5) == BAD_PARAM)


def check_dnn(L, R, rng):
    v = L.cudnnGetVersion()
    R.check("cudnnGetVersion is 9.x (90x00)", 90000 <= v < 100000 and v % 100 == 0, str(v))
    R.check("cudnnGetErrorString(BAD_PARAM)", L.cudnnGetErrorString(BAD_PARAM) == b"CUDNN_STATUS_BAD_PARAM")
    R.check("cudnnGetErrorString(NOT_SUPPORTED)", L.cudnnGetErrorString(NOT_SUPPORTED) == b"CUDNN_STATUS_NOT_SUPPORTED")
    D = Dnn(L)
    s = C.c_void_p()
    L.cudnnSetStream(D.h, C.c_void_p(0x7171))
    L.cudnnGetStream(D.h, C.byref(s))
    R.check("cudnnSetStream stores the stream", s.value == 0x7171)
    X, CC = CROSS_CORRELATION, CONVOLUTION
    cases = [  # N, C, H, W, K, G, (kh, kw), pad, stride, dilation, mode, layout
        (2, 3, 7, 9, 4, 1, (3, 3), (1, 1), (1, 1), (1, 1), X, "nchw"),
        (1, 4, 8, 5, 6, 2, (3, 2), (0, 1), (2, 1), (1, 2), X, "nchw"),
        (2, 6, 9, 9, 6, 6, (3, 3), (1, 1), (2, 2), (1, 1), X, "nchw"),       # depthwise
        (1, 3, 10, 7, 6, 3, (3, 3), (2, 1), (1, 1), (2, 1), X, "nchw"),      # depthwise, multiplier 2, dilated
        (3, 5, 1, 11, 7, 1, (1, 1), (0, 0), (1, 1), (1, 1), X, "nchw"),      # pointwise
        (2, 4, 1, 20, 8, 1, (1, 5), (0, 2), (1, 3), (1, 2), X, "nchw"),      # 1-d as H = 1
        (2, 3, 6, 6, 2, 1, (3, 2), (1, 0), (1, 1), (1, 1), CC, "nchw"),      # true convolution: filter flipped
        (1, 6, 7, 5, 9, 3, (2, 3), (1, 1), (2, 1), (1, 2), CC, "nchw"),
        (2, 4, 5, 7, 6, 2, (3, 3), (1, 2), (1, 2), (1, 1), X, "nhwc"),       # NHWC strides via Tensor4dDescriptorEx
        (1, 3, 6, 5, 3, 3, (3, 3), (1, 1), (1, 1), (1, 1), X, "padded"),     # padded rows
    ]
    for _ in range(6):  # random odd shapes
        G = int(rng.choice([1, 2, 3]))
        Cin, K = G * int(rng.integers(1, 4)), G * int(rng.integers(1, 4))
        kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dil = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pad = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        H = dil[0] * (kh - 1) + 1 + int(rng.integers(0, 8))
        W = dil[1] * (kw - 1) + 1 + int(rng.integers(0, 8))
        cases.append((int(rng.integers(1, 4)), Cin, H, W, K, G, (kh, kw), pad, stride, dil, int(rng.choice([X, CC])), "nchw"))
    for case in cases:
        check_conv(D, R, rng, case)
    check_conv_api(D, R, rng)
    check_add_tensor(D, R, rng)
    check_pooling(D, R, rng)
    check_batch_norm(D, R, rng)
    D.close()


# ---------------------------------------------------------------------------------------------------------------
class LtHeuristic(C.Structure):
    """cublasLtMatmulHeuristicResult_t as cublasLt.h declares it (algo = uint64_t data[8])."""
    _fields_ = [("algo", C.c_uint64 * 8), ("workspaceSize", C.c_size_t), ("state", C.c_int), ("wavesCount", C.c_float),
                ("reserved", C.c_int * 4)]


def load_lt(path):
    L = C.CDLL(path)
    v, i, sz = C.c_void_p, C.c_int, C.c_size_t
    pv = C.POINTER(C.c_void_p)
    L.cublasLtCreate.argtypes = [pv]
    L.cublasLtDestroy.argtypes = [v]
    L.cublasLtGetStatusString.argtypes = [i]
    L.cublasLtGetStatusString.restype = C.c_char_p
    L.cublasLtMatmulDescCreate.argtypes = [pv, i, i]
    L.cublasLtMatmulDescDestroy.argtypes = [v]
    L.cublasLtMatmulDescSetAttribute.argtypes = [v, i, v, sz]
    L.cublasLtMatrixLayoutCreate.argtypes = [pv, i, C.c_uint64, C.c_uint64, C.c_int64]
    L.cublasLtMatrixLayoutDestroy.argtypes = [v]
    L.cublasLtMatmulPreferenceCreate.argtypes = [pv]
    L.cublasLtMatmulPreferenceDestroy.argtypes = [v]
    L.cublasLtMatmulPreferenceSetAttribute.argtypes = [v, i, v, sz]
    L.cublasLtMatmulAlgoGetHeuristic.argtypes = [v, v, v, v, v, v, v, i, C.POINTER(LtHeuristic), C.POINTER(C.c_int)]
    L.cublasLtMatmul.argtypes = [v, v, v, v, v, v, v, v, v, v, v, v, C.POINTER(LtHeuristic), v, sz, v]
    return L


def check_lt(L, R, rng):
    R.check("cublasLtMatmulHeuristicResult_t is 96 bytes", C.sizeof(LtHeuristic) == 96)
    h = C.c_void_p()
    R.check("cublasLtCreate", L.cublasLtCreate(C.byref(h)) == CUBLAS_SUCCESS)

    def new(create, *args):
        o = C.c_void_p()
        st = create(C.byref(o), *args)
        assert st == CUBLAS_SUCCESS, st
        return o

    def set_attr(fn, obj, attr, value, ctype):
        val = ctype(value)
        return fn(obj, attr, C.byref(val), C.sizeof(val))

    def desc(ta, tb, epi, bias=None, compute=COMPUTE_32F):
        d = new(L.cublasLtMatmulDescCreate, compute, CUDA_R_32F)
        set_attr(L.cublasLtMatmulDescSetAttribute, d, DESC_TRANSA, ta, C.c_int32)
        set_attr(L.cublasLtMatmulDescSetAttribute, d, DESC_TRANSB, tb, C.c_int32)
        set_attr(L.cublasLtMatmulDescSetAttribute, d, DESC_EPILOGUE, epi, C.c_uint32)
        if bias is not None:
            set_attr(L.cublasLtMatmulDescSetAttribute, d, DESC_BIAS_POINTER, bias.ctypes.data, C.c_uint64)
        return d

    def layout(rows, cols, ld):
        return new(L.cublasLtMatrixLayoutCreate, CUDA_R_32F, rows, cols, ld)

    # numpy buffers are not 256-byte aligned (the default the heuristic assumes), so the checks declare 4-byte operands.
    def pref(max_ws, align=(4, 4, 4, 4)):
        p = new(L.cublasLtMatmulPreferenceCreate)
        set_attr(L.cublasLtMatmulPreferenceSetAttribute, p, PREF_MAX_WORKSPACE_BYTES, max_ws, C.c_uint64)
        for i, a in enumerate(align):
            if a is not None:
                set_attr(L.cublasLtMatmulPreferenceSetAttribute, p, PREF_MIN_ALIGNMENT_A_BYTES + i, a, C.c_uint32)
        return p

    def heuristic(d, la, lb, lc, ld_, p):
        res, n = LtHeuristic(), C.c_int(-1)
        st = L.cublasLtMatmulAlgoGetHeuristic(h, d, la, lb, lc, ld_, p, 1, C.byref(res), C.byref(n))
        return st, n.value, res

    # The op pairs, padded leading dims, each epilogue the fake computes, beta over a separate C, TF32; the reference is
    # torch in float64: D = alpha op(A) op(B) + beta C (+ bias per row) (then ReLU).
    def case(ta, tb, m, n, k, epi, alpha=1.0, beta=0.0, separate_c=False, compute=COMPUTE_32F, ws=1 << 20):
        ar, ac = (m, k) if ta == OP_N else (k, m)
        br, bc = (k, n) if tb == OP_N else (n, k)
        lda, ldb, ldd = ar + int(rng.integers(0, 3)), br + int(rng.integers(0, 3)), m + int(rng.integers(0, 3))
        A = rng.standard_normal(lda * ac).astype(np.float32)
        B = rng.standard_normal(ldb * bc).astype(np.float32)
        bias = rng.standard_normal(m).astype(np.float32)
        Cs = rng.standard_normal(ldd * n).astype(np.float32)
        D = (Cs.copy() if not separate_c else np.full(ldd * n, np.nan, np.float32))
        C0 = Cs.copy()
        d = desc(ta, tb, epi, bias if epi in (EPI_BIAS, EPI_RELU_BIAS) else None, compute)
        la, lb, lcd = layout(ar, ac, lda), layout(br, bc, ldb), layout(m, n, ldd)
        p = pref(ws)
        st, cnt, res = heuristic(d, la, lb, lcd, lcd, p)
        name = (f"cublasLtMatmul op=({ta},{tb}) m={m} n={n} k={k} epilogue={epi} alpha={alpha} beta={beta}"
                f"{' C!=D' if separate_c else ''}{' tf32' if compute == COMPUTE_32F_FAST_TF32 else ''}")
        R.check(name + " heuristic", st == CUBLAS_SUCCESS and cnt == 1 and res.state == CUBLAS_SUCCESS, f"status {st}, {cnt} algorithms")
        work = np.zeros(max(1, res.workspaceSize // 4), np.float32)
        st = L.cublasLtMatmul(h, d, f32(alpha), ptr(A), la, ptr(B), lb, f32(beta), ptr(Cs if separate_c else D), lcd,
                              ptr(D), lcd, C.byref(res), ptr(work), res.workspaceSize, None)
        R.check(name + " status", st == CUBLAS_SUCCESS, f"status {st}")
        a, b = np.array(colmajor(A, ar, ac, lda)), np.array(colmajor(B, br, bc, ldb))
        if compute == COMPUTE_32F_FAST_TF32:
            a, b = tf32(a), tf32(b)
        opa = torch.tensor(a, dtype=torch.float64)
        opb = torch.tensor(b, dtype=torch.float64)
        opa, opb = (opa if ta == OP_N else opa.T), (opb if tb == OP_N else opb.T)
        c0 = torch.tensor(np.array(colmajor(C0, m, n, ldd)), dtype=torch.float64)
        ref = alpha * (opa @ opb) + (beta * c0 if beta != 0 else 0)
        if epi in (EPI_BIAS, EPI_RELU_BIAS):
            ref = ref + torch.tensor(bias, dtype=torch.float64)[:, None]
        if epi in (EPI_RELU, EPI_RELU_BIAS):
            ref = torch.relu(ref)
        R.close(name, np.array(colmajor(D, m, n, ldd)), ref.numpy(), atol=1e-5, rtol=1e-5)
        for o in (la, lb, lcd):
            L.cublasLtMatrixLayoutDestroy(o)
        L.cublasLtMatmulPreferenceDestroy(p)
        L.cublasLtMatmulDescDestroy(d)

    for ta in (OP_N, OP_T):
        for tb in (OP_N, OP_T):
            m, n, k = (int(v) for v in rng.integers(1, 24, 3))
            case(ta, tb, m, n, k, EPI_BIAS)
            case(ta, tb, m + 1, n + 2, k + 3, EPI_DEFAULT, alpha=-0.5, beta=1.5)
    case(OP_T, OP_N, 9, 1, 13, EPI_BIAS)          # Linear with one row: D (out, rows=1)
    case(OP_T, OP_N, 1, 7, 5, EPI_BIAS)           # Linear with one output
    case(OP_T, OP_N, 11, 6, 8, EPI_RELU_BIAS)
    case(OP_N, OP_N, 5, 4, 3, EPI_RELU, beta=0.5, separate_c=True)
    case(OP_T, OP_N, 13, 11, 64, EPI_BIAS, compute=COMPUTE_32F_FAST_TF32)
    case(OP_T, OP_N, 6, 5, 4, EPI_BIAS, ws=0)     # no workspace allowed: the algorithm needs none

    # Linear as Cochlea maps it: row-major y (rows, out) = x W^T + b against torch.nn.functional.linear.
    for rows, inf, outf in ((1, 5, 3), (7, 13, 1), (33, 17, 21)):
        x = rng.standard_normal((rows, inf)).astype(np.float32)
        w = rng.standard_normal((outf, inf)).astype(np.float32)
        b = rng.standard_normal(outf).astype(np.float32)
        y = np.full((rows, outf), np.nan, np.float32)
        d = desc(OP_T, OP_N, EPI_BIAS, b)
        la, lb, lcd, p = layout(inf, outf, inf), layout(inf, rows, inf), layout(outf, rows, outf), pref(32 << 20)
        st, cnt, res = heuristic(d, la, lb, lcd, lcd, p)
        work = np.zeros(max(1, res.workspaceSize // 4), np.float32)
        st = L.cublasLtMatmul(h, d, f32(1), ptr(w), la, ptr(x), lb, f32(0), ptr(y), lcd, ptr(y), lcd, C.byref(res),
                              ptr(work), res.workspaceSize, None)
        ref = F.linear(torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))
        R.close(f"linear rows={rows} in={inf} out={outf} (status {st}) vs F.linear", y, ref.numpy(), atol=1e-5, rtol=1e-5)

    # Rejections, by status code.
    A = np.zeros(4096, np.float32)
    bias = np.zeros(64, np.float32)
    la, lb, lc = layout(4, 4, 4), layout(4, 4, 4), layout(4, 4, 4)
    p = pref(1 << 20)
    d = desc(OP_N, OP_N, EPI_GELU)
    R.check("heuristic with an unsupported epilogue (GELU) is NOT_SUPPORTED, no algorithm",
            heuristic(d, la, lb, lc, lc, p)[:2] == (CUBLAS_NOT_SUPPORTED, 0))
    d = desc(OP_N, OP_N, EPI_BIAS)
    st, cnt, res = heuristic(d, la, lb, lc, lc, p)
    R.check("heuristic for a BIAS epilogue finds one algorithm", st == CUBLAS_SUCCESS and cnt == 1)
    work = np.zeros(res.workspaceSize // 4 + 1, np.float32)

    def mm(a=A, ldb_=lb, algo=res, wsn=res.workspaceSize):
        return L.cublasLtMatmul(h, d, f32(1), ptr(a), la, ptr(A), ldb_, f32(0), ptr(A), lc, ptr(A), lc,
                                C.byref(algo), ptr(work), wsn, None)
    R.check("matmul with a BIAS epilogue and no bias pointer is INVALID_VALUE", mm() == CUBLAS_INVALID_VALUE)
    set_attr(L.cublasLtMatmulDescSetAttribute, d, DESC_BIAS_POINTER, bias.ctypes.data, C.c_uint64)
    R.check("matmul with the bias pointer set succeeds", mm() == CUBLAS_SUCCESS)
    R.check("the fake's algorithm asks for workspace (so callers' workspace path is exercised)", res.workspaceSize > 0)
    R.check("matmul with less workspace than the algorithm needs is INVALID_VALUE", mm(wsn=res.workspaceSize - 4) == CUBLAS_INVALID_VALUE)
    l35 = layout(3, 5, 3)
    R.check("heuristic with layouts that do not fit the ops is INVALID_VALUE", heuristic(d, la, l35, lc, lc, p)[0] == CUBLAS_INVALID_VALUE)
    R.check("matmul with layouts that do not fit the ops is INVALID_VALUE", mm(ldb_=l35) == CUBLAS_INVALID_VALUE)
    R.check("a layout with ld < rows is INVALID_VALUE at the heuristic", heuristic(d, layout(4, 4, 3), lb, lc, lc, p)[0] == CUBLAS_INVALID_VALUE)
    R.check("matmul with a NULL A is INVALID_VALUE", mm(a=None) == CUBLAS_INVALID_VALUE)
    R.check("matmul with a NULL alpha is INVALID_VALUE",
            L.cublasLtMatmul(h, d, None, ptr(A), la, ptr(A), lb, f32(0), ptr(A), lc, ptr(A), lc, C.byref(res), ptr(work),
                             res.workspaceSize, None) == CUBLAS_INVALID_VALUE)
    R.check("matmul with a NULL handle is NOT_INITIALIZED",
            L.cublasLtMatmul(None, d, f32(1), ptr(A), la, ptr(A), lb, f32(0), ptr(A), lc, ptr(A), lc, C.byref(res), ptr(work),
                             res.workspaceSize, None) == CUBLAS_NOT_INITIALIZED)
    a256 = A[((256 - A.ctypes.data % 256) % 256) // 4:]
    odd = a256[1:]
    st, cnt, res256 = heuristic(d, la, lb, lc, lc, pref(1 << 20, align=(None, 4, 4, 4)))   # A: the default 256 bytes
    R.check("an algorithm chosen for 256-byte aligned A takes a 256-byte aligned A", mm(a=a256, algo=res256) == CUBLAS_SUCCESS)
    R.check("matmul with A less aligned than the preference is INVALID_VALUE", mm(a=odd, algo=res256) == CUBLAS_INVALID_VALUE)
    R.check("an algorithm chosen for 4-byte aligned A takes it", mm(a=odd) == CUBLAS_SUCCESS)
    R.check("an attribute of the wrong size is INVALID_VALUE",
            L.cublasLtMatmulDescSetAttribute(d, DESC_EPILOGUE, C.byref(C.c_uint64(4)), 8) == CUBLAS_INVALID_VALUE)
    R.check("an attribute from a NULL buffer is INVALID_VALUE", L.cublasLtMatmulDescSetAttribute(d, DESC_EPILOGUE, None, 4) == CUBLAS_INVALID_VALUE)
    R.check("heuristic requestedAlgoCount 0 is INVALID_VALUE",
            L.cublasLtMatmulAlgoGetHeuristic(h, d, la, lb, lc, lc, p, 0, C.byref(LtHeuristic()), C.byref(C.c_int())) == CUBLAS_INVALID_VALUE)
    R.check("cublasLtGetStatusString(NOT_SUPPORTED) has text", bool(L.cublasLtGetStatusString(CUBLAS_NOT_SUPPORTED)))
    R.check("cublasLtDestroy", L.cublasLtDestroy(h) == CUBLAS_SUCCESS)


# ---------------------------------------------------------------------------------------------------------------
def build(out_dir, defines=()):
    for so, src in LIBS.items():
        cmd = ["g++", "-std=c++17", "-O2", "-shared", "-fPIC", f"-Wl,-soname,{so}", *defines, os.path.join(HERE, src), "-o", os.path.join(out_dir, so)]
        subprocess.run(cmd, check=True)


def run_mutants(seed):
    """Builds each deliberately broken variant and expects the checks to fail on it (the check can fail)."""
    caught = 0
    for name, lib in MUTANTS:
        with tempfile.TemporaryDirectory() as d:
            for so, src in LIBS.items():
                defines = [f"-DEMU_BREAK_{name}"] if so == lib else []
                subprocess.run(["g++", "-std=c++17", "-O2", "-shared", "-fPIC", f"-Wl,-soname,{so}", *defines,
                                os.path.join(HERE, src), "-o", os.path.join(d, so)], check=True)
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--lib-dir", d, "--seed", str(seed)],
                               capture_output=True, text=True)
            fails = [l for l in r.stdout.splitlines() if l.startswith("FAIL")]
            ok = r.returncode != 0
            caught += ok
            print(f"mutant {name} in {lib}: {'caught' if ok else 'NOT CAUGHT'} ({len(fails)} failed checks{', e.g. ' + fails[0] if fails else ''})")
    print(f"check_blas_dnn mutants: {caught} of {len(MUTANTS)} caught")
    return 0 if caught == len(MUTANTS) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib-dir", help="directory with libcublas.so.13, libcublasLt.so.13 and libcudnn.so.9 (default: build them into a temp dir)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mutants", action="store_true", help="check that deliberately broken builds fail")
    args = ap.parse_args()
    if args.mutants:
        return run_mutants(args.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    R = Report()
    with tempfile.TemporaryDirectory() as tmp:
        d = args.lib_dir or tmp
        if not args.lib_dir:
            build(d)
        check_blas(load_blas(os.path.join(d, "libcublas.so.13")), R, rng)
        check_lt(load_lt(os.path.join(d, "libcublasLt.so.13")), R, rng)
        check_dnn(load_dnn(os.path.join(d, "libcudnn.so.9")), R, rng)
    print(f"check_blas_dnn: {R.passed} passed, {len(R.failed)} failed{' - FAILED' if R.failed else ' - all pass'}")
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())

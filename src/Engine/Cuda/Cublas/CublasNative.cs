// cuBLAS v2 bindings (the few calls the engine uses), its status codes and the one Check helper.
// "cublas" is a logical name: the CUDA library resolver maps it to libcublas.so.13/12 on the machine.
// Signatures from the cuBLAS reference (cublas_api.h): handles and streams are opaque pointers,
// alpha/beta are host pointers (the default CUBLAS_POINTER_MODE_HOST).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cochlea.Cuda.Driver;

namespace Cochlea.Cuda.Cublas;

/// <summary>cublasStatus_t.</summary>
public enum CublasStatus
{
    Success = 0, NotInitialized = 1, AllocFailed = 3, InvalidValue = 7, ArchMismatch = 8,
    MappingError = 11, ExecutionFailed = 13, InternalError = 14, NotSupported = 15, LicenseError = 16,
}

/// <summary>cublasOperation_t.</summary>
public enum CublasOperation { N = 0, T = 1, C = 2 }

/// <summary>cublasMath_t (the values the engine sets).</summary>
public enum CublasMath { Default = 0, Pedantic = 2, Tf32TensorOp = 3 }

internal static unsafe partial class CublasNative
{
    const string Lib = "cublas";

    [LibraryImport(Lib, EntryPoint = "cublasCreate_v2")] internal static partial CublasStatus Create(nint* handle);
    [LibraryImport(Lib, EntryPoint = "cublasDestroy_v2")] internal static partial CublasStatus Destroy(nint handle);
    [LibraryImport(Lib, EntryPoint = "cublasSetStream_v2")] internal static partial CublasStatus SetStream(nint handle, nint stream);
    [LibraryImport(Lib, EntryPoint = "cublasSetMathMode")] internal static partial CublasStatus SetMathMode(nint handle, CublasMath mode);
    [LibraryImport(Lib, EntryPoint = "cublasGetStatusString")] internal static partial byte* GetStatusString(CublasStatus status);

    [LibraryImport(Lib, EntryPoint = "cublasSgemm_v2")]
    internal static partial CublasStatus Sgemm(nint handle, CublasOperation transa, CublasOperation transb, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);

    [LibraryImport(Lib, EntryPoint = "cublasSgemmStridedBatched")]
    internal static partial CublasStatus SgemmStridedBatched(nint handle, CublasOperation transa, CublasOperation transb, int m, int n, int k,
        float* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount);
}

/// <summary>Turns cuBLAS and cuBLASLt status codes into <see cref="CudaException"/>s naming the call.</summary>
public static unsafe class Cublas
{
    /// <summary>Throws unless <paramref name="status"/> is success; the message names <paramref name="call"/> and the status.</summary>
    public static void Check(CublasStatus status, string call)
    {
        if (status != CublasStatus.Success) throw new CudaException(Describe(status, call));
    }

    /// <summary>As <see cref="Check(CublasStatus, string)"/>; an interpolated <paramref name="call"/> is formatted only on failure.</summary>
    public static void Check(CublasStatus status, [InterpolatedStringHandlerArgument(nameof(status))] ref CheckMessage call)
    {
        if (status != CublasStatus.Success) throw new CudaException(Describe(status, call.ToStringAndClear()));
    }

    internal static string Describe(CublasStatus status, string call)
    {
        string? text = null;
        // cuBLASLt shares cublasStatus_t; its own string function is asked for its calls (libcublas may not be loaded).
        try { text = Marshal.PtrToStringUTF8((nint)(call.StartsWith("cublasLt", StringComparison.Ordinal) ? CublasLtNative.GetStatusString(status) : CublasNative.GetStatusString(status))); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return $"{call} failed: {status} ({(int)status}){(text is null ? "" : $": {text}")}.";
    }
}

/// <summary>A cuBLAS handle bound to one stream; destroyed with the handle.</summary>
public sealed unsafe class CublasHandle : SafeHandle
{
    CublasHandle() : base(0, true) { }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>The raw cublasHandle_t.</summary>
    internal nint Raw => handle;

    /// <summary>Creates a handle whose work runs on <paramref name="stream"/>, with the math mode of <see cref="CudaOptions.AllowTf32"/>.</summary>
    internal static CublasHandle Create(nint stream)
    {
        nint h;
        Cublas.Check(CublasNative.Create(&h), "cublasCreate_v2");
        var r = new CublasHandle();
        r.SetHandle(h);
        Cublas.Check(CublasNative.SetStream(h, stream), "cublasSetStream_v2");
        r.ApplyMathMode();
        return r;
    }

    bool _tf32;

    /// <summary>Sets the math mode when <see cref="CudaOptions.AllowTf32"/> changed since the last call (cheap to call before every GEMM).</summary>
    internal void ApplyMathMode()
    {
        bool want = CudaOptions.AllowTf32;
        if (want == _tf32 && _applied) return;
        Cublas.Check(CublasNative.SetMathMode(handle, want ? CublasMath.Tf32TensorOp : CublasMath.Default), "cublasSetMathMode");
        _tf32 = want; _applied = true;
    }
    bool _applied;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => CublasNative.Destroy(handle) == CublasStatus.Success;
}

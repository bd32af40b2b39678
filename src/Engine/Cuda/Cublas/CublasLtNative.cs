// cuBLASLt bindings (the subset Linear's bias epilogue uses), its enums and structs, and its SafeHandles.
// "cublasLt" is a logical name: CudaLibraries maps it to libcublasLt.so.13/12 on the machine; nothing here loads it
// before the first Lt call (CudaLinearLt probes it once per device).
// Sources (the cuBLAS 12/13 reference, cublasLt.h section, as mirrored by nvmath-python's bindings and cudarc's sys):
//   cublasLtCreate(cublasLtHandle_t*), cublasLtDestroy(cublasLtHandle_t), cublasLtGetStatusString(cublasStatus_t)
//   cublasLtMatmulDescCreate(cublasLtMatmulDesc_t*, cublasComputeType_t computeType, cudaDataType_t scaleType)
//   cublasLtMatmulDescSetAttribute(desc, cublasLtMatmulDescAttributes_t, const void* buf, size_t sizeInBytes)
//   cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t*, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld)
//   cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t*), ...SetAttribute(pref, attr, const void*, size_t)
//   cublasLtMatmulAlgoGetHeuristic(handle, opDesc, Adesc, Bdesc, Cdesc, Ddesc, preference, int requestedAlgoCount,
//       cublasLtMatmulHeuristicResult_t results[], int* returnAlgoCount)
//   cublasLtMatmul(handle, computeDesc, const void* alpha, const void* A, Adesc, const void* B, Bdesc,
//       const void* beta, const void* C, Cdesc, void* D, Ddesc, const cublasLtMatmulAlgo_t* algo,
//       void* workspace, size_t workspaceSizeInBytes, cudaStream_t stream)
// Struct layouts: cublasLtMatmulAlgo_t { uint64_t data[8]; } (64 B); cublasLtMatmulHeuristicResult_t { algo;
// size_t workspaceSize; cublasStatus_t state; float wavesCount; int reserved[4]; } (96 B). BlasDnnAbiTests pins them.
using System.Runtime.InteropServices;

namespace Cochlea.Cuda.Cublas;

/// <summary>cublasComputeType_t (the two values float32 GEMMs use).</summary>
public enum CublasComputeType { Compute32F = 68, Compute32FFastTf32 = 77 }

/// <summary>cudaDataType_t (float32 only).</summary>
public enum CudaDataType { R32F = 0 }

/// <summary>cublasLtMatmulDescAttributes_t (the attributes the engine sets).</summary>
public enum CublasLtMatmulDescAttribute { ComputeType = 0, ScaleType = 1, PointerMode = 2, TransA = 3, TransB = 4, Epilogue = 7, BiasPointer = 8 }

/// <summary>cublasLtEpilogue_t (the values the engine uses; a uint32_t attribute).</summary>
public enum CublasLtEpilogue : uint { Default = 1, Relu = 2, Bias = 4 }

/// <summary>cublasLtMatmulPreferenceAttributes_t (MAX_WORKSPACE_BYTES is uint64_t; the MIN_ALIGNMENT_* are uint32_t).</summary>
public enum CublasLtPreferenceAttribute { SearchMode = 0, MaxWorkspaceBytes = 1, MinAlignmentABytes = 5, MinAlignmentBBytes = 6, MinAlignmentCBytes = 7, MinAlignmentDBytes = 8 }

/// <summary>cublasLtMatmulAlgo_t: 8 opaque uint64 words, filled by the heuristic and passed back to cublasLtMatmul.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct CublasLtMatmulAlgo { public fixed ulong Data[8]; }

/// <summary>cublasLtMatmulHeuristicResult_t.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct CublasLtHeuristicResult
{
    public CublasLtMatmulAlgo Algo;
    public nuint WorkspaceSize;
    public CublasStatus State;
    public float WavesCount;
    public fixed int Reserved[4];
}

internal static unsafe partial class CublasLtNative
{
    const string Lib = "cublasLt";

    [LibraryImport(Lib, EntryPoint = "cublasLtCreate")] internal static partial CublasStatus Create(nint* handle);
    [LibraryImport(Lib, EntryPoint = "cublasLtDestroy")] internal static partial CublasStatus Destroy(nint handle);
    [LibraryImport(Lib, EntryPoint = "cublasLtGetStatusString")] internal static partial byte* GetStatusString(CublasStatus status);

    [LibraryImport(Lib, EntryPoint = "cublasLtMatmulDescCreate")]
    internal static partial CublasStatus MatmulDescCreate(nint* desc, CublasComputeType computeType, CudaDataType scaleType);
    [LibraryImport(Lib, EntryPoint = "cublasLtMatmulDescDestroy")] internal static partial CublasStatus MatmulDescDestroy(nint desc);
    [LibraryImport(Lib, EntryPoint = "cublasLtMatmulDescSetAttribute")]
    internal static partial CublasStatus MatmulDescSetAttribute(nint desc, CublasLtMatmulDescAttribute attr, void* buf, nuint sizeInBytes);

    [LibraryImport(Lib, EntryPoint = "cublasLtMatrixLayoutCreate")]
    internal static partial CublasStatus MatrixLayoutCreate(nint* layout, CudaDataType type, ulong rows, ulong cols, long ld);
    [LibraryImport(Lib, EntryPoint = "cublasLtMatrixLayoutDestroy")] internal static partial CublasStatus MatrixLayoutDestroy(nint layout);

    [LibraryImport(Lib, EntryPoint = "cublasLtMatmulPreferenceCreate")] internal static partial CublasStatus PreferenceCreate(nint* pref);
    [LibraryImport(Lib, EntryPoint = "cublasLtMatmulPreferenceDestroy")] internal static partial CublasStatus PreferenceDestroy(nint pref);
    [LibraryImport(Lib, EntryPoint = "cublasLtMatmulPreferenceSetAttribute")]
    internal static partial CublasStatus PreferenceSetAttribute(nint pref, CublasLtPreferenceAttribute attr, void* buf, nuint sizeInBytes);

    [LibraryImport(Lib, EntryPoint = "cublasLtMatmulAlgoGetHeuristic")]
    internal static partial CublasStatus AlgoGetHeuristic(nint handle, nint opDesc, nint aDesc, nint bDesc, nint cDesc, nint dDesc,
        nint preference, int requestedAlgoCount, CublasLtHeuristicResult* results, int* returnAlgoCount);

    [LibraryImport(Lib, EntryPoint = "cublasLtMatmul")]
    internal static partial CublasStatus Matmul(nint handle, nint computeDesc, float* alpha, ulong a, nint aDesc, ulong b, nint bDesc,
        float* beta, ulong c, nint cDesc, ulong d, nint dDesc, CublasLtMatmulAlgo* algo, ulong workspace, nuint workspaceBytes, nint stream);
}

/// <summary>A cuBLASLt object (the library handle or one descriptor); destroyed with the matching cublasLt*Destroy.</summary>
public sealed unsafe class CublasLtObject : SafeHandle
{
    /// <summary>Which cuBLASLt type the handle holds (picks the destroy call).</summary>
    public enum Kind { Handle, MatmulDesc, MatrixLayout, Preference }

    readonly Kind _kind;
    CublasLtObject(Kind kind) : base(0, true) => _kind = kind;

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>The raw pointer.</summary>
    internal nint Raw => handle;

    internal static CublasLtObject CreateHandle() => Wrap(Kind.Handle, p => CublasLtNative.Create(p), "cublasLtCreate");

    internal static CublasLtObject CreateMatmulDesc(CublasComputeType compute)
        => Wrap(Kind.MatmulDesc, p => CublasLtNative.MatmulDescCreate(p, compute, CudaDataType.R32F), $"cublasLtMatmulDescCreate({compute})");

    /// <summary>A float32 column-major layout of <paramref name="rows"/> x <paramref name="cols"/> with leading dimension <paramref name="ld"/>.</summary>
    internal static CublasLtObject CreateLayout(long rows, long cols, long ld)
        => Wrap(Kind.MatrixLayout, p => CublasLtNative.MatrixLayoutCreate(p, CudaDataType.R32F, (ulong)rows, (ulong)cols, ld),
            $"cublasLtMatrixLayoutCreate(rows={rows}, cols={cols}, ld={ld})");

    internal static CublasLtObject CreatePreference() => Wrap(Kind.Preference, p => CublasLtNative.PreferenceCreate(p), "cublasLtMatmulPreferenceCreate");

    delegate CublasStatus Creator(nint* p);

    static CublasLtObject Wrap(Kind kind, Creator create, string call)
    {
        nint h;
        Cublas.Check(create(&h), call);
        var r = new CublasLtObject(kind);
        r.SetHandle(h);
        return r;
    }

    /// <summary>Sets a matmul-descriptor attribute to the unmanaged value <paramref name="value"/>.</summary>
    internal void Set<T>(CublasLtMatmulDescAttribute attr, T value) where T : unmanaged
        => Cublas.Check(CublasLtNative.MatmulDescSetAttribute(handle, attr, &value, (nuint)sizeof(T)), $"cublasLtMatmulDescSetAttribute({attr})");

    /// <summary>Sets a preference attribute to the unmanaged value <paramref name="value"/>.</summary>
    internal void Set<T>(CublasLtPreferenceAttribute attr, T value) where T : unmanaged
        => Cublas.Check(CublasLtNative.PreferenceSetAttribute(handle, attr, &value, (nuint)sizeof(T)), $"cublasLtMatmulPreferenceSetAttribute({attr})");

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => (_kind switch
    {
        Kind.Handle => CublasLtNative.Destroy(handle),
        Kind.MatmulDesc => CublasLtNative.MatmulDescDestroy(handle),
        Kind.MatrixLayout => CublasLtNative.MatrixLayoutDestroy(handle),
        _ => CublasLtNative.PreferenceDestroy(handle),
    }) == CublasStatus.Success;
}

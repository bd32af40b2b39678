// cuDNN 9 bindings: the legacy (non-graph) calls cuDNN 9 still exports — 4-d tensor/filter descriptors,
// convolution forward/backward with cudnnFind*AlgorithmEx, bias, batch norm, pooling — and one Check helper.
// "cudnn" is a logical name: the CUDA library resolver maps it to libcudnn.so.9. All alpha/beta are host
// float pointers (float data); descriptors and the handle are opaque pointers.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cochlea.Cuda.Driver;

namespace Cochlea.Cuda.Cudnn;

/// <summary>cudnnDataType_t (float only here).</summary>
public enum CudnnDataType { Float = 0 }

/// <summary>cudnnTensorFormat_t.</summary>
public enum CudnnTensorFormat { Nchw = 0 }

/// <summary>cudnnConvolutionMode_t.</summary>
public enum CudnnConvolutionMode { Convolution = 0, CrossCorrelation = 1 }

/// <summary>cudnnMathType_t: FMA math keeps float32 convolutions off TF32 tensor cores.</summary>
public enum CudnnMathType { Default = 0, TensorOp = 1, TensorOpAllowConversion = 2, Fma = 3 }

/// <summary>cudnnPoolingMode_t.</summary>
public enum CudnnPoolingMode { Max = 0, AverageCountIncludePadding = 1, AverageCountExcludePadding = 2, MaxDeterministic = 3 }

/// <summary>cudnnNanPropagation_t.</summary>
public enum CudnnNanPropagation { NotPropagate = 0, Propagate = 1 }

/// <summary>cudnnBatchNormMode_t.</summary>
public enum CudnnBatchNormMode { PerActivation = 0, Spatial = 1, SpatialPersistent = 2 }

/// <summary>cudnnConvolutionFwdAlgoPerf_t / BwdDataAlgoPerf_t / BwdFilterAlgoPerf_t (identical layouts; algo as int).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct CudnnAlgoPerf
{
    /// <summary>The algorithm (cudnnConvolution*Algo_t value).</summary>
    public int Algo;
    /// <summary>cudnnStatus_t of the trial; 0 when the algorithm ran.</summary>
    public int Status;
    /// <summary>Measured time in ms.</summary>
    public float Time;
    /// <summary>Workspace bytes it needs.</summary>
    public nuint Memory;
    /// <summary>cudnnDeterminism_t.</summary>
    public int Determinism;
    /// <summary>cudnnMathType_t it used.</summary>
    public int MathType;
    /// <summary>Reserved.</summary>
    public fixed int Reserved[3];
}

internal static unsafe partial class CudnnNative
{
    const string Lib = "cudnn";

    [LibraryImport(Lib, EntryPoint = "cudnnGetVersion")] internal static partial nuint GetVersion();
    [LibraryImport(Lib, EntryPoint = "cudnnGetErrorString")] internal static partial byte* GetErrorString(int status);
    [LibraryImport(Lib, EntryPoint = "cudnnCreate")] internal static partial int Create(nint* handle);
    [LibraryImport(Lib, EntryPoint = "cudnnDestroy")] internal static partial int Destroy(nint handle);
    [LibraryImport(Lib, EntryPoint = "cudnnSetStream")] internal static partial int SetStream(nint handle, nint stream);

    [LibraryImport(Lib, EntryPoint = "cudnnCreateTensorDescriptor")] internal static partial int CreateTensorDescriptor(nint* desc);
    [LibraryImport(Lib, EntryPoint = "cudnnSetTensor4dDescriptor")]
    internal static partial int SetTensor4dDescriptor(nint desc, CudnnTensorFormat format, CudnnDataType dataType, int n, int c, int h, int w);
    [LibraryImport(Lib, EntryPoint = "cudnnDestroyTensorDescriptor")] internal static partial int DestroyTensorDescriptor(nint desc);

    [LibraryImport(Lib, EntryPoint = "cudnnCreateFilterDescriptor")] internal static partial int CreateFilterDescriptor(nint* desc);
    [LibraryImport(Lib, EntryPoint = "cudnnSetFilter4dDescriptor")]
    internal static partial int SetFilter4dDescriptor(nint desc, CudnnDataType dataType, CudnnTensorFormat format, int k, int c, int h, int w);
    [LibraryImport(Lib, EntryPoint = "cudnnDestroyFilterDescriptor")] internal static partial int DestroyFilterDescriptor(nint desc);

    [LibraryImport(Lib, EntryPoint = "cudnnCreateConvolutionDescriptor")] internal static partial int CreateConvolutionDescriptor(nint* desc);
    [LibraryImport(Lib, EntryPoint = "cudnnSetConvolution2dDescriptor")]
    internal static partial int SetConvolution2dDescriptor(nint desc, int padH, int padW, int u, int v, int dilationH, int dilationW,
        CudnnConvolutionMode mode, CudnnDataType computeType);
    [LibraryImport(Lib, EntryPoint = "cudnnSetConvolutionGroupCount")] internal static partial int SetConvolutionGroupCount(nint desc, int groups);
    [LibraryImport(Lib, EntryPoint = "cudnnSetConvolutionMathType")] internal static partial int SetConvolutionMathType(nint desc, CudnnMathType mathType);
    [LibraryImport(Lib, EntryPoint = "cudnnDestroyConvolutionDescriptor")] internal static partial int DestroyConvolutionDescriptor(nint desc);

    [LibraryImport(Lib, EntryPoint = "cudnnFindConvolutionForwardAlgorithmEx")]
    internal static partial int FindConvolutionForwardAlgorithmEx(nint handle, nint xDesc, ulong x, nint wDesc, ulong w, nint convDesc,
        nint yDesc, ulong y, int requested, int* returned, CudnnAlgoPerf* perf, ulong workspace, nuint workspaceBytes);
    [LibraryImport(Lib, EntryPoint = "cudnnFindConvolutionBackwardDataAlgorithmEx")]
    internal static partial int FindConvolutionBackwardDataAlgorithmEx(nint handle, nint wDesc, ulong w, nint dyDesc, ulong dy, nint convDesc,
        nint dxDesc, ulong dx, int requested, int* returned, CudnnAlgoPerf* perf, ulong workspace, nuint workspaceBytes);
    [LibraryImport(Lib, EntryPoint = "cudnnFindConvolutionBackwardFilterAlgorithmEx")]
    internal static partial int FindConvolutionBackwardFilterAlgorithmEx(nint handle, nint xDesc, ulong x, nint dyDesc, ulong dy, nint convDesc,
        nint dwDesc, ulong dw, int requested, int* returned, CudnnAlgoPerf* perf, ulong workspace, nuint workspaceBytes);

    [LibraryImport(Lib, EntryPoint = "cudnnConvolutionForward")]
    internal static partial int ConvolutionForward(nint handle, float* alpha, nint xDesc, ulong x, nint wDesc, ulong w, nint convDesc, int algo,
        ulong workspace, nuint workspaceBytes, float* beta, nint yDesc, ulong y);
    [LibraryImport(Lib, EntryPoint = "cudnnConvolutionBackwardData")]
    internal static partial int ConvolutionBackwardData(nint handle, float* alpha, nint wDesc, ulong w, nint dyDesc, ulong dy, nint convDesc, int algo,
        ulong workspace, nuint workspaceBytes, float* beta, nint dxDesc, ulong dx);
    [LibraryImport(Lib, EntryPoint = "cudnnConvolutionBackwardFilter")]
    internal static partial int ConvolutionBackwardFilter(nint handle, float* alpha, nint xDesc, ulong x, nint dyDesc, ulong dy, nint convDesc, int algo,
        ulong workspace, nuint workspaceBytes, float* beta, nint dwDesc, ulong dw);
    [LibraryImport(Lib, EntryPoint = "cudnnAddTensor")]
    internal static partial int AddTensor(nint handle, float* alpha, nint aDesc, ulong a, float* beta, nint cDesc, ulong c);

    [LibraryImport(Lib, EntryPoint = "cudnnCreatePoolingDescriptor")] internal static partial int CreatePoolingDescriptor(nint* desc);
    [LibraryImport(Lib, EntryPoint = "cudnnSetPooling2dDescriptor")]
    internal static partial int SetPooling2dDescriptor(nint desc, CudnnPoolingMode mode, CudnnNanPropagation nan, int windowH, int windowW,
        int padH, int padW, int strideH, int strideW);
    [LibraryImport(Lib, EntryPoint = "cudnnDestroyPoolingDescriptor")] internal static partial int DestroyPoolingDescriptor(nint desc);
    [LibraryImport(Lib, EntryPoint = "cudnnPoolingForward")]
    internal static partial int PoolingForward(nint handle, nint poolDesc, float* alpha, nint xDesc, ulong x, float* beta, nint yDesc, ulong y);
    [LibraryImport(Lib, EntryPoint = "cudnnPoolingBackward")]
    internal static partial int PoolingBackward(nint handle, nint poolDesc, float* alpha, nint yDesc, ulong y, nint dyDesc, ulong dy,
        nint xDesc, ulong x, float* beta, nint dxDesc, ulong dx);

    [LibraryImport(Lib, EntryPoint = "cudnnBatchNormalizationForwardTraining")]
    internal static partial int BatchNormalizationForwardTraining(nint handle, CudnnBatchNormMode mode, float* alpha, float* beta,
        nint xDesc, ulong x, nint yDesc, ulong y, nint bnDesc, ulong scale, ulong bias, double expAverageFactor,
        ulong runningMean, ulong runningVar, double epsilon, ulong saveMean, ulong saveInvVariance);
    [LibraryImport(Lib, EntryPoint = "cudnnBatchNormalizationForwardInference")]
    internal static partial int BatchNormalizationForwardInference(nint handle, CudnnBatchNormMode mode, float* alpha, float* beta,
        nint xDesc, ulong x, nint yDesc, ulong y, nint bnDesc, ulong scale, ulong bias, ulong estimatedMean, ulong estimatedVar, double epsilon);
    [LibraryImport(Lib, EntryPoint = "cudnnBatchNormalizationBackward")]
    internal static partial int BatchNormalizationBackward(nint handle, CudnnBatchNormMode mode, float* alphaData, float* betaData,
        float* alphaParam, float* betaParam, nint xDesc, ulong x, nint dyDesc, ulong dy, nint dxDesc, ulong dx, nint bnDesc,
        ulong scale, ulong dScale, ulong dBias, double epsilon, ulong savedMean, ulong savedInvVariance);
}

/// <summary>Turns cuDNN status codes into <see cref="CudaException"/>s naming the call.</summary>
public static unsafe class Cudnn
{
    /// <summary>Throws unless <paramref name="status"/> is CUDNN_STATUS_SUCCESS (0); the message names <paramref name="call"/> and the status.</summary>
    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException(Describe(status, call));
    }

    /// <summary>As <see cref="Check(int, string)"/>; an interpolated <paramref name="call"/> is formatted only on failure.</summary>
    public static void Check(int status, [InterpolatedStringHandlerArgument(nameof(status))] ref CheckMessage call)
    {
        if (status != 0) throw new CudaException(Describe(status, call.ToStringAndClear()));
    }

    internal static string Describe(int status, string call)
    {
        string? text = null;
        try { text = Marshal.PtrToStringUTF8((nint)CudnnNative.GetErrorString(status)); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        return $"{call} failed: cudnnStatus_t {status}{(text is null ? "" : $" ({text})")}.";
    }

    /// <summary>The cuDNN math type for float32 convolutions: TF32 tensor cores allowed (default math) or FMA only.</summary>
    internal static CudnnMathType MathTypeFor(bool tf32) => tf32 ? CudnnMathType.Default : CudnnMathType.Fma;
}

/// <summary>An owned cuDNN object (handle or descriptor): created by a subclass's factory, destroyed by its ReleaseHandle.</summary>
public abstract class CudnnObject : SafeHandle
{
    private protected CudnnObject() : base(0, true) { }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>The raw cuDNN pointer.</summary>
    internal nint Raw => handle;

    // Adopts the pointer a cudnnCreate* call wrote, so it is released even when the following Set call throws.
    private protected T Adopt<T>(nint raw) where T : CudnnObject { SetHandle(raw); return (T)this; }
}

/// <summary>A cuDNN handle bound to one stream.</summary>
public sealed unsafe class CudnnHandle : CudnnObject
{
    internal static CudnnHandle Create(nint stream)
    {
        nint h;
        Cudnn.Check(CudnnNative.Create(&h), "cudnnCreate");
        var r = new CudnnHandle().Adopt<CudnnHandle>(h);
        Cudnn.Check(CudnnNative.SetStream(h, stream), "cudnnSetStream");
        return r;
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => CudnnNative.Destroy(handle) == 0;
}

/// <summary>cudnnTensorDescriptor_t of a fully packed float NCHW tensor.</summary>
public sealed unsafe class CudnnTensorDescriptor : CudnnObject
{
    internal static CudnnTensorDescriptor Create(int n, int c, int h, int w)
    {
        nint d;
        Cudnn.Check(CudnnNative.CreateTensorDescriptor(&d), "cudnnCreateTensorDescriptor");
        var r = new CudnnTensorDescriptor().Adopt<CudnnTensorDescriptor>(d);
        Cudnn.Check(CudnnNative.SetTensor4dDescriptor(d, CudnnTensorFormat.Nchw, CudnnDataType.Float, n, c, h, w), $"cudnnSetTensor4dDescriptor({n}, {c}, {h}, {w})");
        return r;
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => CudnnNative.DestroyTensorDescriptor(handle) == 0;
}

/// <summary>cudnnFilterDescriptor_t of float (k, c, h, w) weights.</summary>
public sealed unsafe class CudnnFilterDescriptor : CudnnObject
{
    internal static CudnnFilterDescriptor Create(int k, int c, int h, int w)
    {
        nint d;
        Cudnn.Check(CudnnNative.CreateFilterDescriptor(&d), "cudnnCreateFilterDescriptor");
        var r = new CudnnFilterDescriptor().Adopt<CudnnFilterDescriptor>(d);
        Cudnn.Check(CudnnNative.SetFilter4dDescriptor(d, CudnnDataType.Float, CudnnTensorFormat.Nchw, k, c, h, w), $"cudnnSetFilter4dDescriptor({k}, {c}, {h}, {w})");
        return r;
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => CudnnNative.DestroyFilterDescriptor(handle) == 0;
}

/// <summary>cudnnConvolutionDescriptor_t: symmetric padding, stride, dilation, groups, math type.</summary>
public sealed unsafe class CudnnConvolutionDescriptor : CudnnObject
{
    internal static CudnnConvolutionDescriptor Create(int padH, int padW, int strideH, int strideW, int dilationH, int dilationW, int groups, CudnnMathType math)
    {
        nint d;
        Cudnn.Check(CudnnNative.CreateConvolutionDescriptor(&d), "cudnnCreateConvolutionDescriptor");
        var r = new CudnnConvolutionDescriptor().Adopt<CudnnConvolutionDescriptor>(d);
        Cudnn.Check(CudnnNative.SetConvolution2dDescriptor(d, padH, padW, strideH, strideW, dilationH, dilationW,
            CudnnConvolutionMode.CrossCorrelation, CudnnDataType.Float), "cudnnSetConvolution2dDescriptor");
        Cudnn.Check(CudnnNative.SetConvolutionGroupCount(d, groups), "cudnnSetConvolutionGroupCount");
        Cudnn.Check(CudnnNative.SetConvolutionMathType(d, math), "cudnnSetConvolutionMathType");
        return r;
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => CudnnNative.DestroyConvolutionDescriptor(handle) == 0;
}

/// <summary>cudnnPoolingDescriptor_t (NaNs propagate, as the CPU's comparisons do).</summary>
public sealed unsafe class CudnnPoolingDescriptor : CudnnObject
{
    internal static CudnnPoolingDescriptor Create(CudnnPoolingMode mode, int windowH, int windowW, int padH, int padW, int strideH, int strideW)
    {
        nint d;
        Cudnn.Check(CudnnNative.CreatePoolingDescriptor(&d), "cudnnCreatePoolingDescriptor");
        var r = new CudnnPoolingDescriptor().Adopt<CudnnPoolingDescriptor>(d);
        Cudnn.Check(CudnnNative.SetPooling2dDescriptor(d, mode, CudnnNanPropagation.Propagate, windowH, windowW, padH, padW, strideH, strideW),
            "cudnnSetPooling2dDescriptor");
        return r;
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => CudnnNative.DestroyPoolingDescriptor(handle) == 0;
}

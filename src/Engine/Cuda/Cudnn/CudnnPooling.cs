// One pooling shape on cuDNN: the pooling descriptor and the descriptors of x (N, C, InH, InW) and y (N, C, OutH, OutW),
// made once per shape and kept per device while recent (CudaDevice.Pooling, an LRU); the backward looks the shape up again. Why: creating,
// setting and destroying three descriptors per call was 9 host calls per pooling and pass. Read-only after
// construction, so one instance serves any thread.
namespace Cochlea.Cuda.Cudnn;

/// <summary>Everything that decides a pooling's cuDNN descriptors (symmetric padding, as cuDNN pads).</summary>
internal readonly record struct PoolKey(bool Max, int N, int C, int InH, int InW, int OutH, int OutW,
    int KernelH, int KernelW, int PadH, int PadW, int StrideH, int StrideW);

internal sealed unsafe class CudnnPooling : IDisposable
{
    readonly PoolKey _key;
    readonly CudnnPoolingDescriptor _pool;
    readonly CudnnTensorDescriptor _x, _y;

    public CudnnPooling(PoolKey k)
    {
        _key = k;
        // Average counts padded zeros in the divisor, as the CPU path does.
        var mode = k.Max ? CudnnPoolingMode.Max : CudnnPoolingMode.AverageCountIncludePadding;
        _pool = CudnnPoolingDescriptor.Create(mode, k.KernelH, k.KernelW, k.PadH, k.PadW, k.StrideH, k.StrideW);
        _x = CudnnTensorDescriptor.Create(k.N, k.C, k.InH, k.InW);
        _y = CudnnTensorDescriptor.Create(k.N, k.C, k.OutH, k.OutW);
    }

    /// <summary>y = pool(x) (beta 0).</summary>
    public void Forward(CudaDevice dev, ulong x, ulong y)
    {
        float one = 1f, zero = 0f;
        Cudnn.Check(CudnnNative.PoolingForward(dev.Cudnn.Raw, _pool.Raw, &one, _x.Raw, x, &zero, _y.Raw, y), $"cudnnPoolingForward({_key})");
    }

    /// <summary>dx from dy and the forward's x and y (beta 0).</summary>
    public void Backward(CudaDevice dev, ulong x, ulong y, ulong dy, ulong dx)
    {
        float one = 1f, zero = 0f;
        Cudnn.Check(CudnnNative.PoolingBackward(dev.Cudnn.Raw, _pool.Raw, &one, _y.Raw, y, _y.Raw, dy, _x.Raw, x, &zero, _x.Raw, dx),
            $"cudnnPoolingBackward({_key})");
    }

    public void Dispose()
    {
        _pool.Dispose(); _x.Dispose(); _y.Dispose();
    }
}

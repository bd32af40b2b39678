// One batch-norm shape on cuDNN (spatial mode): the descriptors of x (N, C, spatial, 1) and of the per-channel
// vectors (1, C, 1, 1), made once per shape and kept per device while recent (CudaDevice.BatchNorm, an LRU), so that a training step's
// forward and backward calls are the cuDNN computations only. Why: creating, setting and destroying them per call
// was 4 host calls per batch norm and pass (WaveKws: 224 of its 412 cuDNN calls a step). Read-only after
// construction, so one instance serves any thread.
namespace Cochlea.Cuda.Cudnn;

/// <summary>Everything that decides a batch norm's cuDNN descriptors: x seen as (N, C, Spatial, 1).</summary>
internal readonly record struct BatchNormKey(int N, int C, int Spatial);

internal sealed unsafe class CudnnBatchNorm : IDisposable
{
    readonly BatchNormKey _key;
    readonly CudnnTensorDescriptor _x, _channel;

    public CudnnBatchNorm(BatchNormKey k)
    {
        _key = k;
        _x = CudnnTensorDescriptor.Create(k.N, k.C, k.Spatial, 1);
        _channel = CudnnTensorDescriptor.Create(1, k.C, 1, 1);
    }

    /// <summary>y = scale (x - mean_b) / sqrt(var_b + eps) + shift with batch statistics; updates the running ones (factor <paramref name="momentum"/>), saves mean and inverse std. Vectors (C).</summary>
    public void ForwardTraining(CudaDevice dev, ulong x, ulong y, ulong scale, ulong shift, double momentum,
        ulong runningMean, ulong runningVar, double eps, ulong saveMean, ulong saveInvStd)
    {
        float one = 1f, zero = 0f;
        Cudnn.Check(CudnnNative.BatchNormalizationForwardTraining(dev.Cudnn.Raw, CudnnBatchNormMode.Spatial, &one, &zero, _x.Raw, x,
            _x.Raw, y, _channel.Raw, scale, shift, momentum, runningMean, runningVar, eps, saveMean, saveInvStd),
            $"cudnnBatchNormalizationForwardTraining({_key})");
    }

    /// <summary>y = scale (x - mean) / sqrt(var + eps) + shift with the given statistics. Vectors (C).</summary>
    public void ForwardInference(CudaDevice dev, ulong x, ulong y, ulong scale, ulong shift, ulong mean, ulong var, double eps)
    {
        float one = 1f, zero = 0f;
        Cudnn.Check(CudnnNative.BatchNormalizationForwardInference(dev.Cudnn.Raw, CudnnBatchNormMode.Spatial, &one, &zero, _x.Raw, x,
            _x.Raw, y, _channel.Raw, scale, shift, mean, var, eps), $"cudnnBatchNormalizationForwardInference({_key})");
    }

    /// <summary>dx, dscale, dshift (beta 0) of the training forward, from its saved mean and inverse std. Vectors (C).</summary>
    public void Backward(CudaDevice dev, ulong x, ulong dy, ulong dx, ulong scale, ulong dScale, ulong dShift, double eps,
        ulong savedMean, ulong savedInvStd)
    {
        float one = 1f, zero = 0f;
        Cudnn.Check(CudnnNative.BatchNormalizationBackward(dev.Cudnn.Raw, CudnnBatchNormMode.Spatial, &one, &zero, &one, &zero,
            _x.Raw, x, _x.Raw, dy, _x.Raw, dx, _channel.Raw, scale, dScale, dShift, eps, savedMean, savedInvStd),
            $"cudnnBatchNormalizationBackward({_key})");
    }

    public void Dispose()
    {
        _x.Dispose(); _channel.Dispose();
    }
}

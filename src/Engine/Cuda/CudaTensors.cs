// Small helpers the cuBLAS/cuDNN-backed ops share: the device of an op's operands (all on one GPU), float
// tensors allocated there, and the grid of a grid-stride kernel launch.
namespace Cochlea.Cuda;

internal static unsafe class CudaTensors
{
    /// <summary>Threads per block of the elementwise kernels in native/cuda (conv_pad, spectral, recurrence).</summary>
    internal const uint Threads = 256;

    /// <summary>Blocks for a grid-stride loop over <paramref name="count"/> elements: enough to cover it, at most 2^20 (the loop does the rest).</summary>
    internal static Dim3 Grid(long count) => new((uint)Math.Clamp((count + Threads - 1) / Threads, 1, 1 << 20));

    /// <summary>The CUDA device every tensor of <paramref name="operands"/> (nulls skipped) lives on; throws naming <paramref name="op"/> when they differ.</summary>
    internal static CudaDevice DeviceOf(string op, Tensor first, params Tensor?[] operands)
    {
        foreach (var t in operands)
            if (t is not null && t.Device != first.Device)
                throw new ArgumentException($"{op}: operands are on different devices ({first.Describe()} on {first.Device}, {t.Describe()} on {t.Device}); move them with .To(device).");
        return CudaBackend.Get(first.Device.Index);
    }

    /// <summary>An uninitialised float32 tensor on <paramref name="device"/>; keeps <paramref name="shape"/> as its shape array (callers pass fresh arrays or a tensor's ShapeArray; none writes it after).</summary>
    internal static Tensor Empty(Device device, params int[] shape) => Tensor.EmptyOwning(shape, DType.Float32, device);

    /// <summary>A float32 tensor of zeros on <paramref name="device"/> (keeps <paramref name="shape"/>, as <see cref="Empty"/>).</summary>
    internal static Tensor Zeros(CudaDevice device, params int[] shape)
    {
        var t = Tensor.EmptyOwning(shape, DType.Float32, device.Device);
        device.Zero(t.DevicePtr, Math.Max(1, t.Numel) * sizeof(float));
        return t;
    }

    /// <summary>
    /// <paramref name="op"/> on CPU copies of <paramref name="operands"/>, its result moved back to <paramref name="device"/>.
    /// For empty tensors only: cuDNN rejects zero-sized dimensions (CUDNN_STATUS_BAD_PARAM), an empty op costs
    /// nothing on the CPU, and To() carries the gradients back to the GPU operands.
    /// </summary>
    internal static Tensor EmptyViaCpu(Device device, Func<Tensor?[], Tensor> op, params Tensor?[] operands)
        => op(operands.Select(t => t?.To(Device.Cpu)).ToArray()).To(device);

    /// <summary>Launches a grid-stride kernel over <paramref name="count"/> elements.</summary>
    internal static void Launch(CudaDevice device, string kernel, long count, void** args)
        => device.Launch(kernel, Grid(count), new Dim3(Threads), 0, args);
}

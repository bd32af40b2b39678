// The CUDA backend's public surface, the contract the rest of the engine codes against:
// one CudaDevice per GPU (primary context, one compute stream, caching allocator, NVRTC
// kernels, cuBLAS/cuDNN handles). Nothing here loads a native library until first asked,
// so a machine without a GPU never touches libcuda.
namespace Cochlea.Cuda;

/// <summary>Grid or block dimensions of a kernel launch.</summary>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1);

/// <summary>Entry point: is CUDA usable here, and the device objects.</summary>
public static class CudaBackend
{
    /// <summary>True when the driver loads, cuInit succeeds and at least one GPU exists. Never throws; probes once.</summary>
    public static bool IsAvailable => throw new NotImplementedException();

    /// <summary>Why <see cref="IsAvailable"/> is false (null when it is true): the library or call that failed and what to do.</summary>
    public static string? UnavailableReason => throw new NotImplementedException();

    /// <summary>The device object for GPU <paramref name="index"/>; throws <see cref="CudaException"/> with <see cref="UnavailableReason"/> when CUDA is unusable.</summary>
    public static CudaDevice Get(int index = 0) => throw new NotImplementedException();
}

/// <summary>One GPU: its context, compute stream, allocator and compiled kernels.</summary>
public sealed unsafe partial class CudaDevice
{
    /// <summary>Ordinal of the device.</summary>
    public int Index { get; }

    /// <summary>The engine's device value for this GPU.</summary>
    public Device Device => Device.Cuda(Index);

    /// <summary>Allocates <paramref name="bytes"/> of device memory from the caching allocator (stream-ordered on the compute stream).</summary>
    public ulong Allocate(long bytes) => throw new NotImplementedException();

    /// <summary>Returns a block from <see cref="Allocate"/> to the allocator's cache.</summary>
    public void Free(ulong ptr, long bytes) => throw new NotImplementedException();

    /// <summary>Launches kernel <paramref name="kernel"/> (an <c>extern "C" __global__</c> name from native/cuda/*.cu, compiled on first use) on the compute stream. <paramref name="args"/> points at one pointer per kernel parameter, each pointing at the argument's value (cuLaunchKernel's kernelParams).</summary>
    public void Launch(string kernel, Dim3 grid, Dim3 block, uint sharedBytes, void** args) => throw new NotImplementedException();

    /// <summary>Copies host memory to the device (ordered on the compute stream; returns once the source may be reused).</summary>
    public void CopyToDevice(ulong dst, void* src, long bytes) => throw new NotImplementedException();

    /// <summary>Copies device memory to the host; returns when the data has arrived.</summary>
    public void CopyToHost(void* dst, ulong src, long bytes) => throw new NotImplementedException();

    /// <summary>Device-to-device copy on the compute stream.</summary>
    public void CopyOnDevice(ulong dst, ulong src, long bytes) => throw new NotImplementedException();

    /// <summary>Fills <paramref name="bytes"/> bytes at <paramref name="dst"/> with zero on the compute stream.</summary>
    public void Zero(ulong dst, long bytes) => throw new NotImplementedException();

    /// <summary>Waits until all work queued on the compute stream has finished.</summary>
    public void Synchronize() => throw new NotImplementedException();

    /// <summary>The compute stream (CUstream), for cuBLAS/cuDNN to run on.</summary>
    public nint Stream => throw new NotImplementedException();
}

/// <summary>A CUDA, NVRTC, cuBLAS or cuDNN call failed, or CUDA is unavailable; the message names the call and the error.</summary>
public sealed class CudaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CudaException(string message, Exception? inner = null) : base(message, inner) { }
}

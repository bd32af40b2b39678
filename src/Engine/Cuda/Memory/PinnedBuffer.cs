// Page-locked host memory (cuMemHostAlloc): the DMA engine reads and writes it directly, so
// copies from/to it run asynchronously on a stream and at full PCIe speed.
using Cochlea.Cuda.Driver;

namespace Cochlea.Cuda.Memory;

/// <summary>A pinned host buffer. Dispose it to free the memory (cuMemFreeHost); there is no finalizer (no CUDA calls from the finalizer thread), and the driver frees what is left at exit.</summary>
public sealed unsafe class PinnedBuffer : IDisposable
{
    void* _ptr;

    /// <summary>Size in bytes.</summary>
    public long Bytes { get; }

    /// <summary>Allocates <paramref name="bytes"/> of pinned memory; the device's context must be current.</summary>
    public PinnedBuffer(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        void* p;
        DriverCheck.Check(NativeMethods.cuMemHostAlloc(&p, (nuint)bytes, CuFlags.MemHostAllocPortable), $"cuMemHostAlloc({CachingAllocator.Format(bytes)})");
        _ptr = p;
        Bytes = bytes;
    }

    /// <summary>Start of the buffer.</summary>
    public void* Pointer => _ptr != null ? _ptr : throw new ObjectDisposedException(nameof(PinnedBuffer));

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ptr == null) return;
        NativeMethods.cuMemFreeHost(_ptr);
        _ptr = null;
        GC.SuppressFinalize(this);
    }
}

// The reference-counted buffer behind one or more tensor views. A view adds a reference,
// Dispose removes one; the last one returns the buffer to the pool. If tensors are dropped
// without Dispose, the finalizer still frees the memory (to the OS, not the pool).
namespace Cochlea.Memory;

/// <summary>A pooled, 64-byte-aligned buffer shared by tensor views.</summary>
public sealed unsafe class Storage
{
    void* _ptr;
    int _refs = 1;

    /// <summary>Size in bytes as requested.</summary>
    public long Bytes { get; }

    /// <summary>Device holding the memory.</summary>
    public Device Device { get; }

    /// <summary>Allocates <paramref name="bytes"/> on the CPU (contents undefined).</summary>
    public Storage(long bytes)
    {
        Bytes = bytes;
        Device = Device.Cpu;
        _ptr = CpuBufferPool.Shared.Rent(bytes);
    }

    /// <summary>Allocates <paramref name="bytes"/> on <paramref name="device"/> (contents undefined); CUDA memory comes from the device's caching allocator.</summary>
    public Storage(long bytes, Device device) : this(bytes)
    {
        if (!device.IsCpu) throw new NotImplementedException("CUDA storage: filled in by the CUDA runtime work.");
    }

    /// <summary>Device address of a CUDA buffer (throws for CPU storage or once released).</summary>
    public ulong DevicePointer => throw new InvalidOperationException("Storage on the CPU has no device pointer.");

    /// <summary>Start of the buffer; throws once released.</summary>
    public void* Pointer => _ptr != null ? _ptr : throw new ObjectDisposedException(nameof(Storage), "The tensor's memory was already released (the tensor or its scope was disposed).");

    /// <summary>True while at least one view holds the buffer.</summary>
    public bool IsAlive => _ptr != null;

    internal void AddRef()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
            throw new ObjectDisposedException(nameof(Storage), "Cannot take a view of a released tensor.");
    }

    internal void Release()
    {
        int r = Interlocked.Decrement(ref _refs);
        if (r == 0)
        {
            var p = _ptr;
            _ptr = null;
            CpuBufferPool.Shared.Return(p, Bytes);
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Safety net for tensors that were never disposed.</summary>
    ~Storage()
    {
        if (_ptr != null) { System.Runtime.InteropServices.NativeMemory.AlignedFree(_ptr); _ptr = null; }
    }
}

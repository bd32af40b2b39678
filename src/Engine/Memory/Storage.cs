// The reference-counted buffer behind one or more tensor views. A view adds a reference,
// Dispose removes one; the last one returns the buffer to the pool (CPU) or to the device's
// caching allocator (CUDA). If tensors are dropped without Dispose, the finalizer still frees
// CPU memory (to the OS, not the pool) and queues CUDA blocks for the allocator to take back
// on its next allocation: the finalizer thread never calls CUDA.
// WriteVersion counts hand-outs of the memory's address (CPU pointer or device pointer): every
// write, from an optimizer step, a checkpoint load, copy_, an in-place op or a kernel, goes through
// one, so data derived from the contents (DerivedCache: packed GEMM weights) is stale once it moves.
using Cochlea.Cuda;

namespace Cochlea.Memory;

/// <summary>A pooled, 64-byte-aligned CPU buffer, or a block of device memory, shared by tensor views.</summary>
public sealed unsafe class Storage
{
    void* _ptr;
    ulong _dptr;
    readonly CudaDevice? _cuda;
    int _refs = 1;
    long _writeVersion;

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
    /// <exception cref="Cochlea.Cuda.CudaException">CUDA is unavailable (the message says why) or the device is out of memory.</exception>
    public Storage(long bytes, Device device)
    {
        Bytes = bytes;
        Device = device;
        if (device.IsCpu) { _ptr = CpuBufferPool.Shared.Rent(bytes); return; }
        _cuda = CudaBackend.Get(device.Index);
        _dptr = _cuda.Allocate(bytes);
    }

    /// <summary>
    /// Changes (grows) whenever <see cref="Pointer"/> or <see cref="DevicePointer"/> is handed out, i.e. before any write
    /// to the contents: a value derived from the contents while the version stayed the same is still valid. Conservative:
    /// reads through those pointers bump it too. Writes through a pointer taken BEFORE the derived value was made are not
    /// seen, so take a fresh pointer for each write (every op, optimizer and loader does).
    /// </summary>
    public long WriteVersion => Volatile.Read(ref _writeVersion);

    /// <summary>Device address of a CUDA buffer (throws for CPU storage or once released).</summary>
    public ulong DevicePointer
    {
        get
        {
            Interlocked.Increment(ref _writeVersion);
            return _cuda is null ? throw new InvalidOperationException("This tensor's memory is on the CPU: it has no device pointer; move it with .To(Device.Cuda(0)) first.")
                : _dptr != 0 ? _dptr : throw Released();
        }
    }

    /// <summary>Start of a CPU buffer (bumps <see cref="WriteVersion"/>); throws once released, and for CUDA memory (which the host cannot read).</summary>
    public void* Pointer
    {
        get
        {
            Interlocked.Increment(ref _writeVersion);
            return ReadPointer;
        }
    }

    /// <summary>As <see cref="Pointer"/> without bumping <see cref="WriteVersion"/>: for operands a kernel only READS (a weight in a
    /// GEMM, a copy's source), so reading a weight does not stale what was derived from it. Never write through it.</summary>
    internal void* ReadPointer =>
        _ptr != null ? _ptr
        : _cuda is not null && _dptr != 0 ? throw new InvalidOperationException($"This tensor's memory lives on {Device}; copy it with .To(Device.Cpu) to read it on the host.")
        : throw Released();

    static ObjectDisposedException Released() => new(nameof(Storage), "The tensor's memory was already released (the tensor or its scope was disposed).");

    /// <summary>True while at least one view holds the buffer.</summary>
    public bool IsAlive => _ptr != null || _dptr != 0;

    /// <summary>True when exactly one view holds the buffer (no other tensor can see its contents).</summary>
    internal bool IsExclusive => Volatile.Read(ref _refs) == 1;

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
            if (_cuda is not null)
            {
                var d = _dptr;
                _dptr = 0;
                _cuda.Free(d, Bytes);
            }
            else
            {
                var p = _ptr;
                _ptr = null;
                CpuBufferPool.Shared.Return(p, Bytes);
            }
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Safety net for tensors that were never disposed.</summary>
    ~Storage()
    {
        if (_ptr != null) { System.Runtime.InteropServices.NativeMemory.AlignedFree(_ptr); _ptr = null; }
        if (_dptr != 0) { _cuda!.FreeDeferred(_dptr); _dptr = 0; }
    }
}

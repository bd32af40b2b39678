// 64-byte-aligned host buffers, pooled by power-of-two size class so a training loop that
// allocates the same shapes every step reuses the same memory (flat memory over 10k steps)
// instead of going back to the OS allocator.
using System.Runtime.InteropServices;

namespace Cochlea.Memory;

/// <summary>Statistics of a <see cref="CpuBufferPool"/>.</summary>
/// <param name="BytesInUse">Bytes handed out and not yet returned (by size class).</param>
/// <param name="BytesCached">Bytes held in the pool for reuse.</param>
/// <param name="BytesAllocatedTotal">Bytes ever obtained from the OS (grows only on a pool miss).</param>
/// <param name="Allocations">Rent calls served.</param>
/// <param name="Misses">Rent calls that had to allocate new memory.</param>
public readonly record struct PoolStats(long BytesInUse, long BytesCached, long BytesAllocatedTotal, long Allocations, long Misses);

/// <summary>Thread-safe pool of 64-byte-aligned native buffers.</summary>
public sealed unsafe class CpuBufferPool
{
    /// <summary>Alignment of every buffer, in bytes: a cache line and one AVX-512 vector.</summary>
    public const int Alignment = 64;
    const int Classes = 48;

    readonly Stack<nint>[] _free = Enumerable.Range(0, Classes).Select(_ => new Stack<nint>()).ToArray();
    readonly object _lock = new();
    long _inUse, _cached, _total, _allocs, _misses;

    /// <summary>The process-wide pool of the CPU device.</summary>
    public static CpuBufferPool Shared { get; } = new();

    static int ClassOf(long bytes)
    {
        long size = Math.Max(bytes, Alignment);
        return 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)(size - 1));
    }

    /// <summary>Capacity, in bytes, of the buffer <see cref="Rent"/> returns for a request of <paramref name="bytes"/>.</summary>
    public static long CapacityFor(long bytes) => 1L << ClassOf(bytes);

    /// <summary>Returns a buffer of at least <paramref name="bytes"/> bytes (contents undefined).</summary>
    public void* Rent(long bytes)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "Buffer size cannot be negative.");
        int c = ClassOf(bytes);
        long cap = 1L << c;
        lock (_lock)
        {
            _allocs++;
            _inUse += cap;
            if (_free[c].TryPop(out nint p)) { _cached -= cap; return (void*)p; }
            _misses++;
            _total += cap;
        }
        try
        {
            return NativeMemory.AlignedAlloc((nuint)cap, Alignment);
        }
        catch (OutOfMemoryException)
        {
            lock (_lock) { _inUse -= cap; _total -= cap; }
            EmptyCache();
            try { return NativeMemory.AlignedAlloc((nuint)cap, Alignment); }
            catch (OutOfMemoryException e)
            {
                throw new OutOfMemoryException(
                    $"Cochlea CPU allocator: could not allocate {cap:N0} bytes ({Stats.BytesInUse:N0} bytes in use by tensors). " +
                    "Reduce the batch size or dispose tensors you no longer need (use Tensor.Scope() around training steps).", e);
            }
        }
    }

    /// <summary>Returns a buffer obtained from <see cref="Rent"/> with the same <paramref name="bytes"/>.</summary>
    public void Return(void* p, long bytes)
    {
        int c = ClassOf(bytes);
        long cap = 1L << c;
        lock (_lock)
        {
            _inUse -= cap;
            _cached += cap;
            _free[c].Push((nint)p);
        }
    }

    /// <summary>Frees every cached (unused) buffer back to the OS.</summary>
    public void EmptyCache()
    {
        lock (_lock)
        {
            for (int c = 0; c < Classes; c++)
                while (_free[c].TryPop(out nint p))
                {
                    NativeMemory.AlignedFree((void*)p);
                    _total -= 1L << c;
                }
            _cached = 0;
        }
    }

    /// <summary>Current statistics.</summary>
    public PoolStats Stats { get { lock (_lock) return new(_inUse, _cached, _total, _allocs, _misses); } }
}

// The caching device allocator, one per GPU. cuMemAlloc/cuMemFree are slow and synchronising,
// so blocks are kept after Free and handed out again for requests of the same size class.
//
// Size classes:
//   small (<= 1 MiB): rounded up to a multiple of 512 B and carved, bump-pointer style, out of
//                     2 MiB segments (one cuMemAlloc serves many small tensors);
//   large (>  1 MiB): rounded up to a multiple of 2 MiB, one segment each.
// A freed block goes to the free list of its rounded size; a request takes from that list
// first (a cache hit). Training repeats the same shapes every step, so exact-size reuse keeps
// memory flat without splitting/merging blocks.
//
// Stream order: every kernel and copy of a device runs on its one compute stream, so a block
// freed by the host is safe to give to later work at once: that work is queued behind
// everything that used the block. Work on another stream must synchronise before freeing.
//
// The bookkeeping is plain C# over IDeviceMemory (cuMemAlloc/cuMemFree/cuMemGetInfo on a GPU,
// a fake in the CPU unit tests), so it is tested without a GPU.
using System.Collections.Concurrent;

namespace Cochlea.Cuda.Memory;

/// <summary>The raw device memory calls the allocator sits on.</summary>
public interface IDeviceMemory
{
    /// <summary>Allocates <paramref name="bytes"/>; false when the device is out of memory (other failures throw).</summary>
    bool TryAllocate(long bytes, out ulong ptr);

    /// <summary>Frees memory from <see cref="TryAllocate"/>.</summary>
    void Free(ulong ptr);

    /// <summary>Free and total device memory in bytes (cuMemGetInfo).</summary>
    (long Free, long Total) Info();
}

/// <summary>Counters of a <see cref="CachingAllocator"/> (bytes are rounded block sizes, as PyTorch reports them).</summary>
/// <param name="AllocatedBytes">Bytes in blocks handed out and not yet freed.</param>
/// <param name="ReservedBytes">Bytes obtained from the device (cuMemAlloc) and not yet returned: allocated plus cached.</param>
/// <param name="PeakAllocatedBytes">Maximum of AllocatedBytes so far.</param>
/// <param name="PeakReservedBytes">Maximum of ReservedBytes so far.</param>
/// <param name="DeviceAllocations">Number of cuMemAlloc calls that succeeded.</param>
/// <param name="DeviceFrees">Number of cuMemFree calls (EmptyCache, out-of-memory recovery).</param>
/// <param name="Requests">Number of Allocate calls.</param>
/// <param name="CacheHits">Allocate calls served from a free list.</param>
public readonly record struct AllocatorStatistics(
    long AllocatedBytes, long ReservedBytes, long PeakAllocatedBytes, long PeakReservedBytes,
    long DeviceAllocations, long DeviceFrees, long Requests, long CacheHits);

/// <summary>Size-class caching allocator over an <see cref="IDeviceMemory"/>. Thread-safe.</summary>
public sealed class CachingAllocator
{
    /// <summary>Largest request served from small segments.</summary>
    public const long SmallLimit = 1L << 20;
    /// <summary>Granularity of small requests.</summary>
    public const long SmallGranule = 512;
    /// <summary>Size of a small segment, and granularity of large requests.</summary>
    public const long SegmentGranule = 2L << 20;

    sealed class Segment(ulong basePtr, long size)
    {
        public readonly ulong Base = basePtr;
        public readonly long Size = size;
        public long Used;  // small segments: bump offset of the next carve
        public int Live;   // blocks of this segment currently handed out
    }

    sealed record Block(ulong Ptr, long Size, Segment Segment);

    readonly IDeviceMemory _memory;
    readonly string _deviceName;
    readonly object _gate = new();
    readonly Dictionary<long, Stack<Block>> _free = [];
    readonly Dictionary<ulong, Block> _live = [];
    readonly List<Segment> _segments = [];
    readonly ConcurrentQueue<ulong> _deferred = new();
    Segment? _carving;
    long _allocated, _reserved, _peakAllocated, _peakReserved, _mallocs, _frees, _requests, _hits;

    /// <summary>An allocator over <paramref name="memory"/>; <paramref name="deviceName"/> ("cuda:0") appears in errors.</summary>
    public CachingAllocator(IDeviceMemory memory, string deviceName)
    {
        _memory = memory;
        _deviceName = deviceName;
    }

    /// <summary>The size class of a request of <paramref name="bytes"/> (at least 512 B).</summary>
    public static long RoundSize(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes <= SmallLimit) return Math.Max(1, (bytes + SmallGranule - 1) / SmallGranule) * SmallGranule;
        return (bytes + SegmentGranule - 1) / SegmentGranule * SegmentGranule;
    }

    /// <summary>A block of at least <paramref name="bytes"/> (256-byte aligned, as cuMemAlloc's segments are and 512 B classes keep).</summary>
    /// <exception cref="CudaException">The device is out of memory even after the cache was emptied; the message gives the sizes and the fix.</exception>
    public ulong Allocate(long bytes)
    {
        long size = RoundSize(bytes);
        lock (_gate)
        {
            DrainDeferred();
            _requests++;
            Block block;
            if (_free.TryGetValue(size, out var list) && list.Count > 0) { block = list.Pop(); _hits++; }
            else if (size <= SmallLimit) block = Carve(bytes, size);
            else { var seg = Reserve(bytes, size); block = new Block(seg.Base, size, seg); }
            block.Segment.Live++;
            _live.Add(block.Ptr, block);
            _allocated += size;
            _peakAllocated = Math.Max(_peakAllocated, _allocated);
            return block.Ptr;
        }
    }

    Block Carve(long requested, long size)
    {
        if (_carving is null || _carving.Size - _carving.Used < size) _carving = Reserve(requested, SegmentGranule);
        var b = new Block(_carving.Base + (ulong)_carving.Used, size, _carving);
        _carving.Used += size;
        return b;
    }

    // A new segment from the device; on out-of-memory, empty the cache and try once more.
    Segment Reserve(long requested, long size)
    {
        if (!_memory.TryAllocate(size, out var ptr))
        {
            ReleaseCached();
            if (!_memory.TryAllocate(size, out ptr)) throw new CudaException(OutOfMemoryMessage(requested, size)) { IsOutOfMemory = true };
        }
        _mallocs++;
        var seg = new Segment(ptr, size);
        _segments.Add(seg);
        _reserved += size;
        _peakReserved = Math.Max(_peakReserved, _reserved);
        return seg;
    }

    string OutOfMemoryMessage(long requested, long size)
    {
        string info;
        try { var (free, total) = _memory.Info(); info = $"the device reports {Format(free)} free of {Format(total)}"; }
        catch (CudaException e) { info = "cuMemGetInfo failed too: " + e.Message; }
        return $"CUDA out of memory on {_deviceName}: tried to allocate {Format(requested)} (size class {Format(size)}); " +
               $"live tensors hold {Format(_allocated)}, this allocator has {Format(_reserved)} reserved (cached blocks were already returned to the driver and the allocation retried); {info}. " +
               "Fix: use a smaller batch, dispose tensors you no longer need (Tensor.Scope() around each step), or free other processes' GPU memory.";
    }

    /// <summary>"1.50 MiB".</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.00} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.00} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.00} KiB",
        _ => $"{bytes} B",
    };

    /// <summary>Returns block <paramref name="ptr"/> to the cache (no device call).</summary>
    /// <exception cref="InvalidOperationException">The pointer is not a live block of this allocator (double free or a foreign pointer).</exception>
    public void Free(ulong ptr)
    {
        lock (_gate) FreeLocked(ptr);
    }

    void FreeLocked(ulong ptr)
    {
        if (!_live.Remove(ptr, out var b))
            throw new InvalidOperationException($"CachingAllocator({_deviceName}).Free(0x{ptr:x}): not a live block of this allocator (freed twice, or not allocated here).");
        b.Segment.Live--;
        _allocated -= b.Size;
        if (!_free.TryGetValue(b.Size, out var list)) _free[b.Size] = list = new Stack<Block>();
        list.Push(b);
    }

    /// <summary>Queues <paramref name="ptr"/> to be freed on the next Allocate/EmptyCache: for finalizers, which must not take locks or call CUDA.</summary>
    public void FreeDeferred(ulong ptr) => _deferred.Enqueue(ptr);

    void DrainDeferred()
    {
        while (_deferred.TryDequeue(out var p)) FreeLocked(p);
    }

    /// <summary>Returns every segment with no live block to the device (cuMemFree). Live tensors are untouched.</summary>
    public void EmptyCache()
    {
        lock (_gate)
        {
            DrainDeferred();
            ReleaseCached();
        }
    }

    void ReleaseCached()
    {
        var idle = _segments.Where(s => s.Live == 0).ToHashSet();
        if (idle.Count == 0) return;
        foreach (var key in _free.Keys.ToList())
        {
            var kept = _free[key].Where(b => !idle.Contains(b.Segment)).Reverse().ToArray();
            if (kept.Length == 0) _free.Remove(key); else _free[key] = new Stack<Block>(kept);
        }
        foreach (var s in idle)
        {
            _memory.Free(s.Base);
            _frees++;
            _reserved -= s.Size;
            _segments.Remove(s);
            if (ReferenceEquals(s, _carving)) _carving = null;
        }
    }

    /// <summary>A snapshot of the counters (pending finalizer frees included).</summary>
    public AllocatorStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                DrainDeferred();
                return new(_allocated, _reserved, _peakAllocated, _peakReserved, _mallocs, _frees, _requests, _hits);
            }
        }
    }

    /// <summary>Restarts the peak counters at the current values.</summary>
    public void ResetPeaks()
    {
        lock (_gate) { _peakAllocated = _allocated; _peakReserved = _reserved; }
    }
}

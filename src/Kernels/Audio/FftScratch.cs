// Scratch memory for the FFT-based kernels: pinned, 64-byte aligned float blocks that are allocated once
// and reused (no allocation per call), plus a grow-only per-thread block for the single-transform
// convenience calls and a small thread-safe pool for the batched kernels' per-worker workspaces.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cochlea.Kernels.Audio;

/// <summary>A pinned float block whose usable part starts on a 64-byte boundary.</summary>
internal sealed unsafe class PinnedFloats
{
    readonly float[] _array;

    /// <summary>First usable element (64-byte aligned).</summary>
    public readonly float* Ptr;

    /// <summary>Usable floats from <see cref="Ptr"/>.</summary>
    public readonly long Length;

    /// <summary>A tag the owner may use (e.g. the SIMD width this workspace was carved for).</summary>
    public int Tag;

    public PinnedFloats(long length)
    {
        Length = length;
        _array = GC.AllocateArray<float>(checked((int)(length + 16)), pinned: true);
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
        Ptr = (float*)((p + 63) & ~(nint)63);
    }

    [ThreadStatic] static PinnedFloats? t_scratch;

    /// <summary>
    /// This thread's scratch block of at least <paramref name="floats"/> floats (contents undefined). Valid until
    /// the next call on the same thread, so a caller must not hold it across another kernel call that uses it.
    /// </summary>
    public static float* ThreadScratch(long floats)
    {
        var s = t_scratch;
        if (s is null || s.Length < floats) t_scratch = s = new PinnedFloats(Math.Max(floats, 4096));
        return s.Ptr;
    }
}

/// <summary>Thread-safe pool of workspaces keyed by a tag (the SIMD width); rent one per worker, return it after.</summary>
internal sealed class WorkspacePool
{
    readonly List<PinnedFloats> _free = [];
    readonly Func<int, long> _size;

    /// <param name="size">Floats needed for a given tag.</param>
    public WorkspacePool(Func<int, long> size) => _size = size;

    public PinnedFloats Rent(int tag)
    {
        lock (_free)
            for (int i = _free.Count - 1; i >= 0; i--)
                if (_free[i].Tag == tag) { var w = _free[i]; _free.RemoveAt(i); return w; }
        return new PinnedFloats(_size(tag)) { Tag = tag };
    }

    public void Return(PinnedFloats w)
    {
        lock (_free) _free.Add(w);
    }
}

/// <summary>
/// One reusable grow-only block for a kernel's intermediate (e.g. the log-mel rows before the MFCC DCT). A call takes
/// it (or allocates a fresh one if another thread holds it, so concurrent calls stay correct) and gives it back.
/// </summary>
internal sealed class ScratchSlot
{
    PinnedFloats? _block;

    public PinnedFloats Take(long floats)
    {
        var b = Interlocked.Exchange(ref _block, null);
        return b is not null && b.Length >= floats ? b : new PinnedFloats(Math.Max(floats, 1024));
    }

    public void Give(PinnedFloats b) => Volatile.Write(ref _block, b);
}

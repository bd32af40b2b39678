// Reading a small result back without waiting for the work queued after it. A training loop that reads step k's
// loss with CopyToHost after enqueuing step k+1 still waits for step k+1: the copy is issued behind it. Here the copy
// is queued at step k's end into pinned memory with an event behind it; the read waits for that event only, so the
// GPU keeps step k+1 queued while the host reads step k and prepares step k+2.
using System.Numerics;
using Cochlea.Cuda.Driver;
using Cochlea.Cuda.Memory;

namespace Cochlea.Cuda;

public sealed unsafe partial class CudaDevice
{
    // Free (pinned buffer, event) pairs; a read takes one and gives it back when read. Small: a loop has one or two
    // reads in flight, and a pinned allocation (cuMemHostAlloc) costs far more than a kernel launch.
    const int ReadbackSlotsKept = 4;
    const long ReadbackMinBytes = 4 << 10;
    readonly object _readbackGate = new();
    readonly List<(PinnedBuffer Buffer, EventHandle Done)> _readbackSlots = new();

    /// <summary>
    /// Queues a copy of <paramref name="bytes"/> at <paramref name="src"/> to pinned host memory on the compute stream and
    /// returns at once; <see cref="PendingReadback.CopyTo"/> later waits for the work queued up to this call, not after it.
    /// The source may be freed right after this returns (the allocator is stream-ordered). Device-side input checks are
    /// reported at the next synchronisation, as ever, not by the read.
    /// </summary>
    internal PendingReadback ReadLater(ulong src, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        MakeCurrent();
        var slot = TakeReadbackSlot(bytes);
        try
        {
            if (bytes > 0)
                DriverCheck.Check(NativeMethods.cuMemcpyDtoHAsync(slot.Buffer.Pointer, src, (nuint)bytes, Stream), $"cuMemcpyDtoHAsync({bytes} B, read later)");
            DriverCheck.Check(NativeMethods.cuEventRecord(slot.Done.DangerousGetHandle(), Stream), "cuEventRecord(read later)");
        }
        catch { ReturnReadbackSlot(slot); throw; }
        return new PendingReadback(this, slot, bytes);
    }

    (PinnedBuffer Buffer, EventHandle Done) TakeReadbackSlot(long bytes)
    {
        lock (_readbackGate)
            for (int i = 0; i < _readbackSlots.Count; i++)
                if (_readbackSlots[i].Buffer.Bytes >= bytes)
                {
                    var s = _readbackSlots[i];
                    _readbackSlots.RemoveAt(i);
                    return s;
                }
        var buffer = new PinnedBuffer(Math.Max(ReadbackMinBytes, (long)BitOperations.RoundUpToPowerOf2((ulong)bytes)));
        try { return (buffer, EventHandle.Create(timing: false)); }
        catch { buffer.Dispose(); throw; }
    }

    // The slot's copy has finished (its event was waited for).
    void ReturnReadbackSlot((PinnedBuffer Buffer, EventHandle Done) slot)
    {
        lock (_readbackGate)
            if (_readbackSlots.Count < ReadbackSlotsKept) { _readbackSlots.Add(slot); return; }
        MakeCurrent();
        slot.Done.Dispose();
        slot.Buffer.Dispose();
    }

    /// <summary>A copy queued by <see cref="ReadLater"/>: read it once with <see cref="CopyTo"/>, or dispose it.</summary>
    internal sealed class PendingReadback : IDisposable
    {
        readonly CudaDevice _device;
        (PinnedBuffer Buffer, EventHandle Done)? _slot;

        internal PendingReadback(CudaDevice device, (PinnedBuffer, EventHandle) slot, long bytes)
        {
            _device = device;
            _slot = slot;
            Bytes = bytes;
        }

        /// <summary>Bytes the copy moves.</summary>
        public long Bytes { get; }

        /// <summary>Waits for the copy (and what was queued before it), then copies the bytes to <paramref name="dst"/>.</summary>
        public void CopyTo(void* dst)
        {
            var slot = _slot ?? throw new ObjectDisposedException(nameof(PendingReadback), "this read-back was already read or disposed.");
            _slot = null;
            try
            {
                WaitFor(slot);
                System.Buffer.MemoryCopy(slot.Buffer.Pointer, dst, Bytes, Bytes);
            }
            finally { _device.ReturnReadbackSlot(slot); }
        }

        /// <summary>Waits for the copy if it was not read (its pinned buffer must not be reused while the DMA may run).</summary>
        public void Dispose()
        {
            if (_slot is not { } slot) return;
            _slot = null;
            try { WaitFor(slot); }
            finally { _device.ReturnReadbackSlot(slot); }
        }

        void WaitFor((PinnedBuffer Buffer, EventHandle Done) slot)
        {
            _device.MakeCurrent();
            Interlocked.Increment(ref _device._hostWaits);
            DriverCheck.Check(NativeMethods.cuEventSynchronize(slot.Done.DangerousGetHandle()), "cuEventSynchronize(read later) (an earlier kernel or copy may have failed)");
        }
    }
}

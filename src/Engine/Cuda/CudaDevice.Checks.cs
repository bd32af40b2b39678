// Input checks done on the GPU (class labels, target ranges, gather indices), reported at the next point where
// the host waits for the stream anyway. Reading a flag back right after the kernel would wait for everything
// queued before it (the whole forward pass) in the middle of a training step; PyTorch checks on the device and
// reports asynchronously too. A kernel records the lowest failing position and its value in one 8-byte slot of
// a reusable per-device buffer (common.cuh: check_failed); Synchronize, CopyToHost and EmptyCache read the used
// slots, clear them and throw the first failure. The host-wait counter lets tests prove a step never waits.
using Cochlea.Cuda.Driver;

namespace Cochlea.Cuda;

/// <summary>
/// A failed device-side check as a kernel recorded it: the lowest failing position and the 32 bits of the value
/// there (a float's bits, or an integer clamped to the int32 range).
/// </summary>
internal readonly record struct DeviceCheckFailure(long Position, uint Bits)
{
    /// <summary>Positions from this one on are stored as this one (the slot keeps 32 bits of position).</summary>
    public const long SaturatedPosition = 0xFFFF_FFFEL;

    /// <summary>"position 3", or "position >= 4294967294" beyond what a slot holds.</summary>
    public string PositionText => Position >= SaturatedPosition ? $"position >= {SaturatedPosition}" : $"position {Position}";

    /// <summary>The value as a float (float checks).</summary>
    public float Float => BitConverter.UInt32BitsToSingle(Bits);

    /// <summary>The value as an integer clamped to int32 (integer checks).</summary>
    public int Int => unchecked((int)Bits);

    /// <summary>The integer value as text; a clamped value says so ("&gt;= 2147483647").</summary>
    public string IntText => Int switch { int.MaxValue => $">= {int.MaxValue}", int.MinValue => $"<= {int.MinValue}", var v => v.ToString() };
}

/// <summary>
/// What a deferred check's message is built from, captured when the kernel is launched: cheap values only (no formatted
/// text, no tensor: it may be disposed before the report), so registering a check allocates nothing.
/// </summary>
internal readonly record struct CheckContext(long Value = 0, int[]? Shape = null, string? Name = null);

public sealed unsafe partial class CudaDevice
{
    /// <summary>Checks that may be pending at once; one more first waits for the stream and reports (never in a step that syncs).</summary>
    internal const int CheckSlots = 256;

    readonly object _checkGate = new();
    // A static builder and its context per slot (no closure per check: a training step registers one per loss call).
    readonly List<(Func<DeviceCheckFailure, CheckContext, CudaDevice, Exception> Build, CheckContext Context)> _pendingChecks = new();
    ulong _checkBuffer;   // CheckSlots u64 slots; 0 = passed, else ~((position << 32) | value bits)
    Exception? _folded;   // the first failure read when the slots ran out, thrown at the next synchronisation
    long _hostWaits;

    /// <summary>Calls that made the host wait for the compute stream (Synchronize, CopyToHost, a staging upload waiting for its buffer).</summary>
    internal long HostWaits => Interlocked.Read(ref _hostWaits);

    /// <summary>Device-side checks registered and not yet read.</summary>
    internal int PendingChecks { get { lock (_checkGate) return _pendingChecks.Count; } }

    /// <summary>
    /// Registers a check a kernel about to be launched performs, and returns its slot (a device pointer to one zeroed
    /// u64, the kernel's <c>check</c> argument). When the kernel records a failure, <paramref name="failure"/> builds the
    /// exception thrown at the next synchronisation from the failure, <paramref name="context"/> and this device; its
    /// message should end with <see cref="DeferredNote"/>. Pass a static lambda: it is allocated once, not per call.
    /// </summary>
    internal ulong DeferCheck(Func<DeviceCheckFailure, CheckContext, CudaDevice, Exception> failure, CheckContext context = default)
    {
        lock (_checkGate)
        {
            if (_pendingChecks.Count == CheckSlots)
            {
                // Bounded: a caller that never synchronises pays one wait per CheckSlots checks; a failure read
                // here still waits for the next synchronisation (an op's call never throws a deferred check).
                WaitForStream();
                _folded ??= ReadChecksLocked();
            }
            if (_checkBuffer == 0)
            {
                _checkBuffer = Allocate(CheckSlots * sizeof(ulong));   // kept for the device's lifetime
                Zero(_checkBuffer, CheckSlots * sizeof(ulong));
            }
            _pendingChecks.Add((failure, context));
            return _checkBuffer + (ulong)(_pendingChecks.Count - 1) * sizeof(ulong);
        }
    }

    /// <summary>The end of a deferred check's message: where it was checked and when it is reported.</summary>
    internal string DeferredNote => $"checked on cuda:{Index} and reported at the next synchronisation";

    // cuStreamSynchronize without reporting checks (the allocator's frees, and the sync points before they report).
    void WaitForStream()
    {
        MakeCurrent();
        Interlocked.Increment(ref _hostWaits);
        DriverCheck.Check(NativeMethods.cuStreamSynchronize(Stream), $"cuStreamSynchronize(cuda:{Index}) (an earlier kernel or copy may have failed)");
        _staging.StreamDrained();
    }

    // After the stream has been waited for: reads and clears the pending checks, throws the first failed one.
    void ReportChecks()
    {
        lock (_checkGate) ReportChecksLocked();
    }

    void ReportChecksLocked()
    {
        var read = ReadChecksLocked();   // always: the slots after a fold are pending too
        var first = _folded ?? read;
        _folded = null;
        if (first is not null) throw first;
    }

    // Reads the used slots (the stream has been waited for), clears them and the list; the first failure or null.
    Exception? ReadChecksLocked()
    {
        int n = _pendingChecks.Count;
        if (n == 0) return null;
        var slots = stackalloc ulong[n];
        _staging.ToHost((byte*)slots, _checkBuffer, n * sizeof(ulong));
        Zero(_checkBuffer, n * sizeof(ulong));   // ordered before any later kernel that gets one of these slots
        Exception? first = null;
        for (int i = 0; i < n && first is null; i++)
            if (slots[i] != 0)
            {
                ulong packed = ~slots[i];
                var (build, context) = _pendingChecks[i];
                first = build(new DeviceCheckFailure((long)(packed >> 32), (uint)packed), context, this);
            }
        _pendingChecks.Clear();
        return first;
    }
}

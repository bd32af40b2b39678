// SafeHandles for the driver objects the runtime owns: the retained primary context, modules,
// streams and events. Release errors are ignored (ReleaseHandle must not throw); the driver
// frees everything at process exit anyway.
using System.Runtime.InteropServices;

namespace Cochlea.Cuda.Driver;

/// <summary>A device's primary context, retained with cuDevicePrimaryCtxRetain and released with cuDevicePrimaryCtxRelease.</summary>
public sealed unsafe class PrimaryContextHandle : SafeHandle
{
    /// <summary>The CUdevice the context belongs to.</summary>
    public int CuDevice { get; }

    PrimaryContextHandle(nint ctx, int device) : base(0, true) { SetHandle(ctx); CuDevice = device; }

    /// <summary>Retains the primary context of CUdevice <paramref name="device"/> (from cuDeviceGet).</summary>
    public static PrimaryContextHandle Retain(int device)
    {
        nint ctx;
        DriverCheck.Check(NativeMethods.cuDevicePrimaryCtxRetain(&ctx, device), $"cuDevicePrimaryCtxRetain(device {device})");
        return new PrimaryContextHandle(ctx, device);
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => NativeMethods.cuDevicePrimaryCtxRelease(CuDevice) == CuResult.Success;
}

/// <summary>A CUstream created with cuStreamCreate.</summary>
public sealed unsafe class StreamHandle : SafeHandle
{
    StreamHandle(nint s) : base(0, true) => SetHandle(s);

    /// <summary>Creates a non-blocking stream in the current context.</summary>
    public static StreamHandle Create()
    {
        nint s;
        DriverCheck.Check(NativeMethods.cuStreamCreate(&s, CuFlags.StreamNonBlocking), "cuStreamCreate");
        return new StreamHandle(s);
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => NativeMethods.cuStreamDestroy(handle) == CuResult.Success;
}

/// <summary>A CUevent created with cuEventCreate.</summary>
public sealed unsafe class EventHandle : SafeHandle
{
    EventHandle(nint e) : base(0, true) => SetHandle(e);

    /// <summary>Creates an event in the current context (<paramref name="timing"/>: whether elapsed times can be read).</summary>
    public static EventHandle Create(bool timing)
    {
        nint e;
        DriverCheck.Check(NativeMethods.cuEventCreate(&e, timing ? CuFlags.EventDefault : CuFlags.EventDisableTiming), "cuEventCreate");
        return new EventHandle(e);
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => NativeMethods.cuEventDestroy(handle) == CuResult.Success;
}

/// <summary>A CUmodule loaded with cuModuleLoadData (a CUBIN or PTX image).</summary>
public sealed unsafe class CuModuleHandle : SafeHandle
{
    CuModuleHandle(nint m) : base(0, true) => SetHandle(m);

    /// <summary>Loads <paramref name="image"/> (CUBIN bytes, or NUL-terminated PTX) into the current context; <paramref name="what"/> names it in errors.</summary>
    public static CuModuleHandle Load(ReadOnlySpan<byte> image, string what)
    {
        nint m;
        fixed (byte* p = image) DriverCheck.Check(NativeMethods.cuModuleLoadData(&m, p), $"cuModuleLoadData({what})");
        return new CuModuleHandle(m);
    }

    /// <summary>The kernel <paramref name="name"/> in this module.</summary>
    public nint GetFunction(string name)
    {
        nint f;
        DriverCheck.Check(NativeMethods.cuModuleGetFunction(&f, handle, name), $"cuModuleGetFunction({name})");
        return f;
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => NativeMethods.cuModuleUnload(handle) == CuResult.Success;
}

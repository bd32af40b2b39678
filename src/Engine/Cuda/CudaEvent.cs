// CUDA events on a device's compute stream: mark a point in the queued work, wait for it, and
// time the GPU between two marks (cuEventRecord / cuEventSynchronize / cuEventElapsedTime).
using Cochlea.Cuda.Driver;

namespace Cochlea.Cuda;

/// <summary>An event recorded on a device's compute stream. Dispose it when done.</summary>
public sealed unsafe class CudaEvent : IDisposable
{
    readonly CudaDevice _device;
    readonly EventHandle _handle;

    /// <summary>Creates an event on <paramref name="device"/>; <paramref name="timing"/> false makes it cheaper but unusable for <see cref="ElapsedMilliseconds"/>.</summary>
    public CudaEvent(CudaDevice device, bool timing = true)
    {
        _device = device;
        device.MakeCurrent();
        _handle = EventHandle.Create(timing);
    }

    internal nint Handle => _handle.DangerousGetHandle();

    /// <summary>Marks the current end of the compute stream's queue.</summary>
    public void Record()
    {
        _device.MakeCurrent();
        DriverCheck.Check(NativeMethods.cuEventRecord(Handle, _device.Stream), "cuEventRecord");
    }

    /// <summary>Blocks until the work queued before <see cref="Record"/> has finished.</summary>
    public void Synchronize()
    {
        _device.MakeCurrent(); // the calling thread may not have the context current (events are waited on anywhere)
        DriverCheck.Check(NativeMethods.cuEventSynchronize(Handle), "cuEventSynchronize");
    }

    /// <summary>GPU milliseconds from <paramref name="start"/> to this event (both recorded and finished; waits for this one).</summary>
    public float ElapsedMilliseconds(CudaEvent start)
    {
        Synchronize();
        float ms;
        DriverCheck.Check(NativeMethods.cuEventElapsedTime(&ms, start.Handle, Handle), "cuEventElapsedTime");
        return ms;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_handle.IsClosed) return;
        _device.MakeCurrent(); // cuEventDestroy needs the context current on this thread, else the event leaks
        _handle.Dispose();
    }
}

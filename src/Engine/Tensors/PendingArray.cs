// The elements of a tensor on their way to the host (Tensor.ReadLater): the copy was queued when this was made;
// Wait returns the values. Dispose one that is never read, so its pinned buffer goes back to the device.
using Cochlea.Cuda;

namespace Cochlea;

/// <summary>A tensor's float32 elements being copied to the host; read them once with <see cref="Wait"/>.</summary>
public sealed unsafe class PendingArray : IDisposable
{
    float[]? _values;
    CudaDevice.PendingReadback? _copy;
    readonly int _count;

    internal PendingArray(float[] values) => (_values, _count) = (values, values.Length);

    internal PendingArray(CudaDevice.PendingReadback copy, int count) => (_copy, _count) = (copy, count);

    /// <summary>Number of elements.</summary>
    public int Length => _count;

    /// <summary>The elements (row-major); waits for the copy if it has not finished. Later calls return the same array.</summary>
    public float[] Wait()
    {
        if (_values is not null) return _values;
        var copy = _copy ?? throw new ObjectDisposedException(nameof(PendingArray), "this read was disposed before it was waited for.");
        var v = new float[_count];
        fixed (float* p = v) copy.CopyTo(p);
        _copy = null;
        return _values = v;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _copy?.Dispose();
        _copy = null;
    }
}

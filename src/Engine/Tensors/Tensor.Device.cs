// Moving elements between devices: the one strided-copy dispatch every copy goes through
// (CPU loops, the CUDA copy kernel, or host<->device transfers of contiguous data), creation
// on a device, and the in-place move Module.To uses.
using Cochlea.Cuda;

namespace Cochlea;

public sealed unsafe partial class Tensor
{
    /// <summary>dst[idx] = src[idx] for tensors of one shape and dtype, on any devices and with any strides.</summary>
    internal static void CopyElements(Tensor src, Tensor dst)
    {
        Device from = src.Device, to = dst.Device;
        if (src.Numel == 0) return;
        if (from.IsCpu && to.IsCpu)
        {
            StridedCopy.Copy((byte*)src.ReadRawPtr, src.StrideArray, (byte*)dst.RawPtr, dst.StrideArray, src._shape, src.DType.Size());
        }
        else if (from == to)
        {
            CudaTensorKernels.CopyStrided(src, dst);
        }
        else if (!dst.IsContiguous)
        {
            // Land contiguous on the destination's device first, then scatter there.
            using var tmp = Empty(src._shape, src.DType, to);
            CopyElements(src, tmp);
            CopyElements(tmp, dst);
        }
        else if (from.IsCpu)
        {
            using var c = src.ContiguousRaw();
            CudaBackend.Get(to.Index).CopyToDevice(dst.DevicePtr, c.ReadRawPtr, c.Numel * c.DType.Size());
        }
        else if (to.IsCpu)
        {
            using var c = src.ContiguousRaw();
            CudaBackend.Get(from.Index).CopyToHost(dst.RawPtr, c.DevicePtr, c.Numel * c.DType.Size());
        }
        else
        {
            // GPU to another GPU: through the host (rare; no peer access set up).
            using var host = Empty(src._shape, src.DType);
            CopyElements(src, host);
            CopyElements(host, dst);
        }
    }

    /// <summary>Zeros on <paramref name="device"/>.</summary>
    public static Tensor Zeros(Device device, params int[] shape)
    {
        if (device.IsCpu) return Zeros(shape);
        var t = Empty(shape, DType.Float32, device);
        CudaBackend.Get(device.Index).Zero(t.DevicePtr, t.Numel * sizeof(float));
        return t;
    }

    /// <summary>A float32 tensor filled with <paramref name="value"/> on <paramref name="device"/>.</summary>
    public static Tensor Full(Device device, float value, params int[] shape)
    {
        if (device.IsCpu) return Full(value, shape);
        var t = Empty(shape, DType.Float32, device);
        CudaTensorKernels.Fill(t, value);
        return t;
    }

    /// <summary>Ones on <paramref name="device"/>.</summary>
    public static Tensor Ones(Device device, params int[] shape) => Full(device, 1f, shape);

    /// <summary>A contiguous copy of this tensor's elements on the host, for reading a CUDA tensor (not recorded).</summary>
    internal Tensor HostCopy()
    {
        var h = Empty(_shape, DType);
        try { CopyElements(this, h); }
        catch { h.Dispose(); throw; }   // e.g. a failed device-side check reported by the copy
        return h;
    }

    /// <summary>
    /// Starts copying this float32 tensor's elements to the host and returns without waiting; <see cref="PendingArray.Wait"/>
    /// returns them, waiting only for the work queued before this call. A loop reads step k's loss after enqueuing step
    /// k+1 this way and the GPU never runs dry (<see cref="ToArray"/> there would wait for step k+1 too). On the CPU the
    /// elements are read at once. The tensor may be disposed right after this returns.
    /// </summary>
    public PendingArray ReadLater()
    {
        if (DType != DType.Float32) throw new InvalidOperationException($"ReadLater: {Describe()} is {DType}; it reads float32 tensors.");
        if (Device.IsCpu) return new PendingArray(ToArray());
        using var c = ContiguousRaw();
        return new PendingArray(CudaBackend.Get(Device.Index).ReadLater(c.DevicePtr, c.Numel * sizeof(float)), checked((int)c.Numel));
    }

    /// <summary>Element <paramref name="offset"/> (in elements from element [0,...,0]) of a CUDA tensor, read back as a float.</summary>
    float ReadDeviceElement(long offset)
    {
        long v = 0; // 8 bytes: room for any dtype
        int size = DType.Size();
        CudaBackend.Get(Device.Index).CopyToHost(&v, DevicePtr + (ulong)(offset * size), size);
        return DType switch
        {
            DType.Float32 => *(float*)&v,
            DType.Int32 => *(int*)&v,
            _ => v,
        };
    }

    /// <summary>
    /// Moves this tensor's elements to <paramref name="device"/> in place, keeping the object (and so its
    /// RequiresGrad, name and the references optimizers hold): the new storage is contiguous. Other views of the
    /// old storage keep it. For Module.To; only leaves may move.
    /// </summary>
    internal void MoveTo(Device device)
    {
        if (device == Device) return;
        if (!IsLeaf) throw new InvalidOperationException($"{Describe()} is the result of an op; only leaf tensors (parameters, buffers) can move in place.");
        Tensor y;
        using (TensorScope.Suspend()) y = Empty(_shape, DType, device);
        CopyElements(this, y);
        var old = _storage!;
        _storage = y._storage;
        y._storage = null; // y's reference now belongs to this tensor
        Offset = 0;
        _strides = null; // contiguous now; aliases of the old storage keep their own array
        old.Release();
        if (Grad is { } g && g.Device != device)
        {
            using (TensorScope.Suspend()) Grad = g.To(device);
            g.Dispose();
        }
    }
}

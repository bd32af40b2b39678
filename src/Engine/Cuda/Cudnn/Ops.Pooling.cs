// max / average pooling (1-d as 2-d with H = 1) on cuDNN (descriptors cached per shape, CudnnPooling) and global
// average pooling (dnn_planes.cu). cuDNN's semantics are the CPU's: max ignores the padding (reads it as -inf),
// average counts padded zeros in the divisor (CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING), output
// floor((in + 2p - k) / s) + 1 (ceil mode off).
// Max backward sends each output's gradient to the window maximum; on exact ties cuDNN and the CPU may pick
// different (equally valid) elements.
using Cochlea.Autograd;
using Cochlea.Cuda;
using Cochlea.Cuda.Cudnn;
using Cochlea.Kernels.Conv;

namespace Cochlea;

public static unsafe partial class Ops
{
    static Tensor PoolCuda(Tensor x, int spatial, ConvAxis ah, ConvAxis aw, bool max, string name)
    {
        var dev = CudaTensors.DeviceOf(name, x);
        int n = x.Size(0), c = x.Size(1);
        if ((long)n * c == 0)
            return CudaTensors.EmptyViaCpu(x.Device, t => Ops.Pool(t[0]!, spatial, (ah.Kernel, aw.Kernel), (ah.Stride, aw.Stride), (ah.PadBefore, aw.PadBefore), max, name), x);
        var shape = spatial == 2 ? new[] { n, c, ah.Out, aw.Out } : new[] { n, c, aw.Out };
        var y = CudaTensors.Empty(x.Device, shape);
        var xc = x.ContiguousRaw();   // kept: cuDNN's backward reads x and y
        // Descriptors made once per shape while it stays cached (cuDNN pads symmetrically: PadBefore both sides).
        var key = new PoolKey(max, n, c, ah.In, aw.In, ah.Out, aw.Out, ah.Kernel, aw.Kernel, ah.PadBefore, aw.PadBefore, ah.Stride, aw.Stride);
        using (var lease = dev.Pooling(key)) lease.Value.Forward(dev, xc.DevicePtr, y.DevicePtr);
        return BackwardPass.Record(y, name, [x], g =>
        {
            using var gc = g.ContiguousRaw();
            var dx = CudaTensors.Empty(x.Device, x.ShapeArray);
            // Looked up again, not kept from the forward: the shape may have been evicted since.
            using (var lease = dev.Pooling(key)) lease.Value.Backward(dev, xc.DevicePtr, y.DevicePtr, gc.DevicePtr, dx.DevicePtr);
            return [dx];
        });
    }

    static Tensor GlobalAvgPoolCuda(Tensor x, int planes, int size)
    {
        var dev = CudaTensors.DeviceOf("global_avg_pool", x);
        var y = CudaTensors.Empty(x.Device, x.Size(0), x.Size(1));
        using (var xc = x.ContiguousRaw())
        {
            ulong px = xc.DevicePtr, py = y.DevicePtr;
            int s = size;
            void** args = stackalloc void*[] { &px, &py, &s };
            if (planes > 0) dev.Launch("global_avg_pool_forward_f32", new Dim3((uint)planes), new Dim3(256), 0, args);
        }
        var inShape = x.ShapeArray;
        return BackwardPass.Record(y, "global_avg_pool", [x], g =>
        {
            using var gc = g.ContiguousRaw();
            var dx = CudaTensors.Empty(x.Device, inShape);
            ulong pg = gc.DevicePtr, pdx = dx.DevicePtr;
            long p = planes;
            int s = size;
            void** args = stackalloc void*[] { &pg, &pdx, &p, &s };
            CudaTensors.Launch(dev, "global_avg_pool_backward_f32", p * s, args);
            return [dx];
        });
    }
}

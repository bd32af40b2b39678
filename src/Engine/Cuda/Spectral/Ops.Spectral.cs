// stft, complex_abs and angle on CUDA. The STFT is framing (stft_frames_f32) + ONE GEMM of all frames with the
// basis of StftAdjointBasis (2*bins rows: w cos, -w sin, interleaved so the GEMM writes (re, im) pairs in place):
//   y (B*F, 2*bins) = frames (B*F, L) x basis^T (L, 2*bins);   dframes = g (B*F, 2*bins) x basis, then overlap-add.
// The basis is uploaded once per spec and device and kept as long as the spec lives.
using System.Runtime.CompilerServices;
using Cochlea.Autograd;
using Cochlea.Cuda;
using Cochlea.Cuda.Cublas;
using Cochlea.Kernels.Audio;

namespace Cochlea;

public static unsafe partial class Ops
{
    static readonly ConditionalWeakTable<StftSpec, Dictionary<int, Tensor>> StftBases = new();

    static Tensor StftCuda(Tensor x, StftSpec spec, int b, int n, int frames)
    {
        var dev = CudaTensors.DeviceOf("stft", x);
        var basis = StftBasisOn(dev, spec);
        int len = spec.FrameLength, bins = spec.Bins, rows = b * frames;
        var y = CudaTensors.Empty(x.Device, b, frames, bins, 2);
        using (var xc = x.ContiguousRaw())
        using (var fr = CudaTensors.Empty(x.Device, rows, len))
        {
            StftFraming(dev, "stft_frames_f32", xc.DevicePtr, fr.DevicePtr, spec, b, n, frames, (long)rows * len);
            CudaGemm.Run(dev, false, true, rows, 2 * bins, len, 1f, fr.DevicePtr, len, basis.DevicePtr, len, 0f, y.DevicePtr, 2 * bins);
        }
        return BackwardPass.Record(y, "stft", [x], g =>
        {
            using var gc = g.ContiguousRaw();
            using var dfr = CudaTensors.Empty(x.Device, rows, len);
            CudaGemm.Run(dev, false, false, rows, len, 2 * bins, 1f, gc.DevicePtr, 2 * bins, basis.DevicePtr, len, 0f, dfr.DevicePtr, len);
            var dx = CudaTensors.Empty(x.Device, b, n);
            StftFraming(dev, "stft_overlap_add_f32", dfr.DevicePtr, dx.DevicePtr, spec, b, n, frames, (long)b * n);
            return [dx];
        });
    }

    // stft_frames_f32 (src = x, dst = frames) or stft_overlap_add_f32 (src = dframes, dst = dx): same arguments.
    static void StftFraming(CudaDevice dev, string kernel, ulong src, ulong dst, StftSpec spec, int b, int n, int frames, long count)
    {
        int len = spec.FrameLength, hop = spec.Hop, off = spec.WindowOffset;
        void** args = stackalloc void*[] { &src, &dst, &b, &n, &frames, &len, &hop, &off };
        CudaTensors.Launch(dev, kernel, count, args);
    }

    static Tensor StftBasisOn(CudaDevice dev, StftSpec spec)
    {
        var perDevice = StftBases.GetValue(spec, _ => new Dictionary<int, Tensor>());
        lock (perDevice)
        {
            if (perDevice.TryGetValue(dev.Index, out var t)) return t;
            var host = StftAdjointBasis(spec);
            using var _ = TensorScope.Suspend();   // cached for the spec's lifetime, whatever scope is active
            t = CudaTensors.Empty(dev.Device, 2 * spec.Bins, spec.FrameLength);
            fixed (float* h = host) dev.CopyToDevice(t.DevicePtr, h, (long)host.Length * sizeof(float));
            perDevice[dev.Index] = t;
            return t;
        }
    }

    static Tensor PolarCuda(Tensor z, bool angle, string name)
    {
        var dev = CudaTensors.DeviceOf(name, z);
        var y = CudaTensors.Empty(z.Device, z.ShapeArray[..^1]);
        long count = y.Numel;
        int isAngle = angle ? 1 : 0;
        using (var zc = z.ContiguousRaw())
        {
            ulong pz = zc.DevicePtr, py = y.DevicePtr;
            long c = count;
            int a = isAngle;
            void** args = stackalloc void*[] { &pz, &py, &c, &a };
            CudaTensors.Launch(dev, "complex_polar_forward_f32", c, args);
        }
        return BackwardPass.Record(y, name, [z], g =>
        {
            using var gc = g.ContiguousRaw();
            using var zs = z.ContiguousRaw();
            var dz = CudaTensors.Empty(z.Device, z.ShapeArray);
            ulong pg = gc.DevicePtr, pz = zs.DevicePtr, pd = dz.DevicePtr;
            long c = count;
            int a = isAngle;
            void** args = stackalloc void*[] { &pg, &pz, &pd, &c, &a };
            CudaTensors.Launch(dev, "complex_polar_backward_f32", c, args);
            return [dz];
        });
    }
}

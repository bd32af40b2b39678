// The one set of helpers the GPU tests share: skip (never pass) a test without a usable GPU or NVRTC, with the
// backend's reason (cuInit's error name and meaning when the driver loads but cannot start); move inputs to the
// GPU as fresh leaves; and compare a CUDA result with the CPU's within atol + rtol * |ref|.
using Cochlea.Cuda;
using Cochlea.Cuda.Nvrtc;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public static class GpuTest
{
    /// <summary>The CUDA device value of the test GPU.</summary>
    public static Device Cuda => Device.Cuda(0);

    /// <summary>Skips the calling test (inconclusive, with the reason) unless a CUDA device is usable; returns cuda:0.</summary>
    public static CudaDevice RequireGpu()
    {
        Assume.That(CudaBackend.IsAvailable, $"no usable GPU: {CudaBackend.UnavailableReason}");
        return CudaBackend.Get(0);
    }

    /// <summary>Skips the calling test unless NVRTC loads, with the reason.</summary>
    public static void RequireNvrtc() => Assume.That(NvrtcCompiler.IsAvailable, $"NVRTC unavailable: {NvrtcCompiler.UnavailableReason}");

    /// <summary>A copy of <paramref name="x"/> on <paramref name="device"/> as a leaf, requiring grad when x does.</summary>
    public static Tensor LeafOn(Tensor x, Device device)
    {
        Tensor t;
        using (Tensor.NoGrad()) t = x.To(device);
        if (x.RequiresGrad) t.RequiresGrad = true;
        return t;
    }

    /// <summary>
    /// Asserts |actual - expected| &lt;= atol + rtol * |expected| elementwise (see <see cref="CloseFailure"/>).
    /// </summary>
    public static void AssertClose(float[] actual, float[] expected, double atol, double rtol, string what)
    {
        if (CloseFailure(actual, expected, atol, rtol, what) is { } why) Assert.Fail(why);
    }

    /// <summary>
    /// Null when |actual - expected| &lt;= atol + rtol * |expected| everywhere, else why not, naming the worst element. NaN at
    /// the same index on both sides passes (the op propagates NaN as the CPU does); NaN on one side only fails, naming its index.
    /// </summary>
    public static string? CloseFailure(float[] actual, float[] expected, double atol, double rtol, string what)
    {
        if (actual.Length != expected.Length) return $"{what}: {actual.Length} elements, the CPU gives {expected.Length}.";
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
            if (double.IsNaN(a) || double.IsNaN(e))
            {
                if (double.IsNaN(a) && double.IsNaN(e)) continue;
                return $"{what}: element {i} is {a}, the CPU gives {e} (NaN on one side only).";
            }
            if (a == e) continue;   // equal infinities too
            double excess = Math.Abs(a - e) - (atol + rtol * Math.Abs(e));
            if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) { worst = i; worstExcess = excess; }
        }
        return worst < 0 ? null
            : $"{what}: element {worst} is {actual[worst]}, the CPU gives {expected[worst]} (tolerance {atol} + {rtol} * |ref|; the worst element).";
    }
}

// Shared helpers of the GPU tests: skip (never pass) without a usable GPU, move inputs to the GPU
// as fresh leaves, and compare a CUDA result with the CPU's within atol + rtol * |ref|.
using Cochlea.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public static class CudaTestSupport
{
    /// <summary>The GPU the tests run on.</summary>
    public static readonly Device Gpu = Device.Cuda(0);

    /// <summary>Marks the calling test inconclusive (skipped) unless CUDA is usable here, with the reason.</summary>
    public static void RequireGpu()
    {
        bool ok;
        string? why;
        try { ok = CudaBackend.IsAvailable; why = CudaBackend.UnavailableReason; }
        catch (NotImplementedException) { ok = false; why = "the CUDA runtime is not implemented in this build"; }
        Assume.That(ok, why ?? "CUDA is not available");
    }

    /// <summary>A copy of <paramref name="x"/> on <paramref name="device"/> as a leaf, requiring grad when x does.</summary>
    public static Tensor LeafOn(Tensor x, Device device)
    {
        Tensor t;
        using (Tensor.NoGrad()) t = x.To(device);
        if (x.RequiresGrad) t.RequiresGrad = true;
        return t;
    }

    /// <summary>Asserts |actual - expected| &lt;= atol + rtol * |expected| elementwise, naming the first bad element.</summary>
    public static void AssertClose(float[] actual, float[] expected, double atol, double rtol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: element count");
        for (int i = 0; i < actual.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (Math.Abs(a - e) <= atol + rtol * Math.Abs(e)) continue;
            Assert.Fail($"{what}: element {i} is {a}, the CPU gives {e} (tolerance {atol} + {rtol} * |ref|).");
        }
    }
}

using Cochlea.Kernels.Threading;
using NUnit.Framework;

namespace Cochlea.Tests;

[Category("Kernels")]
public class ThreadSplitTests
{
    [Test]
    public void ChunksCoverRangeContiguously([Values(0, 1, 7, 100, 257)] int n, [Values(1, 2, 3, 8)] int parts)
    {
        int next = 0;
        for (int i = 0; i < parts; i++)
        {
            var (s, e) = KernelThreads.Chunk(n, parts, i);
            Assert.That(s, Is.EqualTo(next));
            Assert.That(e - s, Is.InRange(n / parts, n / parts + 1));
            next = e;
        }
        Assert.That(next, Is.EqualTo(n));
    }
}

[Category("Kernels")]
public class SimdPathTests
{
    [Test]
    public void ReportsTheActivePath()
    {
        // Shows in the CI log which path each run exercised (512 by default here, 256 and 128 under the env switches).
        TestContext.Out.WriteLine($"Simd.Best = {Cochlea.Kernels.Simd.Best}");
        var env512 = Environment.GetEnvironmentVariable("DOTNET_EnableAVX512");
        var envAvx = Environment.GetEnvironmentVariable("DOTNET_EnableAVX");
        if (envAvx == "0") Assert.That(Cochlea.Kernels.Simd.Best, Is.LessThanOrEqualTo(Cochlea.Kernels.SimdWidth.V128));
        else if (env512 == "0") Assert.That(Cochlea.Kernels.Simd.Best, Is.LessThanOrEqualTo(Cochlea.Kernels.SimdWidth.V256));
        Assert.That(Cochlea.Kernels.Simd.Available, Does.Contain(Cochlea.Kernels.SimdWidth.Scalar));
    }
}

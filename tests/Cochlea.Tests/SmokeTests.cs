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

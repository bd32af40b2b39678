// The persistent worker pool behind KernelThreads.For: coverage, exceptions, nesting and concurrent callers.
using Cochlea.Kernels.Threading;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public class KernelThreadsTests
{
    [Test]
    public void EveryIndexRunsExactlyOnce([Values(1, 2, 3, 7)] int parts, [Values(1, 10, 1000)] int n)
    {
        var hits = new int[n];
        KernelThreads.For(n, 1, parts, (s, e) => { for (int i = s; i < e; i++) Interlocked.Increment(ref hits[i]); });
        Assert.That(hits, Is.All.EqualTo(1));
    }

    [Test]
    public void ExceptionInAChunkReachesTheCaller()
    {
        Assert.Throws<InvalidOperationException>(() =>
            KernelThreads.For(100, 1, 4, (s, e) => { if (s > 0) throw new InvalidOperationException("chunk failed"); }));
        // The pool still works afterwards.
        int sum = 0;
        KernelThreads.For(100, 1, 4, (s, e) => Interlocked.Add(ref sum, e - s));
        Assert.That(sum, Is.EqualTo(100));
    }

    [Test]
    public void NestedAndConcurrentCallsComplete()
    {
        long total = 0;
        Parallel.For(0, 4, _ =>
            KernelThreads.For(8, 1, 3, (s, e) =>
                KernelThreads.For(50, 1, 2, (s2, e2) => Interlocked.Add(ref total, (e - s) * (e2 - s2)))));
        Assert.That(total, Is.EqualTo(4 * 8 * 50));
    }
}

// The persistent worker pool behind KernelThreads.For: coverage, exceptions, nesting, concurrent callers,
// and no allocation per call with a cached body (what the frozen-model runtime's threaded steps rely on).
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
    [NonParallelizable]
    public void CallWithACachedBodyAllocatesNothing([Values(1, 2, 3)] int parts)
    {
        var sums = new long[64];
        Action<int, int> body = (s, e) => { for (int i = s; i < e; i++) sums[i] += i; };
        for (int i = 0; i < 20; i++) KernelThreads.For(64, 1, parts, body);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) KernelThreads.For(64, 1, parts, body);
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(sums[63], Is.EqualTo(120 * 63L));
        Assert.That(bytes, Is.Zero, $"bytes allocated by 100 calls in {parts} parts");
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

    [Test]
    public void ChunkOfFindsTheChunkStartingThere()
    {
        for (int n = 1; n <= 40; n++)
            for (int parts = 1; parts <= n; parts++)
                for (int i = 0; i < parts; i++)
                    Assert.That(KernelThreads.ChunkOf(n, parts, KernelThreads.Chunk(n, parts, i).Start), Is.EqualTo(i), $"n={n} parts={parts}");
    }

    struct SumBody(long[] sums) : KernelThreads.IRangeBody
    {
        public readonly void Run(int s, int e) { for (int i = s; i < e; i++) Interlocked.Add(ref sums[i], i); }
    }

    [Test]
    [NonParallelizable]
    public void AStructBodyRunsEveryIndexOnceAndAllocatesNothingAsOnePart([Values(1, 2, 3)] int parts)
    {
        var sums = new long[64];
        var body = new SumBody(sums);
        for (int i = 0; i < 10; i++) KernelThreads.For(64, 1, parts, body);
        Assert.That(sums.Select((v, i) => v == 10L * i).All(b => b), "every index once per call");
        if (parts > 1) return;   // a split call hands the work over as a delegate (a boxed copy of the body)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) KernelThreads.For(64, 1, parts, body);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}

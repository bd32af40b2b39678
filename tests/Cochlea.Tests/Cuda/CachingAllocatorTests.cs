// The allocator's bookkeeping on the CPU, over a fake device memory with a capacity: size
// classes, reuse, statistics, EmptyCache, deferred (finalizer) frees and the out-of-memory path.
using Cochlea.Cuda;
using Cochlea.Cuda.Memory;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public class CachingAllocatorTests
{
    const long MiB = 1L << 20;

    /// <summary>Hands out addresses from a counter (each segment 1 GiB apart) up to a byte capacity.</summary>
    sealed class FakeMemory(long capacity) : IDeviceMemory
    {
        readonly Dictionary<ulong, long> _live = [];
        ulong _next = 1UL << 32;
        public long Used { get; private set; }
        public int Allocs, Frees;

        public bool TryAllocate(long bytes, out ulong ptr)
        {
            ptr = 0;
            if (Used + bytes > capacity) return false;
            ptr = _next;
            _next += 1UL << 30;
            _live[ptr] = bytes;
            Used += bytes;
            Allocs++;
            return true;
        }

        public void Free(ulong ptr)
        {
            Assert.That(_live.Remove(ptr, out var b), Is.True, "freed a pointer the fake never handed out");
            Used -= b;
            Frees++;
        }

        public (long Free, long Total) Info() => (capacity - Used, capacity);
    }

    [TestCase(0, 512)]
    [TestCase(1, 512)]
    [TestCase(512, 512)]
    [TestCase(513, 1024)]
    [TestCase(1 << 20, 1 << 20)]
    [TestCase((1 << 20) + 1, 2 << 20)]
    [TestCase(5 << 20, 6 << 20)]
    [TestCase(6 << 20, 6 << 20)]
    public void RoundSizeUses512ByteSmallAnd2MiBLargeClasses(long bytes, long expected) =>
        Assert.That(CachingAllocator.RoundSize(bytes), Is.EqualTo(expected));

    [Test]
    public void SmallRequestsAreCarvedFromOneSegment()
    {
        var mem = new FakeMemory(64 * MiB);
        var a = new CachingAllocator(mem, "fake:0");
        ulong p0 = a.Allocate(1000), p1 = a.Allocate(1000), p2 = a.Allocate(100);
        Assert.That(mem.Allocs, Is.EqualTo(1));
        Assert.That(p1 - p0, Is.EqualTo(1024UL));
        Assert.That(p2 - p1, Is.EqualTo(1024UL));
        var s = a.Statistics;
        Assert.That(s.AllocatedBytes, Is.EqualTo(1024 + 1024 + 512));
        Assert.That(s.ReservedBytes, Is.EqualTo(2 * MiB));
    }

    [Test]
    public void SmallSegmentsRollOverWhenFull()
    {
        var mem = new FakeMemory(64 * MiB);
        var a = new CachingAllocator(mem, "fake:0");
        for (int i = 0; i < 3; i++) a.Allocate(MiB); // two fit in one 2 MiB segment
        Assert.That(mem.Allocs, Is.EqualTo(2));
        Assert.That(a.Statistics.ReservedBytes, Is.EqualTo(4 * MiB));
    }

    [Test]
    public void FreedBlockIsReusedForTheSameSizeClassOnly()
    {
        var mem = new FakeMemory(64 * MiB);
        var a = new CachingAllocator(mem, "fake:0");
        ulong big = a.Allocate(3 * MiB);
        a.Free(big);
        Assert.That(a.Allocate(3 * MiB + 12345), Is.EqualTo(big), "3 MiB and 3.01 MiB share the 4 MiB class");
        Assert.That(mem.Allocs, Is.EqualTo(1));
        ulong other = a.Allocate(7 * MiB);
        Assert.That(other, Is.Not.EqualTo(big));
        var s = a.Statistics;
        Assert.That(s.Requests, Is.EqualTo(3));
        Assert.That(s.CacheHits, Is.EqualTo(1));
        Assert.That(s.DeviceAllocations, Is.EqualTo(2));
        Assert.That(s.AllocatedBytes, Is.EqualTo(4 * MiB + 8 * MiB));

        ulong small = a.Allocate(700);
        a.Free(small);
        Assert.That(a.Allocate(1000), Is.EqualTo(small), "700 B and 1000 B share the 1024 B class");
        Assert.That(a.Allocate(600), Is.Not.EqualTo(small));
    }

    [Test]
    public void PeaksAndEmptyCacheKeepLiveBlocks()
    {
        var mem = new FakeMemory(64 * MiB);
        var a = new CachingAllocator(mem, "fake:0");
        ulong big = a.Allocate(10 * MiB), live = a.Allocate(2048), dead = a.Allocate(4 * MiB);
        a.Free(big);
        a.Free(dead);
        var before = a.Statistics;
        Assert.That(before.PeakAllocatedBytes, Is.EqualTo(10 * MiB + 2048 + 4 * MiB));
        Assert.That(before.AllocatedBytes, Is.EqualTo(2048));
        a.EmptyCache();
        var after = a.Statistics;
        Assert.That(mem.Frees, Is.EqualTo(2), "both large segments go back; the small one holds a live block");
        Assert.That(after.ReservedBytes, Is.EqualTo(2 * MiB));
        Assert.That(after.DeviceFrees, Is.EqualTo(2));
        Assert.That(after.PeakReservedBytes, Is.EqualTo(16 * MiB));
        Assert.That(mem.Used, Is.EqualTo(2 * MiB));
        a.Free(live);
        a.EmptyCache();
        Assert.That(mem.Used, Is.Zero);
        Assert.That(a.Statistics.ReservedBytes, Is.Zero);
        // After emptying, the small class list must not hand out a freed segment's block.
        ulong fresh = a.Allocate(2048);
        Assert.That(mem.Used, Is.EqualTo(2 * MiB));
        a.Free(fresh);
    }

    [Test]
    public void DoubleFreeAndForeignPointersThrow()
    {
        var a = new CachingAllocator(new FakeMemory(64 * MiB), "fake:0");
        ulong p = a.Allocate(100);
        a.Free(p);
        Assert.Throws<InvalidOperationException>(() => a.Free(p));
        Assert.Throws<InvalidOperationException>(() => a.Free(12345));
    }

    [Test]
    public void DeferredFreesLandOnTheNextAllocation()
    {
        var mem = new FakeMemory(64 * MiB);
        var a = new CachingAllocator(mem, "fake:0");
        ulong p = a.Allocate(3 * MiB);
        a.FreeDeferred(p);
        Assert.That(a.Allocate(3 * MiB), Is.EqualTo(p), "the queued block is drained before the free lists are searched");
        Assert.That(mem.Allocs, Is.EqualTo(1));
        a.FreeDeferred(p);
        Assert.That(a.Statistics.AllocatedBytes, Is.Zero);
    }

    [Test]
    public void OutOfMemoryEmptiesTheCacheAndRetriesOnce()
    {
        var mem = new FakeMemory(8 * MiB);
        var a = new CachingAllocator(mem, "fake:0");
        ulong live = a.Allocate(4 * MiB);
        a.Free(a.Allocate(2 * MiB)); // a cached 2 MiB segment
        ulong p = a.Allocate(4 * MiB); // 4 + 2 + 4 > 8: succeeds only after the cached 2 MiB goes back
        Assert.That(p, Is.Not.Zero);
        Assert.That(mem.Frees, Is.EqualTo(1));
        Assert.That(a.Statistics.ReservedBytes, Is.EqualTo(8 * MiB));
        a.Free(live);
        a.Free(p);
    }

    [Test]
    public void OutOfMemoryMessageGivesSizesAndTheFix()
    {
        var mem = new FakeMemory(8 * MiB);
        var a = new CachingAllocator(mem, "fake:0");
        a.Allocate(6 * MiB);
        a.Free(a.Allocate(512));
        var e = Assert.Throws<CudaException>(() => a.Allocate(3 * MiB))!;
        Assert.That(e.IsOutOfMemory, Is.True, "callers that can do with less (the cuDNN search) tell it apart from other failures");
        Assert.That(e.Message, Does.Contain("out of memory on fake:0"));
        Assert.That(e.Message, Does.Contain("3.00 MiB (size class 4.00 MiB)"));
        Assert.That(e.Message, Does.Contain("live tensors hold 6.00 MiB"));
        Assert.That(e.Message, Does.Contain("2.00 MiB free of 8.00 MiB"), "after the retry emptied the idle small segment");
        Assert.That(e.Message, Does.Contain("smaller batch"));
        Assert.That(mem.Frees, Is.EqualTo(1));
    }
}

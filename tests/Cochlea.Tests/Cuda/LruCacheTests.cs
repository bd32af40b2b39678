// GPU-free checks of LruCache, the bounded cache under CudaDevice's cuDNN caches: least recently used out first, a hit
// refreshes an entry, an evicted value is disposed exactly once and never while a lease on it is open, a hit allocates
// nothing, the counters, and the errors of a bad capacity or a twice-disposed lease. The values are fakes that record
// their disposal.
using Cochlea.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public class LruCacheTests
{
    sealed class Value(int key) : IDisposable
    {
        public readonly int Key = key;
        public int Disposals;
        public void Dispose() => Disposals++;
    }

    sealed class Maker
    {
        public readonly List<Value> Made = [];
        public readonly Func<int, Value> Make;
        public Maker() => Make = k => { var v = new Value(k); Made.Add(v); return v; };
        public Value Only(int key) => Made.Single(v => v.Key == key);
    }

    // Looks up `key` and releases the lease at once (the value is not used).
    static Value Touch(LruCache<int, Value> cache, int key, int capacity, Maker maker)
    {
        using var lease = cache.Get(key, capacity, maker.Make);
        return lease.Value;
    }

    [Test]
    public void EvictsTheLeastRecentlyUsedAndDisposesIt()
    {
        var cache = new LruCache<int, Value>();
        var maker = new Maker();
        Touch(cache, 1, 2, maker);
        Touch(cache, 2, 2, maker);
        Touch(cache, 1, 2, maker);   // 1 is now the most recent: 2 goes next
        Touch(cache, 3, 2, maker);
        Assert.That(maker.Only(2).Disposals, Is.EqualTo(1), "2 was the least recently used");
        Assert.That(maker.Only(1).Disposals, Is.Zero, "1 was refreshed by its hit");
        Assert.That(maker.Only(3).Disposals, Is.Zero);
        Assert.That(cache.Statistics, Is.EqualTo(new LruStatistics(Hits: 1, Misses: 3, Evictions: 1, Count: 2)));

        // 2 again: made anew (a miss), and 1 (now the least recent) goes.
        var again = Touch(cache, 2, 2, maker);
        Assert.That(again, Is.Not.SameAs(maker.Made[1]), "an evicted key is rebuilt, not resurrected");
        Assert.That(maker.Only(1).Disposals, Is.EqualTo(1));
        Assert.That(maker.Made.Count(v => v.Key == 2), Is.EqualTo(2));
        Assert.That(cache.Statistics, Is.EqualTo(new LruStatistics(Hits: 1, Misses: 4, Evictions: 2, Count: 2)));
    }

    [Test]
    public void HoldsAtMostCapacityAndEvictsInRecencyOrder()
    {
        var cache = new LruCache<int, Value>();
        var maker = new Maker();
        for (int k = 0; k < 10; k++)
        {
            Touch(cache, k, 3, maker);
            Assert.That(cache.Statistics.Count, Is.EqualTo(Math.Min(k + 1, 3)));
        }
        // 0..6 evicted in that order, each once; 7, 8, 9 kept.
        Assert.That(maker.Made.Select(v => v.Disposals), Is.EqualTo(new[] { 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 }));
        Assert.That(Touch(cache, 8, 3, maker), Is.SameAs(maker.Made[8]), "a kept key is a hit");
    }

    [Test]
    public void ALowerCapacityTakesEffectAtTheNextLookup()
    {
        var cache = new LruCache<int, Value>();
        var maker = new Maker();
        for (int k = 0; k < 5; k++) Touch(cache, k, 8, maker);
        Touch(cache, 4, 1, maker);
        Assert.That(cache.Statistics.Count, Is.EqualTo(1));
        Assert.That(maker.Made.Select(v => v.Disposals), Is.EqualTo(new[] { 1, 1, 1, 1, 0 }), "all but the key looked up");
    }

    [Test]
    public void AnEvictedValueIsDisposedOnlyWhenItsLastLeaseEnds()
    {
        var cache = new LruCache<int, Value>();
        var maker = new Maker();
        var first = cache.Get(1, 1, maker.Make);       // an op holds 1 while it enqueues its calls ...
        var second = cache.Get(1, 1, maker.Make);      // ... and so does another (a hit)
        Touch(cache, 2, 1, maker);                     // a lookup of another shape evicts 1
        Assert.That(cache.Statistics.Count, Is.EqualTo(1));
        Assert.That(maker.Only(1).Disposals, Is.Zero, "evicted under open leases: not disposed yet");
        first.Dispose();
        Assert.That(maker.Only(1).Disposals, Is.Zero, "one lease still open");
        second.Dispose();
        Assert.That(maker.Only(1).Disposals, Is.EqualTo(1), "disposed when the last lease ended");
        Assert.That(Touch(cache, 1, 1, maker), Is.Not.SameAs(first.Value), "looked up again: rebuilt");
    }

    [Test]
    public void TheValueJustLookedUpIsNeverEvictedByItsOwnLookup()
    {
        var cache = new LruCache<int, Value>();
        var maker = new Maker();
        for (int k = 0; k < 4; k++)
        {
            using var lease = cache.Get(k, 1, maker.Make);
            Assert.That(lease.Value.Key, Is.EqualTo(k));
            Assert.That(lease.Value.Disposals, Is.Zero, "the caller's value is live while it holds the lease");
            Assert.That(Touch(cache, k, 1, maker), Is.SameAs(lease.Value), "and it is the one cached");
        }
    }

    [Test]
    public void AHitAllocatesNothing()
    {
        var cache = new LruCache<int, Value>();
        var maker = new Maker();
        for (int k = 0; k < 3; k++) Touch(cache, k, 4, maker);
        Touch(cache, 0, 4, maker); Touch(cache, 2, 4, maker);   // warm up (JIT)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) Touch(cache, i % 3, 4, maker);
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(bytes, Is.Zero, "1000 hits (moves to the front included) allocated managed memory");
        Assert.That(cache.Statistics.Misses, Is.EqualTo(3));
    }

    [Test]
    public void BadUseIsRefusedWithTheFix()
    {
        var cache = new LruCache<int, Value>();
        var maker = new Maker();
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Get(1, 0, maker.Make));
        var lease = cache.Get(1, 1, maker.Make);
        lease.Dispose();
        Assert.That(() => lease.Dispose(), Throws.InvalidOperationException.With.Message.Contains("disposed twice"));
        default(LruCache<int, Value>.Lease).Dispose();   // the empty lease: nothing to release
        Assert.That(() => default(LruCache<int, Value>.Lease).Value, Throws.InvalidOperationException);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => CudaOptions.CudnnCacheCapacity = 0)!;
        Assert.That(e.Message, Does.Contain("CudnnCacheCapacity must be at least 1"));
        Assert.That(CudaOptions.CudnnCacheCapacity, Is.EqualTo(CudaOptions.DefaultCudnnCacheCapacity), "a refused value leaves the setting");
    }
}

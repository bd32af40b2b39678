// A bounded least-recently-used map for per-shape library state (the cuDNN descriptor caches of CudaDevice). Why
// bounded: a program that sees many shapes (variable-length audio, a last partial batch, an inference server) would
// otherwise keep descriptors, and per convolution its algorithm choices, for every shape it ever saw.
// A dictionary points into a recency list, so a lookup, its move to the front and an eviction are O(1), and a hit
// allocates nothing (the node is moved, not re-made). An evicted value is disposed once nobody uses it: every lookup
// returns a lease, open while the caller enqueues work with the value; eviction while a lease is open (another
// thread's lookup, or the caller's own later lookup before it disposed the lease) only marks the value, and the last
// lease's Dispose disposes it. Thread-safe (one lock per cache).
namespace Cochlea.Cuda;

/// <summary>Counters of an <see cref="LruCache{TKey, TValue}"/>: lookups served from the cache, lookups that made a value, values evicted, values held now.</summary>
internal readonly record struct LruStatistics(long Hits, long Misses, long Evictions, int Count);

internal sealed class LruCache<TKey, TValue> where TKey : notnull where TValue : class, IDisposable
{
    internal sealed class Entry(TKey key, TValue value)   // internal only because Lease's constructor names it
    {
        public readonly TKey Key = key;
        public readonly TValue Value = value;
        public int Leases;       // open leases (under the cache's lock)
        public bool Evicted;     // out of the cache: disposed when Leases drops to 0
    }

    /// <summary>
    /// The use of one cached value: valid until <see cref="Dispose"/>, which the caller calls exactly once, after it has
    /// enqueued its last call with the value. The default lease holds nothing and its Dispose does nothing.
    /// </summary>
    internal readonly struct Lease : IDisposable
    {
        readonly LruCache<TKey, TValue>? _cache;
        readonly Entry? _entry;

        internal Lease(LruCache<TKey, TValue> cache, Entry entry) { _cache = cache; _entry = entry; }

        /// <summary>The cached value (the default lease has none).</summary>
        public TValue Value => _entry?.Value ?? throw new InvalidOperationException("This lease holds no cached value (it is the default lease).");

        public void Dispose() => _cache?.Release(_entry!);
    }

    readonly object _gate = new();
    readonly Dictionary<TKey, LinkedListNode<Entry>> _map = new();
    readonly LinkedList<Entry> _recent = new();   // most recently used first
    long _hits, _misses, _evictions;

    /// <summary>
    /// The value of <paramref name="key"/>, made by <paramref name="make"/> on a miss (under the lock), leased to the
    /// caller; then the least recently used values beyond <paramref name="capacity"/> are evicted (never this one).
    /// </summary>
    public Lease Get(in TKey key, int capacity, Func<TKey, TValue> make)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        lock (_gate)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _hits++;
                if (node != _recent.First) { _recent.Remove(node); _recent.AddFirst(node); }
            }
            else
            {
                _misses++;
                node = new LinkedListNode<Entry>(new Entry(key, make(key)));
                _map.Add(key, node);
                _recent.AddFirst(node);
            }
            node.Value.Leases++;
            Trim(capacity);   // after the lease is taken: even an eviction of this entry could not dispose it under the caller
            return new Lease(this, node.Value);
        }
    }

    /// <summary>Evicts every value: each is disposed now, or when its last open lease ends.</summary>
    public void Clear()
    {
        lock (_gate) Trim(0);
    }

    /// <summary>Counters and the number of values held now.</summary>
    public LruStatistics Statistics
    {
        get { lock (_gate) return new LruStatistics(_hits, _misses, _evictions, _map.Count); }
    }

    // Evicts from the least recently used end until at most `capacity` values remain (0: all).
    void Trim(int capacity)
    {
        while (_map.Count > capacity)
        {
            var last = _recent.Last!;
            _recent.RemoveLast();
            _map.Remove(last.Value.Key);
            _evictions++;
            last.Value.Evicted = true;
            if (last.Value.Leases == 0) last.Value.Value.Dispose();
        }
    }

    void Release(Entry entry)
    {
        lock (_gate)
        {
            // Caught only while no other lease of the entry is open (a lease is a plain struct, it has no identity).
            if (entry.Leases <= 0) throw new InvalidOperationException("A cache lease was disposed twice.");
            if (--entry.Leases == 0 && entry.Evicted) entry.Value.Dispose();
        }
    }
}

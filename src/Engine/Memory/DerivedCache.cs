// One value derived from a tensor's contents (a packed copy of a weight for the GEMM, a re-laid-out conv
// kernel, ...) or from a few tensors' (a batch norm's folded scale and shift: gamma, beta and the running
// statistics), kept between calls and made again only when a source may have changed: the key is, per source,
// its storage object, its WriteVersion (bumped by every pointer hand-out, so by optimizer steps, checkpoint
// loads, copy_, in-place ops, Module.To) and the view (offset, shape, strides); a null source is a key too.
// Why a lease: a value replaced while another thread still computes with it is freed when that thread
// returns it, not under its feet.
namespace Cochlea.Memory;

/// <summary>
/// Caches <typeparamref name="T"/> = build(source) for one source tensor at a time; see the file header for when it is rebuilt.
/// Owned by whoever uses it (a module registers it with <c>Module.RegisterCache</c>, which clears it on <c>Train()</c>,
/// <c>To(device)</c> and disposes it with the module).
/// </summary>
public sealed class DerivedCache<T> : IDerivedCache where T : class, IDisposable
{
    readonly Build _build;
    readonly Lock _gate = new();
    Entry? _entry;

    /// <summary>Makes a value from the sources given to <see cref="Acquire(ReadOnlySpan{Tensor?})"/> (in that order; entries may be null).</summary>
    public delegate T Build(ReadOnlySpan<Tensor?> sources);

    /// <summary>A cache whose values are made by <paramref name="build"/> (it may take pointers of the source: the version is read after it returns).</summary>
    public DerivedCache(Func<Tensor, T> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        _build = s => build(s[0]!);
    }

    DerivedCache(Build build) => _build = build;

    /// <summary>A cache of values made from several sources (see <see cref="Acquire(ReadOnlySpan{Tensor?})"/>); <paramref name="build"/> may take their pointers.</summary>
    public static DerivedCache<T> OfSources(Build build) => new(build ?? throw new ArgumentNullException(nameof(build)));

    /// <summary>How many times a value was built (tests: a change of the source makes one more).</summary>
    public int Builds { get; private set; }

    /// <summary>True while a value is held.</summary>
    public bool HasValue { get { lock (_gate) return _entry is not null; } }

    /// <summary>The value for <paramref name="source"/>'s current contents, built now if the held one is stale. Dispose the lease after use.</summary>
    public Lease Acquire(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Acquire([source]);
    }

    /// <summary>The value for these sources' current contents (null entries allowed), built now if the held one is stale. Dispose the lease after use.</summary>
    public Lease Acquire(params ReadOnlySpan<Tensor?> sources)
    {
        lock (_gate)
        {
            if (_entry is null || !_entry.Matches(sources))
            {
                Retire();
                var value = _build(sources);
                // Keys after the build: a pointer it took must not make its own value look stale.
                var keys = new Key[sources.Length];
                for (int i = 0; i < keys.Length; i++) keys[i] = Key.Of(sources[i]);
                _entry = new Entry(keys, value);
                Builds++;
            }
            _entry.Leases++;
            return new Lease(this, _entry);
        }
    }

    /// <summary>Drops the held value (freed now, or when its last lease is returned).</summary>
    public void Clear() { lock (_gate) Retire(); }

    /// <inheritdoc/>
    public void Dispose() => Clear();

    void Retire()
    {
        var e = _entry;
        _entry = null;
        if (e is null) return;
        e.Retired = true;
        if (e.Leases == 0) e.Value.Dispose();
    }

    void Return(Entry e)
    {
        lock (_gate)
            if (--e.Leases == 0 && e.Retired) e.Value.Dispose();
    }

    // One source as it was when the value was made (Storage null: the source was null).
    internal readonly record struct Key(Storage? Storage, long Version, long Offset, int[] Shape, long[] Strides)
    {
        public static Key Of(Tensor? t) =>
            t is null ? new Key(null, 0, 0, [], []) : new Key(t.Storage, t.Storage.WriteVersion, t.Offset, t.ShapeArray.ToArray(), t.StrideArray.ToArray());

        public bool Matches(Tensor? t)
        {
            if (t is null || Storage is null) return t is null && Storage is null;
            var s = t.Storage;
            return ReferenceEquals(s, Storage) && s.IsAlive && s.WriteVersion == Version && t.Offset == Offset
                   && t.Shape.SequenceEqual(Shape) && t.Strides.SequenceEqual(Strides);
        }
    }

    internal sealed class Entry(Key[] keys, T value)
    {
        public readonly T Value = value;
        public int Leases;
        public bool Retired;

        public bool Matches(ReadOnlySpan<Tensor?> sources)
        {
            if (sources.Length != keys.Length) return false;
            for (int i = 0; i < keys.Length; i++)
                if (!keys[i].Matches(sources[i])) return false;
            return true;
        }
    }

    /// <summary>The cached value, valid until disposed (then returned to the cache); dispose it exactly once.</summary>
    public readonly struct Lease : IDisposable
    {
        readonly DerivedCache<T>? _owner;
        readonly Entry? _entry;

        internal Lease(DerivedCache<T> owner, Entry entry) { _owner = owner; _entry = entry; }

        /// <summary>The derived value.</summary>
        public T Value => _entry?.Value ?? throw new InvalidOperationException("DerivedCache.Lease: default lease has no value; get one from Acquire.");

        /// <inheritdoc/>
        public void Dispose() { if (_entry is not null) _owner!.Return(_entry); }
    }
}

/// <summary>What a module needs of any <see cref="DerivedCache{T}"/>: to drop its value (mode or device change) and to free it.</summary>
public interface IDerivedCache : IDisposable
{
    /// <summary>Drops the held value.</summary>
    void Clear();
}

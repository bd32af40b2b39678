// One value derived from a tensor's contents (a packed copy of a weight for the GEMM, a re-laid-out conv
// kernel, ...), kept between calls and made again only when the source may have changed: the key is the
// source's storage object, its WriteVersion (bumped by every pointer hand-out, so by optimizer steps,
// checkpoint loads, copy_, in-place ops, Module.To) and the view (offset, shape, strides).
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
    readonly Func<Tensor, T> _build;
    readonly Lock _gate = new();
    Entry? _entry;

    /// <summary>A cache whose values are made by <paramref name="build"/> (it may take pointers of the source: the version is read after it returns).</summary>
    public DerivedCache(Func<Tensor, T> build) => _build = build ?? throw new ArgumentNullException(nameof(build));

    /// <summary>How many times a value was built (tests: a change of the source makes one more).</summary>
    public int Builds { get; private set; }

    /// <summary>True while a value is held.</summary>
    public bool HasValue { get { lock (_gate) return _entry is not null; } }

    /// <summary>The value for <paramref name="source"/>'s current contents, built now if the held one is stale. Dispose the lease after use.</summary>
    public Lease Acquire(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var storage = source.Storage;
        lock (_gate)
        {
            if (_entry is null || !_entry.Matches(source, storage))
            {
                Retire();
                var value = _build(source);
                _entry = new Entry(storage, storage.WriteVersion, source.Offset, source.ShapeArray.ToArray(), source.StrideArray.ToArray(), value);
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

    internal sealed class Entry(Storage storage, long version, long offset, int[] shape, long[] strides, T value)
    {
        public readonly T Value = value;
        public int Leases;
        public bool Retired;

        public bool Matches(Tensor t, Storage s) =>
            ReferenceEquals(s, storage) && s.IsAlive && s.WriteVersion == version && t.Offset == offset
            && t.Shape.SequenceEqual(shape) && t.Strides.SequenceEqual(strides);
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

// Batches made by parallel worker threads ahead of the trainer. Determinism by construction: the
// item order of an epoch is a Philox shuffle keyed by (seed, epoch), and batch i is built from its
// own streams keyed by (seed, epoch, i) - example j of the batch draws from offset j*2^40, the
// collate function from offset 2^63 - so which worker builds a batch, and when, cannot change it.
// The queue is bounded: at most Prefetch batches are handed to the workers ahead of the one the
// consumer holds (the consumer releases batch i+Prefetch when it takes batch i), so workers block
// instead of running ahead. Batches come out in order; a failure surfaces in the consumer when it
// reaches the failed batch, naming the item. Worker threads are dedicated (not the thread pool)
// because item loading is blocking I/O and decode work that would starve the pool.
using System.Collections;
using System.Collections.Concurrent;
using Cochlea.Models.Augment;

namespace Cochlea.Models.Data;

/// <summary>Settings of a <see cref="DataLoader{TItem, TExample, TBatch}"/>.</summary>
public sealed record DataLoaderOptions
{
    /// <summary>Examples per batch (the last batch may be smaller unless <see cref="DropLast"/>).</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Shuffle the items each epoch (a different, seeded order per epoch).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Skip the last batch when it would be smaller than <see cref="BatchSize"/>.</summary>
    public bool DropLast { get; init; }

    /// <summary>Worker threads; 0 builds each batch on the consumer's thread when it is requested.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Queue bound: batches built ahead of the one the consumer holds (&gt;= 1).</summary>
    public int Prefetch { get; init; } = 4;

    /// <summary>Seed of the shuffles and of every random stream handed to the load and collate functions.</summary>
    public ulong Seed { get; init; }

    internal void Validate()
    {
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"DataLoader: BatchSize must be > 0 (got {BatchSize}).");
        if (BatchSize > 1 << 22) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"DataLoader: BatchSize must be <= 4194304 (got {BatchSize}).");
        if (Workers < 0 || Workers > 256) throw new ArgumentOutOfRangeException(nameof(Workers), $"DataLoader: Workers must be in [0, 256] (got {Workers}).");
        if (Prefetch < 1) throw new ArgumentOutOfRangeException(nameof(Prefetch), $"DataLoader: Prefetch must be >= 1 (got {Prefetch}).");
    }
}

/// <summary>A failure while building a batch, thrown to the consumer; the inner exception is the original one.</summary>
public sealed class DataLoaderException : Exception
{
    internal DataLoaderException(string message, int epoch, int batchIndex, int? itemIndex, object? item, Exception inner)
        : base(message, inner)
    {
        Epoch = epoch; BatchIndex = batchIndex; ItemIndex = itemIndex; Item = item;
    }

    /// <summary>Epoch of the failed batch.</summary>
    public int Epoch { get; }

    /// <summary>Index of the failed batch in its epoch.</summary>
    public int BatchIndex { get; }

    /// <summary>Index (in the loader's item list) of the item whose loading failed; null when collating failed.</summary>
    public int? ItemIndex { get; }

    /// <summary>The item whose loading failed; null when collating failed.</summary>
    public object? Item { get; }
}

/// <summary>Type-inferring factory for <see cref="DataLoader{TItem, TExample, TBatch}"/>.</summary>
public static class DataLoader
{
    /// <summary>A loader over <paramref name="items"/> (see the class for the meaning of each function).</summary>
    public static DataLoader<TItem, TExample, TBatch> Create<TItem, TExample, TBatch>(
        IReadOnlyList<TItem> items, Func<TItem, Philox, TExample> load, Func<TExample[], BatchContext, TBatch> collate, DataLoaderOptions options) =>
        new(items, load, collate, options);
}

/// <summary>
/// Loads items into examples (<c>load(item, rng)</c>) on worker threads and groups them into batches
/// (<c>collate(examples, context)</c>), in order, a bounded number ahead of the consumer.
/// </summary>
/// <remarks>
/// <para>Usage: <c>foreach (var batch in loader) { using (batch) { using var step = Tensor.Scope(); ... } }</c>.
/// Enumerating the loader itself runs epoch <see cref="NextEpoch"/> and increments it; <see cref="Epoch"/> runs a given one
/// (to resume). Batch i of epoch e depends only on (seed, e, i), for any number of workers and any timing.</para>
/// <para>Ownership: batches handed out belong to the consumer, who disposes them (an <see cref="AudioBatch"/> returns its
/// pooled buffers). Tensors created by a collate function on a worker thread belong to no <see cref="TensorScope"/> (scopes
/// are per thread) and are not freed by the training step's scope: dispose them, or create tensors on the consumer's thread
/// (as <see cref="AudioBatch.AudioTensor"/> does) so the step's scope frees them. Batches built but never handed out
/// (early exit, cancellation, an error) are disposed by the loader when <typeparamref name="TBatch"/> is IDisposable.
/// Examples belong to the collate function.</para>
/// <para>load and collate run concurrently on several threads: they must be thread-safe (each call gets its own rng).</para>
/// </remarks>
public sealed class DataLoader<TItem, TExample, TBatch> : IEnumerable<TBatch>, IDisposable
{
    const ulong CollateOffset = 1UL << 63;
    const int ExampleOffsetShift = 40;

    readonly TItem[] _items;
    readonly Func<TItem, Philox, TExample> _load;
    readonly Func<TExample[], BatchContext, TBatch> _collate;
    readonly CancellationTokenSource _disposed = new();

    /// <summary>A loader over <paramref name="items"/> (copied), loading each with <paramref name="load"/> and batching with <paramref name="collate"/>.</summary>
    public DataLoader(IReadOnlyList<TItem> items, Func<TItem, Philox, TExample> load, Func<TExample[], BatchContext, TBatch> collate, DataLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(items);
        _load = load ?? throw new ArgumentNullException(nameof(load));
        _collate = collate ?? throw new ArgumentNullException(nameof(collate));
        Options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        _items = items.ToArray();
    }

    /// <summary>Settings.</summary>
    public DataLoaderOptions Options { get; }

    /// <summary>Number of items.</summary>
    public int Count => _items.Length;

    /// <summary>Batches per epoch: ceil(Count / B), or floor with <see cref="DataLoaderOptions.DropLast"/>.</summary>
    public int BatchesPerEpoch => Options.DropLast ? Count / Options.BatchSize : (Count + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>Epoch run by the next enumeration of the loader itself (starts at 0; set it to resume).</summary>
    public int NextEpoch { get; set; }

    /// <summary>Item indices in the order epoch <paramref name="epoch"/> visits them.</summary>
    public int[] Order(int epoch)
    {
        CheckEpoch(epoch);
        var order = new int[_items.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (Options.Shuffle) new Philox(Seeds.Derive(Options.Seed, (ulong)epoch, 0)).Shuffle(order.AsSpan());
        return order;
    }

    /// <summary>Builds batch <paramref name="index"/> of epoch <paramref name="epoch"/> on the calling thread (the same batch the workers would make).</summary>
    public TBatch Batch(int epoch, int index)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if ((uint)index >= (uint)BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(index), $"DataLoader: batch {index} does not exist; an epoch has {BatchesPerEpoch}.");
        return Build(epoch, index, Order(epoch), CancellationToken.None);
    }

    /// <summary>The batches of epoch <paramref name="epoch"/>, in order, built ahead by the workers. Cancel with <paramref name="cancellation"/>.</summary>
    public IEnumerable<TBatch> Epoch(int epoch, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        CheckEpoch(epoch);
        return Run(epoch, cancellation);
    }

    /// <summary>Runs epoch <see cref="NextEpoch"/> and increments it.</summary>
    public IEnumerator<TBatch> GetEnumerator() => Epoch(NextEpoch++).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// Stops every running epoch: its workers stop after their current item, and its consumer gets
    /// <see cref="ObjectDisposedException"/> at the next batch (leaving the foreach joins the workers and frees unused batches).
    /// </summary>
    public void Dispose()
    {
        if (!_disposed.IsCancellationRequested) _disposed.Cancel();
    }

    IEnumerable<TBatch> Run(int epoch, CancellationToken cancellation)
    {
        using var run = new EpochRun(this, epoch, cancellation);
        for (int i = 0; i < run.Count; i++) yield return run.Take(i);
    }

    TBatch Build(int epoch, int index, int[] order, CancellationToken ct)
    {
        int start = index * Options.BatchSize, n = Math.Min(Options.BatchSize, _items.Length - start);
        ulong key = Seeds.Derive(Options.Seed, (ulong)epoch, (ulong)index + 1);
        var examples = new TExample[n];
        for (int j = 0; j < n; j++)
        {
            ct.ThrowIfCancellationRequested();
            int itemIndex = order[start + j];
            var item = _items[itemIndex];
            try
            {
                examples[j] = _load(item, new Philox(key, (ulong)j << ExampleOffsetShift));
            }
            catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
            {
                throw new DataLoaderException(
                    $"DataLoader: loading item {itemIndex} ({item}) for batch {index} of epoch {epoch} failed: {e.Message}",
                    epoch, index, itemIndex, item, e);
            }
        }
        ct.ThrowIfCancellationRequested();
        try
        {
            return _collate(examples, new BatchContext(epoch, index, new Philox(key, CollateOffset)));
        }
        catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
        {
            throw new DataLoaderException($"DataLoader: collating batch {index} of epoch {epoch} failed: {e.Message}", epoch, index, null, null, e);
        }
    }

    void CheckEpoch(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), $"DataLoader: epoch must be >= 0 (got {epoch}).");
    }

    /// <summary>One epoch's pipeline: a window of dispatched batches, the workers, and the result slots.</summary>
    sealed class EpochRun : IDisposable
    {
        readonly DataLoader<TItem, TExample, TBatch> _owner;
        readonly int _epoch;
        readonly int[] _order;
        readonly CancellationTokenSource _cts;
        readonly BlockingCollection<int> _work = new();
        readonly TaskCompletionSource<TBatch>[] _slots;
        readonly Thread[] _threads;
        int _dispatched, _taken;

        public EpochRun(DataLoader<TItem, TExample, TBatch> owner, int epoch, CancellationToken cancellation)
        {
            _owner = owner;
            _epoch = epoch;
            _order = owner.Order(epoch);
            Count = owner.BatchesPerEpoch;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellation, owner._disposed.Token);
            _slots = new TaskCompletionSource<TBatch>[Count];
            for (int i = 0; i < Count; i++) _slots[i] = new TaskCompletionSource<TBatch>();
            int workers = Math.Min(owner.Options.Workers, Count);
            _threads = new Thread[workers];
            if (workers == 0) return;
            while (_dispatched < Math.Min(owner.Options.Prefetch, Count)) _work.Add(_dispatched++);
            for (int w = 0; w < workers; w++)
            {
                _threads[w] = new Thread(Work) { IsBackground = true, Name = $"DataLoader worker {w} (epoch {epoch})" };
                _threads[w].Start();
            }
        }

        public int Count { get; }

        /// <summary>Batch <paramref name="i"/> (called with i = 0, 1, ... in order); releases batch i + Prefetch to the workers.</summary>
        public TBatch Take(int i)
        {
            var token = _cts.Token;
            // Checked first: a batch that happens to be ready must not slip out after a cancellation.
            ThrowIfStopped(token);
            if (_threads.Length == 0)
            {
                _taken = i + 1;
                return _owner.Build(_epoch, i, _order, token);
            }
            var task = _slots[i].Task;
            try { task.Wait(token); }
            catch (AggregateException) { }   // faulted: rethrown unwrapped below
            catch (OperationCanceledException) { ThrowIfStopped(token); throw; }
            if (task.IsCanceled) ThrowIfStopped(token);
            var batch = task.GetAwaiter().GetResult();
            _taken = i + 1;
            if (_dispatched < Count && !_work.IsAddingCompleted) _work.Add(_dispatched++);
            return batch;
        }

        void ThrowIfStopped(CancellationToken token)
        {
            ObjectDisposedException.ThrowIf(_owner._disposed.IsCancellationRequested, _owner);
            token.ThrowIfCancellationRequested();
        }

        void Work()
        {
            var token = _cts.Token;
            try
            {
                foreach (int i in _work.GetConsumingEnumerable(token))
                {
                    try { _slots[i].TrySetResult(_owner.Build(_epoch, i, _order, token)); }
                    catch (OperationCanceledException) when (token.IsCancellationRequested) { _slots[i].TrySetCanceled(token); }
                    catch (Exception e) { _slots[i].TrySetException(e); }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { }
        }

        public void Dispose()
        {
            _cts.Cancel();
            _work.CompleteAdding();
            foreach (var t in _threads) t?.Join();
            // Batches built but never handed out are ours to release.
            for (int i = _taken; i < _slots.Length; i++)
                if (_slots[i].Task.IsCompletedSuccessfully && _slots[i].Task.Result is IDisposable d) d.Dispose();
            _cts.Dispose();
            _work.Dispose();
        }
    }
}

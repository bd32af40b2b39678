// The prefetching loader: identical batches for 0/1/2/4 workers under random timing jitter, every
// item once per epoch, per-epoch shuffles, drop-last, the bounded queue, errors naming the item,
// cancellation, disposal of unconsumed batches, and AudioBatch tensors/mixup.
using System.Collections.Concurrent;
using Cochlea.Models.Augment;
using Cochlea.Models.Data;
using NUnit.Framework;

namespace Cochlea.Tests.Data;

[Category("Data")]
public class DataLoaderTests
{
    const int Samples = 64;

    /// <summary>Items are ints; an example is a clip holding the item value plus its own random noise and a random shift.</summary>
    static AudioExample Load(int item, Philox rng)
    {
        var audio = new float[Samples];
        for (int i = 0; i < audio.Length; i++) audio[i] = item + 0.001f * rng.NextFloat();
        TimeShift.ApplyRandom(audio, 8, rng);
        return new AudioExample(audio, item % 5);
    }

    static DataLoader<int, AudioExample, AudioBatch> Make(int count, DataLoaderOptions options, Func<int, Philox, AudioExample>? load = null, double mixup = 0) =>
        DataLoader.Create(Enumerable.Range(0, count).ToArray(), load ?? Load, Collate.Audio(Samples, classes: 5, mixupAlpha: mixup), options);

    /// <summary>A batch's contents as plain arrays (the batch is disposed).</summary>
    static (float[] Audio, int[] Labels, float[] Targets) Snapshot(AudioBatch b)
    {
        using (b) return (b.Audio.ToArray(), b.Labels.ToArray(), b.Targets.ToArray());
    }

    [Test]
    public void BatchesAreIdenticalForAnyWorkerCountAndTiming()
    {
        var opts = new DataLoaderOptions { BatchSize = 7, Seed = 42, Prefetch = 3 };
        List<(float[], int[], float[])> Run(int workers, bool jitter)
        {
            var timing = new Random(workers * 31 + (jitter ? 1 : 0));   // deliberately unseeded-by-design noise in timing only
            Func<int, Philox, AudioExample> load = jitter
                ? (item, rng) => { int ms; lock (timing) ms = timing.Next(0, 3); Thread.Sleep(ms); return Load(item, rng); }
                : Load;
            using var loader = Make(50, opts with { Workers = workers }, load, mixup: 0.4);
            var epochs = new List<(float[], int[], float[])>();
            foreach (int e in new[] { 0, 3 })
                foreach (var b in loader.Epoch(e)) epochs.Add(Snapshot(b));
            return epochs;
        }
        var reference = Run(0, false);
        Assert.That(reference, Has.Count.EqualTo(2 * 8));
        foreach (int workers in new[] { 1, 2, 4 })
        {
            var got = Run(workers, jitter: true);
            Assert.That(got, Has.Count.EqualTo(reference.Count));
            for (int i = 0; i < got.Count; i++)
            {
                Assert.That(got[i].Item1, Is.EqualTo(reference[i].Item1), $"{workers} workers, batch {i}: audio");
                Assert.That(got[i].Item2, Is.EqualTo(reference[i].Item2), $"{workers} workers, batch {i}: labels");
                Assert.That(got[i].Item3, Is.EqualTo(reference[i].Item3), $"{workers} workers, batch {i}: targets");
            }
        }
    }

    [Test]
    public void BatchDependsOnlyOnSeedEpochAndIndex()
    {
        using var a = Make(40, new DataLoaderOptions { BatchSize = 8, Seed = 9, Workers = 2 });
        using var b = Make(40, new DataLoaderOptions { BatchSize = 8, Seed = 9, Workers = 0 });
        var fromEpoch = a.Epoch(2).Select(Snapshot).ToList();
        for (int i = 0; i < fromEpoch.Count; i++)
            Assert.That(Snapshot(b.Batch(2, i)).Audio, Is.EqualTo(fromEpoch[i].Audio), $"batch {i} built alone");
        using var other = Make(40, new DataLoaderOptions { BatchSize = 8, Seed = 10, Workers = 0 });
        Assert.That(Snapshot(other.Batch(2, 0)).Audio, Is.Not.EqualTo(fromEpoch[0].Audio), "another seed");
    }

    [Test]
    public void EachEpochVisitsEveryItemOnceInItsOwnOrder()
    {
        using var loader = Make(23, new DataLoaderOptions { BatchSize = 5, Seed = 1, Workers = 2 });
        Assert.That(loader.BatchesPerEpoch, Is.EqualTo(5));
        var orders = new List<int[]>();
        for (int e = 0; e < 3; e++)
        {
            var seen = new List<int>();
            var sizes = new List<int>();
            foreach (var batch in loader)   // runs epochs 0, 1, 2 in turn
                using (batch)
                {
                    sizes.Add(batch.Size);
                    Assert.That(batch.Epoch, Is.EqualTo(e));
                    for (int i = 0; i < batch.Size; i++) seen.Add((int)MathF.Round(batch.Audio[i * Samples + Samples / 2]));
                }
            Assert.That(sizes, Is.EqualTo(new[] { 5, 5, 5, 5, 3 }));
            Assert.That(seen.Order(), Is.EqualTo(Enumerable.Range(0, 23)), $"epoch {e}");
            Assert.That(seen, Is.EqualTo(loader.Order(e)));
            orders.Add(seen.ToArray());
        }
        Assert.That(loader.NextEpoch, Is.EqualTo(3));
        Assert.That(orders[1], Is.Not.EqualTo(orders[0]));
        Assert.That(orders[2], Is.Not.EqualTo(orders[1]));
        using var plain = Make(23, new DataLoaderOptions { BatchSize = 5, Shuffle = false });
        Assert.That(plain.Order(4), Is.EqualTo(Enumerable.Range(0, 23)));
    }

    [Test]
    public void DropLastSkipsTheShortBatch()
    {
        using var loader = Make(23, new DataLoaderOptions { BatchSize = 5, DropLast = true, Workers = 2 });
        Assert.That(loader.BatchesPerEpoch, Is.EqualTo(4));
        var sizes = loader.Epoch(0).Select(b => { using (b) return b.Size; }).ToList();
        Assert.That(sizes, Is.EqualTo(new[] { 5, 5, 5, 5 }));
        using var tiny = Make(3, new DataLoaderOptions { BatchSize = 5, DropLast = true });
        Assert.That(tiny.Epoch(0), Is.Empty);
        using var none = Make(0, new DataLoaderOptions { BatchSize = 5 });
        Assert.That(none.Epoch(0), Is.Empty);
    }

    [Test]
    public void QueueIsBoundedSoProducersBlock()
    {
        int loaded = 0;
        var opts = new DataLoaderOptions { BatchSize = 1, Workers = 4, Prefetch = 2 };
        using var loader = Make(40, opts, (item, rng) => { Interlocked.Increment(ref loaded); return Load(item, rng); });
        using var e = loader.Epoch(0).GetEnumerator();
        Assert.That(e.MoveNext());
        e.Current.Dispose();
        // A slow trainer: once the window is full the workers must wait rather than load the epoch.
        // Poll for the expected count (robust on a busy machine), then give them time to overrun.
        Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref loaded) >= 1 + opts.Prefetch, 10000), "window filled");
        Thread.Sleep(300);
        Assert.That(Volatile.Read(ref loaded), Is.EqualTo(1 + opts.Prefetch), "batch 0 plus Prefetch ahead");
        Assert.That(e.MoveNext());
        e.Current.Dispose();
        Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref loaded) >= 2 + opts.Prefetch, 10000));
        Thread.Sleep(200);
        Assert.That(Volatile.Read(ref loaded), Is.EqualTo(2 + opts.Prefetch), "one more released per batch taken");
    }

    [Test]
    public void WorkerErrorsSurfaceInTheConsumerNamingTheItem([Values(0, 3)] int workers)
    {
        var items = Enumerable.Range(0, 30).Select(i => $"clip{i:00}.wav").ToArray();
        using var loader = DataLoader.Create(items,
            (string item, Philox rng) => item == "clip17.wav" ? throw new InvalidDataException("truncated data chunk") : Load(0, rng),
            Collate.Audio(Samples), new DataLoaderOptions { BatchSize = 4, Workers = workers, Shuffle = false });
        int delivered = 0;
        var e = Assert.Throws<DataLoaderException>(() =>
        {
            foreach (var b in loader.Epoch(0)) { b.Dispose(); delivered++; }
        })!;
        Assert.That(delivered, Is.EqualTo(4), "batches before the failing one are delivered, in order");
        Assert.That(e.Message, Does.Contain("clip17.wav").And.Contain("truncated data chunk").And.Contain("batch 4"));
        Assert.That(e.ItemIndex, Is.EqualTo(17));
        Assert.That(e.Item, Is.EqualTo("clip17.wav"));
        Assert.That(e.BatchIndex, Is.EqualTo(4));
        Assert.That(e.InnerException, Is.TypeOf<InvalidDataException>());
    }

    [Test]
    public void CollateErrorsNameTheBatch()
    {
        using var loader = DataLoader.Create(Enumerable.Range(0, 4).ToArray(), (int i, Philox rng) => new AudioExample(new float[i == 2 ? 3 : Samples], 0),
            Collate.Audio(Samples), new DataLoaderOptions { BatchSize = 2, Workers = 1, Shuffle = false });
        var e = Assert.Throws<DataLoaderException>(() => loader.Epoch(0).ToList().ForEach(b => b.Dispose()))!;
        Assert.That(e.Message, Does.Contain("collating batch 1").And.Contain("has 3 samples"));
        Assert.That(e.ItemIndex, Is.Null);
    }

    [Test]
    public void CancellationStopsTheEpoch()
    {
        using var cts = new CancellationTokenSource();
        int loaded = 0;
        using var loader = Make(1000, new DataLoaderOptions { BatchSize = 2, Workers = 2, Prefetch = 2 },
            (item, rng) => { Interlocked.Increment(ref loaded); Thread.Sleep(1); return Load(item, rng); });
        int taken = 0;
        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (var b in loader.Epoch(0, cts.Token))
            {
                b.Dispose();
                if (++taken == 3) cts.Cancel();
            }
        });
        Assert.That(taken, Is.EqualTo(3));
        int after = Volatile.Read(ref loaded);
        Thread.Sleep(100);
        Assert.That(Volatile.Read(ref loaded), Is.EqualTo(after), "workers have stopped");
        Assert.That(after, Is.LessThan(2 * (3 + 2 + 1)));
        Assert.That(loader.Epoch(1).Take(1).Count(), Is.EqualTo(1), "the loader still works for another epoch");
    }

    [Test]
    public void DisposingTheLoaderStopsARunningEpoch()
    {
        var loader = Make(100, new DataLoaderOptions { BatchSize = 2, Workers = 2 });
        int taken = 0;
        Assert.Throws<ObjectDisposedException>(() =>
        {
            foreach (var b in loader.Epoch(0)) { b.Dispose(); if (++taken == 2) loader.Dispose(); }
        });
        Assert.Throws<ObjectDisposedException>(() => loader.Epoch(1));
    }

    /// <summary>A batch that records its disposal.</summary>
    sealed class Tracked(ConcurrentBag<int> disposed, int index) : IDisposable
    {
        public int Index => index;
        public void Dispose() => disposed.Add(index);
    }

    [Test]
    public void BatchesNeverHandedOutAreDisposedByTheLoader()
    {
        var disposed = new ConcurrentBag<int>();
        int built = 0;
        using var loader = DataLoader.Create(Enumerable.Range(0, 20).ToArray(), (int i, Philox rng) => i,
            (int[] ex, BatchContext ctx) => { var t = new Tracked(disposed, ctx.Index); Interlocked.Increment(ref built); return t; },
            new DataLoaderOptions { BatchSize = 2, Workers = 2, Prefetch = 3 });
        var taken = new List<int>();
        foreach (var b in loader.Epoch(0))
        {
            taken.Add(b.Index);
            b.Dispose();
            if (taken.Count == 2)
            {
                Assert.That(SpinWait.SpinUntil(() => Volatile.Read(ref built) == 5, 10000), "batches 2..4 built ahead");
                break;
            }
        }
        Assert.That(taken, Is.EqualTo(new[] { 0, 1 }));
        // Batches 2..4 were built ahead (Prefetch 3) and must have been released on the early exit.
        Assert.That(disposed.Order(), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public void AudioBatchMakesTensorsOnTheConsumersScope()
    {
        using var loader = Make(6, new DataLoaderOptions { BatchSize = 3, Workers = 1, Shuffle = false });
        using var batch = loader.Epoch(0).First();
        Tensor audio, labels, targets;
        using (var step = Tensor.Scope())
        {
            audio = batch.AudioTensor();
            labels = batch.LabelTensor();
            targets = batch.TargetTensor();
            Assert.That(audio.Shape.ToArray(), Is.EqualTo(new[] { 3, Samples }));
            Assert.That(labels.DType, Is.EqualTo(DType.Int64));
            Assert.That(targets.Shape.ToArray(), Is.EqualTo(new[] { 3, 5 }));
            Assert.That(audio.AsSpan().ToArray(), Is.EqualTo(batch.Audio.ToArray()));
            Assert.That(step.Count, Is.EqualTo(3));
        }
        Assert.That(audio.IsDisposed && labels.IsDisposed && targets.IsDisposed, "freed by the step's scope");
        batch.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = batch.Audio.Length);
    }

    [Test]
    public void MixupInTheCollateKeepsTargetsNormalised()
    {
        using var loader = Make(32, new DataLoaderOptions { BatchSize = 16, Workers = 2, Seed = 3 }, mixup: 0.2);
        foreach (var batch in loader.Epoch(0))
            using (batch)
            {
                Assert.That(batch.Mixup, Is.Not.Null);
                for (int i = 0; i < batch.Size; i++)
                {
                    var row = batch.Targets.Slice(i * 5, 5).ToArray();
                    Assert.That(row.Sum(), Is.EqualTo(1f).Within(1e-6f), $"row {i}");
                    Assert.That(row.All(v => v >= 0));
                }
            }
    }

    [Test]
    public void OptionsAndArgumentsAreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Make(4, new DataLoaderOptions { BatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Make(4, new DataLoaderOptions { Workers = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Make(4, new DataLoaderOptions { Prefetch = 0 }));
        Assert.Throws<ArgumentNullException>(() => DataLoader.Create<int, int, int>(null!, (i, r) => i, (e, c) => 0, new DataLoaderOptions()));
        using var loader = Make(4, new DataLoaderOptions { BatchSize = 2 });
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Batch(0, 2));
        Assert.Throws<ArgumentException>(() => Collate.Audio(16, classes: 0, mixupAlpha: 0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Collate.Audio(0));
    }
}

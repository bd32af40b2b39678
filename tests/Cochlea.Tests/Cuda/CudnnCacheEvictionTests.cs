// The cuDNN caches under a small CudaOptions.CudnnCacheCapacity: five shapes of each kind (convolution, batch norm,
// pooling) cycled twice through a capacity of 2 must match the CPU every time while the cache never holds more than
// 2, each shape's return being a rebuild (a miss; for a convolution three new algorithm searches, counted in the
// emulator's cudnn-find calls where it runs); forwards of five shapes before their backwards (entries evicted between
// a forward and its backward) must still give each shape its own results; and training steps of whole models with a
// capacity of 1, where every op evicts the previous one's entry, must match the CPU.
using Cochlea.Bench.Compare;
using Cochlea.Cuda;
using Cochlea.Models.Kws;
using Cochlea.Models.Tagging;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu"), NonParallelizable]   // sets the process-wide cache capacity and reads the device's cache counters
public class CudnnCacheEvictionTests
{
    // An op on fresh leaves of the given shapes (all requiring grad), compared on its output and every input's gradient.
    sealed record Case(string Name, int[][] Shapes, Func<Tensor[], Tensor> Op);

    static T WithCapacity<T>(int capacity, Func<T> body)
    {
        CudaOptions.CudnnCacheCapacity = capacity;
        try { return body(); }
        finally { CudaOptions.CudnnCacheCapacity = CudaOptions.DefaultCudnnCacheCapacity; }
    }

    // Output then input gradients of one forward and backward on `device` (inputs and upstream gradient given).
    static float[][] RunOn(Case c, float[][] inputs, float[] upstream, Device device)
    {
        using var scope = Tensor.Scope();
        var xs = c.Shapes.Select((s, i) => { var t = GpuTest.LeafOn(Tensor.FromArray(inputs[i], s), device); t.RequiresGrad = true; return t; }).ToArray();
        var y = c.Op(xs);
        y.Backward(GpuTest.LeafOn(Tensor.FromArray(upstream, y.ShapeArray), device));
        return [y.To(Device.Cpu).ToArray(), .. xs.Select(x => x.Grad!.To(Device.Cpu).ToArray())];
    }

    // Runs `cases` in order, twice, with capacity 2: each against the CPU, the cache at most 2 after each; returns the
    // change of the kind's counters (from `stats`) and of the emulator's cudnn-find count (null off the emulator).
    static (LruStatistics Delta, long? Finds) CycleTwice(Case[] cases, Func<CudaDevice, LruStatistics> stats, double atol, double rtol)
    {
        var dev = GpuTest.RequireGpu();
        var rng = new Random(41);
        var inputs = cases.Select(c => c.Shapes.Select(s => Tensor.Randn(rng, 1f, s).ToArray()).ToArray()).ToArray();
        var upstream = cases.Select((c, i) =>
        {
            using var y = c.Op(c.Shapes.Select((s, j) => Tensor.FromArray(inputs[i][j], s)).ToArray());
            return Tensor.Randn(rng, 1f, y.ShapeArray).ToArray();
        }).ToArray();
        var cpu = cases.Select((c, i) => RunOn(c, inputs[i], upstream[i], Device.Cpu)).ToArray();
        var counters = EmulatorCounters.Open(Path.Combine(Path.GetTempPath(), $"cochlea-lru-stats-{Environment.ProcessId}.txt"));
        return WithCapacity(2, () =>
        {
            var before = stats(dev);
            long? findsBefore = counters is null ? null : EmulatorCounters.Sum(counters(), "cudnn-find");
            for (int round = 0; round < 2; round++)
                for (int i = 0; i < cases.Length; i++)
                {
                    var gpu = RunOn(cases[i], inputs[i], upstream[i], GpuTest.Cuda);
                    for (int j = 0; j < gpu.Length; j++)
                        GpuTest.AssertClose(gpu[j], cpu[i][j], atol, rtol, $"{cases[i].Name}, round {round}: {(j == 0 ? "output" : $"gradient of input {j - 1}")}");
                    Assert.That(stats(dev).Count, Is.LessThanOrEqualTo(2), $"after {cases[i].Name}, round {round}: the cache holds more than its capacity");
                }
            var after = stats(dev);
            var delta = new LruStatistics(after.Hits - before.Hits, after.Misses - before.Misses, after.Evictions - before.Evictions, after.Count);
            long? finds = counters is null ? null : EmulatorCounters.Sum(counters(), "cudnn-find") - findsBefore;
            return (delta, finds);
        });
    }

    // Every lookup of round 2 must be a rebuild: 5 shapes x 2 rounds = 10 misses (forward), 10 hits (its backward, right
    // after), and at least 8 evictions (10 made, 2 kept).
    static void AssertEveryShapeRebuilt(LruStatistics delta, string kind)
    {
        Assert.That(delta.Misses, Is.EqualTo(10), $"{kind}: each forward of a shape not among the last 2 must build it anew");
        Assert.That(delta.Hits, Is.EqualTo(10), $"{kind}: each backward right after its forward must find the entry");
        Assert.That(delta.Evictions, Is.GreaterThanOrEqualTo(8), $"{kind}: evictions");
    }

    static readonly Case[] Convolutions =
    [
        new("conv1d (2, 3, 17) k3 p1", [[2, 3, 17], [4, 3, 3], [4]], t => Ops.Conv1d(t[0], t[1], t[2], padding: 1)),
        new("conv1d, N differs", [[3, 3, 17], [4, 3, 3], [4]], t => Ops.Conv1d(t[0], t[1], t[2], padding: 1)),
        new("conv1d, length differs", [[2, 3, 20], [4, 3, 3], [4]], t => Ops.Conv1d(t[0], t[1], t[2], padding: 1)),
        new("conv1d, stride 2 and no bias", [[2, 3, 17], [4, 3, 3]], t => Ops.Conv1d(t[0], t[1], null, stride: 2, padding: 1)),
        new("conv2d (2, 3, 7, 9) k3 p1", [[2, 3, 7, 9], [5, 3, 3, 3], [5]], t => Ops.Conv2d(t[0], t[1], t[2], padding: 1)),
    ];

    [Test]
    public void ConvolutionShapesCycledThroughCapacityTwoMatchTheCpuAndAreSearchedAgain()
    {
        var (delta, finds) = CycleTwice(Convolutions, d => d.CudnnCacheStatistics.Convolutions, atol: 1e-4, rtol: 1e-4);
        AssertEveryShapeRebuilt(delta, "convolution");
        // Each rebuild searches forward, backward data and backward filter again: 10 x 3 (checked where counted).
        if (finds is long f) Assert.That(f, Is.EqualTo(30), "cudnnFind*AlgorithmEx calls: one per pass of each rebuilt shape");
    }

    static Tensor TrainingBatchNorm(Tensor[] t) => Ops.BatchNorm(t[0], t[1], t[2], null, null, training: true);

    [Test]
    public void BatchNormShapesCycledThroughCapacityTwoMatchTheCpu()
    {
        var (delta, _) = CycleTwice(
        [
            new("bn (4, 3, 5)", [[4, 3, 5], [3], [3]], TrainingBatchNorm),
            new("bn, N differs", [[6, 3, 5], [3], [3]], TrainingBatchNorm),
            new("bn, C differs", [[4, 2, 5], [2], [2]], TrainingBatchNorm),
            new("bn, spatial differs", [[4, 3, 9], [3], [3]], TrainingBatchNorm),
            new("bn 2-d (4, 3, 2, 5)", [[4, 3, 2, 5], [3], [3]], TrainingBatchNorm),
        ], d => d.CudnnCacheStatistics.BatchNorms, atol: 1e-4, rtol: 1e-3);
        AssertEveryShapeRebuilt(delta, "batch norm");
    }

    [Test]
    public void PoolingShapesCycledThroughCapacityTwoMatchTheCpu()
    {
        var (delta, _) = CycleTwice(
        [
            new("max (2, 3, 9, 11) k3 s2 p1", [[2, 3, 9, 11]], t => Ops.MaxPool2d(t[0], (3, 3), (2, 2), (1, 1))),
            new("avg, same geometry", [[2, 3, 9, 11]], t => Ops.AvgPool2d(t[0], (3, 3), (2, 2), (1, 1))),
            new("max, N differs", [[3, 3, 9, 11]], t => Ops.MaxPool2d(t[0], (3, 3), (2, 2), (1, 1))),
            new("max, W differs", [[2, 3, 9, 12]], t => Ops.MaxPool2d(t[0], (3, 3), (2, 2), (1, 1))),
            new("max 1-d (2, 3, 17) k3 s2 p1", [[2, 3, 17]], t => Ops.MaxPool1d(t[0], 3, 2, 1)),
        ], d => d.CudnnCacheStatistics.Poolings, atol: 1e-6, rtol: 1e-5);
        AssertEveryShapeRebuilt(delta, "pooling");
    }

    // All forwards, then the backwards in reverse: with capacity 2 the first three shapes are evicted before their
    // backward, which must look them up again (rebuilt, searched again) rather than use destroyed descriptors.
    [Test]
    public void ConvolutionsEvictedBetweenForwardAndBackwardStillGiveTheirOwnResults()
    {
        GpuTest.RequireGpu();
        WithCapacity(2, () =>
        {
            CudnnCacheTests.InterleavedMatchAloneAndCpu(
            [
                new("conv1d (2, 3, 17) k3 p1", [2, 3, 17], x => Ops.Conv1d(x, Weight(x.Device, 4, 3, 3), null, padding: 1)),
                new("conv1d, N differs", [3, 3, 17], x => Ops.Conv1d(x, Weight(x.Device, 4, 3, 3), null, padding: 1)),
                new("conv1d, length differs", [2, 3, 20], x => Ops.Conv1d(x, Weight(x.Device, 4, 3, 3), null, padding: 1)),
                new("conv1d, asymmetric padding (same, stride 2)", [2, 3, 18], x => Ops.Conv1d(x, Weight(x.Device, 4, 3, 4), null, stride: 2, padding: ConvPadding.Same)),
                new("depthwise conv1d", [2, 3, 17], x => Ops.Conv1d(x, Weight(x.Device, 3, 1, 3), null, padding: 1, groups: 3)),
            ], rtol: 1e-4f, atol: 1e-4f);
            return 0;
        });
    }

    // The same weights on either device for a given shape.
    static Tensor Weight(Device device, params int[] shape) => Tensor.Randn(new Random(shape.Sum()), 0.5f, shape).To(device);

    [Test]
    public void WaveKwsTrainingStepsWithCapacityOneMatchTheCpu()
    {
        GpuTest.RequireGpu();
        int[] widths = [16, 24];
        WithCapacity(1, () =>
        {
            ModelGpuTests.CompareTrainingSteps(new WaveKws(numClasses: 4, widths: widths, seed: 3), new WaveKws(numClasses: 4, widths: widths, seed: 3),
                Tensor.Randn(new Random(5), 1f, 2, 1600), Tensor.FromArray(new long[] { 1, 3 }, 2));
            return 0;
        });
        // The kinds WaveKws uses (no pooling: earlier tests' pooling shapes stay until the next pooling lookup).
        var (convolutions, batchNorms, _) = CudaBackend.Get(0).CudnnCacheCounts;
        Assert.That(new[] { convolutions, batchNorms }, Is.All.EqualTo(1), "capacity 1: one convolution and one batch-norm shape held");
    }

    [Test]
    public void FreesoundCnnTrainingStepsWithCapacityOneMatchTheCpu()
    {
        GpuTest.RequireGpu();
        WithCapacity(1, () =>
        {
            ModelGpuTests.CompareTrainingSteps(new FreesoundCnn(numClasses: 5, seed: 3), new FreesoundCnn(numClasses: 5, seed: 3),
                Tensor.Randn(new Random(6), 0.3f, 2, 8000), Tensor.FromArray(new long[] { 0, 4 }, 2));
            return 0;
        });
    }
}

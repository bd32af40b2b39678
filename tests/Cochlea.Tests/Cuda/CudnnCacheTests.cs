// The per-device cuDNN caches (CudaDevice.BatchNorm / Pooling / Convolution): shapes that differ in one key field only,
// run interleaved (forward A, forward B, ..., then the backwards in reverse order), must give what each gives alone and
// what the CPU gives - a key missing a field would hand one shape the other's descriptors. And a shape seen before must
// not grow the cache (a hit); the convolution's TF32 option must not leak into FMA-math runs of the same shape.
using Cochlea.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu"), NonParallelizable]   // reads the device's cache sizes, which other GPU tests running at once would change
public class CudnnCacheTests
{
    static readonly Random Rng = new(23);

    // A shuffled ramp: no ties, so max pooling picks the same element on every device.
    static float[] Distinct(int n) => Enumerable.Range(0, n).Select(i => (i - n / 2) * 0.01f).OrderBy(_ => Rng.Next()).ToArray();

    internal sealed record Case(string Name, int[] Shape, Func<Tensor, Tensor> Op);

    // Output and input gradient of each case on `device`: forwards in order, then backwards in reverse (each backward
    // after every forward), so any state one shape left in a shared descriptor would reach the other.
    static (float[] Y, float[] Dx)[] Run(Case[] cases, float[][] inputs, float[][] upstream, Device device)
    {
        var xs = new Tensor[cases.Length];
        var ys = new Tensor[cases.Length];
        for (int i = 0; i < cases.Length; i++)
        {
            xs[i] = GpuTest.LeafOn(Tensor.FromArray(inputs[i], cases[i].Shape), device);
            xs[i].RequiresGrad = true;
            ys[i] = cases[i].Op(xs[i]);
        }
        for (int i = cases.Length - 1; i >= 0; i--)
            ys[i].Backward(GpuTest.LeafOn(Tensor.FromArray(upstream[i], ys[i].ShapeArray), device));
        return cases.Select((_, i) => (ys[i].To(Device.Cpu).ToArray(), xs[i].Grad!.To(Device.Cpu).ToArray())).ToArray();
    }

    internal static void InterleavedMatchAloneAndCpu(Case[] cases, float rtol, float atol)
    {
        GpuTest.RequireGpu();
        var inputs = cases.Select(c => Distinct(c.Shape.Aggregate(1, (a, b) => a * b))).ToArray();
        var upstream = cases.Select((c, i) =>
        {
            using var y = c.Op(Tensor.FromArray(inputs[i], c.Shape));
            return Tensor.Randn(Rng, 1f, y.ShapeArray).ToArray();
        }).ToArray();
        var cpu = Run(cases, inputs, upstream, Device.Cpu);
        var alone = cases.Select((c, i) => Run([c], [inputs[i]], [upstream[i]], GpuTest.Cuda)[0]).ToArray();
        var together = Run(cases, inputs, upstream, GpuTest.Cuda);
        for (int i = 0; i < cases.Length; i++)
        {
            GpuTest.AssertClose(alone[i].Y, cpu[i].Y, atol, rtol, $"{cases[i].Name} alone: output");
            GpuTest.AssertClose(alone[i].Dx, cpu[i].Dx, atol, rtol, $"{cases[i].Name} alone: input gradient");
            // Same descriptors, same data: the same numbers up to the GPU's run-to-run rounding.
            GpuTest.AssertClose(together[i].Y, alone[i].Y, 1e-6, 1e-6, $"{cases[i].Name} interleaved vs alone: output");
            GpuTest.AssertClose(together[i].Dx, alone[i].Dx, 1e-6, 1e-6, $"{cases[i].Name} interleaved vs alone: input gradient");
        }
    }

    static Func<Tensor, Tensor> BatchNorm() => x => Ops.BatchNorm(x, null, null, null, null, training: true);

    [Test]
    public void BatchNormShapesInterleavedGiveTheirOwnResults() => InterleavedMatchAloneAndCpu(
    [
        new("bn (4, 3, 5)", [4, 3, 5], BatchNorm()),
        new("bn (6, 3, 5): N differs", [6, 3, 5], BatchNorm()),
        new("bn (4, 2, 5): C differs", [4, 2, 5], BatchNorm()),
        new("bn (4, 3, 9): spatial differs", [4, 3, 9], BatchNorm()),
        new("bn (4, 3, 3, 3): the key of (4, 3, 9), shared", [4, 3, 3, 3], BatchNorm()),
    ], rtol: 1e-3f, atol: 1e-4f);

    [Test]
    public void PoolingShapesInterleavedGiveTheirOwnResults() => InterleavedMatchAloneAndCpu(
    [
        new("max (2, 3, 9, 11) k3 s2 p1", [2, 3, 9, 11], x => Ops.MaxPool2d(x, (3, 3), (2, 2), (1, 1))),
        new("avg, same geometry", [2, 3, 9, 11], x => Ops.AvgPool2d(x, (3, 3), (2, 2), (1, 1))),
        new("max, N differs", [3, 3, 9, 11], x => Ops.MaxPool2d(x, (3, 3), (2, 2), (1, 1))),
        new("max, W differs", [2, 3, 9, 12], x => Ops.MaxPool2d(x, (3, 3), (2, 2), (1, 1))),
        new("max, stride differs", [2, 3, 9, 11], x => Ops.MaxPool2d(x, (3, 3), (1, 2), (1, 1))),
        new("max, padding differs", [2, 3, 9, 11], x => Ops.MaxPool2d(x, (3, 3), (2, 2), (0, 1))),
        new("max 1-d (2, 3, 17) k3 s2 p1", [2, 3, 17], x => Ops.MaxPool1d(x, 3, 2, 1)),
    ], rtol: 1e-5f, atol: 1e-6f);

    [Test]
    public void RepeatedShapesHitTheCache()
    {
        var dev = GpuTest.RequireGpu();
        // Shapes no other test uses, so the first round adds exactly one entry each.
        int[] bnShape = [5, 7, 13], poolShape = [3, 5, 13, 17];
        void Round()
        {
            using var scope = Tensor.Scope();
            var x = GpuTest.LeafOn(Tensor.Randn(Rng, 1f, bnShape), GpuTest.Cuda); x.RequiresGrad = true;
            Ops.Sum(BatchNorm()(x)).Backward();
            var p = GpuTest.LeafOn(Tensor.Randn(Rng, 1f, poolShape), GpuTest.Cuda); p.RequiresGrad = true;
            Ops.Sum(Ops.MaxPool2d(p, (3, 3), (2, 2), (1, 1))).Backward();
        }
        var before = dev.CudnnCacheCounts;
        Round();
        var first = dev.CudnnCacheCounts;
        Assert.That(first.BatchNorms, Is.EqualTo(before.BatchNorms + 1), "a new batch-norm shape adds one entry (forward and backward share it)");
        Assert.That(first.Poolings, Is.EqualTo(before.Poolings + 1), "a new pooling shape adds one entry (forward and backward share it)");
        for (int i = 0; i < 3; i++) Round();
        Assert.That(dev.CudnnCacheCounts, Is.EqualTo(first), "the same shapes again: cache hits, no new entries");
    }

    // The key holds the TF32 option: a TF32 run of a shape must leave the FMA-math run of the same shape float32-accurate
    // (the emulator rounds inputs to TF32 under default math, as tensor cores do).
    [Test]
    public void ConvolutionTf32OptionDoesNotLeakIntoTheSameShape()
    {
        GpuTest.RequireGpu();
        var x = Tensor.Randn(Rng, 1f, 2, 16, 9, 10);
        var w = Tensor.Randn(Rng, 1f, 8, 16, 3, 3);
        var cpu = Ops.Conv2d(x, w, null, padding: 1).ToArray();
        float[] Gpu()
        {
            using var scope = Tensor.Scope();
            return Ops.Conv2d(x.To(GpuTest.Cuda), w.To(GpuTest.Cuda), null, padding: 1).To(Device.Cpu).ToArray();
        }
        Assert.That(CudaOptions.AllowTf32, Is.False, "TF32 must be off by default");
        float[] tf32;
        CudaOptions.AllowTf32 = true;
        try { tf32 = Gpu(); }
        finally { CudaOptions.AllowTf32 = false; }
        GpuTest.AssertClose(tf32, cpu, 5e-2, 2e-2, "TF32 convolution");
        GpuTest.AssertClose(Gpu(), cpu, 1e-4, 1e-4, "float32 convolution after a TF32 one of the same shape");
    }

    // COCHLEA_CUDA_LOG_SEARCH: each search writes one line naming the pass and the algorithms tried; a cache hit writes none.
    [Test]
    public void AlgorithmSearchIsLoggedOncePerShapeAndPassWhenAsked()
    {
        GpuTest.RequireGpu();
        var x = GpuTest.LeafOn(Tensor.Randn(Rng, 1f, 3, 5, 13, 11), GpuTest.Cuda);   // a shape no other test uses
        var w = GpuTest.LeafOn(Tensor.Randn(Rng, 1f, 7, 5, 3, 2), GpuTest.Cuda);
        x.RequiresGrad = w.RequiresGrad = true;
        var saved = Console.Error;
        var log = new StringWriter();
        bool was = CudaOptions.LogAlgorithmSearch;
        CudaOptions.LogAlgorithmSearch = true;
        Console.SetError(log);
        try
        {
            for (int i = 0; i < 2; i++)
            {
                using var scope = Tensor.Scope();
                Ops.Sum(Ops.Conv2d(x, w, null, padding: 1)).Backward();
            }
        }
        finally { Console.SetError(saved); CudaOptions.LogAlgorithmSearch = was; }
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains("N = 3, C = 5, H = 13")).ToArray();
        Assert.That(lines.Select(l => l.Split(' ')[2]), Is.EquivalentTo(new[] { "Forward", "BackwardData", "BackwardFilter" }), log.ToString());
        Assert.That(lines, Has.All.Match(@" algo \d+ [0-9.]+ ms \(\d+ KiB, math \d\);"), "each line lists the algorithms with time, workspace and math type");
    }

    // A search workspace larger than the device: halved until it fits, and the convolution still matches the CPU.
    [Test]
    public void SearchWorkspaceLargerThanTheDeviceIsHalvedUntilItFits()
    {
        var dev = GpuTest.RequireGpu();
        var x = Tensor.Randn(Rng, 1f, 2, 3, 17, 6);   // a shape no other test uses: this one searches
        var w = Tensor.Randn(Rng, 1f, 4, 3, 3, 3);
        var cpu = Ops.Conv2d(x, w, null, padding: 1).ToArray();
        CudaOptions.ConvSearchWorkspaceBytes = 2 * dev.TotalMemoryBytes;
        try
        {
            using var scope = Tensor.Scope();
            GpuTest.AssertClose(Ops.Conv2d(x.To(GpuTest.Cuda), w.To(GpuTest.Cuda), null, padding: 1).To(Device.Cpu).ToArray(), cpu, 1e-4, 1e-4, "convolution");
            Assert.That(dev.WorkspaceBytes, Is.LessThan(dev.TotalMemoryBytes / 4), "the search's block (half the device) went back after the search");
        }
        finally
        {
            CudaOptions.ConvSearchWorkspaceBytes = null;
            dev.EmptyCache();   // the halved search block (half the device) must not stay cached for the tests after this one
        }
    }
}


// The runtime on a real GPU: allocator reuse/statistics/out-of-memory, host<->device copies of
// contiguous and strided tensors (all dtypes, across the staging chunk size), the fill and copy
// kernels against the CPU, Item/indexer, events, Module.To and gradients through To.
// Skipped (with the reason) where no GPU is usable.
using System.Runtime.CompilerServices;
using Cochlea.Cuda;
using Cochlea.Memory;
using Cochlea.Nn;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class CudaRuntimeGpuTests
{
    static float[] Random(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }

    [Test]
    public void AllocatorReusesFreedBlocksAndCounts()
    {
        var dev = GpuTest.RequireGpu();
        dev.Synchronize();
        var before = dev.MemoryStatistics;
        ulong p = dev.Allocate(3 << 20);
        dev.Free(p, 3 << 20);
        ulong q = dev.Allocate((3 << 20) + 100);
        Assert.That(q, Is.EqualTo(p));
        var after = dev.MemoryStatistics;
        Assert.That(after.CacheHits - before.CacheHits, Is.GreaterThanOrEqualTo(1));
        Assert.That(after.AllocatedBytes - before.AllocatedBytes, Is.EqualTo(4L << 20));
        Assert.That(p % 256, Is.Zero, "device blocks are 256-byte aligned");
        dev.Free(q, 3 << 20);
    }

    [Test]
    public void OutOfMemoryNamesSizesAndFix()
    {
        var dev = GpuTest.RequireGpu();
        var e = Assert.Throws<CudaException>(() => dev.Allocate(1L << 50))!;
        Assert.That(e.Message, Does.Contain("CUDA out of memory on cuda:0: tried to allocate 1048576.00 GiB"));
        Assert.That(e.Message, Does.Contain("free of").And.Contain("smaller batch"));
        ulong p = dev.Allocate(1024);
        Assert.That(p, Is.Not.Zero, "the allocator still works after an out-of-memory error");
        dev.Free(p, 1024);
    }

    [TestCase(1)]
    [TestCase(257)]
    [TestCase(1 << 20)]            // exactly one 4 MiB staging chunk
    [TestCase((5 << 19) + 3)]      // 2.5 chunks: pipelined, with a ragged tail
    public void ContiguousRoundTripIsExact(int n)
    {
        GpuTest.RequireGpu();
        var data = Random(n, n);
        using var x = Tensor.FromArray(data);
        using var g = x.To(GpuTest.Cuda);
        Assert.That(g.Device, Is.EqualTo(GpuTest.Cuda));
        using var back = g.To(Device.Cpu);
        Assert.That(back.ToArray(), Is.EqualTo(data));
        Assert.That(g.ToArray(), Is.EqualTo(data));
    }

    [Test]
    public void IntegerTensorsRoundTrip()
    {
        GpuTest.RequireGpu();
        long[] big = [long.MinValue, -1, 0, 1, long.MaxValue, 1L << 40];
        using var a = Tensor.FromArray(big, 2, 3);
        using var ga = a.To(GpuTest.Cuda);
        Assert.That(ga.ToInt64Array(), Is.EqualTo(big));
        using var gt = ga.Transpose(0, 1).Contiguous();
        Assert.That(gt.ToInt64Array(), Is.EqualTo(new[] { big[0], big[3], big[1], big[4], big[2], big[5] }));
        using var i = Tensor.FromArray(new[] { 7, -8, 9 });
        using var gi = i.To(GpuTest.Cuda);
        Assert.That(gi.ToInt64Array(), Is.EqualTo(new long[] { 7, -8, 9 }));
        Assert.That(gi[1], Is.EqualTo(-8f));
    }

    [Test]
    public void StridedCopiesMatchTheCpu()
    {
        GpuTest.RequireGpu();
        using var x = Tensor.FromArray(Random(2 * 3 * 4 * 5, 11), 2, 3, 4, 5);
        using var g = x.To(GpuTest.Cuda);
        var views = new Func<Tensor, Tensor>[]
        {
            t => t.Permute(3, 1, 0, 2),
            t => t.Transpose(0, 3).Slice(1, 0, 3, 2),
            t => t.Slice(2, 1, 4).Slice(3, 0, 5, 3),
            t => t.Unsqueeze(1).Expand(2, 6, 3, 4, 5),
        };
        foreach (var view in views)
        {
            using var cv = view(x);
            using var gv = view(g);
            using var gc = gv.Contiguous();
            Assert.That(gc.IsContiguous && gc.Device == GpuTest.Cuda, Is.True);
            Assert.That(gc.ToArray(), Is.EqualTo(cv.ToArray()), "Contiguous on the GPU");
            using var gclone = gv.Clone();
            Assert.That(gclone.ToArray(), Is.EqualTo(cv.ToArray()), "Clone on the GPU");
            using var host = gv.To(Device.Cpu);
            Assert.That(host.ToArray(), Is.EqualTo(cv.ToArray()), "a strided CUDA tensor to the CPU");
            using var up = cv.To(GpuTest.Cuda);
            Assert.That(up.ToArray(), Is.EqualTo(cv.ToArray()), "a strided CPU tensor to the GPU");
            using var reshaped = gv.Reshape(-1);
            Assert.That(reshaped.ToArray(), Is.EqualTo(cv.ToArray()), "Reshape of a non-contiguous CUDA tensor");
        }
        // CopyTo into a strided CUDA destination from the CPU.
        using var dst = Tensor.Zeros(GpuTest.Cuda, 5, 4, 3, 2);
        using var dstT = dst.Permute(3, 2, 1, 0);
        x.CopyTo(dstT);
        using var expect = x.Permute(3, 2, 1, 0).Contiguous();
        Assert.That(dst.ToArray(), Is.EqualTo(expect.ToArray()));
    }

    [Test]
    public void BackToBackUploadsDoNotWaitForEachOther()
    {
        var dev = GpuTest.RequireGpu();
        using var a = Tensor.Randn(new Random(3), 1f, 64, 1000);
        var labels = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (long)(i % 12)).ToArray(), 64);
        dev.Synchronize();
        long waits = dev.HostWaits;
        using var ga = a.To(GpuTest.Cuda);       // a batch's features, then its labels: two staging chunks in turn
        using var gl = labels.To(GpuTest.Cuda);
        Assert.That(dev.HostWaits, Is.EqualTo(waits), "the second upload waited for the first one's staging chunk");
        using var again = a.To(GpuTest.Cuda);    // the first chunk again, its copy maybe still queued: may wait
        Assert.That(dev.HostWaits, Is.EqualTo(waits + 1));
        GpuTest.AssertClose(gl.To(Device.Cpu).ToInt64Array().Select(v => (float)v).ToArray(), labels.ToInt64Array().Select(v => (float)v).ToArray(), 0, 0, "labels");
        GpuTest.AssertClose(again.To(Device.Cpu).ToArray(), a.ToArray(), 0, 0, "features");
    }

    [Test]
    public void FillZerosItemAndIndexer()
    {
        GpuTest.RequireGpu();
        using var f = Tensor.Full(GpuTest.Cuda, 3.5f, 1000, 3);
        Assert.That(f.ToArray(), Is.All.EqualTo(3.5f));
        using var z = Tensor.Zeros(GpuTest.Cuda, 7);
        Assert.That(z.ToArray(), Is.All.EqualTo(0f));
        using var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        using var g = x.To(GpuTest.Cuda);
        Assert.That(g[1, 2], Is.EqualTo(6f));
        using var gt = g.Transpose(0, 1);
        Assert.That(gt[2, 0], Is.EqualTo(3f));
        using var one = g.Slice(1, 1, 2).Slice(0, 1, 2);
        Assert.That(one.Item(), Is.EqualTo(5f));
        Assert.That(() => g.AsSpan(), Throws.InvalidOperationException.With.Message.Contains("lives on cuda:0; copy it with .To(Device.Cpu)"));
        using var zl = Tensor.ZerosLike(g);
        Assert.That(zl.Device, Is.EqualTo(GpuTest.Cuda));
        Assert.That(zl.ToArray(), Is.All.EqualTo(0f));
    }

    [Test]
    public void EventsTimeGpuWork()
    {
        var dev = GpuTest.RequireGpu();
        using var start = new CudaEvent(dev);
        using var end = new CudaEvent(dev);
        start.Record();
        using var f = Tensor.Full(GpuTest.Cuda, 1f, 64 << 20);
        end.Record();
        float ms = end.ElapsedMilliseconds(start);
        Assert.That(ms, Is.GreaterThan(0f).And.LessThan(10_000f));
    }

    // Runs body on a fresh thread (no CUDA context current there yet) and rethrows what it threw.
    static void OnFreshThread(Action body)
    {
        Exception? error = null;
        var t = new Thread(() => { try { body(); } catch (Exception e) { error = e; } });
        t.Start();
        t.Join();
        if (error is not null) throw new AggregateException("on a fresh thread", error);
    }

    [Test]
    public void EveryEntryPointWorksFromAFreshThread()
    {
        // The driver's current context is per thread: test runners, data loaders and finalizers use other threads.
        var dev = GpuTest.RequireGpu();
        var data = Random(1000, 12);
        CudaEvent? start = null, end = null;
        Tensor? g = null, y = null;
        OnFreshThread(() => { start = new CudaEvent(dev); start.Record(); using var x = Tensor.FromArray(data); g = x.To(GpuTest.Cuda); });
        OnFreshThread(() => { y = Ops.Exp(g!); end = new CudaEvent(dev); end.Record(); });
        OnFreshThread(() => end!.Synchronize());
        OnFreshThread(() => Assert.That(end!.ElapsedMilliseconds(start!), Is.GreaterThanOrEqualTo(0f)));
        // CUDA's expf is within 2 ulp of the true value, as MathF.Exp is: 1e-4 percent is about 8 ulp (1e-6 percent was under one).
        OnFreshThread(() => Assert.That(y!.ToArray(), Is.EqualTo(data.Select(MathF.Exp).ToArray()).Within(1e-4f).Percent));
        OnFreshThread(() => { start!.Dispose(); end!.Dispose(); g!.Dispose(); y!.Dispose(); dev.Synchronize(); });
        OnFreshThread(dev.EmptyCache);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void Leak() => _ = new Storage(5 << 20, Device.Cuda(0));

    [Test]
    public void UndisposedStorageIsReclaimedWithoutCudaOnTheFinalizerThread()
    {
        var dev = GpuTest.RequireGpu();
        long before = dev.MemoryStatistics.AllocatedBytes;
        Leak();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // At most `before`: other tests' undisposed tensors may be reclaimed in the same collection.
        Assert.That(dev.MemoryStatistics.AllocatedBytes, Is.LessThanOrEqualTo(before), "the finalizer's queued free lands on the next statistics/allocation");
    }

    [Test]
    public void ModuleToMovesParametersInPlace()
    {
        GpuTest.RequireGpu();
        using var m = new Linear(5, 3, bias: true, rng: new Random(4));
        var ps = m.Parameters().ToList();
        var values = ps.Select(p => p.ToArray()).ToList();
        Assert.That(m.To(GpuTest.Cuda), Is.SameAs(m));
        Assert.That(m.Parameters().Zip(ps).All(z => ReferenceEquals(z.First, z.Second)), Is.True, "same tensor objects");
        for (int i = 0; i < ps.Count; i++)
        {
            Assert.That(ps[i].Device, Is.EqualTo(GpuTest.Cuda));
            Assert.That(ps[i].IsLeaf && ps[i].RequiresGrad, Is.True);
            Assert.That(ps[i].ToArray(), Is.EqualTo(values[i]));
        }
        m.To(Device.Cpu);
        for (int i = 0; i < ps.Count; i++) Assert.That(ps[i].AsSpan().ToArray(), Is.EqualTo(values[i]));
    }

    [Test]
    public void OptimizerStateLivesOnTheParameterDevice()
    {
        GpuTest.RequireGpu();
        // State from one CPU step, loaded into an Adam over the same model moved to the GPU.
        using var cpu = new Linear(4, 2, bias: true, rng: new Random(6));
        using var cpuOpt = new Cochlea.Optim.Adam(cpu.Parameters());
        using (var x = Tensor.FromArray(Random(8, 7), 2, 4))
        using (var loss = Ops.Sum(cpu.Forward(x))) loss.Backward();
        cpuOpt.Step();
        var saved = cpuOpt.StateDict();

        using var gpu = new Linear(4, 2, bias: true, rng: new Random(6));
        gpu.To(GpuTest.Cuda);
        using var gpuOpt = new Cochlea.Optim.Adam(gpu.Parameters());
        gpuOpt.LoadState(saved);
        var state = gpuOpt.StateDict();
        Assert.That(state.Tensors.Values.Select(t => t.Device), Is.All.EqualTo(GpuTest.Cuda));
        foreach (var (k, t) in state.Tensors) Assert.That(t.ToArray(), Is.EqualTo(saved.Tensors[k].ToArray()), k);
    }

    [Test]
    public void CheckpointsSaveAndLoadCudaModules()
    {
        GpuTest.RequireGpu();
        using var dir = new TempDir("cuda-ckpt");
        string path = dir["linear.safetensors"];
        using var a = new Linear(3, 5, bias: true, rng: new Random(8));
        var values = a.Parameters().Select(p => p.ToArray()).ToList();
        a.To(GpuTest.Cuda);
        Cochlea.Checkpoints.Checkpoint.Save(a, null, path);
        using var b = new Linear(3, 5, bias: true, rng: new Random(9));
        b.To(GpuTest.Cuda);
        Cochlea.Checkpoints.Checkpoint.Load(b, null, path);
        Assert.That(b.Parameters().Select(p => p.Device), Is.All.EqualTo(GpuTest.Cuda));
        Assert.That(b.Parameters().Select(p => p.ToArray()), Is.EqualTo(values));
    }

    [Test]
    public void BackwardSeedsACudaRootOnItsDevice()
    {
        GpuTest.RequireGpu();
        using var x = Tensor.FromArray([1.5f], 1);
        x.RequiresGrad = true;
        using var g = x.To(GpuTest.Cuda);   // the root: a one-element CUDA tensor
        g.Backward();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 1f }));
    }

    [Test]
    public void ViewGradientsOnCudaMatchTheCpu()
    {
        GpuTest.RequireGpu();
        // permute -> slice (step 2) -> reshape of a non-contiguous view (a copy), backward from an explicit upstream gradient.
        static Tensor Chain(Tensor t) => t.Permute(2, 0, 1).Slice(0, 1, 4, 2).Reshape(-1);
        var data = Random(24, 3);
        var up = Random(12, 4);
        using var xc = Tensor.FromArray(data, 2, 3, 4);
        xc.RequiresGrad = true;
        using (var yc = Chain(xc)) using (var uc = Tensor.FromArray(up)) yc.Backward(uc);

        using var xg = Tensor.FromArray(data, 2, 3, 4);
        xg.RequiresGrad = true;
        using var onGpu = xg.To(GpuTest.Cuda);
        using var yg = Chain(onGpu);
        Assert.That(yg.Device, Is.EqualTo(GpuTest.Cuda));
        using var ug = Tensor.FromArray(up).To(GpuTest.Cuda);
        yg.Backward(ug);
        Assert.That(xg.Grad!.ToArray(), Is.EqualTo(xc.Grad!.ToArray()));
    }

    [Test]
    public void GradientFlowsBackThroughTo()
    {
        GpuTest.RequireGpu();
        using var x = Tensor.FromArray(Random(6, 5), 2, 3);
        x.RequiresGrad = true;
        using var g = x.To(GpuTest.Cuda);
        using var back = g.To(Device.Cpu);
        using var s = Ops.Sum(back * back);
        s.Backward();
        Assert.That(x.Grad!.Device.IsCpu, Is.True);
        Assert.That(x.Grad.ToArray(), Is.EqualTo(x.ToArray().Select(v => 2 * v).ToArray()));
    }
}

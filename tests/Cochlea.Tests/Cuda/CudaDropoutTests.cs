// The fused CUDA dropout (native/cuda/dropout.cu, Cuda/Ops/CudaDropout.cs) against the CPU path (mask tensor): forward
// and gradient bit for bit (the same Philox positions and the same x * scale product) at sizes around the 4-position
// Philox blocks, at every stream offset mod 4, on misaligned and strided views, for batch slices; the stream left where
// the CPU leaves it; no mask-sized buffer kept for the backward; one launch per direction. Skipped without a GPU.
using Cochlea.Bench.Compare;
using Cochlea.Cuda;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class CudaDropoutTests
{
    const ulong Seed = 0x5eed_cafe_0123ul;

    // Both devices from the same stream position: `drawn` values taken first, so the dropout starts at offset drawn
    // (mod 4: the first and last Philox blocks partial).
    static (Philox Cpu, Philox Gpu) Streams(int drawn)
    {
        var cpu = new Philox(Seed);
        var gpu = new Philox(Seed);
        for (int i = 0; i < drawn; i++) { cpu.NextFloat(); gpu.NextFloat(); }
        return (cpu, gpu);
    }

    // Dropout of `view(x)` on both devices with the same upstream gradient: forward, input gradient and stream end equal.
    static void AssertSameAsCpu(Tensor x, Func<Tensor, Tensor> view, int drawn, float p, BatchSlice? slice, Func<Tensor, Tensor>? gradView = null, string what = "")
    {
        var (cpu, gpu) = Streams(drawn);
        x.RequiresGrad = true;
        var xd = GpuTest.LeafOn(x, GpuTest.Cuda);
        var y = Ops.Dropout(view(x), p, true, cpu, slice);
        var yd = Ops.Dropout(view(xd), p, true, gpu, slice);
        Assert.That(yd.Device, Is.EqualTo(GpuTest.Cuda), "the result left the GPU");
        Assert.That(gpu.Offset, Is.EqualTo(cpu.Offset), $"{what}: stream position after the call");
        Assert.That(yd.ToArray(), Is.EqualTo(y.ToArray()), $"{what}: forward");
        // An upstream gradient laid out as gradView says (contiguous by default), the same values on both devices.
        var gBase = Tensor.Randn(new Random(3), 1f, gradView is null ? y.ShapeArray : new[] { (int)y.Numel + 1 });
        var g = gradView is null ? gBase : gradView(gBase).Reshape(y.ShapeArray);
        var gd = gradView is null ? gBase.To(GpuTest.Cuda) : gradView(gBase.To(GpuTest.Cuda)).Reshape(y.ShapeArray);
        y.Backward(g);
        yd.Backward(gd);
        Assert.That(xd.Grad!.ToArray(), Is.EqualTo(x.Grad!.ToArray()), $"{what}: gradient");
    }

    [Test]
    public void MatchesTheCpuAtEveryOffsetModFour([Values(1, 3, 4, 5, 4097, 100003)] int n, [Values(0, 1, 2, 3)] int drawn)
    {
        GpuTest.RequireGpu();
        using var scope = Tensor.Scope();
        var x = Tensor.Randn(new Random(n + drawn), 1f, n);
        AssertSameAsCpu(x, t => t, drawn, 0.5f, null, what: $"n {n}, offset {drawn}");
    }

    // A view starting one element into its storage (and 2, 3): x + e is not 16-byte aligned, so the float4 path must not
    // be taken for it (with offset 1 and view offset 1, x + e is aligned but y + e is not); the gradient as a view too.
    [Test]
    public void MisalignedViewsMatchTheCpu([Values(1, 2, 3)] int viewOffset, [Values(0, 1, 2, 3)] int drawn)
    {
        GpuTest.RequireGpu();
        using var scope = Tensor.Scope();
        const int n = 4099;
        var x = Tensor.Randn(new Random(viewOffset), 1f, n + viewOffset);
        AssertSameAsCpu(x, t => t.Slice(0, viewOffset, n + viewOffset), drawn, 0.3f, null, t => t.Slice(0, 1, n + 1), $"view at {viewOffset}, offset {drawn}");
    }

    [Test]
    public void StridedViewsMatchTheCpu([Values(0, 3)] int drawn)
    {
        GpuTest.RequireGpu();
        using var scope = Tensor.Scope();
        var x = Tensor.Randn(new Random(5), 1f, 37, 29);
        AssertSameAsCpu(x, t => t.Transpose(0, 1), drawn, 0.4f, null, what: $"transposed, offset {drawn}");
    }

    // Nothing but size-1 axes before the slice axis (consecutive positions from offset + start * inner: the block kernel,
    // start * inner not a multiple of 4) and a larger axis before it (rows `total * inner` positions apart: the
    // per-element kernel).
    [TestCase(new[] { 3, 7, 5 }, 0, 1, 5, 0)]
    [TestCase(new[] { 3, 7, 5 }, 0, 2, 9, 3)]
    [TestCase(new[] { 1, 3, 7 }, 1, 1, 6, 2)]
    [TestCase(new[] { 3, 4, 5 }, 1, 2, 7, 1)]
    [TestCase(new[] { 2, 3, 2, 9 }, 2, 1, 4, 2)]
    public void BatchSlicesMatchTheCpu(int[] shape, int axis, int start, int total, int drawn)
    {
        GpuTest.RequireGpu();
        using var scope = Tensor.Scope();
        var x = Tensor.Randn(new Random(axis * 10 + start), 1f, shape);
        AssertSameAsCpu(x, t => t, drawn, 0.5f, new BatchSlice(axis, start, total), what: $"slice axis {axis} [{start}, ..) of {total}, offset {drawn}");
    }

    // The backward regenerates the mask: after the forward of a 16 MiB x the device holds x and y, not a mask as well.
    [Test]
    public void KeepsNoMaskForTheBackward()
    {
        var dev = GpuTest.RequireGpu();
        using var scope = Tensor.Scope();
        const int n = 4 << 20;   // 16 MiB: a whole number of the allocator's 2 MiB granules
        var x = GpuTest.LeafOn(Tensor.Randn(new Random(2), 1f, n), GpuTest.Cuda);
        x.RequiresGrad = true;
        GC.Collect();
        GC.WaitForPendingFinalizers();   // frees queued by finalizers land now, not inside the measurement
        dev.Synchronize();
        long before = dev.MemoryStatistics.AllocatedBytes;
        var y = Ops.Dropout(x, 0.5f, true, new Philox(1));
        long grown = dev.MemoryStatistics.AllocatedBytes - before;
        Assert.That(grown, Is.EqualTo(4L * n), "the forward allocates y only (a stored mask would double this)");
        y.Backward(Tensor.Ones(n).To(GpuTest.Cuda));
        Assert.That(x.Grad, Is.Not.Null);
    }

    // Under the host emulator's counters: the forward is one launch of dropout_f32 and nothing else (no mask kernel, no
    // multiply), the backward one more dropout_f32.
    [Test]
    public void ForwardAndBackwardAreOneLaunchEach()
    {
        GpuTest.RequireGpu();
        var counters = EmulatorCounters.Open(Path.Combine(Path.GetTempPath(), $"cochlea-dropout-stats-{Environment.ProcessId}.txt"));
        if (counters is null) Assert.Ignore("needs the host emulator's counters: run with COCHLEA_EMU_STATS=<file> (tools/cuda-emu/host-libs/README.md)");
        using var scope = Tensor.Scope();
        var x = GpuTest.LeafOn(Tensor.Randn(new Random(4), 1f, 64, 33), GpuTest.Cuda);
        x.RequiresGrad = true;
        var g = Tensor.Randn(new Random(6), 1f, 64, 33).To(GpuTest.Cuda);
        Ops.Dropout(x, 0.5f, true, new Philox(2));   // first call: compiles and loads the module
        CudaBackend.Get(0).Synchronize();
        var a = counters();
        var y = Ops.Dropout(x, 0.5f, true, new Philox(3));
        var b = counters();
        y.Backward(g);
        var c = counters();
        Assert.That(EmulatorCounters.Delta(a, b, "launch"), Is.EqualTo(1), "forward: launches");
        Assert.That(EmulatorCounters.Delta(a, b, "launch\tdropout_f32"), Is.EqualTo(1), "forward: the fused kernel");
        Assert.That(EmulatorCounters.Delta(a, b, "copy") + EmulatorCounters.Delta(a, b, "memset") + EmulatorCounters.Delta(a, b, "wait"), Is.Zero, "forward: copies, memsets, waits");
        Assert.That(EmulatorCounters.Delta(b, c, "launch\tdropout_f32"), Is.EqualTo(1), "backward: the same kernel on the gradient");
    }
}

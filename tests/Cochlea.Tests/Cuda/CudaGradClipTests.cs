// Gradient-norm clipping on CUDA with the norm kept on the device (GradClip.ClipByGlobalNormTensor): the norm and the
// clipped gradients against the CPU implementation (double rounding) and against the host-summed GPU path it replaces
// (CudaOptim.SumSquares added in order on the host, then scale_f32 per gradient: bit for bit), over empty gradients,
// parameters without a gradient, more than one 32-entry chunk, a tensor past the 256-block cap, NaN/Inf and norms within
// the bound; and, on the host emulator with COCHLEA_EMU_STATS set, that it makes no host wait, copy or cuMemAlloc.
using Cochlea.Bench.Compare;
using Cochlea.Cuda;
using Cochlea.Cuda.Nvrtc;
using Cochlea.Optim;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class CudaGradClipTests
{
    // Shapes of the parameters; null = a parameter without a gradient.
    public static IEnumerable<TestCaseData> ShapeSets()
    {
        yield return new TestCaseData((object)new int[]?[] { [5000], [7, 3], [1] }).SetName("three small");
        yield return new TestCaseData((object)new int[]?[] { [0], [3], null, [129], [0, 4] }).SetName("empty gradients and one missing");
        var forty = new List<int[]?>();
        for (int k = 0; forty.Count < 40; k++) forty.Add(k % 3 == 0 ? [k * 37 % 300 + 1] : [k % 7 + 1, k * 13 % 50 + 2]);
        forty[9] = null; forty[17] = [0];
        yield return new TestCaseData((object)forty.ToArray()).SetName("40 tensors (two chunks of 32)");
        // 256 sum-of-squares blocks cover 524288 elements (the rest grid-strides); the scale kernel's 4096-block cap 1048576.
        yield return new TestCaseData((object)new int[]?[] { [3], [4096 * 256 + 1001], [2] }).SetName("one tensor past both block caps");
    }

    [TestCaseSource(nameof(ShapeSets))]
    public void NormAndClippedGradientsMatchTheCpuAndTheHostSummedPath(int[]?[] shapes)
    {
        GpuTest.RequireGpu();
        foreach (double factor in new[] { 0.5, 1.0, 2.0 })   // clipped; norm == maxNorm and within the bound: unchanged
        {
            var rng = new Random(17);
            var cpu = Make(rng, shapes);
            var gpu = Copy(cpu, GpuTest.Cuda);
            var old = Copy(cpu, GpuTest.Cuda);
            float maxNorm = factor == 1.0 ? GradClip.GlobalNorm(gpu) : (float)(GradClip.GlobalNorm(cpu) * factor);
            var before = Grads(gpu).Select(g => g.ToArray()).ToList();

            float oldNorm = HostSummedClip(old, maxNorm);
            float cpuNorm = GradClip.ClipByGlobalNorm(cpu, maxNorm);
            using var norm = GradClip.ClipByGlobalNormTensor(gpu, maxNorm);

            string what = $"x{factor}, max {maxNorm}";
            Assert.That(norm.Device, Is.EqualTo(GpuTest.Cuda), what);
            Assert.That(norm.Shape.ToArray(), Is.Empty, what + ": a 0-d tensor");
            float n = norm.Item();
            Assert.That(BitConverter.SingleToInt32Bits(n), Is.EqualTo(BitConverter.SingleToInt32Bits(oldNorm)), $"{what}: norm {n} vs host-summed {oldNorm}");
            Assert.That(n, Is.EqualTo(cpuNorm).Within(1e-5).Percent, what + ": norm vs CPU");
            var g = Grads(gpu).ToList();
            var o = Grads(old).ToList();
            var c = Grads(cpu).ToList();
            for (int i = 0; i < g.Count; i++)
            {
                var gi = g[i].ToArray();
                Assert.That(gi, Is.EqualTo(o[i].ToArray()), $"{what}: gradient {i} vs host-summed path");
                GpuTest.AssertClose(gi, c[i].ToArray(), 1e-7, 1e-6, $"{what}: gradient {i} vs CPU");
                if (factor >= 1) Assert.That(gi, Is.EqualTo(before[i]), $"{what}: gradient {i} changed though the norm is within the bound");
                else if (gi.Length > 0) Assert.That(gi, Is.Not.EqualTo(before[i]), $"{what}: gradient {i} not clipped");
            }
            Dispose(cpu, gpu, old);
        }
    }

    // Sums of squares whose float norm depends on the order of the double additions: in the host loop's order (tensors in
    // order, each tensor's partials in order) the total is exactly m^2 with m = 1 + 2^-24, halfway between two floats, so
    // the norm rounds to 1 (even); eight 2^-27 (squares 2^-54, a quarter ulp of 1) are lost after the 1 but add up to 2^-51
    // when summed first, and then the norm rounds up to 1 + 2^-23. So the reverse order fails here.
    [TestCase(false, TestName = "NormAddsTheTensorsInTheHostLoopsOrder")]
    [TestCase(true, TestName = "NormAddsEachTensorsPartialsInTheHostLoopsOrder")]
    public void NormAddsInTheHostLoopsOrder(bool withinATensor)
    {
        GpuTest.RequireGpu();
        float big = 1f, tiny = MathF.Pow(2, -27), half = MathF.Pow(2, -12), quarter = MathF.Pow(2, -24);
        float[][] values;
        if (withinATensor)
        {
            // 10240 elements = 5 sum-of-squares blocks of a grid-stride over 256-element rows: the 1 in block 0, two tiny in each of blocks 1..4.
            var x = new float[10240];
            x[0] = big;
            foreach (int i in new[] { 256, 257, 512, 513, 768, 769, 1024, 1025 }) x[i] = tiny;
            Assert.That(CudaOptim.SumSquaresBlocks(x.Length), Is.EqualTo(5));
            values = [x, [half, half, quarter]];
        }
        else values = [[big], .. Enumerable.Repeat(new[] { tiny }, 8), [half], [half], [quarter]];
        var cpu = values.Select(v => { var p = Tensor.Zeros(v.Length); p.Grad = Tensor.FromArray(v, v.Length); return p; }).ToArray();
        var gpu = Copy(cpu, GpuTest.Cuda);
        double reversed = values.Reverse().Sum(v => v.Reverse().Sum(e => (double)e * e));
        Assert.That((float)Math.Sqrt(reversed), Is.EqualTo(1f + MathF.Pow(2, -23)), "the case tells the orders apart");
        using var norm = GradClip.GlobalNormTensor(gpu);
        Assert.That(norm.Item(), Is.EqualTo(1f), "device norm");
        Assert.That(GradClip.GlobalNorm(cpu), Is.EqualTo(1f), "CPU norm");
        Dispose(cpu, gpu);
    }

    [TestCase(float.NaN), TestCase(float.PositiveInfinity), TestCase(float.NegativeInfinity)]
    public void NonFiniteNormLeavesGradientsUnchanged(float bad)
    {
        GpuTest.RequireGpu();
        var cpu = Make(new Random(2), [[300], [5, 5]]);
        var gradient = cpu[1].Grad!.ToArray();
        gradient[7] = bad;
        cpu[1].Grad!.Dispose();
        cpu[1].Grad = Tensor.FromArray(gradient, 5, 5);
        var gpu = Copy(cpu, GpuTest.Cuda);
        var before = Grads(gpu).Select(g => g.ToArray()).ToList();
        using var norm = GradClip.ClipByGlobalNormTensor(gpu, 1e-3f);
        float n = norm.Item();
        if (float.IsNaN(bad)) Assert.That(n, Is.NaN);
        else Assert.That(n, Is.EqualTo(float.PositiveInfinity));
        var after = Grads(gpu).Select(g => g.ToArray()).ToList();
        for (int i = 0; i < after.Count; i++) Assert.That(after[i], Is.EqualTo(before[i]), $"gradient {i}");
        Assert.That(GradClip.ClipByGlobalNorm(cpu, 1e-3f), float.IsNaN(bad) ? Is.NaN : Is.EqualTo(float.PositiveInfinity), "the CPU agrees");
        Dispose(cpu, gpu);
    }

    [Test]
    public void NoGradientsGiveAZeroNormOnTheParametersDevice()
    {
        GpuTest.RequireGpu();
        using var p = Tensor.Zeros(3).To(GpuTest.Cuda);
        using var norm = GradClip.ClipByGlobalNormTensor([p], 1f);
        Assert.That(norm.Device, Is.EqualTo(GpuTest.Cuda));
        Assert.That(norm.Item(), Is.EqualTo(0f));
    }

    [Test]
    public void MixedDevicesAreRefusedNamingBoth()
    {
        GpuTest.RequireGpu();
        var cpu = Make(new Random(4), [[3], [2]]);
        var gpu = Copy(cpu, GpuTest.Cuda);
        var e = Assert.Throws<ArgumentException>(() => GradClip.ClipByGlobalNormTensor([cpu[0], gpu[1]], 1f))!;
        Assert.That(e.Message, Does.Contain("parameter 0's on cpu").And.Contain("parameter 1's on cuda:0").And.Contain(".To(device)"));
        Assert.Throws<ArgumentException>(() => GradClip.GlobalNorm([gpu[0], cpu[1]]));
        Dispose(cpu, gpu);
    }

    // Under the host emulator with COCHLEA_EMU_STATS set (COCHLEA_EMU_STATS=/tmp/s.txt bash tools/cuda-emu/host-libs/run-gpu-tests.sh):
    // a steady-state clip is 3 launches (11 gradients: one chunk each) and nothing else; the float form waits once.
    [Test]
    public void TheTensorFormMakesNoHostWaitCopyOrAllocation()
    {
        GpuTest.RequireGpu();
        var counters = EmulatorCounters.Open(Path.Combine(Path.GetTempPath(), $"cochlea-gradclip-stats-{Environment.ProcessId}.txt"));
        if (counters is null) Assert.Ignore("needs the host emulator's counters: run with COCHLEA_EMU_STATS=<file> (tools/cuda-emu/host-libs/README.md)");
        var gpu = Copy(Make(new Random(8), Enumerable.Range(0, 11).Select(i => (int[]?)[i * 500 + 3]).ToArray()), GpuTest.Cuda);
        GradClip.ClipByGlobalNormTensor(gpu, 1f).Dispose();   // first call: compiles the module, fills the allocator's cache
        CudaBackend.Get(0).Synchronize();
        var a = counters();
        for (int i = 0; i < 3; i++) GradClip.ClipByGlobalNormTensor(gpu, 1f).Dispose();
        var b = counters();
        Assert.That(EmulatorCounters.Delta(a, b, "launch"), Is.GreaterThan(0), "the emulator counts launches (else this test proves nothing)");
        Assert.That(EmulatorCounters.Delta(a, b, "launch"), Is.EqualTo(3 * 3), "per clip: sumsq_multi_f32, sumsq_norm_f32, clip_scale_multi_f32");
        Assert.That(EmulatorCounters.Delta(a, b, "wait"), Is.Zero, "host waits");
        Assert.That(EmulatorCounters.Delta(a, b, "copy"), Is.Zero, "copies");
        Assert.That(EmulatorCounters.Delta(a, b, "alloc"), Is.Zero, "cuMemAlloc after the first call");
        GradClip.ClipByGlobalNorm(gpu, 1f);
        var c = counters();
        Assert.That(EmulatorCounters.Delta(b, c, "wait"), Is.EqualTo(1), "the float form reads the norm back: one wait");
        Dispose(gpu);
    }

    // ---- helpers

    // The path GradClip took before the norm stayed on the device: partials summed on the host in order, one scale_f32 per gradient.
    static float HostSummedClip(Tensor[] ps, float maxNorm)
    {
        var grads = Grads(ps).ToList();
        double sum = 0;
        foreach (double s in CudaOptim.SumSquares(grads)) sum += s;
        float norm = (float)Math.Sqrt(sum);
        if (!float.IsFinite(norm) || norm <= maxNorm) return norm;
        float scale = (float)(maxNorm / (norm + 1e-6));
        foreach (var g in grads) if (g.Numel > 0) CudaElementwise.ScaleInPlace(g, scale);
        return norm;
    }

    static Tensor[] Make(Random rng, int[]?[] shapes)
    {
        using var _ = TensorScope.Suspend();
        return shapes.Select(s =>
        {
            var p = Tensor.Zeros(s ?? [2]);
            if (s is not null) p.Grad = Tensor.Randn(rng, 2f, s);
            return p;
        }).ToArray();
    }

    static Tensor[] Copy(Tensor[] ps, Device device)
    {
        using var _ = TensorScope.Suspend();
        return ps.Select(p =>
        {
            var q = p.To(device);
            if (p.Grad is not null) q.Grad = p.Grad.To(device);
            return q;
        }).ToArray();
    }

    static IEnumerable<Tensor> Grads(Tensor[] ps) => ps.Where(p => p.Grad is not null).Select(p => p.Grad!);

    static void Dispose(params Tensor[][] sets)
    {
        foreach (var p in sets.SelectMany(s => s)) { p.Grad?.Dispose(); p.Dispose(); }
    }

}

/// <summary>GPU-free: the chunk struct passed by value has the layout of struct GradChunk in native/cuda/optim.cu.</summary>
public class CudaGradChunkLayoutTests
{
    [Test]
    public unsafe void GradChunkHasTheKernelLayout() => Assert.That(sizeof(CudaGradChunk), Is.EqualTo(640));

    // NVRTC's PTX declares the by-value chunk parameter as large as the C# struct (the static_assert in optim.cu checks the C side).
    [Test, Category("Nvrtc")]
    public unsafe void TheMultiTensorGradKernelsTakeTheChunkAsTheHostLaysItOut()
    {
        GpuTest.RequireNvrtc();
        var ptx = NvrtcCompiler.Compile(KernelSources.Read("optim.cu"), "optim.cu", KernelSources.Headers,
            NvrtcCompiler.Options(90, false, KernelCache.CommonOptions), cubin: false);
        string text = System.Text.Encoding.ASCII.GetString(ptx.Bytes);
        foreach (var k in new[] { "sumsq_multi_f32", "clip_scale_multi_f32" })
            Assert.That(text.Contains($".param .align 8 .b8 {k}_param_0[{sizeof(CudaGradChunk)}]", StringComparison.Ordinal), Is.True, $"{k}'s chunk parameter (not the PTX text: an emulator image?)");
    }
}

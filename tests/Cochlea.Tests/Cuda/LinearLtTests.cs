// Linear with a bias on CUDA through cuBLASLt's bias epilogue (CudaLinearLt) and through the rank-1 path, both against
// the CPU (forward and every gradient), for rows 1, odd sizes, 3-d input, out 1, in 1; that Auto really runs one
// cublasLtMatmul per forward (the device's call counters) and plans a shape once; that a missing libcublasLt, Off, and
// a bias the epilogue cannot take (4-byte aligned) fall back to the rank-1 path and stay correct. GPU tests are skipped
// without a GPU; the host tests (env parsing, alignment, struct layout and enum values) run everywhere.
using System.Runtime.InteropServices;
using Cochlea.Bench.Compare;
using Cochlea.Cuda;
using Cochlea.Cuda.Cublas;
using NUnit.Framework;
using static Cochlea.Tests.Cuda.BlasDnnGpu;

namespace Cochlea.Tests.Cuda;

[Category("Gpu"), NonParallelizable]   // sets the process-wide CudaOptions.LinearBiasEpilogue / AllowTf32 and reads the device's counters
public class LinearLtGpuTests
{
    static readonly Random Rng = new(23);
    static Tensor N(params int[] shape) => Tensor.Randn(Rng, 1f, shape);

    LinearBiasEpilogue _saved;

    [SetUp] public void Save() => _saved = CudaOptions.LinearBiasEpilogue;

    [TearDown]
    public void Restore()
    {
        CudaOptions.LinearBiasEpilogue = _saved;
        CudaOptions.AllowTf32 = false;
        if (CudaLinearLt.SimulateMissingLibrary is not null && CudaBackend.IsAvailable)
        {
            CudaLinearLt.SimulateMissingLibrary = null;
            CudaBackend.Get(0).LinearLt.Reset();
        }
    }

    static (long Lt, long Fallback) Calls() => CudaBackend.Get(0).LinearLt.Calls;

    // x shape (rows..., in), out: rows 1, out 1, in 1, odd sizes, a 3-d input.
    static readonly object[] Shapes =
    [
        new object[] { new[] { 1, 5 }, 3 },
        new object[] { new[] { 7, 13 }, 1 },
        new object[] { new[] { 5, 1 }, 4 },
        new object[] { new[] { 33, 17 }, 21 },
        new object[] { new[] { 2, 3, 9 }, 11 },
    ];

    [TestCaseSource(nameof(Shapes))]
    public void EpilogueMatchesTheCpu(int[] xShape, int outF) => CompareWith(LinearBiasEpilogue.Auto, xShape, outF);

    [TestCaseSource(nameof(Shapes))]
    public void RankOnePathMatchesTheCpu(int[] xShape, int outF) => CompareWith(LinearBiasEpilogue.Off, xShape, outF);

    static void CompareWith(LinearBiasEpilogue mode, int[] xShape, int outF)
    {
        GpuTest.RequireGpu();
        CudaOptions.LinearBiasEpilogue = mode;
        var before = Calls();
        Compare(t => Ops.Linear(t[0], t[1], t[2]), [N(xShape), N(outF, xShape[^1]), N(outF)]);
        var after = Calls();
        int rows = xShape[..^1].Aggregate(1, (p, d) => p * d), inF = xShape[^1];
        bool eligible = rows > 1 && inF > 1 && outF > 1;   // else the rank-1 path without asking cuBLASLt (CudaLinearLt.Eligible)
        Assert.That(after.Lt - before.Lt + after.Fallback - before.Fallback, Is.EqualTo(eligible ? 1 : 0), "one forward with a bias: one path decision when eligible");
        if (mode == LinearBiasEpilogue.Off) Assert.That(after.Lt, Is.EqualTo(before.Lt), "Off never calls cuBLASLt");
        else if (CudaBackend.Get(0).LinearLt.UnavailableReason is null)
            Assert.That(after.Lt - before.Lt, Is.EqualTo(eligible ? 1 : 0), eligible ? "Auto takes the epilogue" : "one row, input or output: the rank-1 path");
    }

    [Test]
    public void AutoRunsOneLtMatmulAndPlansEachShapeOnce()
    {
        var dev = GpuTest.RequireGpu();
        CudaOptions.LinearBiasEpilogue = LinearBiasEpilogue.Auto;
        using var x = N(64, 48).To(GpuTest.Cuda);
        using var w = N(40, 48).To(GpuTest.Cuda);
        using var b = N(40).To(GpuTest.Cuda);
        Ops.Linear(x, w, b).Dispose();
        Assume.That(dev.LinearLt.UnavailableReason, Is.Null, "cuBLASLt does not load here, so there is no Lt path to check");
        int plans = dev.LinearLt.PlanCount;
        // Under the host emulator with COCHLEA_EMU_STATS set, the libraries' own counts say the same (else null).
        var library = EmulatorCounters.Open(Path.Combine(Path.GetTempPath(), $"cochlea-linearlt-stats-{Environment.ProcessId}.txt"));
        var libBefore = library?.Invoke();
        var before = Calls();
        for (int i = 0; i < 3; i++) Ops.Linear(x, w, b).Dispose();
        var after = Calls();
        Assert.That(after.Lt - before.Lt, Is.EqualTo(3), "each forward is one cublasLtMatmul");
        Assert.That(after.Fallback - before.Fallback, Is.Zero, "no rank-1 GEMM");
        Assert.That(dev.LinearLt.PlanCount, Is.EqualTo(plans), "the shape's plan is made once");
        if (library is not null)
        {
            var libAfter = library();
            Assert.That(EmulatorCounters.Delta(libBefore!, libAfter, "cublaslt\tcublasLtMatmul"), Is.EqualTo(3), "libcublasLt: one cublasLtMatmul per forward");
            Assert.That(EmulatorCounters.Delta(libBefore!, libAfter, "cublaslt\tcublasLtMatmulAlgoGetHeuristic"), Is.Zero, "no heuristic after the first call");
            Assert.That(EmulatorCounters.Delta(libBefore!, libAfter, "cublas"), Is.Zero, "libcublas: no GEMM (no rank-1 bias)");
        }
    }

    // The plans are bounded like the cuDNN caches: five shapes through a capacity of 2, each still right when it returns.
    [Test]
    public void PlansAreBoundedByTheCacheCapacityAndRebuiltWhenAShapeReturns()
    {
        var dev = GpuTest.RequireGpu();
        CudaOptions.LinearBiasEpilogue = LinearBiasEpilogue.Auto;
        CudaOptions.CudnnCacheCapacity = 2;
        try
        {
            for (int round = 0; round < 2; round++)
                for (int k = 1; k <= 5; k++)
                {
                    var before = Calls();
                    Compare(t => Ops.Linear(t[0], t[1], t[2]), [N(3 + k, 8), N(4 * k, 8), N(4 * k)]);
                    Assume.That(dev.LinearLt.UnavailableReason, Is.Null, "cuBLASLt does not load here");
                    Assert.That(Calls().Lt - before.Lt, Is.EqualTo(1), $"round {round}, shape {k}: the Lt path");
                    Assert.That(dev.LinearLt.PlanCount, Is.LessThanOrEqualTo(2), "plans held");
                }
        }
        finally { CudaOptions.CudnnCacheCapacity = CudaOptions.DefaultCudnnCacheCapacity; }
    }

    [Test]
    public void AMissingLibraryFallsBackToTheRankOnePath()
    {
        var dev = GpuTest.RequireGpu();
        CudaOptions.LinearBiasEpilogue = LinearBiasEpilogue.Auto;
        CudaLinearLt.SimulateMissingLibrary = "libcublasLt.so.13 not found (simulated by LinearLtGpuTests)";
        dev.LinearLt.Reset();
        var before = Calls();
        Compare(t => Ops.Linear(t[0], t[1], t[2]), [N(6, 10), N(7, 10), N(7)]);
        Compare(t => Ops.Linear(t[0], t[1], t[2]), [N(6, 10), N(7, 10), N(7)]);
        var after = Calls();
        Assert.That(after.Lt, Is.EqualTo(before.Lt), "no cuBLASLt call without the library");
        Assert.That(after.Fallback - before.Fallback, Is.EqualTo(2));
        Assert.That(dev.LinearLt.UnavailableReason, Does.Contain("simulated by LinearLtGpuTests").And.Contain("rank-1"));
    }

    [Test]
    public void ABiasTheEpilogueCannotTakeFallsBackAndStaysCorrect()
    {
        GpuTest.RequireGpu();
        CudaOptions.LinearBiasEpilogue = LinearBiasEpilogue.Auto;
        var before = Calls();
        // A contiguous slice starting one float in: its device pointer is only 4-byte aligned.
        Compare(t => Ops.Linear(t[0], t[1], t[2].Slice(0, 1, 10)), [N(5, 8), N(9, 8), N(10)]);
        var after = Calls();
        Assert.That(after.Fallback - before.Fallback, Is.EqualTo(1), "a 4-byte aligned bias takes the rank-1 path");
    }

    [Test]
    public void Tf32KeepsTheEpilogueCloseToTheCpu()
    {
        var lt = GpuTest.RequireGpu().LinearLt;
        CudaOptions.LinearBiasEpilogue = LinearBiasEpilogue.Auto;
        Compare(t => Ops.Linear(t[0], t[1], t[2]), [N(16, 64), N(12, 64), N(12)]);
        Assume.That(lt.UnavailableReason, Is.Null, "cuBLASLt does not load here");
        int plans = lt.PlanCount;
        var before = Calls();
        CudaOptions.AllowTf32 = true;
        Compare(t => Ops.Linear(t[0], t[1], t[2]), [N(16, 64), N(12, 64), N(12)], rtol: 5e-3f, atol: 5e-2f);
        Assert.That(Calls().Lt - before.Lt, Is.EqualTo(1), "the epilogue ran");
        Assert.That(lt.PlanCount, Is.EqualTo(plans + 1), "TF32 is a plan of its own (its compute type)");
        // And the compute type is applied: with 10-bit mantissas over 64-term sums some output changes.
        using var x = N(16, 64).To(GpuTest.Cuda);
        using var w = N(12, 64).To(GpuTest.Cuda);
        using var b = N(12).To(GpuTest.Cuda);
        float[] Run(bool tf32)
        {
            CudaOptions.AllowTf32 = tf32;
            using var _ = Tensor.NoGrad();
            using var y = Ops.Linear(x, w, b);
            return y.ToArray();
        }
        Assert.That(Run(true), Is.Not.EqualTo(Run(false)), "TF32 on and off give the same output: the plan ignored the compute type");
    }
}

[Category("Cuda")]
public class LinearLtHostTests
{
    [Test]
    public void TheEnvironmentVariableParses()
    {
        Assert.That(CudaOptions.LinearBiasEpilogueEnvironmentVariable, Is.EqualTo("COCHLEA_CUDA_LT"));
        Assert.That(CudaOptions.ParseLinearBiasEpilogue(null), Is.EqualTo(LinearBiasEpilogue.Auto));
        Assert.That(CudaOptions.ParseLinearBiasEpilogue(""), Is.EqualTo(LinearBiasEpilogue.Auto));
        Assert.That(CudaOptions.ParseLinearBiasEpilogue(" Auto "), Is.EqualTo(LinearBiasEpilogue.Auto));
        Assert.That(CudaOptions.ParseLinearBiasEpilogue("OFF"), Is.EqualTo(LinearBiasEpilogue.Off));
        var e = Assert.Throws<ArgumentException>(() => CudaOptions.ParseLinearBiasEpilogue("on"))!;
        Assert.That(e.Message, Does.Contain("COCHLEA_CUDA_LT='on'").And.Contain("auto or off"));
    }

    [Test]
    public void AlignmentIsTheLargestPowerOfTwoUpTo256()
    {
        Assert.That(LinearLtKey.Alignment(0x1000), Is.EqualTo(256));
        Assert.That(LinearLtKey.Alignment(0x1000 + 4), Is.EqualTo(4));
        Assert.That(LinearLtKey.Alignment(0x1000 + 16), Is.EqualTo(16));
        Assert.That(LinearLtKey.Alignment(0x1000 + 128), Is.EqualTo(128));
        Assert.That(LinearLtKey.Alignment(0x1001), Is.EqualTo(1));
    }

    // cublasLt.h: cublasLtMatmulAlgo_t { uint64_t data[8]; }; cublasLtMatmulHeuristicResult_t { algo; size_t
    // workspaceSize; cublasStatus_t state; float wavesCount; int reserved[4]; } - 96 bytes.
    [Test]
    public void TheHeuristicResultHasTheHeaderLayout()
    {
        Assert.That(Marshal.SizeOf<CublasLtMatmulAlgo>(), Is.EqualTo(64));
        Assert.That(Marshal.SizeOf<CublasLtHeuristicResult>(), Is.EqualTo(96));
        Assert.That(Marshal.OffsetOf<CublasLtHeuristicResult>(nameof(CublasLtHeuristicResult.WorkspaceSize)), Is.EqualTo((nint)64));
        Assert.That(Marshal.OffsetOf<CublasLtHeuristicResult>(nameof(CublasLtHeuristicResult.State)), Is.EqualTo((nint)72));
        Assert.That(Marshal.OffsetOf<CublasLtHeuristicResult>(nameof(CublasLtHeuristicResult.WavesCount)), Is.EqualTo((nint)76));
    }

    // Values from the cuBLAS reference (cublasComputeType_t, cublasLtMatmulDescAttributes_t, cublasLtEpilogue_t,
    // cublasLtMatmulPreferenceAttributes_t), not from our enums.
    [Test]
    public void TheLtEnumsHaveTheHeaderValues()
    {
        Assert.That((int)CublasComputeType.Compute32F, Is.EqualTo(68));
        Assert.That((int)CublasComputeType.Compute32FFastTf32, Is.EqualTo(77));
        Assert.That((int)CudaDataType.R32F, Is.EqualTo(0));
        Assert.That((int)CublasLtMatmulDescAttribute.TransA, Is.EqualTo(3));
        Assert.That((int)CublasLtMatmulDescAttribute.TransB, Is.EqualTo(4));
        Assert.That((int)CublasLtMatmulDescAttribute.Epilogue, Is.EqualTo(7));
        Assert.That((int)CublasLtMatmulDescAttribute.BiasPointer, Is.EqualTo(8));
        Assert.That((uint)CublasLtEpilogue.Default, Is.EqualTo(1u));
        Assert.That((uint)CublasLtEpilogue.Bias, Is.EqualTo(4u));
        Assert.That((int)CublasLtPreferenceAttribute.MaxWorkspaceBytes, Is.EqualTo(1));
        Assert.That((int)CublasLtPreferenceAttribute.MinAlignmentABytes, Is.EqualTo(5));
        Assert.That((int)CublasLtPreferenceAttribute.MinAlignmentDBytes, Is.EqualTo(8));
    }
}

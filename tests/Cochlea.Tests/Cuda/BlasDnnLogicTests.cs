// CPU-side logic of the cuBLAS/cuDNN layer, runnable without a GPU: the row-major -> column-major GEMM operand
// mapping (checked by running the mapped call through a scalar column-major GEMM, as cuBLAS defines it), the cuDNN
// convolution plan (symmetric part in the descriptor, the rest padded explicitly; output sizes as ConvShape),
// the algorithm-cache key, and the launch grid.
using Cochlea.Cuda;
using Cochlea.Cuda.Cublas;
using Cochlea.Cuda.Cudnn;
using Cochlea.Kernels.Conv;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Cuda")]
public class BlasDnnLogicTests
{
    // cuBLAS' definition: C = alpha op(A) op(B) + beta C, column-major, element (i, j) of X at X[i + j * ld]; batches by stride.
    static void ColumnMajorReference(ColumnMajorGemm g, float[] mem, int batch)
    {
        for (int q = 0; q < batch; q++)
            for (int i = 0; i < g.M; i++)
                for (int j = 0; j < g.N; j++)
                {
                    double s = 0;
                    for (int p = 0; p < g.K; p++)
                    {
                        long ai = g.TransA == CublasOperation.N ? i + (long)p * g.Lda : p + (long)i * g.Lda;
                        long bi = g.TransB == CublasOperation.N ? p + (long)j * g.Ldb : j + (long)p * g.Ldb;
                        s += mem[(long)g.A + q * g.StrideA + ai] * mem[(long)g.B + q * g.StrideB + bi];
                    }
                    mem[(long)g.C + q * g.StrideC + i + (long)j * g.Ldc] = (float)s;
                }
    }

    [Test]
    public void RowMajorGemmMapsOntoColumnMajorForEveryTransposePair([Values] bool ta, [Values] bool tb)
    {
        const int m = 3, n = 4, k = 5, batch = 2, pad = 2;
        var rng = new Random(3);
        // Row-major operands with padded leading dims: A stored (m, k) or, transposed, (k, m); likewise B.
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        long sa = (long)(ta ? k : m) * lda, sb = (long)(tb ? n : k) * ldb, sc = (long)m * ldc;
        long offA = 0, offB = batch * sa, offC = offB + batch * sb;
        var mem = new float[offC + batch * sc];
        for (long i = 0; i < offC; i++) mem[i] = (float)(rng.NextDouble() * 2 - 1);
        var g = CudaGemm.FromRowMajor(ta, tb, m, n, k, (ulong)offA, lda, sa, (ulong)offB, ldb, sb, (ulong)offC, ldc, sc);
        ColumnMajorReference(g, mem, batch);
        for (int q = 0; q < batch; q++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                    {
                        float a = ta ? mem[offA + q * sa + p * lda + i] : mem[offA + q * sa + i * lda + p];
                        float b = tb ? mem[offB + q * sb + j * ldb + p] : mem[offB + q * sb + p * ldb + j];
                        s += a * b;
                    }
                    Assert.That(mem[offC + q * sc + i * ldc + j], Is.EqualTo((float)s).Within(1e-5), $"C[{q}, {i}, {j}]");
                }
    }

    [Test]
    public void MappedGemmPassesCublasArgumentChecksForEveryShapeRunReaches([Values] bool ta, [Values] bool tb)
    {
        // The cuBLAS documentation's INVALID_VALUE rules for cublasSgemm: lda >= max(1, transa == N ? m : k),
        // ldb >= max(1, transb == N ? k : n), ldc >= max(1, m) (column-major m, n, k of the call). CudaGemm.Run skips
        // m == 0 or n == 0 itself, so every m, n >= 1 and k >= 0 with the tightest row-major leading dims must pass.
        for (int m = 1; m <= 3; m++)
            for (int n = 1; n <= 3; n++)
                for (int k = 0; k <= 3; k++)
                {
                    var g = CudaGemm.FromRowMajor(ta, tb, m, n, k, 0, ta ? m : k, 0, 0, tb ? k : n, 0, 0, n, 0);
                    string at = $"ta={ta} tb={tb} m={m} n={n} k={k}";
                    Assert.That(g.Lda, Is.GreaterThanOrEqualTo(Math.Max(1, g.TransA == CublasOperation.N ? g.M : g.K)), $"lda, {at}");
                    Assert.That(g.Ldb, Is.GreaterThanOrEqualTo(Math.Max(1, g.TransB == CublasOperation.N ? g.K : g.N)), $"ldb, {at}");
                    Assert.That(g.Ldc, Is.GreaterThanOrEqualTo(Math.Max(1, g.M)), $"ldc, {at}");
                }
    }

    [Test]
    public void SymmetricPaddingStaysInTheDescriptor()
    {
        var plan = ConvPlan.Create(2, 6, 8, 2, new ConvAxis(9, 3, 2, 1, 1, 1), new ConvAxis(11, 5, 1, 2, 2, 2), tf32: false);
        Assert.That(plan.NeedsPad, Is.False);
        Assert.That((plan.Key.H, plan.Key.W, plan.Key.PadH, plan.Key.PadW), Is.EqualTo((9, 11, 1, 2)));
        Assert.That((plan.Key.Groups, plan.Key.DilationW, plan.Key.StrideH), Is.EqualTo((2, 2, 2)));
    }

    [Test]
    public void AsymmetricPaddingIsSplitIntoDescriptorAndExplicitPad()
    {
        // 'same' with stride 2 and an even kernel: (1, 2) on H; explicit (0, 3) on W.
        var ah = ConvAxis.Create(PaddingMode.Same, 9, 4, 2);
        var aw = new ConvAxis(7, 2, 1, 0, 3);
        var plan = ConvPlan.Create(1, 3, 4, 1, ah, aw, tf32: false);
        Assert.That((ah.PadBefore, ah.PadAfter), Is.EqualTo((1, 2)), "the CPU's 'same' split this test relies on");
        Assert.That(plan.NeedsPad, Is.True);
        Assert.That((plan.PadTop, plan.PadBottom, plan.PadLeft, plan.PadRight), Is.EqualTo((0, 1, 0, 3)));
        Assert.That((plan.Key.PadH, plan.Key.PadW, plan.Key.H, plan.Key.W), Is.EqualTo((1, 0, 10, 10)));
    }

    [Test]
    public void PlannedOutputSizesMatchTheCpuRule()
    {
        int checkedCount = 0;
        for (int input = 1; input <= 12; input++)
            for (int kernel = 1; kernel <= 4; kernel++)
                for (int stride = 1; stride <= 3; stride++)
                    for (int dil = 1; dil <= 2; dil++)
                        for (int pb = 0; pb <= 2; pb++)
                            for (int pa = 0; pa <= 3; pa++)
                            {
                                var ax = new ConvAxis(input, kernel, stride, pb, pa, dil);
                                if (ax.Out <= 0) continue;
                                var plan = ConvPlan.Create(1, 1, 1, 1, new ConvAxis(1, 1), ax, tf32: false);
                                Assert.That(plan.Key.OutW, Is.EqualTo(ax.Out), $"{ax}");
                                Assert.That(plan.Key.OutH, Is.EqualTo(1));
                                checkedCount++;
                            }
        Assert.That(checkedCount, Is.GreaterThan(500));
    }

    [Test]
    public void AlgorithmCacheKeySeparatesWhatChangesTheChoice()
    {
        var ax = new ConvAxis(16, 3, 1, 1, 1);
        var a = ConvPlan.Create(4, 8, 8, 1, ax, ax, tf32: false).Key;
        Assert.That(ConvPlan.Create(4, 8, 8, 1, ax, ax, tf32: false).Key, Is.EqualTo(a), "same shape, same key");
        Assert.That(ConvPlan.Create(4, 8, 8, 1, ax, ax, tf32: true).Key, Is.Not.EqualTo(a), "TF32 changes the math type");
        Assert.That(ConvPlan.Create(5, 8, 8, 1, ax, ax, tf32: false).Key, Is.Not.EqualTo(a), "batch size");
        Assert.That(ConvPlan.Create(4, 8, 8, 2, ax, ax, tf32: false).Key, Is.Not.EqualTo(a), "groups");
        Assert.That(ConvPlan.Create(4, 8, 8, 1, ax, ax with { Stride = 2 }, tf32: false).Key, Is.Not.EqualTo(a), "stride");
    }

    [Test]
    public void LaunchGridCoversCountAndCapsForGridStrideLoops()
    {
        Assert.That(CudaTensors.Grid(0).X, Is.EqualTo(1u));
        Assert.That(CudaTensors.Grid(1).X, Is.EqualTo(1u));
        Assert.That(CudaTensors.Grid(256).X, Is.EqualTo(1u));
        Assert.That(CudaTensors.Grid(257).X, Is.EqualTo(2u));
        Assert.That(CudaTensors.Grid(10_000_000_000L).X, Is.EqualTo(1u << 20));
    }

    [Test]
    public void TensorCoresAreOffByDefault()
    {
        Assert.That(CudaOptions.AllowTf32, Is.False);
        Assert.That(Cochlea.Cuda.Cudnn.Cudnn.MathTypeFor(false), Is.EqualTo(CudnnMathType.Fma));
        Assert.That(Cochlea.Cuda.Cudnn.Cudnn.MathTypeFor(true), Is.EqualTo(CudnnMathType.Default));
    }

    // The search workspace: 1 GiB, or an eighth of a smaller device; a set value wins; negative values are refused by name.
    [Test, NonParallelizable]
    public void ConvSearchWorkspaceIsAGibibyteAtMostAnEighthOfTheDevice()
    {
        Assert.That(CudaOptions.ConvSearchWorkspaceBytes, Is.Null, "the default rule applies unless set");
        Assert.That(CudaOptions.ConvSearchWorkspaceFor(80L << 30), Is.EqualTo(1L << 30));
        Assert.That(CudaOptions.ConvSearchWorkspaceFor(4L << 30), Is.EqualTo(512L << 20));
        try
        {
            CudaOptions.ConvSearchWorkspaceBytes = 64L << 20;
            Assert.That(CudaOptions.ConvSearchWorkspaceFor(80L << 30), Is.EqualTo(64L << 20));
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => CudaOptions.ConvSearchWorkspaceBytes = -1)!;
            Assert.That(e.Message, Does.Contain("ConvSearchWorkspaceBytes"));
        }
        finally { CudaOptions.ConvSearchWorkspaceBytes = null; }
    }
}


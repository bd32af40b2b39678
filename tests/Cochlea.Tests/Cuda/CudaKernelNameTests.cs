// GPU-free checks of the CUDA op dispatch: every kernel name the engine launches exists in
// native/cuda (so a typo fails here, not on the GPU machine), every elementwise operator struct maps
// to a kernel family with its constants, the plan structs passed by value have the C layouts' sizes
// (checked against gcc's sizeof of the same structs), launch-config math, and that every op OpRegistry
// marks CUDA-supported has GPU comparison cases.
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Cochlea.Cuda;
using Cochlea.Kernels.Elementwise;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public class CudaKernelNameTests
{
    static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "native", "cuda")) && Directory.Exists(Path.Combine(d.FullName, "src", "Engine")))
                return d.FullName;
        throw new DirectoryNotFoundException($"no repository root (with native/cuda) above {AppContext.BaseDirectory}");
    }

    // Kernel names defined in native/cuda/*.cu: plain extern "C" kernels and the macro families' expansions.
    static readonly Lazy<HashSet<string>> Kernels = new(() =>
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in Directory.GetFiles(Path.Combine(RepoRoot(), "native", "cuda"), "*.cu"))
        {
            var src = File.ReadAllText(f);
            foreach (Match m in Regex.Matches(src, @"extern ""C"" __global__ void (\w+)\(")) names.Add(m.Groups[1].Value);
            foreach (Match m in Regex.Matches(src, @"^UNARY_OP\((\w+),", RegexOptions.Multiline)) names.Add(m.Groups[1].Value);
            foreach (Match m in Regex.Matches(src, @"^BINARY_OP\((\w+),", RegexOptions.Multiline))
                foreach (var form in new[] { "_f32", "_rscalar_f32", "_lscalar_f32", "_strided_f32" }) names.Add(m.Groups[1].Value + form);
            foreach (Match m in Regex.Matches(src, @"^TERNARY_OP\((\w+),", RegexOptions.Multiline))
                foreach (var form in new[] { "_f32", "_strided_f32" }) names.Add(m.Groups[1].Value + form);
            foreach (Match m in Regex.Matches(src, @"^SOFTMAX_FAMILY\((\w+),", RegexOptions.Multiline))
                foreach (var form in new[] { "_rows_f32", "_cols_f32", "_backward_rows_f32", "_backward_cols_f32" }) names.Add(m.Groups[1].Value + form);
        }
        return names;
    });

    [Test]
    public void EveryKernelNameInTheDispatchCodeExists()
    {
        var dir = Path.Combine(RepoRoot(), "src", "Engine", "Cuda", "Ops");
        var used = Directory.GetFiles(dir, "*.cs").SelectMany(f => Regex.Matches(File.ReadAllText(f), @"""([a-z][a-z0-9_]*_f32)""").Select(m => m.Groups[1].Value)).Distinct().ToList();
        Assert.That(used, Is.Not.Empty);
        Assert.That(used.Where(n => !Kernels.Value.Contains(n)), Is.Empty, "kernels launched but not defined in native/cuda");
        // Names composed at the launch site: the softmax families x layouts.
        foreach (var fam in new[] { "softmax", "log_softmax", "softmax_backward", "log_softmax_backward" })
            foreach (var form in new[] { "_rows_f32", "_cols_f32" })
                Assert.That(Kernels.Value, Does.Contain(fam + form));
    }

    // Every operator struct of Cochlea.Kernels maps to a family whose forms all exist (reflection is fine in tests).
    [Test]
    public void EveryElementwiseOperatorStructHasItsKernels()
    {
        var structs = typeof(IUnaryOp).Assembly.GetTypes().Where(t => t.IsValueType && !t.IsGenericTypeDefinition).ToList();
        int checkedCount = 0;
        foreach (var (iface, method, forms) in new[]
        {
            (typeof(IUnaryOp), nameof(CudaOpNames.Unary), new[] { "_f32" }),
            (typeof(IBinaryOp), nameof(CudaOpNames.Binary), new[] { "_f32", "_rscalar_f32", "_lscalar_f32", "_strided_f32" }),
            (typeof(ITernaryOp), nameof(CudaOpNames.Ternary), new[] { "_f32", "_strided_f32" }),
        })
            foreach (var t in structs.Where(s => iface.IsAssignableFrom(s)))
            {
                var m = typeof(CudaOpNames).GetMethod(method, BindingFlags.Public | BindingFlags.Static)!.MakeGenericMethod(t);
                var args = new object?[] { Activator.CreateInstance(t), null, null };
                string family = (string)m.Invoke(null, args)!;
                foreach (var form in forms) Assert.That(Kernels.Value, Does.Contain(family + form), $"{t.Name} -> {family}{form}");
                checkedCount++;
            }
        Assert.That(checkedCount, Is.GreaterThanOrEqualTo(29));
    }

    [Test]
    public void OperatorConstantsReachTheKernel()
    {
        Assert.That(CudaOpNames.Unary(new ScaleOp(2.5f), out float s, out _), Is.EqualTo("scale")); Assert.That(s, Is.EqualTo(2.5f));
        Assert.That(CudaOpNames.Unary(new AddScalarOp(-4f), out s, out _), Is.EqualTo("add_scalar")); Assert.That(s, Is.EqualTo(-4f));
        Assert.That(CudaOpNames.Unary(new PowOp(1.7f), out s, out _), Is.EqualTo("pow")); Assert.That(s, Is.EqualTo(1.7f));
        Assert.That(CudaOpNames.Unary(new ClampOp(-1f, 6f), out float lo, out float hi), Is.EqualTo("clamp"));
        Assert.That((lo, hi), Is.EqualTo((-1f, 6f)));
        Assert.That(CudaOpNames.Binary(new ClampGradOp(0f, float.PositiveInfinity), out lo, out hi), Is.EqualTo("clamp_grad"));
        Assert.That((lo, hi), Is.EqualTo((0f, float.PositiveInfinity)));
        Assert.That(CudaOpNames.Binary(new PowGradOp(3f), out s, out _), Is.EqualTo("pow_grad")); Assert.That(s, Is.EqualTo(3f));
    }

    // sizeof of the same structs compiled by gcc for x86-64 (and nvcc/NVRTC use the same layout rules): 264, 144, 264.
    [Test]
    public unsafe void PlanStructsHaveTheKernelLayouts()
    {
        Assert.That(sizeof(CudaBroadcastPlan), Is.EqualTo(264));
        Assert.That(sizeof(CudaGatherPlan), Is.EqualTo(144));
        Assert.That(sizeof(CudaPadPlan), Is.EqualTo(264));
        var p = new CudaGatherPlan();
        Assert.That((byte*)&p.Rank - (byte*)&p, Is.EqualTo(128));
        Assert.That((byte*)&p.XDim - (byte*)&p, Is.EqualTo(136));
    }

    [Test]
    public unsafe void BroadcastPlanCollapsesAsTheCpuLoops()
    {
        // (2, 3, 4) + (3, 1): y's dims 0 and 1 cannot merge for b (stride 0 on dim 0), dims 1, 2 neither (b broadcast on 2).
        var shape = new[] { 2, 3, 4 };
        var plan = CudaBroadcastPlan.Create("add", shape, [12, 4, 1], [0, 1, 0], null);
        Assert.That(plan.Rank, Is.EqualTo(3));
        // Same-layout operands collapse to one dimension.
        var flat = CudaBroadcastPlan.Create("add", shape, [12, 4, 1], [12, 4, 1], [12, 4, 1]);
        Assert.That(flat.Rank, Is.EqualTo(1));
        Assert.That(flat.Shape[0], Is.EqualTo(24));
        // More than 8 strided dimensions is refused with a clear message.
        var big = Enumerable.Repeat(2, 9).ToArray();
        var strided = Enumerable.Range(0, 9).Select(i => 1L << (2 * (8 - i))).ToArray();
        var bcast = Enumerable.Range(0, 9).Select(i => i % 2 == 0 ? 0L : 1L << (8 - i)).ToArray();
        Assert.That(() => CudaBroadcastPlan.Create("add", big, strided, bcast, null), Throws.TypeOf<NotSupportedException>().With.Message.Contains("at most 8"));
    }

    [Test]
    public void LaunchConfigurations()
    {
        Assert.That(CudaLaunch.Grid(0).X, Is.EqualTo(1));
        Assert.That(CudaLaunch.Grid(256).X, Is.EqualTo(1));
        Assert.That(CudaLaunch.Grid(257).X, Is.EqualTo(2));
        Assert.That(CudaLaunch.Grid(1L << 40).X, Is.EqualTo(4096));
        Assert.That(CudaLaunch.WarpRowsGrid(8).X, Is.EqualTo(1));
        Assert.That(CudaLaunch.WarpRowsGrid(9).X, Is.EqualTo(2));
        Assert.That(CudaOptim.SumSquaresBlocks(1), Is.EqualTo(1));
        Assert.That(CudaOptim.SumSquaresBlocks(2049), Is.EqualTo(2));
        Assert.That(CudaOptim.SumSquaresBlocks(1 << 30), Is.EqualTo(256));
    }

    // Ops whose CUDA-vs-CPU comparison (forward and gradients) lives in a fixture of its own rather than the
    // CudaOpCases table; nameof keeps each entry pointing at a test that exists.
    static readonly Dictionary<string, string> CoveredByGpuFixtures = new()
    {
        ["matmul"] = nameof(BlasDnnOpTests.MatmulBatchedBroadcast), ["linear"] = nameof(BlasDnnOpTests.LinearWithBias),
        ["conv1d"] = nameof(BlasDnnOpTests.Conv1dGroupsDilation), ["conv2d"] = nameof(BlasDnnOpTests.Conv2dOddShapes),
        ["max_pool1d"] = nameof(BlasDnnOpTests.MaxPool1dPadded), ["max_pool2d"] = nameof(BlasDnnOpTests.MaxPool2dOverlapping),
        ["avg_pool1d"] = nameof(BlasDnnOpTests.AvgPool1dPaddedCountsZeros), ["avg_pool2d"] = nameof(BlasDnnOpTests.AvgPool2d),
        ["global_avg_pool"] = nameof(BlasDnnOpTests.GlobalAvgPool), ["recurrence"] = nameof(BlasDnnOpTests.Recurrence),
        ["bidirectional_recurrence"] = nameof(BlasDnnOpTests.BidirectionalRecurrence), ["batch_norm"] = nameof(BlasDnnOpTests.BatchNormTrainingUpdatesRunningStatsLikeCpu),
        ["stft"] = nameof(BlasDnnOpTests.StftTensorFlow), ["complex_abs"] = nameof(BlasDnnOpTests.ComplexAbs), ["angle"] = nameof(BlasDnnOpTests.Angle),
        ["contiguous"] = nameof(CudaRuntimeGpuTests.StridedCopiesMatchTheCpu), ["clone"] = nameof(CudaRuntimeGpuTests.StridedCopiesMatchTheCpu),
        ["reshape"] = nameof(CudaRuntimeGpuTests.ViewGradientsOnCudaMatchTheCpu), ["permute"] = nameof(CudaRuntimeGpuTests.ViewGradientsOnCudaMatchTheCpu),
        ["slice"] = nameof(CudaRuntimeGpuTests.ViewGradientsOnCudaMatchTheCpu), ["to"] = nameof(CudaRuntimeGpuTests.GradientFlowsBackThroughTo),
    };

    [Test]
    public void EveryCudaSupportedOpHasGpuCases()
    {
        var supported = OpRegistry.All.Where(o => o.Cuda == CudaSupport.Supported).Select(o => o.Name).ToList();
        Assert.That(supported, Is.Not.Empty);
        Assert.That(supported.Where(n => (!CudaOpCases.ByOp.TryGetValue(n, out var c) || !c.Any()) && !CoveredByGpuFixtures.ContainsKey(n)), Is.Empty,
            "CUDA-supported ops without CudaOpCases or a CUDA-vs-CPU test in BlasDnnOpTests/CudaRuntimeGpuTests");
        Assert.That(CoveredByGpuFixtures.Keys.Where(k => OpRegistry.Find(k)?.Cuda != CudaSupport.Supported), Is.Empty, "fixture coverage listed for ops not marked Supported");
        Assert.That(CudaOpCases.ByOp.Keys.Where(k => OpRegistry.Find(k)?.Cuda != CudaSupport.Supported), Is.Empty, "cases for ops not marked Supported");
    }
}

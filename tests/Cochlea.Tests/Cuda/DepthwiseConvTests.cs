// Depthwise convolutions on CUDA (groups == C_in == C_out) under each CudaOptions.DepthwiseKernels choice: our
// native/cuda/depthwise.cu kernels (Own), cuDNN (Cudnn) and whichever Auto's timing keeps, each against the CPU op:
// output and the gradients of x, w and bias, for 1-d and 2-d shapes with stride, TF-same (asymmetric) and symmetric
// padding, valid, dilation, 3x3 / 1x5 / 5x5 / 1x17 kernels, C = 1 and 96, W = 1, N = 1 and odd sizes, and shapes whose
// backward weight splits channels over blocks. Plus: our kernels with 64-bit indices (forced), the bias gradient
// alone, which path each shape takes, Own never touches cuDNN, Auto decides once per shape and pass, and
// COCHLEA_CUDA_DEPTHWISE's parsing.
using Cochlea.Cuda;
using Cochlea.Cuda.Cudnn;
using Cochlea.Kernels.Conv;
using NUnit.Framework;
using static Cochlea.Tests.Cuda.BlasDnnGpu;

namespace Cochlea.Tests.Cuda;

[Category("Gpu"), NonParallelizable]   // sets the process-wide CudaOptions.DepthwiseKernels and reads the cuDNN cache size
public class DepthwiseConvTests
{
    static readonly Random Rng = new(31);
    static Tensor N(params int[] shape) => Tensor.Randn(Rng, 1f, shape);

    // name -> (op, inputs): x, w (C, 1, KH, KW) and, where given, bias (C).
    static readonly Dictionary<string, Func<(Func<Tensor[], Tensor> Op, Tensor[] Inputs)>> Cases = new()
    {
        ["1d valid stride 1, C 96"] = () => (t => Ops.Conv1d(t[0], t[1], t[2], padding: ConvPadding.Valid, groups: 96), [N(2, 96, 37), N(96, 1, 3), N(96)]),
        ["1d TF-same stride 2, even length"] = () => (t => Ops.Conv1d(t[0], t[1], t[2], stride: 2, padding: ConvPadding.Same, groups: 5), [N(3, 5, 24), N(5, 1, 3), N(5)]),
        ["1d TF-same stride 2, odd length, no bias"] = () => (t => Ops.Conv1d(t[0], t[1], null, stride: 2, padding: ConvPadding.Same, groups: 6), [N(2, 6, 23), N(6, 1, 3)]),
        ["1d symmetric pad 2, dilation 2"] = () => (t => Ops.Conv1d(t[0], t[1], t[2], padding: 2, dilation: 2, groups: 4), [N(2, 4, 17), N(4, 1, 3), N(4)]),
        ["1d C 1, k5 stride 2 same"] = () => (t => Ops.Conv1d(t[0], t[1], t[2], stride: 2, padding: ConvPadding.Same, groups: 1), [N(4, 1, 19), N(1, 1, 5), N(1)]),
        ["1d W 1, pad 1"] = () => (t => Ops.Conv1d(t[0], t[1], t[2], padding: 1, groups: 3), [N(2, 3, 1), N(3, 1, 3), N(3)]),
        ["1d N 1, stride 3 valid"] = () => (t => Ops.Conv1d(t[0], t[1], t[2], stride: 3, padding: ConvPadding.Valid, groups: 7), [N(1, 7, 13), N(7, 1, 3), N(7)]),
        ["2d 3x3 TF-same stride 2"] = () => (t => Ops.Conv2d(t[0], t[1], t[2], stride: (2, 2), padding: ConvPadding.Same, groups: 6), [N(2, 6, 11, 10), N(6, 1, 3, 3), N(6)]),
        ["2d 1x5 pad (0, 2)"] = () => (t => Ops.Conv2d(t[0], t[1], t[2], padding: ConvPadding.Symmetric(0, 2), groups: 4), [N(3, 4, 5, 9), N(4, 1, 1, 5), N(4)]),
        ["2d 3x3 dilation 2 pad 2"] = () => (t => Ops.Conv2d(t[0], t[1], null, padding: 2, dilation: (2, 2), groups: 3), [N(2, 3, 9, 8), N(3, 1, 3, 3)]),
        ["2d asymmetric pad, stride (2, 1)"] = () => (t => Ops.Conv2d(t[0], t[1], t[2], stride: (2, 1), padding: ConvPadding.Explicit(0, 2, 1, 0), groups: 2), [N(2, 2, 7, 8), N(2, 1, 3, 2), N(2)]),
        ["2d 3x3 C 96 pad 1"] = () => (t => Ops.Conv2d(t[0], t[1], t[2], padding: 1, groups: 96), [N(2, 96, 6, 5), N(96, 1, 3, 3), N(96)]),
        ["2d W 1, 3x3 valid in H"] = () => (t => Ops.Conv2d(t[0], t[1], t[2], padding: ConvPadding.Symmetric(0, 1), groups: 2), [N(2, 2, 6, 1), N(2, 1, 3, 3), N(2)]),
        // Backward weight's other paths (see SplitsAndVariants): a channel's positions split over blocks with partial
        // sums, more taps than one block accumulates (16), and both.
        ["1d split over blocks, C 3, length 2100"] = () => (t => Ops.Conv1d(t[0], t[1], t[2], padding: 1, groups: 3), [N(4, 3, 2100), N(3, 1, 3), N(3)]),
        ["1d k17 (17 taps) pad 8"] = () => (t => Ops.Conv1d(t[0], t[1], t[2], padding: 8, groups: 3), [N(2, 3, 30), N(3, 1, 17), N(3)]),
        ["2d 5x5 (25 taps) pad 2, split"] = () => (t => Ops.Conv2d(t[0], t[1], t[2], padding: 2, groups: 2), [N(2, 2, 48, 48), N(2, 1, 5, 5), N(2)]),
    };

    static IEnumerable<TestCaseData> All() =>
        from mode in new[] { DepthwiseKernels.Own, DepthwiseKernels.Cudnn, DepthwiseKernels.Auto }
        from name in Cases.Keys
        select new TestCaseData(mode, name).SetName($"{mode}: {name}");

    static void With(DepthwiseKernels mode, Action body)
    {
        var saved = CudaOptions.DepthwiseKernels;
        CudaOptions.DepthwiseKernels = mode;
        try { body(); }
        finally { CudaOptions.DepthwiseKernels = saved; }
    }

    [TestCaseSource(nameof(All))]
    public void MatchesCpu(DepthwiseKernels mode, string name)
    {
        var (op, inputs) = Cases[name]();
        With(mode, () => Compare(op, inputs));
    }

    // Our kernels with 64-bit index math (forced by the size threshold; a tensor of 2^30 elements is too large to test).
    [TestCaseSource(nameof(Names))]
    public void Own64BitIndicesMatchCpu(string name)
    {
        var (op, inputs) = Cases[name]();
        var saved = DepthwiseConv.Int32Limit;
        DepthwiseConv.Int32Limit = 0;
        try { With(DepthwiseKernels.Own, () => Compare(op, inputs)); }
        finally { DepthwiseConv.Int32Limit = saved; }
    }

    static IEnumerable<string> Names() => Cases.Keys;

    // The bias gradient alone (weight frozen): the backward weight kernel with no taps, unsplit and split.
    [TestCase(2, 5, 24), TestCase(4, 3, 2100)]
    public void OwnBiasOnlyGradientMatchesCpu(int n, int c, int length) =>
        With(DepthwiseKernels.Own, () => Compare(t => Ops.Conv1d(t[0], t[1], t[2], padding: 1, groups: c), [N(n, c, length), N(c, 1, 3), N(c)], noGrad: [1]));

    [Test]
    public void OwnMakesNoCudnnPlan()
    {
        var dev = GpuTest.RequireGpu();
        With(DepthwiseKernels.Own, () =>
        {
            var before = dev.CudnnCacheCounts.Convolutions;
            Compare(t => Ops.Conv1d(t[0], t[1], t[2], stride: 2, padding: ConvPadding.Same, groups: 9), [N(2, 9, 29), N(9, 1, 3), N(9)]);
            Assert.That(dev.CudnnCacheCounts.Convolutions, Is.EqualTo(before), "a forced-Own depthwise convolution created cuDNN descriptors");
        });
        With(DepthwiseKernels.Cudnn, () =>
        {
            var before = dev.CudnnCacheCounts.Convolutions;
            Compare(t => Ops.Conv1d(t[0], t[1], t[2], stride: 2, padding: ConvPadding.Same, groups: 9), [N(2, 9, 31), N(9, 1, 3), N(9)]);
            Assert.That(dev.CudnnCacheCounts.Convolutions, Is.EqualTo(before + 1), "forced cuDNN must plan the shape on cuDNN");
        });
    }

    [Test]
    public void AutoDecidesOncePerShapeAndPass()
    {
        var dev = GpuTest.RequireGpu();
        With(DepthwiseKernels.Auto, () =>
        {
            Compare(t => Ops.Conv1d(t[0], t[1], t[2], stride: 2, padding: ConvPadding.Same, groups: 11), [N(3, 11, 41), N(11, 1, 3), N(11)]);
            var ax = ConvAxis.Create(PaddingMode.Same, 41, 3, stride: 2);
            using var lease = dev.Convolution(ConvPlan.Create(3, 11, 11, 11, new ConvAxis(1, 1), ax, CudaOptions.AllowTf32).Key);
            var conv = lease.Value;
            foreach (var pass in new[] { ConvPass.Forward, ConvPass.BackwardData, ConvPass.BackwardFilter })
            {
                Assert.That(conv.OwnDepthwise(pass), Is.Not.Null, $"{pass}: Auto made no choice");
                Assert.That(conv.SearchMilliseconds(pass), Is.GreaterThanOrEqualTo(0f), $"{pass}: cuDNN's search time");
            }
        });
    }
}

/// <summary>GPU-free: the host-side choices of the depthwise path (grid split, kernel variant) and COCHLEA_CUDA_DEPTHWISE's parsing.</summary>
[NonParallelizable]   // sets DepthwiseConv.Int32Limit
public class DepthwiseConvHostTests
{
    // DepthwiseConvTests' split, tap-group and 64-bit cases reach the paths they are named for.
    [Test]
    public void SplitsAndVariants()
    {
        static DepthwiseConv Conv1(int n, int c, int length, int k, int pad) =>
            new(n, c, new ConvAxis(1, 1), new ConvAxis(length, k, PadBefore: pad, PadAfter: pad));
        var split = Conv1(4, 3, 2100, 3, 1);
        Assert.That(split.Splits(withWeight: true), Is.GreaterThan(1), "2100 x 4 positions over 3 channels must split");
        Assert.That(split.Splits(withWeight: false), Is.GreaterThan(1), "bias only, same shape");
        Assert.That(Conv1(2, 3, 30, 17, 8).Splits(withWeight: true), Is.EqualTo(1), "a small shape needs no partials");
        var k5 = new DepthwiseConv(2, 2, new ConvAxis(48, 5, PadBefore: 2, PadAfter: 2), new ConvAxis(48, 5, PadBefore: 2, PadAfter: 2));
        Assert.That(k5.Splits(withWeight: true), Is.GreaterThan(1), "5x5 over 48 x 48 x 2 positions must split");
        Assert.That(split.Variant, Is.EqualTo("_i32_k3"));
        Assert.That(k5.Variant, Is.EqualTo("_i32"));
        var saved = DepthwiseConv.Int32Limit;
        DepthwiseConv.Int32Limit = 0;
        try { Assert.That(split.Variant, Is.EqualTo("_i64_k3")); }
        finally { DepthwiseConv.Int32Limit = saved; }
        // WaveKws's widest-channel layer (C = 512, length 5 -> 3) and its first (C = 32, 399 -> 397), batch 64.
        Assert.That(Conv1(64, 512, 5, 3, 0).Splits(withWeight: true), Is.EqualTo(1));
        Assert.That(32 * Conv1(64, 32, 399, 3, 0).Splits(withWeight: true), Is.GreaterThanOrEqualTo(264), "at least 2 blocks per SM of an H100");
    }

    [Test]
    public void EnvironmentValues()
    {
        Assert.That(CudaOptions.ParseDepthwise(null), Is.EqualTo(DepthwiseKernels.Auto));
        Assert.That(CudaOptions.ParseDepthwise(" Own "), Is.EqualTo(DepthwiseKernels.Own));
        Assert.That(CudaOptions.ParseDepthwise("cudnn"), Is.EqualTo(DepthwiseKernels.Cudnn));
        Assert.That(CudaOptions.ParseDepthwise("auto"), Is.EqualTo(DepthwiseKernels.Auto));
        var e = Assert.Throws<ArgumentException>(() => CudaOptions.ParseDepthwise("fast"));
        Assert.That(e!.Message, Does.Contain("COCHLEA_CUDA_DEPTHWISE='fast'").And.Contain("auto, own or cudnn"));
    }
}

// Depthwise convolutions on CUDA (groups == C_in == C_out) under each CudaOptions.DepthwiseKernels choice: our
// native/cuda/depthwise.cu kernels (Own), cuDNN (Cudnn) and whichever Auto's timing keeps, each against the CPU op:
// output and the gradients of x, w and bias, for 1-d and 2-d shapes with stride, TF-same (asymmetric) and symmetric
// padding, valid, dilation, 3x3 / 1x5 kernels, C = 1 and 96, W = 1, N = 1 and odd sizes. Plus: Own never touches
// cuDNN, Auto decides once per shape and pass, and COCHLEA_CUDA_DEPTHWISE's parsing.
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
            var conv = dev.Convolution(ConvPlan.Create(3, 11, 11, 11, new ConvAxis(1, 1), ax, CudaOptions.AllowTf32).Key);
            foreach (var pass in new[] { ConvPass.Forward, ConvPass.BackwardData, ConvPass.BackwardFilter })
            {
                Assert.That(conv.OwnDepthwise(pass), Is.Not.Null, $"{pass}: Auto made no choice");
                Assert.That(conv.SearchMilliseconds(pass), Is.GreaterThanOrEqualTo(0f), $"{pass}: cuDNN's search time");
            }
        });
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

// CUDA vs CPU for the cuBLAS/cuDNN-backed ops (matmul, linear, conv1d/2d, batch_norm, pooling, recurrence, stft,
// complex_abs, angle): forward and gradients on the same inputs, odd shapes, groups, depthwise, strides, padding.
// Skipped without a GPU (GpuTest.RequireGpu); run on the device with
//   bash .device/run.sh Cochlea.Tests --filter "TestCategory=Gpu"
using Cochlea.Cuda;
using Cochlea.Kernels.Audio;
using NUnit.Framework;
using static Cochlea.Tests.Cuda.BlasDnnGpu;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class BlasDnnOpTests
{
    static readonly Random Rng = new(11);
    static Tensor N(params int[] shape) => Tensor.Randn(Rng, 1f, shape);
    static Tensor Small(params int[] shape) => Tensor.Randn(Rng, 0.3f, shape);   // recurrent weights that keep the state bounded

    // A shuffled ramp: no ties, so max pooling picks the same element on both devices.
    static Tensor Distinct(params int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var v = Enumerable.Range(0, n).Select(i => (i - n / 2) * 0.01f).OrderBy(_ => Rng.Next()).ToArray();
        return Tensor.FromArray(v, shape);
    }

    [Test] public void MatmulPlain() => Compare(t => Ops.Matmul(t[0], t[1]), [N(5, 7), N(7, 3)]);
    [Test] public void MatmulBatchedBroadcast() => Compare(t => Ops.Matmul(t[0], t[1]), [N(2, 1, 4, 6), N(3, 6, 5)]);
    [Test] public void MatmulSharedRightOperand() => Compare(t => Ops.Matmul(t[0], t[1]), [N(3, 4, 9), N(9, 2)]);
    [Test] public void MatmulTransposedOperands() => Compare(t => Ops.Matmul(t[0].Transpose(-1, -2), t[1].Transpose(-1, -2)), [N(2, 6, 5), N(2, 3, 6)]);
    [Test] public void MatmulVectors() => Compare(t => Ops.Matmul(t[0], t[1]), [N(6), N(3, 6, 4)]);
    [Test] public void MatmulLarge() => Compare(t => Ops.Matmul(t[0], t[1]), [N(129, 257), N(257, 65)], rtol: 1e-4f, atol: 1e-3f);

    [Test] public void LinearWithBias() => Compare(t => Ops.Linear(t[0], t[1], t[2]), [N(3, 5, 7), N(4, 7), N(4)]);
    [Test] public void LinearNoBias() => Compare(t => Ops.Linear(t[0], t[1]), [N(9, 13), N(11, 13)]);

    [Test] public void Conv1dSameStride2() => Compare(t => Ops.Conv1d(t[0], t[1], t[2], stride: 2, padding: ConvPadding.Same), [N(3, 4, 23), N(6, 4, 4), N(6)]);
    [Test] public void Conv1dGroupsDilation() => Compare(t => Ops.Conv1d(t[0], t[1], t[2], padding: 3, dilation: 2, groups: 2), [N(2, 6, 17), N(4, 3, 3), N(4)]);
    [Test] public void Conv1dDepthwise() => Compare(t => Ops.Conv1d(t[0], t[1], null, stride: 3, padding: ConvPadding.Same, groups: 5), [N(2, 5, 31), N(10, 1, 5)]);
    [Test] public void Conv1dValid() => Compare(t => Ops.Conv1d(t[0], t[1], t[2], padding: ConvPadding.Valid), [N(4, 3, 40), N(8, 3, 9), N(8)]);
    [Test] public void Conv2dOddShapes() => Compare(t => Ops.Conv2d(t[0], t[1], t[2], stride: (2, 1), padding: 1), [N(2, 3, 11, 9), N(5, 3, 3, 3), N(5)]);
    [Test] public void Conv2dAsymmetricPadding() => Compare(t => Ops.Conv2d(t[0], t[1], null, padding: ConvPadding.Explicit(0, 2, 1, 0)), [N(2, 2, 7, 8), N(3, 2, 3, 2)]);
    [Test] public void Conv2dSameStride2() => Compare(t => Ops.Conv2d(t[0], t[1], t[2], stride: (2, 2), padding: ConvPadding.Same), [N(2, 4, 10, 13), N(6, 4, 4, 4), N(6)]);
    [Test] public void Conv2dGroupsDilation() => Compare(t => Ops.Conv2d(t[0], t[1], t[2], padding: 2, dilation: (2, 1), groups: 3), [N(2, 6, 9, 8), N(9, 2, 3, 3), N(9)]);
    [Test] public void Conv2dDepthwise() => Compare(t => Ops.Conv2d(t[0], t[1], t[2], padding: 1, groups: 4), [N(3, 4, 8, 7), N(8, 1, 3, 3), N(8)]);
    // The bias gradient's two sums (CudaReduce.SumPerChannel): rows of 240 > 64 take the block-per-row kernel; a 1 x 1 output takes none.
    [Test] public void Conv2dBiasOverLongRows() => Compare(t => Ops.Conv2d(t[0], t[1], t[2], padding: 1), [N(3, 2, 20, 12), N(4, 2, 3, 3), N(4)]);
    [Test] public void Conv2dBiasOnePixelOutput() => Compare(t => Ops.Conv2d(t[0], t[1], t[2]), [N(5, 3, 3, 3), N(4, 3, 3, 3), N(4)]);
    [Test] public void Conv2dPointwise() => Compare(t => Ops.Conv2d(t[0], t[1], null), [N(2, 16, 5, 6), N(7, 16, 1, 1)]);

    [Test]
    public void BatchNormTrainingUpdatesRunningStatsLikeCpu()
    {
        GpuTest.RequireGpu();
        var cuda = Device.Cuda(0);
        var x = N(4, 3, 5, 6);
        var rmC = Tensor.FromArray([0.1f, -0.2f, 0.3f], 3); var rvC = Tensor.FromArray([1f, 2f, 0.5f], 3);
        var rmG = rmC.To(cuda); var rvG = rvC.To(cuda);
        Compare(t => Ops.BatchNorm(t[0], t[1], t[2], t[0].Device.IsCpu ? rmC : rmG, t[0].Device.IsCpu ? rvC : rvG, training: true, momentum: 0.2f),
            [x, N(3), N(3)], rtol: 1e-3f, atol: 1e-4f);
        GpuTest.AssertClose(rmG.To(Device.Cpu).ToArray(), rmC.ToArray(), 1e-5f, 1e-4f, "running mean");
        GpuTest.AssertClose(rvG.To(Device.Cpu).ToArray(), rvC.ToArray(), 1e-5f, 1e-4f, "running variance (unbiased)");
    }

    [Test]
    public void BatchNorm1dTrainingNoAffine() => Compare(t => Ops.BatchNorm(t[0], null, null, null, null, training: true), [N(8, 5)], rtol: 1e-3f, atol: 1e-4f);

    [Test]
    public void BatchNormEval()
    {
        GpuTest.RequireGpu();
        var cuda = Device.Cuda(0);
        var rm = Tensor.FromArray([0.1f, -0.2f, 0.3f, 0f], 4); var rv = Tensor.FromArray([1f, 2f, 0.5f, 3f], 4);
        var rmG = rm.To(cuda); var rvG = rv.To(cuda);
        Compare(t => Ops.BatchNorm(t[0], t[1], t[2], t[0].Device.IsCpu ? rm : rmG, t[0].Device.IsCpu ? rv : rvG, training: false),
            [N(3, 4, 10), N(4), N(4)]);
    }

    // cuDNN rejects zero-sized dimensions; empty inputs take the CPU op and come back (gradients included).
    [Test] public void Conv1dEmptyBatch() => Compare(t => Ops.Conv1d(t[0], t[1], t[2], padding: 1), [N(0, 3, 10), N(4, 3, 3), N(4)]);
    [Test] public void MaxPool2dEmptyBatch() => Compare(t => Ops.MaxPool2d(t[0], (2, 2)), [N(0, 3, 8, 8)]);
    [Test] public void BatchNormEvalEmptyBatch() => Compare(t => Ops.BatchNorm(t[0], t[1], t[2], t[3], t[4], training: false),
        [N(0, 4, 5), N(4), N(4), N(4), Tensor.FromArray([0.5f, 1f, 2f, 3f])], noGrad: [3, 4]);

    [Test] public void MaxPool1dPadded() => Compare(t => Ops.MaxPool1d(t[0], 3, 2, 1), [Distinct(2, 3, 17)]);
    [Test] public void MaxPool2dOverlapping() => Compare(t => Ops.MaxPool2d(t[0], (3, 3), (2, 2), (1, 1)), [Distinct(2, 3, 9, 11)]);
    [Test] public void MaxPool2dDefaultStride() => Compare(t => Ops.MaxPool2d(t[0], (2, 3)), [Distinct(1, 2, 8, 9)]);
    [Test] public void AvgPool1dPaddedCountsZeros() => Compare(t => Ops.AvgPool1d(t[0], 4, 3, 2), [N(2, 3, 19)]);
    [Test] public void AvgPool2d() => Compare(t => Ops.AvgPool2d(t[0], (3, 2), (1, 2), (1, 0)), [N(2, 2, 7, 8)]);
    [Test] public void GlobalAvgPool() => Compare(t => Ops.GlobalAvgPool(t[0]), [N(3, 5, 7, 11)]);
    [Test] public void GlobalAvgPoolLongPlane() => Compare(t => Ops.GlobalAvgPool(t[0]), [N(2, 3, 1000)], rtol: 1e-4f, atol: 1e-5f);

    [TestCase(RecurrentCell.RnnRelu, false, false)]
    [TestCase(RecurrentCell.RnnTanh, true, false)]
    [TestCase(RecurrentCell.Lstm, false, false)]
    [TestCase(RecurrentCell.Lstm, true, true)]
    [TestCase(RecurrentCell.RnnRelu, true, true)]
    public void Recurrence(RecurrentCell cell, bool reverse, bool inputMajor)
    {
        int T = 6, B = 3, H = 5, G = cell == RecurrentCell.Lstm ? 4 : 1;
        int[] lengths = [6, 4, 1];
        var w = inputMajor ? Small(H, G * H) : Small(G * H, H);
        Compare(t => Ops.Recurrence(t[0], t[1], t[2], cell, reverse, lengths, forgetBias: cell == RecurrentCell.Lstm ? 1f : 0f, hhInputMajor: inputMajor),
            [N(T, B, G * H), w, N(G * H)]);
    }

    [Test]
    public void BidirectionalRecurrence()
    {
        int T = 7, B = 2, H = 4;
        Compare(t => Ops.BidirectionalRecurrence(t[0], t[1], null, t[2], t[3], null, RecurrentCell.RnnRelu, [7, 5], hhInputMajor: true),
            [N(T, B, H), Small(H, H), N(T, B, H), Small(H, H)]);
    }

    [Test]
    public void BidirectionalLstmWithBias()
    {
        int T = 5, B = 3, H = 3;
        Compare(t => Ops.BidirectionalRecurrence(t[0], t[1], t[2], t[3], t[4], t[5], RecurrentCell.Lstm),
            [N(T, B, 4 * H), Small(4 * H, H), N(4 * H), N(T, B, 4 * H), Small(4 * H, H), N(4 * H)]);
    }

    [Test]
    public void GruOnCudaSaysSo()
    {
        GpuTest.RequireGpu();
        var cuda = Device.Cuda(0);
        var ex = Assert.Throws<NotSupportedException>(() => Ops.Recurrence(N(3, 2, 6).To(cuda), N(6, 2).To(cuda), null, RecurrentCell.Gru));
        Assert.That(ex!.Message, Does.Contain("GRU"));
    }

    [Test] public void StftTensorFlow() => Compare(t => Ops.Stft(t[0], new StftKernel(StftSpec.TensorFlow(12, 5, 16))), [N(2, 37)], rtol: 1e-4f, atol: 1e-4f);
    [Test] public void StftTorchNotCentred() => Compare(t => Ops.Stft(t[0], new StftKernel(StftSpec.Torch(16, 5, winLength: 10, center: false))), [N(1, 40)]);
    [Test] public void StftSpeechFeaturesPaddedEnd() => Compare(t => Ops.Stft(t[0], new StftKernel(StftSpec.SpeechFeatures(10, 4, 16, WindowKind.Hamming))), [N(2, 23)]);
    [Test] public void StftFreesoundSize() => Compare(t => Ops.Stft(t[0], new StftKernel(StftSpec.TensorFlow(512, 160, 512))), [N(2, 4000)], rtol: 1e-3f, atol: 2e-3f);

    // The DC and Nyquist bins of a real frame have an imaginary part of exactly 0 (the CPU FFT gives +0), so their angle is 0 or
    // +pi; the GEMM STFT must give exactly 0 there too, not +-1e-16, which turned +pi into -pi (FreesoundCnn's phase channel).
    [Test]
    public void StftAngleAtDcAndNyquist() => Compare(t =>
    {
        var a = Ops.Angle(Ops.Stft(t[0], new StftKernel(StftSpec.TensorFlow(400, 160, 512))));
        return Ops.Concat([a.Slice(2, 0, 1), a.Slice(2, 256, 257)], 2);
    }, [N(2, 4000)]);

    [Test] public void ComplexAbs() => Compare(t => Ops.ComplexAbs(t[0]), [N(3, 7, 2)]);
    [Test] public void Angle() => Compare(t => Ops.Angle(t[0]), [N(4, 5, 2)], rtol: 1e-4f, atol: 1e-4f);

    [Test]
    public void Tf32OffIsFloat32Accurate()
    {
        GpuTest.RequireGpu();
        Assert.That(CudaOptions.AllowTf32, Is.False, "TF32 must be off by default");
        const int m = 256, k = 512, n = 192;
        var a = N(m, k); var b = N(k, n);
        var y = Ops.Matmul(a.To(Device.Cuda(0)), b.To(Device.Cuda(0))).To(Device.Cpu).ToArray();
        float[] pa = a.ToArray(), pb = b.ToArray();
        double worst = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, mag = 0;
                for (int p = 0; p < k; p++) { s += (double)pa[i * k + p] * pb[p * n + j]; mag += Math.Abs((double)pa[i * k + p] * pb[p * n + j]); }
                worst = Math.Max(worst, Math.Abs(y[i * n + j] - s) / mag);
            }
        // fp32 accumulation of 512 products: error/sum|terms| ~ 1e-6; TF32 inputs alone would give ~1e-3.
        Assert.That(worst, Is.LessThan(2e-5), "float32 GEMM relative error against float64");
    }

    [Test]
    public void Tf32OnStaysClose()
    {
        GpuTest.RequireGpu();
        CudaOptions.AllowTf32 = true;
        try { Compare(t => Ops.Matmul(t[0], t[1]), [N(64, 128), N(128, 32)], rtol: 2e-2f, atol: 5e-2f); }
        finally { CudaOptions.AllowTf32 = false; }
    }
}

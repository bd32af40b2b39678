// Ops.ConvBatchNormEval / Nn.ConvBatchNorm (conv -> eval batch norm -> + residual -> ReLU fused into the conv's GEMM
// epilogue) against the separate ops it replaces, on every conv shape ResNet50 uses (1x1 stride 1 read in place, 1x1
// stride 2 gathered, 3x3 stride 1 and 2, the 7x7 stride-2 stem) and a few odd ones, batch 1 and 3, with and without
// residual and ReLU, random batch-norm statistics; plus: with a gradient wanted it records the separate ops (so the
// conv, batch_norm, add and relu gradient checks cover it), and an eval Bottleneck fused equals the same block recording the separate ops.
using Cochlea.Models.Tagging.Backbones;
using Cochlea.Nn;
using NUnit.Framework;

namespace Cochlea.Tests.Nn;

[Category("Nn")]
public class ConvBatchNormTests
{
    static IEnumerable<TestCaseData> Shapes()
    {
        // (n, cin, cout, h, w, k, stride, pad)
        var shapes = new (int N, int Cin, int Cout, int H, int W, int K, int S, int P)[]
        {
            (1, 16, 24, 9, 13, 1, 1, 0), (3, 16, 24, 9, 13, 1, 1, 0), (1, 20, 40, 10, 14, 1, 2, 0), (2, 20, 40, 11, 15, 1, 2, 0),
            (1, 8, 16, 12, 20, 3, 1, 1), (3, 8, 16, 7, 9, 3, 1, 1), (1, 16, 16, 12, 20, 3, 2, 1), (2, 5, 7, 13, 11, 3, 2, 1),
            (1, 3, 8, 24, 40, 7, 2, 3), (1, 70, 33, 3, 5, 1, 1, 0), (1, 9, 11, 5, 4, 3, 1, 0),
        };
        foreach (var s in shapes)
            foreach (var (res, relu) in new[] { (false, true), (false, false), (true, true), (true, false) })
                yield return new TestCaseData(s.N, s.Cin, s.Cout, s.H, s.W, s.K, s.S, s.P, res, relu)
                    .SetName($"Fused equals separate ops n{s.N} {s.Cin}->{s.Cout} {s.H}x{s.W} k{s.K} s{s.S} p{s.P} residual={res} relu={relu}");
    }

    [TestCaseSource(nameof(Shapes))]
    public void FusedEqualsSeparateOps(int n, int cin, int cout, int h, int w, int k, int stride, int pad, bool withResidual, bool relu)
    {
        using var scope = Tensor.Scope();
        var rng = new Random(n * 1000 + cin * 10 + k);
        var x = Tensor.Randn(rng, 1f, n, cin, h, w);
        var wt = Tensor.Randn(rng, 0.3f, cout, cin, k, k);
        var gamma = Tensor.Rand(rng, 0.5f, 1.5f, cout);
        var beta = Tensor.Randn(rng, 0.5f, cout);
        var mean = Tensor.Randn(rng, 0.5f, cout);
        var var_ = Tensor.Rand(rng, 0.2f, 2f, cout);
        int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
        var residual = withResidual ? Tensor.Randn(rng, 1f, n, cout, oh, ow) : null;

        var z = Ops.BatchNorm(Ops.Conv2d(x, wt, null, (stride, stride), pad), gamma, beta, mean, var_, training: false, eps: 1e-3f);
        if (residual is not null) z = Ops.Add(z, residual);
        var want = (relu ? Ops.Relu(z) : z).ToArray();

        using var ng = Tensor.NoGrad();
        var got = Ops.ConvBatchNormEval(x, wt, (stride, stride), pad, gamma, beta, mean, var_, 1e-3f, residual, relu);
        Assert.That(got.ShapeArray, Is.EqualTo(new[] { n, cout, oh, ow }));
        Assert.That(got.GradFn, Is.Null);
        var g = got.ToArray();
        double scale = want.Max(v => Math.Abs(v));
        for (int i = 0; i < want.Length; i++)
            Assert.That(g[i], Is.EqualTo(want[i]).Within(1e-5 * scale + 1e-5 * Math.Abs(want[i])), $"element {i}");
        if (relu) Assert.That(g.Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(want.Any(v => v < 0) || relu, "the case has negative values, so the ReLU flag is visible");
    }

    [Test]
    public void WithAGradientWantedItRecordsTheSeparateOps()
    {
        using var scope = Tensor.Scope();
        var rng = new Random(5);
        var x = Tensor.Randn(rng, 1f, 2, 4, 6, 6);
        x.RequiresGrad = true;
        var conv = new Conv2d(4, 8, (3, 3), padding: 1, bias: false, rng: rng);
        var bn = new BatchNorm2d(8);
        bn.Eval();
        var y = ConvBatchNorm.Forward(conv, bn, x, residual: Tensor.Randn(rng, 1f, 2, 8, 6, 6), relu: true);
        Assert.That(y.GradFn?.Name, Is.EqualTo("relu"));
        Ops.Sum(y).Backward();
        Assert.That(x.Grad, Is.Not.Null);
        Assert.That(conv.Weight.Grad, Is.Not.Null);
    }

    [Test]
    public void RejectsMismatchedShapesWithTheirNames()
    {
        using var scope = Tensor.Scope();
        using var ng = Tensor.NoGrad();
        var x = Tensor.Zeros(1, 4, 6, 6);
        var wt = Tensor.Zeros(8, 4, 1, 1);
        var ok = Tensor.Ones(8);
        var ex = Assert.Throws<ArgumentException>(() => Ops.ConvBatchNormEval(x, wt, (1, 1), 0, Tensor.Ones(7), ok, ok, ok, 1e-5f));
        Assert.That(ex!.Message, Does.Contain("gamma"));
        ex = Assert.Throws<ArgumentException>(() => Ops.ConvBatchNormEval(x, wt, (1, 1), 0, ok, ok, ok, ok, 1e-5f, residual: Tensor.Zeros(1, 8, 5, 6)));
        Assert.That(ex!.Message, Does.Contain("residual must be (1, 8, 6, 6)"));
        ex = Assert.Throws<ArgumentException>(() => Ops.ConvBatchNormEval(x, Tensor.Zeros(8, 3, 1, 1), (1, 1), 0, ok, ok, ok, ok, 1e-5f));
        Assert.That(ex!.Message, Does.Contain("input channels"));
    }

    [Test]
    public void EvalBottleneckEqualsItsSeparateOps([Values(1, 2)] int stride)
    {
        using var scope = Tensor.Scope();
        var rng = new Random(stride);
        using var block = new Bottleneck(16, 8, stride, rng);
        // Non-trivial running statistics, so the batch norms are not near-identities.
        foreach (var (name, t) in block.NamedBuffers())
        {
            if (name.EndsWith("running_mean", StringComparison.Ordinal)) Tensor.Randn(rng, 0.3f, t.Size(0)).CopyTo(t);
            if (name.EndsWith("running_var", StringComparison.Ordinal)) Tensor.Rand(rng, 0.5f, 1.5f, t.Size(0)).CopyTo(t);
        }
        var x = Tensor.Randn(rng, 1f, 2, 16, 10, 14);
        block.Eval();
        float[] fused;
        using (Tensor.NoGrad()) fused = block.Forward(x).ToArray();
        // The same block with gradients on: ConvBatchNorm records the separate ops.
        var xg = x.Clone();
        xg.RequiresGrad = true;
        var viaOps = block.Forward(xg).ToArray();
        double scale = viaOps.Max(v => Math.Abs(v));
        for (int i = 0; i < fused.Length; i++)
            Assert.That(fused[i], Is.EqualTo(viaOps[i]).Within(1e-5 * scale), $"element {i}");
    }

    // Conv2dBatchNormRelu's eval path uses ConvBatchNormEval's gate (CPU float32, running statistics, no gradient to record:
    // grad mode off or nothing requiring one) and reads the statistics through contiguous views, so a strided gamma now
    // takes it too (the former gate sent it to batch_norm, which refuses non-contiguous parameters); wrong shapes are named.
    [Test]
    public void Conv2dBatchNormReluEvalSharesTheFusedGate()
    {
        using var scope = Tensor.Scope();
        var rng = new Random(9);
        var x = Tensor.Randn(rng, 1f, 2, 3, 5, 40);
        var wt = Tensor.Randn(rng, 0.3f, 4, 3, 3, 3);
        var gammaStrided = Tensor.Rand(rng, 0.5f, 1.5f, 8).Slice(0, 0, 8, step: 2);
        Assert.That(gammaStrided.IsContiguous, Is.False);
        var gamma = gammaStrided.Clone();
        var beta = Tensor.Randn(rng, 0.5f, 4);
        var mean = Tensor.Randn(rng, 0.5f, 4);
        var var_ = Tensor.Rand(rng, 0.5f, 2f, 4);
        var want = Ops.Relu(Ops.BatchNorm(Ops.Conv2d(x, wt, null, padding: ConvPadding.Same), gamma, beta, mean, var_, training: false)).ToArray();
        var y = Ops.Conv2dBatchNormRelu(x, wt, ConvPadding.Same, gammaStrided, beta, mean, var_, training: false);
        Assert.That(y.GradFn, Is.Null);
        Assert.That(y.ToArray(), Is.EqualTo(want), "grad mode on, nothing requires a gradient, strided gamma: the in-place eval path");
        var ex = Assert.Throws<ArgumentException>(() => Ops.Conv2dBatchNormRelu(x, wt, ConvPadding.Same, Tensor.Ones(5), beta, mean, var_, training: false));
        Assert.That(ex!.Message, Does.Contain("conv2d_batch_norm_relu: gamma must be (4,)"));
    }
}

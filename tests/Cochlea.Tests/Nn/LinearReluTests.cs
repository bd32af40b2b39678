// Ops.LinearRelu (dense + ReLU, fused into the GEMM's epilogue for eval-mode inference) gives exactly Relu / ReluClip of
// Ops.Linear; and where a backward is needed it records those two ops, so its gradients are theirs.
using Cochlea.Memory;
using NUnit.Framework;

namespace Cochlea.Tests.Nn;

public class LinearReluTests
{
    [TestCase(1, float.PositiveInfinity), TestCase(47, float.PositiveInfinity), TestCase(47, 0.4f), TestCase(6, 20f)]
    public void FusedInferenceEqualsReluOfLinear(int rows, float clip)
    {
        using var scope = Tensor.Scope();
        var rng = new Random(rows);
        var x = Tensor.Randn(rng, 1f, 1, rows, 70);
        var w = Tensor.Randn(rng, 0.2f, 90, 70);
        var b = Tensor.Randn(rng, 0.2f, 90);
        using var packed = new PackedWeightCache(outputMajor: true);
        using var _ = Tensor.NoGrad();
        var fused = Ops.LinearRelu(x, w, b, packed, clip);
        var lin = Ops.Linear(x, w, b, packed);
        var plain = float.IsPositiveInfinity(clip) ? Ops.Relu(lin) : Ops.ReluClip(lin, clip);
        Assert.That(fused.ShapeArray, Is.EqualTo(new[] { 1, rows, 90 }));
        Assert.That(fused.ToArray(), Is.EqualTo(plain.ToArray()));
        Assert.That(fused.ToArray().Count(v => v == 0f), Is.GreaterThan(0), "some outputs are cut by the ReLU");
        Assert.That(Ops.LinearRelu(x, w, null, packed).ToArray(), Is.EqualTo(Ops.Relu(Ops.Linear(x, w, null, packed)).ToArray()), "no bias");
    }

    [Test]
    public void WithGradientsItRecordsLinearThenRelu()
    {
        using var scope = Tensor.Scope();
        var rng = new Random(5);
        var x = Tensor.Randn(rng, 1f, 4, 30);
        var w = Tensor.Randn(rng, 0.3f, 20, 30); w.RequiresGrad = true;
        var b = Tensor.Randn(rng, 0.3f, 20); b.RequiresGrad = true;
        using var packed = new PackedWeightCache(outputMajor: true);
        var y = Ops.LinearRelu(x, w, b, packed, 0.5f);
        Assert.That(y.GradFn?.Name, Is.EqualTo("relu_clip"));
        Ops.Sum(Ops.Mul(y, y)).Backward();
        var dw = w.Grad!.ToArray();
        w.Grad = null; b.Grad = null;
        var z = Ops.ReluClip(Ops.Linear(x, w, b, packed), 0.5f);
        Ops.Sum(Ops.Mul(z, z)).Backward();
        Assert.That(dw, Is.EqualTo(w.Grad!.ToArray()));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.LinearRelu(x, w, b, packed, 0f));
    }
}

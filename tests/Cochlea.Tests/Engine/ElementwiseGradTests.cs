using NUnit.Framework;
using static Cochlea.Tests.Engine.GradCheck;

namespace Cochlea.Tests.Engine;

public class ElementwiseGradTests
{
    static readonly Random Rng = new(1234);

    [TestCase(new[] { 3, 4 }, new[] { 3, 4 })]
    [TestCase(new[] { 2, 3, 5 }, new[] { 3, 1 })]
    [TestCase(new[] { 4, 1 }, new[] { 1, 5 })]
    [TestCase(new[] { 5 }, new int[0])]
    public void BinaryOpsMatchFiniteDifferences(int[] sa, int[] sb)
    {
        var a = Normal(Rng, sa);
        var b = Leaf(Rng, 0.5f, 2f, sb);
        Check(x => x[0] + x[1], [a, b]);
        Check(x => x[0] - x[1], [a, b]);
        Check(x => x[0] * x[1], [a, b]);
        Check(x => x[0] / x[1], [a, b]);
    }

    [Test]
    public void UnaryOpsMatchFiniteDifferences()
    {
        var x = Normal(Rng, 3, 7);
        var pos = Leaf(Rng, 0.3f, 3f, 3, 7);
        Check(t => Ops.Neg(t[0]), [x]);
        Check(t => Ops.Exp(t[0]), [x]);
        Check(t => Ops.Log(t[0]), [pos]);
        Check(t => Ops.Log1p(t[0]), [pos]);
        Check(t => Ops.Sqrt(t[0]), [pos]);
        Check(t => Ops.Pow(t[0], 3f), [x]);
        Check(t => Ops.Pow(t[0], 1.7f), [pos]);
        Check(t => Ops.Sigmoid(t[0]), [x]);
        Check(t => Ops.Tanh(t[0]), [x]);
        Check(t => Ops.Scale(t[0], -2.5f), [x]);
        Check(t => Ops.AddScalar(t[0], 4f), [x]);
    }

    [Test]
    public void PiecewiseOpsMatchAwayFromKinks()
    {
        // Values kept at least 0.1 away from 0, +-1 and 6 so central differences with eps 1e-2 never straddle a kink.
        var v = new float[] { -7.2f, -3.1f, -0.5f, -0.2f, 0.3f, 0.7f, 1.5f, 4.4f, 5.5f, 6.4f, 8f, -1.4f };
        var x = Tensor.FromArray(v, 3, 4); x.RequiresGrad = true;
        Check(t => Ops.Abs(t[0]), [x]);
        Check(t => Ops.Relu(t[0]), [x]);
        Check(t => Ops.Relu6(t[0]), [x]);
        Check(t => Ops.ReluClip(t[0], 5f), [x]);
        Check(t => Ops.Clamp(t[0], -1f, 1f), [x]);
    }

    [Test]
    public void ReluValuesAreExact()
    {
        using var x = Tensor.FromArray([-1f, 0f, 2f, 7f, float.NegativeInfinity], 5);
        Assert.That(Ops.Relu(x).ToArray(), Is.EqualTo(new[] { 0f, 0f, 2f, 7f, 0f }));
        Assert.That(Ops.Relu6(x).ToArray(), Is.EqualTo(new[] { 0f, 0f, 2f, 6f, 0f }));
        Assert.That(Ops.ReluClip(x, 20f).ToArray(), Is.EqualTo(new[] { 0f, 0f, 2f, 7f, 0f }));
    }

    [Test]
    public void BroadcastMismatchNamesBothShapes()
    {
        using var a = Tensor.Zeros(2, 3);
        using var b = Tensor.Zeros(4);
        var e = Assert.Throws<ArgumentException>(() => Ops.Add(a, b));
        Assert.That(e!.Message, Does.Contain("(2, 3)").And.Contain("(4,)"));
    }
}

using NUnit.Framework;

namespace Cochlea.Tests.Engine;

public class ElementwiseValueTests
{
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

using NUnit.Framework;

namespace Cochlea.Tests.Engine;

public class PhiloxTests
{
    [Test]
    public void MatchesPublishedKnownAnswer()
    {
        // Random123 kat_vectors, philox4x32_10: counter 0, key 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
        var (a, b, c, d) = Philox.Block(0, 0);
        Assert.That(new[] { a, b, c, d }, Is.EqualTo(new uint[] { 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 }));
    }

    [Test]
    public void ResumingAtAnOffsetContinuesTheStream()
    {
        var r = new Philox(42);
        var first = Enumerable.Range(0, 11).Select(_ => r.NextUInt()).ToArray();
        var resumed = new Philox(42, 5);
        Assert.That(Enumerable.Range(0, 6).Select(_ => resumed.NextUInt()), Is.EqualTo(first[5..]));
    }

    [TestCase(0UL, 0)]
    [TestCase(3UL, 1)]
    [TestCase(5UL, 7)]
    [TestCase(2UL, 200_003)]   // long enough to be cut into chunks for the kernel threads
    public void FillDrawsWhatNextFloatDraws(ulong offset, int length)
    {
        var a = new Philox(11, offset);
        var b = new Philox(11, offset);
        var v = new float[length];
        a.Fill(v);
        var expected = Enumerable.Range(0, length).Select(_ => b.NextFloat()).ToArray();
        Assert.That(v, Is.EqualTo(expected));
        Assert.That(a.Offset, Is.EqualTo(b.Offset));
        Assert.That(a.NextUInt(), Is.EqualTo(b.NextUInt()));
    }

    [Test]
    public void UniformsHaveTheRightMoments()
    {
        var r = new Philox(7);
        var v = new float[100_000];
        r.Fill(v);
        Assert.That(v.Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(v.Max(), Is.LessThan(1f));
        Assert.That(v.Average(), Is.EqualTo(0.5).Within(0.005));
        Assert.That(v.Select(x => (x - 0.5) * (x - 0.5)).Average(), Is.EqualTo(1.0 / 12).Within(0.002));
    }

    [Test]
    public void DropoutKeepsExpectationAndIsIdentityInEval()
    {
        using var x = Tensor.Ones(200, 500);
        using var y = Ops.Dropout(x, 0.4f, training: true, new Philox(3));
        var v = y.ToArray();
        Assert.That(v.Count(a => a == 0) / (double)v.Length, Is.EqualTo(0.4).Within(0.01));
        Assert.That(v.Average(), Is.EqualTo(1.0).Within(0.02));
        using var e = Ops.Dropout(x, 0.4f, training: false, new Philox(3));
        Assert.That(e.ToArray(), Is.All.EqualTo(1f));
    }

    [Test]
    public void DropoutAsIdentityStillPassesGradients([Values(false, true)] bool training)
    {
        // Eval mode, or p = 0 in training: the identity, but gradients must flow through it (they used not to).
        using var scope = Tensor.Scope();
        var x = Tensor.Ones(3, 4);
        x.RequiresGrad = true;
        var y = Ops.Dropout(x, training ? 0f : 0.4f, training, new Philox(3));
        Ops.Sum(y * 2f).Backward();
        Assert.That(x.Grad!.ToArray(), Is.All.EqualTo(2f));
    }
}

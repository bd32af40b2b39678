// Values, stability, equivalences and input validation of the losses (src/Engine/Losses/Loss.cs).
// Gradients are checked by central differences in GradCases.Losses.cs and against PyTorch in
// Golden/OpGoldenTests.cs; this file covers what those do not: closed forms, extreme logits,
// the relations between the overloads, and the error messages.
using NUnit.Framework;

namespace Cochlea.Tests.Engine;

public class LossTests
{
    static readonly Random Rng = new(2024);

    static Tensor Leaf(Tensor t) { t.RequiresGrad = true; return t; }

    [Test]
    public void CrossEntropyMatchesClosedForm()
    {
        using var scope = Tensor.Scope();
        var logits = Tensor.FromArray([1f, 2f, 3f, 0f, 0f, 0f], 2, 3);
        var labels = Tensor.FromArray(new long[] { 2, 0 }, 2);
        double l0 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 3, l1 = Math.Log(3);
        Assert.That(Loss.CrossEntropy(logits, labels).Item(), Is.EqualTo((l0 + l1) / 2).Within(1e-6));
        Assert.That(Loss.CrossEntropy(logits, labels, reduction: "sum").Item(), Is.EqualTo(l0 + l1).Within(1e-6));
        var none = Loss.CrossEntropy(logits, labels, reduction: "none");
        Assert.That(none.Shape.ToArray(), Is.EqualTo(new[] { 2 }));
        Assert.That(none.ToArray(), Is.EqualTo(new[] { (float)l0, (float)l1 }).Within(1e-6));
        // Uniform smoothing with ls = 1 makes the target uniform: loss = mean_c(-log p_c).
        double u0 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3)) - 2;
        Assert.That(Loss.CrossEntropy(logits, labels, 1f, "none").ToArray()[0], Is.EqualTo(u0).Within(1e-6));
    }

    [Test]
    public void HardLabelsEqualOneHotProbabilities()
    {
        using var scope = Tensor.Scope();
        var x1 = Leaf(Tensor.Randn(Rng, 2f, 4, 5, 3));
        var x2 = Leaf(x1.Detach().Clone());
        var labels = Tensor.FromArray(new long[] { 0, 4, 2, 1, 1, 3, 4, 0, 2, 2, 3, 0 }, 4, 3);
        var oneHot = Tensor.Zeros(4, 5, 3);
        var lab = labels.ToInt64Array();
        for (int b = 0; b < 4; b++) for (int t = 0; t < 3; t++) oneHot.AsSpan()[(b * 5 + (int)lab[b * 3 + t]) * 3 + t] = 1f;
        var hard = Loss.CrossEntropy(x1, labels, 0.15f);
        var soft = Loss.CrossEntropy(x2, oneHot, 0.15f);
        Assert.That(hard.Item(), Is.EqualTo(soft.Item()).Within(1e-6));
        hard.Backward(); soft.Backward();
        Assert.That(x1.Grad!.ToArray(), Is.EqualTo(x2.Grad!.ToArray()).Within(1e-7));
    }

    [Test]
    public void CrossEntropyGradientIsSoftmaxMinusTarget()
    {
        using var scope = Tensor.Scope();
        var x = Leaf(Tensor.Randn(Rng, 1f, 3, 4));
        var q = Ops.Softmax(Tensor.Randn(Rng, 1f, 3, 4), 1);
        Loss.CrossEntropy(x, q, reduction: "sum").Backward();
        var expect = Ops.Sub(Ops.Softmax(x.Detach(), 1), q).ToArray();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(expect).Within(1e-6));
    }

    [Test]
    public void ExtremeLogitsStayFinite()
    {
        using var scope = Tensor.Scope();
        var x = Leaf(Tensor.FromArray([1000f, -1000f, 0f, -1000f, 1000f, 0f], 2, 3));
        var loss = Loss.CrossEntropy(x, Tensor.FromArray(new long[] { 0, 0 }, 2), reduction: "none");
        Assert.That(loss.ToArray(), Is.EqualTo(new[] { 0f, 2000f }).Within(1e-3));
        Ops.Sum(loss).Backward();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 0f, 0f, -1f, 1f, 0f }).Within(1e-6));

        var z = Leaf(Tensor.FromArray([100f, -100f, 100f, -100f, 1e-20f], 5));
        var t = Tensor.FromArray([1f, 1f, 0f, 0f, 1f], 5);
        var bce = Loss.BinaryCrossEntropyWithLogits(z, t, reduction: "none");
        Assert.That(bce.ToArray(), Is.EqualTo(new[] { 0f, 100f, 100f, 0f, (float)Math.Log(2) }).Within(1e-5));
        Ops.Sum(bce).Backward();
        Assert.That(z.Grad!.ToArray(), Is.EqualTo(new[] { 0f, -1f, 1f, 0f, -0.5f }).Within(1e-6));
    }

    [Test]
    public void BceSmoothsTargetsTowardsOneHalf()
    {
        using var scope = Tensor.Scope();
        var x = Tensor.FromArray([0.3f, -1.2f, 2f], 3);
        var t = Tensor.FromArray([1f, 0f, 1f], 3);
        var smoothed = Tensor.FromArray([0.9f, 0.1f, 0.9f], 3);
        Assert.That(Loss.BinaryCrossEntropyWithLogits(x, t, 0.2f).Item(), Is.EqualTo(Loss.BinaryCrossEntropyWithLogits(x, smoothed).Item()).Within(1e-6));
    }

    [Test]
    public void MseMatchesClosedForm()
    {
        using var scope = Tensor.Scope();
        var p = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        var t = Tensor.FromArray([0f, 2f, 5f, 4f], 2, 2);
        Assert.That(Loss.Mse(p, t).Item(), Is.EqualTo(5f / 4));
        Assert.That(Loss.Mse(p, t, "sum").Item(), Is.EqualTo(5f));
        Assert.That(Loss.Mse(p, t, "none").ToArray(), Is.EqualTo(new[] { 1f, 0f, 4f, 0f }));
    }

    [Test]
    public void DistillationFromProbabilitiesEqualsFromLogits()
    {
        using var scope = Tensor.Scope();
        var s1 = Leaf(Tensor.Randn(Rng, 2f, 5, 7));
        var s2 = Leaf(s1.Detach().Clone());
        var teacher = Tensor.Randn(Rng, 2f, 5, 7);
        var probs = Ops.Softmax(teacher, 1);
        var a = Loss.KlDivDistill(s1, teacher, 3f);
        var b = Loss.KlDivDistillFromProbs(s2, probs, 3f);
        Assert.That(b.Item(), Is.EqualTo(a.Item()).Within(1e-5 + 1e-4 * Math.Abs(a.Item())));
        a.Backward(); b.Backward();
        Assert.That(s2.Grad!.ToArray(), Is.EqualTo(s1.Grad!.ToArray()).Within(1e-5));
    }

    [Test]
    public void DistillationIsZeroForIdenticalLogitsAndIgnoresTheTeachersGradient()
    {
        using var scope = Tensor.Scope();
        var s = Leaf(Tensor.Randn(Rng, 1f, 3, 4));
        var teacher = Leaf(s.Detach().Clone());
        var loss = Loss.KlDivDistill(s, teacher, 2f);
        Assert.That(loss.Item(), Is.EqualTo(0f).Within(1e-6));
        loss.Backward();
        Assert.That(s.Grad!.ToArray(), Is.All.EqualTo(0f).Within(1e-7));
        Assert.That(teacher.Grad, Is.Null, "the teacher is a constant");
    }

    [Test]
    public void NothingIsRecordedUnderNoGrad()
    {
        using var scope = Tensor.Scope();
        var x = Leaf(Tensor.Randn(Rng, 1f, 2, 3));
        using (Tensor.NoGrad())
        {
            var loss = Loss.CrossEntropy(x, Tensor.FromArray(new long[] { 1, 2 }, 2));
            Assert.That(loss.RequiresGrad, Is.False);
            Assert.That(loss.GradFn, Is.Null);
        }
        Assert.That(Loss.CrossEntropy(x, Tensor.FromArray(new long[] { 1, 2 }, 2)).GradFn!.Name, Is.EqualTo("cross_entropy"));
    }

    static void Throws(Action call, params string[] fragments)
    {
        var e = Assert.Catch<ArgumentException>(() => call())!;
        foreach (var f in fragments) Assert.That(e.Message, Does.Contain(f));
    }

    [Test]
    public void InvalidInputsAreRejectedWithTheExpectedShape()
    {
        using var scope = Tensor.Scope();
        var logits = Tensor.Randn(Rng, 1f, 4, 5);
        Throws(() => Loss.CrossEntropy(logits, Tensor.FromArray(new long[] { 0, 1, 2 }, 3)), "(4,)");
        Throws(() => Loss.CrossEntropy(logits, Tensor.FromArray(new long[] { 0, 1, 5, 2 }, 4)), "label 5", "5 classes");
        Throws(() => Loss.CrossEntropy(logits, Tensor.FromArray(new long[] { 0, -1, 1, 2 }, 4)), "label -1");
        Throws(() => Loss.CrossEntropy(logits, Tensor.FromArray([0f, 1f, 2f, 3f], 4)), "(4, 5)", "int64 labels of shape (4,)");
        Throws(() => Loss.CrossEntropy(Tensor.Randn(Rng, 1f, 5), Tensor.FromArray(new long[] { 0 }, 1)), "(B, C)");
        Throws(() => Loss.CrossEntropy(Tensor.Randn(Rng, 1f, 2, 3, 4), Tensor.FromArray(new long[] { 0, 1 }, 2)), "(2, 4)");
        Throws(() => Loss.CrossEntropy(logits, Tensor.FromArray(new long[] { 0, 1, 2, 3 }, 4), 1.5f), "[0, 1]");
        Throws(() => Loss.CrossEntropy(logits, Tensor.FromArray(new long[] { 0, 1, 2, 3 }, 4), reduction: "avg"), "\"mean\"");

        Throws(() => Loss.BinaryCrossEntropyWithLogits(logits, Tensor.Zeros(4, 4)), "(4, 5)");
        Throws(() => Loss.BinaryCrossEntropyWithLogits(logits, Tensor.Full(3f, 4, 5)), "outside [0, 1]");
        Throws(() => Loss.Mse(logits, Tensor.Zeros(5, 4)), "(4, 5)");
        Throws(() => Loss.Mse(logits, Tensor.FromArray(new long[20], 4, 5)), "float32");

        Throws(() => Loss.KlDivDistill(Tensor.Randn(Rng, 1f, 2, 3, 4), Tensor.Randn(Rng, 1f, 2, 3, 4), 2f), "(B, C)");
        Throws(() => Loss.KlDivDistill(logits, Tensor.Zeros(4, 6), 2f), "(4, 5)");
        Throws(() => Loss.KlDivDistill(logits, logits, 0f), "temperature");
        Throws(() => Loss.KlDivDistillFromProbs(logits, Tensor.Full(-0.1f, 4, 5), 1f), "negative");
        Throws(() => Loss.KlDivDistillFromProbs(logits, Tensor.Zeros(4, 5), 1f), "sum to 0");
    }
}

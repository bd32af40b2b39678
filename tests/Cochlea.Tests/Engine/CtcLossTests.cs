// CTC losses of the engine: golden cases from PyTorch's F.ctc_loss (tests/fixtures/ctc, made by
// make_ctc_fixtures.py) for every reduction, through both entry points (logits with the fused
// log_softmax, and log-probs with PyTorch's gradient formula), plus input validation and the
// reduction semantics.
using Cochlea.IO;
using NUnit.Framework;

namespace Cochlea.Tests.Engine;

[Category("Golden")]
public class CtcLossTests
{
    static string Folder => Path.Combine(AppContext.BaseDirectory, "fixtures", "ctc");

    static IEnumerable<string> Cases() =>
        Directory.Exists(Folder) ? Directory.GetFiles(Folder, "*.safetensors").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal) : [];

    [Test]
    public void FixturesArePresent() => Assert.That(Cases().Count(), Is.GreaterThanOrEqualTo(6), $"CTC fixtures in {Folder}");

    sealed record Golden(SafeTensorsFile File)
    {
        public Tensor Float(string name) => Tensor.FromArray(File.ReadFloat32(name), File.GetInfo(name).ShapeInt32);
        public Tensor Int64(string name) => Tensor.FromArray(File.ReadInt64(name), File.GetInfo(name).ShapeInt32);
        public float[] Values(string name) => File.ReadFloat32(name);
    }

    /// <summary>Largest |a - e| / max(1, |e|) over the values (NaN and infinities must match exactly).</summary>
    static double MaxError(float[] actual, float[] expected, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what + ": length");
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            float a = actual[i], e = expected[i];
            if (float.IsNaN(e) || float.IsInfinity(e)) { Assert.That(a, Is.EqualTo(e), $"{what}[{i}]"); continue; }
            worst = Math.Max(worst, Math.Abs(a - e) / Math.Max(1.0, Math.Abs(e)));
        }
        return worst;
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        using var scope = Tensor.Scope();
        using var file = SafeTensorsFile.Open(Path.Combine(Folder, name + ".safetensors"));
        var fx = new Golden(file);
        int blank = int.Parse(file.Metadata["blank"], System.Globalization.CultureInfo.InvariantCulture);
        bool zeroInf = file.Metadata["zero_infinity"] == "true";
        var targets = fx.Int64("targets");
        var il = fx.Int64("input_lengths");
        var tl = fx.Int64("target_lengths");
        double worstLoss = 0, worstGrad = 0;
        foreach (var red in new[] { "none", "sum", "mean" })
        {
            var g = fx.Float($"g_{red}");
            var lossExpected = fx.Values($"loss_{red}");

            // 1. Fused: logits in, gradient w.r.t. the logits.
            var logits = fx.Float("logits");
            logits.RequiresGrad = true;
            var loss = Loss.CtcFromLogits(logits, targets, il, tl, blank, red, zeroInf);
            worstLoss = Math.Max(worstLoss, MaxError(loss.ToArray(), lossExpected, $"{name} {red} loss (logits)"));
            loss.Backward(g);
            worstGrad = Math.Max(worstGrad, MaxError(logits.Grad!.ToArray(), fx.Values($"dlogits_{red}"), $"{name} {red} dlogits"));

            // 2. PyTorch's form on a log-probs leaf: its gradient formula exp(lp) - occupancy.
            Tensor lp;
            using (Tensor.NoGrad()) lp = Ops.LogSoftmax(fx.Float("logits"), -1);
            lp.RequiresGrad = true;
            var loss2 = Loss.CtcFromLogProbs(lp, targets, il, tl, blank, red, zeroInf);
            worstLoss = Math.Max(worstLoss, MaxError(loss2.ToArray(), lossExpected, $"{name} {red} loss (log-probs)"));
            loss2.Backward(g);
            worstGrad = Math.Max(worstGrad, MaxError(lp.Grad!.ToArray(), fx.Values($"dlogprobs_{red}"), $"{name} {red} dlogprobs"));

            // 3. The composition the user writes in PyTorch: ctc_loss(log_softmax(logits)), autograd through both.
            var logits3 = fx.Float("logits");
            logits3.RequiresGrad = true;
            var loss3 = Loss.CtcFromLogProbs(Ops.LogSoftmax(logits3, -1), targets, il, tl, blank, red, zeroInf);
            loss3.Backward(g);
            worstGrad = Math.Max(worstGrad, MaxError(logits3.Grad!.ToArray(), fx.Values($"dlogits_{red}"), $"{name} {red} dlogits via log_softmax"));
        }
        TestContext.Out.WriteLine($"{name}: max loss error {worstLoss:E2} (relative to max(1, |loss|)), max gradient error {worstGrad:E2}");
        Assert.That(worstLoss, Is.LessThanOrEqualTo(1e-4), "loss");
        Assert.That(worstGrad, Is.LessThanOrEqualTo(1e-4), "gradients");
    }

    [Test]
    public void MeanDividesEachLossByItsTargetLengthThenAveragesAsPyTorch()
    {
        using var scope = Tensor.Scope();
        var logits = Tensor.Randn(new Random(4), 1f, 8, 3, 5);
        using var targets = Tensor.FromArray(new long[] { 1, 2, 3, 4, 4, 0, 0, 0, 0 }, 3, 3);
        int[] il = [8, 6, 7], tl = [3, 2, 0];
        var none = Loss.CtcFromLogits(logits, targets, il, tl, 0, "none").ToArray();
        double expected = (none[0] / 3.0 + none[1] / 2.0 + none[2] / 1.0) / 3.0;   // length 0 counts as 1
        Assert.That(Loss.CtcFromLogits(logits, targets, il, tl, 0, "mean").Item(), Is.EqualTo(expected).Within(1e-5));
        Assert.That(Loss.CtcFromLogits(logits, targets, il, tl, 0, "sum").Item(), Is.EqualTo(none.Sum()).Within(1e-4));
        // The fused form equals the composition.
        var viaLp = Loss.CtcFromLogProbs(Ops.LogSoftmax(logits, -1), targets, il, tl, 0, "none").ToArray();
        Assert.That(viaLp, Is.EqualTo(none).Within(1e-5));
    }

    [Test]
    public void ShortInputIsAnImpossibleAlignmentNotAnError()
    {
        using var scope = Tensor.Scope();
        var logits = Tensor.Randn(new Random(2), 1f, 4, 1, 3);
        using var targets = Tensor.FromArray(new long[] { 1, 1, 1 }, 1, 3);   // needs 5 frames
        Assert.That(Loss.CtcFromLogits(logits, targets, [4], [3], 0, "none").ToArray()[0], Is.EqualTo(float.PositiveInfinity));
        Assert.That(Loss.CtcFromLogits(logits, targets, [4], [3], 0, "sum", zeroInfinity: true).Item(), Is.EqualTo(0f));
    }

    [Test]
    public void ValidationMessagesNameTheProblem()
    {
        using var scope = Tensor.Scope();
        var x = Tensor.Randn(new Random(1), 1f, 5, 2, 4);
        using var padded = Tensor.FromArray(new long[] { 1, 2, 3, 0 }, 2, 2);
        string Msg(Action d) => Assert.Catch<ArgumentException>(() => d())!.Message;

        Assert.That(Msg(() => Loss.CtcFromLogits(x, padded, [6, 5], [2, 1])), Does.Contain("input length 6 of sequence 0 exceeds T = 5"));
        Assert.That(Msg(() => Loss.CtcFromLogits(x, padded, [5, -1], [2, 1])), Does.Contain("input length -1 of sequence 1 is negative"));
        Assert.That(Msg(() => Loss.CtcFromLogits(x, padded, [5, 5], [2, 3])), Does.Contain("target length 3 of sequence 1 exceeds the padded targets' width S = 2"));
        Assert.That(Msg(() => Loss.CtcFromLogits(x, padded, [5, 5], [2, 2])), Does.Contain("label at position 1 of sequence 1 is the blank (0)"));
        using var outOfRange = Tensor.FromArray(new long[] { 1, 4, 3, 0 }, 2, 2);
        Assert.That(Msg(() => Loss.CtcFromLogits(x, outOfRange, [5, 5], [2, 1])), Does.Contain("label 4 at position 1 of sequence 0 is out of range for C = 4"));
        using var concat = Tensor.FromArray(new long[] { 1, 2, 3 }, 3);
        Assert.That(Msg(() => Loss.CtcFromLogits(x, concat, [5, 5], [2, 2])), Does.Contain("concatenated targets must hold sum(targetLengths) = 4 labels"));
        Assert.That(Msg(() => Loss.CtcFromLogits(x, padded, [5, 5], [2, 1], blank: 4)), Does.Contain("blank must be a class index in [0, 4)"));
        Assert.That(Msg(() => Loss.CtcFromLogits(x, padded, [5], [2])), Does.Contain("expected 2 input lengths and 2 target lengths"));
        Assert.That(Msg(() => Loss.CtcFromLogProbs(Tensor.Randn(new Random(1), 1f, 5, 4), padded, [5, 5], [2, 1])), Does.Contain("(T, B, C), time-major"));
        Assert.That(Msg(() => Loss.CtcFromLogits(x, padded, [5, 5], [2, 1], reduction: "avg")), Does.Contain("reduction must be"));
        using var floatLengths = Tensor.FromArray([5f, 5f], 2);
        Assert.That(Msg(() => Loss.CtcFromLogits(x, padded, floatLengths, floatLengths)), Does.Contain("inputLengths must be a 1-d int64 or int32 tensor"));
        // Labels 3 with the blank last (3) are also the blank.
        Assert.That(Msg(() => Loss.CtcFromLogits(x, padded, [5, 5], [2, 1], blank: 3)), Does.Contain("label at position 0 of sequence 1 is the blank (3)"));
    }
}

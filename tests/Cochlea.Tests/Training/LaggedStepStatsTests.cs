// LaggedStepStats on the CPU (no lag): each push returns that step's loss, bit for bit as loss.Item(), and the count of
// rows whose first maximal logit is the label, as the trainers counted it on the host before (KwsTta.ArgMax for KWS,
// TaggingMetrics.Rank == 1 for Freesound), ties included; the class table grows with the batch; bad input is refused
// naming the thing. The lagged CUDA side is in Kws/LaggedTrainingGpuTests.cs.
using Cochlea.Models.Kws;
using Cochlea.Models.Tagging;
using Cochlea.Models.Training;
using NUnit.Framework;

namespace Cochlea.Tests.Training;

public class LaggedStepStatsTests
{
    // Logits with many ties: values drawn from {0, 0.5, 1}, so rows often hold two or three maximal entries.
    static (Tensor Logits, Tensor Labels, float[] P, long[] Y) Batch(Random rng, int rows, int classes)
    {
        var p = new float[rows * classes];
        for (int i = 0; i < p.Length; i++) p[i] = rng.Next(3) * 0.5f;
        var y = new long[rows];
        for (int i = 0; i < rows; i++) y[i] = rng.Next(classes);
        return (Tensor.FromArray(p, rows, classes), Tensor.FromArray(y, rows), p, y);
    }

    [Test]
    public void OnTheCpuEachPushReturnsThatStepsLossAndTheHostCountedCorrectRows()
    {
        var rng = new Random(5);
        const int classes = 4;
        using var stats = new LaggedStepStats(Device.Cpu, classes);
        Assert.That(stats.Lag, Is.Zero);
        int step = 0;
        foreach (int rows in new[] { 3, 16, 7, 16, 1 })   // a bigger batch after a small one grows the class table
        {
            using var scope = Tensor.Scope();
            var (logits, labels, p, y) = Batch(rng, rows, classes);
            var loss = Loss.CrossEntropy(logits, labels);
            int kws = 0, rank1 = 0;
            for (int i = 0; i < rows; i++)
            {
                if (KwsTta.ArgMax(p, i, classes) == y[i]) kws++;
                if (TaggingMetrics.Rank(p.AsSpan(i * classes, classes), (int)y[i]) == 1) rank1++;
            }
            Assert.That(kws, Is.EqualTo(rank1), "the two old host counts agree (ties go to the lower index in both)");
            var r = stats.Push(++step, loss, logits, labels);
            Assert.That(r, Is.Not.Null, "no lag on the CPU");
            Assert.That(r!.Value.Step, Is.EqualTo(step));
            Assert.That(r.Value.Size, Is.EqualTo(rows));
            Assert.That(BitConverter.SingleToInt32Bits(r.Value.Loss), Is.EqualTo(BitConverter.SingleToInt32Bits(loss.Item())), "loss bit for bit");
            Assert.That(r.Value.Correct, Is.EqualTo(kws), $"correct rows of batch {step}");
        }
        Assert.That(stats.Finish(), Is.Null, "nothing left queued on the CPU");
    }

    [Test]
    public void TiesGoToTheFirstMaximalLogit()
    {
        using var stats = new LaggedStepStats(Device.Cpu, 3);
        using var scope = Tensor.Scope();
        // Row 0: max at 0 and 2 (label 0: correct); row 1: the same logits, label 2 (wrong); row 2: all equal, label 0 (correct).
        var logits = Tensor.FromArray(new[] { 1f, 0f, 1f, 1f, 0f, 1f, 2f, 2f, 2f }, 3, 3);
        var labels = Tensor.FromArray(new long[] { 0, 2, 0 }, 3);
        var r = stats.Push(1, Tensor.Full(0.25f, 1), logits, labels)!.Value;
        Assert.That(r.Correct, Is.EqualTo(2));
        Assert.That(r.Loss, Is.EqualTo(0.25f));
    }

    [Test]
    public void BadInputNamesTheThing()
    {
        using var stats = new LaggedStepStats(Device.Cpu, 3);
        using var scope = Tensor.Scope();
        var loss = Tensor.Full(1f, 1);
        var labels = Tensor.FromArray(new long[] { 0, 1 }, 2);
        Assert.That(Assert.Throws<ArgumentException>(() => stats.Push(1, loss, Tensor.Zeros(2, 4), labels))!.Message, Does.Contain("logits must be (B, 3)"));
        Assert.That(Assert.Throws<ArgumentException>(() => stats.Push(1, loss, Tensor.Zeros(3, 3), labels))!.Message, Does.Contain("labels must be (3,)"));
        Assert.That(Assert.Throws<ArgumentException>(() => stats.Push(1, Tensor.Zeros(2), Tensor.Zeros(2, 3), labels))!.Message, Does.Contain("the loss must have one element"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LaggedStepStats(Device.Cpu, 0));
    }
}

// MAP@k (Freesound's metric) against closed forms: the true label at rank r scores 1/r when r <= k, else 0, and the
// metric is the mean over clips. Also the top-k order and the submission format.
using Cochlea.Models.Tagging;
using NUnit.Framework;

namespace Cochlea.Tests.Models.Tagging;

[Category("Models")]
public class TaggingMetricsTests
{
    // 4 clips, 5 classes; the true label sits at rank 1, 2, 3 and 4 respectively.
    static readonly float[] Scores =
    [
        0.9f, 0.1f, 0.0f, 0.0f, 0.0f,    // label 0: rank 1
        0.1f, 0.5f, 0.9f, 0.0f, 0.0f,    // label 1: rank 2
        0.3f, 0.2f, 0.1f, 0.8f, 0.7f,    // label 0: ranks 3, 4 are 0.3 > 0.2 ... -> label 0 is rank 3
        0.4f, 0.3f, 0.2f, 0.1f, 0.5f,    // label 2: rank 4
    ];
    static readonly int[] Labels = [0, 1, 0, 2];

    [Test]
    public void MapAtKEqualsTheClosedForm()
    {
        Assert.That(TaggingMetrics.MeanAveragePrecision(Scores, Labels, 5, 1), Is.EqualTo(1.0 / 4).Within(1e-12));
        Assert.That(TaggingMetrics.MeanAveragePrecision(Scores, Labels, 5, 2), Is.EqualTo((1 + 0.5) / 4).Within(1e-12));
        Assert.That(TaggingMetrics.MeanAveragePrecision(Scores, Labels, 5, 3), Is.EqualTo((1 + 0.5 + 1.0 / 3) / 4).Within(1e-12));
        Assert.That(TaggingMetrics.MeanAveragePrecision(Scores, Labels, 5, 5), Is.EqualTo((1 + 0.5 + 1.0 / 3 + 0.25) / 4).Within(1e-12));
    }

    [Test]
    public void MapAtKOfRandomScoresEqualsASortBasedComputation()
    {
        var rng = new Random(5);
        const int clips = 200, classes = 41;
        var s = Enumerable.Range(0, clips * classes).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, clips).Select(_ => rng.Next(classes)).ToArray();
        foreach (int k in new[] { 1, 3 })
        {
            // Kaggle's apk: walk the sorted predictions, precision at the first hit.
            double total = 0;
            for (int i = 0; i < clips; i++)
            {
                var top = Enumerable.Range(0, classes).OrderByDescending(j => s[i * classes + j]).Take(k).ToList();
                int at = top.IndexOf(y[i]);
                total += at < 0 ? 0 : 1.0 / (at + 1);
            }
            Assert.That(TaggingMetrics.MeanAveragePrecision(s, y, classes, k), Is.EqualTo(total / clips).Within(1e-12), $"MAP@{k}");
        }
    }

    [Test]
    public void TopKIsBestFirstWithTiesByIndex()
    {
        Assert.That(TaggingMetrics.TopK([0.1f, 0.7f, 0.3f, 0.7f, 0.2f], 3), Is.EqualTo(new[] { 1, 3, 2 }));
        Assert.That(TaggingMetrics.Rank([0.1f, 0.7f, 0.3f, 0.7f], 3), Is.EqualTo(2), "a tie ranks after the lower index");
        Assert.That(TaggingMetrics.TopK([0.5f, 0.1f], 3), Is.EqualTo(new[] { 0, 1 }), "k larger than the classes");
    }

    [Test]
    public void BadInputsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => TaggingMetrics.MeanAveragePrecision(Scores.AsSpan(1), Labels, 5, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => TaggingMetrics.MeanAveragePrecision(Scores, [0, 1, 0, 7], 5, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => TaggingMetrics.MeanAveragePrecision(Scores, Labels, 5, 0));
    }

    [Test]
    public void SubmissionHasTheHeaderAndThreeSpaceSeparatedLabels()
    {
        using var dir = new TempDir("freesound");
        string path = dir["submission.csv"];
        FreesoundPredictor.WriteSubmission(path, [new("a.wav", ["tone", "beeps", "pluck"]), new("b.wav", ["sweep", "tone", "buzz"])]);
        Assert.That(File.ReadAllText(path), Is.EqualTo("fname,label\na.wav,tone beeps pluck\nb.wav,sweep tone buzz\n"));
    }
}

// Levenshtein WER / CER with the S/D/I split on known values, and the DeepSpeech-style report.
using Cochlea.Models.Speech;
using NUnit.Framework;

namespace Cochlea.Tests.Models.Speech;

public class WerTests
{
    [Test]
    public void WordEditsOnKnownPairs()
    {
        Assert.That(ErrorRate.Words("the cat sat", "the cat sat"), Is.EqualTo(new EditCounts(0, 0, 0, 3)));
        // sat -> sit (S), the before mat missing (D): 2 / 6.
        var e = ErrorRate.Words("the cat sat on the mat", "the cat sit on mat");
        Assert.That(e, Is.EqualTo(new EditCounts(1, 1, 0, 6)));
        Assert.That(ErrorRate.Wer("the cat sat on the mat", "the cat sit on mat"), Is.EqualTo(2.0 / 6));
        Assert.That(ErrorRate.Words("a b", "a x b"), Is.EqualTo(new EditCounts(0, 0, 1, 2)));
        Assert.That(ErrorRate.Words("a b c", ""), Is.EqualTo(new EditCounts(0, 3, 0, 3)));
        Assert.That(ErrorRate.Wer("a b c", ""), Is.EqualTo(1.0));
        // Whitespace runs and edges do not make words.
        Assert.That(ErrorRate.Wer("  she had  your ", "she had your"), Is.EqualTo(0.0));
        // WER can exceed 1 with insertions.
        Assert.That(ErrorRate.Wer("yes", "no no no"), Is.EqualTo(3.0));
        // Empty reference: N counts as 1.
        Assert.That(ErrorRate.Wer("", ""), Is.EqualTo(0.0));
        Assert.That(ErrorRate.Words("", "a b"), Is.EqualTo(new EditCounts(0, 0, 2, 0)));
        Assert.That(ErrorRate.Wer("", "a b"), Is.EqualTo(2.0));
    }

    [Test]
    public void CharacterEditsOnKnownPairs()
    {
        // kitten -> sitting: k->s, e->i (S = 2), + g (I = 1): 3 / 6.
        Assert.That(ErrorRate.Chars("kitten", "sitting"), Is.EqualTo(new EditCounts(2, 0, 1, 6)));
        Assert.That(ErrorRate.Cer("kitten", "sitting"), Is.EqualTo(0.5));
        Assert.That(ErrorRate.Chars("flaw", "lawn"), Is.EqualTo(new EditCounts(0, 1, 1, 4)));
        // Spaces are characters for CER.
        Assert.That(ErrorRate.Chars("a b", "ab"), Is.EqualTo(new EditCounts(0, 1, 0, 3)));
        Assert.That(ErrorRate.Align<int>([1, 2, 3, 4], [1, 3, 4, 5]), Is.EqualTo(new EditCounts(0, 1, 1, 4)));
    }

    [Test]
    public void ReportMeansWorstAndBest()
    {
        var report = WerReport.Build(
        [
            ("she had your dark suit", "she had your dark suit", 3.0),    // WER 0
            ("in greasy wash water", "in greasy wash", 12.0),              // 1/4
            ("all year", "oil here", 30.0),                               // 2/2 = 1
            ("don't ask me", "don't ask", 9.0),                           // 1/3
            ("to carry", "to carry", 1.0),                                // 0
        ]);
        Assert.That(report.MeanWer, Is.EqualTo((0 + 0.25 + 1 + 1.0 / 3 + 0) / 5).Within(1e-12));
        Assert.That(report.CorpusWer, Is.EqualTo(4.0 / 16).Within(1e-12));
        Assert.That(report.MeanLoss, Is.EqualTo(11.0));
        Assert.That(report.Worst(2).Select(s => s.Reference), Is.EqualTo(new[] { "all year", "don't ask me" }));
        // Best: WER 0 twice, the lower loss first.
        Assert.That(report.Best(3).Select(s => s.Reference), Is.EqualTo(new[] { "to carry", "she had your dark suit", "in greasy wash water" }));
        Assert.That(report.Samples[1].CharEdits, Is.EqualTo(new EditCounts(0, 6, 0, 20)));
        var text = report.Format(1);
        TestContext.Out.WriteLine(text);
        Assert.That(text, Does.StartWith("Test - WER: 0.316667, CER: "));
        Assert.That(text, Does.Contain("WER: 1.000000, CER: 0.625000, loss: 30.000000\n - src: \"all year\"\n - res: \"oil here\"").Or.Contain("WER: 1.000000, CER: 0.625000, loss: 30.000000\r\n"));
        Assert.That(text, Does.Contain(" - src: \"to carry\""));
        Assert.That(WerReport.Build([]).MeanWer, Is.NaN);
    }
}

// The evaluation report of DeepSpeech.py: mean WER over a set (the average of per-utterance WERs,
// as the 2017 script computes it), mean CER ("mean edit distance") and loss, and the N worst and
// best utterances with their loss, printed as
//   Test - WER: 0.250000, CER: 0.120000, loss: 23.456789
//   ----------------------------------------------------------------
//   WER: 1.000000, CER: 0.500000, loss: 40.000000
//    - src: "she had your dark suit"
//    - res: "she hat yo dark"
using System.Globalization;
using System.Text;

namespace Cochlea.Models.Speech;

/// <summary>One evaluated utterance: reference, transcript, loss and its word and character edits.</summary>
/// <param name="Reference">The true transcript.</param>
/// <param name="Hypothesis">The decoded transcript.</param>
/// <param name="Loss">The utterance's loss (e.g. CTC), reported beside it.</param>
/// <param name="WordEdits">Word-level edits.</param>
/// <param name="CharEdits">Character-level edits.</param>
public sealed record WerSample(string Reference, string Hypothesis, double Loss, EditCounts WordEdits, EditCounts CharEdits)
{
    /// <summary>This utterance's word error rate.</summary>
    public double Wer => WordEdits.Rate;

    /// <summary>This utterance's character error rate.</summary>
    public double Cer => CharEdits.Rate;
}

/// <summary>WER/CER over a set of utterances plus the worst and best examples.</summary>
public sealed class WerReport
{
    WerReport(IReadOnlyList<WerSample> samples) => Samples = samples;

    /// <summary>Scores every (reference, hypothesis, loss) triple.</summary>
    public static WerReport Build(IEnumerable<(string Reference, string Hypothesis, double Loss)> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        return new WerReport(items.Select(x => new WerSample(x.Reference, x.Hypothesis, x.Loss,
            ErrorRate.Words(x.Reference, x.Hypothesis), ErrorRate.Chars(x.Reference, x.Hypothesis))).ToArray());
    }

    /// <summary>Every utterance, in input order.</summary>
    public IReadOnlyList<WerSample> Samples { get; }

    /// <summary>Mean of the per-utterance WERs (DeepSpeech's "WER"); NaN for an empty set.</summary>
    public double MeanWer => Mean(s => s.Wer);

    /// <summary>Mean of the per-utterance CERs (DeepSpeech's "mean edit distance").</summary>
    public double MeanCer => Mean(s => s.Cer);

    /// <summary>Mean loss.</summary>
    public double MeanLoss => Mean(s => s.Loss);

    /// <summary>Corpus WER: all word edits over all reference words (weights long utterances more than <see cref="MeanWer"/>).</summary>
    public double CorpusWer => Samples.Aggregate(default(EditCounts), (a, s) => a + s.WordEdits).Rate;

    /// <summary>Corpus CER: all character edits over all reference characters.</summary>
    public double CorpusCer => Samples.Aggregate(default(EditCounts), (a, s) => a + s.CharEdits).Rate;

    /// <summary>The <paramref name="n"/> utterances with the highest WER (ties: higher loss first), worst first.</summary>
    public IReadOnlyList<WerSample> Worst(int n) =>
        Samples.Select((s, i) => (s, i)).OrderByDescending(x => x.s.Wer).ThenByDescending(x => x.s.Loss).ThenBy(x => x.i).Take(n).Select(x => x.s).ToArray();

    /// <summary>The <paramref name="n"/> utterances with the lowest WER (ties: lower loss first), best first.</summary>
    public IReadOnlyList<WerSample> Best(int n) =>
        Samples.Select((s, i) => (s, i)).OrderBy(x => x.s.Wer).ThenBy(x => x.s.Loss).ThenBy(x => x.i).Take(n).Select(x => x.s).ToArray();

    /// <summary>The report text: the set's means, then the <paramref name="n"/> worst and <paramref name="n"/> best utterances.</summary>
    public string Format(int n = 5, string title = "Test")
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{title} - WER: {MeanWer:F6}, CER: {MeanCer:F6}, loss: {MeanLoss:F6}").AppendLine();
        void Section(string name, IReadOnlyList<WerSample> items)
        {
            if (items.Count == 0) return;
            sb.AppendLine(new string('-', 80)).AppendLine(name);
            foreach (var s in items)
            {
                sb.Append(CultureInfo.InvariantCulture, $"WER: {s.Wer:F6}, CER: {s.Cer:F6}, loss: {s.Loss:F6}").AppendLine();
                sb.Append(" - src: \"").Append(s.Reference).AppendLine("\"");
                sb.Append(" - res: \"").Append(s.Hypothesis).AppendLine("\"");
            }
        }
        Section($"Worst WER ({Math.Min(n, Samples.Count)}):", Worst(n));
        Section($"Best WER ({Math.Min(n, Samples.Count)}):", Best(n));
        return sb.ToString();
    }

    double Mean(Func<WerSample, double> f) => Samples.Count == 0 ? double.NaN : Samples.Average(f);
}

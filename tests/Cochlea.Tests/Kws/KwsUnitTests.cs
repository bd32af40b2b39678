// The pieces under the KWS commands: checkpoint round trip and metadata, TTA views and their
// average, the confusion matrix, the submission format, class-set parsing, and the batch-norm
// recalibration the trainer runs before each validation.
using Cochlea.Models.Data;
using Cochlea.Models.Kws;
using Cochlea.Models.Training;
using Cochlea.Nn;
using NUnit.Framework;

namespace Cochlea.Tests.Kws;

[Category("Kws")]
public class KwsUnitTests
{
    static readonly string[] Labels = ["_silence_", "_unknown_", "yes", "no"];

    static float[] Clips(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * KwsClassifier.ClipSamples];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() - 0.5) * 0.2f;
        return x;
    }

    [Test]
    public void ACheckpointRoundTripGivesTheSameProbabilitiesAndLabels()
    {
        using var dir = new TempDir();
        using var c = KwsClassifier.Create(KwsModelKind.Wave, Labels, seed: 4, widths: [8, 12]);
        var x = Clips(3, 1);
        var p = c.Probabilities(x, 3);
        c.Save(dir["m.safetensors"], extra: new Dictionary<string, string> { ["kws.note"] = "hello" });
        using var back = KwsClassifier.Load(dir["m.safetensors"]);
        Assert.That(back.Kind, Is.EqualTo(KwsModelKind.Wave));
        Assert.That(back.Labels, Is.EqualTo(Labels));
        Assert.That(back.Widths, Is.EqualTo(new[] { 8, 12 }));
        Assert.That(back.Probabilities(x, 3), Is.EqualTo(p));
        Assert.That(KwsClassifier.ReadMetadata(dir["m.safetensors"])["kws.note"], Is.EqualTo("hello"));
        for (int i = 0; i < 3; i++) Assert.That(p.Skip(i * 4).Take(4).Sum(), Is.EqualTo(1f).Within(1e-5f));
    }

    [Test]
    public void PeakNormalizationScalesEachClipAndTravelsWithTheCheckpoint()
    {
        using var x = Tensor.FromArray([0.5f, -0.25f, 0f, 0f, 0.0001f, 0f], 3, 2);
        Assert.That(KwsFrontEnd.PeakNormalize(x).ToArray(), Is.EqualTo(new[] { 1f, -0.5f, 0f, 0f, 0.1f, 0f }).Within(1e-6f));

        using var dir = new TempDir();
        using var c = KwsClassifier.Create(KwsModelKind.Wave, Labels, seed: 1, widths: [8], normalization: KwsInputNormalization.Peak);
        var clips = Clips(2, 3);
        var p = c.Probabilities(clips, 2);
        // A gain does not change what a peak-normalising model sees.
        Assert.That(c.Probabilities(clips.Select(v => v * 3f).ToArray(), 2), Is.EqualTo(p).Within(1e-5f));
        c.Save(dir["n.safetensors"]);
        using var back = KwsClassifier.Load(dir["n.safetensors"]);
        Assert.That(back.FrontEnd.InputNormalization, Is.EqualTo(KwsInputNormalization.Peak));
        Assert.That(back.Probabilities(clips, 2), Is.EqualTo(p));
    }

    [Test]
    public void SpectralFrontEndsFitTheirStatisticsAndSaveThem()
    {
        using var dir = new TempDir();
        using var c = KwsClassifier.Create(KwsModelKind.DeepSpeech, Labels, seed: 1);
        var fe = (NormalizedFeatureFrontEnd)c.FrontEnd;
        Assert.That(fe.NeedsStatistics);
        var clips = Clips(3, 9);
        Assert.That(() => c.Probabilities(clips, 3), Throws.InvalidOperationException.With.Message.Contains("no feature statistics"));
        using (var x = Tensor.FromArray(clips, 3, 16000)) fe.FitStatistics([x]);
        Assert.That(fe.NeedsStatistics, Is.False);
        using (var x = Tensor.FromArray(clips, 3, 16000))
        using (var f = fe.Forward(x))
        {
            Assert.That(f.Shape.ToArray(), Is.EqualTo(new[] { 3, 99, 161 }));
            // Standardised with the statistics of these very clips: every bin has mean ~0 and std ~1 over the 297 frames.
            var v = f.ToArray();
            for (int j = 0; j < 161; j += 40)
            {
                var col = Enumerable.Range(0, 297).Select(r => (double)v[r * 161 + j]).ToArray();
                Assert.That(col.Average(), Is.EqualTo(0).Within(1e-3), $"bin {j}");
                Assert.That(Math.Sqrt(col.Select(a => a * a).Average()), Is.EqualTo(1).Within(1e-3), $"bin {j}");
            }
        }
        var p = c.Probabilities(clips, 3);
        c.Save(dir["ds.safetensors"]);
        using var back = KwsClassifier.Load(dir["ds.safetensors"]);
        Assert.That(back.Probabilities(clips, 3), Is.EqualTo(p).Within(1e-6f));
        Assert.That(((NormalizedFeatureFrontEnd)back.FrontEnd).Mean, Is.EqualTo(fe.Mean));

        using var conv = KwsClassifier.Create(KwsModelKind.Conv, Labels);
        var mfcc = (NormalizedFeatureFrontEnd)conv.FrontEnd;
        using var w = Tensor.FromArray(clips, 3, 16000);
        Assert.That(mfcc.Features(w).Shape.ToArray(), Is.EqualTo(new[] { 3, 98, 40 }));
    }

    [Test]
    public void CreateValidatesItsArguments()
    {
        Assert.That(() => KwsClassifier.Create(KwsModelKind.Wave, ["only"]), Throws.ArgumentException.With.Message.Contains("at least 2 classes"));
        Assert.That(() => KwsClassifier.Create(KwsModelKind.Wave, ["a", "a"]), Throws.ArgumentException.With.Message.Contains("distinct"));
        Assert.That(() => KwsClassifier.Create(KwsModelKind.Conv, Labels, widths: [8]), Throws.ArgumentException.With.Message.Contains("wave model only"));
        Assert.That(() => KwsModelKinds.Parse("lstm"), Throws.ArgumentException.With.Message.EqualTo("unknown model 'lstm'; expected one of wave, deepspeech, conv."));
        Assert.That(KwsModelKinds.Parse("DeepSpeech"), Is.EqualTo(KwsModelKind.DeepSpeech));
    }

    [Test]
    public void TtaViewsAreTheDocumentsTransforms()
    {
        var src = Enumerable.Range(0, 16000).Select(i => i / 16000f).ToArray();
        var dst = new float[16000];
        var views = KwsTta.Views.ToDictionary(v => v.Name);
        views["shift-left-1500"].Apply(src, dst);
        Assert.That(dst[0], Is.EqualTo(src[1500]));
        Assert.That(dst[16000 - 1501], Is.EqualTo(src[^1]));
        Assert.That(dst[^1500..], Is.All.EqualTo(0f));
        views["louder-x1.2"].Apply(src, dst);
        Assert.That(dst[8000], Is.EqualTo(src[8000] * 1.2f));
        views["original"].Apply(src, dst);
        Assert.That(dst, Is.EqualTo(src));
    }

    [Test]
    public void TtaAveragesTheProbabilitiesOfTheViews()
    {
        using var c = KwsClassifier.Create(KwsModelKind.Wave, Labels, seed: 2, widths: [8]);
        var x = Clips(2, 5);
        var expected = new double[8];
        foreach (var v in KwsTta.Views)
        {
            var view = new float[x.Length];
            for (int i = 0; i < 2; i++) v.Apply(x.AsSpan(i * 16000, 16000), view.AsSpan(i * 16000, 16000));
            var p = c.Probabilities(view, 2);
            for (int k = 0; k < 8; k++) expected[k] += p[k] / (double)KwsTta.Views.Count;
        }
        var tta = KwsTta.Probabilities(c, x, 2, tta: true);
        for (int k = 0; k < 8; k++) Assert.That(tta[k], Is.EqualTo(expected[k]).Within(1e-6));
        Assert.That(KwsTta.Probabilities(c, x, 2, tta: false), Is.EqualTo(c.Probabilities(x, 2)));
    }

    [Test]
    public void TheConfusionMatrixCountsPerClass()
    {
        var cm = new ConfusionMatrix(Labels);
        foreach (var (t, p) in new[] { (2, 2), (2, 3), (3, 3), (3, 3), (0, 0) }) cm.Add(t, p);
        Assert.That(cm.Total, Is.EqualTo(5));
        Assert.That(cm.Correct, Is.EqualTo(4));
        Assert.That(cm.Accuracy, Is.EqualTo(0.8));
        Assert.That(cm[2, 3], Is.EqualTo(1));
        Assert.That(cm.ClassAccuracy(2), Is.EqualTo(0.5));
        Assert.That(cm.ClassAccuracy(1), Is.NaN);
        Assert.That(() => cm.Add(4, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        var r = new KwsEvalResult(cm, 0.3, 1);
        Assert.That(r.SummaryLine, Is.EqualTo("accuracy: 80.0% on 5 clips"));
    }

    [Test]
    public void SubmissionsUseKaggleLabelsAndRejectAmbiguousNames()
    {
        using var dir = new TempDir();
        var preds = new[]
        {
            new KwsPrediction("/a/clip_1.wav", 0, "_silence_", 0.9f),
            new KwsPrediction("/a/clip_2.wav", 1, "_unknown_", 0.8f),
            new KwsPrediction("/a/clip,3.wav", 2, "yes", 0.7f),
        };
        KwsPredictor.WriteSubmission(dir["s.csv"], preds);
        Assert.That(File.ReadAllText(dir["s.csv"]), Is.EqualTo("fname,label\nclip_1.wav,silence\nclip_2.wav,unknown\n\"clip,3.wav\",yes\n"));
        Assert.That(() => KwsPredictor.WriteSubmission(dir["t.csv"], [preds[0], preds[0] with { Path = "/b/clip_1.wav" }]),
            Throws.ArgumentException.With.Message.Contains("share the file name 'clip_1.wav'"));
        Assert.That(File.Exists(dir["t.csv"]), Is.False);
    }

    [Test]
    public void ClassSetsAreTwelveAllOrAWordList()
    {
        Assert.That(KwsData.ParseClasses("12"), Is.EqualTo(SpeechCommandsDataset.Keywords));
        Assert.That(KwsData.ParseClasses("all"), Is.Null);
        Assert.That(KwsData.ParseClasses(" yes, no "), Is.EqualTo(new[] { "yes", "no" }));
        Assert.That(() => KwsData.ParseClasses("35"), Throws.ArgumentException.With.Message.Contains("12, all, or a comma-separated word list"));
    }

    [Test]
    public void BatchNormRecalibrationAveragesTheBatchStatistics()
    {
        using var model = new Sequential([new BatchNorm1d(2, momentum: 0.01f)]);
        var bn = (BatchNorm)model.NamedModules().Select(m => m.Module).Single(m => m is BatchNorm);
        model.Eval();
        // Two batches of (4, 2): channel 0 has means 1 and 3, channel 1 means 10 and 20.
        float[][] data = [[0, 9, 2, 11, 0, 9, 2, 11], [2, 19, 4, 21, 2, 19, 4, 21]];
        var batches = data.Select(d => Tensor.FromArray(d, 4, 2)).ToArray();
        int n = BatchNormCalibration.Recalibrate(model, batches, model.Forward);
        Assert.That(n, Is.EqualTo(2));
        Assert.That(bn.RunningMean.ToArray(), Is.EqualTo(new[] { 2f, 15f }).Within(1e-4f));
        // Unbiased variance of {0, 2, 0, 2} is 4/3 in every batch and channel.
        Assert.That(bn.RunningVar.ToArray(), Is.EqualTo(new[] { 4f / 3, 4f / 3 }).Within(1e-4f));
        Assert.That(bn.NumBatchesTracked.ToInt64Array()[0], Is.EqualTo(0), "calibration is not training");
        Assert.That(model.IsTraining, Is.False, "the mode is restored");
        foreach (var b in batches) b.Dispose();
    }
}

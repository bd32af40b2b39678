// The species pipeline (SpeciesTrainer, SpeciesFeatures) on the shipped data/rainforest_mini: folds stratified
// by species, the front end's image, and a tiny end-to-end run (one fold, one epoch, a very reduced ResNet50 on
// 32 x 64 images) that writes a checkpoint whose predictions form a recording_id,s0..s7 submission.
using Cochlea.Models.Data;
using Cochlea.Models.Tagging;
using NUnit.Framework;

namespace Cochlea.Tests.Tagging;

[Category("Models")]
public class SpeciesPipelineTests
{
    static string DataDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Cochlea.sln"))) return Path.Combine(d.FullName, "data", "rainforest_mini");
        throw new DirectoryNotFoundException("repository root (Cochlea.sln) not found above the test output");
    }

    [Test]
    public void FoldsAreStratifiedBySpecies()
    {
        string dir = DataDir();
        var recs = RainforestAnnotations.GroupByRecording(RainforestAnnotations.LoadBoxes(Path.Combine(dir, "train_tp.csv")), Path.Combine(dir, "train"));
        var folds = SpeciesTrainer.StratifiedFolds(recs, 3);
        Assert.That(folds.Keys, Is.EquivalentTo(recs.Select(r => r.RecordingId)));
        var sizes = folds.Values.GroupBy(f => f).Select(g => g.Count()).ToList();
        Assert.That(sizes.Max() - sizes.Min(), Is.LessThanOrEqualTo(1), "folds of equal size");
        // A species in at least 3 recordings is in at least 2 folds.
        foreach (var s in recs.SelectMany(r => r.Boxes).Select(b => b.SpeciesId).Distinct())
        {
            var with = recs.Where(r => r.Boxes.Any(b => b.SpeciesId == s)).ToList();
            if (with.Count >= 3) Assert.That(with.Select(r => folds[r.RecordingId]).Distinct().Count(), Is.GreaterThanOrEqualTo(2), $"species {s}");
        }
    }

    [Test]
    public void ImageIsStandardisedAndHasThreeEqualChannels()
    {
        // 384 mels x 938 frames (10 s, hop 512, centred): the resize is then the identity, so the standardisation shows exactly.
        const int H = 384, W = 938;
        var fe = new SpeciesFrontEnd(Height: H, Width: W);
        var window = new float[fe.WindowSamples];
        var r = new Random(3);
        for (int i = 0; i < window.Length; i++) window[i] = (float)(0.1 * Math.Sin(2 * Math.PI * 3000 * i / 48000.0) + 0.01 * (r.NextDouble() - 0.5));
        var img = new float[3 * H * W];
        new SpeciesFeatures(fe).Image(window, img);
        Assert.That(img.All(float.IsFinite));
        var c0 = img.AsSpan(0, H * W).ToArray();
        Assert.That(img.AsSpan(2 * H * W).ToArray(), Is.EqualTo(c0));
        Assert.That(c0.Average(v => (double)v), Is.EqualTo(0).Within(1e-4));
        Assert.That(Math.Sqrt(c0.Average(v => (double)v * v)), Is.EqualTo(1).Within(1e-3));
    }

    [Test]
    public void FalsePositiveSpeciesOutsideTheClassesIsRefused()
    {
        string dir = DataDir();
        using var scratch = new TempDir("fp");
        string tmp = scratch.WriteText("train_fp.csv", "recording_id,species_id,songtype_id,t_min,f_min,t_max,f_max\n010002t,99,1,44.1,6000,45.2,8000\n");
        var ex = Assert.Throws<InvalidDataException>(() => SpeciesTrainer.Train(new SpeciesTrainOptions
        {
            AudioDir = Path.Combine(dir, "train"), TpCsv = Path.Combine(dir, "train_tp.csv"), FpCsv = tmp, OutDir = scratch["out"], Folds = 3, OnlyFold = 0,
            Epochs = 1, WidthScale = 0.0625, DepthScale = 0.34, FrontEnd = new SpeciesFrontEnd(Height: 32, Width: 64),
        }, _ => { }));
        Assert.That(ex!.Message, Does.Contain("species id 99").And.Contain(tmp));
    }

    [Test]
    public void TinyRunTrainsAndPredicts()
    {
        string dir = DataDir();
        using var scratch = new TempDir("species");
        string outDir = scratch["out"];
        var lines = new List<string>();
        var paths = SpeciesTrainer.Train(new SpeciesTrainOptions
        {
            AudioDir = Path.Combine(dir, "train"), TpCsv = Path.Combine(dir, "train_tp.csv"), FpCsv = Path.Combine(dir, "train_fp.csv"), OutDir = outDir, Folds = 3, OnlyFold = 0,
            Epochs = 1, Batch = 8, WidthScale = 0.0625, DepthScale = 0.34, FrontEnd = new SpeciesFrontEnd(Height: 32, Width: 64),
        }, lines.Add);
        Assert.That(paths, Has.Count.EqualTo(1));
        Assert.That(File.Exists(paths[0]));
        Assert.That(lines, Has.Some.Contains("val LWLRAP"));
        // Training crops: the tp calls of the other folds' recordings plus the fp calls not in fold 0's recordings.
        var tp = RainforestAnnotations.LoadBoxes(Path.Combine(dir, "train_tp.csv"));
        var folds = SpeciesTrainer.StratifiedFolds(RainforestAnnotations.GroupByRecording(tp, Path.Combine(dir, "train")), 3);
        var fp = RainforestAnnotations.LoadBoxes(Path.Combine(dir, "train_fp.csv"));
        int expected = tp.Count(b => folds[b.RecordingId] != 0) + fp.Count(b => !folds.TryGetValue(b.RecordingId, out int f) || f != 0);
        Assert.That(fp, Is.Not.Empty);
        Assert.That(lines, Has.Some.Contains($"({expected} calls incl. false positives)"));
        string csv = Path.Combine(outDir, "submission.csv");
        Assert.That(SpeciesTrainer.Predict(paths, Path.Combine(dir, "test"), csv, lines.Add), Is.EqualTo(4));
        var rows = File.ReadAllLines(csv);
        Assert.That(rows[0], Is.EqualTo("recording_id,s0,s1,s2,s3,s4,s5,s6,s7"));
        Assert.That(rows, Has.Length.EqualTo(5));
    }
}

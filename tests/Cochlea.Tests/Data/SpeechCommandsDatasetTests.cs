// Speech Commands indexing on small temporary folders: label order, the hash split and the list
// files, silence/unknown percentages per split, "all words" mode, errors, background noise, and
// the TF-style per-item pipeline.
using Cochlea.Models.Augment;
using Cochlea.Models.Data;
using NUnit.Framework;

namespace Cochlea.Tests.Data;

[Category("Data")]
public class SpeechCommandsDatasetTests
{
    const int ClipSamples = 400;

    /// <summary>A layout with yes/no (wanted), cat/dog (unknown), noise; each clip a constant level identifying it.</summary>
    static TempDir MakeLayout(int perWord = 60, bool noise = true)
    {
        var dir = new TempDir();
        int id = 0;
        foreach (var (word, count) in new[] { ("yes", perWord), ("no", perWord), ("cat", perWord / 2), ("dog", perWord / 2) })
            for (int i = 0; i < count; i++)
            {
                id++;
                string speaker = (0x1000_0000 + id * 7919).ToString("x8");
                TestWav.Write(dir[$"{word}/{speaker}_nohash_{i % 3}.wav"], Enumerable.Repeat(id / 1000f, ClipSamples).ToArray());
            }
        if (noise)
        {
            TestWav.Write(dir["_background_noise_/white.wav"], Enumerable.Range(0, 3000).Select(i => (i % 7 - 3) / 10f).ToArray());
            TestWav.Write(dir["_background_noise_/pink.wav"], Enumerable.Range(0, 2000).Select(i => (i % 5 - 2) / 10f).ToArray());
        }
        dir.WriteText("README.md", "not a word folder");
        return dir;
    }

    static readonly SpeechCommandsOptions YesNo = new() { WantedWords = ["yes", "no"] };

    [Test]
    public void LabelsFollowTheTutorialOrder()
    {
        using var dir = MakeLayout();
        var ds = SpeechCommandsDataset.Load(dir.Path, YesNo);
        Assert.That(ds.Labels, Is.EqualTo(new[] { "_silence_", "_unknown_", "yes", "no" }));
        Assert.That(ds.UsedListFiles, Is.False);
        foreach (var item in ds.Items.Where(i => !i.IsSilence))
        {
            string word = Path.GetFileName(Path.GetDirectoryName(item.Path))!;
            int expected = word switch { "yes" => 2, "no" => 3, _ => SpeechCommandsDataset.UnknownIndex };
            Assert.That(item.Label, Is.EqualTo(expected), item.Path);
        }
        Assert.That(ds.Items.Where(i => i.IsSilence).All(i => i.Label == SpeechCommandsDataset.SilenceIndex));
    }

    [Test]
    public void HashSplitAssignsEveryFileByWhichSet()
    {
        using var dir = MakeLayout();
        var ds = SpeechCommandsDataset.Load(dir.Path, YesNo with { ValidationPercentage = 20, TestingPercentage = 20 });
        foreach (var item in ds.Items.Where(i => !i.IsSilence))
            Assert.That(item.Split, Is.EqualTo(SpeechCommandsDataset.WhichSet(item.Path!, 20, 20)), item.Path);
        // Clips of one speaker (same name before _nohash_) always share a split.
        var bySpeaker = ds.Items.Where(i => !i.IsSilence).GroupBy(i => Path.GetFileName(i.Path!)!.Split("_nohash_")[0]);
        Assert.That(bySpeaker.All(g => g.Select(i => i.Split).Distinct().Count() == 1));
    }

    [Test]
    public void SilenceAndUnknownArePercentagesOfEachSplitsKnownClips([Values(10, 25, 0)] double pct)
    {
        using var dir = MakeLayout(perWord: 90);
        var opts = YesNo with { SilencePercentage = pct, UnknownPercentage = pct / 2, ValidationPercentage = 20, TestingPercentage = 20 };
        var ds = SpeechCommandsDataset.Load(dir.Path, opts);
        var all = Directory.EnumerateFiles(dir.Path, "*.wav", SearchOption.AllDirectories).Where(f => !f.Contains("_background_noise_")).ToList();
        foreach (var split in new[] { DataSplit.Training, DataSplit.Validation, DataSplit.Testing })
        {
            var items = ds.Split(split);
            int known = items.Count(i => i.Label >= 2);
            int available = all.Count(f => (f.Contains("/cat/") || f.Contains("/dog/")) && SpeechCommandsDataset.WhichSet(f, 20, 20) == split);
            Assert.That(known, Is.GreaterThan(0), $"{split} has known words");
            Assert.That(items.Count(i => i.IsSilence), Is.EqualTo((int)Math.Ceiling(known * pct / 100)), $"{split} silence");
            Assert.That(items.Count(i => i.Label == 1), Is.EqualTo(Math.Min(available, (int)Math.Ceiling(known * (pct / 2) / 100))), $"{split} unknown");
            Assert.That(items.Where(i => !i.IsSilence).Select(i => i.Path).Distinct().Count(), Is.EqualTo(items.Count(i => !i.IsSilence)), "no file twice");
        }
    }

    [Test]
    public void IndexIsDeterministicAndSeeded()
    {
        using var dir = MakeLayout();
        var a = SpeechCommandsDataset.Load(dir.Path, YesNo);
        var b = SpeechCommandsDataset.Load(dir.Path, YesNo);
        var c = SpeechCommandsDataset.Load(dir.Path, YesNo with { Seed = 7 });
        Assert.That(b.Items, Is.EqualTo(a.Items));
        Assert.That(c.Items, Is.Not.EqualTo(a.Items));
        Assert.That(c.Items.Where(i => i.Label >= 2).OrderBy(i => i.Path), Is.EqualTo(a.Items.Where(i => i.Label >= 2).OrderBy(i => i.Path)), "known words do not depend on the seed");
    }

    [Test]
    public void ListFilesOverrideTheHashSplit()
    {
        using var dir = MakeLayout();
        var files = Directory.EnumerateFiles(dir.Path, "*.wav", SearchOption.AllDirectories)
            .Where(f => !f.Contains("_background_noise_")).Select(f => Path.GetRelativePath(dir.Path, f).Replace('\\', '/')).Order().ToList();
        var val = files.Where((_, i) => i % 5 == 0).ToList();
        var test = files.Where((_, i) => i % 5 == 1).ToList();
        dir.WriteText("validation_list.txt", string.Join("\n", val) + "\n");
        dir.WriteText("testing_list.txt", string.Join("\r\n", test) + "\r\n\r\n");
        var ds = SpeechCommandsDataset.Load(dir.Path, YesNo with { UnknownPercentage = 100 });
        Assert.That(ds.UsedListFiles, Is.True);
        foreach (var item in ds.Items.Where(i => !i.IsSilence))
        {
            string rel = Path.GetRelativePath(dir.Path, item.Path!).Replace('\\', '/');
            var expected = val.Contains(rel) ? DataSplit.Validation : test.Contains(rel) ? DataSplit.Testing : DataSplit.Training;
            Assert.That(item.Split, Is.EqualTo(expected), rel);
        }
        Assert.That(ds.Split(DataSplit.Validation).Count(i => i.Label >= 2), Is.EqualTo(val.Count(f => f.StartsWith("yes/") || f.StartsWith("no/"))));

        var hashed = SpeechCommandsDataset.Load(dir.Path, YesNo with { UseListFiles = false });
        Assert.That(hashed.UsedListFiles, Is.False);
    }

    [Test]
    public void OneListFileWithoutTheOtherIsAnError()
    {
        using var dir = MakeLayout(perWord: 6);
        dir.WriteText("validation_list.txt", "yes/a_nohash_0.wav\n");
        var e = Assert.Throws<InvalidDataException>(() => SpeechCommandsDataset.Load(dir.Path, YesNo));
        Assert.That(e!.Message, Does.Contain("testing_list.txt"));
        dir.WriteText("testing_list.txt", "not a relative word path\n");
        e = Assert.Throws<InvalidDataException>(() => SpeechCommandsDataset.Load(dir.Path, YesNo));
        Assert.That(e!.Message, Does.Contain("testing_list.txt, line 1"));
    }

    [Test]
    public void AllWordsModeMakesEveryFolderAClass()
    {
        using var dir = MakeLayout(perWord: 6);
        var ds = SpeechCommandsDataset.Load(dir.Path, new SpeechCommandsOptions { WantedWords = null, SilencePercentage = 0 });
        Assert.That(ds.Labels, Is.EqualTo(new[] { "_silence_", "_unknown_", "cat", "dog", "no", "yes" }));
        Assert.That(ds.Items.Count(i => i.Label == SpeechCommandsDataset.UnknownIndex), Is.Zero);
        Assert.That(ds.Items.Count(i => i.IsSilence), Is.Zero);
        Assert.That(ds.Items, Has.Count.EqualTo(6 + 6 + 3 + 3));
    }

    [Test]
    public void BadInputsGiveClearErrors()
    {
        using var dir = MakeLayout(perWord: 6);
        var e = Assert.Throws<InvalidDataException>(() => SpeechCommandsDataset.Load(dir.Path, new SpeechCommandsOptions { WantedWords = ["yes", "zebra"] }));
        Assert.That(e!.Message, Does.Contain("'zebra'").And.Contain("cat, dog, no, yes"));
        Assert.Throws<ArgumentException>(() => SpeechCommandsDataset.Load(dir.Path, new SpeechCommandsOptions { WantedWords = ["yes", "yes"] }));
        Assert.Throws<ArgumentException>(() => SpeechCommandsDataset.Load(dir.Path, new SpeechCommandsOptions { WantedWords = ["_silence_"] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SpeechCommandsDataset.Load(dir.Path, YesNo with { SilencePercentage = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SpeechCommandsDataset.Load(dir.Path, YesNo with { ValidationPercentage = 60, TestingPercentage = 50 }));
        Assert.Throws<DirectoryNotFoundException>(() => SpeechCommandsDataset.Load(dir["missing"]));
        using var empty = new TempDir();
        Directory.CreateDirectory(empty["yes"]);
        Assert.That(Assert.Throws<InvalidDataException>(() => SpeechCommandsDataset.Load(empty.Path))!.Message, Does.Contain("no .wav files"));
    }

    [Test]
    public void BackgroundNoiseIsListedAndDecoded()
    {
        using var dir = MakeLayout(perWord: 6);
        var ds = SpeechCommandsDataset.Load(dir.Path, YesNo);
        Assert.That(ds.BackgroundNoiseFiles.Select(Path.GetFileName), Is.EqualTo(new[] { "pink.wav", "white.wav" }));
        var noise = ds.LoadBackgroundNoise(TestWav.Read)!;
        Assert.That(noise.Count, Is.EqualTo(2));
        Assert.That(noise.Names, Is.EqualTo(new[] { "pink.wav", "white.wav" }));
        using var quiet = MakeLayout(perWord: 6, noise: false);
        Assert.That(SpeechCommandsDataset.Load(quiet.Path, YesNo).LoadBackgroundNoise(TestWav.Read), Is.Null);
    }

    [Test]
    public void PipelineFollowsTheTutorialPerSplit()
    {
        using var dir = MakeLayout(perWord: 12);
        var ds = SpeechCommandsDataset.Load(dir.Path, YesNo);
        var noise = ds.LoadBackgroundNoise(TestWav.Read);
        int n = 1000;   // longer than the 400-sample clips: zero padding at the end
        var pipe = new SpeechCommandsPipeline(TestWav.Read, noise, new KwsAugmentOptions { Samples = n, TimeShiftSamples = 100, BackgroundFrequency = 1, BackgroundVolume = 0.5 });

        var word = ds.Items.First(i => !i.IsSilence);
        var clean = pipe.Load(word, new Philox(1), training: false);
        var decoded = TestWav.Read(word.Path!);
        Assert.That(clean.Label, Is.EqualTo(word.Label));
        Assert.That(clean.Audio[..ClipSamples], Is.EqualTo(decoded));
        Assert.That(clean.Audio[ClipSamples..].All(v => v == 0), "zero-padded to N");

        var augmented = pipe.Load(word, new Philox(1), training: true);
        Assert.That(augmented.Audio, Has.Length.EqualTo(n));
        Assert.That(augmented.Audio, Is.Not.EqualTo(clean.Audio));
        Assert.That(augmented.Audio.All(v => v is >= -1 and <= 1), "clamped");
        Assert.That(pipe.Load(word, new Philox(1), training: true).Audio, Is.EqualTo(augmented.Audio), "same rng, same example");

        var silence = new SpeechCommandsItem(null, 0, DataSplit.Validation);
        var s = pipe.Load(silence, new Philox(3), training: false);
        Assert.That(s.Label, Is.Zero);
        Assert.That(s.Audio.Any(v => v != 0), "silence gets noise in every split");
        var noNoise = new SpeechCommandsPipeline(TestWav.Read, null, new KwsAugmentOptions { Samples = n });
        Assert.That(noNoise.Load(silence, new Philox(3), training: true).Audio.All(v => v == 0));
    }

    [Test]
    public void PipelineMixesAtTheRequestedSnr()
    {
        var noise = new BackgroundNoise([Enumerable.Range(0, 5000).Select(i => MathF.Sin(i * 0.37f) * 0.3f).ToArray()]);
        var clip = Enumerable.Range(0, 800).Select(i => MathF.Sin(i * 0.05f) * 0.2f).ToArray();
        var pipe = new SpeechCommandsPipeline(_ => clip, noise, new KwsAugmentOptions { Samples = 800, TimeShiftSamples = 0, BackgroundFrequency = 1, SnrRangeDb = (12, 12) });
        var x = pipe.Load(new SpeechCommandsItem("any.wav", 2, DataSplit.Training), new Philox(5), training: true).Audio;
        var added = x.Zip(clip, (a, b) => a - b).ToArray();
        double snr = 10 * Math.Log10(BackgroundNoise.MeanSquare(clip) / BackgroundNoise.MeanSquare(added));
        Assert.That(snr, Is.EqualTo(12).Within(0.1));
    }
}

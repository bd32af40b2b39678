// SpeechFeatureCache through SpeechCorpus: a second corpus (a later run) reads the features back instead of
// computing them, bit for bit; touching or changing the audio file, or other feature parameters, miss and
// recompute; a corrupt entry is recomputed and rewritten; no temporary files are left behind.
using Cochlea.Models.Audio;
using Cochlea.Models.Speech;
using Cochlea.Tests.Data;
using NUnit.Framework;

namespace Cochlea.Tests.Models.Speech;

public class FeatureCacheTests
{
    static float[] Tone(int n, double hz)
    {
        var s = new float[n];
        for (int i = 0; i < n; i++) s[i] = (float)(0.3 * Math.Sin(2 * Math.PI * hz * i / 16000) + 0.05 * Math.Sin(0.37 * i * i % 7));
        return s;
    }

    // A temporary folder with one tone WAV and the path of a cache folder beside it.
    static (TempDir Dir, string Wav, string Cache) Folder(int samples, double hz)
    {
        var dir = new TempDir();
        string wav = Path.Combine(dir.Path, "a.wav");
        TestWav.Write(wav, Tone(samples, hz));
        return (dir, wav, Path.Combine(dir.Path, "cache"));
    }

    [Test]
    public void LaterRunsReuseTheEntryUntilTheFileOrTheParametersChange()
    {
        var (dir, wav, cache) = Folder(8000, 440);
        using var owned = dir;

        var first = new SpeechCorpus(featureCacheFolder: cache);
        var (f1, n1) = first.Featurize(wav);
        Assert.That((first.DiskCache!.Hits, first.DiskCache.Misses), Is.EqualTo((0, 1)));
        var entries = Directory.GetFiles(cache);
        Assert.That(entries, Has.Length.EqualTo(1), "one entry, no temporary file left");
        Assert.That(entries[0], Does.EndWith(".f32"));

        var second = new SpeechCorpus(featureCacheFolder: cache);
        var (f2, n2) = second.Featurize(wav);
        Assert.That((second.DiskCache!.Hits, second.DiskCache.Misses), Is.EqualTo((1, 0)));
        Assert.That(n2, Is.EqualTo(n1));
        Assert.That(f2, Is.EqualTo(f1), "read back bit for bit");
        Assert.That(new SpeechCorpus().Featurize(wav).Features, Is.EqualTo(f1), "the same as without a cache");

        // Other parameters: another entry, not the old one.
        var other = new SpeechCorpus(new DeepSpeechFeatures(context: 5, inputScale: 32768f), featureCacheFolder: cache);
        var (f3, _) = other.Featurize(wav);
        Assert.That((other.DiskCache!.Hits, other.DiskCache.Misses), Is.EqualTo((0, 1)));
        Assert.That(f3.Length, Is.Not.EqualTo(f1.Length));

        // The file changes (new content, new mtime): recomputed, and the entry is rewritten.
        TestWav.Write(wav, Tone(12000, 300));
        File.SetLastWriteTimeUtc(wav, DateTime.UtcNow.AddMinutes(1));
        var third = new SpeechCorpus(featureCacheFolder: cache);
        var (f4, n4) = third.Featurize(wav);
        Assert.That((third.DiskCache!.Hits, third.DiskCache.Misses), Is.EqualTo((0, 1)));
        Assert.That(n4, Is.GreaterThan(n1));
        Assert.That(f4, Is.EqualTo(new SpeechCorpus().Featurize(wav).Features));
        var fourth = new SpeechCorpus(featureCacheFolder: cache);
        Assert.That(fourth.Featurize(wav).Features, Is.EqualTo(f4));
        Assert.That(fourth.DiskCache!.Hits, Is.EqualTo(1));

        // Only touched (same bytes, new mtime): a miss too (size and mtime are the key, not the content).
        File.SetLastWriteTimeUtc(wav, DateTime.UtcNow.AddMinutes(2));
        var fifth = new SpeechCorpus(featureCacheFolder: cache);
        fifth.Featurize(wav);
        Assert.That(fifth.DiskCache!.Misses, Is.EqualTo(1));
        Assert.That(Directory.GetFiles(cache, "*.tmp"), Is.Empty);
    }

    [Test]
    public void ACorruptEntryIsRecomputedAndRewritten()
    {
        var (dir, wav, cache) = Folder(6000, 200);
        using var owned = dir;
        var corpus = new SpeechCorpus(featureCacheFolder: cache);
        var (f, _) = corpus.Featurize(wav);
        string entry = corpus.DiskCache!.EntryPath(wav);
        var bytes = File.ReadAllBytes(entry);
        File.WriteAllBytes(entry, bytes[..(bytes.Length - 3)]);   // torn

        var again = new SpeechCorpus(featureCacheFolder: cache);
        Assert.That(again.Featurize(wav).Features, Is.EqualTo(f));
        Assert.That(again.DiskCache!.Misses, Is.EqualTo(1));
        Assert.That(File.ReadAllBytes(entry), Is.EqualTo(bytes), "rewritten whole");
    }

    [Test]
    public void AnUnwritableFolderOnlyCostsTheCaching()
    {
        var (dir, wav, _) = Folder(4000, 500);
        using var owned = dir;
        string blocker = Path.Combine(dir.Path, "file-not-folder");
        File.WriteAllText(blocker, "x");
        var corpus = new SpeechCorpus(featureCacheFolder: blocker);
        Assert.That(corpus.Featurize(wav).Features, Is.EqualTo(new SpeechCorpus().Featurize(wav).Features));
    }
}

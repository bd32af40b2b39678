// Decoding of the WAV/FLAC files made by sox and flac (tests/fixtures/make_audio_fixtures.sh): every
// fixture is compared bit for bit with its raw PCM reference (manifest.txt), so WAV -> FLAC -> decode
// must give back the master's integers exactly. Also: streaming reads in odd block sizes, skipping,
// downmix, crop/pad/offset options and the header information.
using Cochlea.Models.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Audio;

[Category("Audio")]
public class AudioFixtureTests
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "fixtures", "audio");

    /// <summary>(fixture, reference) pairs from manifest.txt.</summary>
    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var line in File.ReadAllLines(Path.Combine(Folder, "manifest.txt")))
        {
            if (line.StartsWith('#') || string.IsNullOrWhiteSpace(line)) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            yield return new TestCaseData(parts[0], parts[1]).SetName($"Decode({parts[0]})");
        }
    }

    /// <summary>Reference samples as floats: raw LE signed integers of width given by the extension, scaled by 2^-(width-1).</summary>
    public static float[] Reference(string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Folder, file));
        int width = int.Parse(Path.GetExtension(file).AsSpan(2));
        int size = width / 8, n = bytes.Length / size;
        var r = new float[n];
        for (int i = 0; i < n; i++)
        {
            long v = 0;
            for (int k = 0; k < size; k++) v |= (long)bytes[i * size + k] << (8 * k);
            v = v << (64 - width) >> (64 - width);   // sign-extend
            r[i] = (float)(v / Math.Pow(2, width - 1));
        }
        return r;
    }

    /// <summary>Channel count and rate encoded in the fixture's name (…_stereo_16k, …_6ch_48k).</summary>
    static (int Channels, int Rate) FromName(string name)
    {
        var parts = Path.GetFileNameWithoutExtension(name).Split('_');
        int ch = parts.Contains("stereo") ? 2 : parts.FirstOrDefault(p => p.EndsWith("ch")) is string c ? int.Parse(c[..^2]) : 1;
        string? rate = parts.FirstOrDefault(p => p.EndsWith('k') && char.IsDigit(p[0]));
        int hz = rate switch { "11k" => 11025, "22k" => 22050, "44k" => 44100, null => 16000, _ => int.Parse(rate[..^1]) * 1000 };
        return (ch, hz);
    }

    [TestCaseSource(nameof(Cases))]
    public void DecodesBitExact(string fixture, string reference)
    {
        string path = Path.Combine(Folder, fixture);
        var clip = AudioFile.Read(path);
        var expected = Reference(reference);
        var (ch, rate) = FromName(fixture);
        Assert.That(clip.Channels, Is.EqualTo(ch), "channels");
        Assert.That(clip.SampleRate, Is.EqualTo(rate), "sample rate");
        Assert.That(clip.Samples.Length, Is.EqualTo(expected.Length), "sample count");
        for (int i = 0; i < expected.Length; i++)
            if (clip.Samples[i] != expected[i])
                Assert.Fail($"{fixture}: sample {i} (frame {i / ch}, channel {i % ch}) is {clip.Samples[i]:R}, reference {expected[i]:R}");
        var info = AudioFile.ReadInfo(path);
        Assert.That(info.Container, Is.EqualTo(fixture.EndsWith(".flac") ? AudioContainer.Flac : AudioContainer.Wav));
        if (info.Frames is long frames) Assert.That(frames, Is.EqualTo(expected.Length / ch), "Info.Frames");
        else Assert.That(fixture, Does.Contain("streamed"), "only streamed files have an unknown length");
    }

    [TestCaseSource(nameof(Cases))]
    public void StreamingInOddBlocksEqualsWholeRead(string fixture, string reference)
    {
        string path = Path.Combine(Folder, fixture);
        var whole = AudioFile.Read(path).Samples;
        using var r = AudioFile.OpenRead(path);
        var got = new List<float>();
        int[] sizes = [1, 7, 333, 4096, 5000];
        for (int k = 0; ; k++)
        {
            var buf = new float[sizes[k % sizes.Length] * r.Channels];
            int n = r.Read(buf);
            got.AddRange(buf.AsSpan(0, n * r.Channels));
            if (n == 0) break;
        }
        Assert.That(got, Is.EqualTo(whole));
        Assert.That(r.Position, Is.EqualTo(whole.Length / r.Channels));
        Assert.That(r.Read(new float[r.Channels * 3]), Is.EqualTo(0), "end stays the end");
    }

    [TestCase("wav_s16_stereo_16k.wav")]
    [TestCase("wav_s16_6ch_48k.wav")]
    [TestCase("flac_s16_stereo_44k_ms.flac")]
    [TestCase("flac_s16_6ch_22k.flac")]
    public void MonoIsTheMeanOfTheChannels(string fixture)
    {
        string path = Path.Combine(Folder, fixture);
        var multi = AudioFile.Read(path);
        var mono = AudioFile.Read(path, new AudioReadOptions { Mono = true });
        Assert.That(mono.Channels, Is.EqualTo(1));
        Assert.That(mono.Frames, Is.EqualTo(multi.Frames));
        int ch = multi.Channels;
        for (int f = 0; f < multi.Frames; f++)
        {
            float s = 0;
            for (int c = 0; c < ch; c++) s += multi.Samples[f * ch + c];
            Assert.That(mono.Samples[f], Is.EqualTo(s * (1f / ch)), $"frame {f}");
        }
    }

    [TestCase("wav_s16_stereo_16k.wav")]
    [TestCase("flac_s16_mono_48k_l12.flac")]
    [TestCase("flac_s16_mono_48k_streamed.flac")]
    public void OffsetLengthAndPadding(string fixture)
    {
        string path = Path.Combine(Folder, fixture);
        var all = AudioFile.Read(path);
        int ch = all.Channels, frames = all.Frames;

        var mid = AudioFile.Read(path, new AudioReadOptions { Offset = 100, Length = 250 });
        Assert.That(mid.Samples, Is.EqualTo(all.Samples.AsSpan(100 * ch, 250 * ch).ToArray()), "crop");

        var tail = AudioFile.Read(path, new AudioReadOptions { Offset = frames - 10, Length = 50 });
        Assert.That(tail.Frames, Is.EqualTo(10), "crop at the end returns what exists");

        var padded = AudioFile.Read(path, new AudioReadOptions { Offset = frames - 10, Length = 50, PadToLength = true });
        Assert.That(padded.Frames, Is.EqualTo(50), "padded to the length");
        Assert.That(padded.Samples.AsSpan(0, 10 * ch).ToArray(), Is.EqualTo(all.Samples.AsSpan((frames - 10) * ch).ToArray()));
        Assert.That(padded.Samples.Skip(10 * ch).All(v => v == 0), "zeros after the clip");

        var past = AudioFile.Read(path, new AudioReadOptions { Offset = frames + 5, Length = 8, PadToLength = true });
        Assert.That(past.Frames, Is.EqualTo(8));
        Assert.That(past.Samples.All(v => v == 0));

        using var r = AudioFile.OpenRead(path);
        Assert.That(r.Skip(123), Is.EqualTo(123));
        var buf = new float[5 * ch];
        r.Read(buf);
        Assert.That(buf, Is.EqualTo(all.Samples.AsSpan(123 * ch, 5 * ch).ToArray()), "skip then read");
        Assert.That(r.Skip(long.MaxValue / 4), Is.EqualTo(frames - 128), "skip stops at the end");
    }

    [Test]
    public void EmptyWavIsLegal()
    {
        string path = Path.Combine(Folder, "wav_s16_empty.wav");
        var clip = AudioFile.Read(path);
        Assert.That(clip.Frames, Is.EqualTo(0));
        Assert.That(AudioFile.ReadInfo(path).Frames, Is.EqualTo(0));
        var padded = AudioFile.Read(path, new AudioReadOptions { Length = 16000, PadToLength = true });
        Assert.That(padded.Frames, Is.EqualTo(16000));
        Assert.That(padded.Samples.All(v => v == 0));
        using var r = AudioFile.OpenRead(path);
        Assert.That(r.ReadBlocks(100).Count(), Is.EqualTo(0), "no empty block");
    }

    [Test]
    public void BlocksCoverTheFile()
    {
        string path = Path.Combine(Folder, "flac_s16_mono_48k_b100_nomd5.flac");
        var whole = AudioFile.Read(path).Samples;
        using var r = AudioFile.OpenRead(path);
        var blocks = r.ReadBlocks(1000).ToList();
        Assert.That(blocks.Take(blocks.Count - 1).All(b => b.Length == 1000));
        Assert.That(blocks.SelectMany(b => b), Is.EqualTo(whole));
    }

    [Test]
    public void InfoDescribesTheFormat()
    {
        var w = AudioFile.ReadInfo(Path.Combine(Folder, "wav_u8_mono_8k.wav"));
        Assert.That((w.Encoding, w.BitsPerSample, w.SampleRate, w.Channels), Is.EqualTo((SampleEncoding.UnsignedInt, 8, 8000, 1)));
        var e = AudioFile.ReadInfo(Path.Combine(Folder, "wav_s12_ext.wav"));
        Assert.That((e.Encoding, e.BitsPerSample), Is.EqualTo((SampleEncoding.SignedInt, 12)));
        var f = AudioFile.ReadInfo(Path.Combine(Folder, "wav_f64_mono_16k.wav"));
        Assert.That((f.Encoding, f.BitsPerSample), Is.EqualTo((SampleEncoding.Float, 64)));
        var fl = AudioFile.ReadInfo(Path.Combine(Folder, "flac_s24_stereo_48k.flac"));
        Assert.That((fl.Container, fl.Encoding, fl.BitsPerSample, fl.SampleRate, fl.Channels), Is.EqualTo((AudioContainer.Flac, SampleEncoding.SignedInt, 24, 48000, 2)));
        Assert.That(fl.Duration, Is.EqualTo(0.08).Within(1e-9));
        Assert.That(AudioFile.ReadInfo(Path.Combine(Folder, "flac_s16_mono_48k_streamed.flac")).Frames, Is.Null);
    }

    [Test]
    public void FormatIsChosenByMagicNotExtension()
    {
        using var dir = new TempDir("audio");
        string flacAsWav = dir["really_flac.wav"];
        File.Copy(Path.Combine(Folder, "flac_s8_mono_8k.flac"), flacAsWav);
        Assert.That(AudioFile.ReadInfo(flacAsWav).Container, Is.EqualTo(AudioContainer.Flac));
        Assert.That(AudioFile.Read(flacAsWav).Samples, Is.EqualTo(Reference("ref_s8_mono_8k.s8")));
    }
}

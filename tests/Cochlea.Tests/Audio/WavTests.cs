// WAV writer round trips (16-bit PCM and float32, 1..6 channels, clipping, atomic commit) and the WAV
// reader's handling of hand-built headers: every malformed or unsupported header is an
// AudioFormatException that names the file and the problem; lying sizes and unseekable input work.
using System.Buffers.Binary;
using System.Text;
using Cochlea.Models.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Audio;

[Category("Audio")]
public class WavTests
{
    TempDir _dir = null!;

    [SetUp]
    public void MakeDir()
    {
        _dir = new TempDir("wav");
    }

    [TearDown]
    public void RemoveDir() => _dir.Dispose();

    static float[] Noise(int n, int seed, float amp = 1.2f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * amp).ToArray();
    }

    [Test]
    public void Pcm16RoundTripQuantisesAndClips([Values(1, 2, 3, 6)] int channels)
    {
        string path = _dir["a.wav"];
        var x = Noise(999 * channels, channels);
        x[0] = float.NaN; x[1] = 2f; x[2] = -3f; x[3] = 1f; x[4] = -1f; x[5] = 0.5f / 32768;
        AudioFile.WriteWav(path, x, 22050, channels);
        var clip = AudioFile.Read(path);
        Assert.That((clip.SampleRate, clip.Channels, clip.Frames), Is.EqualTo((22050, channels, 999)));
        for (int i = 0; i < x.Length; i++)
        {
            float e = float.IsNaN(x[i]) ? 0 : Math.Clamp(MathF.Round(x[i] * 32768f), -32768f, 32767f) / 32768f;
            Assert.That(clip.Samples[i], Is.EqualTo(e), $"sample {i} ({x[i]})");
        }
        // Writing what was read gives the same file content back (the 16-bit grid is a fixed point).
        string again = _dir["b.wav"];
        AudioFile.WriteWav(again, clip);
        Assert.That(File.ReadAllBytes(again), Is.EqualTo(File.ReadAllBytes(path)));
        var info = AudioFile.ReadInfo(path);
        Assert.That((info.Encoding, info.BitsPerSample), Is.EqualTo((SampleEncoding.SignedInt, 16)));
    }

    [Test]
    public void Float32RoundTripIsExact([Values(1, 2, 5)] int channels)
    {
        string path = _dir["f.wav"];
        var x = Noise(777 * channels, 10 + channels, 3f);
        x[7] = float.NaN; x[8] = float.PositiveInfinity; x[9] = 1e-40f;
        var clip = new AudioClip(x, 48000, channels);
        AudioFile.WriteWav(path, clip, WavSampleFormat.Float32);
        var back = AudioFile.Read(path);
        Assert.That(back.Samples, Is.EqualTo(x));
        Assert.That(AudioFile.ReadInfo(path).Encoding, Is.EqualTo(SampleEncoding.Float));
        var bytes = File.ReadAllBytes(path);
        Assert.That(Encoding.ASCII.GetString(bytes, 0, bytes.Length), Does.Contain("fact"), "float WAV carries a fact chunk");
    }

    [Test]
    public void StreamedWritesEqualOneWrite()
    {
        var x = Noise(3000 * 2, 3, 0.9f);
        string a = _dir["a.wav"], b = _dir["b.wav"];
        AudioFile.WriteWav(a, x, 16000, 2);
        using (var w = new WavWriter(b, 16000, 2))
        {
            for (int off = 0; off < x.Length; off += 2 * 333) w.Write(x.AsSpan(off, Math.Min(2 * 333, x.Length - off)));
            Assert.That(w.Frames, Is.EqualTo(3000));
            w.Commit();
        }
        Assert.That(File.ReadAllBytes(b), Is.EqualTo(File.ReadAllBytes(a)));
    }

    [Test]
    public void WriteIsAtomic()
    {
        string path = _dir["keep.wav"];
        AudioFile.WriteWav(path, new float[] { 0.25f, -0.25f }, 8000);
        var before = File.ReadAllBytes(path);
        using (var w = new WavWriter(path, 8000))
        {
            w.Write(Noise(500, 1, 0.5f));
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(before), "target untouched while writing");
        }   // disposed without Commit: abandoned
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before), "abandoned write leaves the old file");
        Assert.That(Directory.GetFiles(_dir.Path), Has.Length.EqualTo(1), "no temporary file left behind");
        using (var w = new WavWriter(path, 8000))
        {
            w.Write(new float[] { 0.5f });
            w.Commit();
            Assert.Throws<InvalidOperationException>(() => w.Write(new float[] { 0f }));
        }
        Assert.That(AudioFile.Read(path).Samples, Is.EqualTo(new[] { 0.5f }));
        Assert.That(Directory.GetFiles(_dir.Path), Has.Length.EqualTo(1));
    }

    [Test]
    public void WriterValidatesArguments()
    {
        string p = _dir["x.wav"];
        Assert.Throws<ArgumentOutOfRangeException>(() => new WavWriter(p, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WavWriter(p, 8000, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WavWriter(p, 8000, 1, (WavSampleFormat)7));
        Assert.Throws<ArgumentException>(() => AudioFile.WriteWav(p, new float[3], 8000, 2));
        Assert.Throws<ArgumentException>(() => new AudioClip(new float[3], 8000, 2));
        Assert.That(Directory.GetFiles(_dir.Path), Is.Empty, "failed writes leave nothing");
    }

    // ---- hand-built headers ----------------------------------------------------------------------

    static byte[] Chunk(string id, byte[] body, bool pad = true)
    {
        var b = new List<byte>(Encoding.ASCII.GetBytes(id));
        b.AddRange(BitConverter.GetBytes(body.Length));
        b.AddRange(body);
        if (pad && (body.Length & 1) == 1) b.Add(0);
        return [.. b];
    }

    static byte[] Fmt(int tag = 1, int channels = 1, int rate = 8000, int bits = 16, int? blockAlign = null)
    {
        var f = new byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(f, (ushort)tag);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(2), (ushort)channels);
        BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(4), rate);
        int ba = blockAlign ?? channels * ((bits + 7) / 8);
        BinaryPrimitives.WriteInt32LittleEndian(f.AsSpan(8), rate * ba);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(12), (ushort)ba);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(14), (ushort)bits);
        return Chunk("fmt ", f);
    }

    static byte[] Riff(params byte[][] chunks)
    {
        var body = chunks.SelectMany(c => c).ToArray();
        return [.. Encoding.ASCII.GetBytes("RIFF"), .. BitConverter.GetBytes(body.Length + 4), .. Encoding.ASCII.GetBytes("WAVE"), .. body];
    }

    static byte[] Pcm(params short[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    static float[] Read(byte[] wav, string name = "t.wav") => AudioFile.OpenRead(new MemoryStream(wav), name).ReadToEnd();

    static AudioFormatException Fails(byte[] wav, string expected)
    {
        var e = Assert.Throws<AudioFormatException>(() => Read(wav))!;
        Assert.That(e.Message, Does.StartWith("t.wav: "));
        Assert.That(e.Problem, Does.Contain(expected));
        Assert.That(e.Fix, Is.Not.Empty);
        return e;
    }

    [Test]
    public void MalformedHeadersAreReported()
    {
        var data = Chunk("data", Pcm(1, 2, 3, 4));
        Fails([], "empty");
        Fails([.. "RIFF"u8, 0, 0, 0, 0, .. "AVI "u8], "not a WAV");
        Fails([.. "RIFX"u8, 0, 0, 0, 0, .. "WAVE"u8], "big-endian");
        Fails([.. "RF64"u8, 0, 0, 0, 0, .. "WAVE"u8], "RF64");
        Fails([.. "RIFF"u8, 0, 0], "truncated");
        Fails(Riff(data), "no 'fmt ' chunk");
        Fails(Riff(Fmt()), "no 'data' chunk");
        Fails(Riff(Chunk("fmt ", new byte[10]), data), "at least 16");
        Fails(Riff(Fmt(tag: 0x55), data), "MPEG Layer 3");
        Fails(Riff(Fmt(tag: 2), data), "format tag 0x0002");
        Fails(Riff(Fmt(channels: 0), data), "0 channels");
        Fails(Riff(Fmt(rate: 0), data), "sample rate");
        Fails(Riff(Fmt(blockAlign: 3), data), "block align");
        Fails(Riff(Fmt(bits: 40), data), "at most 32");
        Fails(Riff(Fmt(tag: 3, bits: 16), data), "float");
        Fails(Riff(Fmt(), Fmt(), data), "two 'fmt '");
        var bigData = Chunk("data", Pcm(1, 2, 3, 4));
        BinaryPrimitives.WriteInt32LittleEndian(bigData.AsSpan(4), 1000);
        Fails(Riff(Fmt(), bigData), "declares 1000 bytes but only 8 follow");
        var bigList = Chunk("LIST", new byte[4]);
        BinaryPrimitives.WriteInt32LittleEndian(bigList.AsSpan(4), 5000);
        Fails(Riff(Fmt(), bigList), "'LIST' chunk");
        var ext = new byte[40];
        Fmt(tag: 0xFFFE).AsSpan(8, 16).CopyTo(ext);
        BinaryPrimitives.WriteUInt16LittleEndian(ext.AsSpan(16), 22);
        Fails(Riff(Chunk("fmt ", ext), data), "subformat GUID");
    }

    [Test]
    public void OddChunksAndOrderAreHandled()
    {
        short[] v = [100, -200, 300, -400];
        float[] expected = v.Select(s => s / 32768f).ToArray();
        // data before fmt (legal; needs a seekable stream), odd-sized chunk with its pad byte.
        Assert.That(Read(Riff(Chunk("data", Pcm(v)), Chunk("zzzz", new byte[3]), Fmt())), Is.EqualTo(expected));
        Assert.That(Read(Riff(Chunk("LIST", new byte[5]), Fmt(), Chunk("data", Pcm(v)))), Is.EqualTo(expected));
        // An odd-sized final chunk whose pad byte is missing is tolerated.
        var noPad = Riff(Fmt(), Chunk("data", [.. Pcm(v), 7], pad: false));
        Assert.That(Read(noPad), Is.EqualTo(expected), "partial trailing frame dropped");
        // 0-frame clip followed by a chunk is really empty; a bare data size 0 with bytes after it is streamed.
        Assert.That(Read(Riff(Fmt(), Chunk("data", []), Chunk("LIST", new byte[4]))), Is.Empty);
        Assert.That(Read(Riff(Fmt(), [.. "data"u8, 0, 0, 0, 0, .. Pcm(v)])), Is.EqualTo(expected));
    }

    [Test]
    public void UnseekableStreams()
    {
        short[] v = [1, 2, 3, 4, 5, 6];
        float[] expected = v.Select(s => s / 32768f).ToArray();
        var exact = Riff(Fmt(channels: 2), Chunk("JUNK", new byte[9]), Chunk("data", Pcm(v)), Chunk("LIST", new byte[8]));
        using (var r = WavReader.Open(new TrickleStream(exact, 3), "pipe.wav"))
        {
            Assert.That(r.Info.Frames, Is.EqualTo(3));
            Assert.That(r.ReadToEnd(), Is.EqualTo(expected));
        }
        var streamed = Riff(Fmt(channels: 2), [.. "data"u8, 0x00, 0xF0, 0xFF, 0x7F, .. Pcm(v), 9]);   // sox's placeholder, partial last frame
        using (var r = WavReader.Open(new TrickleStream(streamed, 5), "pipe.wav"))
        {
            Assert.That(r.Info.Frames, Is.Null);
            Assert.That(r.ReadToEnd(), Is.EqualTo(expected));
        }
        var cut = Riff(Fmt(), Chunk("data", Pcm(v)))[..^3];
        using (var r = WavReader.Open(new TrickleStream(cut, 4), "pipe.wav"))
            Assert.That(Assert.Throws<AudioFormatException>(() => r.ReadToEnd())!.Problem, Does.Contain("ends"));
        var late = Riff(Chunk("data", Pcm(v)), Fmt());
        Assert.That(Assert.Throws<AudioFormatException>(() => WavReader.Open(new TrickleStream(late, 4), "pipe.wav"))!.Problem, Does.Contain("before the 'fmt '"));
        Assert.Throws<ArgumentException>(() => AudioFile.OpenRead(new TrickleStream(exact, 4), "pipe.wav"), "format detection needs seeking");
    }

    [Test]
    public void ReaderValidatesArguments()
    {
        string path = Path.Combine(AudioFixtureTests.Folder, "wav_s16_stereo_16k.wav");
        using var r = AudioFile.OpenRead(path);
        Assert.Throws<ArgumentException>(() => r.Read(new float[3]), "not a whole number of frames");
        Assert.Throws<ArgumentOutOfRangeException>(() => r.ReadBlocks(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.Skip(-1));
        Assert.Throws<ArgumentException>(() => AudioFile.Read(path, new AudioReadOptions { PadToLength = true }));
        Assert.Throws<ArgumentOutOfRangeException>(() => AudioFile.Read(path, new AudioReadOptions { Offset = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => AudioFile.Read(path, new AudioReadOptions { SampleRate = 0 }));
        Assert.Throws<ArgumentException>(() => AudioFile.Read(path, new AudioReadOptions { SampleRate = 8000, Resampler = new Resampler(48000, 8000) }));
        Assert.Throws<FileNotFoundException>(() => AudioFile.Read(_dir["missing.wav"]));
        var e = Assert.Throws<AudioFormatException>(() => AudioFile.Read(Path.Combine(AudioFixtureTests.Folder, "manifest.txt")))!;
        Assert.That(e.Message, Does.Contain("manifest.txt").And.Contain("unrecognised"));
        r.Dispose();
        Assert.Throws<ObjectDisposedException>(() => r.Read(new float[2]));
    }
}

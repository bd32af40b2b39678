// FLAC decoder features that flac(1) does not produce on demand, through the test-side encoder:
// CONSTANT/VERBATIM, every fixed order, LPC up to order 32, escape partitions, 5-bit Rice parameters,
// wasted bits, variable block sizes, every stereo mode at 8..32 bits (33-bit side channels), odd
// rates and depths, 8 channels, frames larger than STREAMINFO admits, unseekable input. Then the
// errors: CRC-8, CRC-16, MD5, wrong totals, a missing frame, invalid fields, all AudioFormatException.
using Cochlea.Models.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Audio;

[Category("Audio")]
public class FlacDecoderTests
{
    static AudioReader Open(byte[] flac) => AudioFile.OpenRead(new MemoryStream(flac), "test.flac");

    static float[] Decode(byte[] flac)
    {
        using var r = Open(flac);
        return r.ReadToEnd();
    }

    /// <summary>The decoder's float for integer sample v at depth bps: v / 2^(bps-1).</summary>
    static float ToFloat(long v, int bps) => (float)v * (float)(1.0 / (1L << (bps - 1)));

    static void AssertDecodes(byte[] flac, long[][] ch, int bps, string what)
    {
        var got = Decode(flac);
        int n = ch[0].Length, nch = ch.Length;
        Assert.That(got.Length, Is.EqualTo(n * nch), what + ": length");
        for (int i = 0; i < n; i++)
            for (int c = 0; c < nch; c++)
                if (got[i * nch + c] != ToFloat(ch[c][i], bps))
                    Assert.Fail($"{what}: frame {i} channel {c}: got {got[i * nch + c] * Math.Pow(2, bps - 1)}, expected {ch[c][i]}");
    }

    /// <summary>A smooth signal (two tones and a little noise) at depth bps, so predictors leave small residuals.</summary>
    static long[] Signal(int n, int bps, int seed, double level = 0.6)
    {
        var rng = new Random(seed);
        double full = (1L << (bps - 1)) - 1;
        var s = new long[n];
        for (int i = 0; i < n; i++)
            s[i] = (long)Math.Round(full * level * (0.7 * Math.Sin(0.031 * i + seed) + 0.25 * Math.Sin(0.17 * i) + 0.05 * (rng.NextDouble() * 2 - 1)));
        return s;
    }

    static int[] Resonator(int order, int shift, int seed)
    {
        // s[n] ~ 2cos(w) s[n-1] - s[n-2] for the main tone, small random taps for the rest.
        var rng = new Random(seed);
        var c = new int[order];
        c[0] = (int)Math.Round(2 * Math.Cos(0.031) * (1 << shift));
        if (order > 1) c[1] = -(1 << shift);
        for (int j = 2; j < order; j++) c[j] = rng.Next(-40, 41);
        return c;
    }

    [Test]
    public void EverySubframeKindAndResidualCoding()
    {
        const int bs = 512;
        var plans = new List<SubPlan>
        {
            new(SubKind.Constant),
            new(SubKind.Verbatim),
        };
        for (int o = 0; o <= 4; o++) plans.Add(new(SubKind.Fixed, o, PartitionOrder: o % 3));
        foreach (int o in new[] { 1, 2, 8, 12, 32 })
            plans.Add(new(SubKind.Lpc, o, Resonator(o, 12, o), Precision: 15, Shift: 12, PartitionOrder: 3));
        plans.Add(new(SubKind.Fixed, 2, Escape: true, PartitionOrder: 2));                   // escape, 4-bit method
        plans.Add(new(SubKind.Lpc, 3, Resonator(3, 10, 7), Precision: 14, Shift: 10, Escape: true, FiveBit: true, PartitionOrder: 4));
        plans.Add(new(SubKind.Fixed, 1, FiveBit: true, PartitionOrder: 8));                   // 5-bit parameters, 256 partitions
        plans.Add(new(SubKind.Fixed, 3, RiceParam: 0));                                       // long unary codes
        plans.Add(new(SubKind.Fixed, 2, FiveBit: true, RiceParam: 20));                       // parameter above 14
        plans.Add(new(SubKind.Lpc, 4, Resonator(4, 0, 1).Select(c => Math.Clamp(c, -1, 2)).ToArray(), Precision: 3, Shift: 0)); // shift 0, tiny precision
        plans.Add(new(SubKind.Verbatim, Wasted: 3));
        plans.Add(new(SubKind.Fixed, 2, Wasted: 3));
        plans.Add(new(SubKind.Lpc, 8, Resonator(8, 12, 3), Precision: 15, Shift: 12, Wasted: 3, PartitionOrder: 1));
        plans.Add(new(SubKind.Constant, Wasted: 3));
        var s = Signal(bs * plans.Count, 16, 1);
        for (int i = 0; i < bs; i++) s[i] = 1234;   // frame 0 is constant
        for (int f = plans.Count - 4; f < plans.Count; f++)
            for (int i = f * bs; i < (f + 1) * bs; i++) s[i] = f == plans.Count - 1 ? -8 * 77 : s[i] & ~7L;   // 3 wasted bits
        var flac = FlacTestEncoder.Encode([s], 16, 16000, Enumerable.Repeat(bs, plans.Count).ToList(), false, (f, c) => plans[f]);
        AssertDecodes(flac, [s], 16, "subframe kinds");
    }

    [Test]
    public void EscapePartitionWithZeroBits()
    {
        var ramp = Enumerable.Range(0, 256).Select(i => (long)(3 * i - 300)).ToArray();   // order-2 residual is exactly 0
        var flac = FlacTestEncoder.Encode([ramp], 16, 8000, [256], false, (f, c) => new SubPlan(SubKind.Fixed, 2, Escape: true, PartitionOrder: 2));
        AssertDecodes(flac, [ramp], 16, "zero-width escape");
    }

    [Test]
    public void VariableAndIrregularBlockSizes()
    {
        int[] sizes = [16, 100, 4096, 17, 1, 999, 65535, 3];
        var s = Signal(sizes.Sum(), 16, 2);
        SubPlan Plan(int f, int c) => sizes[f] < 8 ? new(SubKind.Verbatim) : new(SubKind.Fixed, 2);
        AssertDecodes(FlacTestEncoder.Encode([s], 16, 44100, sizes, variable: true, Plan), [s], 16, "variable block size");
        int[] fixedSizes = [1152, 1152, 1152, 300];
        var t = Signal(fixedSizes.Sum(), 16, 3);
        AssertDecodes(FlacTestEncoder.Encode([t], 16, 44100, fixedSizes, variable: false, (f, c) => new(SubKind.Fixed, 1)), [t], 16, "short last frame");
    }

    [Test]
    public void StereoModesAtEveryDepth([Values(8, 12, 16, 20, 24, 32)] int bps, [Values(1, 8, 9, 10)] int mode)
    {
        const int n = 700;
        var rng = new Random(bps * 31 + mode);
        long max = (1L << (bps - 1)) - 1, min = -(1L << (bps - 1));
        var l = Signal(n, bps, 5);
        var r = Signal(n, bps, 6, 0.3);
        // Extremes of opposite sign make the side channel need bps + 1 bits (33 at 32-bit).
        l[10] = max; r[10] = min; l[11] = min; r[11] = max; l[12] = min; r[12] = min; l[13] = max; r[13] = max;
        for (int i = 400; i < 450; i++) { l[i] = rng.NextInt64(min, max + 1); r[i] = rng.NextInt64(min, max + 1); }
        var flac = FlacTestEncoder.Encode([l, r], bps, 48000, [192, 300, 208], false,
            (f, c) => f == 1 ? new SubPlan(SubKind.Verbatim) : new SubPlan(SubKind.Fixed, f == 0 ? 1 : 2, FiveBit: bps > 16, PartitionOrder: 2),
            stereo: f => mode);
        AssertDecodes(flac, [l, r], bps, $"{bps}-bit mode {mode}");
    }

    [Test]
    public void OddRatesDepthsAndChannelCounts()
    {
        foreach (int rate in new[] { 7, 12345, 100000, 123450, 700000, 22050 })
        {
            var s = Signal(300, 16, rate);
            var flac = FlacTestEncoder.Encode([s], 16, rate, [300], false, (f, c) => new(SubKind.Fixed, 2));
            using var r = Open(flac);
            Assert.That(r.Info.SampleRate, Is.EqualTo(rate));
            AssertDecodes(flac, [s], 16, $"rate {rate}");
        }
        foreach (int bps in new[] { 4, 5, 7, 13, 20, 31 })   // depths without a header code come from STREAMINFO
        {
            var s = Signal(256, bps, bps);
            AssertDecodes(FlacTestEncoder.Encode([s], bps, 16000, [256], false, (f, c) => new(SubKind.Fixed, 1)), [s], bps, $"{bps}-bit");
        }
        var eight = Enumerable.Range(0, 8).Select(c => Signal(500, 24, 10 + c)).ToArray();
        AssertDecodes(FlacTestEncoder.Encode(eight, 24, 96000, [250, 250], false, (f, c) => new(SubKind.Fixed, c % 5)), eight, 24, "8 channels");
    }

    [Test]
    public void FrameLargerThanStreamInfoSaysGrowsTheBuffers()
    {
        // 8 channels x 65535 verbatim 24-bit samples (~1.5 MB frame) while STREAMINFO claims 16-sample blocks.
        var ch = Enumerable.Range(0, 8).Select(c => Signal(65535, 24, c, 0.9)).ToArray();
        var flac = FlacTestEncoder.Encode(ch, 24, 48000, [65535], false, (f, c) => new(SubKind.Verbatim), streamInfoMaxBlock: 16);
        AssertDecodes(flac, ch, 24, "big frame");
    }

    [Test]
    public void UnseekableTrickleStream()
    {
        var s = Signal(20000, 16, 9);
        var flac = FlacTestEncoder.Encode([s], 16, 16000, [4096, 4096, 4096, 4096, 3616], false, (f, c) => new(SubKind.Fixed, 2, PartitionOrder: 4));
        using var r = FlacReader.Open(new TrickleStream(flac, 7), "pipe");
        var got = r.ReadToEnd();
        Assert.That(got, Is.EqualTo(s.Select(v => ToFloat(v, 16)).ToArray()));
    }

    // ---- errors ----------------------------------------------------------------------------------

    static AudioFormatException Fails(byte[] flac)
    {
        var e = Assert.Throws<AudioFormatException>(() => Decode(flac))!;
        Assert.That(e.Message, Does.StartWith("test.flac: "), "names the file");
        Assert.That(e.Fix, Is.Not.Empty);
        return e;
    }

    static byte[] Simple(int frames = 3, Func<int, long>? number = null, Func<int, bool>? skip = null, long? total = null, byte[]? md5 = null, Func<int, int, SubPlan>? plan = null)
    {
        var s = Signal(256 * frames, 16, 4);
        return FlacTestEncoder.Encode([s], 16, 16000, Enumerable.Repeat(256, frames).ToList(), false,
            plan ?? ((f, c) => new(SubKind.Verbatim)), totalSamples: total, md5Override: md5, frameNumber: number, skipFrame: skip);
    }

    [Test]
    public void Crc16MismatchIsReported()
    {
        var flac = Simple();
        flac[^100] ^= 0x10;   // inside the last frame's verbatim samples
        Assert.That(Fails(flac).Problem, Does.Contain("CRC-16"));
    }

    [Test]
    public void Crc8MismatchIsReported()
    {
        var flac = Simple();
        int frame0 = 4 + 4 + 34;
        flac[frame0 + 4] ^= 0x01;   // the coded frame number
        Assert.That(Fails(flac).Problem, Does.Contain("CRC-8"));
    }

    [Test]
    public void Md5MismatchIsReported()
    {
        var e = Fails(Simple(md5: Enumerable.Range(1, 16).Select(i => (byte)i).ToArray()));
        Assert.That(e.Problem, Does.Contain("MD5"));
    }

    [Test]
    public void WrongTotalsAreReported()
    {
        Assert.That(Fails(Simple(total: 256 * 3 + 1)).Problem, Does.Contain("ends after 768 of 769"));
        Assert.That(Fails(Simple(total: 256 * 3 - 1)).Problem, Does.Contain("more than"));
    }

    [Test]
    public void MissingOrRepeatedFrameIsReported()
    {
        Assert.That(Fails(Simple(skip: f => f == 1, total: 512, md5: new byte[16])).Problem, Does.Contain("missing or repeated"));
        Assert.That(Fails(Simple(number: f => f == 2 ? 1 : f)).Problem, Does.Contain("missing or repeated"));
    }

    [Test]
    public void InvalidFieldsAreReported()
    {
        var neg = Simple(plan: (f, c) => new(SubKind.Lpc, 2, [1, 1], Precision: 4, Shift: -1));
        Assert.That(Fails(neg).Problem, Does.Contain("negative LPC shift"));
        var order = Simple(plan: (f, c) => new(SubKind.Fixed, 2, PartitionOrder: 7));   // 256 >> 7 = 2 samples per partition: fits order 2
        Assert.DoesNotThrow(() => Decode(order));
        var tooFine = Simple(plan: (f, c) => new(SubKind.Fixed, 3, PartitionOrder: 7));  // ...but not order 3
        Assert.That(Fails(tooFine).Problem, Does.Contain("partition order"));
    }

    [Test]
    public void NotFlacAndTruncatedMetadata()
    {
        var flac = Simple();
        var e = Assert.Throws<AudioFormatException>(() => FlacReader.Open(new MemoryStream(flac[..20]), "cut.flac"))!;
        Assert.That(e.Message, Does.Contain("cut.flac").And.Contain("truncated"));
        var bad = (byte[])flac.Clone();
        bad[0] = (byte)'X';
        Assert.Throws<AudioFormatException>(() => FlacReader.Open(new MemoryStream(bad), "bad.flac"));
        Assert.Throws<AudioFormatException>(() => Decode(flac[..^1]), "last byte missing");
    }
}

/// <summary>An unseekable stream that returns at most a few bytes per Read, like a slow pipe.</summary>
sealed class TrickleStream(byte[] data, int maxChunk) : Stream
{
    int _pos;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = Math.Min(Math.Min(count, maxChunk), data.Length - _pos);
        Array.Copy(data, _pos, buffer, offset, n);
        _pos += n;
        return n;
    }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

// Resampler quality and contracts. Quality is measured with coherent test tones (integer Hz over a
// 1 s window, so every tone and alias falls exactly on a DFT bin and nothing leaks): passband gain
// ripple, residual (THD+N) of passband tones, alias level of tones above the output Nyquist when
// downsampling, image level when upsampling, for all 20 ordered pairs of 8/16/22.05/44.1/48 kHz.
// The measured numbers are printed (TestContext) and bounded; src/Models/Audio/README.md records them next to sox's.
// Contracts: output length ceil(n * out / in), streaming in any block sizes equals whole-clip output
// bit for bit, multi-channel equals per-channel, identity ratio copies, 16k -> 48k -> 16k ~ identity.
using Cochlea.Models.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Audio;

[Category("Audio")]
public class ResamplerTests
{
    static readonly int[] Rates = [8000, 16000, 22050, 44100, 48000];

    public static IEnumerable<TestCaseData> Pairs()
    {
        foreach (int a in Rates)
            foreach (int b in Rates)
                if (a != b) yield return new TestCaseData(a, b).SetName($"Quality({a}->{b})");
    }

    static float[] Tone(int rate, double hz, double seconds, double amp = 0.5)
    {
        var x = new float[(int)Math.Round(rate * seconds)];
        for (int n = 0; n < x.Length; n++) x[n] = (float)(amp * Math.Sin(2 * Math.PI * hz * n / rate + 0.3));
        return x;
    }

    /// <summary>Amplitude of the tone at <paramref name="hz"/> in y[start, start + rate) (1 s: integer Hz are exact DFT bins).</summary>
    static double Amplitude(float[] y, int rate, int start, double hz)
    {
        double re = 0, im = 0, w = 2 * Math.PI * hz / rate;
        for (int n = 0; n < rate; n++) { re += y[start + n] * Math.Cos(w * n); im += y[start + n] * Math.Sin(w * n); }
        return 2 * Math.Sqrt(re * re + im * im) / rate;
    }

    /// <summary>RMS of y[start, start + rate) after removing the tone at <paramref name="hz"/> (least squares; coherent).</summary>
    static double ResidualRms(float[] y, int rate, int start, double hz)
    {
        double re = 0, im = 0, w = 2 * Math.PI * hz / rate;
        for (int n = 0; n < rate; n++) { re += y[start + n] * Math.Cos(w * n); im += y[start + n] * Math.Sin(w * n); }
        double a = 2 * re / rate, b = 2 * im / rate, sum = 0;
        for (int n = 0; n < rate; n++)
        {
            double r = y[start + n] - a * Math.Cos(w * n) - b * Math.Sin(w * n);
            sum += r * r;
        }
        return Math.Sqrt(sum / rate);
    }

    static double Db(double ratio) => 20 * Math.Log10(Math.Max(ratio, 1e-15));

    /// <summary>Folds <paramref name="hz"/> into [0, rate/2]: where a tone sampled at <paramref name="rate"/> appears.</summary>
    static double Fold(double hz, int rate)
    {
        double f = hz % rate;
        return f > rate / 2.0 ? rate - f : f;
    }

    public sealed record Quality(double RippleDb, double WorstThdNDb, double StopbandDb, double ImageDb);

    public static Quality Measure(int from, int to)
    {
        var rs = new Resampler(from, to);
        int start = to / 5;               // analyse 1 s from 0.2 s on: far from the clip's edges
        const double amp = 0.5;
        double ripple = 0, thdn = -400, stop = -400, image = -400;
        double pass = rs.PassbandHz;
        for (int k = 1; k <= 8; k++)
        {
            double f = Math.Round(pass * k / 8);
            var y = rs.Process(Tone(from, f, 1.4, amp));
            ripple = Math.Max(ripple, Math.Abs(Db(Amplitude(y, to, start, f) / amp)));
            thdn = Math.Max(thdn, Db(ResidualRms(y, to, start, f) / (amp / Math.Sqrt(2))));
            if (to > from)
                // Images of f around multiples of the input rate that fall inside the output band.
                for (int m = 1; m * from - f <= to / 2.0; m++)
                    foreach (double img in new[] { m * from - f, m * from + f })
                        if (img <= to / 2.0) image = Math.Max(image, Db(Amplitude(y, to, start, img) / amp));
        }
        if (to < from)
            for (int k = 0; k <= 8; k++)
            {
                // Tones from just above the output Nyquist frequency to near the input's: all must vanish.
                double f = Math.Round(to / 2.0 + 1 + (from / 2.0 * 0.98 - to / 2.0) * k / 8);
                var y = rs.Process(Tone(from, f, 1.4, amp));
                stop = Math.Max(stop, Db(Amplitude(y, to, start, Fold(f, to)) / amp));
            }
        return new Quality(ripple, thdn, stop, image);
    }

    [TestCaseSource(nameof(Pairs))]
    public void QualityMatchesTheDesign(int from, int to)
    {
        var q = Measure(from, to);
        var rs = new Resampler(from, to);
        TestContext.Out.WriteLine($"{from,6} -> {to,6}: up {rs.Up,4} down {rs.Down,4} taps {rs.Taps,4}  ripple {q.RippleDb:E2} dB  THD+N {q.WorstThdNDb,7:F1} dB  " +
                                  (to < from ? $"alias {q.StopbandDb,7:F1} dB" : $"images {q.ImageDb,7:F1} dB"));
        Assert.That(q.RippleDb, Is.LessThan(1e-3), "passband ripple (dB)");
        Assert.That(q.WorstThdNDb, Is.LessThan(-110), "residual of passband tones (dB re tone)");
        if (to < from) Assert.That(q.StopbandDb, Is.LessThan(-110), "alias of stopband tones (dB re tone)");
        else Assert.That(q.ImageDb, Is.LessThan(-110), "images (dB re tone)");
    }

    [Test]
    public void FrequencyAndEnergyArePreserved()
    {
        foreach (var (from, to) in new[] { (44100, 16000), (16000, 44100), (48000, 22050), (8000, 48000) })
        {
            var rs = new Resampler(from, to);
            var y = rs.Process(Tone(from, 1000, 1.4, 0.8));
            // The spectral peak on a 1 Hz grid around 1 kHz is at 1 kHz.
            int start = to / 5;
            double best = Enumerable.Range(990, 21).MaxBy(f => Amplitude(y, to, start, f));
            Assert.That(best, Is.EqualTo(1000), $"{from}->{to}: peak frequency");
            // A multi-tone signal inside the passband keeps its energy (per second) to 0.01%.
            var rng = new Random(from + to);
            var x = new float[(int)(1.4 * from)];
            for (int t = 0; t < 6; t++)
            {
                double f = Math.Round(rng.NextDouble() * rs.PassbandHz);
                var tone = Tone(from, f, 1.4, 0.1);
                for (int n = 0; n < x.Length; n++) x[n] += tone[n];
            }
            var z = rs.Process(x);
            double ein = x.AsSpan(from / 5, from).ToArray().Sum(v => (double)v * v) / from;
            double eout = z.AsSpan(to / 5, to).ToArray().Sum(v => (double)v * v) / to;
            Assert.That(eout / ein, Is.EqualTo(1).Within(1e-4), $"{from}->{to}: energy ratio");
        }
    }

    [Test]
    public void LengthRules()
    {
        var down = new Resampler(44100, 16000);
        Assert.That((down.Up, down.Down), Is.EqualTo((160, 441)));
        Assert.That(down.OutputLength(0), Is.EqualTo(0));
        Assert.That(down.OutputLength(1), Is.EqualTo(1));
        Assert.That(down.OutputLength(441), Is.EqualTo(160));
        Assert.That(down.OutputLength(442), Is.EqualTo(161));
        Assert.That(down.OutputLength(44100 * 3600L * 24 * 365), Is.EqualTo(16000 * 3600L * 24 * 365), "no overflow on a year of audio");
        foreach (int n in new[] { 0, 1, 2, 440, 441, 1000, 12345 })
            Assert.That(down.Process(new float[n]).Length, Is.EqualTo(down.OutputLength(n)), $"n = {n}");
        var up = new Resampler(16000, 48000);
        Assert.That(up.Process(new float[16000]).Length, Is.EqualTo(48000));
        Assert.That(up.Process(new float[7]).Length, Is.EqualTo(21));
        Assert.That(new Resampler(8000, 44100).Process(new float[3]).Length, Is.EqualTo(17), "ceil(3 * 441 / 80)");
        var same = new Resampler(22050, 22050);
        var x = Tone(22050, 440, 0.1);
        Assert.That(same.Process(x), Is.EqualTo(x), "equal rates copy");
        Assert.That(same.Taps, Is.EqualTo(0));
    }

    [Test]
    public void StreamingEqualsWholeClipBitForBit([Values(1, 2, 3)] int channels)
    {
        var rng = new Random(channels);
        foreach (var (from, to) in new[] { (48000, 16000), (16000, 48000), (44100, 48000), (22050, 16000), (8000, 22050) })
        {
            var rs = new Resampler(from, to);
            var x = Enumerable.Range(0, 9000 * channels).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            var whole = rs.Process(x, channels);
            var s = rs.CreateStream(channels);
            var got = new List<float>();
            for (int at = 0; at < x.Length;)
            {
                int frames = Math.Min(rng.Next(0, 1500), (x.Length - at) / channels);
                var o = new float[s.OutputFramesFor(frames) * channels];
                int n = s.Write(x.AsSpan(at, frames * channels), o);
                Assert.That(n * channels, Is.EqualTo(o.Length));
                got.AddRange(o);
                at += frames * channels;
            }
            var tail = new float[s.FlushFrames * channels];
            s.Flush(tail);
            got.AddRange(tail);
            Assert.That(got, Is.EqualTo(whole), $"{from}->{to} x{channels}");
            Assert.That(s.OutputFrames, Is.EqualTo(rs.OutputLength(x.Length / channels)));
            Assert.Throws<InvalidOperationException>(() => s.Write(new float[channels], new float[100]), "written after Flush");
            if (channels > 1)
            {
                // Channel c of a multi-channel run equals a mono run of channel c.
                var c1 = Enumerable.Range(0, x.Length / channels).Select(i => x[i * channels + 1]).ToArray();
                var mono = rs.Process(c1);
                for (int i = 0; i < mono.Length; i++) Assert.That(whole[i * channels + 1], Is.EqualTo(mono[i]));
            }
        }
    }

    [Test]
    public void RoundTrip16k48k16kIsNearIdentity()
    {
        var rng = new Random(3);
        var x = new float[16000];
        for (int t = 0; t < 8; t++)
        {
            double f = 50 + rng.NextDouble() * 7400, ph = rng.NextDouble() * 6.28;
            for (int n = 0; n < x.Length; n++) x[n] += (float)(0.1 * Math.Sin(2 * Math.PI * f * n / 16000 + ph));
        }
        var up = new Resampler(16000, 48000).Process(x);
        var back = new Resampler(48000, 16000).Process(up);
        Assert.That(back.Length, Is.EqualTo(x.Length));
        // Away from the clip's edges (where the signal starts abruptly and is not band-limited).
        double maxErr = 0;
        for (int n = 400; n < x.Length - 400; n++) maxErr = Math.Max(maxErr, Math.Abs(back[n] - x[n]));
        TestContext.Out.WriteLine($"16k -> 48k -> 16k: max interior error {maxErr:E2} (signal peak ~0.8)");
        Assert.That(maxErr, Is.LessThan(2e-5));
    }

    [Test]
    public void ValidatesArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Resampler(0, 16000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Resampler(16000, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Resampler(16000, 8000, passband: 1.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Resampler(16000, 8000, attenuationDb: 10));
        Assert.Throws<ArgumentException>(() => new Resampler(44100, 44099), "a ratio of 44099/44100 needs a huge bank");
        var rs = new Resampler(16000, 8000);
        Assert.Throws<ArgumentException>(() => rs.Process(new float[3], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => rs.Process(new float[4], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => rs.CreateStream(0));
        var s = rs.CreateStream();
        Assert.Throws<ArgumentException>(() => s.Write(new float[5000], new float[1]), "output too small");
    }

    [Test]
    public void ReadWithResamplingEqualsResamplingTheClip()
    {
        string path = Path.Combine(AudioFixtureTests.Folder, "flac_s16_stereo_44k_ms.flac");
        var clip = AudioFile.Read(path);
        var rs = new Resampler(44100, 16000);
        var expected = rs.Process(clip.Samples, 2);
        var got = AudioFile.Read(path, new AudioReadOptions { SampleRate = 16000, Resampler = rs });
        Assert.That((got.SampleRate, got.Channels), Is.EqualTo((16000, 2)));
        Assert.That(got.Samples, Is.EqualTo(expected));
        var window = AudioFile.Read(path, new AudioReadOptions { SampleRate = 16000, Mono = true, Offset = 300, Length = 700 });
        var monoAll = rs.Process(AudioFile.Read(path, new AudioReadOptions { Mono = true }).Samples);
        Assert.That(window.Samples, Is.EqualTo(monoAll.AsSpan(300, 700).ToArray()));
        var padded = AudioFile.Read(path, new AudioReadOptions { SampleRate = 16000, Offset = 1500, Length = 100, PadToLength = true });
        Assert.That(padded.Frames, Is.EqualTo(100));
        Assert.That(padded.Samples.AsSpan(0, (monoAll.Length - 1500) * 2).ToArray(), Is.EqualTo(expected.AsSpan(1500 * 2).ToArray()));
    }
}

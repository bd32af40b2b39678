// The tensor-level feature API (Models.Audio): shapes for a waveform (N) and a batch (B, N), batch results equal
// clip-by-clip results, empty and short clips (TF framing gives zero frames, psf one), FreesoundCnn's
// 400/160/512 framing, DeepSpeech's 494 inputs, input validation; FeatureStats (streaming statistics in double,
// merge, save/load, normalisation) and the .npy writer.
using Cochlea.IO;
using Cochlea.Kernels.Audio;
using Cochlea.Models.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Audio;

public class FeatureApiTests
{
    static Tensor Noise(int b, int n, int seed) => Tensor.Rand(new Random(seed), -0.5f, 0.5f, b, n);

    [Test]
    public void ShapesForWaveformAndBatch()
    {
        using var scope = Tensor.Scope();
        var x = Noise(3, 16000, 1);
        var stft = Stft.Torch(400, 160);
        Assert.That(stft.Complex(x).Shape.ToArray(), Is.EqualTo(new[] { 3, 101, 201, 2 }));
        Assert.That(stft.Power(x.Reshape(48000)).Shape.ToArray(), Is.EqualTo(new[] { 301, 201 }));
        var tf = Stft.TensorFlow();
        Assert.That(tf.Magnitude(x).Shape.ToArray(), Is.EqualTo(new[] { 3, 98, 257 }));
        Assert.That(new MelSpectrogram().Forward(x).Shape.ToArray(), Is.EqualTo(new[] { 3, 81, 128 }));
        Assert.That(new Mfcc().Forward(x).Shape.ToArray(), Is.EqualTo(new[] { 3, 81, 40 }));
        var ds = new DeepSpeechFeatures();
        Assert.That(ds.InputsPerStep, Is.EqualTo(494));
        Assert.That(ds.Forward(x).Shape.ToArray(), Is.EqualTo(new[] { 3, 99, 494 }));
        Assert.That(ds.Mfcc(x).Shape.ToArray(), Is.EqualTo(new[] { 3, 99, 26 }));
        // DeepSpeechKws: 320-sample window, 160 hop, no padding -> 99 x 161 for 1 s.
        Assert.That(new Stft(StftSpec.TensorFlow(320, 160, 320)).LogDensity(x, 16000).Shape.ToArray(), Is.EqualTo(new[] { 3, 99, 161 }));
    }

    [Test]
    public void EmptyAndShortClips()
    {
        using var scope = Tensor.Scope();
        // FreesoundCnn predicts on whole clips, even empty ones: TF framing gives zero frames.
        var tf = Stft.TensorFlow();
        Assert.That(tf.Complex(Tensor.Zeros(0)).Shape.ToArray(), Is.EqualTo(new[] { 0, 257, 2 }));
        Assert.That(tf.Complex(Tensor.Zeros(2, 399)).Shape.ToArray(), Is.EqualTo(new[] { 2, 0, 257, 2 }));
        Assert.That(tf.Complex(Tensor.Zeros(2, 400)).Shape.ToArray(), Is.EqualTo(new[] { 2, 1, 257, 2 }));
        // python_speech_features always gives at least one frame.
        Assert.That(new DeepSpeechFeatures().Forward(Tensor.Zeros(0)).Shape.ToArray(), Is.EqualTo(new[] { 1, 494 }));
        // torch.stft reflect padding needs more than n_fft/2 samples: a clear error, constant padding works.
        var ex = Assert.Throws<ArgumentException>(() => Stft.Torch(400, 160).Power(Tensor.Zeros(150)))!;
        Assert.That(ex.Message, Does.Contain("Reflect padding"));
        Assert.That(Stft.Torch(400, 160, padMode: PadMode.Constant).Power(Tensor.Zeros(150)).Shape.ToArray(), Is.EqualTo(new[] { 1, 201 }));
    }

    [Test]
    public void BatchEqualsClipByClip()
    {
        using var scope = Tensor.Scope();
        var x = Noise(5, 7001, 2);
        var mfcc = new Mfcc(new MfccOptions(Mel: new MelOptions(NFft: 512, Hop: 160, NMels: 64)));
        var all = mfcc.Forward(x).ToArray();
        int per = all.Length / 5;
        var rows = x.ToArray();
        for (int b = 0; b < 5; b++)
        {
            var one = mfcc.Forward(Tensor.FromArray(rows.AsSpan(b * 7001, 7001).ToArray(), 7001)).ToArray();
            for (int i = 0; i < per; i++)
                Assert.That(all[b * per + i], Is.EqualTo(one[i]).Within(1e-4f), $"clip {b} element {i}");
        }
    }

    [Test]
    public void RejectsBadInput()
    {
        using var scope = Tensor.Scope();
        var mel = new MelSpectrogram();
        Assert.Throws<ArgumentException>(() => mel.Forward(Tensor.Zeros(2, 3, 4000)));
        Assert.Throws<ArgumentException>(() => mel.Forward(Tensor.FromArray(new long[4000], 4000)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DeepSpeechFeatures(context: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Mfcc(new MfccOptions(NMfcc: 200)));
    }

    [Test]
    public void StatsMatchTwoPassDoubleAndRoundTrip()
    {
        const int bins = 7;
        var rng = new Random(3);
        var batches = Enumerable.Range(0, 5).Select(i => Enumerable.Range(0, (i + 1) * 13 * bins).Select(_ => (float)(1000 + rng.NextDouble() * 3)).ToArray()).ToList();
        var stats = new FeatureStats(bins);
        foreach (var b in batches) stats.Add(b);
        var all = batches.SelectMany(b => b).ToArray();
        long n = all.Length / bins;
        Assert.That(stats.Count, Is.EqualTo(n));
        var mean = stats.Mean(); var std = stats.Std();
        for (int j = 0; j < bins; j++)
        {
            double m = 0, v = 0;
            for (long r = 0; r < n; r++) m += all[r * bins + j];
            m /= n;
            for (long r = 0; r < n; r++) v += (all[r * bins + j] - m) * (all[r * bins + j] - m);
            Assert.That(mean[j], Is.EqualTo(m).Within(1e-9 * Math.Abs(m)));
            Assert.That(std[j], Is.EqualTo(Math.Sqrt(v / n)).Within(1e-9));
        }
        // Merging two halves gives the same statistics.
        var a = new FeatureStats(bins); var b2 = new FeatureStats(bins);
        for (int i = 0; i < batches.Count; i++) (i < 2 ? a : b2).Add(batches[i]);
        a.Merge(b2);
        Assert.That(a.Count, Is.EqualTo(n));
        for (int j = 0; j < bins; j++)
        {
            Assert.That(a.Mean()[j], Is.EqualTo(mean[j]).Within(1e-9 * Math.Abs(mean[j])));
            Assert.That(a.Std()[j], Is.EqualTo(std[j]).Within(1e-9));
        }
        using var dir = new TempDir("stats");
        var path = dir["stats.safetensors"];
        stats.Save(path);
        var back = FeatureStats.Load(path);
        Assert.That(back.Count, Is.EqualTo(n));
        Assert.That(back.Mean(), Is.EqualTo(mean));
        Assert.That(back.Std(), Is.EqualTo(std));
        using (var f = SafeTensorsFile.Open(path))
            Assert.That(f.ReadFloat32("std_f32"), Is.EqualTo(std.Select(s => (float)s).ToArray()));
        // Normalised features have per-bin mean 0 and std 1.
        using var scope = Tensor.Scope();
        var z = back.Normalize(Tensor.FromArray(all, (int)n, bins)).ToArray();
        var check = new FeatureStats(bins);
        check.Add(z);
        Assert.That(check.Mean().Max(Math.Abs), Is.LessThan(1e-3));
        Assert.That(check.Std().Max(s => Math.Abs(s - 1)), Is.LessThan(1e-3));
    }

    [Test]
    public void StatsLoadRejectsOtherFiles()
    {
        using var dir = new TempDir("notstats");
        var path = dir["notstats.safetensors"];
        new SafeTensorsWriter().AddFloat32("mean", new float[3], 3).Save(path);
        var ex = Assert.Throws<InvalidDataException>(() => FeatureStats.Load(path))!;
        Assert.That(ex.Message, Does.Contain(path));
        Assert.Throws<ArgumentException>(() => new FeatureStats(3).Add(new float[4]));
    }

    [Test]
    public void NpyHeaderAndData()
    {
        using var dir = new TempDir("npy");
        var path = dir["features.npy"];
        FeatureNpy.Write(path, new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes[0], Is.EqualTo(0x93));
        Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 1, 5), Is.EqualTo("NUMPY"));
        Assert.That(bytes[6], Is.EqualTo(1)); Assert.That(bytes[7], Is.EqualTo(0));
        int hlen = bytes[8] | bytes[9] << 8;
        Assert.That((10 + hlen) % 64, Is.EqualTo(0));
        var header = System.Text.Encoding.ASCII.GetString(bytes, 10, hlen);
        Assert.That(header, Does.StartWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        Assert.That(header, Does.EndWith("\n"));
        Assert.That(BitConverter.ToSingle(bytes, 10 + hlen + 4 * 5), Is.EqualTo(6f));
        Assert.That(System.Text.Encoding.ASCII.GetString(FeatureNpy.Header([7])), Does.Contain("'shape': (7,)"));
        Assert.Throws<ArgumentException>(() => FeatureNpy.Write(path, new float[5], [2, 3]));
    }
}

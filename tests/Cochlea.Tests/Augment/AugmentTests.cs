// Augmentations: time-shift semantics (TF tutorial), gain, background noise at a volume and at an
// SNR (achieved within 0.1 dB), SpecAugment mask counts/width bounds/fill, and mixup targets.
using Cochlea.Models.Augment;
using NUnit.Framework;

namespace Cochlea.Tests.Augment;

[Category("Augment")]
public class AugmentTests
{
    static float[] Ramp(int n) => Enumerable.Range(1, n).Select(i => (float)i).ToArray();

    [Test]
    public void TimeShiftPadsWithZeros()
    {
        var x = Ramp(6);
        var d = new float[6];
        TimeShift.Apply(x, d, 2);
        Assert.That(d, Is.EqualTo(new float[] { 0, 0, 1, 2, 3, 4 }), "positive: delayed");
        TimeShift.Apply(x, d, -2);
        Assert.That(d, Is.EqualTo(new float[] { 3, 4, 5, 6, 0, 0 }), "negative: advanced");
        TimeShift.Apply(x, d, 0);
        Assert.That(d, Is.EqualTo(x));
        TimeShift.Apply(x, d, 6);
        Assert.That(d, Is.All.EqualTo(0f));
        TimeShift.Apply(x, d, int.MinValue);
        Assert.That(d, Is.All.EqualTo(0f));
        var inPlace = Ramp(6);
        TimeShift.Apply(inPlace, -1);
        Assert.That(inPlace, Is.EqualTo(new float[] { 2, 3, 4, 5, 6, 0 }));
        TimeShift.Apply(inPlace, 3);
        Assert.That(inPlace, Is.EqualTo(new float[] { 0, 0, 0, 2, 3, 4 }));
        Assert.Throws<ArgumentException>(() => TimeShift.Apply(x, new float[5], 1));
        Assert.Throws<ArgumentException>(() => TimeShift.Apply(x.AsSpan(0, 5), x.AsSpan(1, 5), 1));
    }

    [Test]
    public void RandomShiftIsDrawnFromTheTutorialRange()
    {
        var rng = new Philox(2);
        var shifts = new HashSet<int>();
        for (int i = 0; i < 4000; i++)
        {
            var x = Ramp(50);
            int s = TimeShift.ApplyRandom(x, 5, rng);
            shifts.Add(s);
            var expected = new float[50];
            TimeShift.Apply(Ramp(50), expected, s);
            Assert.That(x, Is.EqualTo(expected));
        }
        // np.random.randint(-5, 5): -5..4, never +5.
        Assert.That(shifts.Order(), Is.EqualTo(Enumerable.Range(-5, 10)));
        Assert.That(TimeShift.Draw(rng, 0), Is.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => TimeShift.Draw(rng, -1));
    }

    [Test]
    public void GainScales()
    {
        var x = Ramp(4);
        Gain.Apply(x, 0.5f);
        Assert.That(x, Is.EqualTo(new[] { 0.5f, 1f, 1.5f, 2f }));
        var rng = new Philox(4);
        for (int i = 0; i < 100; i++)
        {
            var y = Ramp(3);
            float g = Gain.ApplyRandom(y, 0.8f, 1.2f, rng);
            Assert.That(g, Is.InRange(0.8f, 1.2f));
            Assert.That(y[2], Is.EqualTo(3 * g).Within(1e-6));
            float gd = Gain.ApplyRandomDb(y, -6, 6, rng);
            Assert.That(20 * Math.Log10(gd), Is.InRange(-6.0001, 6.0001));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Gain.Apply(x, float.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gain.ApplyRandom(x, 2, 1, rng));
    }

    static float[] Tone(int n, float freq, float amp) => Enumerable.Range(0, n).Select(i => amp * MathF.Sin(freq * i)).ToArray();

    [TestCase(-5.0)]
    [TestCase(0.0)]
    [TestCase(10.0)]
    [TestCase(30.0)]
    public void NoiseIsMixedAtTheRequestedSnr(double snrDb)
    {
        var clip = Tone(16000, 0.031f, 0.05f);
        var rng = new Philox(8);
        var noise = new float[16000];
        for (int i = 0; i < noise.Length; i++) noise[i] = (float)rng.NextNormal() * 0.2f;
        var mixed = (float[])clip.Clone();
        BackgroundNoise.AddAtSnr(mixed, noise, snrDb);
        var added = mixed.Zip(clip, (m, c) => m - c).ToArray();
        double achieved = 10 * Math.Log10(BackgroundNoise.MeanSquare(clip) / BackgroundNoise.MeanSquare(added));
        Assert.That(achieved, Is.EqualTo(snrDb).Within(0.1));
    }

    [Test]
    public void RandomSnrSegmentsComeFromTheNoiseClips()
    {
        var set = new BackgroundNoise([Tone(5000, 0.7f, 0.3f), Tone(3000, 1.3f, 0.1f)], ["a.wav", "b.wav"]);
        var rng = new Philox(6);
        for (int i = 0; i < 50; i++)
        {
            var clip = Tone(1000, 0.05f, 0.1f);
            double snr = set.AddAtRandomSnr(clip, 3, 9, rng);
            Assert.That(snr, Is.InRange(3.0, 9.0));
            var added = clip.Zip(Tone(1000, 0.05f, 0.1f), (m, c) => m - c).ToArray();
            double achieved = 10 * Math.Log10(BackgroundNoise.MeanSquare(Tone(1000, 0.05f, 0.1f)) / BackgroundNoise.MeanSquare(added));
            Assert.That(achieved, Is.EqualTo(snr).Within(0.1));
        }
        var silent = new float[100];
        Assert.That(BackgroundNoise.AddAtSnr(silent, Tone(100, 1, 1), 10), Is.Zero, "no SNR for an all-zero clip");
        Assert.That(silent, Is.All.EqualTo(0f));
        var e = Assert.Throws<InvalidOperationException>(() => set.Segment(new float[4000], new Philox(0)));
        Assert.That(e!.Message, Does.Contain("b.wav has 3000 samples"));
    }

    [Test]
    public void VolumeMixingFollowsTheTutorial()
    {
        var noiseClip = Enumerable.Range(0, 4000).Select(i => (i % 11 - 5) / 5f).ToArray();
        var set = new BackgroundNoise([noiseClip]);
        var rng = new Philox(12);
        int mixed = 0;
        for (int i = 0; i < 2000; i++)
        {
            var clip = new float[200];
            float v = set.AddAtRandomVolume(clip, frequency: 0.8, maxVolume: 0.1, rng);
            Assert.That(v, Is.InRange(0f, 0.1f));
            if (v > 0) mixed++;
            Assert.That(clip.All(s => MathF.Abs(s) <= v + 1e-7f));
        }
        Assert.That(mixed / 2000.0, Is.EqualTo(0.8).Within(0.04));

        var loud = Enumerable.Repeat(0.9f, 8).ToArray();
        BackgroundNoise.AddAtVolume(loud, Enumerable.Repeat(1f, 8).ToArray(), 0.5f);
        Assert.That(loud, Is.All.EqualTo(1f), "clamped to [-1, 1]");
        Assert.Throws<ArgumentException>(() => new BackgroundNoise([]));
        Assert.Throws<ArgumentException>(() => new BackgroundNoise([new float[0]]));
        Assert.Throws<ArgumentException>(() => BackgroundNoise.AddAtVolume(new float[3], new float[4], 1));
    }

    [Test]
    public void SpecAugmentMasksCountWidthAndFill([Values(MaskFill.Zero, MaskFill.Mean)] MaskFill fill)
    {
        const int frames = 50, bins = 40;
        var opts = new SpecAugmentOptions(FrequencyMasks: 2, MaxFrequencyWidth: 8, TimeMasks: 3, MaxTimeWidth: 10, Fill: fill);
        var rng = new Philox(21);
        var widths = new HashSet<int>();
        for (int t = 0; t < 300; t++)
        {
            var x = new float[frames * bins];
            for (int i = 0; i < x.Length; i++) x[i] = 1 + (float)rng.NextDouble();   // all >= 1: a 0 or mean (~1.5) is recognisable
            float mean = x.Average();
            var original = (float[])x.Clone();
            var masks = SpecAugment.Apply(x, frames, bins, opts, rng);
            Assert.That(masks.Count(m => !m.IsTime), Is.EqualTo(2));
            Assert.That(masks.Count(m => m.IsTime), Is.EqualTo(3));
            bool[,] covered = new bool[frames, bins];
            foreach (var m in masks)
            {
                Assert.That(m.Width, Is.InRange(0, m.IsTime ? 10 : 8));
                Assert.That(m.Start, Is.GreaterThanOrEqualTo(0));
                Assert.That(m.Start + m.Width, Is.LessThanOrEqualTo(m.IsTime ? frames : bins));
                if (!m.IsTime) widths.Add(m.Width);
                for (int f = 0; f < frames; f++)
                    for (int b = 0; b < bins; b++)
                        if (m.IsTime ? f >= m.Start && f < m.Start + m.Width : b >= m.Start && b < m.Start + m.Width) covered[f, b] = true;
            }
            float expected = fill == MaskFill.Zero ? 0f : mean;
            for (int f = 0; f < frames; f++)
                for (int b = 0; b < bins; b++)
                    Assert.That(x[f * bins + b], covered[f, b] ? Is.EqualTo(expected).Within(1e-5f) : Is.EqualTo(original[f * bins + b]));
        }
        Assert.That(widths.Order(), Is.EqualTo(Enumerable.Range(0, 9)), "widths 0..max all occur");
    }

    [Test]
    public void SpecAugmentClipsWidthsAndValidates()
    {
        var x = new float[3 * 4];
        var masks = SpecAugment.Apply(x, 3, 4, new SpecAugmentOptions(5, 100, 5, 100, MaskFill.Zero), new Philox(1));
        Assert.That(masks.All(m => m.Start + m.Width <= (m.IsTime ? 3 : 4)));
        var batch = Enumerable.Range(0, 2 * 3 * 4).Select(i => 1f).ToArray();
        SpecAugment.ApplyBatch(batch, 2, 3, 4, new SpecAugmentOptions(1, 4, 0, 0, MaskFill.Zero), new Philox(2));
        Assert.Throws<ArgumentException>(() => SpecAugment.Apply(new float[11], 3, 4, new SpecAugmentOptions(), new Philox(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SpecAugment.Apply(x, 3, 4, new SpecAugmentOptions(-1), new Philox(1)));
    }

    [Test]
    public void MixupBlendsInputsAndSoftTargets([Values(false, true)] bool perExample)
    {
        const int b = 8, n = 5, c = 4;
        var labels = Enumerable.Range(0, b).Select(i => i % c).ToArray();
        var inputs = Enumerable.Range(0, b * n).Select(i => (float)(i / n)).ToArray();   // row i is all i
        var targets = new float[b * c];
        Mixup.OneHot(labels, targets, c, smoothing: 0.1f);
        var origInputs = (float[])inputs.Clone();
        var origTargets = (float[])targets.Clone();
        var r = Mixup.Apply(inputs, targets, b, 0.4, new Philox(17), perExample);
        Assert.That(r.Partner.Order(), Is.EqualTo(Enumerable.Range(0, b)), "partners are a permutation");
        if (!perExample) Assert.That(r.Lambda.Distinct().Count(), Is.EqualTo(1));
        for (int i = 0; i < b; i++)
        {
            float l = r.Lambda[i];
            Assert.That(l, Is.InRange(0f, 1f));
            int p = r.Partner[i];
            for (int k = 0; k < n; k++)
                Assert.That(inputs[i * n + k], Is.EqualTo(l * origInputs[i * n + k] + (1 - l) * origInputs[p * n + k]).Within(1e-5f));
            float sum = 0;
            for (int k = 0; k < c; k++)
            {
                Assert.That(targets[i * c + k], Is.EqualTo(l * origTargets[i * c + k] + (1 - l) * origTargets[p * c + k]).Within(1e-6f));
                sum += targets[i * c + k];
            }
            Assert.That(sum, Is.EqualTo(1f).Within(1e-6f), $"row {i} sums to 1");
        }
    }

    [Test]
    public void MixupAndOneHotValidate()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Mixup.Apply(new float[4], new float[4], 2, 0, new Philox(1)));
        Assert.Throws<ArgumentException>(() => Mixup.Apply(new float[5], new float[4], 2, 0.2, new Philox(1)));
        Assert.That(Mixup.Apply([], [], 0, 0.2, new Philox(1)).Partner, Is.Empty);
        Assert.Throws<ArgumentOutOfRangeException>(() => Mixup.OneHot([5], new float[4], 4));
        Assert.Throws<ArgumentException>(() => Mixup.OneHot([1, 2], new float[4], 4));
        var t = new float[3];
        Mixup.OneHot([2], t, 3);
        Assert.That(t, Is.EqualTo(new[] { 0f, 0f, 1f }));
    }
}

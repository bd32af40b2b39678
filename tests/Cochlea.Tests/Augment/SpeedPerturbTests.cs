// Speed perturbation: length 1/speed, a tone's frequency times speed, quantised speeds, identity at
// speed 1, the random form's range, and the Speech Commands pipeline applying it (and the tempo
// perturbation, which keeps the pitch) to training clips only.
using Cochlea.Models.Augment;
using Cochlea.Models.Data;
using NUnit.Framework;

namespace Cochlea.Tests.Augment;

[Category("Data")]
public class SpeedPerturbTests
{
    static float[] Tone(double hz, int n, int rate = 16000) =>
        Enumerable.Range(0, n).Select(i => (float)(0.5 * Math.Sin(2 * Math.PI * hz * i / rate))).ToArray();

    // Frequency from the zero crossings in the middle of the clip (away from the filter's edge effects).
    static double Frequency(float[] x, int rate = 16000)
    {
        int lo = x.Length / 4, hi = 3 * x.Length / 4, crossings = 0;
        for (int i = lo + 1; i < hi; i++) if ((x[i - 1] < 0) != (x[i] < 0)) crossings++;
        return crossings / 2.0 / ((hi - lo) / (double)rate);
    }

    [TestCase(1.1)]
    [TestCase(0.9)]
    [TestCase(1.025)]
    public void ASpeedScalesTheLengthDownAndTheFrequencyUp(double speed)
    {
        var sp = new SpeedPerturb(16000);
        var y = sp.Apply(Tone(500, 16000), speed);
        Assert.That(y.Length, Is.EqualTo((int)Math.Ceiling(16000 / speed)));
        Assert.That(Frequency(y), Is.EqualTo(500 * speed).Within(500 * speed * 0.01));
    }

    [Test]
    public void SpeedsAreQuantisedAndOneIsACopy()
    {
        var sp = new SpeedPerturb(16000);
        Assert.That(sp.Quantize(1.011), Is.EqualTo(1.0));
        Assert.That(sp.Quantize(1.04), Is.EqualTo(1.05).Within(1e-12));
        var x = Tone(300, 1000);
        var y = sp.Apply(x, 1.0);
        Assert.That(y, Is.EqualTo(x));
        Assert.That(y, Is.Not.SameAs(x));
        Assert.That(() => sp.Apply(x, 3), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new SpeedPerturb(16000, grid: 7), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void RandomSpeedsStayInTheRange()
    {
        var sp = new SpeedPerturb(16000);
        var rng = new Philox(5);
        var x = Tone(400, 4000);
        var seen = new HashSet<double>();
        for (int i = 0; i < 40; i++)
        {
            var (clip, speed) = sp.ApplyRandom(x, 0.9, 1.1, rng);
            Assert.That(speed, Is.InRange(0.9, 1.1));
            Assert.That(clip.Length, Is.EqualTo((int)Math.Ceiling(4000 / speed)));
            seen.Add(speed);
        }
        Assert.That(seen.Count, Is.GreaterThan(4), "several quantised speeds are drawn");
    }

    [Test]
    public void ThePipelinePerturbsTrainingClipsOnly()
    {
        var tone = Tone(500, 8000);
        var pipeline = new SpeechCommandsPipeline(_ => tone, null,
            new KwsAugmentOptions { Samples = 8000, TimeShiftSamples = 0, SpeedRange = (1.2, 1.2) });
        var item = new SpeechCommandsItem("x.wav", 2, DataSplit.Training);
        var train = pipeline.Load(item, new Philox(1), training: true).Audio;
        var eval = pipeline.Load(item, new Philox(1), training: false).Audio;
        Assert.That(eval, Is.EqualTo(tone));
        Assert.That(train.Skip(6667).All(v => v == 0f), "8000 / 1.2 = 6667 samples, then zero padding");
        Assert.That(Frequency(train[..6667]), Is.EqualTo(600).Within(6));
        Assert.That(() => new SpeechCommandsPipeline(_ => tone, null, new KwsAugmentOptions { SpeedRange = (0.2, 1) }),
            Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void ThePipelineStretchesTheTempoAndKeepsThePitch()
    {
        var tone = Tone(500, 8000);
        var pipeline = new SpeechCommandsPipeline(_ => tone, null,
            new KwsAugmentOptions { Samples = 8000, TimeShiftSamples = 0, TempoRange = (1.25, 1.25) });
        var item = new SpeechCommandsItem("x.wav", 2, DataSplit.Training);
        var train = pipeline.Load(item, new Philox(1), training: true).Audio;
        Assert.That(train.Skip(6400).All(v => v == 0f), "8000 / 1.25 = 6400 samples, then zero padding");
        Assert.That(Frequency(train[..6400]), Is.EqualTo(500).Within(10));
        Assert.That(pipeline.Load(item, new Philox(1), training: false).Audio, Is.EqualTo(tone));
    }
}

// Random equalisation: a 0 dB band is the identity, a peaking band boosts (or cuts) a tone at its
// centre by its gain and leaves a tone far from it alone, random bands stay in their ranges and are
// reproducible for a seed.
using Cochlea.Models.Augment;
using NUnit.Framework;

namespace Cochlea.Tests.Augment;

[Category("Data")]
public class RandomEqTests
{
    static float[] Tone(double hz, int n = 16000, int rate = 16000) =>
        Enumerable.Range(0, n).Select(i => (float)(0.25 * Math.Sin(2 * Math.PI * hz * i / rate))).ToArray();

    // RMS of the second half (past the filter's start-up transient).
    static double Rms(float[] x) => Math.Sqrt(x.Skip(x.Length / 2).Average(v => (double)v * v));

    [Test]
    public void AZeroGainBandIsTheIdentity()
    {
        var x = Tone(700);
        var y = (float[])x.Clone();
        RandomEq.Apply(y, [new EqBand(1000, 0, 1)], 16000);
        Assert.That(y, Is.EqualTo(x).Within(1e-6f));
    }

    [TestCase(12.0)]
    [TestCase(-9.0)]
    public void ABandScalesAToneAtItsCentreByItsGainAndLeavesAFarOneAlone(double gainDb)
    {
        var centre = Tone(1000);
        var far = Tone(7000);
        double c0 = Rms(centre), f0 = Rms(far);
        RandomEq.Apply(centre, [new EqBand(1000, gainDb, 1)], 16000);
        RandomEq.Apply(far, [new EqBand(1000, gainDb, 1)], 16000);
        Assert.That(20 * Math.Log10(Rms(centre) / c0), Is.EqualTo(gainDb).Within(0.1));
        Assert.That(Math.Abs(20 * Math.Log10(Rms(far) / f0)), Is.LessThan(1.0));
    }

    [Test]
    public void RandomBandsStayInTheirRangesAndRepeatForASeed()
    {
        var a = RandomEq.Draw(200, 10, 16000, new Philox(5));
        var b = RandomEq.Draw(200, 10, 16000, new Philox(5));
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.All(x => x.FrequencyHz >= RandomEq.MinFrequencyHz && x.FrequencyHz < 7200), Is.True);
        Assert.That(a.All(x => x.GainDb >= -10 && x.GainDb < 10 && x.Q >= 0.5 && x.Q < 2), Is.True);
        Assert.That(a.Min(x => x.GainDb), Is.LessThan(-8));
        Assert.That(a.Max(x => x.GainDb), Is.GreaterThan(8));
    }

    [Test]
    public void BadBandsAreRejected()
    {
        var x = new float[16];
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomEq.Apply(x, [new EqBand(9000, 3, 1)], 16000));
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomEq.Apply(x, [new EqBand(1000, 3, 0)], 16000));
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomEq.Draw(1, -1, 16000, new Philox(1)));
    }
}

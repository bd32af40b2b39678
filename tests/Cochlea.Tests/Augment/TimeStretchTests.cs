// Time stretch against a numpy transcription of librosa.effects.time_stretch, plus properties:
// length round(N / rate), pitch preserved, rate 1 close to the identity away from the edges.
using Cochlea.Models.Augment;
using Cochlea.Tests.Fixtures;
using NUnit.Framework;

namespace Cochlea.Tests.Augment;

public class TimeStretchTests
{
    [TestCase(0.8)]
    [TestCase(1.0)]
    [TestCase(1.15)]
    [TestCase(1.25)]
    public void MatchesTheLibrosaAlgorithm(double rate)
    {
        using var fx = ModelFixture.Open("time_stretch", "augment");
        var x = fx.Floats("x");
        var want = fx.Floats("y_" + rate.ToString("0.0#", System.Globalization.CultureInfo.InvariantCulture).Replace(".", "p"));
        var got = TimeStretch.Apply(x, rate);
        Assert.That(got.Length, Is.EqualTo(want.Length));
        Close.Check(got, want, 2e-4, 1e-3, $"stretch {rate}");
    }

    [Test]
    public void KeepsThePitch()
    {
        var x = Enumerable.Range(0, 16000).Select(i => (float)Math.Sin(2 * Math.PI * 500 * i / 16000.0)).ToArray();
        var y = TimeStretch.Apply(x, 1.25);
        Assert.That(y.Length, Is.EqualTo(12800));
        // zero crossings per second stay at 2 * 500 in the steady middle part
        int crossings = 0;
        for (int i = 3000; i < 11000; i++) if (y[i - 1] < 0 && y[i] >= 0) crossings++;
        Assert.That(crossings / (8000 / 16000.0), Is.EqualTo(500).Within(10));
    }

    [Test]
    public void RejectsBadRates()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TimeStretch.Apply(new float[100], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TimeStretch.Apply(new float[100], double.NaN));
        Assert.That(TimeStretch.Apply(ReadOnlySpan<float>.Empty, 1.2), Is.Empty);
    }
}

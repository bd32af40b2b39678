// Distribution checks of the Philox sampling helpers: bounded integers (range and uniformity),
// doubles, normals, Gamma and Beta moments (Beta via two Marsaglia-Tsang Gamma draws), shuffles.
using Cochlea.Models.Augment;
using NUnit.Framework;

namespace Cochlea.Tests.Augment;

[Category("Augment")]
public class PhiloxSamplingTests
{
    static (double Mean, double Var) Moments(Func<double> draw, int n)
    {
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) { double x = draw(); s += x; s2 += x * x; }
        double m = s / n;
        return (m, s2 / n - m * m);
    }

    [Test]
    public void NextIntIsUniformOverItsHalfOpenRange()
    {
        var rng = new Philox(11);
        var counts = new int[7];
        for (int i = 0; i < 70000; i++)
        {
            int v = rng.NextInt(-3, 4);
            Assert.That(v, Is.InRange(-3, 3));
            counts[v + 3]++;
        }
        // 10000 expected per value; 5 sigma is about 460.
        Assert.That(counts, Has.All.InRange(9500, 10500));
        Assert.That(rng.NextInt(int.MinValue, int.MaxValue), Is.LessThan(int.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(3, 3));
    }

    [Test]
    public void DoublesAndNormals()
    {
        var rng = new Philox(5);
        var (m, v) = Moments(rng.NextDouble, 100000);
        Assert.That(m, Is.EqualTo(0.5).Within(0.005));
        Assert.That(v, Is.EqualTo(1.0 / 12).Within(0.002));
        for (int i = 0; i < 1000; i++) Assert.That(rng.NextOpenDouble(), Is.GreaterThan(0).And.LessThan(1));
        (m, v) = Moments(rng.NextNormal, 100000);
        Assert.That(m, Is.EqualTo(0).Within(0.015));
        Assert.That(v, Is.EqualTo(1).Within(0.02));
    }

    [TestCase(0.1)]
    [TestCase(0.5)]
    [TestCase(1.0)]
    [TestCase(3.7)]
    public void GammaHasMeanAndVarianceShape(double shape)
    {
        var rng = new Philox(7);
        var (m, v) = Moments(() => rng.NextGamma(shape), 200000);
        Assert.That(m, Is.EqualTo(shape).Within(0.02 * Math.Max(1, shape)));
        Assert.That(v, Is.EqualTo(shape).Within(0.05 * Math.Max(1, shape)));
    }

    [TestCase(0.1, 0.1)]
    [TestCase(0.4, 0.4)]
    [TestCase(1.0, 1.0)]
    [TestCase(2.0, 5.0)]
    public void BetaHasTheRightMoments(double a, double b)
    {
        var rng = new Philox(3);
        int n = 200000;
        var (m, v) = Moments(() =>
        {
            double x = rng.NextBeta(a, b);
            Assert.That(x, Is.InRange(0.0, 1.0));
            return x;
        }, n);
        double mean = a / (a + b), variance = a * b / ((a + b) * (a + b) * (a + b + 1));
        // Standard error of the mean is sqrt(var/n) <= 0.0011 here; allow 5 of them.
        Assert.That(m, Is.EqualTo(mean).Within(5 * Math.Sqrt(variance / n)));
        Assert.That(v, Is.EqualTo(variance).Within(0.03 * variance + 0.001));
    }

    [Test]
    public void SamplingIsReproducibleFromSeedAndOffset()
    {
        var a = new Philox(99);
        var first = Enumerable.Range(0, 50).Select(_ => a.NextBeta(0.2, 0.2)).ToArray();
        var b = new Philox(99);
        Assert.That(Enumerable.Range(0, 50).Select(_ => b.NextBeta(0.2, 0.2)), Is.EqualTo(first));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.NextBeta(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.NextGamma(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.NextBool(1.5));
    }

    [Test]
    public void ShuffleIsAPermutationAndCoversOrders()
    {
        var rng = new Philox(1);
        var seen = new HashSet<string>();
        for (int t = 0; t < 600; t++)
        {
            var x = new[] { 0, 1, 2, 3 };
            rng.Shuffle(x.AsSpan());
            Assert.That(x.Order(), Is.EqualTo(new[] { 0, 1, 2, 3 }));
            seen.Add(string.Join(",", x));
        }
        Assert.That(seen, Has.Count.EqualTo(24), "all 4! orders appear");
    }
}

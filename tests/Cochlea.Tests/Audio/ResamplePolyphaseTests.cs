// The polyphase FIR kernel at every SIMD width against a double-precision reference: random ratios,
// phases, tap counts 1..70 (vector tails), counts 0..40, strided output with a guard after it.
// And the filter design: reduced ratios, unit DC gain of every phase, symmetry of the prototype.
using Cochlea.Kernels;
using Cochlea.Kernels.Audio;
using Cochlea.Tests.Kernels;
using NUnit.Framework;

namespace Cochlea.Tests.Audio;

[Category("Audio")]
public unsafe class ResamplePolyphaseTests
{
    static double[] Reference(float[] x, float[] bank, int up, int down, int taps, int phase, int count)
    {
        var y = new double[count];
        long s = 0;
        int p = phase;
        for (int n = 0; n < count; n++)
        {
            double acc = 0;
            for (int m = 0; m < taps; m++) acc += (double)bank[p * taps + m] * x[s + m];
            y[n] = acc;
            p += down;
            s += p / up;
            p %= up;
        }
        return y;
    }

    [Test]
    public void MatchesReferenceAtEveryWidth()
    {
        var rng = new Random(5);
        foreach (var w in Check.Paths)
            for (int trial = 0; trial < 300; trial++)
            {
                int up = 1 + rng.Next(7), down = 1 + rng.Next(9), taps = 1 + rng.Next(70), phase = rng.Next(up);
                int count = rng.Next(41), stride = 1 + rng.Next(3);
                var bank = Check.Rand(up * taps, rng);
                var x = Check.Rand((int)ResamplePolyphase.InputSpan(phase, up, down, taps, count), rng);
                var y = new GuardedBuffer(Math.Max(0, (count - 1) * stride + 1), 123f);
                fixed (float* px = x, pb = bank, py = y.Data)
                    ResamplePolyphase.Run(px, x.Length, pb, up, down, taps, phase, py, count, stride, w);
                var r = Reference(x, bank, up, down, taps, phase, count);
                string what = $"{w} up {up} down {down} taps {taps} phase {phase} count {count} stride {stride}";
                for (int n = 0; n < count; n++)
                    Assert.That(y.Data[n * stride], Is.EqualTo(r[n]).Within(1e-5 * Math.Sqrt(taps)), $"{what}: output {n}");
                for (int i = 0; i < y.Length; i++)
                    if (i % stride != 0) Assert.That(y.Data[i], Is.EqualTo(123f), $"{what}: element {i} between strided outputs was written");
                y.AssertGuard(what);
            }
    }

    [Test]
    public void FilterDesign()
    {
        var same = ResampleFilter.Design(16000, 16000);
        Assert.That((same.Up, same.Down, same.Taps, same.Bank.Length), Is.EqualTo((1, 1, 0, 0)));
        foreach (var (a, b) in new[] { (44100, 16000), (16000, 48000), (22050, 16000), (8000, 44100) })
        {
            var f = ResampleFilter.Design(a, b);
            int g = (int)System.Numerics.BigInteger.GreatestCommonDivisor(a, b);
            Assert.That((f.Up, f.Down), Is.EqualTo((b / g, a / g)));
            Assert.That(f.Bank, Has.Length.EqualTo(f.Up * f.Taps));
            for (int p = 0; p < f.Up; p++)
            {
                // Each phase sums the band-limited interpolation kernel at unit spacing: DC gain 1.
                double sum = 0;
                for (int m = 0; m < f.Taps; m++) sum += f.Bank[p * f.Taps + m];
                Assert.That(sum, Is.EqualTo(1).Within(1e-5), $"{a}->{b} phase {p}: DC gain");
            }
            // Phase 0 is the prototype at integer offsets t = T-1 .. -T: symmetric around tap T-1.
            for (int m = 0; m < f.HalfWidth - 1; m++)
                Assert.That(f.Bank[m], Is.EqualTo(f.Bank[2 * f.HalfWidth - 2 - m]), $"{a}->{b} tap {m}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => ResampleFilter.Design(-1, 8000));
        Assert.Throws<ArgumentException>(() => ResampleFilter.Design(48000, 47999));
    }

    [Test]
    public void ValidatesArguments()
    {
        var x = new float[10];
        var bank = new float[6];
        var y = new float[4];
        fixed (float* px = x, pb = bank, py = y)
        {
            nint ax = (nint)px, ab = (nint)pb, ay = (nint)py;
            Assert.Throws<ArgumentOutOfRangeException>(() => ResamplePolyphase.Run((float*)ax, 10, (float*)ab, 0, 1, 3, 0, (float*)ay, 1, 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => ResamplePolyphase.Run((float*)ax, 10, (float*)ab, 2, 1, 3, 2, (float*)ay, 1, 1), "phase >= up");
            Assert.Throws<ArgumentOutOfRangeException>(() => ResamplePolyphase.Run((float*)ax, 10, (float*)ab, 2, 1, 3, 0, (float*)ay, 1, 0), "stride 0");
            // 4 outputs at down 3 / up 2 from phase 1 read up to sample (1 + 9) / 2 + 3 = 8 > 7 available.
            Assert.Throws<ArgumentOutOfRangeException>(() => ResamplePolyphase.Run((float*)ax, 7, (float*)ab, 2, 3, 3, 1, (float*)ay, 4, 1), "input too short");
            Assert.DoesNotThrow(() => ResamplePolyphase.Run((float*)ax, 8, (float*)ab, 2, 3, 3, 1, (float*)ay, 4, 1));
            Assert.DoesNotThrow(() => ResamplePolyphase.Run(null, 0, null, 2, 3, 3, 1, null, 0, 1), "count 0 touches nothing");
        }
    }
}

// RealFft and ComplexFft against a naive double-precision DFT for every length 1..257 and a few large
// ones (powers of two, 400/320, primes through Bluestein), on every SIMD path with partial lane groups
// and guards after the outputs; plus Parseval and forward/inverse round trips.
using Cochlea.Kernels;
using Cochlea.Kernels.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public class FftTests
{
    static readonly int[] BigLengths = [320, 400, 512, 1000, 1024, 1155, 2048, 4096, 4099, 10007, 16000];

    static IEnumerable<int> AllLengths() => Enumerable.Range(1, 257).Concat(BigLengths);

    /// <summary>X[k] = sum_t x[t] e^{-2 pi i t k / n} in double, angle reduced mod n exactly.</summary>
    static (double[] Re, double[] Im) Dft(ReadOnlySpan<float> re, ReadOnlySpan<float> im, int n, int bins)
    {
        var cr = new double[n]; var ci = new double[n];
        for (int k = 0; k < n; k++) { double a = -2 * Math.PI * k / n; cr[k] = Math.Cos(a); ci[k] = Math.Sin(a); }
        var xr = new double[bins]; var xi = new double[bins];
        for (int k = 0; k < bins; k++)
        {
            double sr = 0, si = 0;
            for (int t = 0; t < n; t++)
            {
                int j = (int)((long)t * k % n);
                double a = re[t], b = im.IsEmpty ? 0 : im[t];
                sr += a * cr[j] - b * ci[j];
                si += a * ci[j] + b * cr[j];
            }
            xr[k] = sr; xi[k] = si;
        }
        return (xr, xi);
    }

    /// <summary>Float FFT error grows like eps * log2(n) * ||x||; for uniform [-1,1) input ||x|| ~ sqrt(n/3).</summary>
    static double Tol(int n) => 1e-7 * Math.Sqrt(n) * (4 + Math.Log2(n));

    static void AssertClose(ReadOnlySpan<float> got, double[] want, double atol, string what)
    {
        for (int i = 0; i < want.Length; i++)
            if (!(Math.Abs(got[i] - want[i]) <= atol))
                Assert.Fail($"{what}: element {i}: got {got[i]:R}, expected {want[i]:R} (|err| {Math.Abs(got[i] - want[i]):E2} > {atol:E2}).");
    }

    [Test]
    public void RealMatchesNaiveDft([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        var rng = new Random(1);
        foreach (int n in AllLengths())
        {
            var fft = RealFft.Get(n);
            int bins = n / 2 + 1;
            Assert.That(fft.Bins, Is.EqualTo(bins));
            // More rows than one lane group, not a multiple of it: exercises the partial group.
            int count = n > 4096 ? 2 : (w == SimdWidth.Scalar ? 2 : (int)w / 32 + 3);
            var x = Check.Rand(count * n, rng);
            var re = new GuardedBuffer(count * bins); var im = new GuardedBuffer(count * bins);
            fft.Forward(x, count, re.Span, im.Span, w);
            re.AssertGuard($"n={n} re"); im.AssertGuard($"n={n} im");
            for (int c = 0; c < count; c++)
            {
                var (er, ei) = Dft(x.AsSpan(c * n, n), default, n, bins);
                AssertClose(re.Span.Slice(c * bins, bins), er, Tol(n), $"{w} n={n} row {c} re");
                AssertClose(im.Span.Slice(c * bins, bins), ei, Tol(n), $"{w} n={n} row {c} im");
            }
        }
    }

    /// <summary>
    /// RealPlan.ForwardPower (the STFT's power path, with the last Stockham stage fused into the untangling for radix 4/5)
    /// against |DFT|^2 in double, for every length 1..257 (odd ones take the full-length path) and the feature sizes, on
    /// every SIMD path, W transforms in the lane layout, with a guard after the (Bins, W) power rows.
    /// </summary>
    [Test]
    public unsafe void PowerMatchesNaiveDft([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        var rng = new Random(5);
        int lanes = LaneDispatch.Lanes(w);
        foreach (int n in Enumerable.Range(1, 257).Concat(new[] { 320, 400, 512, 1000 }))
        {
            var plan = RealFft.Get(n).Plan;
            int bins = plan.Bins;
            var x = Check.Rand(lanes * n, rng);
            var work = new PinnedFloats(plan.WorkFloats(lanes));
            plan.Carve(work.Ptr, lanes, out float* zr, out float* zi, out _, out _, out float* scratch);
            // Lane layout: sample t of transform l at row t (odd n) or z row t/2 (even n: even samples re, odd im).
            for (int l = 0; l < lanes; l++)
                for (int t = 0; t < n; t++)
                {
                    if (plan.Split) (t % 2 == 0 ? zr : zi)[(t / 2) * lanes + l] = x[l * n + t];
                    else { zr[t * lanes + l] = x[l * n + t]; zi[t * lanes + l] = 0f; }
                }
            var power = new GuardedBuffer(bins * lanes);
            fixed (float* pw = power.Data)
            {
                var job = new PowerJob { Plan = plan, Zr = zr, Zi = zi, Power = pw, Scratch = scratch };
                LaneDispatch.Run(w, ref job);
            }
            power.AssertGuard($"{w} n={n} power");
            for (int l = 0; l < lanes; l++)
            {
                var (er, ei) = Dft(x.AsSpan(l * n, n), default, n, bins);
                var want = new double[bins];
                var got = new float[bins];
                for (int k = 0; k < bins; k++) { want[k] = er[k] * er[k] + ei[k] * ei[k]; got[k] = power.Data[k * lanes + l]; }
                // |X|^2 error ~ 2 |X| * error(X), |X| up to ~n/2 for these inputs.
                AssertClose(got, want, 2 * Tol(n) * (1 + Math.Sqrt(want.Max())), $"{w} n={n} lane {l} power");
            }
            // Only raw pointers into work's pinned array are used after Carve: without this the JIT may let the GC
            // collect it mid-iteration (an AccessViolation seen once in a full-suite run).
            GC.KeepAlive(work);
        }
    }

    unsafe struct PowerJob : ILaneJob
    {
        public RealPlan Plan;
        public float* Zr, Zi, Power, Scratch;
        public readonly void Run<TO, TV>() where TO : struct, Cochlea.Kernels.Numerics.IVec<TV> where TV : unmanaged
            => Plan.ForwardPower<TO, TV>(Zr, Zi, Power, Scratch);
    }

    [Test]
    public void ComplexMatchesNaiveDft([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        var rng = new Random(2);
        foreach (int n in AllLengths())
        {
            var fft = ComplexFft.Get(n);
            int count = n > 4096 ? 1 : (w == SimdWidth.Scalar ? 2 : (int)w / 32 + 1);
            var re = Check.Rand(count * n, rng); var im = Check.Rand(count * n, rng);
            var gr = new GuardedBuffer(count * n); var gi = new GuardedBuffer(count * n);
            re.CopyTo(gr.Span); im.CopyTo(gi.Span);
            fft.Forward(gr.Span, gi.Span, count, w);
            gr.AssertGuard($"n={n} re"); gi.AssertGuard($"n={n} im");
            for (int c = 0; c < count; c++)
            {
                var (er, ei) = Dft(re.AsSpan(c * n, n), im.AsSpan(c * n, n), n, n);
                AssertClose(gr.Span.Slice(c * n, n), er, Tol(2 * n), $"{w} n={n} row {c} re");
                AssertClose(gi.Span.Slice(c * n, n), ei, Tol(2 * n), $"{w} n={n} row {c} im");
            }
        }
    }

    [Test]
    public void SingleTransformEqualsBatchedScalar()
    {
        var rng = new Random(3);
        foreach (int n in new[] { 1, 2, 7, 400, 401 })
        {
            var x = Check.Rand(n, rng);
            int bins = n / 2 + 1;
            float[] r1 = new float[bins], i1 = new float[bins], r2 = new float[bins], i2 = new float[bins];
            RealFft.Get(n).Forward(x, r1, i1);
            RealFft.Get(n).Forward(x, 1, r2, i2, SimdWidth.Scalar);
            Assert.That(r1, Is.EqualTo(r2)); Assert.That(i1, Is.EqualTo(i2));
        }
    }

    [Test]
    public void Parseval()
    {
        var rng = new Random(4);
        foreach (int n in new[] { 1, 2, 3, 16, 17, 320, 400, 512, 997, 4099 })
        {
            var x = Check.Rand(n, rng);
            int bins = n / 2 + 1;
            float[] re = new float[bins], im = new float[bins];
            RealFft.Get(n).Forward(x, re, im);
            double time = x.Sum(v => (double)v * v), freq = 0;
            for (int k = 0; k < bins; k++)
            {
                double p = (double)re[k] * re[k] + (double)im[k] * im[k];
                bool single = k == 0 || (n % 2 == 0 && k == n / 2);
                freq += single ? p : 2 * p;
            }
            Assert.That(freq / n, Is.EqualTo(time).Within(1e-5 * time + 1e-6), $"n={n}");
        }
    }

    [Test]
    public void RealRoundTrip()
    {
        var rng = new Random(5);
        foreach (int n in AllLengths())
        {
            var x = Check.Rand(n, rng);
            int bins = n / 2 + 1;
            float[] re = new float[bins], im = new float[bins], y = new float[n];
            var fft = RealFft.Get(n);
            fft.Forward(x, re, im);
            fft.Inverse(re, im, y);
            Check.Close(y, x, 3e-6 * (4 + Math.Log2(n)), 0, $"n={n}");
        }
    }

    [Test]
    public void RealInverseIgnoresImaginaryDcAndNyquist()
    {
        foreach (int n in new[] { 8, 9 })
        {
            var fft = RealFft.Get(n);
            int bins = n / 2 + 1;
            var x = Check.Rand(n, new Random(n));
            float[] re = new float[bins], im = new float[bins], y = new float[n];
            fft.Forward(x, re, im);
            im[0] = 5f;
            if (n % 2 == 0) im[bins - 1] = -3f;
            fft.Inverse(re, im, y);
            Check.Close(y, x, 1e-5, 0, $"n={n}");
        }
    }

    [Test]
    public void ComplexRoundTrip([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        var rng = new Random(6);
        foreach (int n in new[] { 1, 5, 64, 100, 257, 400, 4099 })
        {
            var re = Check.Rand(n, rng); var im = Check.Rand(n, rng);
            float[] r = (float[])re.Clone(), i = (float[])im.Clone();
            var fft = ComplexFft.Get(n);
            fft.Forward(r, i, 1, w);
            fft.Inverse(r, i);
            Check.Close(r, re, 3e-6 * (4 + Math.Log2(n)), 0, $"n={n} re");
            Check.Close(i, im, 3e-6 * (4 + Math.Log2(n)), 0, $"n={n} im");
        }
    }

    [Test]
    public void PlansAreCachedAndBluesteinChosenForLargePrimes()
    {
        Assert.That(RealFft.Get(400), Is.SameAs(RealFft.Get(400)));
        Assert.That(RealFft.Get(512).UsesBluestein, Is.False);
        Assert.That(RealFft.Get(400).UsesBluestein, Is.False);
        Assert.That(ComplexFft.Get(10007).UsesBluestein, Is.True);
        Assert.That(ComplexFft.Get(31 * 29).UsesBluestein, Is.False);
        Assert.Throws<ArgumentOutOfRangeException>(() => RealFft.Get(0));
    }

    /// <summary>
    /// The lengths whose forward transforms take the prime-factor plan (half length 8 * odd, last radix 5: the 400-point
    /// frame among them) are in the lengths the naive-DFT tests above cover, so those tests check that path; and its
    /// pairing of outputs covers every bin exactly as the natural order does.
    /// </summary>
    [Test]
    public void PrimeFactorPlanCoversTheTestedLengths()
    {
        int[] pfa = [80, 240, 400];
        foreach (int n in pfa) Assert.That(RealFft.Get(n).Plan.UsesPrimeFactor, Is.True, $"n={n}");
        foreach (int n in new[] { 16, 40, 160, 200, 320, 512, 560 }) Assert.That(RealFft.Get(n).Plan.UsesPrimeFactor, Is.False, $"n={n}");
        Assert.That(pfa, Is.SubsetOf(AllLengths()));
        // PrimeFactorBin is a bijection of positions to bins with k = pos mod 8 (mod 8) and pos / 8 (mod h/8).
        var plan = new ComplexPlan(200, primeFactorFirst: true);
        var seen = new bool[200];
        for (int pos = 0; pos < 200; pos++)
        {
            int k = plan.PrimeFactorBin(pos);
            Assert.That(k % 8 == pos % 8 && k % 25 == pos / 8 && !seen[k], $"pos {pos} -> bin {k}");
            seen[k] = true;
        }
        Assert.Throws<ArgumentException>(() => new ComplexPlan(256, primeFactorFirst: true));
    }

    [Test]
    public void RejectsShortBuffers()
    {
        var fft = RealFft.Get(16);
        Assert.Throws<ArgumentException>(() => fft.Forward(new float[15], new float[9], new float[9]));
        Assert.Throws<ArgumentException>(() => fft.Forward(new float[16], new float[8], new float[9]));
        Assert.Throws<ArgumentException>(() => fft.Forward(new float[32], 2, new float[18], new float[17], SimdWidth.Scalar));
    }
}

// StftKernel against a direct double-precision reference (pad, window, DFT per frame) for the three
// framing conventions, every pad mode, win_length < n_fft, odd and prime n_fft, short clips and batches
// whose frames span lane groups, on every SIMD path and with 1 and 2 threads; plus window values.
using Cochlea.Kernels;
using Cochlea.Kernels.Audio;
using Cochlea.Kernels.Numerics;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public class FeatureStftTests
{
    /// <summary>Frame f of x as the FFT sees it (n_fft values), in double, straight from the spec's definition.</summary>
    static double[] Frame(StftSpec spec, float[] x, int f)
    {
        var fr = new double[spec.FftSize];
        int pad = spec.Pad, n = x.Length;
        for (int j = 0; j < spec.FrameLength; j++)
        {
            long i = (long)f * spec.Hop + spec.WindowOffset + j - pad;
            double v;
            if (i >= 0 && i < n) v = x[i];
            else if (i < -pad || i >= n + pad) v = 0;
            else v = spec.PadMode switch
            {
                PadMode.Reflect => x[i < 0 ? -i : 2 * (n - 1) - i],
                PadMode.Replicate => x[i < 0 ? 0 : n - 1],
                PadMode.Circular => x[((i % n) + n) % n],
                _ => 0,
            };
            fr[spec.WindowOffset + j] = v * spec.Window[j];
        }
        return fr;
    }

    internal static (double[] Re, double[] Im) Dft(double[] fr)
    {
        int n = fr.Length, bins = n / 2 + 1;
        var re = new double[bins]; var im = new double[bins];
        for (int k = 0; k < bins; k++)
            for (int t = 0; t < n; t++)
            {
                double a = -2 * Math.PI * ((long)t * k % n) / n;
                re[k] += fr[t] * Math.Cos(a); im[k] += fr[t] * Math.Sin(a);
            }
        return (re, im);
    }

    static IEnumerable<(string Name, StftSpec Spec)> Specs()
    {
        yield return ("torch 64/16 reflect", StftSpec.Torch(64, 16));
        yield return ("torch 400/160 win 300 constant", StftSpec.Torch(400, 160, 300, padMode: PadMode.Constant));
        yield return ("torch 50/7 win 33 hamming replicate", StftSpec.Torch(50, 7, 33, WindowKind.Hamming, periodic: false, padMode: PadMode.Replicate));
        yield return ("torch 37/5 circular (odd, prime n_fft)", StftSpec.Torch(37, 5, padMode: PadMode.Circular));
        yield return ("torch 48/12 no centre", StftSpec.Torch(48, 12, center: false));
        yield return ("tf 400/160/512", StftSpec.TensorFlow(400, 160, 512));
        yield return ("tf 25/10/32 hamming", StftSpec.TensorFlow(25, 10, 32, WindowKind.Hamming));
        yield return ("psf 400/160/512", StftSpec.SpeechFeatures(400, 160, 512));
        yield return ("psf 40/16/32 truncated", StftSpec.SpeechFeatures(40, 16, 32));
    }

    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var w in Simd.Available)
            foreach (var (name, spec) in Specs())
                yield return new TestCaseData(w, name, spec).SetName($"Stft {name} {w}");
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesDirectDefinition(SimdWidth w, string name, StftSpec spec)
    {
        var kernel = new StftKernel(spec);
        var rng = new Random(name.Length * 31 + (int)w);
        int bins = spec.Bins;
        foreach (int n in new[] { 0, 1, 30, spec.FftSize - 1, spec.FftSize, 3 * spec.FftSize + 17, 1000 })
        {
            if (spec.Center && spec.PadMode == PadMode.Reflect && n <= spec.Pad) continue;
            if (spec.Center && spec.PadMode == PadMode.Circular && n < spec.Pad) continue;
            if (spec.Center && spec.PadMode == PadMode.Replicate && n == 0) continue;
            foreach (int batch in new[] { 1, 3 })
            {
                var x = Check.Rand(batch * n, rng);
                int frames = spec.FrameCount(n);
                foreach (int threads in new[] { 1, 2 })
                {
                    var cplx = new GuardedBuffer(batch * frames * bins * 2);
                    kernel.Complex(x, batch, cplx.Span, w, threads);
                    cplx.AssertGuard($"{name} N={n} complex");
                    var power = new GuardedBuffer(batch * frames * bins);
                    kernel.Spectrum(x, batch, SpectrumKind.Power, power.Span, width: w, threads: threads);
                    power.AssertGuard($"{name} N={n} power");
                    var mag = new GuardedBuffer(batch * frames * bins);
                    kernel.Spectrum(x, batch, SpectrumKind.Magnitude, mag.Span, width: w, threads: threads);
                    var logp = new GuardedBuffer(batch * frames * bins);
                    kernel.Spectrum(x, batch, SpectrumKind.LogPower, logp.Span, logEpsilon: 1e-6f, width: w, threads: threads);
                    var phase = new GuardedBuffer(batch * frames * bins);
                    kernel.Spectrum(x, batch, SpectrumKind.Phase, phase.Span, width: w, threads: threads);
                    for (int b = 0; b < batch; b++)
                    {
                        var clip = x.AsSpan(b * n, n).ToArray();
                        for (int f = 0; f < frames; f++)
                        {
                            var (re, im) = Dft(Frame(spec, clip, f));
                            double tol = 2e-6 * Math.Sqrt(spec.FftSize) * (4 + Math.Log2(spec.FftSize));
                            int o = (b * frames + f) * bins;
                            for (int k = 0; k < bins; k++)
                            {
                                string at = $"{name} {w} thr={threads} N={n} clip {b} frame {f} bin {k}";
                                double p = re[k] * re[k] + im[k] * im[k], m = Math.Sqrt(p);
                                Assert.That(cplx.Data[2 * (o + k)], Is.EqualTo(re[k]).Within(tol), at + " re");
                                Assert.That(cplx.Data[2 * (o + k) + 1], Is.EqualTo(im[k]).Within(tol), at + " im");
                                Assert.That(power.Data[o + k], Is.EqualTo(p).Within(2 * tol * (m + 1)), at + " power");
                                Assert.That(mag.Data[o + k], Is.EqualTo(m).Within(tol), at + " magnitude");
                                Assert.That(logp.Data[o + k], Is.EqualTo(Math.Log(p + 1e-6)).Within(2 * tol * (m + 1) / (p + 1e-6) + 1e-5), at + " log power");
                                if (m > 1e-3)
                                {
                                    double d = Math.Abs(phase.Data[o + k] - Math.Atan2(im[k], re[k]));
                                    Assert.That(Math.Min(d, 2 * Math.PI - d), Is.LessThan(tol / m + 1e-5), at + " phase");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The fused first FFT stage (StridedFrames: frames read straight from the signal) computes the packed path's very input
    /// values, so every output is bitwise that of the packed path (StftSpec.KeepPackedInput), on every width and spec.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void FusedFirstStageMatchesPackedPathBitwise(SimdWidth w, string name, StftSpec spec)
    {
        var packedSpec = Specs().First(s => s.Name == name).Spec;
        packedSpec.KeepPackedInput();
        Assert.That(packedSpec.Strided.Fusable, Is.False);
        var fused = new StftKernel(spec);
        var packed = new StftKernel(packedSpec);
        var rng = new Random(name.Length);
        // 9000 and 16000 samples: enough frames for lane blocks (StftEngine's LaneBlock, K*W frames) at 16 lanes, with the
        // second clip's blocks starting mid-group; 2 threads split the groups differently from 1.
        foreach (int n in new[] { spec.FftSize, 3 * spec.FftSize + 17, 1000, 4000, 9000, 16000 })
        {
            if (spec.Center && n <= spec.Pad) continue;
            const int batch = 2;
            var x = Check.Rand(batch * n, rng);
            int count = batch * spec.FrameCount(n) * spec.Bins;
            var a = new float[2 * count]; var b = new float[2 * count];
            fused.Complex(x, batch, a, w, 1);
            packed.Complex(x, batch, b, w, 1);
            Assert.That(a, Is.EqualTo(b), $"{name} {w} N={n} complex");
            var pa = new float[count]; var pb = new float[count];
            fused.Spectrum(x, batch, SpectrumKind.Power, pa, width: w, threads: 1);
            packed.Spectrum(x, batch, SpectrumKind.Power, pb, width: w, threads: 1);
            Assert.That(pa, Is.EqualTo(pb), $"{name} {w} N={n} power");
            fused.Spectrum(x, batch, SpectrumKind.Power, pa, width: w, threads: 2);
            Assert.That(pa, Is.EqualTo(pb), $"{name} {w} N={n} power, 2 threads");
            var bank = MelFilterbank.Create(spec.Bins, 16000, 24);
            var melFused = new MelSpectrogramKernel(spec, bank, 2f, LogCompression.AmplitudeToDb(true, 80f));
            var melPacked = new MelSpectrogramKernel(packedSpec, bank, 2f, LogCompression.AmplitudeToDb(true, 80f));
            var ma = new float[batch * spec.FrameCount(n) * 24]; var mb = new float[ma.Length];
            melFused.Run(x, batch, ma, w, 1);
            melPacked.Run(x, batch, mb, w, 1);
            Assert.That(ma, Is.EqualTo(mb), $"{name} {w} N={n} log-mel");
        }
    }

    /// <summary>PackStrided's first step (AVX-512: 128-bit loads and in-lane 4 x 4 transposes) against its definition, every width and ragged hops.</summary>
    [Test]
    public unsafe void TransposeHopsMatchesDefinition([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w, [Values(160, 37, 64)] int hop)
    {
        int lanes = LaneDispatch.Lanes(w), len = 400;
        var rng = new Random(hop);
        var s = Check.Rand(lanes * hop + len, rng);
        var xt = new float[hop * lanes];
        fixed (float* ps = s) fixed (float* px = xt)
        {
            var job = new HopsJob { S = ps, Hop = hop, Len = len, Xt = px };
            LaneDispatch.Run(w, ref job);
        }
        for (int r = 0; r < hop; r++)
            for (int q = 0; q < lanes; q++)
                Assert.That(xt[r * lanes + q], Is.EqualTo(s[q * hop + r]), $"{w} hop {hop}: row {r} lane {q}");
    }

    unsafe struct HopsJob : ILaneJob
    {
        public float* S, Xt;
        public int Hop, Len;
        public readonly void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged => FftLanes.TransposeHops<TO, TV>(S, Hop, Len, Xt);
    }

    [Test]
    public void StridedTableCodesAndFusableFraming()
    {
        // n_fft 400, hop 160, win 300 centred: window sample j = pos - 50, code (j % 160) * 4 + j / 160, -1 outside.
        var t = StftSpec.Torch(400, 160, 300).Strided;
        Assert.That(t.Fusable, Is.True);
        int Code(int pos) => t.CodeAt(pos);
        Assert.That(Code(49), Is.EqualTo(-1));
        Assert.That(Code(50), Is.EqualTo(0));
        Assert.That(Code(50 + 170), Is.EqualTo(10 * 4 + 1));
        Assert.That(Code(50 + 299), Is.EqualTo(139 * 4 + 1));
        Assert.That(Code(350), Is.EqualTo(-1));
        // Frames longer than four hops shift lanes too often: packed path.
        Assert.That(StftSpec.Torch(400, 64).Strided.Fusable, Is.False);
        Assert.That(StftSpec.Torch(400, 100).Strided.Fusable, Is.True);
    }

    [Test]
    public void FrameCounts()
    {
        // torch: 1 + (N + 2*(n_fft/2) - n_fft) / hop; 16000 samples, n_fft 400, hop 160 -> 101.
        Assert.That(StftSpec.Torch(400, 160).FrameCount(16000), Is.EqualTo(101));
        Assert.That(StftSpec.Torch(400, 160, center: false).FrameCount(16000), Is.EqualTo(98));
        Assert.That(StftSpec.Torch(400, 160, center: false).FrameCount(399), Is.EqualTo(0));
        // TF (FreesoundCnn): 1 + (N - 400) // 160, 0 below 400 samples.
        var tf = StftSpec.TensorFlow(400, 160, 512);
        Assert.That(tf.FrameCount(16000), Is.EqualTo(98));
        Assert.That(tf.FrameCount(400), Is.EqualTo(1));
        Assert.That(tf.FrameCount(399), Is.EqualTo(0));
        Assert.That(tf.FrameCount(0), Is.EqualTo(0));
        Assert.That(tf.Bins, Is.EqualTo(257));
        // psf: 1 if N <= 400 else 1 + ceil((N - 400) / 160).
        var psf = StftSpec.SpeechFeatures(400, 160, 512);
        Assert.That(psf.FrameCount(0), Is.EqualTo(1));
        Assert.That(psf.FrameCount(400), Is.EqualTo(1));
        Assert.That(psf.FrameCount(401), Is.EqualTo(2));
        Assert.That(psf.FrameCount(16000), Is.EqualTo(99));
    }

    [Test]
    public void ReflectNeedsLongerSignal()
    {
        var k = new StftKernel(StftSpec.Torch(64, 16));
        var ex = Assert.Throws<ArgumentException>(() => k.Spectrum(new float[32], 1, SpectrumKind.Power, new float[3 * 33]))!;
        Assert.That(ex.Message, Does.Contain("Reflect padding"));
    }

    [Test]
    public void RejectsBadShapes()
    {
        var k = new StftKernel(StftSpec.Torch(64, 16));
        Assert.Throws<ArgumentException>(() => k.Spectrum(new float[101], 2, SpectrumKind.Power, new float[10000]));
        Assert.Throws<ArgumentException>(() => k.Spectrum(new float[200], 1, SpectrumKind.Power, new float[10]));
        Assert.Throws<ArgumentException>(() => k.Spectrum(new float[200], 1, SpectrumKind.Phase, new float[10000], binScale: new float[33]));
        Assert.Throws<ArgumentOutOfRangeException>(() => StftSpec.Torch(64, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => StftSpec.Torch(64, 16, 65));
    }

    [Test]
    public void WindowValues()
    {
        // torch.hann_window(4) = [0, .5, 1, .5]; periodic=False: [0, .75, .75, 0]; hamming(5, periodic=False) ends at 0.08.
        Assert.That(Windows.Create(WindowKind.Hann, 4), Is.EqualTo(new[] { 0f, 0.5f, 1f, 0.5f }).Within(1e-7f));
        Assert.That(Windows.Create(WindowKind.Hann, 4, periodic: false), Is.EqualTo(new[] { 0f, 0.75f, 0.75f, 0f }).Within(1e-7f));
        Assert.That(Windows.Create(WindowKind.Hamming, 5, periodic: false), Is.EqualTo(new[] { 0.08f, 0.54f, 1f, 0.54f, 0.08f }).Within(1e-7f));
        Assert.That(Windows.Create(WindowKind.Hamming, 4), Is.EqualTo(new[] { 0.08f, 0.54f, 1f, 0.54f }).Within(1e-7f));
        Assert.That(Windows.Create(WindowKind.Hann, 1), Is.EqualTo(new[] { 1f }));
        Assert.That(Windows.Create(WindowKind.Rectangular, 3), Is.EqualTo(new[] { 1f, 1f, 1f }));
        Assert.That(Windows.Create(WindowKind.Hann, 0), Is.Empty);
    }
}

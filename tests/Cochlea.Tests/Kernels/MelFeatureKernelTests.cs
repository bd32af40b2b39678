// Mel, decibel, MFCC and DeepSpeech kernels: every SIMD path against the scalar path and against direct
// double-precision definitions (dense filterbank product, dense DCT matrix), the lean decibel log, thread
// count independence (bitwise), edge cases (empty and short clips, batches spanning lane groups) and
// input validation.
using Cochlea.Kernels;
using Cochlea.Kernels.Audio;
using Cochlea.Kernels.Numerics;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public class MelFeatureKernelTests
{
    static float[] Signal(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(0.5 * Math.Sin(i * 0.031 * (1 + i / 4000.0)) + 0.2 * (rng.NextDouble() - 0.5));
        return x;
    }

    /// <summary>Direct reference: power spectrum in double (STFT test's DFT), dense mel product, optional log compression.</summary>
    internal static double[] MelReference(StftSpec spec, MelFilterbank bank, float[] x, int batch, Func<double, double> compress, double powerScale = 1)
    {
        int n = x.Length / batch, frames = spec.FrameCount(n), bins = spec.Bins;
        var dense = bank.ToDense();
        var y = new double[batch * frames * bank.Mels];
        var stft = new StftKernel(spec);
        var cplx = new float[batch * frames * bins * 2];
        stft.Complex(x, batch, cplx, SimdWidth.Scalar, 1);
        for (int r = 0; r < batch * frames; r++)
            for (int m = 0; m < bank.Mels; m++)
            {
                double acc = 0;
                for (int k = 0; k < bins; k++)
                {
                    double re = cplx[2 * (r * bins + k)], im = cplx[2 * (r * bins + k) + 1];
                    acc += dense[m * bins + k] * (re * re + im * im) * powerScale;
                }
                y[r * bank.Mels + m] = compress(acc);
            }
        return y;
    }

    static double MaxRelativeError(ReadOnlySpan<float> got, double[] want)
    {
        double lo = want.Min(), hi = want.Max(), err = 0;
        for (int i = 0; i < want.Length; i++) err = Math.Max(err, Math.Abs(got[i] - want[i]));
        return err / Math.Max(hi - lo, 1e-30);
    }

    [Test]
    public void MelMatchesDenseReferenceOnEveryPath([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        var spec = StftSpec.Torch(400, 160);
        var bank = MelFilterbank.Create(201, 16000, 40);
        var x = Signal(3 * 5000, 1);
        foreach (var (name, log, f) in new (string, LogCompression, Func<double, double>)[]
        {
            ("none", LogCompression.None, v => v),
            ("ln", LogCompression.Log(1e-6f), v => Math.Log(v + 1e-6)),
            ("db", LogCompression.PowerToDb(topDb: null), v => 10 * Math.Log10(Math.Max(v, 1e-10))),
        })
        {
            var k = new MelSpectrogramKernel(spec, bank, 2f, log);
            var y = new GuardedBuffer(3 * k.FrameCount(5000) * 40);
            k.Run(x, 3, y.Span, w, 1);
            y.AssertGuard(name);
            double e = MaxRelativeError(y.Span, MelReference(spec, bank, x, 3, f));
            Assert.That(e, Is.LessThan(2e-6), $"{w} {name}");
        }
    }

    [Test]
    public void PathsAndThreadCountsAgree()
    {
        var x = Signal(7 * 3001, 2);
        var mel = new MelSpectrogramKernel(StftSpec.Torch(512, 160), MelFilterbank.Create(257, 16000, 64), 2f, LogCompression.AmplitudeToDb(true, 80f));
        var mfcc = new MfccKernel(StftSpec.Torch(400, 160), MelFilterbank.Create(201, 16000, 40), 13, LogCompression.AmplitudeToDb(true, 80f));
        var ds = new SpeechFeaturesMfcc(new SpeechFeaturesOptions(NumCep: 26));
        foreach (var (name, rows, run) in new (string, int, Action<float[], SimdWidth, int>)[]
        {
            ("mel", 7 * mel.FrameCount(3001) * 64, (y, w, t) => mel.Run(x, 7, y, w, t)),
            ("mfcc", 7 * mfcc.FrameCount(3001) * 13, (y, w, t) => mfcc.Run(x, 7, y, w, t)),
            ("deepspeech", 7 * ds.FrameCount(3001) * 26, (y, w, t) => ds.Run(x, 7, y, w, t)),
        })
        {
            var scalar = new float[rows];
            run(scalar, SimdWidth.Scalar, 1);
            foreach (var w in Simd.Available)
            {
                var one = new float[rows]; var two = new float[rows];
                run(one, w, 1);
                run(two, w, 2);
                Assert.That(two, Is.EqualTo(one), $"{name} {w}: 2 threads differ from 1");
                double range = scalar.Max() - scalar.Min();
                for (int i = 0; i < rows; i++)
                    Assert.That(Math.Abs(one[i] - scalar[i]), Is.LessThanOrEqualTo(2e-5 * range), $"{name} {w} vs scalar at {i}");
            }
        }
    }

    /// <summary>
    /// The `compare features` calls (log-mel dB, MFCC; batch 1 and a batch spanning lane groups; one thread) allocate nothing once
    /// warm, on every width: workspaces come from the kernels' pools, the output from the caller (no GC work inside a timed call).
    /// </summary>
    [Test]
    public void WarmCallsAllocateNothing([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        var spec = StftSpec.Torch(400, 160);
        var bank = MelFilterbank.Create(201, 16000, 40);
        var mel = new MelSpectrogramKernel(spec, bank, 2f, LogCompression.AmplitudeToDb(true, 80f));
        var mfcc = new MfccKernel(spec, bank, 40, LogCompression.AmplitudeToDb(true, 80f));
        foreach (int batch in new[] { 1, 3 })
        {
            var x = Signal(batch * 16000, batch);
            var y = new float[batch * mel.FrameCount(16000) * 40];
            foreach (var (name, run) in new (string, Action)[] { ("log-mel", () => mel.Run(x, batch, y, w, 1)), ("mfcc", () => mfcc.Run(x, batch, y, w, 1)) })
                Assert.That(Check.WarmAllocatedBytes(run), Is.Zero, $"{name} {w} batch {batch}: bytes allocated by 5 warm calls (in each of 4 rounds)");
        }
    }

    /// <summary>
    /// MfccKernel keeps the mel rows in the lane layout and applies the clip pass as the DCT reads them; that must give bitwise
    /// the former two passes (row-major mel rows, Decibel.FinishClip per clip, DctLanes.Run), for every clip-pass kind (top_db
    /// low enough to clamp), batches whose clips share lane groups, 1 and 2 threads, every width.
    /// </summary>
    [Test]
    public void MfccLaneLayoutMatchesRowMajorTwoPassesBitwise()
    {
        var spec = StftSpec.Torch(400, 160);
        var bank = MelFilterbank.Create(201, 16000, 40);
        foreach (var (name, log) in new (string, LogCompression)[]
        {
            ("amplitude_to_db top 20", LogCompression.AmplitudeToDb(true, 20f)),
            ("power_to_db ref max top 30", LogCompression.PowerToDb(topDb: 30f, referenceIsMax: true)),
            ("power_to_db ref max", LogCompression.PowerToDb(topDb: null, referenceIsMax: true)),
            ("ln", LogCompression.Log(1e-6f)),
        })
        {
            var mfcc = new MfccKernel(spec, bank, 13, log);
            var dct = new DctLanes(40, MfccKernel.DctScale(13, 40, ortho: true));
            foreach (var (batch, n) in new[] { (1, 16000), (3, 3001), (5, 401) })
            {
                var x = Signal(batch * n, batch);
                int rows = batch * mfcc.FrameCount(n);
                foreach (var w in Simd.Available.Append(SimdWidth.Scalar).Distinct())
                    foreach (int threads in new[] { 1, 2 })
                    {
                        var mel = new float[rows * 40];
                        mfcc.Mel.Run(x, batch, mel, w, threads);
                        var want = new float[rows * 13];
                        unsafe
                        {
                            fixed (float* pm = mel) fixed (float* pw = want) dct.Run(pm, rows, 40, pw, w, threads);
                        }
                        var got = new GuardedBuffer(rows * 13);
                        mfcc.Run(x, batch, got.Span, w, threads);
                        got.AssertGuard($"{name} B={batch}");
                        Assert.That(got.Span.ToArray(), Is.EqualTo(want), $"{name} {w} B={batch} N={n} threads={threads}");
                    }
            }
        }
    }

    /// <summary>
    /// MfccKernel on lane blocks (StftEngine's LaneBlock: lane l of a group holds frame f0 + gg + K*l, the mel block is placed by
    /// the group's sequence position, the DCT writes each lane's row through the frame table) is bitwise MFCC on the packed path
    /// (StftSpec.KeepPackedInput: no fused first stage, no blocks, consecutive frames). Batches of 1, 3 and 64 clips at levels
    /// 20 dB apart (so each clip's top_db floor differs), lengths that give whole blocks, edge groups and groups spanning clips,
    /// 1 and 2 threads, every width.
    /// </summary>
    [Test]
    public void MfccLaneBlocksMatchPackedPathBitwise([Values(400, 512)] int nfft)
    {
        var spec = StftSpec.Torch(nfft, 160);
        var packedSpec = StftSpec.Torch(nfft, 160);
        packedSpec.KeepPackedInput();
        Assert.That(LaneBlock.Groups(spec, RealFft.Get(nfft).Plan), Is.GreaterThan(1), "this framing must make lane blocks");
        Assert.That(packedSpec.Strided.Fusable, Is.False);
        var bank = MelFilterbank.Create(nfft / 2 + 1, 16000, 40);
        var log = LogCompression.AmplitudeToDb(true, 30f);
        var blocks = new MfccKernel(spec, bank, 20, log);
        var packed = new MfccKernel(packedSpec, bank, 20, log);
        foreach (int n in new[] { 9000, 16000 })
            foreach (int batch in new[] { 1, 3, 64 })
            {
                var x = Signal(batch * n, batch + n);
                for (int i = 0; i < x.Length; i++) x[i] *= MathF.Pow(0.1f, i / n % 3);
                int count = batch * blocks.FrameCount(n) * 20;
                foreach (var w in Simd.Available)
                    foreach (int threads in new[] { 1, 2 })
                    {
                        var got = new GuardedBuffer(count);
                        blocks.Run(x, batch, got.Span, w, threads);
                        got.AssertGuard($"N={n} B={batch} {w}");
                        var want = new float[count];
                        packed.Run(x, batch, want, w, threads);
                        Assert.That(got.Span.ToArray(), Is.EqualTo(want), $"n_fft {nfft} N={n} B={batch} {w} threads={threads}");
                    }
            }
    }

    [Test]
    public void DctMatchesDenseMatrix([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        var rng = new Random(3);
        foreach (int n in new[] { 1, 2, 3, 13, 26, 40, 64, 67, 128 })
            foreach (int coef in new[] { 1, Math.Min(13, n), n })
            {
                var d = MfccKernel.CreateDct(coef, n);
                var dct = new DctLanes(n, MfccKernel.DctScale(coef, n, ortho: true));
                int rows = 21;
                var x = Check.Rand(rows * (n + 3), rng);
                var y = new GuardedBuffer(rows * coef);
                unsafe
                {
                    fixed (float* px = x) fixed (float* py = y.Data) dct.Run(px, rows, n + 3, py, w, 1);
                }
                y.AssertGuard($"n={n}");
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < coef; j++)
                    {
                        double want = 0;
                        for (int m = 0; m < n; m++) want += d[j * n + m] * (double)x[r * (n + 3) + m];
                        Assert.That(y.Data[r * coef + j], Is.EqualTo(want).Within(1e-5 * Math.Sqrt(n)), $"{w} n={n} row {r} coef {j}");
                    }
            }
    }

    [Test]
    public void DctMatrixIsOrthonormal()
    {
        var d = MfccKernel.CreateDct(40, 40);
        for (int i = 0; i < 40; i++)
            for (int j = 0; j < 40; j++)
            {
                double dot = 0;
                for (int m = 0; m < 40; m++) dot += (double)d[i * 40 + m] * d[j * 40 + m];
                Assert.That(dot, Is.EqualTo(i == j ? 1.0 : 0.0).Within(1e-6));
            }
    }

    [Test]
    public void LeanDecibelLogIsAccurate()
    {
        // The decibel step uses LaneMath.LogPositive; compare 10 log10(max(x, amin)) over 1e-10 .. 1e10 with double.
        var k = new MelSpectrogramKernel(StftSpec.Torch(16, 16, window: WindowKind.Rectangular, center: false), MelFilterbank.FromDense(new float[] { 1, 0, 0, 0, 0, 0, 0, 0, 0 }, 1, 9),
            2f, LogCompression.PowerToDb(topDb: null));
        var rng = new Random(4);
        for (int i = 0; i < 200; i++)
        {
            // A single frame whose DC bin power is chosen: x = c (constant) gives X_0 = 16 c, power 256 c^2.
            double p = Math.Pow(10, -10 + 20 * rng.NextDouble());
            float c = (float)(Math.Sqrt(p) / 16);
            var x = Enumerable.Repeat(c, 16).ToArray();
            var y = new float[1];
            k.Run(x, 1, y, Simd.Best, 1);
            double exact = 10 * Math.Log10(Math.Max(256.0 * c * c, 1e-10));
            Assert.That(y[0], Is.EqualTo(exact).Within(2e-5 * Math.Max(1, Math.Abs(exact))), $"power {p:E3}");
        }
    }

    /// <summary>LaneMath.LogPositive per lane (a, n) -&gt; y at one width; n a multiple of 16.</summary>
    unsafe struct LogJob : ILaneJob
    {
        public float* X, Y;
        public int N;
        public readonly void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged
        {
            for (int i = 0; i < N; i += TO.Count) TO.Store(Y + i, LaneMath.LogPositive<TO, TV>(TO.Load(X + i)));
        }
    }

    [Test]
    public unsafe void LeanLogAgreesBitwiseAcrossVectorPaths([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        // Every positive normal exponent with random mantissas, plus both sides of the range-reduction split at 2*0.70710677f.
        // The AVX-512 path reduces with vgetmantps/vgetexpps, the other vector paths by bit masks: they must agree bit for bit
        // (the 128-bit path is the comparison; the scalar one rounds its final multiply-adds separately, 1 ulp apart at times).
        var rng = new Random(11);
        var xs = new List<float> { 1f, 2f, 0.5f, float.MaxValue, 1.17549435e-38f };
        for (int e = -126; e <= 127; e++)
        {
            float split = MathF.ScaleB(2 * 0.707106781186547524f, e - 1);
            xs.AddRange(new[] { split, MathF.BitDecrement(split), MathF.BitIncrement(split) });
            for (int k = 0; k < 8; k++) xs.Add(MathF.ScaleB((float)(1 + rng.NextDouble()), e));
        }
        xs.RemoveAll(v => !float.IsNormal(v) || float.IsInfinity(v));
        while (xs.Count % 16 != 0) xs.Add(3f);
        var x = xs.ToArray();
        var y = new float[x.Length]; var reference = new float[x.Length];
        fixed (float* px = x) fixed (float* py = y) fixed (float* pr = reference)
        {
            var job = new LogJob { X = px, Y = py, N = x.Length };
            LaneDispatch.Run(w, ref job);
            var other = new LogJob { X = px, Y = pr, N = x.Length };
            LaneDispatch.Run(w != SimdWidth.Scalar && Simd.Supports(SimdWidth.V128) ? SimdWidth.V128 : SimdWidth.Scalar, ref other);
        }
        for (int i = 0; i < x.Length; i++)
        {
            // Bitwise against the 128-bit path only where w is another path (scalar differs by 1 ulp, see above).
            if (w > SimdWidth.V128)
                Assert.That(BitConverter.SingleToInt32Bits(y[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(reference[i])), $"{w} ln({x[i]:R})");
            double exact = Math.Log(x[i]);
            Assert.That(y[i], Is.EqualTo(exact).Within(1e-6 * Math.Max(1, Math.Abs(exact))), $"{w} ln({x[i]:R})");
        }
    }

    [Test]
    public void DecibelMatchesLibrosaFormula()
    {
        var s = new float[] { 0f, 1e-12f, 1e-3f, 0.5f, 2f, 100f };
        var y = new float[s.Length];
        Decibel.PowerToDb(s, y, reference: 1f, amin: 1e-10f, topDb: 80f);
        double max = 10 * Math.Log10(100);
        for (int i = 0; i < s.Length; i++)
            Assert.That(y[i], Is.EqualTo(Math.Max(10 * Math.Log10(Math.Max(1e-10, s[i])), max - 80)).Within(1e-5));
        Decibel.PowerToDb(s, y, topDb: null, referenceIsMax: true);
        for (int i = 0; i < s.Length; i++)
            Assert.That(y[i], Is.EqualTo(10 * Math.Log10(Math.Max(1e-10, s[i])) - max).Within(1e-4));
        Decibel.AmplitudeToDb(s, y, 20f);
        Assert.That(y[4], Is.EqualTo(20 * Math.Log10(2)).Within(1e-5));
    }

    /// <summary>The clip maximum (ref = max) is found wherever it sits: every position of lengths around the vector and 4-vector blocks.</summary>
    [Test]
    public void DecibelClipMaxFoundAtEveryPosition()
    {
        var rng = new Random(9);
        foreach (int n in new[] { 1, 15, 16, 17, 63, 64, 65, 80, 127, 200 })
            for (int at = 0; at < n; at++)
            {
                var s = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
                s[at] = 7f;
                var y = new float[n];
                Decibel.PowerToDb(s, y, topDb: null, referenceIsMax: true);
                Assert.That(y[at], Is.EqualTo(0f), $"n={n}: max at {at}");
                Assert.That(y.Max(), Is.EqualTo(0f), $"n={n}: max at {at}");
            }
    }

    [Test]
    public void FilterbankApplyMatchesDense()
    {
        var bank = MelFilterbank.Create(257, 16000, 64, 20, 7600, MelScale.Slaney, MelNorm.Slaney);
        Assert.That(bank.NonZeros, Is.LessThan(2 * 257 + 64));
        var dense = bank.ToDense();
        var s = Check.Rand(3 * 257, new Random(5)).Select(Math.Abs).ToArray();
        var mel = new float[3 * 64];
        bank.Apply(s, 3, mel);
        for (int r = 0; r < 3; r++)
            for (int m = 0; m < 64; m++)
            {
                double want = 0;
                for (int k = 0; k < 257; k++) want += dense[m * 257 + k] * (double)s[r * 257 + k];
                Assert.That(mel[r * 64 + m], Is.EqualTo(want).Within(1e-5));
            }
        Assert.That(MelFilterbank.FromDense(dense, 64, 257).ToDense(), Is.EqualTo(dense));
    }

    [Test]
    public void MelScalesRoundTrip()
    {
        foreach (var scale in new[] { MelScale.Htk, MelScale.Slaney })
            foreach (double hz in new[] { 0.0, 50, 999.9, 1000, 4000, 24000 })
                Assert.That(MelFilterbank.MelToHz(MelFilterbank.HzToMel(hz, scale), scale), Is.EqualTo(hz).Within(1e-9 * (1 + hz)));
        Assert.That(MelFilterbank.HzToMel(1000, MelScale.Slaney), Is.EqualTo(15).Within(1e-12));
        Assert.That(MelFilterbank.HzToMel(700, MelScale.Htk), Is.EqualTo(2595 * Math.Log10(2)).Within(1e-9));
    }

    [Test]
    public void SpeechFeaturesFramesAndEdgeCases()
    {
        var ds = new SpeechFeaturesMfcc(new SpeechFeaturesOptions(NumCep: 26));
        Assert.That(ds.Options.FrameLength, Is.EqualTo(400));
        Assert.That(ds.Options.FrameStep, Is.EqualTo(160));
        // Empty clip: one all-zero frame (psf pads to a whole frame); every filter is eps, c0 = ln(eps).
        var y = new float[26];
        ds.Run(ReadOnlySpan<float>.Empty, 1, y);
        Assert.That(y[0], Is.EqualTo(Math.Log(2.220446049250313e-16)).Within(1e-4));
        Assert.That(y.Skip(1).Max(v => Math.Abs(v)), Is.LessThan(1e-3));
        // Context windows: zero rows past the edges, the centre frame in the middle.
        var f = Enumerable.Range(0, 3 * 2).Select(i => (float)(i + 1)).ToArray();
        var c = new float[3 * 2 * 3];
        SpeechFeaturesMfcc.ContextWindows(f, 2, 1, c);
        Assert.That(c, Is.EqualTo(new float[] { 0, 0, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 3, 4, 5, 6, 0, 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpeechFeaturesMfcc(new SpeechFeaturesOptions(NumCep: 27)));
        Assert.Throws<ArgumentException>(() => SpeechFeaturesMfcc.ContextWindows(f, 4, 1, c));
    }

    [Test]
    public void ValidatesConfiguration()
    {
        var spec = StftSpec.Torch(400, 160);
        Assert.Throws<ArgumentException>(() => new MelSpectrogramKernel(spec, MelFilterbank.Create(257, 16000, 40)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MelSpectrogramKernel(spec, MelFilterbank.Create(201, 16000, 40), power: 3f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MfccKernel(spec, MelFilterbank.Create(201, 16000, 40), 41, LogCompression.None));
        Assert.Throws<ArgumentException>(() => MelFilterbank.Create(201, 16000, 40, fMin: 9000, fMax: 8000));
        Assert.Throws<ArgumentException>(() => MelFilterbank.SpeechFeatures(26, 512, 16000, highFreq: 9000));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MelSpectrogramKernel(spec, MelFilterbank.Create(201, 16000, 40), 2f, LogCompression.PowerToDb(amin: 0f)));
        var k = new MelSpectrogramKernel(spec, MelFilterbank.Create(201, 16000, 40));
        Assert.Throws<ArgumentException>(() => k.Run(new float[16000], 1, new float[100]));
    }
}

// Public FFT entry points: RealFft (n real samples -> n/2+1 complex bins) and ComplexFft, both of any
// length, with plans cached per length. Single transforms run on scalar lanes (the reference path);
// batched transforms run W rows at a time in the lane layout (FftLanes) at the requested SIMD width.
using System.Collections.Concurrent;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Audio;

/// <summary>
/// Real-input discrete Fourier transform of a fixed length n: X[k] = sum_{t&lt;n} x[t] exp(-2 pi i t k / n) for
/// k = 0..n/2 (n/2+1 bins, the non-redundant half), unnormalised, as numpy.fft.rfft / torch.fft.rfft. Any n &gt;= 1:
/// radix 4/2/3/5 (and other primes up to 31) Stockham stages, Bluestein's chirp-z beyond. Instances are
/// immutable, thread-safe and cached per length (<see cref="Get"/>).
/// </summary>
public sealed unsafe class RealFft
{
    static readonly ConcurrentDictionary<int, RealFft> Cache = new();

    internal readonly RealPlan Plan;

    RealFft(int n) => Plan = new RealPlan(n);

    /// <summary>The plan for length <paramref name="n"/> (&gt;= 1), built on first use and cached.</summary>
    public static RealFft Get(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "FFT length must be >= 1.");
        return Cache.GetOrAdd(n, static k => new RealFft(k));
    }

    /// <summary>Transform length n.</summary>
    public int Length => Plan.N;

    /// <summary>Output bins, n/2 + 1.</summary>
    public int Bins => Plan.Bins;

    /// <summary>True when the length has a prime factor &gt; 31 and runs through Bluestein's algorithm.</summary>
    public bool UsesBluestein => Plan.UsesBluestein;

    /// <summary>One transform: x (n) -&gt; re, im (n/2+1 each). Scalar path; use the batched overload for throughput.</summary>
    public void Forward(ReadOnlySpan<float> x, Span<float> re, Span<float> im) => Forward(x, 1, re, im, SimdWidth.Scalar);

    /// <summary>
    /// <paramref name="count"/> transforms: x is (count, n) row-major, re and im are (count, n/2+1). Runs W rows at a
    /// time at <paramref name="width"/> (W = width / 32 lanes).
    /// </summary>
    public void Forward(ReadOnlySpan<float> x, int count, Span<float> re, Span<float> im, SimdWidth width)
    {
        int n = Plan.N, bins = Plan.Bins;
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Transform count must be >= 0.");
        if (x.Length < (long)count * n) throw new ArgumentException($"x has {x.Length} floats, expected at least count*n = {(long)count * n}.", nameof(x));
        if (re.Length < (long)count * bins) throw new ArgumentException($"re has {re.Length} floats, expected at least count*(n/2+1) = {(long)count * bins}.", nameof(re));
        if (im.Length < (long)count * bins) throw new ArgumentException($"im has {im.Length} floats, expected at least count*(n/2+1) = {(long)count * bins}.", nameof(im));
        if (count == 0) return;
        int w = LaneDispatch.Lanes(width);
        fixed (float* px = x) fixed (float* pr = re) fixed (float* pi = im)
        {
            // Work: plan lanes + a zero row (missing lanes read it) + a dummy output row (missing lanes write it).
            float* work = PinnedFloats.ThreadScratch(Plan.WorkFloats(w) + 2L * (n + bins) + 64);
            var job = new BatchJob { Plan = Plan, X = px, Re = pr, Im = pi, Count = count, Work = work };
            LaneDispatch.Run(width, ref job);
        }
    }

    struct BatchJob : ILaneJob
    {
        public RealPlan Plan;
        public float* X, Re, Im, Work;
        public int Count;

        public void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count, n = Plan.N, bins = Plan.Bins;
            Plan.Carve(Work, w, out float* zr, out float* zi, out float* xr, out float* xi, out float* scratch);
            float* zeroRow = Work + Plan.WorkFloats(w);
            float* dummy = zeroRow + n;
            new Span<float>(zeroRow, n).Clear();
            float** src = stackalloc float*[w];
            float** dr = stackalloc float*[w];
            float** di = stackalloc float*[w];
            for (int g = 0; g < Count; g += w)
            {
                for (int l = 0; l < w; l++)
                {
                    bool live = g + l < Count;
                    src[l] = live ? X + (long)(g + l) * n : zeroRow;
                    dr[l] = live ? Re + (long)(g + l) * bins : dummy;
                    di[l] = live ? Im + (long)(g + l) * bins : dummy + bins;
                }
                FftLanes.Pack<TO, TV>(src, n, null, 0, Plan.Split, zr, zi);
                if (!Plan.Split) FftLanes.Zero<TO, TV>(zi, 0, n);
                Plan.Forward<TO, TV>(zr, zi, xr, xi, scratch);
                FftLanes.Store<TO, TV>(xr, bins, dr);
                FftLanes.Store<TO, TV>(xi, bins, di);
            }
        }
    }

    /// <summary>
    /// Inverse transform (numpy.fft.irfft with n = <see cref="Length"/>): x[t] = (1/n) sum_k X[k] exp(2 pi i t k / n) over the
    /// Hermitian extension of re + i*im (n/2+1 bins); imaginary parts of the DC (and, for even n, Nyquist) bins are ignored.
    /// </summary>
    public void Inverse(ReadOnlySpan<float> re, ReadOnlySpan<float> im, Span<float> x)
    {
        int n = Plan.N, bins = Plan.Bins;
        if (re.Length < bins || im.Length < bins) throw new ArgumentException($"re and im need {bins} bins (n/2+1 for n = {n}); got {re.Length} and {im.Length}.");
        if (x.Length < n) throw new ArgumentException($"x has {x.Length} floats, expected at least n = {n}.", nameof(x));
        fixed (float* pr = re) fixed (float* pi = im) fixed (float* px = x)
            Plan.Inverse(pr, pi, px, PinnedFloats.ThreadScratch(Plan.WorkFloats(1)));
    }
}

/// <summary>
/// Complex discrete Fourier transform of a fixed length n on split real/imaginary arrays:
/// forward X[k] = sum_t x[t] exp(-2 pi i t k / n); inverse x[t] = (1/n) sum_k X[k] exp(+2 pi i t k / n). Any n &gt;= 1
/// (mixed radix, Bluestein for prime factors &gt; 31). Immutable, thread-safe, cached per length.
/// </summary>
public sealed unsafe class ComplexFft
{
    static readonly ConcurrentDictionary<int, ComplexFft> Cache = new();

    internal readonly ComplexPlan Plan;

    ComplexFft(int n) => Plan = new ComplexPlan(n);

    /// <summary>The plan for length <paramref name="n"/> (&gt;= 1), built on first use and cached.</summary>
    public static ComplexFft Get(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "FFT length must be >= 1.");
        return Cache.GetOrAdd(n, static k => new ComplexFft(k));
    }

    /// <summary>Transform length n.</summary>
    public int Length => Plan.N;

    /// <summary>True when the length runs through Bluestein's algorithm.</summary>
    public bool UsesBluestein => Plan.UsesBluestein;

    /// <summary>In-place forward transform of one sequence (re, im of length n).</summary>
    public void Forward(Span<float> re, Span<float> im) => Forward(re, im, 1, SimdWidth.Scalar, inverse: false);

    /// <summary>In-place inverse transform of one sequence, scaled by 1/n (so Inverse(Forward(x)) = x).</summary>
    public void Inverse(Span<float> re, Span<float> im) => Forward(re, im, 1, SimdWidth.Scalar, inverse: true);

    /// <summary>In-place forward transforms of <paramref name="count"/> rows: re and im are (count, n) row-major.</summary>
    public void Forward(Span<float> re, Span<float> im, int count, SimdWidth width) => Forward(re, im, count, width, inverse: false);

    void Forward(Span<float> re, Span<float> im, int count, SimdWidth width, bool inverse)
    {
        int n = Plan.N;
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Transform count must be >= 0.");
        if (re.Length < (long)count * n || im.Length < (long)count * n)
            throw new ArgumentException($"re and im need count*n = {(long)count * n} floats; got {re.Length} and {im.Length}.");
        if (count == 0) return;
        int w = LaneDispatch.Lanes(width);
        fixed (float* pr = re) fixed (float* pi = im)
        {
            float* work = PinnedFloats.ThreadScratch(2L * n * w + Plan.ScratchFloats(w) + 2L * n + 64);
            var job = new BatchJob { Plan = Plan, Re = pr, Im = pi, Count = count, Work = work, Inverse = inverse };
            LaneDispatch.Run(width, ref job);
        }
    }

    struct BatchJob : ILaneJob
    {
        public ComplexPlan Plan;
        public float* Re, Im, Work;
        public int Count;
        public bool Inverse;

        public void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count, n = Plan.N;
            float* lr = Work, li = lr + (nint)n * w, scratch = li + (nint)n * w;
            float* spare = scratch + Plan.ScratchFloats(w); // zero row for missing lanes, then a dummy output row
            float** sr = stackalloc float*[w];
            float** si = stackalloc float*[w];
            // Inverse via conj(FFT(conj X)) / n: the conjugations are sign flips of im on the way in and out.
            for (int g = 0; g < Count; g += w)
            {
                new Span<float>(spare, 2 * n).Clear();
                for (int l = 0; l < w; l++)
                {
                    bool live = g + l < Count;
                    sr[l] = live ? Re + (long)(g + l) * n : spare;
                    si[l] = live ? Im + (long)(g + l) * n : spare + n;
                }
                FftLanes.Pack<TO, TV>(sr, n, null, 0, false, lr, lr);
                FftLanes.Pack<TO, TV>(si, n, null, 0, false, li, li);
                if (Inverse) Scale<TO, TV>(li, n, -1f);
                Plan.Forward<TO, TV>(lr, li, scratch);
                if (Inverse) { Scale<TO, TV>(lr, n, 1f / n); Scale<TO, TV>(li, n, -1f / n); }
                FftLanes.Store<TO, TV>(lr, n, sr);
                FftLanes.Store<TO, TV>(li, n, si);
            }
        }

        static void Scale<TO, TV>(float* rows, int n, float s) where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count;
            TV v = TO.Splat(s);
            for (int r = 0; r < n; r++) TO.Store(rows + (nint)r * w, TO.Mul(TO.Load(rows + (nint)r * w), v));
        }
    }
}

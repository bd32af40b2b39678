// Real-input FFT plan on W lanes. Even n: the n real samples are packed as z[t] = x[2t] + i x[2t+1], a
// complex FFT of length h = n/2 gives Z, and the n/2+1 bins follow from
//   E_k = (Z_k + conj Z_{h-k}) / 2,  O_k = -i (Z_k - conj Z_{h-k}) / 2,  X_k = E_k + w^k O_k,
//   X_{h-k} = conj(E_k - w^k O_k),   w = exp(-2 pi i / n),
// so each pass handles k and h-k together (half the work of a complex FFT of length n). Odd n: a complex
// FFT of length n with zero imaginary part. Also the width dispatcher shared by the audio kernels.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Audio;

/// <summary>A kernel body generic over the lane width; <see cref="LaneDispatch.Run{TJob}"/> picks the instantiation.</summary>
internal interface ILaneJob
{
    void Run<TO, TV>() where TO : struct, IVec<TV> where TV : unmanaged;
}

internal static class LaneDispatch
{
    /// <summary>
    /// Where a lane range [start, end) stops running at full width w: a last group at most half full runs at half
    /// the width instead (same per-lane arithmetic, half the work). Returns end when no such tail exists.
    /// </summary>
    public static long HalfWidthTailSplit(long start, long end, int w)
    {
        long full = start + (end - start) / w * w, tail = end - full;
        return w >= 8 && tail > 0 && tail <= w / 2 ? full : end;
    }

    /// <summary>
    /// Runs a range job over its [Start, End) at width TO, a last group at most half full at half the width
    /// (every step is vertical, FMA at every width: the same per-lane arithmetic, half the work for, say, the
    /// 5 frames left over from 101).
    /// </summary>
    public static void RunRange<TJob, TO, TV>(TJob job) where TJob : struct, IRangeJob where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        long split = HalfWidthTailSplit(job.Start, job.End, w);
        job.Range<TO, TV>(job.Start, split);
        if (split < job.End)
        {
            if (w == 16) job.Range<V256Ops, Vector256<float>>(split, job.End);
            else job.Range<V128Ops, Vector128<float>>(split, job.End);
        }
    }

    /// <summary>Runs job at the given width (validated), without boxing: TJob is a struct carrying the arguments.</summary>
    public static void Run<TJob>(SimdWidth width, ref TJob job) where TJob : struct, ILaneJob
    {
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
        switch (width)
        {
            case SimdWidth.V512: job.Run<V512Ops, Vector512<float>>(); break;
            case SimdWidth.V256: job.Run<V256Ops, Vector256<float>>(); break;
            case SimdWidth.V128: job.Run<V128Ops, Vector128<float>>(); break;
            default: job.Run<ScalarOps, float>(); break;
        }
    }

    /// <summary>Lanes (floats per vector) of a width.</summary>
    public static int Lanes(SimdWidth width) => width == SimdWidth.Scalar ? 1 : (int)width / 32;
}

internal sealed unsafe class RealPlan
{
    public readonly int N, Bins;
    /// <summary>True for even n (half-length complex transform on z = even + i*odd).</summary>
    public readonly bool Split;
    /// <summary>Rows of the packed complex input (n/2 for even n, n for odd).</summary>
    public readonly int ComplexLength;
    readonly ComplexPlan _c;
    readonly float[] _post; // (re, im) of w^k / 2 for k < h
    /// <summary>
    /// Forward transforms of h = 8 m (m odd) whose last stage is radix 5 run a prime-factor plan instead of _c (see
    /// ComplexPlan's primeFactorFirst): no twiddles after the first stage, the output in CRT order, untangled by FusedLastPfa.
    /// </summary>
    readonly ComplexPlan? _pf;
    /// <summary>Prime-factor plans: per leader butterfly pair (see FusedLastPfa), the butterflies A and B of the last stage.</summary>
    readonly int[] _leadA = [], _leadB = [];
    /// <summary>Per leader: 1 when B's outputs are rotated (FusedLastPfa); per leader and output kk of A (5 each) the bin it holds.</summary>
    readonly int[] _leadRotate = [], _leadBin = [];

    public RealPlan(int n)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "FFT length must be >= 1.");
        N = n;
        Bins = n / 2 + 1;
        Split = n % 2 == 0;
        ComplexLength = Split ? n / 2 : n;
        _c = new ComplexPlan(ComplexLength);
        int h = n / 2;
        // w^k / 2 for every k < h (at least 1): FusedLast and Inverse read k <= h/2, FusedLastPfa any bin.
        _post = GC.AllocateArray<float>(2 * Math.Max(h, 1), pinned: true);
        for (int k = 0; k < Math.Max(h, 1); k++)
        {
            double a = -2 * Math.PI * k / n;
            _post[2 * k] = (float)(0.5 * Math.Cos(a));
            _post[2 * k + 1] = (float)(0.5 * Math.Sin(a));
        }
        if (Split && ComplexPlan.PrimeFactorSplits(h) && _c.LastRadix == 5 && _c.FirstRadix == 8)
        {
            _pf = new ComplexPlan(h, primeFactorFirst: true);
            BuildPrimeFactorPairs(_pf, h, out _leadA, out _leadB, out _leadRotate, out _leadBin);
        }
    }

    /// <summary>
    /// The pairing of the prime-factor plan's last stage (radix 5, s = h/5 butterflies; butterfly q's output kk sits at
    /// position q + s*kk, holding bin PrimeFactorBin(pos)). Bin k pairs with bin h-k; every output of one butterfly pairs
    /// with an output of one other butterfly (or of itself), so butterflies are taken in pairs as in FusedLast.
    /// </summary>
    static void BuildPrimeFactorPairs(ComplexPlan pf, int h, out int[] leadA, out int[] leadB, out int[] rotate, out int[] bin)
    {
        const int r = 5;
        int s = h / r;
        var posOfBin = new int[h];
        for (int pos = 0; pos < h; pos++) posOfBin[pf.PrimeFactorBin(pos)] = pos;
        var a = new List<int>(); var b = new List<int>(); var kd = new List<int>(); var bn = new List<int>();
        var done = new bool[s];
        for (int q = 0; q < s; q++)
        {
            if (done[q]) continue;
            int qb = -1, rowKind = -1;
            for (int kk = 0; kk < r; kk++)
            {
                int k = pf.PrimeFactorBin(q + s * kk), pp = posOfBin[(h - k) % h];
                int q2 = pp % s, kk2 = pp / s;
                // The partner output's index: 4-kk (kind 1) or (5-kk) mod 5 (kind 2, kind 0 when q pairs with itself).
                int thisKind = q2 == q && kk2 == (r - kk) % r ? 0 : kk2 == r - 1 - kk ? 1 : kk2 == (r - kk) % r ? 2 : -1;
                if (thisKind < 0 || (qb >= 0 && (q2 != qb || thisKind != rowKind)))
                    throw new InvalidOperationException($"Prime-factor pairing of length {h}: butterfly {q} output {kk} pairs with butterfly {q2} output {kk2}.");
                qb = q2; rowKind = thisKind;
                bn.Add(k);
            }
            done[q] = done[qb] = true;
            a.Add(q); b.Add(qb); kd.Add(rowKind == 1 ? 0 : 1);
        }
        leadA = [.. a]; leadB = [.. b]; rotate = [.. kd]; bin = [.. bn];
    }

    /// <summary>The physical packed-input row (of ComplexLength) a forward transform reads as row t: t, or the prime-factor plan's permutation.</summary>
    public int InputRow(int t) => _pf?.InputRow(t) ?? t;

    public bool UsesBluestein => _c.UsesBluestein;

    /// <summary>True when forward transforms run the prime-factor plan (see _pf).</summary>
    public bool UsesPrimeFactor => _pf is not null;

    /// <summary>Floats of lane memory per width: packed input (2 x ComplexLength rows), output (2 x Bins rows), FFT scratch.</summary>
    public long WorkFloats(int w) => 2 * ComplexPlan.Slot((long)ComplexLength * w) + 2 * ComplexPlan.Slot((long)Bins * w) + _c.ScratchFloats(w);

    /// <summary>Lane buffers inside a work block of <see cref="WorkFloats"/>: zr/zi take the packed input, xr/xi receive the bins.</summary>
    public void Carve(float* work, int w, out float* zr, out float* zi, out float* xr, out float* xi, out float* scratch)
    {
        // Staggered slots (see ComplexPlan.Slot) so the buffers land in different L1 sets.
        zr = work; zi = zr + (nint)ComplexPlan.Slot((long)ComplexLength * w);
        xr = zi + (nint)ComplexPlan.Slot((long)ComplexLength * w); xi = xr + (nint)ComplexPlan.Slot((long)Bins * w);
        scratch = xi + (nint)ComplexPlan.Slot((long)Bins * w);
    }

    /// <summary>
    /// Transforms packed lanes: zr/zi hold z (Split) or x with zero imaginary part, (ComplexLength, W); the Bins
    /// rows of X are written to xr/xi (Bins, W). zr/zi are clobbered.
    /// </summary>
    public void Forward<TO, TV>(float* zr, float* zi, float* xr, float* xi, float* scratch) where TO : struct, IVec<TV> where TV : unmanaged
    {
        var put = new ComplexOut { Re = xr, Im = xi };
        Run<TO, TV, ComplexOut, LaneRows>(new LaneRows(zr, zi), false, zr, zi, scratch, put);
    }

    /// <summary>
    /// True when the packed input can come through an <see cref="IStageInput"/> read by the first complex stage
    /// (<see cref="ForwardFrom{TO,TV,TIn}"/>): even n whose half-length transform starts with a radix-8 stage and has another after it.
    /// </summary>
    public bool CanFuseInput => Split && _c.FirstRadix == 8 && _c.StageCount >= 2;

    /// <summary>
    /// <see cref="Forward{TO,TV}"/> with the packed input rows (z = even + i*odd positions, (ComplexLength, W)) read from
    /// <paramref name="input"/> by the first stage instead of zr/zi, which serve as that stage's output. Needs <see cref="CanFuseInput"/>.
    /// </summary>
    public void ForwardFrom<TO, TV, TIn>(TIn input, float* zr, float* zi, float* xr, float* xi, float* scratch)
        where TO : struct, IVec<TV> where TV : unmanaged where TIn : struct, IStageInput
    {
        var put = new ComplexOut { Re = xr, Im = xi };
        Run<TO, TV, ComplexOut, TIn>(input, true, zr, zi, scratch, put);
    }

    /// <summary><see cref="ForwardPower{TO,TV}"/> with the input read from <paramref name="input"/>, as <see cref="ForwardFrom{TO,TV,TIn}"/>.</summary>
    public void ForwardPowerFrom<TO, TV, TIn>(TIn input, float* zr, float* zi, float* power, float* scratch)
        where TO : struct, IVec<TV> where TV : unmanaged where TIn : struct, IStageInput
    {
        var put = new PowerOut { P = power };
        Run<TO, TV, PowerOut, TIn>(input, true, zr, zi, scratch, put);
    }

    /// <summary>
    /// As <see cref="Forward{TO,TV}"/> but writes only |X_k|^2 (Bins, W) to <paramref name="power"/>: the spectra of power,
    /// mel and log features need no phase, and fusing the square into the untangling pass saves a pass over the bins.
    /// </summary>
    public void ForwardPower<TO, TV>(float* zr, float* zi, float* power, float* scratch) where TO : struct, IVec<TV> where TV : unmanaged
    {
        var put = new PowerOut { P = power };
        Run<TO, TV, PowerOut, LaneRows>(new LaneRows(zr, zi), false, zr, zi, scratch, put);
    }

    /// <summary>Where the untangled bins go: Put(row offset, re, im) for one lane row.</summary>
    interface IBinOut
    {
        void Put<TO, TV>(nint offset, TV re, TV im) where TO : struct, IVec<TV> where TV : unmanaged;
    }

    struct ComplexOut : IBinOut
    {
        public float* Re, Im;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Put<TO, TV>(nint offset, TV re, TV im) where TO : struct, IVec<TV> where TV : unmanaged
        {
            TO.Store(Re + offset, re);
            TO.Store(Im + offset, im);
        }
    }

    struct PowerOut : IBinOut
    {
        public float* P;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Put<TO, TV>(nint offset, TV re, TV im) where TO : struct, IVec<TV> where TV : unmanaged
            => TO.Store(P + offset, TO.MulAdd(re, re, TO.Mul(im, im)));
    }

    /// <summary>The transform: the first stage reads <paramref name="first"/> when <paramref name="fused"/> (else zr/zi), the bins go to put.</summary>
    void Run<TO, TV, TOut, TIn>(TIn first, bool fused, float* zr, float* zi, float* scratch, TOut put)
        where TO : struct, IVec<TV> where TV : unmanaged where TOut : struct, IBinOut where TIn : struct, IStageInput
    {
        int w = TO.Count;
        if (fused && !CanFuseInput) throw new InvalidOperationException($"The {N}-point plan cannot read its input through a fused first stage.");
        if (!Split)
        {
            _c.ForwardAnywhere<TO, TV>(zr, zi, scratch, out float* cr, out float* ci);
            for (int k = 0; k < Bins; k++) put.Put<TO, TV>((nint)k * w, TO.Load(cr + (nint)k * w), TO.Load(ci + (nint)k * w));
            return;
        }
        int h = N / 2, r = _c.LastRadix;
        fixed (float* post = _post)
        {
            if (_pf is not null)
            {
                _pf.ForwardStages<TO, TV, TIn>(first, fused, zr, zi, scratch, _pf.StageCount - 1, out float* ar, out float* ai);
                fixed (int* la = _leadA) fixed (int* lb = _leadB) fixed (int* lp = _leadRotate) fixed (int* lk = _leadBin)
                    FusedLastPfa<TO, TV, TOut>(h, ar, ai, post, put, _leadA.Length, la, lb, lp, lk);
                return;
            }
            if (r is 4 or 5)
            {
                // The last stage's butterflies (no twiddles) untangled as they come out: see FusedLast.
                _c.ForwardStages<TO, TV, TIn>(first, fused, zr, zi, scratch, _c.StageCount - 1, out float* ar, out float* ai);
                if (r == 5) FusedLast<TO, TV, TOut, Last5>(h, ar, ai, post, put);
                else FusedLast<TO, TV, TOut, Last4>(h, ar, ai, post, put);
                return;
            }
            float* cr, ci;
            if (fused) _c.ForwardStages<TO, TV, TIn>(first, true, zr, zi, scratch, _c.StageCount, out cr, out ci);
            else _c.ForwardAnywhere<TO, TV>(zr, zi, scratch, out cr, out ci);
            Ends<TO, TV, TOut>(h, TO.Load(cr), TO.Load(ci), put);
            for (int k = 1; 2 * k <= h; k++)
            {
                nint ik = (nint)k * w, im = (nint)(h - k) * w;
                Pair<TO, TV, TOut>(h, k, TO.Load(cr + ik), TO.Load(ci + ik), TO.Load(cr + im), TO.Load(ci + im), post, put);
            }
        }
    }

    /// <summary>Bins 0 and h from Z_0: X_0 = Re Z_0 + Im Z_0, X_h = Re Z_0 - Im Z_0 (both real).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Ends<TO, TV, TOut>(int h, TV z0r, TV z0i, TOut put) where TO : struct, IVec<TV> where TV : unmanaged where TOut : struct, IBinOut
    {
        TV zero = TO.Splat(0f);
        put.Put<TO, TV>(0, TO.Add(z0r, z0i), zero);
        put.Put<TO, TV>((nint)h * TO.Count, TO.Sub(z0r, z0i), zero);
    }

    /// <summary>Bins k and h-k (1 &lt;= k &lt; h) from Z_k and Z_{h-k} (the formulas in the header; k = h/2 writes its bin twice, the second wins).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Pair<TO, TV, TOut>(int h, int k, TV zkr, TV zki, TV zmr, TV zmi, float* post, TOut put) where TO : struct, IVec<TV> where TV : unmanaged where TOut : struct, IBinOut
    {
        TV half = TO.Splat(0.5f);
        TV er = TO.Mul(half, TO.Add(zkr, zmr)), ei = TO.Mul(half, TO.Sub(zki, zmi));
        // 2*O = -i * (Z_k - conj Z_m) = (zki + zmi, -(zkr - zmr)); post holds w^k / 2.
        TV o2r = TO.Add(zki, zmi), o2i = TO.Sub(zmr, zkr);
        TV wr = TO.Splat(post[2 * k]), wi = TO.Splat(post[2 * k + 1]);
        TV tr = TO.NegMulAdd(o2i, wi, TO.Mul(o2r, wr)), ti = TO.MulAdd(o2r, wi, TO.Mul(o2i, wr));
        put.Put<TO, TV>((nint)k * TO.Count, TO.Add(er, tr), TO.Add(ei, ti));
        put.Put<TO, TV>((nint)(h - k) * TO.Count, TO.Sub(er, tr), TO.Sub(ti, ei));
    }

    // ---- the last Stockham stage fused with the untangling. After all stages but the last (radix r, m = 1, s = h/r),
    // butterfly q (q < s) takes rows q + s*j and gives Z_{q + s*k} = DFT_r(...)_k. The partner h - (q + s*k) of each of
    // its outputs is output r-1-k of butterfly s-q (output r-k of butterfly 0 when q = 0), so butterflies q and s-q are
    // computed together, in registers, for q <= s/2, and every (k, h-k) pair is untangled straight from them: the
    // last stage's h rows are never stored and read back (measured: the 400-point power FFT alone about 10 % faster).
    // Pair wants its smaller index first (k <= h/2); the comments give which outputs fall below h/2.

    /// <summary>The radix of a fused last stage, as a type so each instantiation folds its branches.</summary>
    interface ILastRadix { static abstract int R { get; } }
    struct Last4 : ILastRadix { public static int R => 4; }
    struct Last5 : ILastRadix { public static int R => 5; }

    /// <summary>Butterfly q of the last stage: its outputs 0, 1, 2 and the last two (r-2, r-1); for r = 4 output 2 is also r-2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Column<TO, TV, TR>(float* pr, float* pi, nint ss, out TV c0r, out TV c0i, out TV c1r, out TV c1i, out TV c2r, out TV c2i,
        out TV prevR, out TV prevI, out TV lastR, out TV lastI) where TO : struct, IVec<TV> where TV : unmanaged where TR : struct, ILastRadix
    {
        if (TR.R == 5)
            ComplexPlan.Dft5<TO, TV>(TO.Load(pr), TO.Load(pi), TO.Load(pr + ss), TO.Load(pi + ss), TO.Load(pr + 2 * ss), TO.Load(pi + 2 * ss),
                TO.Load(pr + 3 * ss), TO.Load(pi + 3 * ss), TO.Load(pr + 4 * ss), TO.Load(pi + 4 * ss),
                out c0r, out c0i, out c1r, out c1i, out c2r, out c2i, out prevR, out prevI, out lastR, out lastI);
        else
        {
            ComplexPlan.Dft4<TO, TV>(TO.Load(pr), TO.Load(pi), TO.Load(pr + ss), TO.Load(pi + ss), TO.Load(pr + 2 * ss), TO.Load(pi + 2 * ss),
                TO.Load(pr + 3 * ss), TO.Load(pi + 3 * ss), out c0r, out c0i, out c1r, out c1i, out c2r, out c2i, out lastR, out lastI);
            prevR = c2r; prevI = c2i;
        }
    }

    /// <summary>The fused last stage for radix TR (4 or 5); the comments give the index pairs for r = 5 (r = 4 drops the k = 2 pair).</summary>
    static void FusedLast<TO, TV, TOut, TR>(int h, float* xr, float* xi, float* post, TOut put)
        where TO : struct, IVec<TV> where TV : unmanaged where TOut : struct, IBinOut where TR : struct, ILastRadix
    {
        int w = TO.Count, s = h / TR.R;
        nint ss = (nint)s * w;
        for (int q = 0; 2 * q <= s; q++)
        {
            Column<TO, TV, TR>(xr + (nint)q * w, xi + (nint)q * w, ss, out TV a0r, out TV a0i, out TV a1r, out TV a1i, out TV a2r, out TV a2i,
                out TV apr, out TV api, out TV alr, out TV ali);
            if (q == 0)
            {
                // Outputs s*k: Z_0, then the pairs (s, (r-1)s) and (2s, (r-2)s) (for r = 4, 2s = h/2 on its own).
                Ends<TO, TV, TOut>(h, a0r, a0i, put);
                Pair<TO, TV, TOut>(h, s, a1r, a1i, alr, ali, post, put);
                Pair<TO, TV, TOut>(h, 2 * s, a2r, a2i, apr, api, post, put);
            }
            else if (2 * q == s)
            {
                // Its own partner: (q, q + (r-1)s), (q + s, q + (r-2)s), and for r = 5 q + 2s = h/2.
                Pair<TO, TV, TOut>(h, q, a0r, a0i, alr, ali, post, put);
                Pair<TO, TV, TOut>(h, q + s, a1r, a1i, apr, api, post, put);
                if (TR.R == 5) Pair<TO, TV, TOut>(h, q + 2 * s, a2r, a2i, a2r, a2i, post, put);
            }
            else
            {
                Column<TO, TV, TR>(xr + (nint)(s - q) * w, xi + (nint)(s - q) * w, ss, out TV b0r, out TV b0i, out TV b1r, out TV b1i, out TV b2r, out TV b2i,
                    out TV bpr, out TV bpi, out TV blr, out TV bli);
                // q + s*k is below h/2 for k < r/2; above it the pair is led by butterfly s-q's output (s - q + s*(r-1-k)).
                Pair<TO, TV, TOut>(h, q, a0r, a0i, blr, bli, post, put);
                Pair<TO, TV, TOut>(h, q + s, a1r, a1i, bpr, bpi, post, put);
                if (TR.R == 5) Pair<TO, TV, TOut>(h, q + 2 * s, a2r, a2i, b2r, b2i, post, put);
                Pair<TO, TV, TOut>(h, 2 * s - q, b1r, b1i, apr, api, post, put);
                Pair<TO, TV, TOut>(h, s - q, b0r, b0i, alr, ali, post, put);
            }
        }
    }

    /// <summary>
    /// FusedLast for the prime-factor plan (last radix 5): per leader, butterfly A and its partner butterfly B computed in
    /// registers; output kk of A (bin k) is untangled with its partner (bin h-k), B's output 4-kk, or (5-kk) mod 5 when the
    /// leader is rotated (B's outputs moved down by one, so both read 4-kk). A butterfly paired with itself (B = A) pairs
    /// kk with (5-kk) mod 5. Pair holds for any k in [1, h) given w^k, and for k = 0 it equals Ends.
    /// </summary>
    static void FusedLastPfa<TO, TV, TOut>(int h, float* xr, float* xi, float* post, TOut put, int leaders, int* leadA, int* leadB, int* rotate, int* bin)
        where TO : struct, IVec<TV> where TV : unmanaged where TOut : struct, IBinOut
    {
        int w = TO.Count, s = h / 5;
        nint ss = (nint)s * w;
        for (int i = 0; i < leaders; i++)
        {
            nint qa = (nint)leadA[i] * w, qb = (nint)leadB[i] * w;
            int* k = bin + 5 * i;
            Column<TO, TV, Last5>(xr + qa, xi + qa, ss, out TV a0r, out TV a0i, out TV a1r, out TV a1i, out TV a2r, out TV a2i,
                out TV a3r, out TV a3i, out TV a4r, out TV a4i);
            if (qb == qa)
            {
                // Paired with itself (bins 0 and h/2's butterflies): outputs kk and (5-kk) mod 5.
                Pair<TO, TV, TOut>(h, k[0], a0r, a0i, a0r, a0i, post, put);
                Pair<TO, TV, TOut>(h, k[1], a1r, a1i, a4r, a4i, post, put);
                Pair<TO, TV, TOut>(h, k[2], a2r, a2i, a3r, a3i, post, put);
                continue;
            }
            Column<TO, TV, Last5>(xr + qb, xi + qb, ss, out TV b0r, out TV b0i, out TV b1r, out TV b1i, out TV b2r, out TV b2i,
                out TV b3r, out TV b3i, out TV b4r, out TV b4i);
            if (rotate[i] != 0)
            {
                TV tr = b0r, ti = b0i;
                b0r = b1r; b0i = b1i; b1r = b2r; b1i = b2i; b2r = b3r; b2i = b3i; b3r = b4r; b3i = b4i; b4r = tr; b4i = ti;
            }
            Pair<TO, TV, TOut>(h, k[0], a0r, a0i, b4r, b4i, post, put);
            Pair<TO, TV, TOut>(h, k[1], a1r, a1i, b3r, b3i, post, put);
            Pair<TO, TV, TOut>(h, k[2], a2r, a2i, b2r, b2i, post, put);
            Pair<TO, TV, TOut>(h, k[3], a3r, a3i, b1r, b1i, post, put);
            Pair<TO, TV, TOut>(h, k[4], a4r, a4i, b0r, b0i, post, put);
        }
    }

    /// <summary>
    /// Inverse of <see cref="Forward{TO,TV}"/> for one transform (scalar lanes): x[t] = (1/n) sum over the full Hermitian
    /// spectrum; the imaginary parts of X_0 (and X_{n/2} for even n) are ignored, as numpy.fft.irfft does.
    /// work holds <see cref="WorkFloats"/>(1) floats.
    /// </summary>
    public void Inverse(float* xr, float* xi, float* x, float* work)
    {
        Carve(work, 1, out float* zr, out float* zi, out _, out _, out float* scratch);
        int n = N;
        if (!Split)
        {
            // Full Hermitian spectrum, conjugated: IFFT(Y) = conj(FFT(conj Y)) / n; only the real part is kept.
            zr[0] = xr[0]; zi[0] = 0;
            for (int k = 1; k < Bins; k++) { zr[k] = xr[k]; zi[k] = -xi[k]; zr[n - k] = xr[k]; zi[n - k] = xi[k]; }
            _c.Forward<ScalarOps, float>(zr, zi, scratch);
            for (int t = 0; t < n; t++) x[t] = zr[t] / n;
            return;
        }
        int h = n / 2;
        fixed (float* post = _post)
        {
            // Z_0 = E_0 + i O_0 with E_0 = (X_0 + X_h)/2, O_0 = (X_0 - X_h)/2 (real parts only).
            zr[0] = 0.5f * (xr[0] + xr[h]);
            zi[0] = 0.5f * (xr[0] - xr[h]);
            for (int k = 1; k < h; k++)
            {
                int m = h - k;
                float er = 0.5f * (xr[k] + xr[m]), ei = 0.5f * (xi[k] - xi[m]);
                float dr = 0.5f * (xr[k] - xr[m]), di = 0.5f * (xi[k] + xi[m]);
                // O = D * conj(w^k); post holds w^j / 2 only for j <= h/2, so use w^k = -conj(w^(h-k)) = (-re, im) above it.
                int j = k <= h / 2 ? k : h - k;
                double wr = 2 * post[2 * j], wi = 2 * post[2 * j + 1];
                if (k > h / 2) wr = -wr;
                float or = (float)(dr * wr + di * wi), oi = (float)(di * wr - dr * wi);
                // Z = E + i O, stored conjugated for the conj-FFT-conj inverse.
                zr[k] = er - oi;
                zi[k] = -(ei + or);
            }
            zi[0] = -zi[0];
        }
        _c.Forward<ScalarOps, float>(zr, zi, scratch);
        for (int t = 0; t < h; t++) { x[2 * t] = zr[t] / h; x[2 * t + 1] = -zi[t] / h; }
    }
}

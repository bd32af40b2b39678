// Complex FFT plan of one length, executed on W interleaved lanes (see FftLanes): mixed-radix Stockham
// autosort (radix 4, 2, 3, 5 butterflies written out, any other prime up to MaxGenericRadix by a generic
// O(p^2) butterfly) and Bluestein's chirp-z for lengths with a larger prime factor. Twiddles are computed
// once in double and stored as float; plans are immutable and shared (FftPlanCache).
//
// Stockham stage (length n = r*m of the current sub-problem, stride s, a_j = x[q + s*(p + j*m)]):
//   y[q + s*(r*p + k)] = w_n^(p*k) * sum_j a_j * w_r^(j*k),   w_n = exp(-2 pi i / n)
// for p < m, q < s; then n <- m, s <- s*r. After the last stage the output is in natural order, so no
// bit reversal pass is needed and every inner loop runs over contiguous lane vectors.
using System.Runtime.CompilerServices;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Audio;

/// <summary>Where a Stockham stage reads its input: the (re, im) lane row at float offset <c>offset</c> (row * W).</summary>
internal interface IStageInput
{
    void Load<TO, TV>(nint offset, out TV re, out TV im) where TO : struct, IVec<TV> where TV : unmanaged;
}

/// <summary>Input rows in split lane buffers (every stage but a fused first one).</summary>
internal readonly unsafe struct LaneRows : IStageInput
{
    readonly float* _re, _im;
    public LaneRows(float* re, float* im) { _re = re; _im = im; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TO, TV>(nint offset, out TV re, out TV im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        re = TO.Load(_re + offset);
        im = TO.Load(_im + offset);
    }
}

/// <summary>Input rows in split lane buffers read in the order of a permutation: logical row t is row Perm[t] (a prime-factor first stage).</summary>
internal readonly unsafe struct PermutedRows : IStageInput
{
    readonly float* _re, _im;
    readonly int* _perm;
    public PermutedRows(float* re, float* im, int* perm) { _re = re; _im = im; _perm = perm; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TO, TV>(nint offset, out TV re, out TV im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        nint row = (nint)_perm[(nint)((nuint)offset / (nuint)TO.Count)] * TO.Count;
        re = TO.Load(_re + row);
        im = TO.Load(_im + row);
    }
}

/// <summary>Whether a radix-8 stage multiplies by its twiddles (as a type, so each instantiation folds the test).</summary>
internal interface ITwiddleMode { static abstract bool Unit { get; } }
/// <summary>The stage's twiddles w_n^(p*k) apply (a Cooley-Tukey stage).</summary>
internal struct Twiddled : ITwiddleMode { public static bool Unit => false; }
/// <summary>All twiddles are 1: a prime-factor first stage (8 and N/8 coprime).</summary>
internal struct Untwiddled : ITwiddleMode { public static bool Unit => true; }

internal sealed unsafe class ComplexPlan
{
    /// <summary>Largest prime handled by the generic butterfly; larger factors switch the whole length to Bluestein.</summary>
    internal const int MaxGenericRadix = 31;

    public readonly int N;
    readonly int[] _radix;
    readonly int[] _twOffset;
    readonly float[] _tw;          // per stage: for p < m, k in [1, r): (re, im) of w_n^(p*k)
    readonly float[] _cosSin;      // generic radices: cos/sin(2 pi t / p) for t < p, at _csOffset[stage]
    readonly int[] _csOffset;
    readonly Bluestein? _blue;
    /// <summary>Prime-factor plans only: logical input row t = p + j*(N/8) is physical row (j*(N/8) + 8p) mod N.</summary>
    readonly int[]? _pfaIn;

    /// <summary>
    /// A plan for length <paramref name="n"/>. With <paramref name="primeFactorFirst"/> (only where <see cref="PrimeFactorSplits"/>),
    /// the first stage is a Good-Thomas split N = 8 * m, m odd: input row (j*m + 8p) mod N feeds butterfly p's input j and no
    /// twiddles follow it (8 and m are coprime), saving 7 complex multiplies per first-stage butterfly; the output then comes
    /// out in CRT order: position k1 + 8*k2 holds bin k with k = k1 (mod 8), k = k2 (mod m) (<see cref="PrimeFactorBin"/>).
    /// </summary>
    public ComplexPlan(int n, bool primeFactorFirst = false)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "FFT length must be >= 1.");
        if (primeFactorFirst && !PrimeFactorSplits(n)) throw new ArgumentException($"Length {n} is not 8 times an odd number > 1 with small factors.", nameof(n));
        N = n;
        if (primeFactorFirst)
        {
            int m8 = n / 8;
            _pfaIn = GC.AllocateArray<int>(n, pinned: true);
            for (int p = 0; p < m8; p++)
                for (int j = 0; j < 8; j++) _pfaIn[p + j * m8] = (j * m8 + 8 * p) % n;
        }
        var radix = Factor(n);
        if (radix is null)
        {
            _blue = new Bluestein(n);
            _radix = []; _twOffset = []; _tw = []; _cosSin = []; _csOffset = [];
            return;
        }
        _radix = radix;
        _twOffset = new int[radix.Length];
        _csOffset = new int[radix.Length];
        var tw = new List<float>();
        var cs = new List<float>();
        int cur = n;
        for (int st = 0; st < radix.Length; st++)
        {
            int r = radix[st], m = cur / r;
            _twOffset[st] = tw.Count;
            for (int p = 0; p < m; p++)
                for (int k = 1; k < r; k++)
                {
                    // Index reduced mod cur in integers first, so large p*k keeps full angle accuracy.
                    double a = -2.0 * Math.PI * ((long)p * k % cur) / cur;
                    tw.Add((float)Math.Cos(a)); tw.Add((float)Math.Sin(a));
                }
            _csOffset[st] = cs.Count;
            if (r > 5)
                for (int t = 0; t < r; t++) { cs.Add((float)Math.Cos(2 * Math.PI * t / r)); cs.Add((float)Math.Sin(2 * Math.PI * t / r)); }
            cur = m;
        }
        _tw = GC.AllocateArray<float>(tw.Count, pinned: true);
        tw.CopyTo(_tw);
        _cosSin = GC.AllocateArray<float>(cs.Count, pinned: true);
        cs.CopyTo(_cosSin);
    }

    /// <summary>Stage radices (8s first, then 4, 2, 3, 5, other primes), or null when a prime factor exceeds <see cref="MaxGenericRadix"/>.</summary>
    static int[]? Factor(int n)
    {
        var f = new List<int>();
        while (n % 8 == 0) { f.Add(8); n /= 8; }
        while (n % 4 == 0) { f.Add(4); n /= 4; }
        while (n % 2 == 0) { f.Add(2); n /= 2; }
        for (int p = 3; n > 1 && p <= MaxGenericRadix; p += 2)
            while (n % p == 0) { f.Add(p); n /= p; }
        return n == 1 ? f.ToArray() : null;
    }

    /// <summary>True when a prime-factor first stage applies: n = 8 m with m odd, m &gt; 1, and no prime factor beyond the butterflies.</summary>
    public static bool PrimeFactorSplits(int n) => n % 8 == 0 && n / 8 % 2 == 1 && n > 8 && Factor(n) is not null;

    /// <summary>Prime-factor plans: the bin at output position pos = k1 + 8*k2, the k with k = k1 (mod 8) and k = k2 (mod N/8).</summary>
    public int PrimeFactorBin(int pos)
    {
        int m8 = N / 8, k1 = pos % 8, k2 = pos / 8;
        for (int k = k2; ; k += m8)
            if (k % 8 == k1) return k;
    }

    /// <summary>The physical input row read as logical row t (t itself unless the first stage is prime-factor).</summary>
    public int InputRow(int t) => _pfaIn is null ? t : _pfaIn[t];

    /// <summary>True when this length runs through Bluestein's algorithm.</summary>
    public bool UsesBluestein => _blue is not null;

    /// <summary>
    /// Floats reserved for a lane buffer of <paramref name="floats"/>: rounded up to 4 KiB plus 1280 bytes. Why: with
    /// power-of-two lengths a Stockham stage reads rows 4 KiB apart, which all fall in one L1 set; consecutive buffers
    /// (re, im, their ping-pong partners, the output bins) then start 20 cache lines apart modulo 4 KiB, in different
    /// sets, instead of piling onto the same one (measured: the 512-point log-mel ran 1.4x slower than its flops).
    /// </summary>
    internal static long Slot(long floats) => ((floats + 1023) & ~1023L) + 320;

    /// <summary>Floats of scratch <see cref="Forward{TO,TV}"/> needs at W lanes.</summary>
    public long ScratchFloats(int w)
    {
        if (_blue is not null) return _blue.ScratchFloats(w);
        int maxR = _radix.Length == 0 ? 0 : _radix.Max();
        return 2 * Slot((long)N * w) + 4L * maxR * w;
    }

    /// <summary>
    /// In-place forward DFT X[k] = sum_t x[t] exp(-2 pi i t k / N) of W lanes: re/im are (N, W) lane buffers, the
    /// result is written back to them. scratch holds <see cref="ScratchFloats"/> floats.
    /// </summary>
    public void Forward<TO, TV>(float* re, float* im, float* scratch) where TO : struct, IVec<TV> where TV : unmanaged
    {
        ForwardAnywhere<TO, TV>(re, im, scratch, out float* ar, out float* ai);
        if (ar != re)
        {
            long bytes = (long)N * TO.Count * sizeof(float);
            Buffer.MemoryCopy(ar, re, bytes, bytes);
            Buffer.MemoryCopy(ai, im, bytes, bytes);
        }
    }

    /// <summary>
    /// Forward transform that leaves the result where the last Stockham stage wrote it: re/im, or (odd stage
    /// count) the first 2*N*W scratch floats, saving the copy back when the caller can read either.
    /// </summary>
    public void ForwardAnywhere<TO, TV>(float* re, float* im, float* scratch, out float* outRe, out float* outIm)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        if (_blue is not null) { _blue.Forward<TO, TV>(re, im, scratch); outRe = re; outIm = im; return; }
        if (_pfaIn is not null) throw new InvalidOperationException($"The prime-factor {N}-point plan leaves its output in CRT order: RealPlan reads it through PrimeFactorBin.");
        ForwardStages<TO, TV>(re, im, scratch, _radix.Length, out outRe, out outIm);
    }

    /// <summary>
    /// Radix of the last Stockham stage (its butterflies have no twiddles: m = 1, s = N / radix), or 0 for Bluestein and
    /// N = 1. A caller may run all stages but that one (<see cref="ForwardStages{TO,TV}"/>) and fuse it with what follows.
    /// </summary>
    public int LastRadix => _radix.Length == 0 ? 0 : _radix[^1];

    /// <summary>Stockham stages (not Bluestein).</summary>
    public int StageCount => _radix.Length;

    /// <summary>The first <paramref name="count"/> Stockham stages only (not for Bluestein plans); the result lies where the last one wrote it.</summary>
    public void ForwardStages<TO, TV>(float* re, float* im, float* scratch, int count, out float* outRe, out float* outIm)
        where TO : struct, IVec<TV> where TV : unmanaged
        => ForwardStages<TO, TV, LaneRows>(new LaneRows(re, im), false, re, im, scratch, count, out outRe, out outIm);

    /// <summary>Radix of the first Stockham stage (0 for Bluestein and N = 1): a radix-8 first stage can read its rows from an <see cref="IStageInput"/>.</summary>
    public int FirstRadix => _radix.Length == 0 ? 0 : _radix[0];

    /// <summary>
    /// As <see cref="ForwardStages{TO,TV}(float*,float*,float*,int,out float*,out float*)"/>; when <paramref name="fused"/> the first
    /// stage (radix 8, see <see cref="FirstRadix"/>) reads its rows from <paramref name="first"/> instead of re/im and writes to
    /// re/im, so the caller never stores the input rows (StftEngine: frames straight from the signal).
    /// </summary>
    public void ForwardStages<TO, TV, TIn>(TIn first, bool fused, float* re, float* im, float* scratch, int count, out float* outRe, out float* outIm)
        where TO : struct, IVec<TV> where TV : unmanaged where TIn : struct, IStageInput
    {
        int w = TO.Count;
        float* ar = re, ai = im, br = scratch, bi = scratch + (nint)Slot((long)N * w), tmp = bi + (nint)Slot((long)N * w);
        int s = 1, cur = N, st = 0;
        fixed (float* tw0 = _tw) fixed (float* cs0 = _cosSin) fixed (int* perm = _pfaIn)
        {
            if (fused)
            {
                // A prime-factor plan's fused input already reads its rows in the permuted order (StridedTable).
                if (count < 1 || _radix[0] != 8) throw new InvalidOperationException("A fused first stage needs a radix-8 first stage.");
                if (perm != null) Radix8<TO, TV, TIn, Untwiddled>(first, re, im, cur / 8, 1, tw0);
                else Radix8<TO, TV, TIn, Twiddled>(first, re, im, cur / 8, 1, tw0 + _twOffset[0]);
                s = 8; cur /= 8; st = 1;
            }
            else if (perm != null && count >= 1)
            {
                Radix8<TO, TV, PermutedRows, Untwiddled>(new PermutedRows(ar, ai, perm), br, bi, cur / 8, 1, tw0);
                float* t0 = ar; ar = br; br = t0;
                t0 = ai; ai = bi; bi = t0;
                s = 8; cur /= 8; st = 1;
            }
            for (; st < count; st++)
            {
                int r = _radix[st], m = cur / r;
                float* tw = tw0 + _twOffset[st];
                switch (r)
                {
                    case 8: Radix8<TO, TV, LaneRows, Twiddled>(new LaneRows(ar, ai), br, bi, m, s, tw); break;
                    case 4: Radix4<TO, TV>(ar, ai, br, bi, m, s, tw); break;
                    case 2: Radix2<TO, TV>(ar, ai, br, bi, m, s, tw); break;
                    case 3: Radix3<TO, TV>(ar, ai, br, bi, m, s, tw); break;
                    case 5: Radix5<TO, TV>(ar, ai, br, bi, m, s, tw); break;
                    default: RadixGeneric<TO, TV>(ar, ai, br, bi, m, s, tw, r, cs0 + _csOffset[st], tmp); break;
                }
                float* t0 = ar; ar = br; br = t0;
                t0 = ai; ai = bi; bi = t0;
                s *= r; cur = m;
            }
        }
        outRe = ar; outIm = ai;
    }

    // ---- butterflies: x (a_j at stride m*s rows), y (outputs k at stride s rows); rows are W floats -------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void CMul<TO, TV>(bool unit, TV ar, TV ai, TV wr, TV wi, out TV re, out TV im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        // unit: the butterfly with p = 0, whose twiddles are all 1 (every butterfly of the last stage, m = 1).
        if (unit) { re = ar; im = ai; return; }
        re = TO.NegMulAdd(ai, wi, TO.Mul(ar, wr));
        im = TO.MulAdd(ar, wi, TO.Mul(ai, wr));
    }

    static void Radix2<TO, TV>(float* xr, float* xi, float* yr, float* yi, int m, int s, float* tw)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        nint ss = (nint)s * w, ms = (nint)m * ss;
        for (int p = 0; p < m; p++)
        {
            TV w1r = TO.Splat(tw[2 * p]), w1i = TO.Splat(tw[2 * p + 1]);
            float* ir = xr + p * ss, ii = xi + p * ss, or = yr + 2 * p * ss, oi = yi + 2 * p * ss;
            for (nint q = 0; q < ss; q += w)
            {
                TV a0r = TO.Load(ir + q), a0i = TO.Load(ii + q), a1r = TO.Load(ir + q + ms), a1i = TO.Load(ii + q + ms);
                TO.Store(or + q, TO.Add(a0r, a1r)); TO.Store(oi + q, TO.Add(a0i, a1i));
                CMul<TO, TV>(p == 0, TO.Sub(a0r, a1r), TO.Sub(a0i, a1i), w1r, w1i, out TV br, out TV bi);
                TO.Store(or + q + ss, br); TO.Store(oi + q + ss, bi);
            }
        }
    }

    /// <summary>The 4-point DFT b_k = sum_j a_j (-i)^(jk), no twiddles (Radix4's core; the fused last stage of RealPlan).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Dft4<TO, TV>(TV a0r, TV a0i, TV a1r, TV a1i, TV a2r, TV a2i, TV a3r, TV a3i,
        out TV b0r, out TV b0i, out TV b1r, out TV b1i, out TV b2r, out TV b2i, out TV b3r, out TV b3i) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV t0r = TO.Add(a0r, a2r), t0i = TO.Add(a0i, a2i), t1r = TO.Sub(a0r, a2r), t1i = TO.Sub(a0i, a2i);
        TV t2r = TO.Add(a1r, a3r), t2i = TO.Add(a1i, a3i), t3r = TO.Sub(a1r, a3r), t3i = TO.Sub(a1i, a3i);
        b0r = TO.Add(t0r, t2r); b0i = TO.Add(t0i, t2i);
        // -i * t3 = (t3i, -t3r)
        b1r = TO.Add(t1r, t3i); b1i = TO.Sub(t1i, t3r);
        b2r = TO.Sub(t0r, t2r); b2i = TO.Sub(t0i, t2i);
        b3r = TO.Sub(t1r, t3i); b3i = TO.Add(t1i, t3r);
    }

    static void Radix4<TO, TV>(float* xr, float* xi, float* yr, float* yi, int m, int s, float* tw)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        nint ss = (nint)s * w, ms = (nint)m * ss;
        for (int p = 0; p < m; p++)
        {
            float* t = tw + 6 * p;
            TV w1r = TO.Splat(t[0]), w1i = TO.Splat(t[1]), w2r = TO.Splat(t[2]), w2i = TO.Splat(t[3]), w3r = TO.Splat(t[4]), w3i = TO.Splat(t[5]);
            float* ir = xr + p * ss, ii = xi + p * ss, or = yr + 4 * p * ss, oi = yi + 4 * p * ss;
            for (nint q = 0; q < ss; q += w)
            {
                Dft4<TO, TV>(TO.Load(ir + q), TO.Load(ii + q), TO.Load(ir + q + ms), TO.Load(ii + q + ms),
                    TO.Load(ir + q + 2 * ms), TO.Load(ii + q + 2 * ms), TO.Load(ir + q + 3 * ms), TO.Load(ii + q + 3 * ms),
                    out TV c0r, out TV c0i, out TV c1r, out TV c1i, out TV c2r, out TV c2i, out TV c3r, out TV c3i);
                TO.Store(or + q, c0r); TO.Store(oi + q, c0i);
                CMul<TO, TV>(p == 0, c1r, c1i, w1r, w1i, out TV b1r, out TV b1i);
                CMul<TO, TV>(p == 0, c2r, c2i, w2r, w2i, out TV b2r, out TV b2i);
                CMul<TO, TV>(p == 0, c3r, c3i, w3r, w3i, out TV b3r, out TV b3i);
                TO.Store(or + q + ss, b1r); TO.Store(oi + q + ss, b1i);
                TO.Store(or + q + 2 * ss, b2r); TO.Store(oi + q + 2 * ss, b2i);
                TO.Store(or + q + 3 * ss, b3r); TO.Store(oi + q + 3 * ss, b3i);
            }
        }
    }

    /// <summary>
    /// Radix 8 = a radix-2 step over (a_j, a_{j+4}), the odd half times w8^j (w8 = e^{-i pi/4}), then two radix-4 DFTs giving
    /// the even and odd outputs. The same flops as a radix-4 stage plus a radix-2 stage, one pass over memory fewer.
    /// </summary>
    static void Radix8<TO, TV, TIn, TTw>(TIn x, float* yr, float* yi, int m, int s, float* tw)
        where TO : struct, IVec<TV> where TV : unmanaged where TIn : struct, IStageInput where TTw : struct, ITwiddleMode
    {
        int w = TO.Count;
        nint ss = (nint)s * w, ms = (nint)m * ss;
        TV h = TO.Splat(0.707106781186547524400844362104849f);
        for (int p = 0; p < m; p++)
        {
            float* t = TTw.Unit ? tw : tw + 14 * p;
            nint i0 = p * ss;
            float* or = yr + 8 * p * ss, oi = yi + 8 * p * ss;
            for (nint q = 0; q < ss; q += w)
            {
                nint iq = i0 + q;
                x.Load<TO, TV>(iq, out TV a0r, out TV a0i); x.Load<TO, TV>(iq + 4 * ms, out TV a4r, out TV a4i);
                x.Load<TO, TV>(iq + ms, out TV a1r, out TV a1i); x.Load<TO, TV>(iq + 5 * ms, out TV a5r, out TV a5i);
                x.Load<TO, TV>(iq + 2 * ms, out TV a2r, out TV a2i); x.Load<TO, TV>(iq + 6 * ms, out TV a6r, out TV a6i);
                x.Load<TO, TV>(iq + 3 * ms, out TV a3r, out TV a3i); x.Load<TO, TV>(iq + 7 * ms, out TV a7r, out TV a7i);
                TV u0r = TO.Add(a0r, a4r), u0i = TO.Add(a0i, a4i), u4r = TO.Sub(a0r, a4r), u4i = TO.Sub(a0i, a4i);
                TV u1r = TO.Add(a1r, a5r), u1i = TO.Add(a1i, a5i), d5r = TO.Sub(a1r, a5r), d5i = TO.Sub(a1i, a5i);
                TV u2r = TO.Add(a2r, a6r), u2i = TO.Add(a2i, a6i), d6r = TO.Sub(a2r, a6r), d6i = TO.Sub(a2i, a6i);
                TV u3r = TO.Add(a3r, a7r), u3i = TO.Add(a3i, a7i), d7r = TO.Sub(a3r, a7r), d7i = TO.Sub(a3i, a7i);
                // w8 (x+iy) = ((x+y) + i(y-x))/sqrt2; w8^2 (x+iy) = y - ix; w8^3 (x+iy) = ((y-x) - i(x+y))/sqrt2
                TV u5r = TO.Mul(h, TO.Add(d5r, d5i)), u5i = TO.Mul(h, TO.Sub(d5i, d5r));
                TV u6r = d6i, u6i = TO.Sub(TO.Splat(0f), d6r);
                TV u7r = TO.Mul(h, TO.Sub(d7i, d7r)), u7i = TO.Sub(TO.Splat(0f), TO.Mul(h, TO.Add(d7r, d7i)));
                // Even outputs: DFT4(u0, u1, u2, u3) -> b0, b2, b4, b6.
                TV e0r = TO.Add(u0r, u2r), e0i = TO.Add(u0i, u2i), e1r = TO.Sub(u0r, u2r), e1i = TO.Sub(u0i, u2i);
                TV e2r = TO.Add(u1r, u3r), e2i = TO.Add(u1i, u3i), e3r = TO.Sub(u1r, u3r), e3i = TO.Sub(u1i, u3i);
                // Odd outputs: DFT4(u4, u5, u6, u7) -> b1, b3, b5, b7.
                TV o0r = TO.Add(u4r, u6r), o0i = TO.Add(u4i, u6i), o1r = TO.Sub(u4r, u6r), o1i = TO.Sub(u4i, u6i);
                TV o2r = TO.Add(u5r, u7r), o2i = TO.Add(u5i, u7i), o3r = TO.Sub(u5r, u7r), o3i = TO.Sub(u5i, u7i);
                TO.Store(or + q, TO.Add(e0r, e2r)); TO.Store(oi + q, TO.Add(e0i, e2i));
                // DFT4: X1 = t1 - i t3 = (t1r + t3i, t1i - t3r), X2 = t0 - t2, X3 = t1 + i t3 = (t1r - t3i, t1i + t3r).
                CMul<TO, TV>(TTw.Unit || p == 0, TO.Add(o0r, o2r), TO.Add(o0i, o2i), TO.Splat(t[0]), TO.Splat(t[1]), out TV b1r, out TV b1i);
                CMul<TO, TV>(TTw.Unit || p == 0, TO.Add(e1r, e3i), TO.Sub(e1i, e3r), TO.Splat(t[2]), TO.Splat(t[3]), out TV b2r, out TV b2i);
                CMul<TO, TV>(TTw.Unit || p == 0, TO.Add(o1r, o3i), TO.Sub(o1i, o3r), TO.Splat(t[4]), TO.Splat(t[5]), out TV b3r, out TV b3i);
                CMul<TO, TV>(TTw.Unit || p == 0, TO.Sub(e0r, e2r), TO.Sub(e0i, e2i), TO.Splat(t[6]), TO.Splat(t[7]), out TV b4r, out TV b4i);
                CMul<TO, TV>(TTw.Unit || p == 0, TO.Sub(o0r, o2r), TO.Sub(o0i, o2i), TO.Splat(t[8]), TO.Splat(t[9]), out TV b5r, out TV b5i);
                CMul<TO, TV>(TTw.Unit || p == 0, TO.Sub(e1r, e3i), TO.Add(e1i, e3r), TO.Splat(t[10]), TO.Splat(t[11]), out TV b6r, out TV b6i);
                CMul<TO, TV>(TTw.Unit || p == 0, TO.Sub(o1r, o3i), TO.Add(o1i, o3r), TO.Splat(t[12]), TO.Splat(t[13]), out TV b7r, out TV b7i);
                TO.Store(or + q + ss, b1r); TO.Store(oi + q + ss, b1i);
                TO.Store(or + q + 2 * ss, b2r); TO.Store(oi + q + 2 * ss, b2i);
                TO.Store(or + q + 3 * ss, b3r); TO.Store(oi + q + 3 * ss, b3i);
                TO.Store(or + q + 4 * ss, b4r); TO.Store(oi + q + 4 * ss, b4i);
                TO.Store(or + q + 5 * ss, b5r); TO.Store(oi + q + 5 * ss, b5i);
                TO.Store(or + q + 6 * ss, b6r); TO.Store(oi + q + 6 * ss, b6i);
                TO.Store(or + q + 7 * ss, b7r); TO.Store(oi + q + 7 * ss, b7i);
            }
        }
    }

    static void Radix3<TO, TV>(float* xr, float* xi, float* yr, float* yi, int m, int s, float* tw)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        nint ss = (nint)s * w, ms = (nint)m * ss;
        TV half = TO.Splat(0.5f), sn = TO.Splat(0.866025403784438646763723170752936f);
        for (int p = 0; p < m; p++)
        {
            float* t = tw + 4 * p;
            TV w1r = TO.Splat(t[0]), w1i = TO.Splat(t[1]), w2r = TO.Splat(t[2]), w2i = TO.Splat(t[3]);
            float* ir = xr + p * ss, ii = xi + p * ss, or = yr + 3 * p * ss, oi = yi + 3 * p * ss;
            for (nint q = 0; q < ss; q += w)
            {
                TV a0r = TO.Load(ir + q), a0i = TO.Load(ii + q);
                TV a1r = TO.Load(ir + q + ms), a1i = TO.Load(ii + q + ms);
                TV a2r = TO.Load(ir + q + 2 * ms), a2i = TO.Load(ii + q + 2 * ms);
                TV t1r = TO.Add(a1r, a2r), t1i = TO.Add(a1i, a2i);
                TV t2r = TO.Sub(a0r, TO.Mul(half, t1r)), t2i = TO.Sub(a0i, TO.Mul(half, t1i));
                // t3 = -i * sin(2pi/3) * (a1 - a2) = (s*(a1i - a2i), -s*(a1r - a2r))
                TV t3r = TO.Mul(sn, TO.Sub(a1i, a2i)), t3i = TO.Mul(sn, TO.Sub(a2r, a1r));
                TO.Store(or + q, TO.Add(a0r, t1r)); TO.Store(oi + q, TO.Add(a0i, t1i));
                CMul<TO, TV>(p == 0, TO.Add(t2r, t3r), TO.Add(t2i, t3i), w1r, w1i, out TV b1r, out TV b1i);
                CMul<TO, TV>(p == 0, TO.Sub(t2r, t3r), TO.Sub(t2i, t3i), w2r, w2i, out TV b2r, out TV b2i);
                TO.Store(or + q + ss, b1r); TO.Store(oi + q + ss, b1i);
                TO.Store(or + q + 2 * ss, b2r); TO.Store(oi + q + 2 * ss, b2i);
            }
        }
    }

    /// <summary>The 5-point DFT b_k = sum_j a_j exp(-2 pi i jk / 5), no twiddles (Radix5's core; the fused last stage of RealPlan).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Dft5<TO, TV>(TV a0r, TV a0i, TV a1r, TV a1i, TV a2r, TV a2i, TV a3r, TV a3i, TV a4r, TV a4i,
        out TV b0r, out TV b0i, out TV b1r, out TV b1i, out TV b2r, out TV b2i, out TV b3r, out TV b3i, out TV b4r, out TV b4i)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        // c1 = cos(2pi/5), c2 = cos(4pi/5), s1 = sin(2pi/5), s2 = sin(4pi/5)
        TV c1 = TO.Splat(0.309016994374947424102293417182819f), c2 = TO.Splat(-0.809016994374947424102293417182819f);
        TV s1 = TO.Splat(0.951056516295153572116439333379382f), s2 = TO.Splat(0.587785252292473129168705954639073f);
        TV t1r = TO.Add(a1r, a4r), t1i = TO.Add(a1i, a4i), t2r = TO.Add(a2r, a3r), t2i = TO.Add(a2i, a3i);
        TV t3r = TO.Sub(a1r, a4r), t3i = TO.Sub(a1i, a4i), t4r = TO.Sub(a2r, a3r), t4i = TO.Sub(a2i, a3i);
        b0r = TO.Add(a0r, TO.Add(t1r, t2r)); b0i = TO.Add(a0i, TO.Add(t1i, t2i));
        TV m1r = TO.MulAdd(c2, t2r, TO.MulAdd(c1, t1r, a0r)), m1i = TO.MulAdd(c2, t2i, TO.MulAdd(c1, t1i, a0i));
        TV m2r = TO.MulAdd(c1, t2r, TO.MulAdd(c2, t1r, a0r)), m2i = TO.MulAdd(c1, t2i, TO.MulAdd(c2, t1i, a0i));
        // n1 = -i (s1 t3 + s2 t4), n2 = -i (s2 t3 - s1 t4); -i (u + iv) = (v, -u)
        TV u1r = TO.MulAdd(s2, t4r, TO.Mul(s1, t3r)), u1i = TO.MulAdd(s2, t4i, TO.Mul(s1, t3i));
        TV u2r = TO.NegMulAdd(s1, t4r, TO.Mul(s2, t3r)), u2i = TO.NegMulAdd(s1, t4i, TO.Mul(s2, t3i));
        b1r = TO.Add(m1r, u1i); b1i = TO.Sub(m1i, u1r);
        b2r = TO.Add(m2r, u2i); b2i = TO.Sub(m2i, u2r);
        b3r = TO.Sub(m2r, u2i); b3i = TO.Add(m2i, u2r);
        b4r = TO.Sub(m1r, u1i); b4i = TO.Add(m1i, u1r);
    }

    static void Radix5<TO, TV>(float* xr, float* xi, float* yr, float* yi, int m, int s, float* tw)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        nint ss = (nint)s * w, ms = (nint)m * ss;
        for (int p = 0; p < m; p++)
        {
            float* t = tw + 8 * p;
            float* ir = xr + p * ss, ii = xi + p * ss, or = yr + 5 * p * ss, oi = yi + 5 * p * ss;
            TV w1r = TO.Splat(t[0]), w1i = TO.Splat(t[1]), w2r = TO.Splat(t[2]), w2i = TO.Splat(t[3]);
            TV w3r = TO.Splat(t[4]), w3i = TO.Splat(t[5]), w4r = TO.Splat(t[6]), w4i = TO.Splat(t[7]);
            for (nint q = 0; q < ss; q += w)
            {
                Dft5<TO, TV>(TO.Load(ir + q), TO.Load(ii + q), TO.Load(ir + q + ms), TO.Load(ii + q + ms),
                    TO.Load(ir + q + 2 * ms), TO.Load(ii + q + 2 * ms), TO.Load(ir + q + 3 * ms), TO.Load(ii + q + 3 * ms),
                    TO.Load(ir + q + 4 * ms), TO.Load(ii + q + 4 * ms),
                    out TV c0r, out TV c0i, out TV c1r, out TV c1i, out TV c2r, out TV c2i, out TV c3r, out TV c3i, out TV c4r, out TV c4i);
                TO.Store(or + q, c0r); TO.Store(oi + q, c0i);
                CMul<TO, TV>(p == 0, c1r, c1i, w1r, w1i, out TV b1r, out TV b1i);
                CMul<TO, TV>(p == 0, c2r, c2i, w2r, w2i, out TV b2r, out TV b2i);
                CMul<TO, TV>(p == 0, c3r, c3i, w3r, w3i, out TV b3r, out TV b3i);
                CMul<TO, TV>(p == 0, c4r, c4i, w4r, w4i, out TV b4r, out TV b4i);
                TO.Store(or + q + ss, b1r); TO.Store(oi + q + ss, b1i);
                TO.Store(or + q + 2 * ss, b2r); TO.Store(oi + q + 2 * ss, b2i);
                TO.Store(or + q + 3 * ss, b3r); TO.Store(oi + q + 3 * ss, b3i);
                TO.Store(or + q + 4 * ss, b4r); TO.Store(oi + q + 4 * ss, b4i);
            }
        }
    }

    /// <summary>Odd prime radix r: b_k = a0 + sum_{j=1}^{(r-1)/2} [cos(2pi jk/r) (a_j + a_{r-j}) - i sin(2pi jk/r) (a_j - a_{r-j})].</summary>
    static void RadixGeneric<TO, TV>(float* xr, float* xi, float* yr, float* yi, int m, int s, float* tw, int r, float* cs, float* tmp)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count, h = (r - 1) / 2;
        nint ss = (nint)s * w, ms = (nint)m * ss;
        // tmp rows: sum_j (re, im) then diff_j (re, im), j = 1..h
        float* sr = tmp, si = tmp + (nint)r * w, dr = tmp + 2 * (nint)r * w, di = tmp + 3 * (nint)r * w;
        for (int p = 0; p < m; p++)
        {
            float* t = tw + 2 * (r - 1) * p;
            float* ir = xr + p * ss, ii = xi + p * ss, or = yr + r * p * ss, oi = yi + r * p * ss;
            for (nint q = 0; q < ss; q += w)
            {
                TV a0r = TO.Load(ir + q), a0i = TO.Load(ii + q);
                TV b0r = a0r, b0i = a0i;
                for (int j = 1; j <= h; j++)
                {
                    TV ajr = TO.Load(ir + q + j * ms), aji = TO.Load(ii + q + j * ms);
                    TV bjr = TO.Load(ir + q + (r - j) * ms), bji = TO.Load(ii + q + (r - j) * ms);
                    TV sjr = TO.Add(ajr, bjr), sji = TO.Add(aji, bji);
                    TO.Store(sr + j * w, sjr); TO.Store(si + j * w, sji);
                    TO.Store(dr + j * w, TO.Sub(ajr, bjr)); TO.Store(di + j * w, TO.Sub(aji, bji));
                    b0r = TO.Add(b0r, sjr); b0i = TO.Add(b0i, sji);
                }
                TO.Store(or + q, b0r); TO.Store(oi + q, b0i);
                for (int k = 1; k <= h; k++)
                {
                    TV ur = a0r, ui = a0i, vr = TO.Splat(0f), vi = TO.Splat(0f);
                    for (int j = 1; j <= h; j++)
                    {
                        int jk = j * k % r;
                        TV c = TO.Splat(cs[2 * jk]), sn = TO.Splat(cs[2 * jk + 1]);
                        ur = TO.MulAdd(c, TO.Load(sr + j * w), ur); ui = TO.MulAdd(c, TO.Load(si + j * w), ui);
                        vr = TO.MulAdd(sn, TO.Load(dr + j * w), vr); vi = TO.MulAdd(sn, TO.Load(di + j * w), vi);
                    }
                    // b_k = u - i v = (ur + vi, ui - vr); b_{r-k} = u + i v = (ur - vi, ui + vr)
                    float* wk = t + 2 * (k - 1), wn = t + 2 * (r - k - 1);
                    CMul<TO, TV>(p == 0, TO.Add(ur, vi), TO.Sub(ui, vr), TO.Splat(wk[0]), TO.Splat(wk[1]), out TV bkr, out TV bki);
                    CMul<TO, TV>(p == 0, TO.Sub(ur, vi), TO.Add(ui, vr), TO.Splat(wn[0]), TO.Splat(wn[1]), out TV bnr, out TV bni);
                    TO.Store(or + q + k * ss, bkr); TO.Store(oi + q + k * ss, bki);
                    TO.Store(or + q + (r - k) * ss, bnr); TO.Store(oi + q + (r - k) * ss, bni);
                }
            }
        }
    }
}

/// <summary>
/// Bluestein's chirp-z transform for lengths with a large prime factor: with c_t = exp(-i pi t^2 / n),
/// X_k = c_k * sum_t (x_t c_t) conj(c_{k-t}), a circular convolution of length M = 2^ceil(log2(2n-1)) done with
/// two power-of-two FFTs (the inverse one as conj(FFT(conj(.))), the 1/M folded into the chirp spectrum).
/// </summary>
internal sealed unsafe class Bluestein
{
    readonly int _n, _m;
    readonly ComplexPlan _inner;
    readonly float[] _chirp;     // (re, im) of c_t, t < n
    readonly float[] _spectrum;  // (re, im) of FFT_M(conj(c_{|t|})) / M

    public Bluestein(int n)
    {
        _n = n;
        _m = 1;
        while (_m < 2 * n - 1) _m <<= 1;
        _inner = new ComplexPlan(_m);
        _chirp = GC.AllocateArray<float>(2 * n, pinned: true);
        var bre = new double[_m]; var bim = new double[_m];
        for (int t = 0; t < n; t++)
        {
            // t^2 mod 2n in integers keeps the angle exact for large t.
            double a = -Math.PI * ((long)t * t % (2L * n)) / n;
            double cr = Math.Cos(a), ci = Math.Sin(a);
            _chirp[2 * t] = (float)cr; _chirp[2 * t + 1] = (float)ci;
            bre[t] = cr; bim[t] = -ci;
            if (t > 0) { bre[_m - t] = cr; bim[_m - t] = -ci; }
        }
        // The chirp spectrum in double (naive-free: radix-2 in double, once per plan).
        DoubleFft(bre, bim);
        _spectrum = GC.AllocateArray<float>(2 * _m, pinned: true);
        for (int k = 0; k < _m; k++) { _spectrum[2 * k] = (float)(bre[k] / _m); _spectrum[2 * k + 1] = (float)(bim[k] / _m); }
    }

    public long ScratchFloats(int w) => 2 * ComplexPlan.Slot((long)_m * w) + _inner.ScratchFloats(w);

    public void Forward<TO, TV>(float* re, float* im, float* scratch) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        float* ar = scratch, ai = ar + (nint)ComplexPlan.Slot((long)_m * w), inner = ai + (nint)ComplexPlan.Slot((long)_m * w);
        fixed (float* ch = _chirp) fixed (float* sp = _spectrum)
        {
            for (int t = 0; t < _n; t++)
            {
                TV cr = TO.Splat(ch[2 * t]), ci = TO.Splat(ch[2 * t + 1]);
                TV xr = TO.Load(re + (nint)t * w), xi = TO.Load(im + (nint)t * w);
                TO.Store(ar + (nint)t * w, TO.Sub(TO.Mul(xr, cr), TO.Mul(xi, ci)));
                TO.Store(ai + (nint)t * w, TO.MulAdd(xr, ci, TO.Mul(xi, cr)));
            }
            FftLanes.Zero<TO, TV>(ar, _n, _m);
            FftLanes.Zero<TO, TV>(ai, _n, _m);
            _inner.Forward<TO, TV>(ar, ai, inner);
            // conj(A * B): the inverse transform is conj(FFT(conj(C))).
            for (int k = 0; k < _m; k++)
            {
                TV br = TO.Splat(sp[2 * k]), bi = TO.Splat(sp[2 * k + 1]);
                TV xr = TO.Load(ar + (nint)k * w), xi = TO.Load(ai + (nint)k * w);
                TO.Store(ar + (nint)k * w, TO.Sub(TO.Mul(xr, br), TO.Mul(xi, bi)));
                TO.Store(ai + (nint)k * w, TO.Sub(TO.Splat(0f), TO.MulAdd(xr, bi, TO.Mul(xi, br))));
            }
            _inner.Forward<TO, TV>(ar, ai, inner);
            // X_k = c_k * conj(D_k)
            for (int k = 0; k < _n; k++)
            {
                TV cr = TO.Splat(ch[2 * k]), ci = TO.Splat(ch[2 * k + 1]);
                TV dr = TO.Load(ar + (nint)k * w), di = TO.Sub(TO.Splat(0f), TO.Load(ai + (nint)k * w));
                TO.Store(re + (nint)k * w, TO.Sub(TO.Mul(dr, cr), TO.Mul(di, ci)));
                TO.Store(im + (nint)k * w, TO.MulAdd(dr, ci, TO.Mul(di, cr)));
            }
        }
    }

    /// <summary>In-place iterative radix-2 FFT in double (plan construction only; length a power of two).</summary>
    static void DoubleFft(double[] re, double[] im)
    {
        int n = re.Length;
        for (int i = 1, j = 0; i < n; i++)
        {
            int bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1) j ^= bit;
            j ^= bit;
            if (i < j) { (re[i], re[j]) = (re[j], re[i]); (im[i], im[j]) = (im[j], im[i]); }
        }
        for (int len = 2; len <= n; len <<= 1)
        {
            int half = len >> 1;
            for (int k = 0; k < half; k++)
            {
                double a = -2 * Math.PI * k / len, wr = Math.Cos(a), wi = Math.Sin(a);
                for (int i = k; i < n; i += len)
                {
                    int j = i + half;
                    double xr = re[j] * wr - im[j] * wi, xi = re[j] * wi + im[j] * wr;
                    re[j] = re[i] - xr; im[j] = im[i] - xi;
                    re[i] += xr; im[i] += xi;
                }
            }
        }
    }
}

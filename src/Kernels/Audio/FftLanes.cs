// Lane layout shared by the FFT, STFT, mel and MFCC kernels. W = TO.Count independent transforms
// (frames) are processed together: element t of transform l lives at buf[t * W + l], so every
// butterfly, power, mel and log step is a plain vertical SIMD operation, the same source serves every
// radix (and Bluestein) at every width, and ScalarOps (W = 1) is the plain scalar reference.
// Frames move between row-major memory (one pointer per lane) and the (rows, W) lane layout through
// W x W register transposes (TransposeN: unpack/shuffle sequences on x86, IVec.Zip rounds elsewhere),
// shared by the load (Pack), store and strided variants. Why the unrolled per-width blocks (below): with
// the W rows in named locals the JIT keeps the whole block in vector registers; a loop over a stack
// array spilled every round (measured: packing was a quarter of a log-mel's time).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Audio;

internal static unsafe class FftLanes
{
    /// <summary>
    /// Loads <paramref name="len"/> samples of every lane (src[l][0..len)), multiplies sample j by win[j] (win may be null:
    /// no window) and stores it as lane row <c>pos = first + j</c> (or map[j] when <paramref name="map"/> is given): at
    /// re + pos*W when <paramref name="split"/> is false, else even positions to re + (pos/2)*W and odd ones to im + (pos/2)*W
    /// (the z = even + i*odd packing of the half-length real FFT).
    /// </summary>
    public static void Pack<TO, TV>(float** src, int len, float* win, int first, bool split, float* re, float* im, int* map = null)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count, j = 0;
        // Whole blocks, the last one moved back to end at len (it redoes a few rows with identical values) so a ragged
        // tail never falls back to W scalar copies per row.
        for (; j < len && len >= w; j = j + w <= len - w ? j + w : (j == len - w ? len : len - w))
        {
            if (w > 1)
            {
                var io = new PackRows<TO, TV> { Src = src, J = j, Win = win, First = first, Map = map, Split = split, Re = re, Im = im };
                Transpose<TO, TV, PackRows<TO, TV>>(ref io);
            }
            else Put<TO, TV>(TO.Load(src[0] + j), map == null ? first + j : map[j], win, j, split, re, im);
        }
        for (; j < len; j++)
        {
            float* d = Row(map == null ? first + j : map[j], split, re, im, w);
            float wj = win is null ? 1f : win[j];
            for (int l = 0; l < w; l++) d[l] = src[l][j] * wj;
        }
    }

    /// <summary>Floats of scratch <see cref="PackStrided{TO,TV}"/> needs: hop * W.</summary>
    public static long StridedScratch(int len, int hop, int w) => (long)hop * w + 16;

    /// <summary>
    /// <see cref="Pack{TO,TV}"/> for the common case of W consecutive frames of one signal: lane l reads s[l*hop + j]. With
    /// M[q][r] = s[q*hop + r] (r &lt; hop), lane row j is (M[j/hop + l][j%hop])_l. Rows j &lt; hop are the columns of M's first W
    /// rows, obtained by transposing that W x hop block once into xt; row j + hop is row j with the lanes moved down by one
    /// and M[W + j/hop][j%hop] entering the top lane (LaneMath.ShiftIn). So only W*hop samples go through the transposes
    /// instead of W*len (2.5x fewer for the 400-sample, 160-hop frames of a 16 kHz log-mel). Needs hop &gt;= W and a window.
    /// </summary>
    public static void PackStrided<TO, TV>(float* s, int hop, int len, float* win, int first, bool split, float* re, float* im, float* xt)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        TransposeHops<TO, TV>(s, hop, len, xt);
        // Column jr of M gives lane rows jr, jr + hop, jr + 2 hop, ...: each is the one before with the lanes moved down and
        // M[W + k][jr] entering the top lane, so xt row jr is loaded once and shifted along (one load and one shift per row
        // beyond the first hop, instead of a load and jq shifts per row).
        int w = TO.Count;
        float* next = s + (nint)w * hop;
        for (int jr = 0, cols = Math.Min(hop, len); jr < cols; jr++)
        {
            TV v = TO.Load(xt + (nint)jr * w);
            TO.Store(Row(first + jr, split, re, im, w), TO.Mul(v, TO.Splat(win[jr])));
            for (int j = jr + hop; j < len; j += hop)
            {
                v = LaneMath.ShiftIn<TO, TV>(v, next[j - hop]);
                TO.Store(Row(first + j, split, re, im, w), TO.Mul(v, TO.Splat(win[j])));
            }
        }
    }

    /// <summary>
    /// The input of a fused first FFT stage for <see cref="PackStrided{TO,TV}"/>'s case: s as there, xt filled by
    /// <see cref="TransposeHops{TO,TV}"/>; the rows are computed where the stage loads them, never stored.
    /// </summary>
    public static PositionRows<StridedFrames> Strided(float* s, int hop, float* xt, StridedTable table, int w)
        => new(new StridedFrames { Xt = xt, Next = s + (nint)w * hop, Hop = hop, Code = table.CodePtr, Win = table.WindowPtr });

    /// <summary>The first step of <see cref="PackStrided{TO,TV}"/>: xt row r = (M[0][r], ..., M[W-1][r]) for r &lt; min(hop, len), rows W floats apart.</summary>
    public static void TransposeHops<TO, TV>(float* s, int hop, int len, float* xt) where TO : struct, IVec<TV> where TV : unmanaged
        => TransposeColumns<TO, TV>(s, hop, Math.Min(hop, len), xt);

    /// <summary>xt row r = (s[r], s[stride + r], ..., s[(W-1)*stride + r]) for r &lt; cols, rows W floats apart.</summary>
    public static void TransposeColumns<TO, TV>(float* s, int stride, int cols, float* xt) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count, rb = cols / w * w;
        if (w >= 8 && HasQuads<TV>()) TransposeHopsByQuads<TO, TV>(s, stride, rb, xt);
        else for (int r0 = 0; r0 < rb; r0 += w)
        {
            var io = new StridedRows<TO, TV> { Src = s + r0, SrcStride = stride, Dst = xt + (nint)r0 * w, DstStride = w };
            Transpose<TO, TV, StridedRows<TO, TV>>(ref io);
        }
        for (int r = rb; r < cols; r++)
            for (int q = 0; q < w; q++) xt[(nint)r * w + q] = s[(nint)q * stride + r];
    }

    /// <summary>
    /// TransposeHops' W x W blocks (columns [0, rb)) at W = 16 or 8 with fewer shuffles than TransposeN: the 128-bit lane moves
    /// are done by the loads (register A_i of column quad j holds, in 128-bit lane L, row 4L + i's four samples of that quad),
    /// then one 4 x 4 transpose inside the lanes gives xt rows j .. j+3 (lane L of row c: rows 4L .. 4L+3 of column c).
    /// 16 x 16: 32 unpacks instead of 64 shuffles; 8 x 8: 16 unpacks and 8 inserts instead of 24 shuffles.
    /// </summary>
    static void TransposeHopsByQuads<TO, TV>(float* s, nint hop, int rb, float* xt) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        for (int r0 = 0; r0 < rb; r0 += w)
            for (int j = 0; j < w; j += 4)
            {
                float* c = s + r0 + j;
                TV a0 = Quads<TV>(c, hop), a1 = Quads<TV>(c + hop, hop), a2 = Quads<TV>(c + 2 * hop, hop), a3 = Quads<TV>(c + 3 * hop, hop);
                TV t0 = Unpack(a0, a1, high: false, pairs: false), t1 = Unpack(a0, a1, high: true, pairs: false);
                TV t2 = Unpack(a2, a3, high: false, pairs: false), t3 = Unpack(a2, a3, high: true, pairs: false);
                float* d = xt + (nint)(r0 + j) * w;
                TO.Store(d, Unpack(t0, t2, high: false, pairs: true));
                TO.Store(d + w, Unpack(t0, t2, high: true, pairs: true));
                TO.Store(d + 2 * w, Unpack(t1, t3, high: false, pairs: true));
                TO.Store(d + 3 * w, Unpack(t1, t3, high: true, pairs: true));
            }
    }

    /// <summary>128-bit lane L of v to dst[4L + i] + r0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreQuads<TV>(TV v, float** dst, int i, int r0) where TV : unmanaged
    {
        if (typeof(TV) == typeof(Vector256<float>))
        {
            var x = Unsafe.BitCast<TV, Vector256<float>>(v);
            x.GetLower().Store(dst[i] + r0);
            x.GetUpper().Store(dst[4 + i] + r0);
            return;
        }
        var z = Unsafe.BitCast<TV, Vector512<float>>(v);
        Avx512F.ExtractVector128(z, 0).Store(dst[i] + r0);
        Avx512F.ExtractVector128(z, 1).Store(dst[4 + i] + r0);
        Avx512F.ExtractVector128(z, 2).Store(dst[8 + i] + r0);
        Avx512F.ExtractVector128(z, 3).Store(dst[12 + i] + r0);
    }

    /// <summary>True when the 128-bit quad transposes (<see cref="TransposeHopsByQuads{TO,TV}"/>, Store) serve TV.</summary>
    static bool HasQuads<TV>() => typeof(TV) == typeof(Vector512<float>) ? Avx512F.IsSupported : typeof(TV) == typeof(Vector256<float>) && Avx.IsSupported;

    /// <summary>128-bit lane L = p[4L*hop .. 4L*hop + 4): (p, p + 4 hop, p + 8 hop, p + 12 hop) or (p, p + 4 hop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV Quads<TV>(float* p, nint hop) where TV : unmanaged
    {
        var lo = Vector256.Create(Vector128.Load(p), Vector128.Load(p + 4 * hop));
        if (typeof(TV) == typeof(Vector256<float>)) return Unsafe.BitCast<Vector256<float>, TV>(lo);
        return Unsafe.BitCast<Vector512<float>, TV>(Vector512.Create(lo, Vector256.Create(Vector128.Load(p + 8 * hop), Vector128.Load(p + 12 * hop))));
    }

    /// <summary>unpcklps / unpckhps inside each 128-bit lane, or with <paramref name="pairs"/> unpcklpd / unpckhpd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV Unpack<TV>(TV a, TV b, bool high, bool pairs) where TV : unmanaged
    {
        if (typeof(TV) == typeof(Vector256<float>))
        {
            Vector256<float> x = Unsafe.BitCast<TV, Vector256<float>>(a), y = Unsafe.BitCast<TV, Vector256<float>>(b);
            var r = pairs ? (high ? Avx.UnpackHigh(x.AsDouble(), y.AsDouble()) : Avx.UnpackLow(x.AsDouble(), y.AsDouble())).AsSingle()
                : high ? Avx.UnpackHigh(x, y) : Avx.UnpackLow(x, y);
            return Unsafe.BitCast<Vector256<float>, TV>(r);
        }
        Vector512<float> u = Unsafe.BitCast<TV, Vector512<float>>(a), v = Unsafe.BitCast<TV, Vector512<float>>(b);
        var z = pairs ? (high ? Avx512F.UnpackHigh(u.AsDouble(), v.AsDouble()) : Avx512F.UnpackLow(u.AsDouble(), v.AsDouble())).AsSingle()
            : high ? Avx512F.UnpackHigh(u, v) : Avx512F.UnpackLow(u, v);
        return Unsafe.BitCast<Vector512<float>, TV>(z);
    }

    /// <summary>Stores lane row v (times win[j] when win is not null) at packed position pos.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put<TO, TV>(TV v, int pos, float* win, int j, bool split, float* re, float* im) where TO : struct, IVec<TV> where TV : unmanaged
        => TO.Store(Row(pos, split, re, im, TO.Count), win is null ? v : TO.Mul(v, TO.Splat(win[j])));

    /// <summary>Lane row of packed position pos (see <see cref="Pack{TO,TV}"/>'s split layout).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float* Row(int pos, bool split, float* re, float* im, int w)
        => !split ? re + (nint)pos * w : ((pos & 1) == 0 ? re : im) + (nint)(pos >> 1) * w;

    /// <summary>Lane rows (rows, W) to row-major memory: dst[l][r] = rows[r*W + l] for r &lt; count.</summary>
    public static void Store<TO, TV>(float* rows, int count, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count, r0 = 0;
        if (w >= 8 && HasQuads<TV>())
        {
            // Four rows at a time: a 4 x 4 transpose inside the 128-bit lanes leaves frame 4L + i's four values in lane L of
            // register i, stored with a 128-bit store (no cross-lane shuffles, no rows rewritten by an overlapping last block).
            for (; r0 + 4 <= count; r0 += 4)
            {
                float* b = rows + (nint)r0 * w;
                TV b0 = TO.Load(b), b1 = TO.Load(b + w), b2 = TO.Load(b + 2 * w), b3 = TO.Load(b + 3 * w);
                TV t0 = Unpack(b0, b1, high: false, pairs: false), t1 = Unpack(b0, b1, high: true, pairs: false);
                TV t2 = Unpack(b2, b3, high: false, pairs: false), t3 = Unpack(b2, b3, high: true, pairs: false);
                StoreQuads(Unpack(t0, t2, high: false, pairs: true), dst, 0, r0);
                StoreQuads(Unpack(t0, t2, high: true, pairs: true), dst, 1, r0);
                StoreQuads(Unpack(t1, t3, high: false, pairs: true), dst, 2, r0);
                StoreQuads(Unpack(t1, t3, high: true, pairs: true), dst, 3, r0);
            }
            for (; r0 < count; r0++)
                for (int l = 0; l < w; l++) dst[l][r0] = rows[(nint)r0 * w + l];
            return;
        }
        // As in Pack: the last block ends at count (overlapping rows are rewritten with the same values).
        for (; r0 < count && count >= w; r0 = r0 + w <= count - w ? r0 + w : (r0 == count - w ? count : count - w))
        {
            if (w > 1)
            {
                var io = new StridedRows<TO, TV> { Src = rows + (nint)r0 * w, SrcStride = w, DstRows = dst, DstOffset = r0 };
                Transpose<TO, TV, StridedRows<TO, TV>>(ref io);
            }
            else TO.Store(dst[0] + r0, TO.Load(rows + r0));
        }
        for (; r0 < count; r0++)
            for (int l = 0; l < w; l++) dst[l][r0] = rows[(nint)r0 * w + l];
    }

    /// <summary>Split-complex lane rows to interleaved row-major memory: dst[l][2r] = re[r*W+l], dst[l][2r+1] = im[r*W+l].</summary>
    public static void StoreComplex<TO, TV>(float* re, float* im, int count, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count, r0 = 0;
        float* tr = stackalloc float[w * w + 16];
        tr = (float*)(((nint)tr + 63) & ~(nint)63);
        for (; r0 < count && count >= w; r0 = r0 + w <= count - w ? r0 + w : (r0 == count - w ? count : count - w))
        {
            if (w > 1)
            {
                // Real parts transposed into a stack block, then the imaginary parts, interleaved with them on the way out.
                var io = new StridedRows<TO, TV> { Src = re + (nint)r0 * w, SrcStride = w, Dst = tr, DstStride = w };
                Transpose<TO, TV, StridedRows<TO, TV>>(ref io);
                var ioc = new ComplexRows<TO, TV> { Im = im + (nint)r0 * w, Re = tr, Dst = dst, Row0 = r0 };
                Transpose<TO, TV, ComplexRows<TO, TV>>(ref ioc);
            }
            else Interleave<TO, TV>(TO.Load(re + r0), TO.Load(im + r0), dst[0] + 2 * r0);
        }
        for (; r0 < count; r0++)
            for (int l = 0; l < w; l++)
            {
                dst[l][2 * r0] = re[(nint)r0 * w + l];
                dst[l][2 * r0 + 1] = im[(nint)r0 * w + l];
            }
    }

    /// <summary>Writes (a0, b0, a1, b1, ...) at p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Interleave<TO, TV>(TV a, TV b, float* p) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TO.Zip(a, b, out TV lo, out TV hi);
        TO.Store(p, lo);
        TO.Store(p + TO.Count, hi);
    }

    /// <summary>Sets lane rows [from, to) of buf to zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zero<TO, TV>(float* buf, int from, int to) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        TV z = TO.Splat(0f);
        for (int r = from; r < to; r++) TO.Store(buf + (nint)r * w, z);
    }

    // ---- W x W register transposes. A block of W rows comes from an IRowIO (Load(i), i < W), is transposed in registers
    // and handed back row by row (Store(i, column i)); the IO structs below say where rows come from and go (packing with
    // the window, lane rows to frame rows, strided copies). One transpose body per width; the JIT compiles it once per IO
    // type with everything in named locals, which stay in vector registers.

    /// <summary>Where a transposed block's rows come from and go.</summary>
    interface IRowIO<TV> where TV : unmanaged
    {
        TV Load(int i);
        void Store(int i, TV v);
    }

    /// <summary>Pack: row i = src[i][J..J+W) in, lane row J + i (times the window) out at its packed position.</summary>
    struct PackRows<TO, TV> : IRowIO<TV> where TO : struct, IVec<TV> where TV : unmanaged
    {
        public float** Src;
        public float* Win, Re, Im;
        public int* Map;
        public int J, First;
        public bool Split;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public readonly TV Load(int i) => TO.Load(Src[i] + J);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Store(int i, TV v) => Put<TO, TV>(v, Map == null ? First + J + i : Map[J + i], Win, J + i, Split, Re, Im);
    }

    /// <summary>Row i at Src + i*SrcStride in; out to Dst + i*DstStride, or to DstRows[i] + DstOffset when DstRows is set.</summary>
    struct StridedRows<TO, TV> : IRowIO<TV> where TO : struct, IVec<TV> where TV : unmanaged
    {
        public float* Src, Dst;
        public float** DstRows;
        public nint SrcStride, DstStride, DstOffset;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public readonly TV Load(int i) => TO.Load(Src + i * SrcStride);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Store(int i, TV v) => TO.Store(DstRows != null ? DstRows[i] + DstOffset : Dst + i * DstStride, v);
    }

    /// <summary>Imaginary lane rows in (Im + i*W); out interleaved with the already transposed real rows (Re + i*W) to Dst[i] + 2*Row0.</summary>
    struct ComplexRows<TO, TV> : IRowIO<TV> where TO : struct, IVec<TV> where TV : unmanaged
    {
        public float* Im, Re;
        public float** Dst;
        public int Row0;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public readonly TV Load(int i) => TO.Load(Im + (nint)i * TO.Count);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void Store(int i, TV v) => Interleave<TO, TV>(TO.Load(Re + (nint)i * TO.Count), v, Dst[i] + 2 * Row0);
    }

    /// <summary>Transposes one W x W block (W = 16, 8 or 4) from io's rows to io's rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose<TO, TV, TIO>(ref TIO io) where TO : struct, IVec<TV> where TV : unmanaged where TIO : struct, IRowIO<TV>
    {
        if (TO.Count == 16) Transpose16<TO, TV, TIO>(io);
        else if (TO.Count == 8) Transpose8<TO, TV, TIO>(io);
        else Transpose4<TO, TV, TIO>(io);
    }

    /// <summary>
    /// 16 x 16: with AVX-512 the classic 64-instruction sequence (in-lane unpacks and shuffles, then 128-bit lane shuffles);
    /// otherwise four rounds of IVec.Zip (rows i and i + 8 -> 2i, 2i+1), 128 two-source permutes. Pure data movement: both
    /// give the same bits.
    /// </summary>
    static void Transpose16<TO, TV, TIO>(TIO io) where TO : struct, IVec<TV> where TV : unmanaged where TIO : struct, IRowIO<TV>
    {
        TV r0 = io.Load(0), r1 = io.Load(1), r2 = io.Load(2), r3 = io.Load(3), r4 = io.Load(4), r5 = io.Load(5), r6 = io.Load(6), r7 = io.Load(7), r8 = io.Load(8), r9 = io.Load(9), r10 = io.Load(10), r11 = io.Load(11), r12 = io.Load(12), r13 = io.Load(13), r14 = io.Load(14), r15 = io.Load(15);
        if (typeof(TV) == typeof(Vector512<float>) && Avx512F.IsSupported)
        {
            var v0 = Unsafe.BitCast<TV, Vector512<float>>(r0);
            var v1 = Unsafe.BitCast<TV, Vector512<float>>(r1);
            var v2 = Unsafe.BitCast<TV, Vector512<float>>(r2);
            var v3 = Unsafe.BitCast<TV, Vector512<float>>(r3);
            var v4 = Unsafe.BitCast<TV, Vector512<float>>(r4);
            var v5 = Unsafe.BitCast<TV, Vector512<float>>(r5);
            var v6 = Unsafe.BitCast<TV, Vector512<float>>(r6);
            var v7 = Unsafe.BitCast<TV, Vector512<float>>(r7);
            var v8 = Unsafe.BitCast<TV, Vector512<float>>(r8);
            var v9 = Unsafe.BitCast<TV, Vector512<float>>(r9);
            var v10 = Unsafe.BitCast<TV, Vector512<float>>(r10);
            var v11 = Unsafe.BitCast<TV, Vector512<float>>(r11);
            var v12 = Unsafe.BitCast<TV, Vector512<float>>(r12);
            var v13 = Unsafe.BitCast<TV, Vector512<float>>(r13);
            var v14 = Unsafe.BitCast<TV, Vector512<float>>(r14);
            var v15 = Unsafe.BitCast<TV, Vector512<float>>(r15);
            var t0 = Avx512F.UnpackLow(v0, v1); var t1 = Avx512F.UnpackHigh(v0, v1);
            var t2 = Avx512F.UnpackLow(v2, v3); var t3 = Avx512F.UnpackHigh(v2, v3);
            var t4 = Avx512F.UnpackLow(v4, v5); var t5 = Avx512F.UnpackHigh(v4, v5);
            var t6 = Avx512F.UnpackLow(v6, v7); var t7 = Avx512F.UnpackHigh(v6, v7);
            var t8 = Avx512F.UnpackLow(v8, v9); var t9 = Avx512F.UnpackHigh(v8, v9);
            var t10 = Avx512F.UnpackLow(v10, v11); var t11 = Avx512F.UnpackHigh(v10, v11);
            var t12 = Avx512F.UnpackLow(v12, v13); var t13 = Avx512F.UnpackHigh(v12, v13);
            var t14 = Avx512F.UnpackLow(v14, v15); var t15 = Avx512F.UnpackHigh(v14, v15);
            // Per 128-bit lane: u(4g + c) = column c of rows 4g..4g+3.
            var u0 = Avx512F.Shuffle(t0, t2, 0x44); var u1 = Avx512F.Shuffle(t0, t2, 0xEE); var u2 = Avx512F.Shuffle(t1, t3, 0x44); var u3 = Avx512F.Shuffle(t1, t3, 0xEE);
            var u4 = Avx512F.Shuffle(t4, t6, 0x44); var u5 = Avx512F.Shuffle(t4, t6, 0xEE); var u6 = Avx512F.Shuffle(t5, t7, 0x44); var u7 = Avx512F.Shuffle(t5, t7, 0xEE);
            var u8 = Avx512F.Shuffle(t8, t10, 0x44); var u9 = Avx512F.Shuffle(t8, t10, 0xEE); var u10 = Avx512F.Shuffle(t9, t11, 0x44); var u11 = Avx512F.Shuffle(t9, t11, 0xEE);
            var u12 = Avx512F.Shuffle(t12, t14, 0x44); var u13 = Avx512F.Shuffle(t12, t14, 0xEE); var u14 = Avx512F.Shuffle(t13, t15, 0x44); var u15 = Avx512F.Shuffle(t13, t15, 0xEE);
            // Column 4L + c = lane L of u(c), u(4 + c), u(8 + c), u(12 + c).
            var x0 = Avx512F.Shuffle4x128(u0, u4, 0x88); var y0 = Avx512F.Shuffle4x128(u0, u4, 0xDD);
            var p0 = Avx512F.Shuffle4x128(u8, u12, 0x88); var q0 = Avx512F.Shuffle4x128(u8, u12, 0xDD);
            var x1 = Avx512F.Shuffle4x128(u1, u5, 0x88); var y1 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
            var p1 = Avx512F.Shuffle4x128(u9, u13, 0x88); var q1 = Avx512F.Shuffle4x128(u9, u13, 0xDD);
            var x2 = Avx512F.Shuffle4x128(u2, u6, 0x88); var y2 = Avx512F.Shuffle4x128(u2, u6, 0xDD);
            var p2 = Avx512F.Shuffle4x128(u10, u14, 0x88); var q2 = Avx512F.Shuffle4x128(u10, u14, 0xDD);
            var x3 = Avx512F.Shuffle4x128(u3, u7, 0x88); var y3 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
            var p3 = Avx512F.Shuffle4x128(u11, u15, 0x88); var q3 = Avx512F.Shuffle4x128(u11, u15, 0xDD);
            io.Store(0, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x0, p0, 0x88)));
            io.Store(4, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y0, q0, 0x88)));
            io.Store(8, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x0, p0, 0xDD)));
            io.Store(12, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y0, q0, 0xDD)));
            io.Store(1, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x1, p1, 0x88)));
            io.Store(5, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y1, q1, 0x88)));
            io.Store(9, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x1, p1, 0xDD)));
            io.Store(13, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y1, q1, 0xDD)));
            io.Store(2, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x2, p2, 0x88)));
            io.Store(6, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y2, q2, 0x88)));
            io.Store(10, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x2, p2, 0xDD)));
            io.Store(14, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y2, q2, 0xDD)));
            io.Store(3, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x3, p3, 0x88)));
            io.Store(7, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y3, q3, 0x88)));
            io.Store(11, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x3, p3, 0xDD)));
            io.Store(15, Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y3, q3, 0xDD)));
            return;
        }
        TO.Zip(r0, r8, out TV z0_0, out TV z0_1);
        TO.Zip(r1, r9, out TV z0_2, out TV z0_3);
        TO.Zip(r2, r10, out TV z0_4, out TV z0_5);
        TO.Zip(r3, r11, out TV z0_6, out TV z0_7);
        TO.Zip(r4, r12, out TV z0_8, out TV z0_9);
        TO.Zip(r5, r13, out TV z0_10, out TV z0_11);
        TO.Zip(r6, r14, out TV z0_12, out TV z0_13);
        TO.Zip(r7, r15, out TV z0_14, out TV z0_15);
        TO.Zip(z0_0, z0_8, out TV z1_0, out TV z1_1);
        TO.Zip(z0_1, z0_9, out TV z1_2, out TV z1_3);
        TO.Zip(z0_2, z0_10, out TV z1_4, out TV z1_5);
        TO.Zip(z0_3, z0_11, out TV z1_6, out TV z1_7);
        TO.Zip(z0_4, z0_12, out TV z1_8, out TV z1_9);
        TO.Zip(z0_5, z0_13, out TV z1_10, out TV z1_11);
        TO.Zip(z0_6, z0_14, out TV z1_12, out TV z1_13);
        TO.Zip(z0_7, z0_15, out TV z1_14, out TV z1_15);
        TO.Zip(z1_0, z1_8, out TV z2_0, out TV z2_1);
        TO.Zip(z1_1, z1_9, out TV z2_2, out TV z2_3);
        TO.Zip(z1_2, z1_10, out TV z2_4, out TV z2_5);
        TO.Zip(z1_3, z1_11, out TV z2_6, out TV z2_7);
        TO.Zip(z1_4, z1_12, out TV z2_8, out TV z2_9);
        TO.Zip(z1_5, z1_13, out TV z2_10, out TV z2_11);
        TO.Zip(z1_6, z1_14, out TV z2_12, out TV z2_13);
        TO.Zip(z1_7, z1_15, out TV z2_14, out TV z2_15);
        TO.Zip(z2_0, z2_8, out TV z3_0, out TV z3_1);
        TO.Zip(z2_1, z2_9, out TV z3_2, out TV z3_3);
        TO.Zip(z2_2, z2_10, out TV z3_4, out TV z3_5);
        TO.Zip(z2_3, z2_11, out TV z3_6, out TV z3_7);
        TO.Zip(z2_4, z2_12, out TV z3_8, out TV z3_9);
        TO.Zip(z2_5, z2_13, out TV z3_10, out TV z3_11);
        TO.Zip(z2_6, z2_14, out TV z3_12, out TV z3_13);
        TO.Zip(z2_7, z2_15, out TV z3_14, out TV z3_15);
        io.Store(0, z3_0);
        io.Store(1, z3_1);
        io.Store(2, z3_2);
        io.Store(3, z3_3);
        io.Store(4, z3_4);
        io.Store(5, z3_5);
        io.Store(6, z3_6);
        io.Store(7, z3_7);
        io.Store(8, z3_8);
        io.Store(9, z3_9);
        io.Store(10, z3_10);
        io.Store(11, z3_11);
        io.Store(12, z3_12);
        io.Store(13, z3_13);
        io.Store(14, z3_14);
        io.Store(15, z3_15);
    }

    /// <summary>8 x 8: with AVX, unpacks, shuffles and 128-bit lane permutes (24 instructions; the Zip rounds take 48).</summary>
    static void Transpose8<TO, TV, TIO>(TIO io) where TO : struct, IVec<TV> where TV : unmanaged where TIO : struct, IRowIO<TV>
    {
        TV r0 = io.Load(0), r1 = io.Load(1), r2 = io.Load(2), r3 = io.Load(3), r4 = io.Load(4), r5 = io.Load(5), r6 = io.Load(6), r7 = io.Load(7);
        if (typeof(TV) == typeof(Vector256<float>) && Avx.IsSupported)
        {
            var v0 = Unsafe.BitCast<TV, Vector256<float>>(r0);
            var v1 = Unsafe.BitCast<TV, Vector256<float>>(r1);
            var v2 = Unsafe.BitCast<TV, Vector256<float>>(r2);
            var v3 = Unsafe.BitCast<TV, Vector256<float>>(r3);
            var v4 = Unsafe.BitCast<TV, Vector256<float>>(r4);
            var v5 = Unsafe.BitCast<TV, Vector256<float>>(r5);
            var v6 = Unsafe.BitCast<TV, Vector256<float>>(r6);
            var v7 = Unsafe.BitCast<TV, Vector256<float>>(r7);
            var t0 = Avx.UnpackLow(v0, v1); var t1 = Avx.UnpackHigh(v0, v1);
            var t2 = Avx.UnpackLow(v2, v3); var t3 = Avx.UnpackHigh(v2, v3);
            var t4 = Avx.UnpackLow(v4, v5); var t5 = Avx.UnpackHigh(v4, v5);
            var t6 = Avx.UnpackLow(v6, v7); var t7 = Avx.UnpackHigh(v6, v7);
            // Per 128-bit lane: u(4g + c) = column c of rows 4g..4g+3.
            var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE); var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
            var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE); var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
            io.Store(0, Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u0, u4, 0x20)));
            io.Store(4, Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u0, u4, 0x31)));
            io.Store(1, Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u1, u5, 0x20)));
            io.Store(5, Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u1, u5, 0x31)));
            io.Store(2, Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u2, u6, 0x20)));
            io.Store(6, Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u2, u6, 0x31)));
            io.Store(3, Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u3, u7, 0x20)));
            io.Store(7, Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u3, u7, 0x31)));
            return;
        }
        TO.Zip(r0, r4, out TV z0_0, out TV z0_1);
        TO.Zip(r1, r5, out TV z0_2, out TV z0_3);
        TO.Zip(r2, r6, out TV z0_4, out TV z0_5);
        TO.Zip(r3, r7, out TV z0_6, out TV z0_7);
        TO.Zip(z0_0, z0_4, out TV z1_0, out TV z1_1);
        TO.Zip(z0_1, z0_5, out TV z1_2, out TV z1_3);
        TO.Zip(z0_2, z0_6, out TV z1_4, out TV z1_5);
        TO.Zip(z0_3, z0_7, out TV z1_6, out TV z1_7);
        TO.Zip(z1_0, z1_4, out TV z2_0, out TV z2_1);
        TO.Zip(z1_1, z1_5, out TV z2_2, out TV z2_3);
        TO.Zip(z1_2, z1_6, out TV z2_4, out TV z2_5);
        TO.Zip(z1_3, z1_7, out TV z2_6, out TV z2_7);
        io.Store(0, z2_0);
        io.Store(1, z2_1);
        io.Store(2, z2_2);
        io.Store(3, z2_3);
        io.Store(4, z2_4);
        io.Store(5, z2_5);
        io.Store(6, z2_6);
        io.Store(7, z2_7);
    }

    /// <summary>4 x 4: two rounds of Zip (8 unpacks, as _MM_TRANSPOSE4_PS).</summary>
    static void Transpose4<TO, TV, TIO>(TIO io) where TO : struct, IVec<TV> where TV : unmanaged where TIO : struct, IRowIO<TV>
    {
        TV r0 = io.Load(0), r1 = io.Load(1), r2 = io.Load(2), r3 = io.Load(3);
        TO.Zip(r0, r2, out TV z0_0, out TV z0_1);
        TO.Zip(r1, r3, out TV z0_2, out TV z0_3);
        TO.Zip(z0_0, z0_2, out TV z1_0, out TV z1_1);
        TO.Zip(z0_1, z0_3, out TV z1_2, out TV z1_3);
        io.Store(0, z1_0);
        io.Store(1, z1_1);
        io.Store(2, z1_2);
        io.Store(3, z1_3);
    }
}

/// <summary>
/// PackStrided's rows computed where a fused first FFT stage loads them (RealPlan.ForwardFrom), saving the store and reload of
/// the packed frames. Real position pos is window sample j = pos - first: with r = j % hop and q = j / hop its lane row is xt
/// row r moved down q lanes, M[W][r], ..., M[W+q-1][r] entering the top lane (as PackStrided's chain), times the window.
/// Complex row t of the half-length transform is (position 2t, position 2t + 1).
/// </summary>
internal unsafe struct StridedFrames : IPositionValues
{
    /// <summary>xt (TransposeHops), the signal from frame W on (s + W*hop), the window at its FFT positions (zero outside).</summary>
    public float* Xt, Next, Win;
    /// <summary>Per FFT position r*4 + q, or -1 outside the window (<see cref="StridedTable"/>).</summary>
    public int* Code;
    public nint Hop;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly TV Value<TO, TV>(nint pos) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int c = Code[pos];
        if (c < 0) return TO.Splat(0f);
        int q = c & 3;
        float* next = Next + (c >> 2);
        TV v = TO.Load(Xt + (nint)(c >> 2) * TO.Count);
        if (q != 0)
        {
            v = LaneMath.ShiftIn<TO, TV>(v, next[0]);
            if (q > 1)
            {
                v = LaneMath.ShiftIn<TO, TV>(v, next[Hop]);
                if (q > 2) v = LaneMath.ShiftIn<TO, TV>(v, next[2 * Hop]);
            }
        }
        return TO.Mul(v, TO.Splat(Win[pos]));
    }
}

/// <summary>A fused first stage's input given per real FFT position (read order; <see cref="PositionRows{TP}"/> pairs them into rows).</summary>
internal interface IPositionValues
{
    /// <summary>The lane row of position pos: the windowed samples of the W frames there.</summary>
    TV Value<TO, TV>(nint pos) where TO : struct, IVec<TV> where TV : unmanaged;
}

/// <summary>Packed complex row t of the half-length transform = (position 2t, position 2t + 1) of <typeparamref name="TP"/>.</summary>
internal readonly struct PositionRows<TP> : IStageInput where TP : struct, IPositionValues
{
    readonly TP _values;
    public PositionRows(TP values) => _values = values;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Load<TO, TV>(nint offset, out TV re, out TV im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        nint pos = (nint)((nuint)offset / (nuint)TO.Count) * 2;
        re = _values.Value<TO, TV>(pos);
        im = _values.Value<TO, TV>(pos + 1);
    }
}

/// <summary>
/// The input of a fused first FFT stage for frames in interleaved lanes (StftEngine's lane blocks): window sample j of the
/// group's lane l is row j of Xt, lane l, already in place (no lane shifts); times the window. Row[pos] (read order, see
/// <see cref="StridedTable"/>) is j, or -1 outside the window.
/// </summary>
internal unsafe struct BlockRows : IPositionValues
{
    public float* Xt, Win;
    public int* Row;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly TV Value<TO, TV>(nint pos) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int j = Row[pos];
        return j < 0 ? TO.Splat(0f) : TO.Mul(TO.Load(Xt + (nint)j * TO.Count), TO.Splat(Win[pos]));
    }
}

/// <summary>
/// The per-spec tables of <see cref="StridedFrames"/> (built once per StftSpec): Code[pos] = (j % hop) * 4 + j / hop for the window
/// sample j = pos - WindowOffset, -1 outside the window; the window placed at its n_fft positions. <see cref="Fusable"/>: at most
/// three lane shifts per row (frame length &lt;= 4 hops; longer frames shift too often and keep the packed path).
/// </summary>
internal sealed unsafe class StridedTable
{
    readonly int[] _code;
    readonly float[] _window;
    public readonly bool Fusable;

    /// <param name="spec">The framing.</param>
    /// <param name="allowFusion">False keeps the packed path whatever the framing (the kernel lab's A/B).</param>
    public StridedTable(StftSpec spec, bool allowFusion = true)
    {
        int n = spec.FftSize, off = spec.WindowOffset, len = spec.FrameLength, hop = spec.Hop;
        Fusable = allowFusion && (len - 1) / hop <= 3;
        _code = GC.AllocateArray<int>(n, pinned: true);
        _row = GC.AllocateArray<int>(n, pinned: true);
        _window = GC.AllocateArray<float>(n, pinned: true);
        // Indexed by the position the first stage reads: packed row t holds positions 2 InputRow(t) and 2 InputRow(t) + 1
        // (InputRow permutes for a prime-factor plan, see RealPlan).
        var plan = RealFft.Get(n).Plan;
        for (int at = 0; at < n; at++)
        {
            int pos = plan.Split && plan.CanFuseInput ? 2 * plan.InputRow(at / 2) + at % 2 : at;
            _code[at] = CodeOf(pos, off, len, hop, Fusable);
            int j = pos - off;
            _row[at] = j >= 0 && j < len ? j : -1;
            _window[at] = j >= 0 && j < len ? spec.Window[j] : 0f;
        }
        _off = off; _len = len; _hop = hop;
    }

    readonly int _off, _len, _hop;
    readonly int[] _row;

    /// <summary>Per position (read order): its window sample j, or -1 outside the window (<see cref="BlockRows"/>).</summary>
    public int* RowPtr => (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_row));

    static int CodeOf(int pos, int off, int len, int hop, bool fusable)
    {
        int j = pos - off;
        return j >= 0 && j < len && fusable ? j % hop * 4 + j / hop : -1;
    }

    /// <summary>Code of FFT position pos (tests; the table itself is in the first stage's read order).</summary>
    public int CodeAt(int pos) => CodeOf(pos, _off, _len, _hop, Fusable);

    public int* CodePtr => (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_code));
    public float* WindowPtr => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_window));
}

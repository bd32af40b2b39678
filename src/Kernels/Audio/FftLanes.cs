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
            if (w == 16) PackBlock16<TO, TV>(src, j, win, first, map, split, re, im);
            else if (w == 8) PackBlock8<TO, TV>(src, j, win, first, map, split, re, im);
            else if (w == 4) PackBlock4<TO, TV>(src, j, win, first, map, split, re, im);
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
        int w = TO.Count, rb = hop / w * w;
        // xt row r = (M[0][r], ..., M[W-1][r]), rows W floats apart.
        for (int r0 = 0; r0 < rb; r0 += w)
        {
            float* src = s + r0, dst = xt + (nint)r0 * w;
            if (w == 16) TransposeBlock16<TO, TV>(src, hop, dst, w);
            else if (w == 8) TransposeBlock8<TO, TV>(src, hop, dst, w);
            else TransposeBlock4<TO, TV>(src, hop, dst, w);
        }
        for (int r = rb; r < Math.Min(hop, len); r++)
            for (int q = 0; q < w; q++) xt[(nint)r * w + q] = s[(nint)q * hop + r];
        // Lane row j (times win[j]) to packed position first + j, walking (jq, jr) without dividing, and for the split
        // layout in (even, odd) position pairs so no row needs a branch.
        float* next = s + (nint)w * hop;
        for (int j0 = 0, jq = 0; j0 < len; j0 += hop, jq++)
        {
            int count = Math.Min(hop, len - j0), pos0 = first + j0, jr = 0;
            float* wj = win + j0;
            if (!split)
            {
                float* d = re + (nint)pos0 * w;
                for (; jr < count; jr++) TO.Store(d + (nint)jr * w, TO.Mul(RowAt<TO, TV>(xt, next, hop, jq, jr), TO.Splat(wj[jr])));
                continue;
            }
            if ((pos0 & 1) != 0 && count > 0)
            {
                TO.Store(im + (nint)(pos0 >> 1) * w, TO.Mul(RowAt<TO, TV>(xt, next, hop, jq, 0), TO.Splat(wj[0])));
                jr = 1;
            }
            float* pr = re + (nint)((pos0 + jr) >> 1) * w, pi = im + (nint)((pos0 + jr) >> 1) * w;
            for (; jr + 1 < count; jr += 2, pr += w, pi += w)
            {
                TO.Store(pr, TO.Mul(RowAt<TO, TV>(xt, next, hop, jq, jr), TO.Splat(wj[jr])));
                TO.Store(pi, TO.Mul(RowAt<TO, TV>(xt, next, hop, jq, jr + 1), TO.Splat(wj[jr + 1])));
            }
            if (jr < count) TO.Store(pr, TO.Mul(RowAt<TO, TV>(xt, next, hop, jq, jr), TO.Splat(wj[jr])));
        }
    }

    /// <summary>Lane row jq*hop + jr: xt row jr with jq samples of M's later rows (next = M[W]) shifted in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV RowAt<TO, TV>(float* xt, float* next, int hop, int jq, int jr) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV v = TO.Load(xt + (nint)jr * TO.Count);
        for (int k = 0; k < jq; k++) v = LaneMath.ShiftIn<TO, TV>(v, next[(nint)k * hop + jr]);
        return v;
    }

    /// <summary>Stores lane row v (times win[j] when win is not null) at packed position pos.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put<TO, TV>(TV v, int pos, float* win, int j, bool split, float* re, float* im) where TO : struct, IVec<TV> where TV : unmanaged
        => TO.Store(Row(pos, split, re, im, TO.Count), win is null ? v : TO.Mul(v, TO.Splat(win[j])));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float* Row(int pos, bool split, float* re, float* im, int w)
        => !split ? re + (nint)pos * w : ((pos & 1) == 0 ? re : im) + (nint)(pos >> 1) * w;

    /// <summary>Lane rows (rows, W) to row-major memory: dst[l][r] = rows[r*W + l] for r &lt; count.</summary>
    public static void Store<TO, TV>(float* rows, int count, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count, r0 = 0;
        // As in Pack: the last block ends at count (overlapping rows are rewritten with the same values).
        for (; r0 < count && count >= w; r0 = r0 + w <= count - w ? r0 + w : (r0 == count - w ? count : count - w))
        {
            if (w == 16) StoreBlock16<TO, TV>(rows, r0, dst);
            else if (w == 8) StoreBlock8<TO, TV>(rows, r0, dst);
            else if (w == 4) StoreBlock4<TO, TV>(rows, r0, dst);
            else TO.Store(dst[0] + r0, TO.Load(rows + r0));
        }
        for (; r0 < count; r0++)
            for (int l = 0; l < w; l++) dst[l][r0] = rows[(nint)r0 * w + l];
    }

    /// <summary>Split-complex lane rows to interleaved row-major memory: dst[l][2r] = re[r*W+l], dst[l][2r+1] = im[r*W+l].</summary>
    public static void StoreComplex<TO, TV>(float* re, float* im, int count, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count, r0 = 0;
        for (; r0 < count && count >= w; r0 = r0 + w <= count - w ? r0 + w : (r0 == count - w ? count : count - w))
        {
            if (w == 16) StoreComplexBlock16<TO, TV>(re, im, r0, dst);
            else if (w == 8) StoreComplexBlock8<TO, TV>(re, im, r0, dst);
            else if (w == 4) StoreComplexBlock4<TO, TV>(re, im, r0, dst);
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

    // ---- per-width blocks (W = 16, 8, 4): load W rows, transpose them in registers (TransposeN), put them. Each
    // is spelled out for one width so the W rows stay in named locals, which the JIT keeps in vector registers.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PackBlock16<TO, TV>(float** src, int j, float* win, int first, int* map, bool split, float* re, float* im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src[0] + j), r1 = TO.Load(src[1] + j), r2 = TO.Load(src[2] + j), r3 = TO.Load(src[3] + j), r4 = TO.Load(src[4] + j), r5 = TO.Load(src[5] + j), r6 = TO.Load(src[6] + j), r7 = TO.Load(src[7] + j), r8 = TO.Load(src[8] + j), r9 = TO.Load(src[9] + j), r10 = TO.Load(src[10] + j), r11 = TO.Load(src[11] + j), r12 = TO.Load(src[12] + j), r13 = TO.Load(src[13] + j), r14 = TO.Load(src[14] + j), r15 = TO.Load(src[15] + j);
        Transpose16<TO, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7, ref r8, ref r9, ref r10, ref r11, ref r12, ref r13, ref r14, ref r15);
        Put<TO, TV>(r0, map == null ? first + j + 0 : map[j + 0], win, j + 0, split, re, im);
        Put<TO, TV>(r1, map == null ? first + j + 1 : map[j + 1], win, j + 1, split, re, im);
        Put<TO, TV>(r2, map == null ? first + j + 2 : map[j + 2], win, j + 2, split, re, im);
        Put<TO, TV>(r3, map == null ? first + j + 3 : map[j + 3], win, j + 3, split, re, im);
        Put<TO, TV>(r4, map == null ? first + j + 4 : map[j + 4], win, j + 4, split, re, im);
        Put<TO, TV>(r5, map == null ? first + j + 5 : map[j + 5], win, j + 5, split, re, im);
        Put<TO, TV>(r6, map == null ? first + j + 6 : map[j + 6], win, j + 6, split, re, im);
        Put<TO, TV>(r7, map == null ? first + j + 7 : map[j + 7], win, j + 7, split, re, im);
        Put<TO, TV>(r8, map == null ? first + j + 8 : map[j + 8], win, j + 8, split, re, im);
        Put<TO, TV>(r9, map == null ? first + j + 9 : map[j + 9], win, j + 9, split, re, im);
        Put<TO, TV>(r10, map == null ? first + j + 10 : map[j + 10], win, j + 10, split, re, im);
        Put<TO, TV>(r11, map == null ? first + j + 11 : map[j + 11], win, j + 11, split, re, im);
        Put<TO, TV>(r12, map == null ? first + j + 12 : map[j + 12], win, j + 12, split, re, im);
        Put<TO, TV>(r13, map == null ? first + j + 13 : map[j + 13], win, j + 13, split, re, im);
        Put<TO, TV>(r14, map == null ? first + j + 14 : map[j + 14], win, j + 14, split, re, im);
        Put<TO, TV>(r15, map == null ? first + j + 15 : map[j + 15], win, j + 15, split, re, im);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreBlock16<TO, TV>(float* rows, int row0, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        float* p = rows + (nint)row0 * TO.Count;
        TV r0 = TO.Load(p + 0 * TO.Count), r1 = TO.Load(p + 1 * TO.Count), r2 = TO.Load(p + 2 * TO.Count), r3 = TO.Load(p + 3 * TO.Count), r4 = TO.Load(p + 4 * TO.Count), r5 = TO.Load(p + 5 * TO.Count), r6 = TO.Load(p + 6 * TO.Count), r7 = TO.Load(p + 7 * TO.Count), r8 = TO.Load(p + 8 * TO.Count), r9 = TO.Load(p + 9 * TO.Count), r10 = TO.Load(p + 10 * TO.Count), r11 = TO.Load(p + 11 * TO.Count), r12 = TO.Load(p + 12 * TO.Count), r13 = TO.Load(p + 13 * TO.Count), r14 = TO.Load(p + 14 * TO.Count), r15 = TO.Load(p + 15 * TO.Count);
        Transpose16<TO, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7, ref r8, ref r9, ref r10, ref r11, ref r12, ref r13, ref r14, ref r15);
        TO.Store(dst[0] + row0, r0);
        TO.Store(dst[1] + row0, r1);
        TO.Store(dst[2] + row0, r2);
        TO.Store(dst[3] + row0, r3);
        TO.Store(dst[4] + row0, r4);
        TO.Store(dst[5] + row0, r5);
        TO.Store(dst[6] + row0, r6);
        TO.Store(dst[7] + row0, r7);
        TO.Store(dst[8] + row0, r8);
        TO.Store(dst[9] + row0, r9);
        TO.Store(dst[10] + row0, r10);
        TO.Store(dst[11] + row0, r11);
        TO.Store(dst[12] + row0, r12);
        TO.Store(dst[13] + row0, r13);
        TO.Store(dst[14] + row0, r14);
        TO.Store(dst[15] + row0, r15);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreComplexBlock16<TO, TV>(float* re, float* im, int row0, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        float* p = re + (nint)row0 * TO.Count, q = im + (nint)row0 * TO.Count;
        TV a0 = TO.Load(p + 0 * TO.Count), a1 = TO.Load(p + 1 * TO.Count), a2 = TO.Load(p + 2 * TO.Count), a3 = TO.Load(p + 3 * TO.Count), a4 = TO.Load(p + 4 * TO.Count), a5 = TO.Load(p + 5 * TO.Count), a6 = TO.Load(p + 6 * TO.Count), a7 = TO.Load(p + 7 * TO.Count), a8 = TO.Load(p + 8 * TO.Count), a9 = TO.Load(p + 9 * TO.Count), a10 = TO.Load(p + 10 * TO.Count), a11 = TO.Load(p + 11 * TO.Count), a12 = TO.Load(p + 12 * TO.Count), a13 = TO.Load(p + 13 * TO.Count), a14 = TO.Load(p + 14 * TO.Count), a15 = TO.Load(p + 15 * TO.Count);
        TV b0 = TO.Load(q + 0 * TO.Count), b1 = TO.Load(q + 1 * TO.Count), b2 = TO.Load(q + 2 * TO.Count), b3 = TO.Load(q + 3 * TO.Count), b4 = TO.Load(q + 4 * TO.Count), b5 = TO.Load(q + 5 * TO.Count), b6 = TO.Load(q + 6 * TO.Count), b7 = TO.Load(q + 7 * TO.Count), b8 = TO.Load(q + 8 * TO.Count), b9 = TO.Load(q + 9 * TO.Count), b10 = TO.Load(q + 10 * TO.Count), b11 = TO.Load(q + 11 * TO.Count), b12 = TO.Load(q + 12 * TO.Count), b13 = TO.Load(q + 13 * TO.Count), b14 = TO.Load(q + 14 * TO.Count), b15 = TO.Load(q + 15 * TO.Count);
        Transpose16<TO, TV>(ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref a8, ref a9, ref a10, ref a11, ref a12, ref a13, ref a14, ref a15);
        Transpose16<TO, TV>(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7, ref b8, ref b9, ref b10, ref b11, ref b12, ref b13, ref b14, ref b15);
        Interleave<TO, TV>(a0, b0, dst[0] + 2 * row0);
        Interleave<TO, TV>(a1, b1, dst[1] + 2 * row0);
        Interleave<TO, TV>(a2, b2, dst[2] + 2 * row0);
        Interleave<TO, TV>(a3, b3, dst[3] + 2 * row0);
        Interleave<TO, TV>(a4, b4, dst[4] + 2 * row0);
        Interleave<TO, TV>(a5, b5, dst[5] + 2 * row0);
        Interleave<TO, TV>(a6, b6, dst[6] + 2 * row0);
        Interleave<TO, TV>(a7, b7, dst[7] + 2 * row0);
        Interleave<TO, TV>(a8, b8, dst[8] + 2 * row0);
        Interleave<TO, TV>(a9, b9, dst[9] + 2 * row0);
        Interleave<TO, TV>(a10, b10, dst[10] + 2 * row0);
        Interleave<TO, TV>(a11, b11, dst[11] + 2 * row0);
        Interleave<TO, TV>(a12, b12, dst[12] + 2 * row0);
        Interleave<TO, TV>(a13, b13, dst[13] + 2 * row0);
        Interleave<TO, TV>(a14, b14, dst[14] + 2 * row0);
        Interleave<TO, TV>(a15, b15, dst[15] + 2 * row0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TransposeBlock16<TO, TV>(float* src, nint srcStride, float* dst, nint dstStride) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src + 0 * srcStride), r1 = TO.Load(src + 1 * srcStride), r2 = TO.Load(src + 2 * srcStride), r3 = TO.Load(src + 3 * srcStride), r4 = TO.Load(src + 4 * srcStride), r5 = TO.Load(src + 5 * srcStride), r6 = TO.Load(src + 6 * srcStride), r7 = TO.Load(src + 7 * srcStride), r8 = TO.Load(src + 8 * srcStride), r9 = TO.Load(src + 9 * srcStride), r10 = TO.Load(src + 10 * srcStride), r11 = TO.Load(src + 11 * srcStride), r12 = TO.Load(src + 12 * srcStride), r13 = TO.Load(src + 13 * srcStride), r14 = TO.Load(src + 14 * srcStride), r15 = TO.Load(src + 15 * srcStride);
        Transpose16<TO, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7, ref r8, ref r9, ref r10, ref r11, ref r12, ref r13, ref r14, ref r15);
        TO.Store(dst + 0 * dstStride, r0);
        TO.Store(dst + 1 * dstStride, r1);
        TO.Store(dst + 2 * dstStride, r2);
        TO.Store(dst + 3 * dstStride, r3);
        TO.Store(dst + 4 * dstStride, r4);
        TO.Store(dst + 5 * dstStride, r5);
        TO.Store(dst + 6 * dstStride, r6);
        TO.Store(dst + 7 * dstStride, r7);
        TO.Store(dst + 8 * dstStride, r8);
        TO.Store(dst + 9 * dstStride, r9);
        TO.Store(dst + 10 * dstStride, r10);
        TO.Store(dst + 11 * dstStride, r11);
        TO.Store(dst + 12 * dstStride, r12);
        TO.Store(dst + 13 * dstStride, r13);
        TO.Store(dst + 14 * dstStride, r14);
        TO.Store(dst + 15 * dstStride, r15);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PackBlock8<TO, TV>(float** src, int j, float* win, int first, int* map, bool split, float* re, float* im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src[0] + j), r1 = TO.Load(src[1] + j), r2 = TO.Load(src[2] + j), r3 = TO.Load(src[3] + j), r4 = TO.Load(src[4] + j), r5 = TO.Load(src[5] + j), r6 = TO.Load(src[6] + j), r7 = TO.Load(src[7] + j);
        Transpose8<TO, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        Put<TO, TV>(r0, map == null ? first + j + 0 : map[j + 0], win, j + 0, split, re, im);
        Put<TO, TV>(r1, map == null ? first + j + 1 : map[j + 1], win, j + 1, split, re, im);
        Put<TO, TV>(r2, map == null ? first + j + 2 : map[j + 2], win, j + 2, split, re, im);
        Put<TO, TV>(r3, map == null ? first + j + 3 : map[j + 3], win, j + 3, split, re, im);
        Put<TO, TV>(r4, map == null ? first + j + 4 : map[j + 4], win, j + 4, split, re, im);
        Put<TO, TV>(r5, map == null ? first + j + 5 : map[j + 5], win, j + 5, split, re, im);
        Put<TO, TV>(r6, map == null ? first + j + 6 : map[j + 6], win, j + 6, split, re, im);
        Put<TO, TV>(r7, map == null ? first + j + 7 : map[j + 7], win, j + 7, split, re, im);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreBlock8<TO, TV>(float* rows, int row0, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        float* p = rows + (nint)row0 * TO.Count;
        TV r0 = TO.Load(p + 0 * TO.Count), r1 = TO.Load(p + 1 * TO.Count), r2 = TO.Load(p + 2 * TO.Count), r3 = TO.Load(p + 3 * TO.Count), r4 = TO.Load(p + 4 * TO.Count), r5 = TO.Load(p + 5 * TO.Count), r6 = TO.Load(p + 6 * TO.Count), r7 = TO.Load(p + 7 * TO.Count);
        Transpose8<TO, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        TO.Store(dst[0] + row0, r0);
        TO.Store(dst[1] + row0, r1);
        TO.Store(dst[2] + row0, r2);
        TO.Store(dst[3] + row0, r3);
        TO.Store(dst[4] + row0, r4);
        TO.Store(dst[5] + row0, r5);
        TO.Store(dst[6] + row0, r6);
        TO.Store(dst[7] + row0, r7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreComplexBlock8<TO, TV>(float* re, float* im, int row0, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        float* p = re + (nint)row0 * TO.Count, q = im + (nint)row0 * TO.Count;
        TV a0 = TO.Load(p + 0 * TO.Count), a1 = TO.Load(p + 1 * TO.Count), a2 = TO.Load(p + 2 * TO.Count), a3 = TO.Load(p + 3 * TO.Count), a4 = TO.Load(p + 4 * TO.Count), a5 = TO.Load(p + 5 * TO.Count), a6 = TO.Load(p + 6 * TO.Count), a7 = TO.Load(p + 7 * TO.Count);
        TV b0 = TO.Load(q + 0 * TO.Count), b1 = TO.Load(q + 1 * TO.Count), b2 = TO.Load(q + 2 * TO.Count), b3 = TO.Load(q + 3 * TO.Count), b4 = TO.Load(q + 4 * TO.Count), b5 = TO.Load(q + 5 * TO.Count), b6 = TO.Load(q + 6 * TO.Count), b7 = TO.Load(q + 7 * TO.Count);
        Transpose8<TO, TV>(ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
        Transpose8<TO, TV>(ref b0, ref b1, ref b2, ref b3, ref b4, ref b5, ref b6, ref b7);
        Interleave<TO, TV>(a0, b0, dst[0] + 2 * row0);
        Interleave<TO, TV>(a1, b1, dst[1] + 2 * row0);
        Interleave<TO, TV>(a2, b2, dst[2] + 2 * row0);
        Interleave<TO, TV>(a3, b3, dst[3] + 2 * row0);
        Interleave<TO, TV>(a4, b4, dst[4] + 2 * row0);
        Interleave<TO, TV>(a5, b5, dst[5] + 2 * row0);
        Interleave<TO, TV>(a6, b6, dst[6] + 2 * row0);
        Interleave<TO, TV>(a7, b7, dst[7] + 2 * row0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TransposeBlock8<TO, TV>(float* src, nint srcStride, float* dst, nint dstStride) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src + 0 * srcStride), r1 = TO.Load(src + 1 * srcStride), r2 = TO.Load(src + 2 * srcStride), r3 = TO.Load(src + 3 * srcStride), r4 = TO.Load(src + 4 * srcStride), r5 = TO.Load(src + 5 * srcStride), r6 = TO.Load(src + 6 * srcStride), r7 = TO.Load(src + 7 * srcStride);
        Transpose8<TO, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        TO.Store(dst + 0 * dstStride, r0);
        TO.Store(dst + 1 * dstStride, r1);
        TO.Store(dst + 2 * dstStride, r2);
        TO.Store(dst + 3 * dstStride, r3);
        TO.Store(dst + 4 * dstStride, r4);
        TO.Store(dst + 5 * dstStride, r5);
        TO.Store(dst + 6 * dstStride, r6);
        TO.Store(dst + 7 * dstStride, r7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PackBlock4<TO, TV>(float** src, int j, float* win, int first, int* map, bool split, float* re, float* im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src[0] + j), r1 = TO.Load(src[1] + j), r2 = TO.Load(src[2] + j), r3 = TO.Load(src[3] + j);
        Transpose4<TO, TV>(ref r0, ref r1, ref r2, ref r3);
        Put<TO, TV>(r0, map == null ? first + j + 0 : map[j + 0], win, j + 0, split, re, im);
        Put<TO, TV>(r1, map == null ? first + j + 1 : map[j + 1], win, j + 1, split, re, im);
        Put<TO, TV>(r2, map == null ? first + j + 2 : map[j + 2], win, j + 2, split, re, im);
        Put<TO, TV>(r3, map == null ? first + j + 3 : map[j + 3], win, j + 3, split, re, im);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreBlock4<TO, TV>(float* rows, int row0, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        float* p = rows + (nint)row0 * TO.Count;
        TV r0 = TO.Load(p + 0 * TO.Count), r1 = TO.Load(p + 1 * TO.Count), r2 = TO.Load(p + 2 * TO.Count), r3 = TO.Load(p + 3 * TO.Count);
        Transpose4<TO, TV>(ref r0, ref r1, ref r2, ref r3);
        TO.Store(dst[0] + row0, r0);
        TO.Store(dst[1] + row0, r1);
        TO.Store(dst[2] + row0, r2);
        TO.Store(dst[3] + row0, r3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreComplexBlock4<TO, TV>(float* re, float* im, int row0, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        float* p = re + (nint)row0 * TO.Count, q = im + (nint)row0 * TO.Count;
        TV a0 = TO.Load(p + 0 * TO.Count), a1 = TO.Load(p + 1 * TO.Count), a2 = TO.Load(p + 2 * TO.Count), a3 = TO.Load(p + 3 * TO.Count);
        TV b0 = TO.Load(q + 0 * TO.Count), b1 = TO.Load(q + 1 * TO.Count), b2 = TO.Load(q + 2 * TO.Count), b3 = TO.Load(q + 3 * TO.Count);
        Transpose4<TO, TV>(ref a0, ref a1, ref a2, ref a3);
        Transpose4<TO, TV>(ref b0, ref b1, ref b2, ref b3);
        Interleave<TO, TV>(a0, b0, dst[0] + 2 * row0);
        Interleave<TO, TV>(a1, b1, dst[1] + 2 * row0);
        Interleave<TO, TV>(a2, b2, dst[2] + 2 * row0);
        Interleave<TO, TV>(a3, b3, dst[3] + 2 * row0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TransposeBlock4<TO, TV>(float* src, nint srcStride, float* dst, nint dstStride) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src + 0 * srcStride), r1 = TO.Load(src + 1 * srcStride), r2 = TO.Load(src + 2 * srcStride), r3 = TO.Load(src + 3 * srcStride);
        Transpose4<TO, TV>(ref r0, ref r1, ref r2, ref r3);
        TO.Store(dst + 0 * dstStride, r0);
        TO.Store(dst + 1 * dstStride, r1);
        TO.Store(dst + 2 * dstStride, r2);
        TO.Store(dst + 3 * dstStride, r3);
    }

    /// <summary>
    /// In-register transpose of the W x W block whose rows are r0..r(W-1): afterwards r_i holds column i. With AVX-512, the
    /// classic 64-instruction sequence (in-lane unpacks and shuffles, then 128-bit lane shuffles); elsewhere log2 W rounds of
    /// IVec.Zip (rows i and i + W/2 -> 2i, 2i+1), 128 two-source permutes at W = 16. Pure data movement: every path gives the
    /// same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose16<TO, TV>(ref TV r0, ref TV r1, ref TV r2, ref TV r3, ref TV r4, ref TV r5, ref TV r6, ref TV r7, ref TV r8, ref TV r9, ref TV r10, ref TV r11, ref TV r12, ref TV r13, ref TV r14, ref TV r15) where TO : struct, IVec<TV> where TV : unmanaged
    {
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
            r0 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x0, p0, 0x88)); r8 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x0, p0, 0xDD));
            r4 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y0, q0, 0x88)); r12 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y0, q0, 0xDD));
            r1 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x1, p1, 0x88)); r9 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x1, p1, 0xDD));
            r5 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y1, q1, 0x88)); r13 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y1, q1, 0xDD));
            r2 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x2, p2, 0x88)); r10 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x2, p2, 0xDD));
            r6 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y2, q2, 0x88)); r14 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y2, q2, 0xDD));
            r3 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x3, p3, 0x88)); r11 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(x3, p3, 0xDD));
            r7 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y3, q3, 0x88)); r15 = Unsafe.BitCast<Vector512<float>, TV>(Avx512F.Shuffle4x128(y3, q3, 0xDD));
        }
        else
        {
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
            r0 = z3_0; r1 = z3_1; r2 = z3_2; r3 = z3_3; r4 = z3_4; r5 = z3_5; r6 = z3_6; r7 = z3_7; r8 = z3_8; r9 = z3_9; r10 = z3_10; r11 = z3_11; r12 = z3_12; r13 = z3_13; r14 = z3_14; r15 = z3_15;
        }
    }

    /// <summary>As <see cref="Transpose16{TO,TV}"/> for W = 8: with AVX, unpacks, shuffles and 128-bit lane permutes (24 instructions instead of 48).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8<TO, TV>(ref TV r0, ref TV r1, ref TV r2, ref TV r3, ref TV r4, ref TV r5, ref TV r6, ref TV r7) where TO : struct, IVec<TV> where TV : unmanaged
    {
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
            r0 = Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u0, u4, 0x20)); r4 = Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u0, u4, 0x31));
            r1 = Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u1, u5, 0x20)); r5 = Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u1, u5, 0x31));
            r2 = Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u2, u6, 0x20)); r6 = Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u2, u6, 0x31));
            r3 = Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u3, u7, 0x20)); r7 = Unsafe.BitCast<Vector256<float>, TV>(Avx.Permute2x128(u3, u7, 0x31));
        }
        else
        {
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
            r0 = z2_0; r1 = z2_1; r2 = z2_2; r3 = z2_3; r4 = z2_4; r5 = z2_5; r6 = z2_6; r7 = z2_7;
        }
    }

    /// <summary>As <see cref="Transpose16{TO,TV}"/> for W = 4 (two rounds of Zip: 8 unpacks, as _MM_TRANSPOSE4_PS).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose4<TO, TV>(ref TV r0, ref TV r1, ref TV r2, ref TV r3) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TO.Zip(r0, r2, out TV z0_0, out TV z0_1);
        TO.Zip(r1, r3, out TV z0_2, out TV z0_3);
        TO.Zip(z0_0, z0_2, out TV z1_0, out TV z1_1);
        TO.Zip(z0_1, z0_3, out TV z1_2, out TV z1_3);
        r0 = z1_0; r1 = z1_1; r2 = z1_2; r3 = z1_3;
    }
}

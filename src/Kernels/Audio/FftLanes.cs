// Lane layout shared by the FFT, STFT, mel and MFCC kernels. W = TO.Count independent transforms
// (frames) are processed together: element t of transform l lives at buf[t * W + l], so every
// butterfly, power, mel and log step is a plain vertical SIMD operation, the same source serves every
// radix (and Bluestein) at every width, and ScalarOps (W = 1) is the plain scalar reference.
// Frames move between row-major memory (one pointer per lane) and the (rows, W) lane layout through
// W x W transposes built from IVec.Zip: log2(W) perfect-shuffle rounds, each W/2 zips. Why the
// unrolled per-width blocks (generated, below): with the W rows in named locals the JIT keeps the whole
// block in vector registers; a loop over a stack array spilled every round (measured: packing was a
// quarter of a log-mel's time).
using System.Runtime.CompilerServices;
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

    // ---- generated per-width blocks (W = 16, 8, 4): load W rows, transpose in registers (log2 W rounds of
    // Zip, rows i and i + W/2 -> 2i, 2i+1), put

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PackBlock16<TO, TV>(float** src, int j, float* win, int first, int* map, bool split, float* re, float* im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src[0] + j);
        TV r1 = TO.Load(src[1] + j);
        TV r2 = TO.Load(src[2] + j);
        TV r3 = TO.Load(src[3] + j);
        TV r4 = TO.Load(src[4] + j);
        TV r5 = TO.Load(src[5] + j);
        TV r6 = TO.Load(src[6] + j);
        TV r7 = TO.Load(src[7] + j);
        TV r8 = TO.Load(src[8] + j);
        TV r9 = TO.Load(src[9] + j);
        TV r10 = TO.Load(src[10] + j);
        TV r11 = TO.Load(src[11] + j);
        TV r12 = TO.Load(src[12] + j);
        TV r13 = TO.Load(src[13] + j);
        TV r14 = TO.Load(src[14] + j);
        TV r15 = TO.Load(src[15] + j);
        TO.Zip(r0, r8, out TV r0_0, out TV r0_1);
        TO.Zip(r1, r9, out TV r0_2, out TV r0_3);
        TO.Zip(r2, r10, out TV r0_4, out TV r0_5);
        TO.Zip(r3, r11, out TV r0_6, out TV r0_7);
        TO.Zip(r4, r12, out TV r0_8, out TV r0_9);
        TO.Zip(r5, r13, out TV r0_10, out TV r0_11);
        TO.Zip(r6, r14, out TV r0_12, out TV r0_13);
        TO.Zip(r7, r15, out TV r0_14, out TV r0_15);
        TO.Zip(r0_0, r0_8, out TV r1_0, out TV r1_1);
        TO.Zip(r0_1, r0_9, out TV r1_2, out TV r1_3);
        TO.Zip(r0_2, r0_10, out TV r1_4, out TV r1_5);
        TO.Zip(r0_3, r0_11, out TV r1_6, out TV r1_7);
        TO.Zip(r0_4, r0_12, out TV r1_8, out TV r1_9);
        TO.Zip(r0_5, r0_13, out TV r1_10, out TV r1_11);
        TO.Zip(r0_6, r0_14, out TV r1_12, out TV r1_13);
        TO.Zip(r0_7, r0_15, out TV r1_14, out TV r1_15);
        TO.Zip(r1_0, r1_8, out TV r2_0, out TV r2_1);
        TO.Zip(r1_1, r1_9, out TV r2_2, out TV r2_3);
        TO.Zip(r1_2, r1_10, out TV r2_4, out TV r2_5);
        TO.Zip(r1_3, r1_11, out TV r2_6, out TV r2_7);
        TO.Zip(r1_4, r1_12, out TV r2_8, out TV r2_9);
        TO.Zip(r1_5, r1_13, out TV r2_10, out TV r2_11);
        TO.Zip(r1_6, r1_14, out TV r2_12, out TV r2_13);
        TO.Zip(r1_7, r1_15, out TV r2_14, out TV r2_15);
        TO.Zip(r2_0, r2_8, out TV r3_0, out TV r3_1);
        TO.Zip(r2_1, r2_9, out TV r3_2, out TV r3_3);
        TO.Zip(r2_2, r2_10, out TV r3_4, out TV r3_5);
        TO.Zip(r2_3, r2_11, out TV r3_6, out TV r3_7);
        TO.Zip(r2_4, r2_12, out TV r3_8, out TV r3_9);
        TO.Zip(r2_5, r2_13, out TV r3_10, out TV r3_11);
        TO.Zip(r2_6, r2_14, out TV r3_12, out TV r3_13);
        TO.Zip(r2_7, r2_15, out TV r3_14, out TV r3_15);
        r0 = r3_0; r1 = r3_1; r2 = r3_2; r3 = r3_3; r4 = r3_4; r5 = r3_5; r6 = r3_6; r7 = r3_7; r8 = r3_8; r9 = r3_9; r10 = r3_10; r11 = r3_11; r12 = r3_12; r13 = r3_13; r14 = r3_14; r15 = r3_15;
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
        TV r0 = TO.Load(p + 0 * TO.Count);
        TV r1 = TO.Load(p + 1 * TO.Count);
        TV r2 = TO.Load(p + 2 * TO.Count);
        TV r3 = TO.Load(p + 3 * TO.Count);
        TV r4 = TO.Load(p + 4 * TO.Count);
        TV r5 = TO.Load(p + 5 * TO.Count);
        TV r6 = TO.Load(p + 6 * TO.Count);
        TV r7 = TO.Load(p + 7 * TO.Count);
        TV r8 = TO.Load(p + 8 * TO.Count);
        TV r9 = TO.Load(p + 9 * TO.Count);
        TV r10 = TO.Load(p + 10 * TO.Count);
        TV r11 = TO.Load(p + 11 * TO.Count);
        TV r12 = TO.Load(p + 12 * TO.Count);
        TV r13 = TO.Load(p + 13 * TO.Count);
        TV r14 = TO.Load(p + 14 * TO.Count);
        TV r15 = TO.Load(p + 15 * TO.Count);
        TO.Zip(r0, r8, out TV r0_0, out TV r0_1);
        TO.Zip(r1, r9, out TV r0_2, out TV r0_3);
        TO.Zip(r2, r10, out TV r0_4, out TV r0_5);
        TO.Zip(r3, r11, out TV r0_6, out TV r0_7);
        TO.Zip(r4, r12, out TV r0_8, out TV r0_9);
        TO.Zip(r5, r13, out TV r0_10, out TV r0_11);
        TO.Zip(r6, r14, out TV r0_12, out TV r0_13);
        TO.Zip(r7, r15, out TV r0_14, out TV r0_15);
        TO.Zip(r0_0, r0_8, out TV r1_0, out TV r1_1);
        TO.Zip(r0_1, r0_9, out TV r1_2, out TV r1_3);
        TO.Zip(r0_2, r0_10, out TV r1_4, out TV r1_5);
        TO.Zip(r0_3, r0_11, out TV r1_6, out TV r1_7);
        TO.Zip(r0_4, r0_12, out TV r1_8, out TV r1_9);
        TO.Zip(r0_5, r0_13, out TV r1_10, out TV r1_11);
        TO.Zip(r0_6, r0_14, out TV r1_12, out TV r1_13);
        TO.Zip(r0_7, r0_15, out TV r1_14, out TV r1_15);
        TO.Zip(r1_0, r1_8, out TV r2_0, out TV r2_1);
        TO.Zip(r1_1, r1_9, out TV r2_2, out TV r2_3);
        TO.Zip(r1_2, r1_10, out TV r2_4, out TV r2_5);
        TO.Zip(r1_3, r1_11, out TV r2_6, out TV r2_7);
        TO.Zip(r1_4, r1_12, out TV r2_8, out TV r2_9);
        TO.Zip(r1_5, r1_13, out TV r2_10, out TV r2_11);
        TO.Zip(r1_6, r1_14, out TV r2_12, out TV r2_13);
        TO.Zip(r1_7, r1_15, out TV r2_14, out TV r2_15);
        TO.Zip(r2_0, r2_8, out TV r3_0, out TV r3_1);
        TO.Zip(r2_1, r2_9, out TV r3_2, out TV r3_3);
        TO.Zip(r2_2, r2_10, out TV r3_4, out TV r3_5);
        TO.Zip(r2_3, r2_11, out TV r3_6, out TV r3_7);
        TO.Zip(r2_4, r2_12, out TV r3_8, out TV r3_9);
        TO.Zip(r2_5, r2_13, out TV r3_10, out TV r3_11);
        TO.Zip(r2_6, r2_14, out TV r3_12, out TV r3_13);
        TO.Zip(r2_7, r2_15, out TV r3_14, out TV r3_15);
        r0 = r3_0; r1 = r3_1; r2 = r3_2; r3 = r3_3; r4 = r3_4; r5 = r3_5; r6 = r3_6; r7 = r3_7; r8 = r3_8; r9 = r3_9; r10 = r3_10; r11 = r3_11; r12 = r3_12; r13 = r3_13; r14 = r3_14; r15 = r3_15;
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
        TV a0 = TO.Load(p + 0 * TO.Count), b0 = TO.Load(q + 0 * TO.Count);
        TV a1 = TO.Load(p + 1 * TO.Count), b1 = TO.Load(q + 1 * TO.Count);
        TV a2 = TO.Load(p + 2 * TO.Count), b2 = TO.Load(q + 2 * TO.Count);
        TV a3 = TO.Load(p + 3 * TO.Count), b3 = TO.Load(q + 3 * TO.Count);
        TV a4 = TO.Load(p + 4 * TO.Count), b4 = TO.Load(q + 4 * TO.Count);
        TV a5 = TO.Load(p + 5 * TO.Count), b5 = TO.Load(q + 5 * TO.Count);
        TV a6 = TO.Load(p + 6 * TO.Count), b6 = TO.Load(q + 6 * TO.Count);
        TV a7 = TO.Load(p + 7 * TO.Count), b7 = TO.Load(q + 7 * TO.Count);
        TV a8 = TO.Load(p + 8 * TO.Count), b8 = TO.Load(q + 8 * TO.Count);
        TV a9 = TO.Load(p + 9 * TO.Count), b9 = TO.Load(q + 9 * TO.Count);
        TV a10 = TO.Load(p + 10 * TO.Count), b10 = TO.Load(q + 10 * TO.Count);
        TV a11 = TO.Load(p + 11 * TO.Count), b11 = TO.Load(q + 11 * TO.Count);
        TV a12 = TO.Load(p + 12 * TO.Count), b12 = TO.Load(q + 12 * TO.Count);
        TV a13 = TO.Load(p + 13 * TO.Count), b13 = TO.Load(q + 13 * TO.Count);
        TV a14 = TO.Load(p + 14 * TO.Count), b14 = TO.Load(q + 14 * TO.Count);
        TV a15 = TO.Load(p + 15 * TO.Count), b15 = TO.Load(q + 15 * TO.Count);
        TO.Zip(a0, a8, out TV a0_0, out TV a0_1);
        TO.Zip(a1, a9, out TV a0_2, out TV a0_3);
        TO.Zip(a2, a10, out TV a0_4, out TV a0_5);
        TO.Zip(a3, a11, out TV a0_6, out TV a0_7);
        TO.Zip(a4, a12, out TV a0_8, out TV a0_9);
        TO.Zip(a5, a13, out TV a0_10, out TV a0_11);
        TO.Zip(a6, a14, out TV a0_12, out TV a0_13);
        TO.Zip(a7, a15, out TV a0_14, out TV a0_15);
        TO.Zip(a0_0, a0_8, out TV a1_0, out TV a1_1);
        TO.Zip(a0_1, a0_9, out TV a1_2, out TV a1_3);
        TO.Zip(a0_2, a0_10, out TV a1_4, out TV a1_5);
        TO.Zip(a0_3, a0_11, out TV a1_6, out TV a1_7);
        TO.Zip(a0_4, a0_12, out TV a1_8, out TV a1_9);
        TO.Zip(a0_5, a0_13, out TV a1_10, out TV a1_11);
        TO.Zip(a0_6, a0_14, out TV a1_12, out TV a1_13);
        TO.Zip(a0_7, a0_15, out TV a1_14, out TV a1_15);
        TO.Zip(a1_0, a1_8, out TV a2_0, out TV a2_1);
        TO.Zip(a1_1, a1_9, out TV a2_2, out TV a2_3);
        TO.Zip(a1_2, a1_10, out TV a2_4, out TV a2_5);
        TO.Zip(a1_3, a1_11, out TV a2_6, out TV a2_7);
        TO.Zip(a1_4, a1_12, out TV a2_8, out TV a2_9);
        TO.Zip(a1_5, a1_13, out TV a2_10, out TV a2_11);
        TO.Zip(a1_6, a1_14, out TV a2_12, out TV a2_13);
        TO.Zip(a1_7, a1_15, out TV a2_14, out TV a2_15);
        TO.Zip(a2_0, a2_8, out TV a3_0, out TV a3_1);
        TO.Zip(a2_1, a2_9, out TV a3_2, out TV a3_3);
        TO.Zip(a2_2, a2_10, out TV a3_4, out TV a3_5);
        TO.Zip(a2_3, a2_11, out TV a3_6, out TV a3_7);
        TO.Zip(a2_4, a2_12, out TV a3_8, out TV a3_9);
        TO.Zip(a2_5, a2_13, out TV a3_10, out TV a3_11);
        TO.Zip(a2_6, a2_14, out TV a3_12, out TV a3_13);
        TO.Zip(a2_7, a2_15, out TV a3_14, out TV a3_15);
        a0 = a3_0; a1 = a3_1; a2 = a3_2; a3 = a3_3; a4 = a3_4; a5 = a3_5; a6 = a3_6; a7 = a3_7; a8 = a3_8; a9 = a3_9; a10 = a3_10; a11 = a3_11; a12 = a3_12; a13 = a3_13; a14 = a3_14; a15 = a3_15;
        TO.Zip(b0, b8, out TV b0_0, out TV b0_1);
        TO.Zip(b1, b9, out TV b0_2, out TV b0_3);
        TO.Zip(b2, b10, out TV b0_4, out TV b0_5);
        TO.Zip(b3, b11, out TV b0_6, out TV b0_7);
        TO.Zip(b4, b12, out TV b0_8, out TV b0_9);
        TO.Zip(b5, b13, out TV b0_10, out TV b0_11);
        TO.Zip(b6, b14, out TV b0_12, out TV b0_13);
        TO.Zip(b7, b15, out TV b0_14, out TV b0_15);
        TO.Zip(b0_0, b0_8, out TV b1_0, out TV b1_1);
        TO.Zip(b0_1, b0_9, out TV b1_2, out TV b1_3);
        TO.Zip(b0_2, b0_10, out TV b1_4, out TV b1_5);
        TO.Zip(b0_3, b0_11, out TV b1_6, out TV b1_7);
        TO.Zip(b0_4, b0_12, out TV b1_8, out TV b1_9);
        TO.Zip(b0_5, b0_13, out TV b1_10, out TV b1_11);
        TO.Zip(b0_6, b0_14, out TV b1_12, out TV b1_13);
        TO.Zip(b0_7, b0_15, out TV b1_14, out TV b1_15);
        TO.Zip(b1_0, b1_8, out TV b2_0, out TV b2_1);
        TO.Zip(b1_1, b1_9, out TV b2_2, out TV b2_3);
        TO.Zip(b1_2, b1_10, out TV b2_4, out TV b2_5);
        TO.Zip(b1_3, b1_11, out TV b2_6, out TV b2_7);
        TO.Zip(b1_4, b1_12, out TV b2_8, out TV b2_9);
        TO.Zip(b1_5, b1_13, out TV b2_10, out TV b2_11);
        TO.Zip(b1_6, b1_14, out TV b2_12, out TV b2_13);
        TO.Zip(b1_7, b1_15, out TV b2_14, out TV b2_15);
        TO.Zip(b2_0, b2_8, out TV b3_0, out TV b3_1);
        TO.Zip(b2_1, b2_9, out TV b3_2, out TV b3_3);
        TO.Zip(b2_2, b2_10, out TV b3_4, out TV b3_5);
        TO.Zip(b2_3, b2_11, out TV b3_6, out TV b3_7);
        TO.Zip(b2_4, b2_12, out TV b3_8, out TV b3_9);
        TO.Zip(b2_5, b2_13, out TV b3_10, out TV b3_11);
        TO.Zip(b2_6, b2_14, out TV b3_12, out TV b3_13);
        TO.Zip(b2_7, b2_15, out TV b3_14, out TV b3_15);
        b0 = b3_0; b1 = b3_1; b2 = b3_2; b3 = b3_3; b4 = b3_4; b5 = b3_5; b6 = b3_6; b7 = b3_7; b8 = b3_8; b9 = b3_9; b10 = b3_10; b11 = b3_11; b12 = b3_12; b13 = b3_13; b14 = b3_14; b15 = b3_15;
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
    static void PackBlock8<TO, TV>(float** src, int j, float* win, int first, int* map, bool split, float* re, float* im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src[0] + j);
        TV r1 = TO.Load(src[1] + j);
        TV r2 = TO.Load(src[2] + j);
        TV r3 = TO.Load(src[3] + j);
        TV r4 = TO.Load(src[4] + j);
        TV r5 = TO.Load(src[5] + j);
        TV r6 = TO.Load(src[6] + j);
        TV r7 = TO.Load(src[7] + j);
        TO.Zip(r0, r4, out TV r0_0, out TV r0_1);
        TO.Zip(r1, r5, out TV r0_2, out TV r0_3);
        TO.Zip(r2, r6, out TV r0_4, out TV r0_5);
        TO.Zip(r3, r7, out TV r0_6, out TV r0_7);
        TO.Zip(r0_0, r0_4, out TV r1_0, out TV r1_1);
        TO.Zip(r0_1, r0_5, out TV r1_2, out TV r1_3);
        TO.Zip(r0_2, r0_6, out TV r1_4, out TV r1_5);
        TO.Zip(r0_3, r0_7, out TV r1_6, out TV r1_7);
        TO.Zip(r1_0, r1_4, out TV r2_0, out TV r2_1);
        TO.Zip(r1_1, r1_5, out TV r2_2, out TV r2_3);
        TO.Zip(r1_2, r1_6, out TV r2_4, out TV r2_5);
        TO.Zip(r1_3, r1_7, out TV r2_6, out TV r2_7);
        r0 = r2_0; r1 = r2_1; r2 = r2_2; r3 = r2_3; r4 = r2_4; r5 = r2_5; r6 = r2_6; r7 = r2_7;
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
        TV r0 = TO.Load(p + 0 * TO.Count);
        TV r1 = TO.Load(p + 1 * TO.Count);
        TV r2 = TO.Load(p + 2 * TO.Count);
        TV r3 = TO.Load(p + 3 * TO.Count);
        TV r4 = TO.Load(p + 4 * TO.Count);
        TV r5 = TO.Load(p + 5 * TO.Count);
        TV r6 = TO.Load(p + 6 * TO.Count);
        TV r7 = TO.Load(p + 7 * TO.Count);
        TO.Zip(r0, r4, out TV r0_0, out TV r0_1);
        TO.Zip(r1, r5, out TV r0_2, out TV r0_3);
        TO.Zip(r2, r6, out TV r0_4, out TV r0_5);
        TO.Zip(r3, r7, out TV r0_6, out TV r0_7);
        TO.Zip(r0_0, r0_4, out TV r1_0, out TV r1_1);
        TO.Zip(r0_1, r0_5, out TV r1_2, out TV r1_3);
        TO.Zip(r0_2, r0_6, out TV r1_4, out TV r1_5);
        TO.Zip(r0_3, r0_7, out TV r1_6, out TV r1_7);
        TO.Zip(r1_0, r1_4, out TV r2_0, out TV r2_1);
        TO.Zip(r1_1, r1_5, out TV r2_2, out TV r2_3);
        TO.Zip(r1_2, r1_6, out TV r2_4, out TV r2_5);
        TO.Zip(r1_3, r1_7, out TV r2_6, out TV r2_7);
        r0 = r2_0; r1 = r2_1; r2 = r2_2; r3 = r2_3; r4 = r2_4; r5 = r2_5; r6 = r2_6; r7 = r2_7;
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
        TV a0 = TO.Load(p + 0 * TO.Count), b0 = TO.Load(q + 0 * TO.Count);
        TV a1 = TO.Load(p + 1 * TO.Count), b1 = TO.Load(q + 1 * TO.Count);
        TV a2 = TO.Load(p + 2 * TO.Count), b2 = TO.Load(q + 2 * TO.Count);
        TV a3 = TO.Load(p + 3 * TO.Count), b3 = TO.Load(q + 3 * TO.Count);
        TV a4 = TO.Load(p + 4 * TO.Count), b4 = TO.Load(q + 4 * TO.Count);
        TV a5 = TO.Load(p + 5 * TO.Count), b5 = TO.Load(q + 5 * TO.Count);
        TV a6 = TO.Load(p + 6 * TO.Count), b6 = TO.Load(q + 6 * TO.Count);
        TV a7 = TO.Load(p + 7 * TO.Count), b7 = TO.Load(q + 7 * TO.Count);
        TO.Zip(a0, a4, out TV a0_0, out TV a0_1);
        TO.Zip(a1, a5, out TV a0_2, out TV a0_3);
        TO.Zip(a2, a6, out TV a0_4, out TV a0_5);
        TO.Zip(a3, a7, out TV a0_6, out TV a0_7);
        TO.Zip(a0_0, a0_4, out TV a1_0, out TV a1_1);
        TO.Zip(a0_1, a0_5, out TV a1_2, out TV a1_3);
        TO.Zip(a0_2, a0_6, out TV a1_4, out TV a1_5);
        TO.Zip(a0_3, a0_7, out TV a1_6, out TV a1_7);
        TO.Zip(a1_0, a1_4, out TV a2_0, out TV a2_1);
        TO.Zip(a1_1, a1_5, out TV a2_2, out TV a2_3);
        TO.Zip(a1_2, a1_6, out TV a2_4, out TV a2_5);
        TO.Zip(a1_3, a1_7, out TV a2_6, out TV a2_7);
        a0 = a2_0; a1 = a2_1; a2 = a2_2; a3 = a2_3; a4 = a2_4; a5 = a2_5; a6 = a2_6; a7 = a2_7;
        TO.Zip(b0, b4, out TV b0_0, out TV b0_1);
        TO.Zip(b1, b5, out TV b0_2, out TV b0_3);
        TO.Zip(b2, b6, out TV b0_4, out TV b0_5);
        TO.Zip(b3, b7, out TV b0_6, out TV b0_7);
        TO.Zip(b0_0, b0_4, out TV b1_0, out TV b1_1);
        TO.Zip(b0_1, b0_5, out TV b1_2, out TV b1_3);
        TO.Zip(b0_2, b0_6, out TV b1_4, out TV b1_5);
        TO.Zip(b0_3, b0_7, out TV b1_6, out TV b1_7);
        TO.Zip(b1_0, b1_4, out TV b2_0, out TV b2_1);
        TO.Zip(b1_1, b1_5, out TV b2_2, out TV b2_3);
        TO.Zip(b1_2, b1_6, out TV b2_4, out TV b2_5);
        TO.Zip(b1_3, b1_7, out TV b2_6, out TV b2_7);
        b0 = b2_0; b1 = b2_1; b2 = b2_2; b3 = b2_3; b4 = b2_4; b5 = b2_5; b6 = b2_6; b7 = b2_7;
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
    static void PackBlock4<TO, TV>(float** src, int j, float* win, int first, int* map, bool split, float* re, float* im) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src[0] + j);
        TV r1 = TO.Load(src[1] + j);
        TV r2 = TO.Load(src[2] + j);
        TV r3 = TO.Load(src[3] + j);
        TO.Zip(r0, r2, out TV r0_0, out TV r0_1);
        TO.Zip(r1, r3, out TV r0_2, out TV r0_3);
        TO.Zip(r0_0, r0_2, out TV r1_0, out TV r1_1);
        TO.Zip(r0_1, r0_3, out TV r1_2, out TV r1_3);
        r0 = r1_0; r1 = r1_1; r2 = r1_2; r3 = r1_3;
        Put<TO, TV>(r0, map == null ? first + j + 0 : map[j + 0], win, j + 0, split, re, im);
        Put<TO, TV>(r1, map == null ? first + j + 1 : map[j + 1], win, j + 1, split, re, im);
        Put<TO, TV>(r2, map == null ? first + j + 2 : map[j + 2], win, j + 2, split, re, im);
        Put<TO, TV>(r3, map == null ? first + j + 3 : map[j + 3], win, j + 3, split, re, im);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreBlock4<TO, TV>(float* rows, int row0, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        float* p = rows + (nint)row0 * TO.Count;
        TV r0 = TO.Load(p + 0 * TO.Count);
        TV r1 = TO.Load(p + 1 * TO.Count);
        TV r2 = TO.Load(p + 2 * TO.Count);
        TV r3 = TO.Load(p + 3 * TO.Count);
        TO.Zip(r0, r2, out TV r0_0, out TV r0_1);
        TO.Zip(r1, r3, out TV r0_2, out TV r0_3);
        TO.Zip(r0_0, r0_2, out TV r1_0, out TV r1_1);
        TO.Zip(r0_1, r0_3, out TV r1_2, out TV r1_3);
        r0 = r1_0; r1 = r1_1; r2 = r1_2; r3 = r1_3;
        TO.Store(dst[0] + row0, r0);
        TO.Store(dst[1] + row0, r1);
        TO.Store(dst[2] + row0, r2);
        TO.Store(dst[3] + row0, r3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreComplexBlock4<TO, TV>(float* re, float* im, int row0, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        float* p = re + (nint)row0 * TO.Count, q = im + (nint)row0 * TO.Count;
        TV a0 = TO.Load(p + 0 * TO.Count), b0 = TO.Load(q + 0 * TO.Count);
        TV a1 = TO.Load(p + 1 * TO.Count), b1 = TO.Load(q + 1 * TO.Count);
        TV a2 = TO.Load(p + 2 * TO.Count), b2 = TO.Load(q + 2 * TO.Count);
        TV a3 = TO.Load(p + 3 * TO.Count), b3 = TO.Load(q + 3 * TO.Count);
        TO.Zip(a0, a2, out TV a0_0, out TV a0_1);
        TO.Zip(a1, a3, out TV a0_2, out TV a0_3);
        TO.Zip(a0_0, a0_2, out TV a1_0, out TV a1_1);
        TO.Zip(a0_1, a0_3, out TV a1_2, out TV a1_3);
        a0 = a1_0; a1 = a1_1; a2 = a1_2; a3 = a1_3;
        TO.Zip(b0, b2, out TV b0_0, out TV b0_1);
        TO.Zip(b1, b3, out TV b0_2, out TV b0_3);
        TO.Zip(b0_0, b0_2, out TV b1_0, out TV b1_1);
        TO.Zip(b0_1, b0_3, out TV b1_2, out TV b1_3);
        b0 = b1_0; b1 = b1_1; b2 = b1_2; b3 = b1_3;
        Interleave<TO, TV>(a0, b0, dst[0] + 2 * row0);
        Interleave<TO, TV>(a1, b1, dst[1] + 2 * row0);
        Interleave<TO, TV>(a2, b2, dst[2] + 2 * row0);
        Interleave<TO, TV>(a3, b3, dst[3] + 2 * row0);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TransposeBlock16<TO, TV>(float* src, nint srcStride, float* dst, nint dstStride) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src + 0 * srcStride);
        TV r1 = TO.Load(src + 1 * srcStride);
        TV r2 = TO.Load(src + 2 * srcStride);
        TV r3 = TO.Load(src + 3 * srcStride);
        TV r4 = TO.Load(src + 4 * srcStride);
        TV r5 = TO.Load(src + 5 * srcStride);
        TV r6 = TO.Load(src + 6 * srcStride);
        TV r7 = TO.Load(src + 7 * srcStride);
        TV r8 = TO.Load(src + 8 * srcStride);
        TV r9 = TO.Load(src + 9 * srcStride);
        TV r10 = TO.Load(src + 10 * srcStride);
        TV r11 = TO.Load(src + 11 * srcStride);
        TV r12 = TO.Load(src + 12 * srcStride);
        TV r13 = TO.Load(src + 13 * srcStride);
        TV r14 = TO.Load(src + 14 * srcStride);
        TV r15 = TO.Load(src + 15 * srcStride);
        TO.Zip(r0, r8, out TV r0_0, out TV r0_1);
        TO.Zip(r1, r9, out TV r0_2, out TV r0_3);
        TO.Zip(r2, r10, out TV r0_4, out TV r0_5);
        TO.Zip(r3, r11, out TV r0_6, out TV r0_7);
        TO.Zip(r4, r12, out TV r0_8, out TV r0_9);
        TO.Zip(r5, r13, out TV r0_10, out TV r0_11);
        TO.Zip(r6, r14, out TV r0_12, out TV r0_13);
        TO.Zip(r7, r15, out TV r0_14, out TV r0_15);
        TO.Zip(r0_0, r0_8, out TV r1_0, out TV r1_1);
        TO.Zip(r0_1, r0_9, out TV r1_2, out TV r1_3);
        TO.Zip(r0_2, r0_10, out TV r1_4, out TV r1_5);
        TO.Zip(r0_3, r0_11, out TV r1_6, out TV r1_7);
        TO.Zip(r0_4, r0_12, out TV r1_8, out TV r1_9);
        TO.Zip(r0_5, r0_13, out TV r1_10, out TV r1_11);
        TO.Zip(r0_6, r0_14, out TV r1_12, out TV r1_13);
        TO.Zip(r0_7, r0_15, out TV r1_14, out TV r1_15);
        TO.Zip(r1_0, r1_8, out TV r2_0, out TV r2_1);
        TO.Zip(r1_1, r1_9, out TV r2_2, out TV r2_3);
        TO.Zip(r1_2, r1_10, out TV r2_4, out TV r2_5);
        TO.Zip(r1_3, r1_11, out TV r2_6, out TV r2_7);
        TO.Zip(r1_4, r1_12, out TV r2_8, out TV r2_9);
        TO.Zip(r1_5, r1_13, out TV r2_10, out TV r2_11);
        TO.Zip(r1_6, r1_14, out TV r2_12, out TV r2_13);
        TO.Zip(r1_7, r1_15, out TV r2_14, out TV r2_15);
        TO.Zip(r2_0, r2_8, out TV r3_0, out TV r3_1);
        TO.Zip(r2_1, r2_9, out TV r3_2, out TV r3_3);
        TO.Zip(r2_2, r2_10, out TV r3_4, out TV r3_5);
        TO.Zip(r2_3, r2_11, out TV r3_6, out TV r3_7);
        TO.Zip(r2_4, r2_12, out TV r3_8, out TV r3_9);
        TO.Zip(r2_5, r2_13, out TV r3_10, out TV r3_11);
        TO.Zip(r2_6, r2_14, out TV r3_12, out TV r3_13);
        TO.Zip(r2_7, r2_15, out TV r3_14, out TV r3_15);
        r0 = r3_0; r1 = r3_1; r2 = r3_2; r3 = r3_3; r4 = r3_4; r5 = r3_5; r6 = r3_6; r7 = r3_7; r8 = r3_8; r9 = r3_9; r10 = r3_10; r11 = r3_11; r12 = r3_12; r13 = r3_13; r14 = r3_14; r15 = r3_15;
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
    static void TransposeBlock8<TO, TV>(float* src, nint srcStride, float* dst, nint dstStride) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src + 0 * srcStride);
        TV r1 = TO.Load(src + 1 * srcStride);
        TV r2 = TO.Load(src + 2 * srcStride);
        TV r3 = TO.Load(src + 3 * srcStride);
        TV r4 = TO.Load(src + 4 * srcStride);
        TV r5 = TO.Load(src + 5 * srcStride);
        TV r6 = TO.Load(src + 6 * srcStride);
        TV r7 = TO.Load(src + 7 * srcStride);
        TO.Zip(r0, r4, out TV r0_0, out TV r0_1);
        TO.Zip(r1, r5, out TV r0_2, out TV r0_3);
        TO.Zip(r2, r6, out TV r0_4, out TV r0_5);
        TO.Zip(r3, r7, out TV r0_6, out TV r0_7);
        TO.Zip(r0_0, r0_4, out TV r1_0, out TV r1_1);
        TO.Zip(r0_1, r0_5, out TV r1_2, out TV r1_3);
        TO.Zip(r0_2, r0_6, out TV r1_4, out TV r1_5);
        TO.Zip(r0_3, r0_7, out TV r1_6, out TV r1_7);
        TO.Zip(r1_0, r1_4, out TV r2_0, out TV r2_1);
        TO.Zip(r1_1, r1_5, out TV r2_2, out TV r2_3);
        TO.Zip(r1_2, r1_6, out TV r2_4, out TV r2_5);
        TO.Zip(r1_3, r1_7, out TV r2_6, out TV r2_7);
        r0 = r2_0; r1 = r2_1; r2 = r2_2; r3 = r2_3; r4 = r2_4; r5 = r2_5; r6 = r2_6; r7 = r2_7;
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
    static void TransposeBlock4<TO, TV>(float* src, nint srcStride, float* dst, nint dstStride) where TO : struct, IVec<TV> where TV : unmanaged
    {
        TV r0 = TO.Load(src + 0 * srcStride);
        TV r1 = TO.Load(src + 1 * srcStride);
        TV r2 = TO.Load(src + 2 * srcStride);
        TV r3 = TO.Load(src + 3 * srcStride);
        TO.Zip(r0, r2, out TV r0_0, out TV r0_1);
        TO.Zip(r1, r3, out TV r0_2, out TV r0_3);
        TO.Zip(r0_0, r0_2, out TV r1_0, out TV r1_1);
        TO.Zip(r0_1, r0_3, out TV r1_2, out TV r1_3);
        r0 = r1_0; r1 = r1_1; r2 = r1_2; r3 = r1_3;
        TO.Store(dst + 0 * dstStride, r0);
        TO.Store(dst + 1 * dstStride, r1);
        TO.Store(dst + 2 * dstStride, r2);
        TO.Store(dst + 3 * dstStride, r3);
    }
}

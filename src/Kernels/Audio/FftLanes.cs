// Lane layout shared by the FFT, STFT, mel and MFCC kernels. W = TO.Count independent transforms
// (frames) are processed together: element t of transform l lives at buf[t * W + l], so every
// butterfly, power, mel and log step is a plain vertical SIMD operation, the same source serves every
// radix (and Bluestein) at every width, and ScalarOps (W = 1) is the plain scalar reference.
// Frames move between row-major memory (one pointer per lane) and the (rows, W) lane layout through
// W x W register transposes built from IVec.Zip: log2(W) perfect-shuffle rounds, each W/2 zips.
using System.Runtime.CompilerServices;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Audio;

internal static unsafe class FftLanes
{
    /// <summary>
    /// Transposes the W x W block held in v[0..W) (v[r] = row r). Returns the array holding the result
    /// (v or tmp: each round ping-pongs between them). Round: (v[i], v[i + W/2]) zip to tmp[2i], tmp[2i+1],
    /// which rotates the 2 log2(W)-bit flat index left by one; log2(W) rounds swap row and column bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV* Transpose<TO, TV>(TV* v, TV* tmp) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count, half = w >> 1;
        for (int round = 1; round < w; round <<= 1)
        {
            for (int i = 0; i < half; i++) TO.Zip(v[i], v[i + half], out tmp[2 * i], out tmp[2 * i + 1]);
            TV* t = v; v = tmp; tmp = t;
        }
        return v;
    }

    /// <summary>
    /// Loads <paramref name="len"/> samples of every lane (src[l][0..len)), multiplies sample j by win[j] (win may be null: no window) and
    /// stores it as lane row <c>pos = first + j</c>: at re + pos*W when <paramref name="split"/> is false, else
    /// even positions to re + (pos/2)*W and odd ones to im + (pos/2)*W (the z = even + i*odd packing of the
    /// half-length real FFT).
    /// </summary>
    public static void Pack<TO, TV>(float** src, int len, float* win, int first, bool split, float* re, float* im)
        where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        TV* a = stackalloc TV[w];
        TV* b = stackalloc TV[w];
        int j = 0;
        for (; j + w <= len; j += w)
        {
            for (int l = 0; l < w; l++) a[l] = TO.Load(src[l] + j);
            TV* t = Transpose<TO, TV>(a, b);
            if (win is null)
                for (int r = 0; r < w; r++) TO.Store(Row(first + j + r, split, re, im, w), t[r]);
            else
                for (int r = 0; r < w; r++) TO.Store(Row(first + j + r, split, re, im, w), TO.Mul(t[r], TO.Splat(win[j + r])));
        }
        for (; j < len; j++)
        {
            float* d = Row(first + j, split, re, im, w);
            float wj = win is null ? 1f : win[j];
            for (int l = 0; l < w; l++) d[l] = src[l][j] * wj;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float* Row(int pos, bool split, float* re, float* im, int w)
        => !split ? re + (nint)pos * w : ((pos & 1) == 0 ? re : im) + (nint)(pos >> 1) * w;

    /// <summary>Lane rows (rows, W) to row-major memory: dst[l][r] = rows[r*W + l] for r &lt; count.</summary>
    public static void Store<TO, TV>(float* rows, int count, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        TV* a = stackalloc TV[w];
        TV* b = stackalloc TV[w];
        int r0 = 0;
        for (; r0 + w <= count; r0 += w)
        {
            for (int r = 0; r < w; r++) a[r] = TO.Load(rows + (nint)(r0 + r) * w);
            TV* t = Transpose<TO, TV>(a, b);
            for (int l = 0; l < w; l++) TO.Store(dst[l] + r0, t[l]);
        }
        for (; r0 < count; r0++)
            for (int l = 0; l < w; l++) dst[l][r0] = rows[(nint)r0 * w + l];
    }

    /// <summary>Split-complex lane rows to interleaved row-major memory: dst[l][2r] = re[r*W+l], dst[l][2r+1] = im[r*W+l].</summary>
    public static void StoreComplex<TO, TV>(float* re, float* im, int count, float** dst) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        TV* a = stackalloc TV[w];
        TV* b = stackalloc TV[w];
        TV* c = stackalloc TV[w];
        TV* d = stackalloc TV[w];
        int r0 = 0;
        for (; r0 + w <= count; r0 += w)
        {
            for (int r = 0; r < w; r++) { a[r] = TO.Load(re + (nint)(r0 + r) * w); c[r] = TO.Load(im + (nint)(r0 + r) * w); }
            TV* tr = Transpose<TO, TV>(a, b);
            TV* ti = Transpose<TO, TV>(c, d);
            for (int l = 0; l < w; l++)
            {
                TO.Zip(tr[l], ti[l], out TV lo, out TV hi);
                TO.Store(dst[l] + 2 * r0, lo);
                TO.Store(dst[l] + 2 * r0 + w, hi);
            }
        }
        for (; r0 < count; r0++)
            for (int l = 0; l < w; l++)
            {
                dst[l][2 * r0] = re[(nint)r0 * w + l];
                dst[l][2 * r0 + 1] = im[(nint)r0 * w + l];
            }
    }

    /// <summary>Sets lane rows [from, to) of buf to zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zero<TO, TV>(float* buf, int from, int to) where TO : struct, IVec<TV> where TV : unmanaged
    {
        int w = TO.Count;
        TV z = TO.Splat(0f);
        for (int r = from; r < to; r++) TO.Store(buf + (nint)r * w, z);
    }
}

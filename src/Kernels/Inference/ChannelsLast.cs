// Channels-last (H, W, C) kernels of the frozen-model runtime for 2-d convolutions over (time, frequency)
// feature maps (TutorialConv): im2row, so a conv2d is one FusedDense GEMM (rows = output pixels), and max
// pooling. Why channels-last: the runtime's activations are time-major (T, C) everywhere; with (H, W, C)
// a pixel's channels are contiguous, so pooling vectorises over channels and im2row copies whole runs.
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Inference;

/// <summary>Channels-last 2-d helpers: im2row for conv2d and max pooling.</summary>
public static unsafe class ChannelsLast
{
    /// <summary>
    /// Im2row for a conv2d, zero padding: dst (ho * wo, kh * kw * c), row i * wo + j, column (qh * kw + qw) * c + ch holds
    /// x[i * sh + qh - padTop, j * sw + qw - padLeft, ch] (0 outside the h x w input). x (h, w, c).
    /// </summary>
    public static void Im2Row(float* x, int h, int w, int c, int kh, int kw, int sh, int sw, int padTop, int padLeft, float* dst, int ho, int wo)
    {
        if (h < 0 || w < 0 || c < 0 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || padTop < 0 || padLeft < 0 || ho < 0 || wo < 0)
            throw new ArgumentOutOfRangeException(nameof(h), $"im2row 2d: bad geometry h={h} w={w} c={c} kernel={kh}x{kw} stride={sh}x{sw} pad top/left={padTop}/{padLeft} out={ho}x{wo}.");
        nint rowFloats = (nint)kh * kw * c;
        for (int i = 0; i < ho; i++)
            for (int j = 0; j < wo; j++)
            {
                float* d = dst + ((nint)i * wo + j) * rowFloats;
                int col0 = j * sw - padLeft;
                // The kernel's columns inside the input, [q0, q1): one contiguous run of (q1 - q0) * c floats per kernel row.
                int q0 = Math.Clamp(-col0, 0, kw), q1 = Math.Clamp(w - col0, q0, kw);
                for (int qh = 0; qh < kh; qh++)
                {
                    float* dr = d + (nint)qh * kw * c;
                    int r = i * sh + qh - padTop;
                    if (r < 0 || r >= h) { new Span<float>(dr, kw * c).Clear(); continue; }
                    if (q0 > 0) new Span<float>(dr, q0 * c).Clear();
                    if (q1 > q0)
                    {
                        nint bytes = (nint)(q1 - q0) * c * sizeof(float);
                        Buffer.MemoryCopy(x + ((nint)r * w + col0 + q0) * c, dr + (nint)q0 * c, bytes, bytes);
                    }
                    if (q1 < kw) new Span<float>(dr + (nint)q1 * c, (kw - q1) * c).Clear();
                }
            }
    }

    /// <summary>Output size of a pooling window without padding: (length - kernel) / stride + 1, or 0.</summary>
    public static int PoolLength(int length, int kernel, int stride) => length < kernel ? 0 : (length - kernel) / stride + 1;

    /// <summary>
    /// Max pooling without padding: y[i, j, ch] = max over qh &lt; ph, qw &lt; pw of x[i * sh + qh, j * sw + qw, ch].
    /// x (h, w, c), y (ho, wo, c) with ho = <see cref="PoolLength"/>(h, ph, sh), wo likewise.
    /// </summary>
    public static void MaxPool2d(float* x, int h, int w, int c, int ph, int pw, int sh, int sw, float* y, SimdWidth width)
    {
        if (h < 0 || w < 0 || c < 0 || ph < 1 || pw < 1 || sh < 1 || sw < 1)
            throw new ArgumentOutOfRangeException(nameof(h), $"max pool 2d: bad geometry h={h} w={w} c={c} kernel={ph}x{pw} stride={sh}x{sw}.");
        if (!Simd.Supports(width)) throw new NotSupportedException($"SIMD path {width} is not available in this process (best: {Simd.Best}).");
        int ho = PoolLength(h, ph, sh), wo = PoolLength(w, pw, sw);
        switch (width)
        {
            case SimdWidth.V512: MaxImpl<V512Ops, Vector512<float>>(x, w, c, ph, pw, sh, sw, y, ho, wo); break;
            case SimdWidth.V256: MaxImpl<V256Ops, Vector256<float>>(x, w, c, ph, pw, sh, sw, y, ho, wo); break;
            case SimdWidth.V128: MaxImpl<V128Ops, Vector128<float>>(x, w, c, ph, pw, sh, sw, y, ho, wo); break;
            default: MaxImpl<ScalarOps, float>(x, w, c, ph, pw, sh, sw, y, ho, wo); break;
        }
    }

    static void MaxImpl<TO, TV>(float* x, int w, int c, int ph, int pw, int sh, int sw, float* y, int ho, int wo)
        where TO : struct, IVec<TV> where TV : struct
    {
        int vl = TO.Count;
        for (int i = 0; i < ho; i++)
            for (int j = 0; j < wo; j++)
            {
                float* first = x + ((nint)i * sh * w + (nint)j * sw) * c;
                float* yr = y + ((nint)i * wo + j) * c;
                int ch = 0;
                for (; ch + vl <= c; ch += vl)
                {
                    TV m = TO.Load(first + ch);
                    for (int qh = 0; qh < ph; qh++)
                        for (int qw = 0; qw < pw; qw++) m = TO.Max(m, TO.Load(first + ((nint)qh * w + qw) * c + ch));
                    TO.Store(yr + ch, m);
                }
                for (; ch < c; ch++)
                {
                    float m = first[ch];
                    for (int qh = 0; qh < ph; qh++)
                        for (int qw = 0; qw < pw; qw++) m = MathF.Max(m, first[((nint)qh * w + qw) * c + ch]);
                    yr[ch] = m;
                }
            }
    }
}

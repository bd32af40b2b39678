// Time-major (T, C) kernels of the frozen-model runtime, besides the fused dense (FusedDense):
// depthwise conv over time, im2row for a general conv1d, mean over time, peak normalisation and
// int8 weight dequantisation. Row t of an activation is C contiguous floats, so every kernel vectorises
// over channels and the runtime never transposes.
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Inference;

/// <summary>Time-major helpers: depthwise conv1d, im2row, mean over time, peak normalisation, int8 dequantisation.</summary>
public static unsafe class TimeMajor
{
    /// <summary>Output length of a conv/pool over <paramref name="length"/> steps: (length + pads - kernel) / stride + 1, or 0.</summary>
    public static int OutLength(int length, int kernel, int stride, int padLeft, int padRight)
    {
        long span = (long)length + padLeft + padRight - kernel;
        return span < 0 ? 0 : (int)(span / stride + 1);
    }

    /// <summary>
    /// Depthwise conv1d, zero padding: y[t, c] = act(bias[c] + sum_q w[q, c] x[t*stride + q - padLeft, c]).
    /// x (tIn, c), w (kernel, c), bias (c) or null, y (tOut, c).
    /// </summary>
    public static void Depthwise(float* x, int tIn, int c, float* w, int kernel, int stride, int padLeft, float* bias, float* y, int tOut,
        FusedActivation act) => Depthwise(x, tIn, c, w, kernel, stride, padLeft, bias, y, tOut, act, Simd.Best);

    /// <inheritdoc cref="Depthwise(float*, int, int, float*, int, int, int, float*, float*, int, FusedActivation)"/>
    public static void Depthwise(float* x, int tIn, int c, float* w, int kernel, int stride, int padLeft, float* bias, float* y, int tOut,
        FusedActivation act, SimdWidth width)
    {
        if (tIn < 0 || c < 0 || kernel < 1 || stride < 1 || padLeft < 0 || tOut < 0)
            throw new ArgumentOutOfRangeException(nameof(tIn), $"depthwise: expected tIn, c, tOut, padLeft >= 0 and kernel, stride >= 1, got tIn={tIn} c={c} kernel={kernel} stride={stride} padLeft={padLeft} tOut={tOut}.");
        if (!Simd.Supports(width)) throw new NotSupportedException($"SIMD path {width} is not available in this process (best: {Simd.Best}).");
        bool relu = act == FusedActivation.Relu;
        switch (width)
        {
            case SimdWidth.V512: DepthwiseImpl<V512Ops, Vector512<float>>(x, tIn, c, w, kernel, stride, padLeft, bias, y, tOut, relu); break;
            case SimdWidth.V256: DepthwiseImpl<V256Ops, Vector256<float>>(x, tIn, c, w, kernel, stride, padLeft, bias, y, tOut, relu); break;
            case SimdWidth.V128: DepthwiseImpl<V128Ops, Vector128<float>>(x, tIn, c, w, kernel, stride, padLeft, bias, y, tOut, relu); break;
            default: DepthwiseImpl<ScalarOps, float>(x, tIn, c, w, kernel, stride, padLeft, bias, y, tOut, relu); break;
        }
    }

    static void DepthwiseImpl<TO, TV>(float* x, int tIn, int c, float* w, int kernel, int stride, int padLeft, float* bias, float* y, int tOut, bool relu)
        where TO : struct, IVec<TV> where TV : struct
    {
        int vl = TO.Count;
        for (int t = 0; t < tOut; t++)
        {
            int first = t * stride - padLeft;
            int q0 = Math.Max(0, -first), q1 = Math.Min(kernel, tIn - first);
            float* yr = y + (nint)t * c;
            int ch = 0;
            for (; ch + vl <= c; ch += vl)
            {
                TV acc = bias == null ? TO.Splat(0) : TO.Load(bias + ch);
                for (int q = q0; q < q1; q++) acc = TO.MulAdd(TO.Load(x + (nint)(first + q) * c + ch), TO.Load(w + (nint)q * c + ch), acc);
                if (relu) acc = TO.Max(acc, TO.Splat(0));
                TO.Store(yr + ch, acc);
            }
            for (; ch < c; ch++)
            {
                float acc = bias == null ? 0f : bias[ch];
                for (int q = q0; q < q1; q++) acc += x[(nint)(first + q) * c + ch] * w[(nint)q * c + ch];
                yr[ch] = relu ? MathF.Max(acc, 0f) : acc;
            }
        }
    }

    /// <summary>
    /// Im2row for a conv1d over time-major input: row t of dst (tOut, kernel * c) is x[t*stride + q - padLeft, :] for q &lt; kernel
    /// (zeros outside [0, tIn)). Input row r starts at x + r * rowStride, so overlapping frames of a waveform
    /// (rowStride = hop &lt; c) are read in place.
    /// </summary>
    public static void Im2Row(float* x, int tIn, int c, nint rowStride, int kernel, int stride, int padLeft, float* dst, int tOut)
    {
        if (tIn < 0 || c < 0 || kernel < 1 || stride < 1 || padLeft < 0 || tOut < 0 || rowStride < 0)
            throw new ArgumentOutOfRangeException(nameof(tIn), $"im2row: bad geometry tIn={tIn} c={c} rowStride={rowStride} kernel={kernel} stride={stride} padLeft={padLeft} tOut={tOut}.");
        nint bytes = (nint)c * sizeof(float);
        for (int t = 0; t < tOut; t++)
            for (int q = 0; q < kernel; q++)
            {
                int r = t * stride + q - padLeft;
                float* d = dst + ((nint)t * kernel + q) * c;
                if (r < 0 || r >= tIn) new Span<float>(d, c).Clear();
                else Buffer.MemoryCopy(x + r * rowStride, d, bytes, bytes);
            }
    }

    /// <summary>y[c] = (sum_t x[t, c]) / t for x (t, c); summed in time order.</summary>
    public static void MeanOverTime(float* x, int t, int c, float* y) => MeanOverTime(x, t, c, y, Simd.Best);

    /// <inheritdoc cref="MeanOverTime(float*, int, int, float*)"/>
    public static void MeanOverTime(float* x, int t, int c, float* y, SimdWidth width)
    {
        if (t < 1 || c < 0) throw new ArgumentOutOfRangeException(nameof(t), $"mean over time: expected t >= 1 and c >= 0, got t={t} c={c}.");
        if (!Simd.Supports(width)) throw new NotSupportedException($"SIMD path {width} is not available in this process (best: {Simd.Best}).");
        switch (width)
        {
            case SimdWidth.V512: MeanImpl<V512Ops, Vector512<float>>(x, t, c, y); break;
            case SimdWidth.V256: MeanImpl<V256Ops, Vector256<float>>(x, t, c, y); break;
            case SimdWidth.V128: MeanImpl<V128Ops, Vector128<float>>(x, t, c, y); break;
            default: MeanImpl<ScalarOps, float>(x, t, c, y); break;
        }
    }

    static void MeanImpl<TO, TV>(float* x, int t, int c, float* y) where TO : struct, IVec<TV> where TV : struct
    {
        int vl = TO.Count, ch = 0;
        TV inv = TO.Splat(t);
        for (; ch + vl <= c; ch += vl)
        {
            TV s = TO.Load(x + ch);
            for (int r = 1; r < t; r++) s = TO.Add(s, TO.Load(x + (nint)r * c + ch));
            TO.Store(y + ch, TO.Div(s, inv));
        }
        for (; ch < c; ch++)
        {
            float s = x[ch];
            for (int r = 1; r < t; r++) s += x[(nint)r * c + ch];
            y[ch] = s / t;
        }
    }

    /// <summary>y[i] = x[i] * (1 / max(floor, max_j |x[j]|)) over n samples (in place allowed).</summary>
    public static void PeakNormalize(float* x, int n, float floor, float* y)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "peak normalisation: expected n >= 0.");
        float peak = floor;
        int i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            var m = Vector128<float>.Zero;
            for (; i + 4 <= n; i += 4) m = Vector128.Max(m, Vector128.Abs(Vector128.Load(x + i)));
            for (int l = 0; l < 4; l++) peak = MathF.Max(peak, m[l]);
        }
        for (; i < n; i++) peak = MathF.Max(peak, MathF.Abs(x[i]));
        float scale = 1f / peak;
        i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            var s = Vector128.Create(scale);
            for (; i + 4 <= n; i += 4) (Vector128.Load(x + i) * s).Store(y + i);
        }
        for (; i < n; i++) y[i] = x[i] * scale;
    }

    /// <summary>Per-column int8 dequantisation: w[p, j] = q[p, j] * scale[j] for q (k, n).</summary>
    public static void DequantizeColumns(sbyte* q, int k, int n, float* scale, float* w)
    {
        if (k < 0 || n < 0) throw new ArgumentOutOfRangeException(nameof(k), $"dequantize: expected k, n >= 0, got {k}, {n}.");
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++) w[(nint)p * n + j] = q[(nint)p * n + j] * scale[j];
    }
}

// Batch normalisation over NC* layouts: x (N, C, S) with S the product of the spatial dims
// (S = 1 for (N, C)). Statistics per channel over N*S values; train forward (batch stats,
// PyTorch running-stat update), eval forward (running stats) and the closed-form backward.
// Sums accumulate in double for stability: each row is summed in float vectors over short
// blocks (BlockFloats) and every block total is added into a double, so float error never
// builds up over more than one block, while the inner loop stays SIMD. Variance is two-pass
// (sum of (x - mean)^2), which avoids the cancellation of E[x^2] - mean^2.
// Threads split channels; each channel reduces its rows in a fixed order (deterministic).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Normalization;

/// <summary>BatchNorm1d/2d kernels on x (N, C, S): train / eval forward and backward (PyTorch semantics).</summary>
public static unsafe class BatchNorm
{
    const int BlockFloats = 256;
    const int MinFloatsPerChunk = 16384;

    /// <summary>
    /// Train forward. Per channel c over the N*S values: mean, biased var; invstd = 1/sqrt(var + eps);
    /// y = (x - mean) * invstd * gamma[c] + beta[c]. Writes saveMean[c], saveInvstd[c] (for <see cref="Backward(float*, float*, float*, int, int, int, float*, float*, float*, float*, float*)"/>)
    /// and, when runningMean/runningVar are not null, running = (1 - momentum)*running + momentum*batch with the
    /// UNBIASED variance var*M/(M-1), M = N*S (PyTorch). gamma / beta may be null (1 / 0). y may alias x.
    /// Throws when M &lt;= 1, as PyTorch does in training.
    /// </summary>
    public static void ForwardTrain(float* x, float* y, int n, int channels, int spatial, float* gamma, float* beta,
        float eps, float momentum, float* runningMean, float* runningVar, float* saveMean, float* saveInvstd)
        => ForwardTrain(x, y, n, channels, spatial, gamma, beta, eps, momentum, runningMean, runningVar, saveMean, saveInvstd, Simd.Best);

    /// <inheritdoc cref="ForwardTrain(float*, float*, int, int, int, float*, float*, float, float, float*, float*, float*, float*)"/>
    public static void ForwardTrain(float* x, float* y, int n, int channels, int spatial, float* gamma, float* beta,
        float eps, float momentum, float* runningMean, float* runningVar, float* saveMean, float* saveInvstd, SimdWidth width)
    {
        Validate(n, channels, spatial, width);
        long count = (long)n * spatial;
        if (channels == 0) return;
        if (count <= 1) throw new ArgumentException($"Expected more than 1 value per channel when training, got N*S = {count}.", nameof(n));
        if (saveMean == null || saveInvstd == null) throw new ArgumentNullException(nameof(saveMean), "saveMean and saveInvstd are required.");
        if (x == null || y == null) throw new ArgumentNullException(nameof(x), "x and y are required.");
        nint px = (nint)x, py = (nint)y, pg = (nint)gamma, pb = (nint)beta, prm = (nint)runningMean, prv = (nint)runningVar, psm = (nint)saveMean, psi = (nint)saveInvstd;
        KernelThreads.For(channels, MinChunk(count), (c0, c1) =>
        {
            switch (width)
            {
                case SimdWidth.V512: TrainChannels<V512Ops, Vector512<float>>(c0, c1); break;
                case SimdWidth.V256: TrainChannels<V256Ops, Vector256<float>>(c0, c1); break;
                case SimdWidth.V128: TrainChannels<V128Ops, Vector128<float>>(c0, c1); break;
                default: TrainChannels<ScalarOps, float>(c0, c1); break;
            }
        });

        void TrainChannels<TO, TV>(int c0, int c1) where TO : struct, IVec<TV> where TV : struct
        {
            for (int c = c0; c < c1; c++)
            {
                // Shifted sums: summing x - x0 (x0 = the channel's first value) keeps the float block sums
                // small when |mean| >> std, so they lose nothing before reaching the double.
                float x0 = Row(px, 0, c)[0];
                double sum = 0;
                for (int b = 0; b < n; b++) sum += SumProd<TO, TV>(Row(px, b, c), x0, null, 0f, spatial);
                double mean = x0 + sum / count;
                double sq = 0;
                for (int b = 0; b < n; b++) { float* r = Row(px, b, c); sq += SumProd<TO, TV>(r, (float)mean, r, (float)mean, spatial); }
                var (scale, shift, mhi, mlo) = FinishChannel(c, mean, sq / count, count, eps, momentum, pg, pb, prm, prv, psm, psi);
                for (int b = 0; b < n; b++) Affine<TO, TV>(Row(px, b, c), mhi, mlo, scale, shift, Row(py, b, c), spatial);
            }
        }

        float* Row(nint p, int b, int c) => (float*)p + ((long)b * channels + c) * spatial;
    }

    /// <summary>
    /// The rest of one channel's training forward once its batch mean and (biased) variance are known: saveMean /
    /// saveInvstd, the running update (unbiased variance, PyTorch's momentum), and the affine constants. The mean
    /// comes back as two floats (hi + lo): with |mean| >> std a single float mean would be off by half an ulp of
    /// |mean|, which invstd then magnifies.
    /// </summary>
    static (float Scale, float Shift, float MeanHi, float MeanLo) FinishChannel(int c, double mean, double var, long count, float eps, float momentum,
        nint pg, nint pb, nint prm, nint prv, nint psm, nint psi)
    {
        double invstd = 1.0 / Math.Sqrt(var + eps);
        ((float*)psm)[c] = (float)mean;
        ((float*)psi)[c] = (float)invstd;
        if (prm != 0) ((float*)prm)[c] = (float)((1.0 - momentum) * ((float*)prm)[c] + momentum * mean);
        if (prv != 0) ((float*)prv)[c] = (float)((1.0 - momentum) * ((float*)prv)[c] + momentum * var * count / (count - 1));
        float scale = (float)(invstd * (pg == 0 ? 1.0 : ((float*)pg)[c]));
        float shift = pb == 0 ? 0f : ((float*)pb)[c];
        float mhi = (float)mean;
        return (scale, shift, mhi, (float)(mean - mhi));
    }

    /// <summary>Eval forward: y = (x - runningMean[c]) / sqrt(runningVar[c] + eps) * gamma[c] + beta[c]. gamma / beta may be null; y may alias x.</summary>
    public static void ForwardEval(float* x, float* y, int n, int channels, int spatial, float* gamma, float* beta,
        float* runningMean, float* runningVar, float eps)
        => ForwardEval(x, y, n, channels, spatial, gamma, beta, runningMean, runningVar, eps, Simd.Best);

    /// <inheritdoc cref="ForwardEval(float*, float*, int, int, int, float*, float*, float*, float*, float)"/>
    public static void ForwardEval(float* x, float* y, int n, int channels, int spatial, float* gamma, float* beta,
        float* runningMean, float* runningVar, float eps, SimdWidth width)
    {
        Validate(n, channels, spatial, width);
        if (runningMean == null || runningVar == null) throw new ArgumentNullException(nameof(runningMean), "Eval needs running statistics.");
        if ((long)n * channels * spatial > 0 && (x == null || y == null)) throw new ArgumentNullException(nameof(x), "x and y are required.");
        nint px = (nint)x, py = (nint)y, pg = (nint)gamma, pb = (nint)beta, prm = (nint)runningMean, prv = (nint)runningVar;
        // One task per (image, channel) row: rows are independent here.
        KernelThreads.For(n * channels, MinChunk(spatial), (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int c = r % channels;
                double invstd = 1.0 / Math.Sqrt(((float*)prv)[c] + (double)eps);
                float scale = (float)(invstd * (pg == 0 ? 1.0 : ((float*)pg)[c]));
                float shift = pb == 0 ? 0f : ((float*)pb)[c], mean = ((float*)prm)[c];
                float* xr = (float*)px + (long)r * spatial, yr = (float*)py + (long)r * spatial;
                switch (width)
                {
                    case SimdWidth.V512: Affine<V512Ops, Vector512<float>>(xr, mean, 0f, scale, shift, yr, spatial); break;
                    case SimdWidth.V256: Affine<V256Ops, Vector256<float>>(xr, mean, 0f, scale, shift, yr, spatial); break;
                    case SimdWidth.V128: Affine<V128Ops, Vector128<float>>(xr, mean, 0f, scale, shift, yr, spatial); break;
                    default: Affine<ScalarOps, float>(xr, mean, 0f, scale, shift, yr, spatial); break;
                }
            }
        });
    }

    /// <summary>
    /// Train backward (closed form), with xhat = (x - mean)*invstd and M = N*S:
    /// dbeta[c] = sum dy; dgamma[c] = sum dy*xhat; dx = gamma*invstd*(dy - dbeta/M - xhat*dgamma/M).
    /// mean / invstd are the saveMean / saveInvstd of the forward. gamma may be null (1); dgamma / dbeta may be null
    /// (not wanted). dx, dgamma, dbeta are overwritten; dx may alias dy.
    /// </summary>
    public static void Backward(float* x, float* dy, float* dx, int n, int channels, int spatial, float* gamma,
        float* saveMean, float* saveInvstd, float* dgamma, float* dbeta)
        => Backward(x, dy, dx, n, channels, spatial, gamma, saveMean, saveInvstd, dgamma, dbeta, Simd.Best);

    /// <inheritdoc cref="Backward(float*, float*, float*, int, int, int, float*, float*, float*, float*, float*)"/>
    public static void Backward(float* x, float* dy, float* dx, int n, int channels, int spatial, float* gamma,
        float* saveMean, float* saveInvstd, float* dgamma, float* dbeta, SimdWidth width)
    {
        Validate(n, channels, spatial, width);
        long count = (long)n * spatial;
        if (channels == 0) return;
        if (saveMean == null || saveInvstd == null) throw new ArgumentNullException(nameof(saveMean), "saveMean and saveInvstd are required.");
        if (count > 0 && (x == null || dy == null || dx == null)) throw new ArgumentNullException(nameof(x), "x, dy and dx are required.");
        nint px = (nint)x, pdy = (nint)dy, pdx = (nint)dx, pg = (nint)gamma, psm = (nint)saveMean, psi = (nint)saveInvstd, pdg = (nint)dgamma, pdb = (nint)dbeta;
        KernelThreads.For(channels, MinChunk(2 * count), (c0, c1) =>
        {
            switch (width)
            {
                case SimdWidth.V512: BackChannels<V512Ops, Vector512<float>>(c0, c1); break;
                case SimdWidth.V256: BackChannels<V256Ops, Vector256<float>>(c0, c1); break;
                case SimdWidth.V128: BackChannels<V128Ops, Vector128<float>>(c0, c1); break;
                default: BackChannels<ScalarOps, float>(c0, c1); break;
            }
        });

        void BackChannels<TO, TV>(int c0, int c1) where TO : struct, IVec<TV> where TV : struct
        {
            for (int c = c0; c < c1; c++)
            {
                float mean = ((float*)psm)[c];
                double invstd = ((float*)psi)[c];
                double sdy = 0, sdyx = 0;
                for (int b = 0; b < n; b++) SumAndDot<TO, TV>(Row(pdy, b, c), Row(px, b, c), mean, spatial, ref sdy, ref sdyx);
                FinishBackward<TO, TV>(c, sdy, sdyx, mean, invstd, count, (float*)pg, (float*)pdg, (float*)pdb,
                    Row(pdy, 0, c), Row(px, 0, c), Row(pdx, 0, c), n, (long)channels * spatial, spatial);
            }
        }

        float* Row(nint p, int b, int c) => (float*)p + ((long)b * channels + c) * spatial;
    }

    /// <summary>
    /// Train forward of batch norm followed by ReLU on a channel-major input, the output of a 1x1 conv run as
    /// one GEMM over the batch: z (C, N*P) -> y (N, C, P) = max(0, (z - mean_c) * invstd_c * gamma_c + beta_c).
    /// Statistics, running update and saveMean / saveInvstd as <see cref="ForwardTrain(float*, float*, int, int, int, float*, float*, float, float, float*, float*, float*, float*)"/>
    /// with M = N*P values per channel. Why: the channel's M values are one contiguous row here, and the
    /// move back to (N, C, P) happens in the same pass as the affine and the ReLU.
    /// </summary>
    public static void ForwardTrainChannelMajorRelu(float* z, float* y, int n, int channels, int p, float* gamma, float* beta,
        float eps, float momentum, float* runningMean, float* runningVar, float* saveMean, float* saveInvstd)
        => ForwardTrainChannelMajorRelu(z, y, n, channels, p, gamma, beta, eps, momentum, runningMean, runningVar, saveMean, saveInvstd, Simd.Best);

    /// <inheritdoc cref="ForwardTrainChannelMajorRelu(float*, float*, int, int, int, float*, float*, float, float, float*, float*, float*, float*)"/>
    public static void ForwardTrainChannelMajorRelu(float* z, float* y, int n, int channels, int p, float* gamma, float* beta,
        float eps, float momentum, float* runningMean, float* runningVar, float* saveMean, float* saveInvstd, SimdWidth width)
    {
        Validate(n, channels, p, width);
        long count = (long)n * p;
        if (channels == 0) return;
        if (count <= 1) throw new ArgumentException($"Expected more than 1 value per channel when training, got N*P = {count}.", nameof(n));
        if (count > int.MaxValue) throw new ArgumentException($"N*P = {count} is too large for a channel-major row.", nameof(n));
        if (saveMean == null || saveInvstd == null) throw new ArgumentNullException(nameof(saveMean), "saveMean and saveInvstd are required.");
        if (z == null || y == null) throw new ArgumentNullException(nameof(z), "z and y are required.");
        nint pz = (nint)z, py = (nint)y, pg = (nint)gamma, pb = (nint)beta, prm = (nint)runningMean, prv = (nint)runningVar, psm = (nint)saveMean, psi = (nint)saveInvstd;
        int m = (int)count;
        KernelThreads.For(channels, MinChunk(count), (c0, c1) =>
        {
            switch (width)
            {
                case SimdWidth.V512: TrainChannels<V512Ops, Vector512<float>>(c0, c1); break;
                case SimdWidth.V256: TrainChannels<V256Ops, Vector256<float>>(c0, c1); break;
                case SimdWidth.V128: TrainChannels<V128Ops, Vector128<float>>(c0, c1); break;
                default: TrainChannels<ScalarOps, float>(c0, c1); break;
            }
        });

        void TrainChannels<TO, TV>(int c0, int c1) where TO : struct, IVec<TV> where TV : struct
        {
            for (int c = c0; c < c1; c++)
            {
                float* zr = (float*)pz + (long)c * m;
                float x0 = zr[0];   // shifted sums, as in ForwardTrain
                double mean = x0 + SumProd<TO, TV>(zr, x0, null, 0f, m) / count;
                double var = SumProd<TO, TV>(zr, (float)mean, zr, (float)mean, m) / count;
                var (scale, shift, mhi, mlo) = FinishChannel(c, mean, var, count, eps, momentum, pg, pb, prm, prv, psm, psi);
                for (int b = 0; b < n; b++) AffineRelu<TO, TV>(zr + (long)b * p, mhi, mlo, scale, shift, (float*)py + ((long)b * channels + c) * p, p);
            }
        }
    }

    /// <summary>
    /// Backward of <see cref="ForwardTrainChannelMajorRelu(float*, float*, int, int, int, float*, float*, float, float, float*, float*, float*, float*)"/>:
    /// dy (N, C, P) is the gradient of its output y (N, C, P); the ReLU passes it where y &gt; 0, and the batch-norm
    /// backward (as <see cref="Backward(float*, float*, float*, int, int, int, float*, float*, float*, float*, float*)"/>) gives
    /// dz (C, N*P), channel-major like z, ready for the 1x1 conv's GEMMs. dgamma / dbeta may be null. dz must not overlap dy or y.
    /// </summary>
    public static void BackwardChannelMajorRelu(float* z, float* y, float* dy, float* dz, int n, int channels, int p, float* gamma,
        float* saveMean, float* saveInvstd, float* dgamma, float* dbeta)
        => BackwardChannelMajorRelu(z, y, dy, dz, n, channels, p, gamma, saveMean, saveInvstd, dgamma, dbeta, Simd.Best);

    /// <inheritdoc cref="BackwardChannelMajorRelu(float*, float*, float*, float*, int, int, int, float*, float*, float*, float*, float*)"/>
    public static void BackwardChannelMajorRelu(float* z, float* y, float* dy, float* dz, int n, int channels, int p, float* gamma,
        float* saveMean, float* saveInvstd, float* dgamma, float* dbeta, SimdWidth width)
    {
        Validate(n, channels, p, width);
        long count = (long)n * p;
        if (channels == 0) return;
        if (count > int.MaxValue) throw new ArgumentException($"N*P = {count} is too large for a channel-major row.", nameof(n));
        if (saveMean == null || saveInvstd == null) throw new ArgumentNullException(nameof(saveMean), "saveMean and saveInvstd are required.");
        if (count > 0 && (z == null || y == null || dy == null || dz == null)) throw new ArgumentNullException(nameof(z), "z, y, dy and dz are required.");
        nint pz = (nint)z, py = (nint)y, pdy = (nint)dy, pdz = (nint)dz, pg = (nint)gamma, psm = (nint)saveMean, psi = (nint)saveInvstd, pdg = (nint)dgamma, pdb = (nint)dbeta;
        int m = (int)count;
        KernelThreads.For(channels, MinChunk(3 * count), (c0, c1) =>
        {
            switch (width)
            {
                case SimdWidth.V512: BackChannels<V512Ops, Vector512<float>>(c0, c1); break;
                case SimdWidth.V256: BackChannels<V256Ops, Vector256<float>>(c0, c1); break;
                case SimdWidth.V128: BackChannels<V128Ops, Vector128<float>>(c0, c1); break;
                default: BackChannels<ScalarOps, float>(c0, c1); break;
            }
        });

        void BackChannels<TO, TV>(int c0, int c1) where TO : struct, IVec<TV> where TV : struct
        {
            for (int c = c0; c < c1; c++)
            {
                float* zr = (float*)pz + (long)c * m, dr = (float*)pdz + (long)c * m;
                for (int b = 0; b < n; b++)
                {
                    long at = ((long)b * channels + c) * p;
                    ReluMaskGather<TO, TV>((float*)pdy + at, (float*)py + at, dr + (long)b * p, p);
                }
                float mean = ((float*)psm)[c];
                double invstd = ((float*)psi)[c];
                double sdy = 0, sdyx = 0;
                SumAndDot<TO, TV>(dr, zr, mean, m, ref sdy, ref sdyx);
                FinishBackward<TO, TV>(c, sdy, sdyx, mean, invstd, count, (float*)pg, (float*)pdg, (float*)pdb, dr, zr, dr, 1, 0, m);
            }
        }
    }

    /// <summary>
    /// The per-channel end of both backwards, from channel c's sums sdy = sum dy and sdyx = sum dy*(x - mean) over its
    /// M = <paramref name="count"/> values: dbeta[c] = sdy and dgamma[c] = sdyx*invstd (each when not null), then
    /// dx = k1*dy + k2*(x - mean) + k3 in one fused pass over <paramref name="rows"/> rows of <paramref name="len"/> floats,
    /// <paramref name="stride"/> apart, with k1 = gamma*invstd, k2 = -k1*invstd^2*sdyx/M, k3 = -k1*sdy/M. dx may alias dy.
    /// </summary>
    static void FinishBackward<TO, TV>(int c, double sdy, double sdyx, float mean, double invstd, long count, float* gamma, float* dgamma, float* dbeta,
        float* dy, float* x, float* dx, int rows, long stride, int len) where TO : struct, IVec<TV> where TV : struct
    {
        if (dbeta != null) dbeta[c] = (float)sdy;
        if (dgamma != null) dgamma[c] = (float)(sdyx * invstd);
        if (count == 0) return;
        double g = gamma == null ? 1.0 : gamma[c];
        double k1 = g * invstd;
        double k2 = -k1 * invstd * invstd * sdyx / count;
        double k3 = -k1 * sdy / count;
        for (int r = 0; r < rows; r++)
            Combine<TO, TV>(dy + r * stride, (float)k1, x + r * stride, mean, (float)k2, (float)k3, dx + r * stride, len);
    }

    // ---- row helpers --------------------------------------------------------------------------

    /// <summary>sum_i (a[i] - sa) * (b[i] - sb), or sum_i (a[i] - sa) when b is null; float vector blocks added into a double.</summary>
    internal static double SumProd<TO, TV>(float* a, float sa, float* b, float sb, int len) where TO : struct, IVec<TV> where TV : struct
    {
        double total = 0;
        TV va = TO.Splat(sa), vb = TO.Splat(sb);
        for (int start = 0; start < len; start += BlockFloats)
        {
            int end = Math.Min(len, start + BlockFloats), i = start;
            TV acc = TO.Splat(0f);
            float tail = 0f;
            if (b == null)
            {
                for (; i <= end - TO.Count; i += TO.Count) acc = TO.Add(acc, TO.Sub(TO.Load(a + i), va));
                for (; i < end; i++) tail += a[i] - sa;
            }
            else
            {
                for (; i <= end - TO.Count; i += TO.Count) acc = TO.MulAdd(TO.Sub(TO.Load(a + i), va), TO.Sub(TO.Load(b + i), vb), acc);
                for (; i < end; i++) tail += (a[i] - sa) * (b[i] - sb);
            }
            total += (double)TO.SumAcross(acc) + tail;
        }
        return total;
    }

    /// <summary>sumA += sum_i a[i], sumAB += sum_i a[i] * (b[i] - sb), in one pass; blocks as <see cref="SumProd"/>.</summary>
    internal static void SumAndDot<TO, TV>(float* a, float* b, float sb, int len, ref double sumA, ref double sumAB) where TO : struct, IVec<TV> where TV : struct
    {
        TV vb = TO.Splat(sb);
        for (int start = 0; start < len; start += BlockFloats)
        {
            int end = Math.Min(len, start + BlockFloats), i = start;
            TV acc = TO.Splat(0f), accp = TO.Splat(0f);
            float tail = 0f, tailp = 0f;
            for (; i <= end - TO.Count; i += TO.Count)
            {
                TV va = TO.Load(a + i);
                acc = TO.Add(acc, va);
                accp = TO.MulAdd(va, TO.Sub(TO.Load(b + i), vb), accp);
            }
            for (; i < end; i++) { tail += a[i]; tailp += a[i] * (b[i] - sb); }
            sumA += (double)TO.SumAcross(acc) + tail;
            sumAB += (double)TO.SumAcross(accp) + tailp;
        }
    }

    /// <summary>o[i] = y[i] &gt; 0 ? dy[i] : 0 (ReLU's gradient, strict like relu's x &gt; 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ReluMaskGather<TO, TV>(float* dy, float* y, float* o, int len) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        TV zero = TO.Splat(0f);
        for (; i <= len - TO.Count; i += TO.Count) TO.Store(o + i, TO.Select(TO.Gt(TO.Load(y + i), zero), TO.Load(dy + i), zero));
        for (; i < len; i++) o[i] = y[i] > 0f ? dy[i] : 0f;
    }

    /// <summary>y[i] = max(0, ((x[i] - meanHi) - meanLo) * scale + shift).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AffineRelu<TO, TV>(float* x, float meanHi, float meanLo, float scale, float shift, float* y, int len) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        TV vm = TO.Splat(meanHi), vl = TO.Splat(meanLo), vs = TO.Splat(scale), vh = TO.Splat(shift), zero = TO.Splat(0f);
        for (; i <= len - TO.Count; i += TO.Count) TO.Store(y + i, TO.Max(TO.MulAdd(TO.Sub(TO.Sub(TO.Load(x + i), vm), vl), vs, vh), zero));
        for (; i < len; i++) { float v = (x[i] - meanHi - meanLo) * scale + shift; y[i] = v > 0f ? v : 0f; }
    }

    // Both helpers subtract the mean before scaling: x*scale - mean*scale would cancel badly when
    // |mean| >> std (e.g. inputs around 1000 with unit-scale noise).

    /// <summary>y[i] = ((x[i] - meanHi) - meanLo) * scale + shift.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Affine<TO, TV>(float* x, float meanHi, float meanLo, float scale, float shift, float* y, int len) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        TV vm = TO.Splat(meanHi), vl = TO.Splat(meanLo), vs = TO.Splat(scale), vh = TO.Splat(shift);
        for (; i <= len - TO.Count; i += TO.Count) TO.Store(y + i, TO.MulAdd(TO.Sub(TO.Sub(TO.Load(x + i), vm), vl), vs, vh));
        for (; i < len; i++) y[i] = (x[i] - meanHi - meanLo) * scale + shift;
    }

    /// <summary>o[i] = a[i]*ka + (b[i] - mb)*kb + k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Combine<TO, TV>(float* a, float ka, float* b, float mb, float kb, float k, float* o, int len) where TO : struct, IVec<TV> where TV : struct
    {
        int i = 0;
        TV va = TO.Splat(ka), vm = TO.Splat(mb), vb = TO.Splat(kb), vk = TO.Splat(k);
        for (; i <= len - TO.Count; i += TO.Count) TO.Store(o + i, TO.MulAdd(TO.Load(a + i), va, TO.MulAdd(TO.Sub(TO.Load(b + i), vm), vb, vk)));
        for (; i < len; i++) o[i] = a[i] * ka + ((b[i] - mb) * kb + k);
    }

    static int MinChunk(long floatsPerItem) => (int)Math.Max(1, MinFloatsPerChunk / Math.Max(1, floatsPerItem));

    static void Validate(int n, int channels, int spatial, SimdWidth width)
    {
        if (n < 0 || channels < 0 || spatial < 0)
            throw new ArgumentOutOfRangeException(nameof(n), $"Expected n, channels, spatial >= 0; got {n}, {channels}, {spatial}.");
        if (!Simd.Supports(width)) throw new PlatformNotSupportedException($"{width} is not available here (best: {Simd.Best}).");
    }
}

/// <summary>Double-precision scalar reference for <see cref="BatchNorm"/>, used by the tests.</summary>
public static unsafe class BatchNormReference
{
    /// <summary>Train forward; same contract as <see cref="BatchNorm.ForwardTrain(float*, float*, int, int, int, float*, float*, float, float, float*, float*, float*, float*)"/>.</summary>
    public static void ForwardTrain(float* x, float* y, int n, int channels, int spatial, float* gamma, float* beta,
        float eps, float momentum, float* runningMean, float* runningVar, float* saveMean, float* saveInvstd)
    {
        long count = (long)n * spatial;
        for (int c = 0; c < channels; c++)
        {
            double s = 0, sq = 0;
            for (int b = 0; b < n; b++) for (int i = 0; i < spatial; i++) s += x[((long)b * channels + c) * spatial + i];
            double mean = s / count;
            for (int b = 0; b < n; b++) for (int i = 0; i < spatial; i++) { double d = x[((long)b * channels + c) * spatial + i] - mean; sq += d * d; }
            double var = sq / count, invstd = 1.0 / Math.Sqrt(var + eps);
            saveMean[c] = (float)mean;
            saveInvstd[c] = (float)invstd;
            if (runningMean != null) runningMean[c] = (float)((1 - momentum) * runningMean[c] + momentum * mean);
            if (runningVar != null) runningVar[c] = (float)((1 - momentum) * runningVar[c] + momentum * var * count / (count - 1));
            double g = gamma == null ? 1 : gamma[c], bt = beta == null ? 0 : beta[c];
            for (int b = 0; b < n; b++)
                for (int i = 0; i < spatial; i++)
                {
                    long k = ((long)b * channels + c) * spatial + i;
                    y[k] = (float)((x[k] - mean) * invstd * g + bt);
                }
        }
    }

    /// <summary>Backward in double; same contract as <see cref="BatchNorm.Backward(float*, float*, float*, int, int, int, float*, float*, float*, float*, float*)"/>.</summary>
    public static void Backward(float* x, float* dy, float* dx, int n, int channels, int spatial, float* gamma,
        float* saveMean, float* saveInvstd, float* dgamma, float* dbeta)
    {
        long count = (long)n * spatial;
        for (int c = 0; c < channels; c++)
        {
            double mean = saveMean[c], invstd = saveInvstd[c], g = gamma == null ? 1 : gamma[c];
            double sdy = 0, sdyxh = 0;
            for (int b = 0; b < n; b++)
                for (int i = 0; i < spatial; i++)
                {
                    long k = ((long)b * channels + c) * spatial + i;
                    sdy += dy[k];
                    sdyxh += dy[k] * (x[k] - mean) * invstd;
                }
            if (dbeta != null) dbeta[c] = (float)sdy;
            if (dgamma != null) dgamma[c] = (float)sdyxh;
            for (int b = 0; b < n; b++)
                for (int i = 0; i < spatial; i++)
                {
                    long k = ((long)b * channels + c) * spatial + i;
                    double xh = (x[k] - mean) * invstd;
                    dx[k] = (float)(g * invstd * (dy[k] - sdy / count - xh * sdyxh / count));
                }
        }
    }
}

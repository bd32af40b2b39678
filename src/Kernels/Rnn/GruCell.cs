// The pointwise half of one GRU step with PyTorch's formulas and gate order (r, z, n):
//   r = sig(xr + hr), z = sig(xz + hz), n = tanh(xn + r * hn), h' = (1 - z) * n + z * h
// where x* = W_i* x + b_i* and h* = W_h* h + b_h* come from the caller's GEMMs.
// Inactive rows (ended sequences) keep h and output 0. Shapes: xw/hw/gates (B, 3H), h (B, H).
namespace Cochlea.Kernels.Rnn;

/// <summary>GRU step pointwise kernels.</summary>
public static unsafe class GruCell
{
    /// <summary>Forward: saves (r, z, n) in <paramref name="gates"/> and writes h' and the output row (0 when inactive).</summary>
    public static void Forward(float* xw, float* hw, float* hPrev, float* gates, float* h, float* output, byte* active, int batch, int hidden)
    {
        int g3 = 3 * hidden;
        for (int b = 0; b < batch; b++)
        {
            float* x = xw + (long)b * g3, hh = hw + (long)b * g3, gt = gates + (long)b * g3;
            float* hp = hPrev + (long)b * hidden, hn = h + (long)b * hidden;
            float* y = output == null ? null : output + (long)b * hidden;
            if (active[b] == 0)
            {
                new Span<float>(gt, g3).Clear();
                new Span<float>(hp, hidden).CopyTo(new Span<float>(hn, hidden));
                if (y != null) new Span<float>(y, hidden).Clear();
                continue;
            }
            for (int j = 0; j < hidden; j++)
            {
                float r = Sigmoid(x[j] + hh[j]);
                float z = Sigmoid(x[hidden + j] + hh[hidden + j]);
                float n = MathF.Tanh(x[2 * hidden + j] + r * hh[2 * hidden + j]);
                float v = (1 - z) * n + z * hp[j];
                gt[j] = r; gt[hidden + j] = z; gt[2 * hidden + j] = n;
                hn[j] = v;
                if (y != null) y[j] = v;
            }
        }
    }

    /// <summary>
    /// Backward: from dL/dh' (<paramref name="dh"/>) writes dL/d(xw) into <paramref name="dX"/> (B, 3H), dL/d(hw) into
    /// <paramref name="dHw"/> (B, 3H) and the direct part z * dh of dL/dh into <paramref name="dhPrevDirect"/> (B, H).
    /// Inactive rows: zeros in dX and dHw, dh passed through unchanged.
    /// </summary>
    public static void Backward(float* gates, float* hw, float* hPrev, float* dh, float* dX, float* dHw, float* dhPrevDirect, byte* active, int batch, int hidden)
    {
        int g3 = 3 * hidden;
        for (int b = 0; b < batch; b++)
        {
            float* gt = gates + (long)b * g3, hh = hw + (long)b * g3, dx = dX + (long)b * g3, dhw = dHw + (long)b * g3;
            float* hp = hPrev + (long)b * hidden, d = dh + (long)b * hidden, dd = dhPrevDirect + (long)b * hidden;
            if (active[b] == 0)
            {
                new Span<float>(dx, g3).Clear(); new Span<float>(dhw, g3).Clear();
                new Span<float>(d, hidden).CopyTo(new Span<float>(dd, hidden));
                continue;
            }
            for (int j = 0; j < hidden; j++)
            {
                float r = gt[j], z = gt[hidden + j], n = gt[2 * hidden + j];
                float dn = d[j] * (1 - z);
                float dz = d[j] * (hp[j] - n);
                float dan = dn * (1 - n * n);
                float dar = dan * hh[2 * hidden + j] * r * (1 - r);
                float daz = dz * z * (1 - z);
                dx[j] = dar; dx[hidden + j] = daz; dx[2 * hidden + j] = dan;
                dhw[j] = dar; dhw[hidden + j] = daz; dhw[2 * hidden + j] = dan * r;
                dd[j] = d[j] * z;
            }
        }
    }

    static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}

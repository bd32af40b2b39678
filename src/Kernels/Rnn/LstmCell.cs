// The pointwise half of one LSTM step (the GEMMs are done by the caller), forward and backward,
// with PyTorch's gate order (i, f, g, o):
//   i = sig(a_i), f = sig(a_f + forgetBias), g = tanh(a_g), o = sig(a_o)
//   c' = f * c + i * g,  h' = o * tanh(c')
// Rows whose sequence has ended (active[b] == 0) keep their state and output 0, so padding
// never leaks into the state. Shapes: pre/gates (B, 4H), c/h (B, H).
namespace Cochlea.Kernels.Rnn;

/// <summary>LSTM step pointwise kernels (scalar loops over contiguous rows; the GEMMs dominate).</summary>
public static unsafe class LstmCell
{
    /// <summary>
    /// Forward: from pre-activations <paramref name="pre"/> (B, 4H) and previous state (<paramref name="cPrev"/>, <paramref name="hPrev"/>),
    /// writes activated gates into <paramref name="gates"/> (B, 4H; zeros on inactive rows), the new state (c, h) and the output row
    /// (<paramref name="output"/> may be null; 0 on inactive rows).
    /// </summary>
    public static void Forward(float* pre, float* cPrev, float* hPrev, float* gates, float* c, float* h, float* output,
        byte* active, int batch, int hidden, float forgetBias)
    {
        int g4 = 4 * hidden;
        for (int b = 0; b < batch; b++)
        {
            float* a = pre + (long)b * g4, gt = gates + (long)b * g4;
            float* cp = cPrev + (long)b * hidden, hp = hPrev + (long)b * hidden, cn = c + (long)b * hidden, hn = h + (long)b * hidden;
            float* y = output == null ? null : output + (long)b * hidden;
            if (active[b] == 0)
            {
                new Span<float>(gt, g4).Clear();
                new Span<float>(cp, hidden).CopyTo(new Span<float>(cn, hidden));
                new Span<float>(hp, hidden).CopyTo(new Span<float>(hn, hidden));
                if (y != null) new Span<float>(y, hidden).Clear();
                continue;
            }
            for (int j = 0; j < hidden; j++)
            {
                float i = Sigmoid(a[j]), f = Sigmoid(a[hidden + j] + forgetBias);
                float g = MathF.Tanh(a[2 * hidden + j]), o = Sigmoid(a[3 * hidden + j]);
                float cc = f * cp[j] + i * g;
                float hh = o * MathF.Tanh(cc);
                gt[j] = i; gt[hidden + j] = f; gt[2 * hidden + j] = g; gt[3 * hidden + j] = o;
                cn[j] = cc; hn[j] = hh;
                if (y != null) y[j] = hh;
            }
        }
    }

    /// <summary>
    /// Backward through the pointwise step. <paramref name="dh"/> (B, H) is dL/dh' (output gradient plus the carried one),
    /// <paramref name="dc"/> (B, H) holds dL/dc' on entry and dL/dc on exit. Writes dL/d(pre-activations) into
    /// <paramref name="dPre"/> (B, 4H); inactive rows get zeros there and keep dc unchanged.
    /// </summary>
    public static void Backward(float* gates, float* cPrev, float* c, float* dh, float* dc, float* dPre, byte* active, int batch, int hidden)
    {
        int g4 = 4 * hidden;
        for (int b = 0; b < batch; b++)
        {
            float* gt = gates + (long)b * g4, d = dPre + (long)b * g4;
            if (active[b] == 0) { new Span<float>(d, g4).Clear(); continue; }
            float* cp = cPrev + (long)b * hidden, cn = c + (long)b * hidden, dhb = dh + (long)b * hidden, dcb = dc + (long)b * hidden;
            for (int j = 0; j < hidden; j++)
            {
                float i = gt[j], f = gt[hidden + j], g = gt[2 * hidden + j], o = gt[3 * hidden + j];
                float tc = MathF.Tanh(cn[j]);
                float dhj = dhb[j];
                float dcj = dcb[j] + dhj * o * (1 - tc * tc);
                d[j] = dcj * g * i * (1 - i);
                d[hidden + j] = dcj * cp[j] * f * (1 - f);
                d[2 * hidden + j] = dcj * i * (1 - g * g);
                d[3 * hidden + j] = dhj * tc * o * (1 - o);
                dcb[j] = dcj * f;
            }
        }
    }

    static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
}

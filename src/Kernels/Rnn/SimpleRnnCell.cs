// The pointwise half of one Elman RNN step: h' = act(a) with a = W_ih x + b + W_hh h from the
// caller's GEMMs; act is tanh or relu (the ReLU RNN of DeepSpeechKws). Inactive rows keep h, output 0.
namespace Cochlea.Kernels.Rnn;

/// <summary>Activation of a simple RNN.</summary>
public enum RnnActivation { Tanh, Relu }

/// <summary>Simple RNN step pointwise kernels. Shapes: pre, h (B, H).</summary>
public static unsafe class SimpleRnnCell
{
    /// <summary>h' = act(pre) on active rows, h' = hPrev and output 0 on inactive rows.</summary>
    public static void Forward(float* pre, float* hPrev, float* h, float* output, byte* active, int batch, int hidden, RnnActivation act)
    {
        for (int b = 0; b < batch; b++)
        {
            long o = (long)b * hidden;
            if (active[b] == 0)
            {
                new Span<float>(hPrev + o, hidden).CopyTo(new Span<float>(h + o, hidden));
                if (output != null) new Span<float>(output + o, hidden).Clear();
                continue;
            }
            for (int j = 0; j < hidden; j++)
            {
                float a = pre[o + j];
                float v = act == RnnActivation.Tanh ? MathF.Tanh(a) : Math.Max(a, 0f);
                h[o + j] = v;
                if (output != null) output[o + j] = v;
            }
        }
    }

    /// <summary>dPre = dh * act'(h) on active rows (from the saved output h), 0 on inactive rows.</summary>
    public static void Backward(float* h, float* dh, float* dPre, byte* active, int batch, int hidden, RnnActivation act)
    {
        for (int b = 0; b < batch; b++)
        {
            long o = (long)b * hidden;
            if (active[b] == 0) { new Span<float>(dPre + o, hidden).Clear(); continue; }
            for (int j = 0; j < hidden; j++)
            {
                float v = h[o + j];
                dPre[o + j] = dh[o + j] * (act == RnnActivation.Tanh ? 1 - v * v : (v > 0 ? 1f : 0f));
            }
        }
    }
}

// The recurrent layer of the frozen-model runtime (DeepSpeechKws): a ReLU RNN run forwards and backwards over
// time-major input projections, returning the sum of the two directions' final states. The input kernel and
// bias are shared by both directions, so a = x W + b is computed once beforehand (a pointwise step) and enters
// each time step as the bias of one FusedDense GEMV: h_t = relu(a[t] + h_{t-1} . U), h_{-1} = 0.
namespace Cochlea.Kernels.Inference;

/// <summary>ReLU recurrence over precomputed input projections.</summary>
public static unsafe class Recurrence
{
    /// <summary>
    /// y (h) = hf + hb: hf the state after t = 0..T-1 of h_t = relu(a[t] + h_{t-1} . fwd), hb after t = T-1..0 with bwd,
    /// both from zero. a (T, h), fwd and bwd (h, h) input-major; scratch 2h floats; y must not overlap a or scratch.
    /// </summary>
    public static void BidirectionalReluLast(float* a, int t, int h, DenseWeights fwd, DenseWeights bwd, float* y, float* scratch, SimdWidth width)
    {
        if (t < 1 || h < 0) throw new ArgumentOutOfRangeException(nameof(t), $"recurrence: expected t >= 1 and h >= 0, got t={t} h={h}.");
        ReluLast(a, t, h, fwd, reverse: false, y, scratch, width);
        float* hb = scratch + h;
        ReluLast(a, t, h, bwd, reverse: true, hb, scratch, width);
        for (int j = 0; j < h; j++) y[j] += hb[j];
    }

    /// <summary>The final state of one direction into <paramref name="y"/> (h); <paramref name="tmp"/> (h) is the other ping-pong buffer.</summary>
    static void ReluLast(float* a, int t, int h, DenseWeights u, bool reverse, float* y, float* tmp, SimdWidth width)
    {
        float* prev = null;
        for (int s = 0; s < t; s++)
        {
            float* row = a + (nint)(reverse ? t - 1 - s : s) * h;
            // Alternate buffers so that the last step (s = t - 1) writes y.
            float* next = (t - 1 - s) % 2 == 0 ? y : tmp;
            // Step 0 starts from h = 0: k = 0 leaves relu(a[t0]).
            u.Run(prev, 1, s == 0 ? 0 : h, h, row, next, FusedActivation.Relu, 0, h, width);
            prev = next;
        }
    }
}

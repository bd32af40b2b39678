// Inverted dropout: in training each element is zeroed with probability p and the survivors
// scaled by 1/(1-p), so evaluation is the identity. The mask comes from a Philox stream, so a
// seeded run (and a resumed one) drops the same elements. The CPU keeps a mask tensor for the backward; CUDA
// fuses the draw into y = x * mask and regenerates the mask in the backward (Cuda/Ops/CudaDropout.cs).
using Cochlea.Autograd;

namespace Cochlea;

public static unsafe partial class Ops
{
    /// <summary>y = x * m / (1 - p), m ~ Bernoulli(1 - p), when <paramref name="training"/>; y = x otherwise.</summary>
    public static Tensor Dropout(Tensor x, float p, bool training, Philox rng) => Dropout(x, p, training, rng, null);

    /// <summary>
    /// Dropout of a slice of a batch with the mask the whole batch would get: <paramref name="slice"/> says that axis
    /// <see cref="BatchSlice.Axis"/> of <paramref name="x"/> holds rows [Start, Start + size) of a batch of <see cref="BatchSlice.Total"/>
    /// rows; the mask values are those at the same positions of the whole batch's mask, and <paramref name="rng"/> ends
    /// where the whole batch's dropout leaves it. So data-parallel replicas, each given its slice and the same stream
    /// position, drop exactly what one model on the whole batch drops. Null: the whole tensor draws in order.
    /// </summary>
    public static Tensor Dropout(Tensor x, float p, bool training, Philox rng, BatchSlice? slice)
    {
        RequireFloat(x, "dropout");
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout: p must be in [0, 1).");
        // Identity, but still recorded: a bare Alias() is Detach() and would silently cut every gradient upstream
        // of a dropout in eval mode or with p = 0 (found by the WaveKws golden test: train-mode BN with dropout off).
        if (!training || p == 0) return BackwardPass.Record(x.Alias(), "dropout", [x], g => [g]);
        float scale = 1f / (1f - p);
        if (!x.Device.IsCpu)
        {
            // One fused kernel and no stored mask: the backward regenerates it from the forward's seed and offset.
            var layout = DropoutLayout(x, slice);
            ulong seed = rng.Seed, offset = rng.Offset;
            var yd = Cuda.CudaDropout.Apply(x, p, scale, seed, offset, layout);
            rng.Offset = offset + (ulong)(layout.Outer * layout.Total * layout.Inner);   // where the CPU's draw leaves it
            return BackwardPass.Record(yd, "dropout", [x], g => [Cuda.CudaDropout.Apply(g, p, scale, seed, offset, layout)]);
        }
        var mask = CpuDropoutMask(x, p, scale, rng, slice);
        var y = BinaryRaw(new Kernels.Elementwise.MulOp(), x, mask, "dropout");
        return BackwardPass.Record(y, "dropout", [x], g => [BinaryRaw(new Kernels.Elementwise.MulOp(), g, mask, "dropout")]);
    }

    // The (outer, n, inner) view of a batch slice's axis: mask element (o, b, j) takes the stream value at
    // rng.Offset + (o * total + start + b) * inner + j; the whole tensor is outer = n = total = 1, start = 0.
    internal static (long Outer, long N, long Total, long Start, long Inner) DropoutLayout(Tensor x, BatchSlice? slice)
    {
        if (slice is not { } sl) return (1, 1, 1, 0, x.Numel);
        int axis = x.NormDim(sl.Axis), n = x.Size(axis);
        if (sl.Start < 0 || sl.Start + n > sl.Total)
            throw new ArgumentException($"dropout: batch slice [{sl.Start}, {sl.Start + n}) of {x.Describe()} on axis {axis} lies outside a batch of {sl.Total}.");
        long inner = 1, outer = 1;
        for (int d = axis + 1; d < x.Rank; d++) inner *= x.Size(d);
        for (int d = 0; d < axis; d++) outer *= x.Size(d);
        return (outer, n, sl.Total, sl.Start, inner);
    }

    static Tensor CpuDropoutMask(Tensor x, float p, float scale, Philox rng, BatchSlice? slice)
    {
        var mask = Tensor.Empty(x.ShapeArray);
        var m = mask.AsSpan();
        if (slice is not { } sl) rng.Fill(m);
        else
        {
            var (outer, n, _, _, inner) = DropoutLayout(x, sl);
            ulong start = rng.Offset;
            for (long o = 0; o < outer; o++)
                for (int b = 0; b < n; b++)
                {
                    rng.Offset = start + (ulong)((o * sl.Total + sl.Start + b) * inner);
                    rng.Fill(m.Slice((int)((o * n + b) * inner), (int)inner));
                }
            rng.Offset = start + (ulong)(outer * sl.Total * inner);
        }
        for (int i = 0; i < m.Length; i++) m[i] = m[i] >= p ? scale : 0f;
        return mask;
    }
}

/// <summary>Axis <paramref name="Axis"/> of a tensor holds rows [<paramref name="Start"/>, Start + its size) of a batch of <paramref name="Total"/> rows.</summary>
public readonly record struct BatchSlice(int Axis, int Start, int Total);

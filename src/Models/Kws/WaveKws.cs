// WaveKws: the raw-waveform keyword spotter of the TF speech challenge winner (the Pi model),
// defined exactly as ../shared/reference/models.py so state_dicts move both ways:
//   wav (B, N) -> 40-sample slices every 20 samples (B, 40, frames) -> conv(32, k3, s2, no bias) BN ReLU
//   -> SepConv(32->64) -> per width w: [SepConv(k3, s2, 'same'), SepConv(k3, 'valid')] -> global average
//   -> dropout .4 -> fc 256 (no bias) ReLU -> dropout .3 -> out (no bias) -> logits.
// SepConv = depthwise k3 (no bias) -> pointwise 1x1 (no bias) -> BN(eps 1e-3, momentum .01) -> ReLU.
using Cochlea.Nn;

namespace Cochlea.Models.Kws;

/// <summary>Depthwise-separable 1-d conv block: dw (k, groups = cin) -> pw (1x1) -> BN -> ReLU. Children dw, pw, bn.</summary>
public sealed class SepConv1d : Module
{
    readonly Conv1d _dw, _pw;
    readonly BatchNorm1d _bn;

    /// <summary>A block from <paramref name="cin"/> to <paramref name="cout"/> channels.</summary>
    public SepConv1d(int cin, int cout, int kernel, int stride = 1, bool same = false, Random? rng = null)
    {
        _dw = RegisterModule("dw", new Conv1d(cin, cin, kernel, stride, same ? (kernel - 1) / 2 : 0, groups: cin, bias: false, rng: rng));
        _pw = RegisterModule("pw", new Conv1d(cin, cout, 1, bias: false, rng: rng));
        _bn = RegisterModule("bn", new BatchNorm1d(cout, eps: 1e-3f, momentum: 0.01f));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        // dw -> pw -> bn -> relu, fused in training: the depthwise conv writes the 1x1 conv's channel-major GEMM layout,
        // and batch norm + ReLU run on the GEMM's output rows (Ops.SeparableConv1dBatchNormRelu).
        return _bn.SeparableConvRelu(x, _dw.Weight, _dw.Stride, _dw.Padding, _pw.Weight);
    }
}

/// <summary>The WaveKws model: (B, samples) 16 kHz waveform -> (B, classes) logits. About 1.27 M parameters at the default widths.</summary>
public sealed class WaveKws : Module
{
    /// <summary>The document's block widths.</summary>
    public static readonly int[] DefaultWidths = [128, 192, 256, 320, 384, 512];

    /// <summary>Samples per slice and hop between slices.</summary>
    public const int SliceLength = 40, SliceHop = 20;

    readonly Conv1d _conv;
    readonly BatchNorm1d _bn;
    readonly Sequential _blocks;
    readonly Linear _fc, _out;
    readonly Dropout _drop1, _drop2;

    /// <summary>Builds the model; <paramref name="widths"/> may be shortened for small experiments (the reference takes the same argument).</summary>
    public WaveKws(int numClasses = 12, int[]? widths = null, int seed = 0)
    {
        if (numClasses < 2) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "WaveKws needs at least 2 classes.");
        widths ??= DefaultWidths;
        var rng = new Random(seed);
        var drop = new Philox((ulong)seed);
        _conv = RegisterModule("conv", new Conv1d(SliceLength, 32, 3, stride: 2, bias: false, rng: rng));
        _bn = RegisterModule("bn", new BatchNorm1d(32, eps: 1e-3f, momentum: 0.01f));
        var blocks = new List<Module> { new SepConv1d(32, 64, 3, rng: rng) };
        int cin = 64;
        foreach (var w in widths)
        {
            blocks.Add(new SepConv1d(cin, w, 3, stride: 2, same: true, rng: rng));
            blocks.Add(new SepConv1d(w, w, 3, rng: rng));
            cin = w;
        }
        _blocks = RegisterModule("blocks", new Sequential(blocks));
        _fc = RegisterModule("fc", new Linear(cin, 256, bias: false, rng: rng));
        _out = RegisterModule("out", new Linear(256, numClasses, bias: false, rng: rng));
        // Registered so Train()/Eval() reach them; they hold no tensors, so the state_dict is unchanged.
        _drop1 = RegisterModule("drop1", new Dropout(0.4f, drop));
        _drop2 = RegisterModule("drop2", new Dropout(0.3f, drop));
    }

    /// <summary>The dropout stream (its offset belongs in a checkpoint for bit-exact resume).</summary>
    public Philox DropoutRng => _drop1.Rng;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor wav)
    {
        if (wav.Rank != 2 || wav.Size(1) < SliceLength + 2 * 2 * SliceHop)
            throw new ArgumentException($"WaveKws: expected a waveform batch (B, samples) with at least {SliceLength + 4 * SliceHop} samples, got {wav.Describe()}.");
        var x = wav.Unfold(1, SliceLength, SliceHop).Transpose(1, 2);   // (B, 40, frames)
        x = Ops.Relu(_bn.Forward(_conv.Forward(x)));
        x = _blocks.Forward(x);
        x = Ops.Mean(x, [2]);                                           // global average over time
        x = Ops.Relu(_fc.Forward(_drop1.Forward(x)));
        return _out.Forward(_drop2.Forward(x));
    }
}

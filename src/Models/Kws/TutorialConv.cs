// TutorialConv: the TF speech-commands tutorial's 'conv' model, the one the Kaggle winner started
// from. Input (B, 98, 40) MFCC or log-mel frames (time, frequency), NCHW inside:
//   (B, 1, 98, 40) -> Conv2d(64, 20x8, 'same') ReLU dropout -> maxpool 2x2 -> Conv2d(64, 10x4, 'same')
//   ReLU dropout -> flatten -> Dense(classes). 'same' pads like TF (the odd extra element after).
using Cochlea.Nn;

namespace Cochlea.Models.Kws;

/// <summary>The TF tutorial conv model: (B, time, freq) features -> (B, classes) logits.</summary>
public sealed class TutorialConv : Module
{
    readonly Conv2d _conv1, _conv2;
    readonly Linear _fc;
    readonly Dropout _drop;

    /// <summary>Input frames and bins (98 x 40 in the tutorial).</summary>
    public (int Time, int Freq) InputSize { get; }

    /// <summary>Builds the model for <paramref name="time"/> x <paramref name="freq"/> inputs; dropout 0.5 as the tutorial trains it.</summary>
    public TutorialConv(int numClasses = 12, int time = 98, int freq = 40, float dropout = 0.5f, int seed = 0)
    {
        if (time < 2 || freq < 2) throw new ArgumentOutOfRangeException(nameof(time), $"TutorialConv: input must be at least 2 x 2, got {time} x {freq}.");
        var rng = new Random(seed);
        InputSize = (time, freq);
        _conv1 = RegisterModule("conv1", new Conv2d(1, 64, (20, 8), padding: ConvPadding.Same, rng: rng));
        _conv2 = RegisterModule("conv2", new Conv2d(64, 64, (10, 4), padding: ConvPadding.Same, rng: rng));
        _fc = RegisterModule("fc", new Linear(64 * (time / 2) * (freq / 2), numClasses, rng: rng));
        _drop = RegisterModule("drop", new Dropout(dropout, new Philox((ulong)seed)));
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor features)
    {
        if (features.Rank != 3 || features.Size(1) != InputSize.Time || features.Size(2) != InputSize.Freq)
            throw new ArgumentException($"TutorialConv: expected (B, {InputSize.Time}, {InputSize.Freq}) features, got {features.Describe()}.");
        var x = features.Unsqueeze(1);
        x = Ops.MaxPool2d(_drop.Forward(Ops.Relu(_conv1.Forward(x))), (2, 2));
        x = _drop.Forward(Ops.Relu(_conv2.Forward(x)));
        return _fc.Forward(x.Flatten(1));
    }
}

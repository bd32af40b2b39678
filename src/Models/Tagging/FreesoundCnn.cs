// FreesoundCnn: the Freesound audio-tagging CNN, defined exactly as ../shared/reference/models.py so state_dicts
// move both ways:
//   wav (B, N) -> STFT inside the model (400-sample periodic Hann frames every 160 samples, zero-padded to a
//   512-point FFT, no centring: tf.signal.stft) -> (B, 2, frames, 257) channels [log1p|X|, angle(X)/pi]
//   -> 3 x [dropout .1 -> conv 3x11 'same' (no bias) -> BN(eps 1e-3, momentum 1e-3) -> ReLU -> maxpool 2]
//      with 16, 32, 64 channels -> global average -> dropout (1 - keep_prob) -> 1x1 conv (bias) -> logits (B, classes).
// state_dict: window (the Hann window, a buffer), convs.{0,1,2}.weight, bns.{0,1,2}.*, head.weight, head.bias.
using Cochlea.Kernels.Audio;
using Cochlea.Nn;

namespace Cochlea.Models.Tagging;

/// <summary>The Freesound CNN: (B, samples) waveform -> (B, classes) logits.</summary>
public sealed class FreesoundCnn : Module
{
    /// <summary>STFT framing: frame length, hop and FFT size (tf.signal.stft(wav, 400, 160) pads frames to 512).</summary>
    public const int FrameLength = 400, Hop = 160, FftSize = 512;

    /// <summary>Frequency bins per frame (FftSize / 2 + 1).</summary>
    public const int Bins = FftSize / 2 + 1;

    /// <summary>
    /// The fewest samples the model takes: three 2x2 max-pools need at least 8 frames. Shorter clips (even empty
    /// ones) are padded with zeros to this length by <see cref="PadToMinimum"/> before prediction.
    /// </summary>
    public const int MinSamples = FrameLength + 7 * Hop;

    /// <summary>The document's conv widths.</summary>
    public static readonly int[] Channels = [16, 32, 64];

    readonly StftKernel _stft;
    readonly ModuleList _convs, _bns;
    readonly Conv2d _head;
    readonly Dropout _drop, _dropHead;

    /// <summary>Builds the model with PyTorch's default initialisation from <paramref name="seed"/>.</summary>
    /// <param name="numClasses">Output classes (41 in the competition).</param>
    /// <param name="keepProb">Keep probability of the dropout before the head (the reference's keep_prob, 0.8).</param>
    /// <param name="seed">Initialisation and dropout seed.</param>
    public FreesoundCnn(int numClasses = 41, float keepProb = 0.8f, int seed = 0)
    {
        if (numClasses < 2) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "FreesoundCnn needs at least 2 classes.");
        if (!(keepProb > 0 && keepProb <= 1)) throw new ArgumentOutOfRangeException(nameof(keepProb), keepProb, "keep_prob must be in (0, 1].");
        NumClasses = numClasses;
        var spec = StftSpec.TensorFlow(FrameLength, Hop, FftSize, WindowKind.Hann, periodic: true);
        _stft = new StftKernel(spec);
        using (TensorScope.Suspend())
            RegisterBuffer("window", Tensor.FromArray(spec.Window.ToArray(), FrameLength));
        var rng = new Random(seed);
        int[] chans = [2, .. Channels];
        var convs = new List<Module>();
        var bns = new List<Module>();
        for (int i = 0; i < Channels.Length; i++)
            convs.Add(new Conv2d(chans[i], chans[i + 1], (3, 11), padding: ConvPadding.Symmetric(1, 5), bias: false, rng: rng));
        for (int i = 0; i < Channels.Length; i++)
            bns.Add(new BatchNorm2d(chans[i + 1], eps: 1e-3f, momentum: 1e-3f));
        _convs = RegisterModule("convs", new ModuleList(convs));
        _bns = RegisterModule("bns", new ModuleList(bns));
        _head = RegisterModule("head", new Conv2d(chans[^1], numClasses, (1, 1), rng: rng));
        // Registered so Train()/Eval() reach them; they hold no tensors, so the state_dict is unchanged.
        var drop = new Philox((ulong)seed);
        _drop = RegisterModule("drop", new Dropout(0.1f, drop));
        _dropHead = RegisterModule("drop_head", new Dropout(1 - keepProb, drop));
    }

    /// <summary>Output classes.</summary>
    public int NumClasses { get; }

    /// <summary>The dropout stream (its offset belongs in a checkpoint for bit-exact resume).</summary>
    public Philox DropoutRng => _drop.Rng;

    /// <summary>The model's input features: wav (B, N) -> (B, 2, frames, 257), channels log1p|X| and angle(X)/pi.</summary>
    public Tensor Features(Tensor wav)
    {
        if (wav.Rank != 2 || wav.Size(1) < MinSamples)
            throw new ArgumentException($"FreesoundCnn: expected a waveform batch (B, samples) with at least {MinSamples} samples (pad shorter clips with PadToMinimum), got {wav.Describe()}.");
        var spec = Ops.Stft(wav, _stft);                                 // (B, frames, 257, 2)
        var amp = Ops.Log1p(Ops.ComplexAbs(spec));
        var phase = Ops.Scale(Ops.Angle(spec), 1f / MathF.PI);
        return Ops.Stack([amp, phase], 1);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor wav)
    {
        var x = Features(wav);
        for (int i = 0; i < _convs.Count; i++)
        {
            x = _drop.Forward(x);
            x = ((BatchNorm)_bns[i]).Conv2dRelu(x, (Conv2d)_convs[i]);   // conv -> BN -> ReLU, fused in CPU training
            x = Ops.MaxPool2d(x, (2, 2));
        }
        x = Ops.Mean(x, [2, 3], keepDim: true);                          // global average (B, 64, 1, 1)
        x = _dropHead.Forward(x);
        return _head.Forward(x).Flatten(1);
    }

    /// <summary>A clip padded with zeros at the end to at least <see cref="MinSamples"/> samples (the clip itself when long enough).</summary>
    public static float[] PadToMinimum(float[] clip)
    {
        ArgumentNullException.ThrowIfNull(clip);
        if (clip.Length >= MinSamples) return clip;
        var padded = new float[MinSamples];
        clip.CopyTo(padded, 0);
        return padded;
    }
}

// DeepSpeechKws ("The New Kaggle Ecosystem"): a DeepSpeech-style keyword spotter on normalised
// log spectrograms, defined as ../shared/reference/models.py so state_dicts move both ways:
//   spec (B, 99, 161) -> FrameStack(7 frames, step 2) -> 3 x [dropout -> Dense -> ReLU] (1024, 2048, 2048)
//   -> ReLU RNN forwards and backwards sharing ONE input kernel and bias, two recurrent kernels,
//      last outputs added -> dropout -> Dense 2048 ReLU -> dropout -> Dense classes (logits).
using Cochlea.Memory;
using Cochlea.Nn;

namespace Cochlea.Models.Kws;

/// <summary>(B, T, F) -> (B, T', n*F): n overlapping frames taken every <c>step</c> frames, concatenated (ImageToDeepSpeech).</summary>
public sealed class FrameStack(int numFrames = 7, int frameStep = 2) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor x)
    {
        if (x.Rank != 3 || x.Size(1) < numFrames)
            throw new ArgumentException($"FrameStack: expected (B, T >= {numFrames}, F), got {x.Describe()}.");
        int stop = x.Size(1) - (numFrames - 1);
        var parts = new Tensor[numFrames];
        for (int i = 0; i < numFrames; i++) parts[i] = x.Slice(1, i, stop + i, frameStep);
        return Ops.Concat(parts, 2);
    }
}

/// <summary>
/// ReLU RNN run forwards and backwards with one input kernel (in, H) and bias, and two recurrent kernels (H, H)
/// (Keras layout: h W); returns the sum of the two directions' last outputs. Parameters kernel, bias, fwd, bwd.
/// </summary>
public sealed class SharedInputBiRnn : Module
{
    readonly Tensor _kernel, _bias, _fwd, _bwd;
    // Eval mode: the three kernels packed for the GEMM once, until they change.
    readonly PackedWeightCache _packedKernel, _packedFwd, _packedBwd;

    /// <summary>Weights ~ Xavier normal, bias 0 (as the reference).</summary>
    public SharedInputBiRnn(int inputDim, int hidden, Random rng)
    {
        using (TensorScope.Suspend())
        {
            _kernel = RegisterParameter("kernel", XavierNormal(rng, inputDim, hidden));
            _bias = RegisterParameter("bias", Tensor.Zeros(hidden));
            _fwd = RegisterParameter("fwd", XavierNormal(rng, hidden, hidden));
            _bwd = RegisterParameter("bwd", XavierNormal(rng, hidden, hidden));
        }
        _packedKernel = RegisterCache(new PackedWeightCache(outputMajor: false));
        _packedFwd = RegisterCache(new PackedWeightCache(outputMajor: false));
        _packedBwd = RegisterCache(new PackedWeightCache(outputMajor: false));
    }

    static Tensor XavierNormal(Random rng, int fanIn, int fanOut) => Tensor.Randn(rng, MathF.Sqrt(2f / (fanIn + fanOut)), fanIn, fanOut);

    /// <summary>x (B, T, in) -> (B, H).</summary>
    public override Tensor Forward(Tensor x)
    {
        if (x.Rank != 3 || x.Size(1) == 0) throw new ArgumentException($"SharedInputBiRnn: expected (B, T >= 1, features), got {x.Describe()}.");
        bool eval = UseDerivedCaches;
        var hIn = Ops.Add(Ops.Matmul(x, _kernel, eval ? _packedKernel : null), _bias).Transpose(0, 1);   // (T, B, H), shared by both directions
        int t = hIn.Size(0), h = _fwd.Size(0);
        // Both directions in one op: with two kernel threads they run at the same time, one core each.
        var both = Ops.BidirectionalRecurrence(hIn, _fwd, null, hIn, _bwd, null, RecurrentCell.RnnRelu, hhInputMajor: true,
            packedF: eval ? _packedFwd : null, packedR: eval ? _packedBwd : null);   // (T, B, 2H)
        var last = both.Slice(0, t - 1, t).Squeeze(0).Slice(1, 0, h);    // forward direction after its last step
        var first = both.Slice(0, 0, 1).Squeeze(0).Slice(1, h, 2 * h);   // reverse direction after its last step (time 0)
        return Ops.Add(last, first);
    }
}

/// <summary>The DeepSpeechKws model: (B, T, freqBins) normalised spectrogram -> (B, classes) logits.</summary>
public sealed class DeepSpeechKws : Module
{
    readonly FrameStack _stack;
    readonly ModuleList _dense, _post;
    readonly SharedInputBiRnn _rnn;
    readonly Linear _out;
    readonly Dropout _drop;

    /// <summary>Defaults are the document's: 21 classes, hidden (1024, 2048, 2048, 1024, 2048), 7 frames step 2, 161 bins, dropout 0.05.</summary>
    public DeepSpeechKws(int numClasses = 21, int[]? hidden = null, int numFrames = 7, int frameStep = 2, int freqBins = 161, float dropout = 0.05f, int seed = 0)
    {
        hidden ??= [1024, 2048, 2048, 1024, 2048];
        if (hidden.Length < 4) throw new ArgumentException($"DeepSpeechKws: hidden needs at least 4 sizes (3 dense + rnn), got {hidden.Length}.");
        var rng = new Random(seed);
        (NumFrames, FrameStep) = (numFrames, frameStep);
        _stack = RegisterModule("stack", new FrameStack(numFrames, frameStep));
        int[] dims = [numFrames * freqBins, hidden[0], hidden[1], hidden[2]];
        _dense = RegisterModule("dense", new ModuleList(Enumerable.Range(0, 3).Select(i => (Module)new Linear(dims[i], dims[i + 1], rng: rng))));
        _rnn = RegisterModule("rnn", new SharedInputBiRnn(hidden[2], hidden[3], rng));
        int[] post = [hidden[3], .. hidden[4..]];
        _post = RegisterModule("post", new ModuleList(Enumerable.Range(0, post.Length - 1).Select(i => (Module)new Linear(post[i], post[i + 1], rng: rng))));
        _out = RegisterModule("out", new Linear(post[^1], numClasses, rng: rng));
        _drop = RegisterModule("drop", new Dropout(dropout, new Philox((ulong)seed)));
    }

    /// <summary>Frames stacked per step, and the step (FrameStack's parameters).</summary>
    public int NumFrames { get; }
    /// <inheritdoc cref="NumFrames"/>
    public int FrameStep { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor spec)
    {
        var x = _stack.Forward(spec);
        // Dense + ReLU as one op: in eval-mode inference the bias and ReLU run inside the GEMM.
        foreach (Linear d in _dense) x = d.ForwardRelu(_drop.Forward(x));
        x = _rnn.Forward(x);
        foreach (Linear d in _post) x = d.ForwardRelu(_drop.Forward(x));
        return _out.Forward(_drop.Forward(x));
    }
}

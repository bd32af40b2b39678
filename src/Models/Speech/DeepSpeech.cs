// DeepSpeech (Mozilla, 2017), defined as ../shared/reference/models.py so state_dicts move both ways:
//   x (T, B, n_input + 2*n_input*n_context) -> 3 x [Dense n_hidden, ReLU clipped at 20, dropout]
//   (the third 2*n_hidden wide) -> bidirectional LSTM n_hidden -> Dense n_hidden clipped ReLU, dropout
//   -> Dense characters (logits for CTC, time-major).
using Cochlea.Nn;

namespace Cochlea.Models.Speech;

/// <summary>The DeepSpeech acoustic model: (T, B, 494) MFCC-with-context features -> (T, B, 29) character logits.</summary>
public sealed class DeepSpeech : Module
{
    readonly Linear _h1, _h2, _h3, _h5, _h6;
    readonly Lstm _lstm;
    readonly Dropout _drop;

    /// <summary>ReLU clip value.</summary>
    public float ReluClip { get; }

    /// <summary>Defaults are the document's: 26 MFCC, 9 frames of context, 2048 hidden, 29 characters, clip 20, dropout 0.05, LSTM forget bias 0 (torch-compatible).</summary>
    public DeepSpeech(int nInput = 26, int nContext = 9, int nHidden = 2048, int nCharacter = 29, float reluClip = 20f, float dropout = 0.05f, float forgetBias = 0f, int seed = 0)
    {
        var rng = new Random(seed);
        int nIn = nInput + 2 * nInput * nContext;
        ReluClip = reluClip;
        _h1 = RegisterModule("h1", new Linear(nIn, nHidden, rng: rng));
        _h2 = RegisterModule("h2", new Linear(nHidden, nHidden, rng: rng));
        _h3 = RegisterModule("h3", new Linear(nHidden, 2 * nHidden, rng: rng));
        _lstm = RegisterModule("lstm", new Lstm(2 * nHidden, nHidden, bidirectional: true, forgetBias: forgetBias, rng: rng));
        _h5 = RegisterModule("h5", new Linear(2 * nHidden, nHidden, rng: rng));
        _h6 = RegisterModule("h6", new Linear(nHidden, nCharacter, rng: rng));
        _drop = RegisterModule("drop", new Dropout(dropout, new Philox((ulong)seed)));
    }

    /// <summary>The dropout stream (its offset is where the next mask starts).</summary>
    public Philox DropoutRng => _drop.Rng;

    /// <summary>
    /// (start, total): the inputs are utterances [start, start + B) of a batch of total, and dropout uses that batch's
    /// mask (data-parallel replicas; the inputs must be padded to the whole batch's length). Null: the batch is whole.
    /// </summary>
    public (int Start, int Total)? DropoutBatchSlice
    {
        get => _drop.Slice is { } s ? (s.Start, s.Total) : null;
        set => _drop.Slice = value is { } v ? new BatchSlice(1, v.Start, v.Total) : null;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary>x (T, B, features) with optional per-sequence lengths (B) -> logits (T, B, characters).</summary>
    public Tensor Forward(Tensor x, int[]? lengths)
    {
        foreach (var layer in new[] { _h1, _h2, _h3 })
            x = _drop.Forward(Ops.ReluClip(layer.Forward(x), ReluClip));
        x = _lstm.Forward(x, lengths);
        x = _drop.Forward(Ops.ReluClip(_h5.Forward(x), ReluClip));
        return _h6.Forward(x);
    }
}

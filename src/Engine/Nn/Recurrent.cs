// LSTM, GRU and Elman RNN layers with torch.nn.LSTM/GRU/RNN's parameter names and layouts
// (weight_ih_l{k}[_reverse] (G*H, in), weight_hh_l{k} (G*H, H), bias_ih_l{k}, bias_hh_l{k}), so
// weights interchange with PyTorch. Each direction of each layer = one GEMM for the input
// projection of all steps (Ops.Linear) + the fused time recurrence (Ops.Recurrence).
namespace Cochlea.Nn;

/// <summary>A stack of (optionally bidirectional) recurrent layers. Input (T, B, in) or (B, T, in) with batchFirst.</summary>
public class RecurrentLayers : Module
{
    readonly RecurrentCell _cell;
    readonly List<(Tensor Wih, Tensor Whh, Tensor? Bih, Tensor? Bhh, bool Reverse)[]> _layers = new();

    /// <summary>Hidden size H.</summary>
    public int HiddenSize { get; }
    /// <summary>Whether each layer also runs backwards (outputs concatenated: forward then reverse).</summary>
    public bool Bidirectional { get; }
    /// <summary>Input and output are (B, T, features) instead of (T, B, features).</summary>
    public bool BatchFirst { get; }
    /// <summary>Constant added to the LSTM forget gate pre-activation (TF's forget_bias; 0 = PyTorch).</summary>
    public float ForgetBias { get; }

    /// <summary>Builds the layers; weights and biases ~ U(-1/sqrt(H), 1/sqrt(H)) as PyTorch.</summary>
    protected RecurrentLayers(RecurrentCell cell, int inputSize, int hiddenSize, int numLayers, bool bias, bool batchFirst, bool bidirectional, float forgetBias, Random? rng)
    {
        if (inputSize < 1 || hiddenSize < 1 || numLayers < 1)
            throw new ArgumentOutOfRangeException(nameof(inputSize), $"{cell}: input size, hidden size and layers must be >= 1 (got {inputSize}, {hiddenSize}, {numLayers}).");
        (_cell, HiddenSize, BatchFirst, Bidirectional, ForgetBias) = (cell, hiddenSize, batchFirst, bidirectional, forgetBias);
        int g = cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };
        rng ??= new Random(0);
        float bound = 1f / MathF.Sqrt(hiddenSize);
        int dirs = bidirectional ? 2 : 1;
        for (int k = 0; k < numLayers; k++)
        {
            int inF = k == 0 ? inputSize : hiddenSize * dirs;
            var layer = new (Tensor, Tensor, Tensor?, Tensor?, bool)[dirs];
            for (int d = 0; d < dirs; d++)
            {
                string sfx = $"_l{k}" + (d == 1 ? "_reverse" : "");
                using (TensorScope.Suspend())
                {
                    var wih = RegisterParameter("weight_ih" + sfx, Tensor.Empty(g * hiddenSize, inF));
                    var whh = RegisterParameter("weight_hh" + sfx, Tensor.Empty(g * hiddenSize, hiddenSize));
                    var bih = bias ? RegisterParameter("bias_ih" + sfx, Tensor.Empty(g * hiddenSize)) : null;
                    var bhh = bias ? RegisterParameter("bias_hh" + sfx, Tensor.Empty(g * hiddenSize)) : null;
                    foreach (var p in new[] { wih, whh, bih, bhh }) if (p is not null) Init.Uniform(p, -bound, bound, rng);
                    layer[d] = (wih, whh, bih, bhh, d == 1);
                }
            }
            _layers.Add(layer);
        }
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary>Runs the stack; <paramref name="lengths"/> (B) are the valid steps per sequence (outputs are 0 beyond them).</summary>
    public Tensor Forward(Tensor x, int[]? lengths)
    {
        if (x.Rank != 3) throw new ArgumentException($"{GetType().Name}: expected {(BatchFirst ? "(B, T, features)" : "(T, B, features)")}, got {x.Describe()}.");
        var h = BatchFirst ? x.Transpose(0, 1) : x;
        foreach (var layer in _layers)
        {
            var xw = new Tensor[layer.Length];
            for (int d = 0; d < layer.Length; d++) xw[d] = Ops.Linear(h, layer[d].Wih, layer[d].Bih);   // all steps' input projections in one GEMM
            // Bidirectional: both time loops in one op, which runs them side by side on two threads.
            h = layer.Length == 1
                ? Ops.Recurrence(xw[0], layer[0].Whh, layer[0].Bhh, _cell, layer[0].Reverse, lengths, ForgetBias)
                : Ops.BidirectionalRecurrence(xw[0], layer[0].Whh, layer[0].Bhh, xw[1], layer[1].Whh, layer[1].Bhh, _cell, lengths, ForgetBias);
        }
        return BatchFirst ? h.Transpose(0, 1) : h;
    }
}

/// <summary>LSTM as torch.nn.LSTM (gates i, f, g, o), with an optional TF-style forget-gate bias.</summary>
public sealed class Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, bool bidirectional = false, float forgetBias = 0f, Random? rng = null)
    : RecurrentLayers(RecurrentCell.Lstm, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, forgetBias, rng);

/// <summary>GRU as torch.nn.GRU (gates r, z, n).</summary>
public sealed class Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false, bool bidirectional = false, Random? rng = null)
    : RecurrentLayers(RecurrentCell.Gru, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, 0f, rng);

/// <summary>Elman RNN as torch.nn.RNN (tanh, or ReLU with relu: true).</summary>
public sealed class Rnn(int inputSize, int hiddenSize, int numLayers = 1, bool relu = false, bool bias = true, bool batchFirst = false, bool bidirectional = false, Random? rng = null)
    : RecurrentLayers(relu ? RecurrentCell.RnnRelu : RecurrentCell.RnnTanh, inputSize, hiddenSize, numLayers, bias, batchFirst, bidirectional, 0f, rng);

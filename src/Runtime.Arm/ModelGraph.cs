// The graph a runtime model file carries in its metadata (key cochlea.graph), as JSON:
//   { "inputs": [{"name", "shape"}], "outputs": [{"name", "shape"}], "labels": [..],
//     "frontend": {"type", "sample_rate", "samples", "normalization"},
//     "values": {name: shape, ...},                       every value's declared shape
//     "ops": [{"op", "inputs": [..], "outputs": [..], attributes...}] }   in execution order
// Ops (activations time-major (T, C); weights input-major (K, N), I8 weights come with "<weight>.scale" (N)):
//   peak_normalize {floor}                         (N) -> (N)
//   frames {length, hop}                           (N) -> ((N - length) / hop + 1, length), a view
//   conv1d {weight, bias?, kernel, stride, pad, activation}      (T, Cin) -> (Tout, Cout), weight (kernel*Cin, Cout)
//   depthwise_conv1d {weight, bias?, kernel, stride, pad, activation}  (T, C) -> (Tout, C), weight (kernel, C)
//   pointwise_conv1d {weight, bias?, activation}   (T, Cin) -> (T, Cout), weight (Cin, Cout)
//   mean_time                                      (T, C) -> (C)
//   dense {weight, bias?, activation}              (K) -> (N), weight (K, N)
//   softmax                                        (N) -> (N)
//   log_spectrogram {length, hop, fft, sample_rate, eps}   (N) -> (frames, fft/2+1): ln(density-scaled |STFT|^2 + eps),
//                                                  periodic-Hann frames as tf.signal.stft (scipy.signal.spectrogram's scaling)
//   mfcc {length, hop, fft, sample_rate, mels, fmin, fmax, coefficients, log_offset, power}   (N) -> (frames, coefficients):
//                                                  HTK mel (no norm) of |STFT|^power, ln(mel + log_offset), orthonormal DCT-II
//   feature_norm {mean, inv_std}                   (T, F) -> (T, F): (x - mean[f]) * inv_std[f], tensors (F)
//   reshape {shape}                                any -> shape (same element count; a view, no copy)
//   conv2d {weight, bias?, kernel_hw, stride_hw, pad_hw: [top, bottom, left, right], activation}
//                                                  (H, W, Cin) -> (Ho, Wo, Cout), weight (kh*kw*Cin, Cout), row (qh*kw + qw)*Cin + c
//   max_pool2d {kernel_hw, stride_hw}              (H, W, C) -> ((H - kh) / sh + 1, (W - kw) / sw + 1, C)
//   rnn_relu_bidirectional_last {fwd, bwd}         (T, H) -> (H): sum of the final states of h_t = relu(x[t] + h_{t-1} U)
//                                                  run forwards (U = fwd) and backwards (U = bwd), weights (H, H)
// Parsed with JsonDocument (no reflection, so the runtime trims).
using System.Text.Json;

namespace Cochlea.Runtime;

/// <summary>One operation of the graph with its attributes (unused ones stay at their defaults).</summary>
public sealed class OpSpec
{
    /// <summary>Operation name ("conv1d", "dense", ...).</summary>
    public string Op { get; init; } = "";
    /// <summary>Input value names.</summary>
    public string[] Inputs { get; init; } = [];
    /// <summary>Output value names.</summary>
    public string[] Outputs { get; init; } = [];
    /// <summary>Weight tensor name, or null.</summary>
    public string? Weight { get; init; }
    /// <summary>Bias tensor name, or null.</summary>
    public string? Bias { get; init; }
    /// <summary>Kernel size (convolutions).</summary>
    public int Kernel { get; init; } = 1;
    /// <summary>Stride (convolutions).</summary>
    public int Stride { get; init; } = 1;
    /// <summary>Zero padding before the first step (convolutions).</summary>
    public int PadLeft { get; init; }
    /// <summary>Zero padding after the last step (convolutions).</summary>
    public int PadRight { get; init; }
    /// <summary>Frame length (frames).</summary>
    public int Length { get; init; }
    /// <summary>Hop between frames (frames).</summary>
    public int Hop { get; init; }
    /// <summary>Peak floor (peak_normalize).</summary>
    public float Floor { get; init; }
    /// <summary>"none" or "relu".</summary>
    public string Activation { get; init; } = "none";
    /// <summary>Every numeric or numeric-array attribute, by name (the ops added with format version 2 read theirs here).</summary>
    public Dictionary<string, double[]> Numbers { get; init; } = new(StringComparer.Ordinal);
    /// <summary>Every string attribute, by name.</summary>
    public Dictionary<string, string> Strings { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Numeric attribute <paramref name="key"/> with exactly <paramref name="count"/> values, as integers.</summary>
    /// <exception cref="RuntimeModelException">Missing, another count, or not integers.</exception>
    public int[] Ints(string path, string key, int count)
    {
        var v = Numbers.TryGetValue(key, out var d) ? d : throw RuntimeModelFile.Bad(path, $"op '{Op}' needs attribute '{key}'.");
        if (v.Length != count || v.Any(x => x != Math.Floor(x) || Math.Abs(x) > int.MaxValue))
            throw RuntimeModelFile.Bad(path, $"op '{Op}' attribute '{key}' is [{string.Join(", ", v)}]; expected {count} integer(s).");
        return v.Select(x => (int)x).ToArray();
    }

    /// <summary>One integer attribute.</summary>
    public int Int(string path, string key) => Ints(path, key, 1)[0];

    /// <summary>One numeric attribute.</summary>
    public double Number(string path, string key) =>
        Numbers.TryGetValue(key, out var d) && d.Length == 1 ? d[0] : throw RuntimeModelFile.Bad(path, $"op '{Op}' needs one number '{key}'.");

    /// <summary>A string attribute (a tensor name, ...).</summary>
    public string Text(string path, string key) =>
        Strings.TryGetValue(key, out var t) ? t : throw RuntimeModelFile.Bad(path, $"op '{Op}' needs attribute '{key}'.");
}

/// <summary>A graph input or output: name and shape.</summary>
public sealed record ValueSpec(string Name, int[] Shape);

/// <summary>The parsed graph of a model file.</summary>
public sealed class ModelGraph
{
    /// <summary>Graph inputs (one: the waveform).</summary>
    public required ValueSpec[] Inputs { get; init; }
    /// <summary>Graph outputs (the first is the class probabilities).</summary>
    public required ValueSpec[] Outputs { get; init; }
    /// <summary>Class labels in output order.</summary>
    public required string[] Labels { get; init; }
    /// <summary>Declared shape of every value.</summary>
    public required Dictionary<string, int[]> Values { get; init; }
    /// <summary>Operations in execution order.</summary>
    public required OpSpec[] Ops { get; init; }
    /// <summary>Front end type ("wave": the model reads the waveform).</summary>
    public string FrontEnd { get; init; } = "wave";
    /// <summary>Input normalisation the graph applies ("none" or "peak").</summary>
    public string Normalization { get; init; } = "none";
    /// <summary>Sample rate (Hz).</summary>
    public int SampleRate { get; init; } = 16000;
    /// <summary>Samples per window.</summary>
    public int Samples { get; init; } = 16000;

    /// <summary>Parses the JSON of metadata key <see cref="RuntimeModelFile.GraphKey"/>.</summary>
    /// <exception cref="RuntimeModelException">Malformed JSON or a missing field.</exception>
    public static ModelGraph Parse(string path, string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            var fe = r.TryGetProperty("frontend", out var f) ? f : default;
            return new ModelGraph
            {
                Inputs = Specs(Req(path, r, "inputs")),
                Outputs = Specs(Req(path, r, "outputs")),
                Labels = r.TryGetProperty("labels", out var l) ? l.EnumerateArray().Select(e => e.GetString() ?? "").ToArray() : [],
                Values = Req(path, r, "values").EnumerateObject().ToDictionary(p => p.Name, p => Ints(p.Value), StringComparer.Ordinal),
                Ops = Req(path, r, "ops").EnumerateArray().Select(o => ParseOp(path, o)).ToArray(),
                FrontEnd = fe.ValueKind == JsonValueKind.Object && fe.TryGetProperty("type", out var t) ? t.GetString() ?? "wave" : "wave",
                Normalization = fe.ValueKind == JsonValueKind.Object && fe.TryGetProperty("normalization", out var n) ? n.GetString() ?? "none" : "none",
                SampleRate = fe.ValueKind == JsonValueKind.Object && fe.TryGetProperty("sample_rate", out var sr) ? sr.GetInt32() : 16000,
                Samples = fe.ValueKind == JsonValueKind.Object && fe.TryGetProperty("samples", out var s) ? s.GetInt32() : 16000,
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw RuntimeModelFile.Bad(path, $"its graph is malformed ({e.Message}).", e);
        }
    }

    static JsonElement Req(string path, JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v : throw RuntimeModelFile.Bad(path, $"its graph has no '{name}'.");

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    static ValueSpec[] Specs(JsonElement e) =>
        e.EnumerateArray().Select(v => new ValueSpec(v.GetProperty("name").GetString() ?? "", Ints(v.GetProperty("shape")))).ToArray();

    static OpSpec ParseOp(string path, JsonElement o)
    {
        string? Str(string k) => o.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        int Int(string k, int d) => o.TryGetProperty(k, out var v) ? v.GetInt32() : d;
        var numbers = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var strings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var a in o.EnumerateObject())
        {
            if (a.Value.ValueKind == JsonValueKind.Number) numbers[a.Name] = [a.Value.GetDouble()];
            else if (a.Value.ValueKind == JsonValueKind.String) strings[a.Name] = a.Value.GetString() ?? "";
            else if (a.Value.ValueKind == JsonValueKind.Array && a.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number))
                numbers[a.Name] = a.Value.EnumerateArray().Select(e => e.GetDouble()).ToArray();
        }
        var pad = o.TryGetProperty("pad", out var p) ? Ints(p) : [0, 0];
        if (pad.Length != 2) throw RuntimeModelFile.Bad(path, $"op '{Str("op")}' has pad of {pad.Length} values; expected [before, after].");
        return new OpSpec
        {
            Op = Str("op") ?? throw RuntimeModelFile.Bad(path, "an op of its graph has no 'op' name."),
            Inputs = o.TryGetProperty("inputs", out var i) ? i.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [],
            Outputs = o.TryGetProperty("outputs", out var u) ? u.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [],
            Weight = Str("weight"),
            Bias = Str("bias"),
            Kernel = Int("kernel", 1),
            Stride = Int("stride", 1),
            PadLeft = pad[0],
            PadRight = pad[1],
            Length = Int("length", 0),
            Hop = Int("hop", 0),
            Floor = o.TryGetProperty("floor", out var fl) ? fl.GetSingle() : 0f,
            Activation = Str("activation") ?? "none",
            Numbers = numbers,
            Strings = strings,
        };
    }
}

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
        };
    }
}

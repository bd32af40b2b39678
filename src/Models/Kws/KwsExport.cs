// Export of a trained keyword spotter to the runtime's frozen format (src/Runtime.Arm reads it): a
// safetensors file whose metadata holds the format name and version and the graph as JSON (ops in
// execution order, every value's shape, attributes, input/output names, labels, front-end parameters).
// Batch norm is folded into the preceding conv/dense (w' = w * g / sqrt(v + eps), b' = beta - mean * g / sqrt(v + eps),
// computed in double) and ReLU is fused into the op before it. Activations are time-major (T, C), weights
// input-major (K, N), so the runtime multiplies straight from the mapped file. With int8, the conv and dense
// weights are stored per output channel as q = round(w / s), s = max|w| / 127 (symmetric), plus "<name>.scale".
// The graph includes the front end: raw 16 kHz audio in, class probabilities (and logits) out.
// Float32 weights are stored losslessly compressed by default (KwsExportEncoding, format version 2); a file
// without encoded tensors (int8, or compress: false) is written as version 1, which older runtimes read.
using System.Globalization;
using System.Text.Json;
using Cochlea.IO;

namespace Cochlea.Models.Kws;

/// <summary>Writes a <see cref="KwsClassifier"/> (WaveKws, DeepSpeechKws or TutorialConv) as a runtime model file.</summary>
public static class KwsExport
{
    /// <summary>Metadata keys and values of the runtime format (kept equal to Cochlea.Runtime.RuntimeModelFile's).</summary>
    public const string FormatKey = "cochlea.format", FormatName = "cochlea-runtime", VersionKey = "cochlea.format_version", GraphKey = "cochlea.graph";

    /// <summary>The newest format version written (2: encoded float32 tensors; files without them are version 1).</summary>
    public const int FormatVersion = 2;

    /// <summary>
    /// The model file of <paramref name="kws"/> as a safetensors writer (call Save to write it). <paramref name="compress"/>
    /// stores float32 weights of at least <see cref="KwsExportEncoding.MinElements"/> values as compressed byte planes
    /// (bit-exact; decoded at load); int8 weights and small tensors stay raw and memory-mapped.
    /// </summary>
    /// <exception cref="InvalidOperationException">A spectral front end without feature statistics.</exception>
    public static SafeTensorsWriter Build(KwsClassifier kws, bool int8 = false, bool compress = true)
    {
        ArgumentNullException.ThrowIfNull(kws);
        var g = new GraphBuilder(kws.Model.StateDict().Where(p => p.Value.DType == DType.Float32).ToDictionary(p => p.Key, p => (p.Value.ToArray(), p.Value.Shape.ToArray())), int8);
        int n = KwsClassifier.ClipSamples;
        string x = "audio";
        g.Declare(x, n);
        if (kws.FrontEnd.InputNormalization == KwsInputNormalization.Peak)
            x = g.Op("peak_normalize", x, "normalized", [n], ("floor", KwsFrontEnd.PeakFloor));
        string logits = kws.Kind switch
        {
            KwsModelKind.Wave => WaveGraph(g, kws, x),
            KwsModelKind.DeepSpeech => DeepSpeechGraph(g, kws, x),
            KwsModelKind.Conv => ConvGraph(g, kws, x),
            _ => throw new NotSupportedException($"export does not know the {kws.Kind.Name()} model."),
        };
        string probs = g.Op("softmax", logits, "probabilities", [kws.Labels.Count]);

        var graph = new Dictionary<string, object>
        {
            ["inputs"] = new[] { new Dictionary<string, object> { ["name"] = "audio", ["shape"] = new[] { n } } },
            ["outputs"] = new[]
            {
                new Dictionary<string, object> { ["name"] = probs, ["shape"] = g.Values[probs] },
                new Dictionary<string, object> { ["name"] = logits, ["shape"] = g.Values[logits] },
            },
            ["labels"] = kws.Labels.ToArray(),
            ["frontend"] = new Dictionary<string, object>
            {
                ["type"] = kws.FrontEnd.Name, ["sample_rate"] = KwsClassifier.SampleRate, ["samples"] = n,
                ["normalization"] = kws.FrontEnd.InputNormalization.ToString().ToLowerInvariant(),
            },
            ["values"] = g.Values,
            ["ops"] = g.Ops,
        };
        var w = new SafeTensorsWriter();
        w.AddMetadata(FormatKey, FormatName);
        w.AddMetadata(GraphKey, JsonSerializer.Serialize(graph, GraphJson.Default.DictionaryStringObject));
        w.AddMetadata("cochlea.weights", int8 ? "int8-per-channel" : "float32");
        var encoding = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (name, data, shape) in g.Tensors)
        {
            if (compress && data.Length >= KwsExportEncoding.MinElements)
            {
                var (blob, entry) = KwsExportEncoding.Encode(data, shape.Select(d => (int)d).ToArray());
                w.AddBytes(name, SafeTensorDType.U8, blob, blob.Length);
                encoding[name] = entry;
            }
            else w.AddFloat32(name, data, shape);
        }
        foreach (var (name, data, shape) in g.Quantized) w.AddBytes(name, SafeTensorDType.I8, data, shape);
        if (encoding.Count > 0) w.AddMetadata(KwsExportEncoding.Key, JsonSerializer.Serialize(encoding, GraphJson.Default.DictionaryStringObject));
        w.AddMetadata(VersionKey, (encoding.Count > 0 ? 2 : 1).ToString(CultureInfo.InvariantCulture));
        return w;
    }

    // The front end's per-bin standardisation as tensors "frontend.mean" and "frontend.inv_std" (F).
    static string FeatureNorm(GraphBuilder g, KwsClassifier kws, string x)
    {
        var fe = (NormalizedFeatureFrontEnd)kws.FrontEnd;
        if (fe.Mean is null) throw new InvalidOperationException($"the {fe.Name} front end has no feature statistics; export a checkpoint written by `cochlea train kws`.");
        g.Tensors.Add(("frontend.mean", fe.Mean.ToArray(), [fe.Bins]));
        g.Tensors.Add(("frontend.inv_std", fe.InvStd!.ToArray(), [fe.Bins]));
        return g.Op("feature_norm", x, "features", g.Values[x], ("mean", "frontend.mean"), ("inv_std", "frontend.inv_std"));
    }

    // DeepSpeechKws: log spectrogram (99, 161) -> standardise -> FrameStack(7, 2) + time-distributed dense 0, which
    // together are a conv1d of kernel 7, stride 2 (FrameStack's row i*F + f is conv row q*Cin + c) -> dense 1, 2 as
    // pointwise convs -> the shared input kernel (pointwise) -> both RNN directions -> post dense -> out.
    static string DeepSpeechGraph(GraphBuilder g, KwsClassifier kws, string x)
    {
        var m = (DeepSpeechKws)kws.Model;
        const int len = LogSpectrogramFrontEnd.FrameLength, hop = LogSpectrogramFrontEnd.FrameStep, fft = LogSpectrogramFrontEnd.FftLength;
        int t = (KwsClassifier.ClipSamples - len) / hop + 1;
        x = g.Op("log_spectrogram", x, "spectrogram", [t, fft / 2 + 1], ("length", len), ("hop", hop), ("fft", fft),
            ("sample_rate", KwsClassifier.SampleRate), ("eps", LogSpectrogramFrontEnd.LogEpsilon));
        x = FeatureNorm(g, kws, x);
        t = (t - m.NumFrames) / m.FrameStep + 1;
        x = g.LinearConv(x, "dense.0", "dense.0", t, m.NumFrames, m.FrameStep);
        for (int i = 1; g.Has($"dense.{i}.weight"); i++) x = g.LinearConv(x, $"dense.{i}", $"dense.{i}", t, 1, 1);
        // The shared input kernel (in, H) and bias are already input-major (Keras layout), as are fwd and bwd (h W).
        var ks = g.Shape("rnn.kernel");
        g.AddWeight("rnn.kernel", g.Data("rnn.kernel"), ks[0], ks[1], quantize: true);
        g.Tensors.Add(("rnn.bias", g.Data("rnn.bias"), [ks[1]]));
        x = g.Op("pointwise_conv1d", x, "rnn.input", [t, ks[1]], ("weight", "rnn.kernel"), ("bias", "rnn.bias"), ("activation", "none"));
        g.AddWeight("rnn.fwd", g.Data("rnn.fwd"), ks[1], ks[1], quantize: true);
        g.AddWeight("rnn.bwd", g.Data("rnn.bwd"), ks[1], ks[1], quantize: true);
        x = g.Op("rnn_relu_bidirectional_last", x, "rnn", [ks[1]], ("fwd", "rnn.fwd"), ("bwd", "rnn.bwd"));
        for (int i = 0; g.Has($"post.{i}.weight"); i++) x = g.Dense(x, $"post.{i}", $"post.{i}", "relu");
        return g.Dense(x, "out", "logits", "none");
    }

    // TutorialConv: MFCC (98, 40) -> standardise -> (98, 40, 1) channels-last -> conv 20x8 'same' ReLU -> max pool 2x2
    // -> conv 10x4 'same' ReLU -> flatten (h, w, c) -> dense, whose rows are permuted from the engine's NCHW flatten (c, h, w).
    static string ConvGraph(GraphBuilder g, KwsClassifier kws, string x)
    {
        const int len = MfccFrontEnd.FrameLength, hop = MfccFrontEnd.FrameStep;
        int t = (KwsClassifier.ClipSamples - len) / hop + 1, f = MfccFrontEnd.Coefficients;
        x = g.Op("mfcc", x, "mfcc", [t, f], ("length", len), ("hop", hop), ("fft", MfccFrontEnd.FftLength), ("sample_rate", KwsClassifier.SampleRate),
            ("mels", MfccFrontEnd.Mels), ("fmin", MfccFrontEnd.MinHz), ("fmax", MfccFrontEnd.MaxHz), ("coefficients", f),
            ("log_offset", MfccFrontEnd.LogOffset), ("power", MfccFrontEnd.Power));
        x = FeatureNorm(g, kws, x);
        x = g.Op("reshape", x, "image", [t, f, 1], ("shape", new[] { t, f, 1 }));
        x = g.Conv2dSame(x, "conv1");
        var s = g.Values[x];
        x = g.Op("max_pool2d", x, "pool1", [s[0] / 2, s[1] / 2, s[2]], ("kernel_hw", new[] { 2, 2 }), ("stride_hw", new[] { 2, 2 }));
        x = g.Conv2dSame(x, "conv2");
        s = g.Values[x];
        x = g.Op("reshape", x, "flat", [s[0] * s[1] * s[2]], ("shape", new[] { s[0] * s[1] * s[2] }));
        return g.DenseChannelsLast(x, "fc", "logits", s[0], s[1], s[2]);
    }

    static string WaveGraph(GraphBuilder g, KwsClassifier kws, string x)
    {
        int n = KwsClassifier.ClipSamples;
        int frames = (n - WaveKws.SliceLength) / WaveKws.SliceHop + 1;
        x = g.Op("frames", x, "frames", [frames, WaveKws.SliceLength], ("length", WaveKws.SliceLength), ("hop", WaveKws.SliceHop));
        int t = (frames - 3) / 2 + 1;
        x = g.Conv(x, "conv", "bn", t);
        // Block 0 is SepConv(32 -> 64) 'valid'; then per width a stride-2 'same' block and a 'valid' one.
        for (int i = 0; i < 1 + 2 * kws.Widths.Count; i++)
        {
            int stride = i % 2 == 1 ? 2 : 1, pad = stride == 2 ? 1 : 0;
            t = (t + 2 * pad - 3) / stride + 1;
            x = g.SepConv(x, $"blocks.{i}", t, stride, pad);
        }
        int c = g.Values[x][1];
        x = g.Op("mean_time", x, "pooled", [c]);
        x = g.Dense(x, "fc", "fc", "relu");
        return g.Dense(x, "out", "logits", "none");
    }

    /// <summary>Exports <paramref name="kws"/> to <paramref name="path"/> (atomic write); returns the file size in bytes.</summary>
    public static long Save(KwsClassifier kws, string path, bool int8 = false, bool compress = true)
    {
        Build(kws, int8, compress).Save(path);
        return new FileInfo(path).Length;
    }

    /// <summary>Per-column symmetric int8: s[j] = max_p |w[p, j]| / 127 (1 when the column is zero), q = round(w / s).</summary>
    public static (sbyte[] Q, float[] Scale) QuantizeColumns(float[] w, int k, int n)
    {
        var q = new sbyte[w.Length];
        var s = new float[n];
        for (int j = 0; j < n; j++)
        {
            float m = 0;
            for (int p = 0; p < k; p++) m = MathF.Max(m, MathF.Abs(w[p * n + j]));
            s[j] = m > 0 ? m / 127f : 1f;
            for (int p = 0; p < k; p++) q[p * n + j] = (sbyte)Math.Clamp(MathF.Round(w[p * n + j] / s[j]), -127, 127);
        }
        return (q, s);
    }

    sealed class GraphBuilder(Dictionary<string, (float[] Data, int[] Shape)> state, bool int8)
    {
        public readonly Dictionary<string, int[]> Values = new(StringComparer.Ordinal);
        public readonly List<Dictionary<string, object>> Ops = [];
        public readonly List<(string Name, float[] Data, long[] Shape)> Tensors = [];
        public readonly List<(string Name, byte[] Data, long[] Shape)> Quantized = [];

        public int[] Shape(string name) => state.TryGetValue(name, out var v) ? v.Shape
            : throw new InvalidDataException($"the checkpoint has no '{name}'; it does not match the model's layout.");

        public float[] Data(string name) { Shape(name); return state[name].Data; }

        public bool Has(string name) => state.ContainsKey(name);

        public void Declare(string name, params int[] shape) => Values[name] = shape;

        public string Op(string op, string input, string output, int[] shape, params (string Key, object Value)[] attrs)
        {
            var d = new Dictionary<string, object> { ["op"] = op, ["inputs"] = new[] { input }, ["outputs"] = new[] { output } };
            foreach (var (k, v) in attrs) d[k] = v;
            Ops.Add(d);
            Values[output] = shape;
            return output;
        }

        // Folds BN (eps 1e-3) into weights w (k, n) input-major: column j scaled by g/sqrt(v+eps); returns the bias.
        float[] FoldBn(float[] w, int k, int n, string bn)
        {
            float[] gamma = Data(bn + ".weight"), beta = Data(bn + ".bias"), mean = Data(bn + ".running_mean"), var = Data(bn + ".running_var");
            var bias = new float[n];
            for (int j = 0; j < n; j++)
            {
                double s = gamma[j] / Math.Sqrt(var[j] + 1e-3);
                for (int p = 0; p < k; p++) w[p * n + j] = (float)(w[p * n + j] * s);
                bias[j] = (float)(beta[j] - mean[j] * s);
            }
            return bias;
        }

        public void AddWeight(string name, float[] w, int k, int n, bool quantize)
        {
            if (!(quantize && int8)) { Tensors.Add((name, w, [k, n])); return; }
            var (q, s) = QuantizeColumns(w, k, n);
            Quantized.Add((name, (byte[])(Array)q, [k, n]));
            Tensors.Add((name + ".scale", s, [n]));
        }

        // conv (Cout, Cin, K) + BN + ReLU -> conv1d weight (K*Cin, Cout), row q*Cin + c.
        public string Conv(string x, string conv, string bn, int tOut)
        {
            var shape = Shape(conv + ".weight");
            int cout = shape[0], cin = shape[1], kernel = shape[2];
            var src = Data(conv + ".weight");
            var w = new float[kernel * cin * cout];
            for (int o = 0; o < cout; o++)
                for (int c = 0; c < cin; c++)
                    for (int q = 0; q < kernel; q++) w[(q * cin + c) * cout + o] = src[(o * cin + c) * kernel + q];
            var b = FoldBn(w, kernel * cin, cout, bn);
            AddWeight(conv + ".weight", w, kernel * cin, cout, quantize: true);
            Tensors.Add((conv + ".bias", b, [cout]));
            return Op("conv1d", x, conv, [tOut, cout], ("weight", conv + ".weight"), ("bias", conv + ".bias"), ("kernel", kernel),
                ("stride", 2), ("pad", new[] { 0, 0 }), ("activation", "relu"));
        }

        // dw (C, 1, K) -> (K, C); pw (Cout, Cin, 1) + BN + ReLU -> (Cin, Cout) with a bias.
        public string SepConv(string x, string p, int tOut, int stride, int pad)
        {
            var dws = Shape(p + ".dw.weight");
            int c = dws[0], kernel = dws[2];
            var dsrc = Data(p + ".dw.weight");
            var dw = new float[kernel * c];
            for (int ch = 0; ch < c; ch++)
                for (int q = 0; q < kernel; q++) dw[q * c + ch] = dsrc[ch * kernel + q];
            Tensors.Add((p + ".dw.weight", dw, [kernel, c]));
            string h = Op("depthwise_conv1d", x, p + ".dw", [tOut, c], ("weight", p + ".dw.weight"), ("kernel", kernel), ("stride", stride),
                ("pad", new[] { pad, pad }), ("activation", "none"));
            var pws = Shape(p + ".pw.weight");
            int cout = pws[0];
            var psrc = Data(p + ".pw.weight");
            var pw = new float[c * cout];
            for (int o = 0; o < cout; o++)
                for (int ch = 0; ch < c; ch++) pw[ch * cout + o] = psrc[o * c + ch];
            var b = FoldBn(pw, c, cout, p + ".bn");
            AddWeight(p + ".pw.weight", pw, c, cout, quantize: true);
            Tensors.Add((p + ".pw.bias", b, [cout]));
            return Op("pointwise_conv1d", h, p, [tOut, cout], ("weight", p + ".pw.weight"), ("bias", p + ".pw.bias"), ("activation", "relu"));
        }

        // Linear weight (N, K) -> (K, N) input-major.
        float[] Transposed(string weight, out int n, out int k)
        {
            var s = Shape(weight);
            (n, k) = (s[0], s[1]);
            var src = Data(weight);
            var w = new float[k * n];
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++) w[p * n + j] = src[j * k + p];
            return w;
        }

        // The bias of a layer as a tensor, or null when the layer has none.
        string? Bias(string layer, int n)
        {
            if (!Has(layer + ".bias")) return null;
            Tensors.Add((layer + ".bias", Data(layer + ".bias"), [n]));
            return layer + ".bias";
        }

        static (string, object)[] WithBias(string? bias, params (string, object)[] attrs) => bias is null ? attrs : [.. attrs, ("bias", bias)];

        // Linear layer (weight (N, K), optional bias) on a vector.
        public string Dense(string x, string layer, string output, string activation)
        {
            var w = Transposed(layer + ".weight", out int n, out int k);
            AddWeight(layer + ".weight", w, k, n, quantize: true);
            return Op("dense", x, output, [n], WithBias(Bias(layer, n), ("weight", layer + ".weight"), ("activation", activation)));
        }

        // Linear layer applied to every frame of (T, C) time-major input, with ReLU: a pointwise conv, or, with frames stacked
        // kernel at a time every stride (FrameStack), a conv1d whose weight rows are the Linear's inputs (kernel * C).
        public string LinearConv(string x, string layer, string output, int tOut, int kernel, int stride)
        {
            var w = Transposed(layer + ".weight", out int n, out int k);
            AddWeight(layer + ".weight", w, k, n, quantize: true);
            var b = Bias(layer, n);
            return kernel == 1 && stride == 1
                ? Op("pointwise_conv1d", x, output, [tOut, n], WithBias(b, ("weight", layer + ".weight"), ("activation", "relu")))
                : Op("conv1d", x, output, [tOut, n], WithBias(b, ("weight", layer + ".weight"), ("kernel", kernel), ("stride", stride), ("pad", new[] { 0, 0 }), ("activation", "relu")));
        }

        // Conv2d (Cout, Cin, kh, kw) 'same' (stride 1, TF padding: the odd element after) + ReLU on (H, W, Cin) channels-last:
        // weight row (qh * kw + qw) * Cin + c.
        public string Conv2dSame(string x, string layer)
        {
            var s = Shape(layer + ".weight");
            int cout = s[0], cin = s[1], kh = s[2], kw = s[3];
            var src = Data(layer + ".weight");
            var w = new float[kh * kw * cin * cout];
            for (int o = 0; o < cout; o++)
                for (int c = 0; c < cin; c++)
                    for (int qh = 0; qh < kh; qh++)
                        for (int qw = 0; qw < kw; qw++) w[((qh * kw + qw) * cin + c) * cout + o] = src[((o * cin + c) * kh + qh) * kw + qw];
            AddWeight(layer + ".weight", w, kh * kw * cin, cout, quantize: true);
            var v = Values[x];
            int[] pad = [(kh - 1) / 2, kh - 1 - (kh - 1) / 2, (kw - 1) / 2, kw - 1 - (kw - 1) / 2];
            return Op("conv2d", x, layer, [v[0], v[1], cout], WithBias(Bias(layer, cout), ("weight", layer + ".weight"), ("kernel_hw", new[] { kh, kw }),
                ("stride_hw", new[] { 1, 1 }), ("pad_hw", pad), ("activation", "relu")));
        }

        // Linear layer on a flattened (h, w, c) channels-last map whose weight (N, c*h*w) was trained on the NCHW flatten (c, h, w).
        public string DenseChannelsLast(string x, string layer, string output, int h, int w, int c)
        {
            var src = Transposed(layer + ".weight", out int n, out int k);
            if (k != h * w * c) throw new InvalidDataException($"'{layer}.weight' has {k} inputs; expected {h} x {w} x {c} = {h * w * c}.");
            var dst = new float[k * n];
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < h * w; p++)
                    Array.Copy(src, (ch * h * w + p) * n, dst, (p * c + ch) * n, n);
            AddWeight(layer + ".weight", dst, k, n, quantize: true);
            return Op("dense", x, output, [n], WithBias(Bias(layer, n), ("weight", layer + ".weight"), ("activation", "none")));
        }
    }
}

/// <summary>Source-generated JSON for the graph (no reflection at run time).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object>[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<Dictionary<string, object>>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, int[]>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(long[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(float))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class GraphJson : System.Text.Json.Serialization.JsonSerializerContext;

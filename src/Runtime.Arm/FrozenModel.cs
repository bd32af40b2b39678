// The executor of the frozen-model runtime. Load: open and map the file, parse the graph, infer every
// value's shape and check it against the declared one and against the weights, plan all activation memory
// once (liveness-based: values whose lifetimes do not overlap share arena bytes), dequantise int8 weights,
// and compile the ops into steps holding raw pointers. Front ends (log spectrogram, MFCC) run the Kernels'
// audio kernels on one thread; their workspaces are made at load, so they too allocate nothing per run. Run: copy the input in, run the steps, copy the
// output out — no managed allocation (checked by a test with GC.GetAllocatedBytesForCurrentThread).
// One thread by default; with threads > 1 the dense/pointwise/conv GEMM steps split their output columns over
// the kernel workers (the split depends only on the shapes, so results are identical for any thread count).
using System.Runtime.InteropServices;
using Cochlea.Kernels;
using Cochlea.Kernels.Audio;
using Cochlea.Kernels.Inference;
using Cochlea.Kernels.Softmax;
using Cochlea.Kernels.Threading;

namespace Cochlea.Runtime;

/// <summary>A loaded model ready to run: (samples) float32 audio in, (classes) probabilities out.</summary>
public sealed unsafe class FrozenModel : IDisposable
{
    readonly RuntimeModelFile _file;
    readonly Step[] _steps;
    readonly List<nint> _owned = [];
    readonly float* _input;
    readonly (nint Ptr, int Length)[] _outputs;
    float* _arena;

    /// <summary>The graph the model was built from.</summary>
    public ModelGraph Graph { get; }
    /// <summary>Class labels in output order.</summary>
    public IReadOnlyList<string> Labels => Graph.Labels;
    /// <summary>Samples per input window.</summary>
    public int InputLength { get; }
    /// <summary>Length of the first output (the class probabilities).</summary>
    public int OutputLength => _outputs[0].Length;
    /// <summary>Bytes of the model file; of the activation arena (all intermediate values, scratch included); of weights copied at load (an int8 file's depthwise weights dequantised, float32 matrices with rows of a multiple of 4 KB re-strided).</summary>
    public long FileBytes => _file.FileBytes;
    /// <inheritdoc cref="FileBytes"/>
    public long ArenaBytes { get; }
    /// <inheritdoc cref="FileBytes"/>
    public long DequantizedBytes { get; private set; }
    /// <summary>Bytes of the weight arena a version-2 file's compressed float32 weights are decoded into at load (0 when all weights are mapped).</summary>
    public long DecodedBytes => _file.DecodedBytes;
    /// <summary>Threads the steps may use.</summary>
    public int Threads { get; }
    /// <summary>SIMD path the kernels run.</summary>
    public SimdWidth Width { get; }

    /// <summary>Loads <paramref name="path"/>; <paramref name="threads"/> (default 1) bounds the threads; <paramref name="width"/> pins a SIMD path (default: the best).</summary>
    /// <exception cref="RuntimeModelException">The file is truncated, from a newer format version, or its shapes are inconsistent.</exception>
    public static FrozenModel Load(string path, int threads = 1, SimdWidth? width = null)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be >= 1.");
        var w = width ?? Simd.Best;
        if (!Simd.Supports(w)) throw new NotSupportedException($"SIMD path {w} is not available in this process (best: {Simd.Best}).");
        var file = RuntimeModelFile.Open(path);
        try { return new FrozenModel(file, threads, w); }
        catch { file.Dispose(); throw; }
    }

    sealed class Value
    {
        public required int[] Shape;
        public int Def, Last;
        public long Offset = -1;          // in floats, into the arena
        public Value? ViewOf;             // frames: rows of the base value, RowStride apart; reshape: the base itself (RowStride 0)
        public int RowStride;
        public bool Strided => ViewOf is not null && RowStride > 0;
        public long Elements => Shape.Aggregate(1L, (a, d) => a * d);
        public Value Root => ViewOf?.Root ?? this;
    }

    FrozenModel(RuntimeModelFile file, int threads, SimdWidth width)
    {
        _file = file; Threads = threads; Width = width;
        string path = file.Path;
        if (!file.Metadata.TryGetValue(RuntimeModelFile.GraphKey, out var json)) throw RuntimeModelFile.Bad(path, $"its metadata has no '{RuntimeModelFile.GraphKey}'.");
        Graph = ModelGraph.Parse(path, json);
        if (Graph.Inputs.Length != 1 || Graph.Inputs[0].Shape.Length != 1)
            throw RuntimeModelFile.Bad(path, "the runtime runs graphs with one 1-d input (the waveform).");
        if (Graph.Outputs.Length < 1) throw RuntimeModelFile.Bad(path, "its graph has no outputs.");

        // 1. Shapes: infer each op's output and check it against the declaration.
        var values = new Dictionary<string, Value>(StringComparer.Ordinal);
        var input = Graph.Inputs[0];
        values[input.Name] = new Value { Shape = input.Shape, Def = -1 };
        InputLength = input.Shape[0];
        for (int i = 0; i < Graph.Ops.Length; i++)
        {
            var op = Graph.Ops[i];
            if (op.Inputs.Length != 1 || op.Outputs.Length != 1) throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) must have one input and one output.");
            if (!values.TryGetValue(op.Inputs[0], out var x)) throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) reads '{op.Inputs[0]}', which no earlier op makes.");
            if (values.ContainsKey(op.Outputs[0])) throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) writes '{op.Outputs[0]}' a second time.");
            x.Last = i;
            var shape = InferShape(op, x.Shape, i);
            if (!Graph.Values.TryGetValue(op.Outputs[0], out var declared)) throw RuntimeModelFile.Bad(path, $"value '{op.Outputs[0]}' has no declared shape.");
            if (!declared.SequenceEqual(shape))
                throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) makes '{op.Outputs[0]}' of shape ({string.Join(", ", shape)}) but the graph declares ({string.Join(", ", declared)}): inconsistent shapes.");
            var y = new Value { Shape = shape, Def = i };
            if (x.Strided && op.Op != "conv1d") throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) cannot read the frames view '{op.Inputs[0]}'; only conv1d can.");
            if (op.Op == "frames") { y.ViewOf = x; y.RowStride = op.Hop; }
            else if (op.Op == "reshape") y.ViewOf = x;
            values[op.Outputs[0]] = y;
        }
        foreach (var o in Graph.Outputs)
        {
            if (!values.TryGetValue(o.Name, out var v)) throw RuntimeModelFile.Bad(path, $"graph output '{o.Name}' is not made by any op.");
            if (!v.Shape.SequenceEqual(o.Shape)) throw RuntimeModelFile.Bad(path, $"graph output '{o.Name}' is declared ({string.Join(", ", o.Shape)}) but is ({string.Join(", ", v.Shape)}): inconsistent shapes.");
            v.Last = int.MaxValue;
        }
        // A view keeps its base alive as long as the view is used.
        foreach (var v in values.Values) if (v.ViewOf is not null) v.Root.Last = Math.Max(v.Root.Last, v.Last);

        // 2. Memory plan: greedy first fit by offset among the values alive at the same time; each op's im2row
        // scratch lives for that op only. Sizes are rounded to 16 floats so every value starts 64-byte aligned.
        var blocks = new List<(long Offset, long Size, int Def, int Last)>();
        long Place(long floats, int def, int last)
        {
            long size = (floats + 15) & ~15L, offset = 0;
            foreach (var b in blocks.Where(b => b.Def <= last && def <= b.Last).OrderBy(b => b.Offset))
            {
                if (offset + size <= b.Offset) break;
                offset = Math.Max(offset, b.Offset + b.Size);
            }
            blocks.Add((offset, size, def, last));
            return offset;
        }
        values[input.Name].Offset = Place(values[input.Name].Elements, -1, values[input.Name].Last);
        var scratch = new long[Graph.Ops.Length];
        for (int i = 0; i < Graph.Ops.Length; i++)
        {
            var op = Graph.Ops[i];
            var y = values[op.Outputs[0]];
            if (y.ViewOf is null) y.Offset = Place(y.Elements, i, y.Last);
            long floats = ScratchFloats(op, values[op.Inputs[0]], y);
            scratch[i] = floats > 0 ? Place(floats, i, i) : -1;
        }
        long arenaFloats = blocks.Count == 0 ? 16 : blocks.Max(b => b.Offset + b.Size);
        ArenaBytes = arenaFloats * sizeof(float);
        _arena = (float*)NativeMemory.AlignedAlloc((nuint)ArenaBytes, 64);
        NativeMemory.Clear(_arena, (nuint)ArenaBytes);
        float* Ptr(Value v) => v.ViewOf is null ? _arena + v.Offset : Ptr(v.ViewOf);

        // 3. Steps.
        var steps = new List<Step>();
        for (int i = 0; i < Graph.Ops.Length; i++)
        {
            var op = Graph.Ops[i];
            var x = values[op.Inputs[0]];
            var y = values[op.Outputs[0]];
            float* px = Ptr(x), py = Ptr(y);
            var act = op.Activation switch
            {
                "none" => FusedActivation.None,
                "relu" => FusedActivation.Relu,
                _ => throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) has activation '{op.Activation}'; the runtime knows none and relu."),
            };
            switch (op.Op)
            {
                case "peak_normalize": steps.Add(new PeakStep(px, (int)x.Elements, op.Floor, py)); break;
                case "frames": break;
                case "conv1d":
                {
                    int t = x.Shape[0], cin = x.Shape[1], tOut = y.Shape[0], cout = y.Shape[1];
                    var w = Matrix(op.Weight!, op.Kernel * cin, cout);
                    float* b = Bias(op, cout);
                    float* rows = scratch[i] < 0 ? px : _arena + scratch[i];
                    if (scratch[i] >= 0) steps.Add(new Im2RowStep(px, t, cin, x.Strided ? x.RowStride : cin, op.Kernel, op.Stride, op.PadLeft, rows, tOut));
                    steps.Add(new DenseStep(rows, tOut, op.Kernel * cin, w, cout, b, py, act, width, threads));
                    break;
                }
                case "conv2d":
                {
                    int h = x.Shape[0], wd = x.Shape[1], cin = x.Shape[2], ho = y.Shape[0], wo = y.Shape[1], cout = y.Shape[2];
                    var (k, st, pad) = (op.Ints(path, "kernel_hw", 2), op.Ints(path, "stride_hw", 2), op.Ints(path, "pad_hw", 4));
                    int depth = k[0] * k[1] * cin;
                    float* rows = scratch[i] < 0 ? px : _arena + scratch[i];
                    if (scratch[i] >= 0) steps.Add(new Im2Row2dStep(px, h, wd, cin, k, st, pad[0], pad[2], rows, ho, wo));
                    steps.Add(new DenseStep(rows, ho * wo, depth, Matrix(op.Weight!, depth, cout), cout, Bias(op, cout), py, act, width, threads));
                    break;
                }
                case "max_pool2d":
                {
                    var (k, st) = (op.Ints(path, "kernel_hw", 2), op.Ints(path, "stride_hw", 2));
                    steps.Add(new MaxPool2dStep(px, x.Shape[0], x.Shape[1], x.Shape[2], k, st, py, width));
                    break;
                }
                case "log_spectrogram":
                {
                    var spec = StftSpec.TensorFlow(op.Int(path, "length"), op.Int(path, "hop"), op.Int(path, "fft"));
                    var scale = spec.DensityScale(op.Number(path, "sample_rate"));
                    steps.Add(new SpectrogramStep(new StftKernel(spec), scale, (float)op.Number(path, "eps"), px, (int)x.Elements, py, (int)y.Elements, width));
                    break;
                }
                case "mfcc":
                {
                    var spec = StftSpec.TensorFlow(op.Int(path, "length"), op.Int(path, "hop"), op.Int(path, "fft"));
                    var bank = MelFilterbank.Create(spec.Bins, op.Number(path, "sample_rate"), op.Int(path, "mels"), op.Number(path, "fmin"), op.Number(path, "fmax"),
                        MelScale.Htk, MelNorm.None);
                    var mfcc = new MfccKernel(spec, bank, op.Int(path, "coefficients"), LogCompression.Log((float)op.Number(path, "log_offset")),
                        power: (float)op.Number(path, "power"), ortho: true);
                    steps.Add(new MfccStep(mfcc, px, (int)x.Elements, py, (int)y.Elements, width));
                    break;
                }
                case "feature_norm":
                {
                    int f = x.Shape[1];
                    var mean = (float*)_file.Data(_file.Get(op.Text(path, "mean"), "F32", f));
                    var inv = (float*)_file.Data(_file.Get(op.Text(path, "inv_std"), "F32", f));
                    steps.Add(new FeatureNormStep(px, (int)x.Elements, mean, inv, f, py));
                    break;
                }
                case "reshape": break;
                case "rnn_relu_bidirectional_last":
                {
                    int t = x.Shape[0], h = x.Shape[1];
                    steps.Add(new RecurrenceStep(px, t, h, Matrix(op.Text(path, "fwd"), h, h), Matrix(op.Text(path, "bwd"), h, h), py, _arena + scratch[i], width));
                    break;
                }
                case "depthwise_conv1d":
                {
                    int c = x.Shape[1];
                    steps.Add(new DepthwiseStep(px, x.Shape[0], c, Weights(op, op.Kernel, c), op.Kernel, op.Stride, op.PadLeft, Bias(op, c), py, y.Shape[0], act, width));
                    break;
                }
                case "pointwise_conv1d":
                    steps.Add(new DenseStep(px, x.Shape[0], x.Shape[1], Matrix(op.Weight!, x.Shape[1], y.Shape[1]), y.Shape[1], Bias(op, y.Shape[1]), py, act, width, threads));
                    break;
                case "dense":
                    steps.Add(new DenseStep(px, 1, x.Shape[0], Matrix(op.Weight!, x.Shape[0], y.Shape[0]), y.Shape[0], Bias(op, y.Shape[0]), py, act, width, threads));
                    break;
                case "mean_time": steps.Add(new MeanStep(px, x.Shape[0], x.Shape[1], py, width)); break;
                case "softmax": steps.Add(new SoftmaxStep(px, (int)x.Elements, py, width)); break;
            }
        }
        _steps = [.. steps];
        _input = Ptr(values[input.Name]);
        _outputs = Graph.Outputs.Select(o => ((nint)Ptr(values[o.Name]), (int)values[o.Name].Elements)).ToArray();
    }

    static bool NeedsIm2Row(OpSpec op, Value x) =>
        !(op.Kernel == 1 && op.Stride == 1 && op.PadLeft == 0 && op.PadRight == 0 && !x.Strided);

    // Floats of per-op scratch (live for that op only): im2row rows of a conv, the recurrence's two state buffers.
    long ScratchFloats(OpSpec op, Value x, Value y)
    {
        string path = _file.Path;
        switch (op.Op)
        {
            case "conv1d" when NeedsIm2Row(op, x): return (long)y.Shape[0] * op.Kernel * x.Shape[1];
            case "conv2d":
                var (k, st, pad) = (op.Ints(path, "kernel_hw", 2), op.Ints(path, "stride_hw", 2), op.Ints(path, "pad_hw", 4));
                bool direct = k[0] == 1 && k[1] == 1 && st[0] == 1 && st[1] == 1 && pad.All(p => p == 0);
                return direct ? 0 : (long)y.Shape[0] * y.Shape[1] * k[0] * k[1] * x.Shape[2];
            case "rnn_relu_bidirectional_last": return 2L * x.Shape[1];
            default: return 0;
        }
    }

    int[] InferShape(OpSpec op, int[] x, int i)
    {
        string path = _file.Path;
        void Rank(int r) { if (x.Length != r) throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) needs a rank-{r} input, got ({string.Join(", ", x)}): inconsistent shapes."); }
        void Geometry()
        {
            if (op.Kernel < 1 || op.Stride < 1 || op.PadLeft < 0 || op.PadRight < 0)
                throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) has kernel {op.Kernel}, stride {op.Stride}, pad [{op.PadLeft}, {op.PadRight}]; expected kernel, stride >= 1 and pads >= 0.");
        }
        int OutChannels(int k)
        {
            var w = _file.Tensors.TryGetValue(op.Weight ?? "", out var t) ? t : throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) uses weight '{op.Weight}', which the file lacks.");
            if (w.Shape.Length != 2 || w.Shape[0] != k)
                throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) weight '{op.Weight}' is {w.ShapeText}; expected ({k}, N) for its input ({string.Join(", ", x)}): inconsistent shapes.");
            return w.Shape[1];
        }
        int Out(int len)
        {
            int o = TimeMajor.OutLength(len, op.Kernel, op.Stride, op.PadLeft, op.PadRight);
            return o > 0 ? o : throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) gets {len} steps, too few for kernel {op.Kernel}: inconsistent shapes.");
        }
        switch (op.Op)
        {
            case "peak_normalize": Rank(1); return x;
            case "softmax": Rank(1); return x;
            case "frames":
                Rank(1);
                if (op.Length < 1 || op.Hop < 1 || x[0] < op.Length) throw RuntimeModelFile.Bad(path, $"op {i} (frames) of length {op.Length}, hop {op.Hop} does not fit {x[0]} samples.");
                return [(x[0] - op.Length) / op.Hop + 1, op.Length];
            case "conv1d": Rank(2); Geometry(); return [Out(x[0]), OutChannels(op.Kernel * x[1])];
            case "depthwise_conv1d":
                Rank(2); Geometry();
                if (OutChannels(op.Kernel) != x[1]) throw RuntimeModelFile.Bad(path, $"op {i} (depthwise_conv1d) weight '{op.Weight}' does not have the input's {x[1]} channels: inconsistent shapes.");
                return [Out(x[0]), x[1]];
            case "pointwise_conv1d": Rank(2); return [x[0], OutChannels(x[1])];
            case "mean_time": Rank(2); return [x[1]];
            case "dense": Rank(1); return [OutChannels(x[0])];
            case "log_spectrogram":
            case "mfcc":
            {
                Rank(1);
                int length = op.Int(path, "length"), hop = op.Int(path, "hop"), fft = op.Int(path, "fft");
                if (length < 1 || hop < 1 || fft < length || x[0] < length)
                    throw RuntimeModelFile.Bad(path, $"op {i} ({op.Op}) frames of {length} every {hop} zero-padded to {fft} do not fit {x[0]} samples (need 1 <= length <= fft, length <= samples).");
                int frames = 1 + (x[0] - length) / hop;
                return [frames, op.Op == "mfcc" ? op.Int(path, "coefficients") : fft / 2 + 1];
            }
            case "feature_norm": Rank(2); return x;
            case "reshape":
            {
                var shape = op.Numbers.TryGetValue("shape", out var d) ? op.Ints(path, "shape", d.Length) : throw RuntimeModelFile.Bad(path, $"op {i} (reshape) has no 'shape'.");
                if (shape.Aggregate(1L, (a, v) => a * v) != x.Aggregate(1L, (a, v) => a * v) || shape.Any(v => v < 0))
                    throw RuntimeModelFile.Bad(path, $"op {i} (reshape) cannot make ({string.Join(", ", shape)}) of ({string.Join(", ", x)}): inconsistent shapes.");
                return shape;
            }
            case "conv2d":
            {
                Rank(3);
                var (k, st, pad) = (op.Ints(path, "kernel_hw", 2), op.Ints(path, "stride_hw", 2), op.Ints(path, "pad_hw", 4));
                if (k.Any(v => v < 1) || st.Any(v => v < 1) || pad.Any(v => v < 0))
                    throw RuntimeModelFile.Bad(path, $"op {i} (conv2d) has kernel [{string.Join(", ", k)}], stride [{string.Join(", ", st)}], pad [{string.Join(", ", pad)}]; expected kernels, strides >= 1 and pads >= 0.");
                int ho = TimeMajor.OutLength(x[0], k[0], st[0], pad[0], pad[1]), wo = TimeMajor.OutLength(x[1], k[1], st[1], pad[2], pad[3]);
                if (ho < 1 || wo < 1) throw RuntimeModelFile.Bad(path, $"op {i} (conv2d) input ({string.Join(", ", x)}) is too small for kernel [{k[0]}, {k[1]}]: inconsistent shapes.");
                return [ho, wo, OutChannels(k[0] * k[1] * x[2])];
            }
            case "max_pool2d":
            {
                Rank(3);
                var (k, st) = (op.Ints(path, "kernel_hw", 2), op.Ints(path, "stride_hw", 2));
                if (k.Any(v => v < 1) || st.Any(v => v < 1)) throw RuntimeModelFile.Bad(path, $"op {i} (max_pool2d) needs kernel and stride >= 1.");
                int ho = ChannelsLast.PoolLength(x[0], k[0], st[0]), wo = ChannelsLast.PoolLength(x[1], k[1], st[1]);
                if (ho < 1 || wo < 1) throw RuntimeModelFile.Bad(path, $"op {i} (max_pool2d) input ({string.Join(", ", x)}) is smaller than its window: inconsistent shapes.");
                return [ho, wo, x[2]];
            }
            case "rnn_relu_bidirectional_last": Rank(2); return [x[1]];
            default: throw RuntimeModelFile.Bad(path, $"op {i} is '{op.Op}', which this runtime does not know.");
        }
    }

    /// <summary>Weight matrix <paramref name="name"/> (k, n) from the file: float32, or int8 with per-column scales "name.scale" (used in place by the kernel).</summary>
    DenseWeights Matrix(string name, int k, int n)
    {
        if (!_file.Tensors.TryGetValue(name, out var t)) throw RuntimeModelFile.Bad(_file.Path, $"the graph uses tensor '{name}', which the file lacks.");
        if (t.DType == "F32")
        {
            var w = (float*)_file.Data(_file.Get(name, "F32", k, n));
            if (n % 1024 != 0 || (long)k * n < 1 << 20) return new(w, null, null);
            // Rows of a multiple of 4 KB put a column panel's cache lines in few L2 sets (FusedDense rereads the
            // panel per row tile): large such matrices get a copy with a padded row stride, made once here.
            int ldw = n + 16;
            long bytes = (long)k * ldw * sizeof(float);
            float* padded = (float*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            _owned.Add((nint)padded);
            DequantizedBytes += bytes;
            for (int p = 0; p < k; p++) new ReadOnlySpan<float>(w + (long)p * n, n).CopyTo(new Span<float>(padded + (long)p * ldw, n));
            return new(padded, null, null, ldw);
        }
        var q = _file.Get(name, "I8", k, n);
        var s = _file.Get(name + ".scale", "F32", n);
        return new(null, (sbyte*)_file.Data(q), (float*)_file.Data(s));
    }

    // Depthwise weights are tiny (kernel x C); an int8 file's are dequantised once into owned memory.
    float* Weights(OpSpec op, int k, int n)
    {
        var m = Matrix(op.Weight!, k, n);
        if (m.F32 != null) return m.F32;
        long bytes = (long)k * n * sizeof(float);
        float* w = (float*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        _owned.Add((nint)w);
        DequantizedBytes += bytes;
        TimeMajor.DequantizeColumns(m.I8, k, n, m.Scale, w);
        return w;
    }

    float* Bias(OpSpec op, int n) => op.Bias is null ? null : (float*)_file.Data(_file.Get(op.Bias, "F32", n));

    /// <summary>
    /// Runs the model on <paramref name="input"/> (<see cref="InputLength"/> samples) and writes the first output (the class
    /// probabilities, <see cref="OutputLength"/> values) to <paramref name="output"/>. No managed allocation. Not thread-safe:
    /// one model instance runs one inference at a time.
    /// </summary>
    public void Run(ReadOnlySpan<float> input, Span<float> output)
    {
        ObjectDisposedException.ThrowIf(_arena == null, this);
        if (input.Length != InputLength) throw new ArgumentException($"expected {InputLength} samples, got {input.Length}.", nameof(input));
        if (output.Length < OutputLength) throw new ArgumentException($"expected room for {OutputLength} outputs, got {output.Length}.", nameof(output));
        input.CopyTo(new Span<float>(_input, InputLength));
        foreach (var s in _steps) s.Run();
        new ReadOnlySpan<float>((void*)_outputs[0].Ptr, _outputs[0].Length).CopyTo(output);
    }

    /// <summary>Output <paramref name="index"/> (in <see cref="ModelGraph.Outputs"/> order) of the last <see cref="Run"/>; valid until the next run.</summary>
    public ReadOnlySpan<float> Output(int index) => new((void*)_outputs[index].Ptr, _outputs[index].Length);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_arena == null) return;
        NativeMemory.AlignedFree(_arena);
        _arena = null;
        foreach (var p in _owned) NativeMemory.AlignedFree((void*)p);
        _owned.Clear();
        _file.Dispose();
    }

    abstract class Step { public abstract void Run(); }

    sealed class PeakStep(float* x, int n, float floor, float* y) : Step
    {
        public override void Run() => TimeMajor.PeakNormalize(x, n, floor, y);
    }

    sealed class Im2RowStep(float* x, int t, int c, int rowStride, int kernel, int stride, int padLeft, float* dst, int tOut) : Step
    {
        public override void Run() => TimeMajor.Im2Row(x, t, c, rowStride, kernel, stride, padLeft, dst, tOut);
    }

    sealed class DepthwiseStep(float* x, int t, int c, float* w, int kernel, int stride, int padLeft, float* b, float* y, int tOut, FusedActivation act, SimdWidth width) : Step
    {
        public override void Run() => TimeMajor.Depthwise(x, t, c, w, kernel, stride, padLeft, b, y, tOut, act, width);
    }

    sealed class Im2Row2dStep(float* x, int h, int w, int c, int[] k, int[] st, int padTop, int padLeft, float* dst, int ho, int wo) : Step
    {
        readonly int _kh = k[0], _kw = k[1], _sh = st[0], _sw = st[1];
        public override void Run() => ChannelsLast.Im2Row(x, h, w, c, _kh, _kw, _sh, _sw, padTop, padLeft, dst, ho, wo);
    }

    sealed class MaxPool2dStep(float* x, int h, int w, int c, int[] k, int[] st, float* y, SimdWidth width) : Step
    {
        readonly int _kh = k[0], _kw = k[1], _sh = st[0], _sw = st[1];
        public override void Run() => ChannelsLast.MaxPool2d(x, h, w, c, _kh, _kw, _sh, _sw, y, width);
    }

    sealed class SpectrogramStep(StftKernel stft, float[] scale, float eps, float* x, int n, float* y, int outFloats, SimdWidth width) : Step
    {
        public override void Run() =>
            stft.Spectrum(new ReadOnlySpan<float>(x, n), 1, SpectrumKind.LogPower, new Span<float>(y, outFloats), scale, eps, width, threads: 1);
    }

    sealed class MfccStep(MfccKernel mfcc, float* x, int n, float* y, int outFloats, SimdWidth width) : Step
    {
        public override void Run() => mfcc.Run(new ReadOnlySpan<float>(x, n), 1, new Span<float>(y, outFloats), width, threads: 1);
    }

    sealed class FeatureNormStep(float* x, int n, float* mean, float* invStd, int bins, float* y) : Step
    {
        public override void Run() =>
            FeatureNorm.Apply(new ReadOnlySpan<float>(x, n), new Span<float>(y, n), new ReadOnlySpan<float>(mean, bins), new ReadOnlySpan<float>(invStd, bins));
    }

    sealed class RecurrenceStep(float* x, int t, int h, DenseWeights fwd, DenseWeights bwd, float* y, float* scratch, SimdWidth width) : Step
    {
        public override void Run() => Recurrence.BidirectionalReluLast(x, t, h, fwd, bwd, y, scratch, width);
    }

    sealed class MeanStep(float* x, int t, int c, float* y, SimdWidth width) : Step
    {
        public override void Run() => TimeMajor.MeanOverTime(x, t, c, y, width);
    }

    sealed class SoftmaxStep(float* x, int n, float* y, SimdWidth width) : Step
    {
        public override void Run() => SoftmaxKernels.Forward(x, y, 1, n, width);
    }

    sealed class DenseStep : Step
    {
        // Why 64 columns per unit: whole vectors on every path and enough work per chunk to pay for the hand-off.
        const int Unit = 64;
        readonly float* _x, _b, _y;
        readonly DenseWeights _w;
        readonly int _rows, _k, _n, _parts;
        readonly FusedActivation _act;
        readonly SimdWidth _width;
        readonly Action<int, int> _chunk;   // cached: no allocation per run

        public DenseStep(float* x, int rows, int k, DenseWeights w, int n, float* b, float* y, FusedActivation act, SimdWidth width, int threads)
        {
            _x = x; _rows = rows; _k = k; _w = w; _n = n; _b = b; _y = y; _act = act; _width = width;
            // Threads only where a share is at least ~0.5 MFLOP; below that waking a worker costs more than it saves.
            _parts = (int)Math.Clamp(2.0 * rows * k * n / 5e5, 1, Math.Min(threads, (n + Unit - 1) / Unit));
            _chunk = RunColumns;
        }

        void RunColumns(int s, int e) => Columns(s * Unit, Math.Min(e * Unit, _n));

        void Columns(int j0, int j1) => _w.Run(_x, _rows, _k, _n, _b, _y, _act, j0, j1, _width);

        public override void Run()
        {
            if (_parts <= 1) Columns(0, _n);
            else KernelThreads.For((_n + Unit - 1) / Unit, 1, _parts, _chunk);
        }
    }
}

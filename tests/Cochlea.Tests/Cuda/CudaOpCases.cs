// The CUDA-vs-CPU cases, keyed by the op name recorded in the graph (as GradCases): each case is a small
// graph and its inputs; CudaOpTests runs it on the CPU and on the GPU and compares the output and every
// input gradient. CudaOpCaseCoverageTests asserts that every op OpRegistry marks CUDA-supported has an
// entry here, so marking an op Supported needs its GPU test.
using static Cochlea.Tests.Engine.GradCheck;

namespace Cochlea.Tests.Cuda;

/// <summary>One comparison: a graph <see cref="F"/> over inputs made by <see cref="Inputs"/> (leaves requiring grad get gradients compared).</summary>
public sealed record CudaOpCase(string Op, string Label, Func<Tensor[], Tensor> F, Func<Tensor[]> Inputs)
{
    public override string ToString() => $"{Op}: {Label}";
}

public static class CudaOpCases
{
    static readonly Random Rng = new(4321);

    // Odd lengths (tails of every vector width) and a strided 2-d view.
    static readonly int[][] UnaryShapes = [[1], [7], [33], [257], [3, 5, 7]];

    static Tensor Const(Tensor t) => t;

    // A leaf of random integers 0..3 (exact sums in float up to 2^24).
    static Tensor Integers(params int[] shape)
    {
        var t = Tensor.FromArray(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(_ => (float)Rng.Next(4)).ToArray(), shape);
        t.RequiresGrad = true;
        return t;
    }  // a constant input: moved to the device, no gradient
    static Tensor[] In(params Tensor[] ts) => ts;

    static IEnumerable<CudaOpCase> Unary(string op, Func<Tensor, Tensor> f, float lo = float.NaN, float hi = float.NaN)
    {
        Tensor Make(int[] s) => float.IsNaN(lo) ? Normal(Rng, s) : Leaf(Rng, lo, hi, s);
        foreach (var s in UnaryShapes)
            yield return new(op, $"shape ({string.Join(",", s)})", t => f(t[0]), () => In(Make(s)));
        yield return new(op, "transposed (17, 13)", t => f(t[0].Transpose(0, 1)), () => In(Make([13, 17])));
    }

    static IEnumerable<CudaOpCase> Binary(string op, Func<Tensor, Tensor, Tensor> f)
    {
        // Same shape, broadcast both ways, scalar operands (0-d and one element), a long odd length, strided.
        int[][][] shapes = [[[3, 4], [3, 4]], [[2, 3, 5], [3, 1]], [[4, 1], [1, 5]], [[5], []], [[], [7]], [[257], [1]], [[1], [257]], [[2, 1, 3, 1, 5], [4, 1, 6, 1]]];
        foreach (var s in shapes)
            yield return new(op, $"({string.Join(",", s[0])}) with ({string.Join(",", s[1])})", t => f(t[0], t[1]), () => In(Normal(Rng, s[0]), Leaf(Rng, 0.5f, 2f, s[1])));
        yield return new(op, "transposed operands", t => f(t[0].Transpose(0, 1), t[1]), () => In(Normal(Rng, 9, 5), Leaf(Rng, 0.5f, 2f, 5, 9)));
    }

    static IEnumerable<CudaOpCase> One(string op, string label, Func<Tensor[], Tensor> f, Func<Tensor[]> inputs) => [new(op, label, f, inputs)];

    /// <summary>Every case, grouped by op name.</summary>
    public static readonly Dictionary<string, IEnumerable<CudaOpCase>> ByOp = new()
    {
        ["add"] = Binary("add", (a, b) => a + b),
        ["sub"] = Binary("sub", (a, b) => a - b),
        ["mul"] = Binary("mul", (a, b) => a * b),
        ["div"] = Binary("div", (a, b) => a / b),
        ["neg"] = Unary("neg", Ops.Neg),
        ["scale"] = Unary("scale", x => Ops.Scale(x, -2.5f)),
        ["add_scalar"] = Unary("add_scalar", x => Ops.AddScalar(x, 4f)),
        ["exp"] = Unary("exp", Ops.Exp),
        ["log"] = Unary("log", Ops.Log, 0.3f, 3f),
        ["log1p"] = Unary("log1p", Ops.Log1p, -0.5f, 3f),
        ["sqrt"] = Unary("sqrt", Ops.Sqrt, 0.3f, 3f),
        ["pow"] = Unary("pow", x => Ops.Pow(x, 3f)).Concat(Unary("pow", x => Ops.Pow(x, 1.7f), 0.3f, 3f)),
        ["abs"] = Unary("abs", Ops.Abs),
        ["clamp"] = Unary("clamp", x => Ops.Clamp(x, -1f, 1f)),
        ["relu"] = Unary("relu", Ops.Relu),
        ["relu_clip"] = Unary("relu_clip", x => Ops.ReluClip(x, 0.5f)),
        ["relu6"] = Unary("relu6", x => Ops.Relu6(Ops.Scale(x, 5f))),
        ["sigmoid"] = Unary("sigmoid", x => Ops.Sigmoid(Ops.Scale(x, 4f))),
        ["tanh"] = Unary("tanh", Ops.Tanh),
        ["silu"] = Unary("silu", x => Ops.Silu(Ops.Scale(x, 3f))),
        ["sum"] = new[]
        {
            new CudaOpCase("sum", "all of (3,4,5)", t => Ops.Sum(t[0]), () => In(Normal(Rng, 3, 4, 5))),
            new CudaOpCase("sum", "dim 1 keepdim", t => Ops.Sum(t[0], [1], keepDim: true), () => In(Normal(Rng, 3, 4, 5))),
            new CudaOpCase("sum", "dims 0, 2", t => Ops.Sum(t[0], [0, 2]), () => In(Normal(Rng, 3, 4, 5))),
            new CudaOpCase("sum", "dim 0 of (257, 3) transposed", t => Ops.Sum(t[0].Transpose(0, 1), [0]), () => In(Normal(Rng, 3, 257))),
            new CudaOpCase("sum", "broadcast backward (SumTo)", t => t[0] + t[1], () => In(Normal(Rng, 33, 1, 7), Normal(Rng, 1, 5, 7))),
            // Small integers for the long sums: every partial sum is exact in float, so any summation order gives the
            // CPU's value exactly and a chunk boundary that drops or repeats one element shows.
            new CudaOpCase("sum", "long columns, chunked (3000, 5) dim 0", t => Ops.Sum(t[0], [0]), () => In(Integers(3000, 5))),
            new CudaOpCase("sum", "very long columns, chunks of chunks (70000, 2) dim 0", t => Ops.Sum(t[0], [0]), () => In(Integers(70000, 2))),
            new CudaOpCase("sum", "long row (70000,)", t => Ops.Sum(t[0]), () => In(Integers(70000))),
            new CudaOpCase("sum", "short rows (1000, 7) dim 1", t => Ops.Sum(t[0], [1]), () => In(Normal(Rng, 1000, 7))),
            new CudaOpCase("sum", "bias gradient (B*T, C)", t => t[0] + t[1], () => In(Normal(Rng, 16, 50, 64), Normal(Rng, 64))),
        },
        ["mean"] = new[]
        {
            new CudaOpCase("mean", "dim 2", t => Ops.Mean(t[0], [2]), () => In(Normal(Rng, 3, 4, 5))),
            new CudaOpCase("mean", "dims 0, 1 keepdim", t => Ops.Mean(t[0], [0, 1], keepDim: true), () => In(Normal(Rng, 3, 4, 5))),
            new CudaOpCase("mean", "all of (257,)", t => Ops.Mean(t[0]), () => In(Normal(Rng, 257))),
        },
        ["max"] = new[]
        {
            new CudaOpCase("max", "dim 1", t => Ops.Max(t[0], 1), () => In(Distinct(Rng, 3, 4, 5))),
            new CudaOpCase("max", "dim 2 keepdim", t => Ops.Max(t[0], 2, keepDim: true), () => In(Distinct(Rng, 3, 4, 5))),
            new CudaOpCase("max", "dim 0", t => Ops.Max(t[0], 0), () => In(Distinct(Rng, 3, 4, 5))),
            new CudaOpCase("max", "all of (257,)", t => Ops.Max(t[0]), () => In(Distinct(Rng, 257))),
            // Ties everywhere: the first maximal element must win on both devices (the gradient goes there).
            new CudaOpCase("max", "ties, long rows (4, 300)", t => Ops.Max(t[0], 1), () => In(Integers(4, 300))),
            new CudaOpCase("max", "ties, columns (300, 4) dim 0", t => Ops.Max(t[0], 0), () => In(Integers(300, 4))),
        },
        ["softmax"] = new[]
        {
            new CudaOpCase("softmax", "last dim (3, 5)", t => Ops.Softmax(t[0], 1), () => In(Normal(Rng, 3, 5))),
            new CudaOpCase("softmax", "dim 0 (3, 5)", t => Ops.Softmax(t[0], 0), () => In(Normal(Rng, 3, 5))),
            new CudaOpCase("softmax", "middle dim (2, 33, 7)", t => Ops.Softmax(t[0], 1), () => In(Normal(Rng, 2, 33, 7))),
            new CudaOpCase("softmax", "long rows (4, 257)", t => Ops.Softmax(t[0], -1), () => In(Normal(Rng, 4, 257))),
        },
        ["log_softmax"] = new[]
        {
            new CudaOpCase("log_softmax", "last dim (2, 3, 5)", t => Ops.LogSoftmax(t[0], -1), () => In(Normal(Rng, 2, 3, 5))),
            new CudaOpCase("log_softmax", "dim 1 (2, 3, 5)", t => Ops.LogSoftmax(t[0], 1), () => In(Normal(Rng, 2, 3, 5))),
            new CudaOpCase("log_softmax", "long rows transposed", t => Ops.LogSoftmax(t[0].Transpose(0, 1), -1), () => In(Normal(Rng, 300, 3))),
        },
        ["concat"] = new[]
        {
            new CudaOpCase("concat", "dim 1", t => Ops.Concat([t[0], t[1]], 1), () => In(Normal(Rng, 2, 3), Normal(Rng, 2, 5))),
            new CudaOpCase("concat", "stack dim -1", t => Ops.Stack([t[0], t[1]], -1), () => In(Normal(Rng, 2, 3), Normal(Rng, 2, 3))),
            new CudaOpCase("concat", "dim 0, strided input", t => Ops.Concat([t[0].Transpose(0, 1), t[1], t[2]], 0), () => In(Normal(Rng, 7, 3), Normal(Rng, 1, 7), Normal(Rng, 257, 7))),
        },
        ["pad"] = new[]
        {
            new CudaOpCase("pad", "last dim", t => Ops.Pad(t[0], [1, 2]), () => In(Normal(Rng, 2, 3, 4))),
            new CudaOpCase("pad", "two dims, value 3", t => Ops.Pad(t[0], [0, 1, 2, 0], 3f), () => In(Normal(Rng, 2, 3, 4))),
            new CudaOpCase("pad", "crop", t => Ops.Pad(t[0], [-1, 1]), () => In(Normal(Rng, 2, 3, 4))),
        },
        // Views whose consumers copy through the strided kernel; unfold's backward adds overlapping windows on the GPU.
        ["expand"] = new[]
        {
            new CudaOpCase("expand", "size-1 dims and a new leading dim", t => t[0].Expand(3, 4, 5), () => In(Normal(Rng, 4, 1))),
            new CudaOpCase("expand", "then multiplied", t => t[0].Expand(2, 3, 7) * t[1], () => In(Normal(Rng, 1, 3, 1), Normal(Rng, 2, 3, 7))),
        },
        ["unfold"] = new[]
        {
            new CudaOpCase("unfold", "WaveKws slicing (40 every 20), transposed", t => t[0].Unfold(1, 40, 20).Transpose(1, 2), () => In(Normal(Rng, 3, 200))),
            new CudaOpCase("unfold", "dim 0, size 7 step 3", t => t[0].Unfold(0, 7, 3), () => In(Normal(Rng, 31, 2))),
            new CudaOpCase("unfold", "gaps (size 3 step 5)", t => t[0].Unfold(1, 3, 5), () => In(Normal(Rng, 2, 23))),
        },
        ["where"] = One("where", "broadcast b", t => Ops.Where(t[2], t[0], t[1]),
            () => In(Normal(Rng, 2, 3), Normal(Rng, 3), Const(Tensor.FromArray([1f, 0f, 0f, 1f, 1f, 0f], 2, 3)))),
        ["gather"] = new[]
        {
            new CudaOpCase("gather", "dim 1 with repeats", t => Ops.Gather(t[0], 1, t[1]), () => In(Normal(Rng, 2, 4), Const(Tensor.FromArray(new long[] { 0, 2, 2, 1, 0, 0 }, 2, 3)))),
            new CudaOpCase("gather", "dim 0, int32 index, strided x", t => Ops.Gather(t[0].Transpose(0, 1), 0, t[1]), () => In(Normal(Rng, 3, 5), Const(Tensor.FromArray(new[] { 4, 0, 4, 1, 1, 2 }, 2, 3)))),
        },
        // A fixed seed: the CUDA mask must equal the CPU's exactly, or the outputs differ by 1/(1-p).
        ["dropout"] = new[]
        {
            new CudaOpCase("dropout", "(4, 6)", t => Ops.Dropout(t[0], 0.3f, true, new Philox(5)), () => In(Normal(Rng, 4, 6))),
            new CudaOpCase("dropout", "(257,) at offset 3", t => Ops.Dropout(t[0], 0.5f, true, new Philox(9, 3)), () => In(Normal(Rng, 257))),
            new CudaOpCase("dropout", "batch slice", t => Ops.Dropout(t[0], 0.4f, true, new Philox(11, 1), new BatchSlice(1, 2, 7)), () => In(Normal(Rng, 3, 4, 5))),
        },
        ["drop_path"] = One("drop_path", "(5, 2, 3)", t => Ops.DropPath(t[0], 0.4f, true, new Philox(3)), () => In(Normal(Rng, 5, 2, 3))),
        ["cross_entropy"] = CrossEntropy(),
        ["bce_with_logits"] = new[] { "mean", "sum", "none" }.Select(red => new CudaOpCase("bce_with_logits", red,
            t => Loss.BinaryCrossEntropyWithLogits(Ops.Scale(t[0], 4f), t[1], 0.2f, red), () => In(Normal(Rng, 3, 41), Leaf(Rng, 0f, 1f, 3, 41)))),
        ["mse"] = new[] { "mean", "sum", "none" }.Select(red => new CudaOpCase("mse", red, t => Loss.Mse(t[0], t[1], red), () => In(Normal(Rng, 3, 5), Normal(Rng, 3, 5))))
            .Append(new CudaOpCase("mse", "transposed", t => Loss.Mse(t[0].Transpose(0, 1), t[1]), () => In(Normal(Rng, 4, 3), Normal(Rng, 3, 4)))),
        ["kl_div_distill"] = new[]
        {
            new CudaOpCase("kl_div_distill", "logits, T = 3", t => Loss.KlDivDistill(t[0], t[1], 3f), () => In(Normal(Rng, 4, 6), Const(Tensor.Randn(Rng, 2f, 4, 6)))),
            new CudaOpCase("kl_div_distill", "probabilities with a zero, T = 2", t => Loss.KlDivDistillFromProbs(t[0], t[1], 2f),
                () => In(Normal(Rng, 2, 4), Const(Tensor.FromArray([0.7f, 0.2f, 0.1f, 0f, 0.25f, 0.25f, 0.25f, 0.25f], 2, 4)))),
            new CudaOpCase("kl_div_distill", "41 classes", t => Loss.KlDivDistill(t[0], t[1], 1f), () => In(Normal(Rng, 9, 41), Const(Tensor.Randn(Rng, 2f, 9, 41)))),
        },
    };

    static IEnumerable<CudaOpCase> CrossEntropy()
    {
        foreach (var ls in new[] { 0f, 0.1f })
            foreach (var red in new[] { "mean", "sum", "none" })
                yield return new("cross_entropy", $"labels, ls {ls}, {red}", t => Loss.CrossEntropy(t[0], t[1], ls, red),
                    () => In(Normal(Rng, 4, 5), Const(Tensor.FromArray(new long[] { 0, 4, 2, 4 }, 4))));
        yield return new("cross_entropy", "spatial (B, C, T)", t => Loss.CrossEntropy(t[0], t[1], 0.2f),
            () => In(Normal(Rng, 2, 3, 3), Const(Tensor.FromArray(new long[] { 0, 2, 1, 1, 0, 2 }, 2, 3))));
        yield return new("cross_entropy", "many classes and rows (37, 41)", t => Loss.CrossEntropy(t[0], t[1], 0.1f),
            () => In(Normal(Rng, 37, 41), Const(Tensor.FromArray(Enumerable.Range(0, 37).Select(i => (long)(i * 7 % 41)).ToArray(), 37))));
        yield return new("cross_entropy", "soft targets with gradient", t => Loss.CrossEntropy(t[0], t[1], 0.1f),
            () => In(Normal(Rng, 3, 6), Leaf(Rng, 0.05f, 0.6f, 3, 6)));
        yield return new("cross_entropy", "soft targets, spatial, none", t => Loss.CrossEntropy(t[0], t[1], 0f, "none"),
            () => In(Normal(Rng, 2, 4, 3), Leaf(Rng, 0.05f, 0.6f, 2, 4, 3)));
    }

    /// <summary>All cases, flattened (the test source).</summary>
    public static IEnumerable<CudaOpCase> All() => ByOp.Values.SelectMany(c => c);
}

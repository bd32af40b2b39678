// Golden tests against PyTorch: every op fixture in tests/fixtures/ops (made by make_op_fixtures.py)
// is run through the matching Cochlea call, the outputs are compared with torch's, then the stored
// upstream gradients g_k are pushed back through sum_k(y_k * g_k) and the input gradients compared
// with torch's dx. Fixture ops without an engine op yet are listed in NotYetImplemented and reported
// as ignored (never skipped silently: a test checks every fixture op is in one table or the other).
using Cochlea.IO;
using Cochlea.Tests.Fixtures;
using NUnit.Framework;

namespace Cochlea.Tests.Golden;

[Category("Golden")]
public class OpGoldenTests
{
    /// <summary>Runs one fixture op in Cochlea: the fixture (for attrs) and its inputs x0..xn -> outputs y0..yn.</summary>
    delegate Tensor[] Runner(OpFixture fx, Tensor[] x);

    static Runner One(Func<OpFixture, Tensor[], Tensor> f) => (fx, x) => [f(fx, x)];
    static Runner Unary(Func<Tensor, Tensor> f) => One((_, x) => f(x[0]));
    static Runner Binary(Func<Tensor, Tensor, Tensor> f) => One((_, x) => f(x[0], x[1]));

    /// <summary>Fixture op name -> the Cochlea call with PyTorch's semantics (attrs as in tests/fixtures/README.md).</summary>
    static readonly Dictionary<string, Runner> Mapped = new()
    {
        ["add"] = Binary(Ops.Add),
        ["sub"] = Binary(Ops.Sub),
        ["mul"] = Binary(Ops.Mul),
        ["div"] = Binary(Ops.Div),
        ["neg"] = Unary(Ops.Neg),
        ["exp"] = Unary(Ops.Exp),
        ["log"] = Unary(Ops.Log),
        ["log1p"] = Unary(Ops.Log1p),
        ["sqrt"] = Unary(Ops.Sqrt),
        ["abs"] = Unary(Ops.Abs),
        ["relu"] = Unary(Ops.Relu),
        ["relu6"] = Unary(Ops.Relu6),
        ["sigmoid"] = Unary(Ops.Sigmoid),
        ["tanh"] = Unary(Ops.Tanh),
        ["pow"] = One((fx, x) => Ops.Pow(x[0], fx.AttrFloat("exponent"))),
        ["clamp"] = One((fx, x) => Ops.Clamp(x[0], fx.AttrFloat("min"), fx.AttrFloat("max"))),
        ["relu_clip"] = One((fx, x) => Ops.ReluClip(x[0], fx.AttrFloat("max"))),
        ["softmax"] = One((fx, x) => Ops.Softmax(x[0], fx.AttrInt("dim"))),
        ["log_softmax"] = One((fx, x) => Ops.LogSoftmax(x[0], fx.AttrInt("dim"))),
        ["sum"] = One((fx, x) => Ops.Sum(x[0], fx.AttrInts("dims"), fx.AttrBool("keepdim"))),
        ["mean"] = One((fx, x) => Ops.Mean(x[0], fx.AttrInts("dims"), fx.AttrBool("keepdim"))),
        ["max"] = One((fx, x) => Ops.Max(x[0], fx.AttrInt("dim"), fx.AttrBool("keepdim"))),
        ["matmul"] = Binary(Ops.Matmul),
        ["linear"] = One((_, x) => Ops.Linear(x[0], x[1], x.Length > 2 ? x[2] : null)),
        ["concat"] = One((fx, x) => Ops.Concat(x, fx.AttrInt("dim"))),
        ["stack"] = One((fx, x) => Ops.Stack(x, fx.AttrInt("dim"))),
        ["split"] = (fx, x) => Ops.Split(x[0], fx.AttrInts("sizes"), fx.AttrInt("dim")),
        ["pad"] = One((fx, x) => Ops.Pad(x[0], fx.AttrInts("pads"), fx.AttrFloat("value"))),
        ["where"] = One((_, x) => Ops.Where(x[0], x[1], x[2])),   // x0: the uint8 mask, loaded as a 0/1 float mask
        ["gather"] = One((fx, x) => Ops.Gather(x[0], fx.AttrInt("dim"), x[1])),
        ["unfold"] = One((fx, x) => x[0].Unfold(fx.AttrInt("dim"), fx.AttrInt("size"), fx.AttrInt("step"))),
        ["transpose"] = One((fx, x) => x[0].Transpose(fx.AttrInt("dim0"), fx.AttrInt("dim1"))),
        ["permute"] = One((fx, x) => x[0].Permute(fx.AttrInts("dims"))),
        ["reshape"] = One((fx, x) => x[0].Reshape(fx.AttrInts("shape"))),
        ["slice"] = One((fx, x) => x[0].Slice(fx.AttrInt("dim"), fx.AttrInt("start"), fx.AttrInt("end"), fx.AttrInt("step"))),
        ["expand"] = One((fx, x) => x[0].Expand(fx.AttrInts("shape"))),
        ["global_avg_pool"] = Unary(Ops.GlobalAvgPool),
        ["conv1d"] = One((fx, x) => Ops.Conv1d(x[0], x[1], x.Length > 2 ? x[2] : null, fx.AttrInt("stride"), Padding(fx), fx.AttrInt("dilation"), fx.AttrInt("groups"))),
        ["conv2d"] = One((fx, x) => Ops.Conv2d(x[0], x[1], x.Length > 2 ? x[2] : null, Pair(fx, "stride"), Padding(fx), Pair(fx, "dilation"), fx.AttrInt("groups"))),
        ["max_pool1d"] = One((fx, x) => Ops.MaxPool1d(x[0], fx.AttrInt("kernel"), fx.AttrInt("stride"), fx.AttrInt("padding"))),
        ["avg_pool1d"] = One((fx, x) => Ops.AvgPool1d(x[0], fx.AttrInt("kernel"), fx.AttrInt("stride"), fx.AttrInt("padding"))),
        ["max_pool2d"] = One((fx, x) => Ops.MaxPool2d(x[0], Pair(fx, "kernel"), Pair(fx, "stride"), Pair(fx, "padding"))),
        ["avg_pool2d"] = One((fx, x) => Ops.AvgPool2d(x[0], Pair(fx, "kernel"), Pair(fx, "stride"), Pair(fx, "padding"))),
        ["batch_norm"] = One(BatchNormChecked),
        ["silu"] = Unary(Ops.Silu),
        ["adaptive_avg_pool2d"] = One((fx, x) => Ops.AdaptiveAvgPool2d(x[0], Pair(fx, "size"))),
        ["resize_bilinear"] = One((fx, x) => Ops.ResizeBilinear(x[0], Pair(fx, "size"))),
        ["drop_path"] = One((fx, x) => fx.AttrBool("training")
            ? Ops.DropPath(x[0], fx.AttrFloat("p"), fx.AttrInts("keep").Select(k => k != 0).ToArray())
            : Ops.DropPath(x[0], fx.AttrFloat("p"), training: false, new Philox(0))),
        // Losses. cross_entropy's "target" attr (hard/soft) is carried by the target's dtype (int64 / float32).
        ["cross_entropy"] = One((fx, x) => Loss.CrossEntropy(x[0], x[1], fx.AttrFloat("label_smoothing"))),
        ["bce_with_logits"] = One((fx, x) => Loss.BinaryCrossEntropyWithLogits(x[0], x[1], fx.AttrFloat("label_smoothing"))),
        ["mse"] = Binary((p, t) => Loss.Mse(p, t)),
        ["kl_div_distill"] = One((fx, x) => Loss.KlDivDistill(x[0], x[1], fx.AttrFloat("temperature"))),
        // Spectral (FreesoundCnn's front end): the STFT with tf.signal.stft framing and a periodic Hann window.
        ["stft"] = One((fx, x) => Ops.Stft(x[0], new Cochlea.Kernels.Audio.StftKernel(Cochlea.Kernels.Audio.StftSpec.TensorFlow(
            fx.AttrInt("frame_length"), fx.AttrInt("hop"), fx.AttrInt("fft_length"))))),
        ["complex_abs"] = Unary(Ops.ComplexAbs),
        ["angle"] = Unary(Ops.Angle),
    };

    /// <summary>
    /// Fixture ops whose engine op does not exist yet: the golden test reports them as ignored. When an op
    /// lands, move its line to <see cref="Mapped"/> (the coverage test fails if an op is in both tables).
    /// </summary>
    static readonly Dictionary<string, string> NotYetImplemented = new();

    /// <summary>Default tolerance: |actual - expected| &lt;= Atol + Rtol * |expected| (torch computes in float64, then rounds).</summary>
    const double Atol = 1e-5, Rtol = 1e-4;

    /// <summary>Looser tolerances where float32 accumulation legitimately differs (none needed at the fixtures' sizes).</summary>
    static readonly Dictionary<string, (double Atol, double Rtol)> Tolerance = new()
    {
        // A 400-sample frame sums to bins of magnitude ~10 (and dx sums 2 x 257 terms): float32 rounding is ~1e-5 there.
        ["stft"] = (2e-4, 1e-4),
    };

    static IEnumerable<string> Cases() => OpFixture.CaseNames();

    [TestCaseSource(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        var fx = OpFixture.Load(name);
        if (NotYetImplemented.ContainsKey(fx.Op)) Assert.Ignore($"{fx.Op}: engine op not implemented yet");
        Assert.That(Mapped.TryGetValue(fx.Op, out var run), Is.True, $"fixture op '{fx.Op}' has no mapping");
        var (atol, rtol) = Tolerance.GetValueOrDefault(fx.Op, (Atol, Rtol));

        using var scope = Tensor.Scope();
        var inputs = fx.Inputs.Select((t, i) => ToTensor(t, requiresGrad: fx.InputGrads[i] is not null)).ToArray();
        try
        {
            var outputs = run!(fx, inputs);
            Assert.That(outputs, Has.Length.EqualTo(fx.Outputs.Count), "number of outputs");
            for (int k = 0; k < outputs.Length; k++) AssertClose($"y{k}", outputs[k], fx.Outputs[k], atol, rtol);

            // d sum_k(y_k * g_k) / dx: the gradient of that sum w.r.t. y_k is g_k exactly (mul by 1, sum).
            Tensor? total = null;
            for (int k = 0; k < outputs.Length; k++)
            {
                var term = Ops.Sum(Ops.Mul(outputs[k], ToTensor(fx.UpstreamGrads[k], false)));
                total = total is null ? term : Ops.Add(total, term);
            }
            total!.Backward();
            for (int i = 0; i < inputs.Length; i++)
            {
                var dx = fx.InputGrads[i];
                if (dx is null) continue;
                // An input that does not reach the outputs gets no gradient; torch's dx is then zeros.
                if (inputs[i].Grad is null) Assert.That(dx.Data, Is.All.EqualTo(0f), $"dx{i}: Cochlea gave no gradient");
                else AssertClose($"dx{i}", inputs[i].Grad!, dx, atol, rtol);
            }
        }
        finally
        {
            foreach (var x in inputs) x.Grad?.Dispose();   // leaf gradients live outside the scope
        }
    }

    [Test]
    public void EveryFixtureOpIsMappedOrListedAsNotYetImplemented()
    {
        var ops = OpFixture.CaseNames().Select(n => OpFixture.Load(n).Op).ToHashSet();
        Assert.That(ops, Is.Not.Empty, $"no fixtures in {OpFixture.Folder}");
        Assert.That(ops.Where(o => !Mapped.ContainsKey(o) && !NotYetImplemented.ContainsKey(o)), Is.Empty, "fixture ops in neither table");
        Assert.That(Mapped.Keys.Intersect(NotYetImplemented.Keys), Is.Empty, "ops both mapped and listed as not implemented");
        Assert.That(Mapped.Keys.Concat(NotYetImplemented.Keys).Where(o => !ops.Contains(o)), Is.Empty, "table entries without a fixture");
    }

    static (int, int) Pair(OpFixture fx, string key) { var v = fx.AttrInts(key); return (v[0], v[1]); }

    // "same" / "valid" / an int / a per-axis list, as torch.nn.functional.conv*d takes it.
    static ConvPadding Padding(OpFixture fx)
    {
        var p = fx.Attrs.GetProperty("padding");
        if (p.ValueKind == System.Text.Json.JsonValueKind.String) return p.GetString() == "same" ? ConvPadding.Same : ConvPadding.Valid;
        if (p.ValueKind == System.Text.Json.JsonValueKind.Number) return p.GetInt32();
        var v = fx.AttrInts("padding");
        return ConvPadding.Symmetric(v[0], v[1]);
    }

    // batch_norm with the fixture's running statistics, which training must update exactly as torch did.
    static Tensor BatchNormChecked(OpFixture fx, Tensor[] x)
    {
        var rm = ToTensor(fx.Extras["rm"], false);
        var rv = ToTensor(fx.Extras["rv"], false);
        bool training = fx.AttrBool("training");
        var y = Ops.BatchNorm(x[0], x[1], x[2], rm, rv, training, fx.AttrFloat("momentum"), fx.AttrFloat("eps"));
        if (training)
        {
            AssertClose("running_mean", rm, fx.Extras["running_mean"], Atol, Rtol);
            AssertClose("running_var", rv, fx.Extras["running_var"], Atol, Rtol);
        }
        return y;
    }

    static Tensor ToTensor(FixtureTensor t, bool requiresGrad)
    {
        Tensor x = t.DType switch
        {
            SafeTensorDType.F32 => Tensor.FromArray(t.Data, t.Shape),
            SafeTensorDType.I64 => Tensor.FromArray(t.Int64!, t.Shape),
            SafeTensorDType.U8 => Tensor.FromArray(t.Data, t.Shape),   // boolean mask -> 0/1 float mask (Ops.Where's form)
            _ => throw new NotSupportedException($"{t}: unexpected fixture dtype"),
        };
        x.Name = t.Name;
        if (requiresGrad) x.RequiresGrad = true;
        return x;
    }

    static void AssertClose(string what, Tensor actual, FixtureTensor expected, double atol, double rtol)
    {
        Assert.That(actual.Shape.ToArray(), Is.EqualTo(expected.Shape), $"{what}: shape");
        var a = actual.ToArray();
        var e = expected.Data;
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double err = Math.Abs((double)a[i] - e[i]), allowed = atol + rtol * Math.Abs(e[i]);
            if (!(err <= allowed) && (worst < 0 || err - allowed > worstExcess)) { worst = i; worstExcess = err - allowed; }
        }
        if (worst >= 0)
            Assert.Fail($"{what}: element {worst} is {a[worst]:R}, PyTorch has {e[worst]:R} (|diff| {Math.Abs((double)a[worst] - e[worst]):E3} > {atol:E0} + {rtol:E0}*|ref|)");
    }
}

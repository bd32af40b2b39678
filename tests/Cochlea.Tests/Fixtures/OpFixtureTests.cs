// Checks that every PyTorch golden fixture (tests/fixtures/ops) loads and is self-consistent. The comparison
// of Cochlea's ops against the fixtures lives with the ops; this only guards the fixture files themselves.
using System.Text.Json;
using Cochlea.IO;
using NUnit.Framework;

namespace Cochlea.Tests.Fixtures;

[Category("SafeTensors")]
[Category("Fixtures")]
public class OpFixtureTests
{
    /// <summary>Ops the fixture script must cover (tests/fixtures/README.md).</summary>
    private static readonly string[] ExpectedOps =
    [
        "add", "sub", "mul", "div", "neg", "exp", "log", "log1p", "sqrt", "pow", "abs", "clamp", "relu", "relu_clip",
        "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "sum", "mean", "max", "matmul", "linear", "concat", "stack",
        "split", "pad", "where", "gather", "unfold", "transpose", "permute", "reshape", "slice", "expand", "conv1d",
        "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "global_avg_pool", "batch_norm",
        "cross_entropy", "bce_with_logits", "mse", "kl_div_distill",
        "stft", "complex_abs", "angle",
        "silu", "drop_path", "adaptive_avg_pool2d", "resize_bilinear",
    ];

    private static IEnumerable<string> Cases() => OpFixture.CaseNames();

    [Test]
    public void FixturesArePresentAndCoverEveryOp()
    {
        var names = OpFixture.CaseNames();
        Assert.That(names.Count, Is.GreaterThanOrEqualTo(150), $"fixtures missing from {OpFixture.Folder}");
        var ops = names.Select(n => OpFixture.Load(n).Op).ToHashSet();
        Assert.That(ExpectedOps.Where(o => !ops.Contains(o)), Is.Empty, "ops without a fixture");
        Assert.That(ops.Where(o => !ExpectedOps.Contains(o)), Is.Empty, "fixtures for unknown ops (add them to ExpectedOps and the README)");
    }

    [TestCaseSource(nameof(Cases))]
    public void FixtureIsSelfConsistent(string name)
    {
        var fx = OpFixture.Load(name);
        Assert.That(name, Does.StartWith(fx.Op + "_"), "case names start with the op");
        Assert.That(fx.Attrs.ValueKind, Is.EqualTo(JsonValueKind.Object));
        Assert.That(fx.Note, Is.Not.Empty);
        Assert.That(fx.Inputs, Is.Not.Empty);
        Assert.That(fx.Outputs, Is.Not.Empty);
        Assert.That(fx.UpstreamGrads, Has.Count.EqualTo(fx.Outputs.Count), "one g per y");
        for (int i = 0; i < fx.Outputs.Count; i++)
        {
            Assert.That(fx.Outputs[i].DType, Is.EqualTo(SafeTensorDType.F32));
            Assert.That(fx.UpstreamGrads[i].Shape, Is.EqualTo(fx.Outputs[i].Shape), $"g{i} shape");
        }
        Assert.That(fx.InputGrads.Any(g => g is not null), Is.True, "at least one input gradient");
        for (int i = 0; i < fx.Inputs.Count; i++)
        {
            var x = fx.Inputs[i];
            Assert.That(x.DType, Is.AnyOf(SafeTensorDType.F32, SafeTensorDType.I64, SafeTensorDType.U8), x.Name);
            Assert.That(x.Length, Is.EqualTo(x.Shape.Aggregate(1, (a, b) => a * b)));
            var dx = fx.InputGrads[i];
            if (dx is null) continue;
            Assert.That(x.DType, Is.EqualTo(SafeTensorDType.F32), $"dx{i} only for float inputs");
            Assert.That(dx.Shape, Is.EqualTo(x.Shape), $"dx{i} shape");
        }
        if (fx.Inputs.Any(x => x.DType == SafeTensorDType.U8))
            Assert.That(fx.Inputs.Where(x => x.DType == SafeTensorDType.U8).SelectMany(x => x.Int64!).All(v => v is 0 or 1), Is.True, "masks are 0/1");

        foreach (var t in fx.Inputs.Concat(fx.Outputs).Concat(fx.UpstreamGrads).Concat(fx.InputGrads.OfType<FixtureTensor>()).Concat(fx.Extras.Values))
            Assert.That(t.Data.All(float.IsFinite), Is.True, $"{t.Name} finite");

        var extraNames = fx.Extras.Keys.Order().ToArray();
        if (fx.Op == "batch_norm")
        {
            bool training = fx.AttrBool("training");
            int c = fx.Inputs[0].Shape[1];
            Assert.That(extraNames, Is.EqualTo(training ? new[] { "rm", "running_mean", "running_var", "rv" } : new[] { "rm", "rv" }));
            Assert.That(fx.Inputs, Has.Count.EqualTo(3));
            foreach (var e in fx.Extras.Values) Assert.That(e.Shape, Is.EqualTo(new[] { c }), e.Name);
            Assert.That(fx.Outputs[0].Shape, Is.EqualTo(fx.Inputs[0].Shape));
        }
        else
        {
            Assert.That(extraNames, Is.Empty, "only batch_norm has extra tensors");
        }
        if (fx.Op == "split")
            Assert.That(fx.Outputs, Has.Count.EqualTo(fx.AttrInts("sizes").Length));
        if (fx.Op is "cross_entropy" or "bce_with_logits" or "mse" or "kl_div_distill")
            Assert.That(fx.Outputs[0].Shape, Is.Empty, "losses are scalars");
    }
}

// Golden tests of the AttentionTagger on torchvision's full-size backbones against the PyTorch twins, with fixtures
// made by tests/fixtures/make_tagger_fixtures.py (tagger_<backbone>.safetensors): every parameter procedural (the
// hash in Fixtures/Procedural.cs), batch-norm running statistics stored as float16, the input procedural too.
// Checked: state_dict names, order and shapes equal the twin's; eval logits within 1e-4 of torch's float64 result
// (relative to the largest logit); train-mode logits (batch statistics; dropout and stochastic depth off); sampled
// parameter gradients and their norms; and a torchvision-named state_dict imports into the tagger's backbone.
using Cochlea.Models.Tagging;
using Cochlea.Nn;
using Cochlea.Tests.Fixtures;
using NUnit.Framework;

namespace Cochlea.Tests.Models;

[Category("Models")]
public class TaggerGoldenTests
{
    static readonly (string Fixture, TaggerBackbone Kind)[] All =
    [
        ("tagger_resnet50", TaggerBackbone.ResNet50),
        ("tagger_efficientnet_b3", TaggerBackbone.EfficientNetB3),
        ("tagger_inception_v3", TaggerBackbone.InceptionV3),
    ];

    static IEnumerable<TestCaseData> Cases() => All.Select(c => new TestCaseData(c.Fixture, c.Kind).SetName($"{{m}}({c.Kind})"));

    static AttentionTagger Build(ModelFixture fx, TaggerBackbone kind, int seed = 3) =>
        AttentionTagger.Create(kind, (int)fx.MetaInt("num_classes"), seed: seed);

    // Procedural parameters, stored running statistics; num_batches_tracked keeps Cochlea's value (not used in eval or
    // in train mode with a momentum).
    static void LoadWeights(AttentionTagger model, ModelFixture fx)
    {
        using var scope = Tensor.Scope();
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var parameters = model.NamedParameters().Select(p => p.Name).ToHashSet();
        int k = 0;
        foreach (var (name, own) in model.StateDict())
        {
            if (fx.Has("state." + name)) state[name] = fx.ToTensor("state." + name);
            else if (parameters.Contains(name)) state[name] = Tensor.FromArray(Procedural.TaggerParameter(k, name, own.ShapeArray)!, own.ShapeArray);
            else state[name] = own;
            k++;
        }
        model.LoadStateDict(state, strict: true);
    }

    static Tensor Input(ModelFixture fx)
    {
        var shape = fx.MetaInts("input_shape");
        return Tensor.FromArray(Procedural.Input(shape), shape);
    }

    [TestCaseSource(nameof(Cases))]
    public void StateDictNamesOrderAndShapesMatchTheTwin(string fixture, TaggerBackbone kind)
    {
        using var fx = ModelFixture.Open(fixture);
        using var model = Build(fx, kind);
        var sd = model.StateDict();
        Assert.That(sd.Keys, Is.EqualTo(fx.MetaStrings("state_dict_keys")), "state_dict keys and their order");
        var shapes = fx.MetaShapes("shapes");
        foreach (var (name, t) in sd) Assert.That(t.ShapeArray, Is.EqualTo(shapes[name]), $"shape of {name}");
        Assert.That(model.ParameterCount, Is.EqualTo(fx.MetaInt("param_count")), "parameter count");
    }

    [TestCaseSource(nameof(Cases))]
    public void EvalLogitsMatchTorch(string fixture, TaggerBackbone kind)
    {
        using var fx = ModelFixture.Open(fixture);
        using var model = Build(fx, kind);
        LoadWeights(model, fx);
        model.Eval();
        using var scope = Tensor.Scope();
        using var ng = Tensor.NoGrad();
        var logits = model.Forward(Input(fx));
        var want = fx.Floats("eval.logits");
        Assert.That(logits.ShapeArray, Is.EqualTo(fx.Shape("eval.logits")));
        double scale = want.Max(v => Math.Abs(v));
        Close.Check(logits.ToArray(), want, 1e-4 * scale, 0, $"{kind} eval logits (1e-4 of max |logit| {scale:G3})");
    }

    [TestCaseSource(nameof(Cases))]
    public void TrainLogitsAndGradientsMatchTorch(string fixture, TaggerBackbone kind)
    {
        using var fx = ModelFixture.Open(fixture);
        using var model = Build(fx, kind);
        LoadWeights(model, fx);
        model.Train();
        foreach (var (_, m) in model.NamedModules())
            if (m is Dropout or StochasticDepth) m.Eval();
        try
        {
            using (var scope = Tensor.Scope())
            {
                var logits = model.Forward(Input(fx));
                var want = fx.Floats("train.logits");
                double scale = want.Max(v => Math.Abs(v));
                Close.Check(logits.ToArray(), want, 1e-3 * scale, 0, $"{kind} train logits (1e-3 of max |logit| {scale:G3})");
                Ops.Sum(Ops.Mul(logits, fx.ToTensor("g"))).Backward();
            }
            // Gradients: train-mode batch norm on 2 small images makes the early layers' gradients ill-conditioned (torch's
            // own float32 run is up to a few per cent off there; the fixture records that floor per parameter). Every sampled
            // value must be within max(2e-2, 4 x torch's float32 error) of the tensor's largest |gradient|, or of 1e-3 of the
            // largest anywhere for tensors whose gradient is zero in exact arithmetic (att.bias: a softmax ignores a shift).
            // Why 2e-2 and not torch's ~2e-4: on ResNet50 Cochlea's float32 gradients leave torch's float64 ones earlier
            // going backward (layer4's batch-norm parameters: 0.3-1.3 % of their largest value, where torch's float32 is
            // at 0.02 %; both reach a few per cent by layer3). An open precision question, not a wrong rule: a wrong
            // backward rule is off by O(1). COCHLEA_TAGGER_GRAD_LOG=1 prints every parameter's error.
            var check = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, double[]>>(fx.Meta("grad_check"))!;
            double global = check.Values.Max(v => v[0]);
            var failures = new List<string>();
            double worstRatio = 0;
            foreach (var (name, p) in model.NamedParameters())
            {
                Assert.That(p.Grad, Is.Not.Null, $"{name}: no gradient");
                var g = p.Grad!.ToArray();
                var want = fx.Floats("grad." + name);
                int stride = Math.Max(1, g.Length / 16);
                double rel = Math.Max(2e-2, 4 * check[name][1]), scale = Math.Max(check[name][0], 1e-3 * global);
                double err = Enumerable.Range(0, want.Length).Max(i => Math.Abs((double)g[i * stride] - want[i]));
                double norm = Math.Sqrt(g.Sum(v => (double)v * v)), wantNorm = fx.Doubles("gradnorm." + name)[0];
                double normErr = Math.Abs(norm - wantNorm) / Math.Max(wantNorm, 1e-3 * global);
                double ratio = Math.Max(err / scale, normErr) / rel;
                worstRatio = Math.Max(worstRatio, ratio);
                if (Environment.GetEnvironmentVariable("COCHLEA_TAGGER_GRAD_LOG") == "1")
                    TestContext.Out.WriteLine($"  {name}: |err| {err:E2}, own max {want.Max(v => Math.Abs(v)):E2}, norm err {normErr:E2}, torch f32 {check[name][1]:E1}");
                if (!(ratio <= 1)) failures.Add($"{name}: |err| {err:E2} of scale {scale:G3}, norm error {normErr:E2}, allowed {rel:E1} (torch f32: {check[name][1]:E1})");
            }
            TestContext.Out.WriteLine($"{kind} gradients: worst error / tolerance {worstRatio:F3}");
            Assert.That(failures, Is.Empty, "gradients off:\n" + string.Join("\n", failures));
        }
        finally
        {
            model.ZeroGrad();
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void TorchvisionStateDictImportsIntoTheBackbone(string fixture, TaggerBackbone kind)
    {
        using var fx = ModelFixture.Open(fixture);
        using var model = Build(fx, kind);
        using var scope = Tensor.Scope();
        // A torchvision-named state_dict with distinct values per entry (torchvision's own names and shapes, from the fixture).
        var tv = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        int k = 0;
        foreach (var (name, shape) in fx.MetaShapes("torchvision_shapes"))
        {
            tv[name] = name.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? Tensor.FromArray(new long[] { 7 }, shape)
                : Tensor.FromArray(Procedural.Uniform(1000 + k, Math.Max(1, shape.Aggregate(1, (a, b) => a * b))).Select(u => (float)u).ToArray(), shape);
            k++;
        }
        var head = model.StateDict().Where(kv => !kv.Key.StartsWith("backbone.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var skipped = TorchvisionImport.Load(model, kind, tv);
        Assert.That(skipped, Is.Not.Empty.And.All.Matches<string>(n => n!.StartsWith("fc.", StringComparison.Ordinal) || n.StartsWith("classifier.", StringComparison.Ordinal) || n.StartsWith("AuxLogits.", StringComparison.Ordinal)),
            "only the ImageNet classifier is skipped");
        var sd = model.StateDict();
        foreach (var (name, t) in tv)
        {
            var to = TorchvisionImport.TaggerName(kind, name);
            if (to is null || t.DType != DType.Float32) continue;
            Assert.That(sd[to].ToArray(), Is.EqualTo(t.ToArray()), $"{name} -> {to}");
        }
        foreach (var (name, values) in head) Assert.That(sd[name].ToArray(), Is.EqualTo(values), $"head entry {name} unchanged");
    }
}

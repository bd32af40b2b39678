// Golden tests of FreesoundCnn against the PyTorch reference (../shared/reference/models.py), with the fixture made by
// tests/fixtures/make_freesound_fixtures.py: the document's sizes (41 classes), batch (3, 8000); torch's whole
// state_dict loaded by name (strict), the STFT features, eval logits, train-mode logits (dropout disabled), BN buffers
// after that forward, every parameter's gradient, and the eval logits of the shortest clip the model takes.
// Tolerances are |err| <= atol + rtol * |expected| against torch's float64 result.
using Cochlea.Models.Tagging;
using Cochlea.Nn;
using Cochlea.Tests.Fixtures;
using NUnit.Framework;

namespace Cochlea.Tests.Models;

[Category("Models")]
public class FreesoundCnnGoldenTests
{
    const string Fixture = "freesound_cnn";
    const double LogitAtol = 1e-4, LogitRtol = 0;          // the brief: logits within 1e-4
    const double GradAtol = 1e-4, GradRtol = 1e-3;
    const double StatAtol = 1e-5, StatRtol = 1e-4;

    static FreesoundCnn Load(ModelFixture fx, int seed = 7)
    {
        var model = new FreesoundCnn((int)fx.MetaInt("num_classes"), seed: seed);   // a different init, overwritten by the load
        using var scope = Tensor.Scope();
        model.LoadStateDict(fx.WithPrefix("state."), strict: true);
        return model;
    }

    static void TrainWithoutDropout(Module model)
    {
        model.Train();
        foreach (var (_, m) in model.NamedModules())
            if (m is Dropout) m.Eval();
    }

    [Test]
    public void StateDictNamesOrderShapesAndCountMatchTorch()
    {
        using var fx = ModelFixture.Open(Fixture);
        using var model = new FreesoundCnn((int)fx.MetaInt("num_classes"));
        var sd = model.StateDict();
        Assert.That(sd.Keys, Is.EqualTo(fx.MetaStrings("state_dict_keys")), "state_dict keys and their order");
        foreach (var (name, t) in sd)
            Assert.That(t.ShapeArray, Is.EqualTo(fx.Shape("state." + name)), $"shape of {name}");
        Assert.That(model.ParameterCount, Is.EqualTo(fx.MetaInt("param_count")));
        Assert.That(sd["window"].ToArray(), Is.EqualTo(fx.Floats("state.window")).Within(3e-7), "periodic Hann 400, as torch.hann_window (torch computes it in float32: 1 ulp apart)");
    }

    [Test]
    public void FeaturesMatchTorch()
    {
        using var fx = ModelFixture.Open(Fixture);
        using var model = Load(fx);
        using var scope = Tensor.Scope();
        using var ng = Tensor.NoGrad();
        var x = fx.ToTensor("input").Slice(0, 0, 1);
        var f = model.Features(x);
        Assert.That(f.ShapeArray, Is.EqualTo(fx.Shape("features")));
        double err = Close.Check(f.ToArray(), fx.Floats("features"), 2e-5, 1e-5, "features [log1p|X|, angle/pi]");
        TestContext.Out.WriteLine($"features max |err| {err:E2}");
    }

    [Test]
    public void EvalLogitsMatchTorch()
    {
        using var fx = ModelFixture.Open(Fixture);
        using var model = Load(fx);
        model.Eval();
        using var scope = Tensor.Scope();
        using var ng = Tensor.NoGrad();
        var logits = model.Forward(fx.ToTensor("input"));
        Assert.That(logits.ShapeArray, Is.EqualTo(fx.Shape("eval.logits")));
        double err = Close.Check(logits.ToArray(), fx.Floats("eval.logits"), LogitAtol, LogitRtol, "eval logits");
        var shortLogits = model.Forward(fx.ToTensor("short.input"));
        double errShort = Close.Check(shortLogits.ToArray(), fx.Floats("short.eval.logits"), LogitAtol, LogitRtol, "eval logits of a 1520-sample clip");
        TestContext.Out.WriteLine($"eval logits max |err| {err:E2}; shortest clip {errShort:E2}");
    }

    [Test]
    public void TrainForwardBuffersAndGradientsMatchTorch()
    {
        using var fx = ModelFixture.Open(Fixture);
        using var model = Load(fx);
        TrainWithoutDropout(model);
        using var scope = Tensor.Scope();
        var logits = model.Forward(fx.ToTensor("input"));
        double err = Close.Check(logits.ToArray(), fx.Floats("train.logits"), LogitAtol, LogitRtol, "train logits");
        foreach (var (name, buf) in model.NamedBuffers())
        {
            string key = "train.state." + name;
            Assert.That(fx.Has(key), $"torch has buffer {name}");
            if (buf.DType == DType.Int64) Assert.That(buf.ToInt64Array(), Is.EqualTo(fx.Longs(key)), name);
            else Close.Check(buf.ToArray(), fx.Floats(key), StatAtol, StatRtol, name);
        }
        logits.Backward(fx.ToTensor("g"));
        double gradErr = 0;
        var names = new List<string>();
        foreach (var (name, p) in model.NamedParameters())
        {
            names.Add(name);
            Assert.That(p.Grad, Is.Not.Null, $"{name} has a gradient");
            gradErr = Math.Max(gradErr, Close.Check(p.Grad!.ToArray(), fx.Floats("grad." + name), GradAtol, GradRtol, $"grad {name}"));
        }
        Assert.That(names, Is.EquivalentTo(fx.Names.Where(n => n.StartsWith("grad.", StringComparison.Ordinal)).Select(n => n[5..])));
        TestContext.Out.WriteLine($"train logits max |err| {err:E2}; gradients max |err| {gradErr:E2}");
    }

    [Test]
    public void TooShortClipsAreRefusedAndPaddedClipsRun()
    {
        using var model = new FreesoundCnn(5);
        model.Eval();
        using var scope = Tensor.Scope();
        using var ng = Tensor.NoGrad();
        var e = Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros(1, FreesoundCnn.MinSamples - 1)))!;
        Assert.That(e.Message, Does.Contain("PadToMinimum"));
        var empty = FreesoundCnn.PadToMinimum([]);
        Assert.That(empty, Has.Length.EqualTo(FreesoundCnn.MinSamples));
        var logits = model.Forward(Tensor.FromArray(empty, 1, empty.Length));
        Assert.That(logits.ToArray(), Has.All.Matches<float>(float.IsFinite), "an empty (all-zero) clip gives finite logits");
    }
}

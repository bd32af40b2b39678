// DeepSpeechKws, DeepSpeech and TutorialConv against the PyTorch reference classes (fixtures from
// tests/fixtures/make_speech_model_fixtures.py): torch's state_dict loads strictly by name, and the
// train-mode logits (dropout off) and every gradient agree within 1e-4.
using Cochlea.Models.Kws;
using Cochlea.Models.Speech;
using Cochlea.Nn;
using Cochlea.Tests.Fixtures;
using NUnit.Framework;

namespace Cochlea.Tests.Models;

public class SpeechModelGoldenTests
{
    static void Compare(Module model, ModelFixture fx)
    {
        Assert.That(model.StateDict().Keys, Is.EqualTo(fx.MetaStrings("state_dict_keys")), "names and order as torch");
        model.LoadStateDict(fx.WithPrefix("state."), strict: true);
        model.Train();
        foreach (var (_, m) in model.NamedModules()) if (m is Dropout) m.Eval();   // the fixture ran with dropout off
        var x = fx.ToTensor("input");
        x.RequiresGrad = true;
        var y = model.Forward(x);
        Close.Check(y.ToArray(), fx.Floats("logits"), 1e-4, 1e-3, "logits");
        fx.CheckGradients(model, x, y, "grad.input", 1e-4, 1e-3);
    }

    [Test]
    public void DeepSpeechKwsMatchesTheReference()
    {
        using var fx = ModelFixture.Open("dskws_small");
        using var scope = Tensor.Scope();
        using var model = new DeepSpeechKws(numClasses: 5, hidden: fx.MetaInts("hidden"), freqBins: 13);
        Compare(model, fx);
    }

    [Test]
    public void DeepSpeechMatchesTheReference()
    {
        using var fx = ModelFixture.Open("deepspeech_small");
        using var scope = Tensor.Scope();
        using var model = new DeepSpeech(nInput: 5, nContext: 2, nHidden: 8, nCharacter: 7);
        Compare(model, fx);
    }

    [Test]
    public void TutorialConvMatchesItsPyTorchTwin()
    {
        using var fx = ModelFixture.Open("tutorialconv_small");
        using var scope = Tensor.Scope();
        using var model = new TutorialConv(numClasses: 4, time: 24, freq: 10);
        Compare(model, fx);
    }

    [Test]
    public void FullSizeParameterCountsMatchTheDocuments()
    {
        // Computed from the reference's layer sizes: DeepSpeechKws 21 classes and DeepSpeech 2048 hidden.
        using var kws = new DeepSpeechKws();
        long denseIn = 7 * 161;
        long expectedKws = (denseIn * 1024 + 1024) + (1024 * 2048 + 2048) + (2048 * 2048 + 2048)
                           + (2048 * 1024 + 1024 + 2 * 1024 * 1024) + (1024 * 2048 + 2048) + (2048 * 21 + 21);
        Assert.That(kws.ParameterCount, Is.EqualTo(expectedKws));
    }
}

// LSTM / GRU / RNN layers against torch.nn (fixtures from tests/fixtures/make_rnn_fixtures.py):
// torch's state_dict loads by name, outputs on ragged batches (packed sequences in torch) and the
// gradients of sum(y * g) w.r.t. the input and every parameter agree within 1e-4.
using Cochlea.Nn;
using Cochlea.Tests.Fixtures;
using NUnit.Framework;

namespace Cochlea.Tests.Models;

public class RecurrentGoldenTests
{
    static IEnumerable<string> Cases() => ["lstm_bidir_2layer", "lstm_uni_full", "gru_bidir", "gru_2layer", "rnn_relu_bidir", "rnn_tanh_2layer"];

    [TestCaseSource(nameof(Cases))]
    public void MatchesTorch(string name)
    {
        using var fx = ModelFixture.Open(name, "rnn");
        using var scope = Tensor.Scope();
        int inF = (int)fx.MetaInt("input_size"), hid = (int)fx.MetaInt("hidden_size"), layers = (int)fx.MetaInt("num_layers");
        bool bidir = fx.Meta("bidirectional") == "true";
        using RecurrentLayers m = fx.Meta("kind") switch
        {
            "lstm" => new Lstm(inF, hid, layers, bidirectional: bidir),
            "gru" => new Gru(inF, hid, layers, bidirectional: bidir),
            _ => new Rnn(inF, hid, layers, relu: fx.Meta("nonlinearity") == "relu", bidirectional: bidir),
        };
        Assert.That(m.StateDict().Keys, Is.EqualTo(fx.MetaStrings("keys")), "parameter names and order as torch");
        m.LoadStateDict(fx.WithPrefix("param."), strict: true);

        var x = fx.ToTensor("x");
        x.RequiresGrad = true;
        var lengths = fx.Longs("lengths").Select(v => (int)v).ToArray();
        var y = m.Forward(x, lengths);
        Close.Check(y.ToArray(), fx.Floats("y"), 1e-5, 1e-4, "output");
        fx.CheckGradients(m, x, y, "dx", 1e-5, 1e-4);
    }

    [Test]
    public void PaddingNeverLeaksIntoTheState()
    {
        // The same sequence alone and inside a longer, noise-padded batch gives the same outputs.
        using var scope = Tensor.Scope();
        using var lstm = new Lstm(3, 4, bidirectional: true, rng: new Random(3));
        var rng = new Random(9);
        var seq = Tensor.Randn(rng, 1f, 5, 1, 3);
        var alone = lstm.Forward(seq, [5]).ToArray();
        var padded = Tensor.Randn(rng, 1f, 9, 2, 3);
        using (Tensor.NoGrad()) seq.CopyTo(padded.Slice(0, 0, 5).Slice(1, 0, 1));
        var both = lstm.Forward(padded, [5, 9]);
        var first = both.Slice(1, 0, 1).Slice(0, 0, 5).ToArray();
        Assert.That(first, Is.EqualTo(alone).Within(1e-6));
        Assert.That(both.Slice(1, 0, 1).Slice(0, 5, 9).ToArray(), Is.All.EqualTo(0f), "outputs past the length are zero");
    }
}

// Tests of the Module base and the basic layers: PyTorch names and order, parameter
// lifetime across scopes, strict state-dict loading, modes, printing, Linear's init, and a
// torch-made state_dict (tests/fixtures/nn, from make_optim_fixtures.py) giving torch's outputs.
using Cochlea.Checkpoints;
using Cochlea.IO;
using Cochlea.Memory;
using Cochlea.Nn;
using NUnit.Framework;

namespace Cochlea.Tests.Nn;

[Category("Nn")]
public class ModuleTests
{
    // A model with every kind of entry: own parameter, own buffers (one non-persistent), named children, a Sequential.
    sealed class Net : Module
    {
        public readonly Tensor Alpha;
        public readonly Linear Fc1;
        public readonly Sequential Blocks;

        public Net(int seed = 3)
        {
            var rng = new Random(seed);
            using (TensorScope.Suspend())
            {
                Alpha = RegisterParameter("alpha", Tensor.Full(0.5f, 1));
                RegisterBuffer("scale", Tensor.Full(2f, 4));
                RegisterBuffer("cache", Tensor.Zeros(3), persistent: false);
            }
            Fc1 = RegisterModule("fc1", new Linear(4, 6, rng: rng));
            Blocks = RegisterModule("blocks", new Sequential(new Linear(6, 5, rng: rng), new Relu(), new Linear(5, 2, bias: false, rng: rng)));
        }

        public override Tensor Forward(Tensor x) => Blocks.Forward(Fc1.Forward(x) * Alpha);
    }

    [Test]
    public void StateDictHasPyTorchNamesAndOrder()
    {
        using var net = new Net();
        // PyTorch order: per module in pre-order, own parameters, then own persistent buffers, then children.
        Assert.That(net.StateDict().Keys, Is.EqualTo(new[]
        {
            "alpha", "scale", "fc1.weight", "fc1.bias", "blocks.0.weight", "blocks.0.bias", "blocks.2.weight",
        }));
        Assert.That(net.NamedParameters().Select(p => p.Name), Is.EqualTo(new[]
        {
            "alpha", "fc1.weight", "fc1.bias", "blocks.0.weight", "blocks.0.bias", "blocks.2.weight",
        }));
        Assert.That(net.NamedBuffers().Select(p => p.Name), Is.EqualTo(new[] { "scale", "cache" }));
        Assert.That(net.NamedModules().Select(m => m.Name), Is.EqualTo(new[] { "", "fc1", "blocks", "blocks.0", "blocks.1", "blocks.2" }));
        Assert.That(net.ParameterCount, Is.EqualTo(1 + 24 + 6 + 30 + 5 + 10));
        Assert.That(net.Parameters().All(p => p.RequiresGrad), Is.True);
        Assert.That(net.NamedBuffers().All(b => !b.Tensor.RequiresGrad), Is.True);
    }

    [Test]
    public void ParametersSurviveTheScopeTheModuleWasBuiltIn()
    {
        Net net;
        using (Tensor.Scope()) net = new Net();
        using (net)
        using (Tensor.Scope())
        {
            Assert.That(net.Parameters().Any(p => p.IsDisposed), Is.False);
            var y = net.Forward(Tensor.Ones(3, 4));
            Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 3, 2 }));
        }
    }

    [Test]
    public void RegisteringATensorMadeInsideAScopeKeepsIt()
    {
        using var scope = Tensor.Scope();
        var inner = Tensor.Scope();
        var holder = new Holder(Tensor.Ones(2));
        inner.Dispose();
        Assert.That(holder.P.IsDisposed, Is.False, "RegisterParameter must take the tensor out of its scope");
        holder.Dispose();
        Assert.That(holder.P.IsDisposed, Is.True);
    }

    sealed class Holder : Module
    {
        public readonly Tensor P;
        public Holder(Tensor p) => P = RegisterParameter("p", p);
        public override Tensor Forward(Tensor x) => x * P;
    }

    sealed class Tied : Module
    {
        public Tied(Tensor shared)
        {
            RegisterModule("enc", new Holder(shared));
            RegisterModule("dec", new Holder(shared));
        }
        public override Tensor Forward(Tensor x) => x;
    }

    [Test]
    public void TiedParametersAreListedOnceButSavedUnderBothNames()
    {
        Tensor shared;
        using (TensorScope.Suspend()) shared = Tensor.Ones(3);
        using var m = new Tied(shared);
        Assert.That(m.NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "enc.p" }));
        Assert.That(m.StateDict().Keys, Is.EqualTo(new[] { "enc.p", "dec.p" }));
        using var opt = new Cochlea.Optim.Adam(m.Parameters());  // would reject a parameter listed twice
        Assert.That(m.ParameterCount, Is.EqualTo(3));
    }

    [Test]
    public void BadNamesAreRejected()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => new BadName("w.x"))!.Message, Does.Contain("'.'"));
        var e = Assert.Throws<ArgumentException>(() => new BadName("dup", twice: true))!;
        Assert.That(e.Message, Does.Contain("'dup'").And.Contain("already used"));
        Assert.Throws<ArgumentException>(() => new BadName(""));
    }

    sealed class BadName : Module
    {
        public BadName(string name, bool twice = false)
        {
            using var _ = TensorScope.Suspend();
            RegisterParameter(name, Tensor.Zeros(1));
            if (twice) RegisterBuffer(name, Tensor.Zeros(1));
        }
        public override Tensor Forward(Tensor x) => x;
    }

    [Test]
    public void ParameterMustBeAFloatLeaf()
    {
        var a = Tensor.Ones(2); a.RequiresGrad = true;
        using var y = a * 2f;
        var e = Assert.Throws<ArgumentException>(() => new Holder(y))!;
        Assert.That(e.Message, Does.Contain("leaf"));
        Assert.Throws<ArgumentException>(() => new Holder(Tensor.FromArray(new long[] { 1, 2 })));
        a.Dispose();
    }

    [Test]
    public void LoadStateDictCopiesValuesByName()
    {
        using var a = new Net(seed: 1);
        using var b = new Net(seed: 2);
        Assert.That(b.Fc1.Weight.ToArray(), Is.Not.EqualTo(a.Fc1.Weight.ToArray()));
        var weightBefore = b.Fc1.Weight;
        var r = b.LoadStateDict(a.StateDict());
        Assert.That(r.MissingKeys, Is.Empty);
        Assert.That(r.UnexpectedKeys, Is.Empty);
        Assert.That(b.Fc1.Weight, Is.SameAs(weightBefore), "loading copies into the existing tensors");
        foreach (var (name, t) in a.StateDict())
            Assert.That(b.StateDict()[name].ToArray(), Is.EqualTo(t.ToArray()), name);
    }

    [Test]
    public void StrictLoadNamesMissingAndUnexpectedKeysAndChangesNothing()
    {
        using var a = new Net(seed: 1);
        using var b = new Net(seed: 2);
        var before = b.Fc1.Weight.ToArray();
        var sd = new Dictionary<string, Tensor>(a.StateDict());
        sd.Remove("fc1.bias");
        using var extra = Tensor.Zeros(2);
        sd["fc9.weight"] = extra;
        var e = Assert.Throws<StateDictMismatchException>(() => b.LoadStateDict(sd))!;
        Assert.That(e.Message, Does.Contain("Missing key(s): \"fc1.bias\"").And.Contain("Unexpected key(s): \"fc9.weight\""));
        Assert.That(e.MissingKeys, Is.EqualTo(new[] { "fc1.bias" }));
        Assert.That(e.UnexpectedKeys, Is.EqualTo(new[] { "fc9.weight" }));
        Assert.That(b.Fc1.Weight.ToArray(), Is.EqualTo(before), "a failed load must not change the module");

        var r = b.LoadStateDict(sd, strict: false);
        Assert.That(r.MissingKeys, Is.EqualTo(new[] { "fc1.bias" }));
        Assert.That(r.UnexpectedKeys, Is.EqualTo(new[] { "fc9.weight" }));
        Assert.That(b.Fc1.Weight.ToArray(), Is.EqualTo(a.Fc1.Weight.ToArray()));
    }

    [Test]
    public void ShapeMismatchFailsEvenWhenNotStrict()
    {
        using var a = new Net();
        var sd = new Dictionary<string, Tensor>(a.StateDict());
        using var wrong = Tensor.Zeros(6, 5);
        sd["fc1.weight"] = wrong;
        var e = Assert.Throws<StateDictMismatchException>(() => a.LoadStateDict(sd, strict: false))!;
        Assert.That(e.Message, Does.Contain("size mismatch for fc1.weight").And.Contain("(6, 5)").And.Contain("(6, 4)"));
    }

    [Test]
    public void TrainAndEvalPropagateToEveryDescendant()
    {
        using var net = new Net();
        Assert.That(net.NamedModules().All(m => m.Module.IsTraining), Is.True);
        net.Eval();
        Assert.That(net.NamedModules().All(m => !m.Module.IsTraining), Is.True);
        net.Train();
        Assert.That(net.NamedModules().All(m => m.Module.IsTraining), Is.True);
    }

    [Test]
    public void ZeroGradClearsOrZeroFills()
    {
        using var net = new Net();
        using (Tensor.Scope())
        {
            var y = net.Forward(Tensor.Ones(3, 4));
            y.Sum().Backward();
        }
        Assert.That(net.Parameters().All(p => p.Grad is not null && !p.Grad.IsDisposed), Is.True, "gradients outlive the step scope");
        net.ZeroGrad(setToNone: false);
        Assert.That(net.Parameters().All(p => p.Grad!.ToArray().All(v => v == 0)), Is.True);
        var g = net.Fc1.Weight.Grad!;
        net.ZeroGrad();
        Assert.That(net.Parameters().All(p => p.Grad is null), Is.True);
        Assert.That(g.IsDisposed, Is.True);
    }

    [Test]
    public void DisposeReturnsParameterMemoryToThePool()
    {
        long before = CpuBufferPool.Shared.Stats.BytesInUse;
        var net = new Net();
        Assert.That(CpuBufferPool.Shared.Stats.BytesInUse, Is.GreaterThan(before));
        net.Dispose();
        net.Dispose();  // idempotent
        Assert.That(CpuBufferPool.Shared.Stats.BytesInUse, Is.EqualTo(before));
        Assert.That(net.IsDisposed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => net.StateDict());
    }

    [Test]
    public void ToStringIsPyTorchLike()
    {
        using var m = new Sequential(new Linear(3, 5), new Relu(), new Flatten());
        Assert.That(m.ToString(), Is.EqualTo(
            "Sequential(\n  (0): Linear(in_features=3, out_features=5, bias=True)\n  (1): Relu()\n  (2): Flatten(start_dim=1, end_dim=-1)\n)"));
    }

    [Test]
    public void LinearInitIsPyTorchsKaimingUniform()
    {
        using var a = new Linear(400, 256, rng: new Random(5));
        using var b = new Linear(400, 256, rng: new Random(5));
        using var c = new Linear(400, 256, rng: new Random(6));
        var w = a.Weight.ToArray();
        var bias = a.Bias!.ToArray();
        float bound = 1f / MathF.Sqrt(400);
        Assert.That(w.Concat(bias).All(v => MathF.Abs(v) <= bound), Is.True);
        // U(-b, b): mean 0, variance b^2 / 3.
        double mean = w.Average(v => (double)v), var = w.Average(v => (double)v * v);
        Assert.That(mean, Is.EqualTo(0).Within(0.01 * bound));
        Assert.That(var, Is.EqualTo(bound * bound / 3.0).Within(0.02 * bound * bound));
        Assert.That(b.Weight.ToArray(), Is.EqualTo(w), "same seed, same weights");
        Assert.That(c.Weight.ToArray(), Is.Not.EqualTo(w));
        Assert.That(a.Weight.Shape.ToArray(), Is.EqualTo(new[] { 256, 400 }));
    }

    [Test]
    public void LinearForwardAndGradient()
    {
        using var lin = new Linear(3, 2, rng: new Random(1));
        using var scope = Tensor.Scope();
        var x = Tensor.FromArray([1f, 2f, 3f, -1f, 0f, 1f], 2, 3);
        var y = lin.Forward(x);
        var w = lin.Weight.ToArray(); var b = lin.Bias!.ToArray();
        for (int r = 0; r < 2; r++)
            for (int o = 0; o < 2; o++)
            {
                float e = b[o];
                for (int i = 0; i < 3; i++) e += x[r, i] * w[o * 3 + i];
                Assert.That(y[r, o], Is.EqualTo(e).Within(1e-5));
            }
        y.Sum().Backward();
        Assert.That(lin.Bias.Grad!.ToArray(), Is.EqualTo(new[] { 2f, 2f }));
        Assert.That(lin.Weight.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 2f, 4f, 0f, 2f, 4f }));
        lin.ZeroGrad();
    }

    [Test]
    public void LinearValidatesArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Linear(-1, 2));
        using var lin = new Linear(3, 2);
        using var x = Tensor.Zeros(2, 4);
        var e = Assert.Throws<ArgumentException>(() => lin.Forward(x))!;
        Assert.That(e.Message, Does.Contain("3 features"));
    }

    [Test]
    public void FlattenAndActivations()
    {
        using var scope = Tensor.Scope();
        var x = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => i - 12f).ToArray(), 2, 3, 4);
        Assert.That(new Flatten().Forward(x).Shape.ToArray(), Is.EqualTo(new[] { 2, 12 }));
        Assert.That(new Flatten(0).Forward(x).Shape.ToArray(), Is.EqualTo(new[] { 24 }));
        Assert.That(new Flatten(1, 1).Forward(x).Shape.ToArray(), Is.EqualTo(new[] { 2, 3, 4 }));
        Assert.That(new Relu().Forward(x).ToArray().Min(), Is.EqualTo(0f));
        Assert.That(new ReluClip(5).Forward(x).ToArray().Max(), Is.EqualTo(5f));
        Assert.That(new Tanh().Forward(x).ToArray().Max(), Is.LessThanOrEqualTo(1f));
        Assert.That(new Sigmoid().Forward(x).ToArray().Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(new Identity().Forward(x), Is.SameAs(x));
        Assert.That(new Lambda(t => t * 2f, "double").Forward(x)[1, 2, 3], Is.EqualTo(22f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReluClip(0));
    }

    [Test]
    public void ModuleListIndexesButDoesNotForward()
    {
        using var list = new ModuleList(new Linear(2, 2), new Linear(2, 3));
        Assert.That(list.Count, Is.EqualTo(2));
        Assert.That(((Linear)list[1]).OutFeatures, Is.EqualTo(3));
        Assert.That(list.StateDict().Keys, Is.EqualTo(new[] { "0.weight", "0.bias", "1.weight", "1.bias" }));
        using var x = Tensor.Zeros(1, 2);
        Assert.Throws<NotSupportedException>(() => list.Forward(x));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = list[2]);
    }

    [Test]
    public void BatchNormStateDictHasTorchsNamesShapesAndDtypes()
    {
        // torch: weight (C), bias (C), running_mean (C), running_var (C), num_batches_tracked int64 0-d.
        // (num_batches_tracked used to be 1-d, so a torch BN state_dict was refused as a shape mismatch.)
        using var bn = new BatchNorm1d(3);
        var sd = bn.StateDict();
        Assert.That(sd.Keys, Is.EqualTo(new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }));
        Assert.That(sd["num_batches_tracked"].ShapeArray, Is.Empty);
        Assert.That(sd["num_batches_tracked"].DType, Is.EqualTo(DType.Int64));
        Assert.That(sd["running_var"].ShapeArray, Is.EqualTo(new[] { 3 }));
    }

    [Test]
    public void TorchStateDictLoadsAndGivesTorchsOutputs()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "nn");
        using var model = new Sequential(new Linear(3, 5), new Relu(), new Linear(5, 2));
        var meta = Checkpoint.Load(model, null, Path.Combine(dir, "torch_mlp.safetensors"));
        Assert.That(meta["producer"], Is.EqualTo("make_optim_fixtures.py"), "the caller's metadata comes back; reserved keys (format) do not");
        Assert.That(meta.ContainsKey("format"), Is.False);
        using var io = SafeTensorsFile.Open(Path.Combine(dir, "torch_mlp_io.safetensors"));
        using var scope = Tensor.Scope();
        var x = Tensor.FromArray(io.ReadFloat32("x"), io.GetInfo("x").ShapeInt32);
        var expected = io.ReadFloat32("y");
        using var ng = Tensor.NoGrad();
        var y = model.Forward(x).ToArray();
        Assert.That(y.Length, Is.EqualTo(expected.Length));
        for (int i = 0; i < y.Length; i++) Assert.That(y[i], Is.EqualTo(expected[i]).Within(1e-5), $"y[{i}]");

        // The same file into a module with other names fails strictly and says which keys.
        using var other = new Sequential(new Linear(3, 5), new Linear(5, 2));
        var e = Assert.Throws<StateDictMismatchException>(() => Checkpoint.Load(other, null, Path.Combine(dir, "torch_mlp.safetensors")))!;
        Assert.That(e.MissingKeys, Is.EqualTo(new[] { "1.weight", "1.bias" }));
        Assert.That(e.UnexpectedKeys, Is.EqualTo(new[] { "2.bias", "2.weight" }));
    }
}

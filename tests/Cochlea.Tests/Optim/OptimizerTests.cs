// Optimizer tests: golden runs of torch.optim SGD/Adam/AdamW/RMSprop (tests/fixtures/optim, made by
// make_optim_fixtures.py) replayed step by step, TF-style RMSprop against its closed form, state
// save/restore, validation, schedules against closed forms, and global-norm clipping.
using System.Text.Json;
using Cochlea.IO;
using Cochlea.Optim;
using NUnit.Framework;

namespace Cochlea.Tests.Optim;

[Category("Optim")]
public class OptimizerFixtureTests
{
    static string Folder => Path.Combine(AppContext.BaseDirectory, "fixtures", "optim");

    public static IEnumerable<string> Cases() =>
        Directory.Exists(Folder) ? Directory.GetFiles(Folder, "*.safetensors").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal) : [];

    [Test]
    public void FixturesArePresent() => Assert.That(Cases().Count(), Is.GreaterThanOrEqualTo(15), $"optimizer fixtures missing from {Folder}");

    static Optimizer Make(string type, JsonElement h, Tensor[] ps)
    {
        float F(string k, float d) => h.TryGetProperty(k, out var v) ? v.GetSingle() : d;
        bool B(string k) => h.TryGetProperty(k, out var v) && v.GetBoolean();
        float lr = F("lr", float.NaN);
        (float b1, float b2) = h.TryGetProperty("betas", out var bt) ? (bt[0].GetSingle(), bt[1].GetSingle()) : (0.9f, 0.999f);
        return type switch
        {
            "SGD" => new Sgd(ps, lr, F("momentum", 0), F("dampening", 0), F("weight_decay", 0), B("nesterov")),
            "Adam" => new Adam(ps, lr, b1, b2, F("eps", 1e-8f), F("weight_decay", 0), B("amsgrad")),
            "AdamW" => new AdamW(ps, lr, b1, b2, F("eps", 1e-8f), F("weight_decay", 1e-2f), B("amsgrad")),
            "RMSprop" => new RmsProp(ps, lr, F("alpha", 0.99f), F("eps", 1e-8f), F("weight_decay", 0), F("momentum", 0), B("centered")),
            _ => throw new ArgumentException(type),
        };
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesTorch(string name)
    {
        using var f = SafeTensorsFile.Open(Path.Combine(Folder, name + ".safetensors"));
        using var doc = JsonDocument.Parse(f.Metadata["hyper"]);
        int steps = int.Parse(f.Metadata["steps"], System.Globalization.CultureInfo.InvariantCulture);
        var lrs = f.ReadFloat64("lr");
        using var scope = Tensor.Scope();
        Tensor Read(string n) => Tensor.FromArray(f.ReadFloat32(n), f.GetInfo(n).ShapeInt32);
        var ps = new[] { Read("p0"), Read("p1") };
        foreach (var p in ps) p.RequiresGrad = true;
        using var opt = Make(f.Metadata["optimizer"], doc.RootElement, ps);
        double worst = 0;
        for (int k = 0; k < steps; k++)
        {
            opt.ZeroGrad();
            for (int i = 0; i < ps.Length; i++)
                ps[i].Grad = f.Contains($"g{k}_{i}") ? Read($"g{k}_{i}") : null;
            opt.LearningRate = (float)lrs[k];
            opt.Step();
            for (int i = 0; i < ps.Length; i++)
            {
                var got = ps[i].ToArray();
                var want = f.ReadFloat32($"out{k}_{i}");
                for (int j = 0; j < got.Length; j++) worst = Math.Max(worst, Math.Abs(got[j] - want[j]));
                for (int j = 0; j < got.Length; j++)
                    Assert.That(got[j], Is.EqualTo(want[j]).Within(1e-6 + 1e-6 * Math.Abs(want[j])), $"{name}: step {k}, parameter {i}, element {j}");
            }
        }
        Assert.That(opt.StepCount, Is.EqualTo(steps));
        TestContext.Out.WriteLine($"{name}: max |cochlea - torch| over {steps} steps = {worst:E2}");
    }
}

[Category("Optim")]
public class OptimizerTests
{
    static Tensor Param(params float[] v)
    {
        using var _ = TensorScope.Suspend();
        var t = Tensor.FromArray(v, v.Length);
        t.RequiresGrad = true;
        return t;
    }

    static void SetGrad(Tensor p, params float[] g)
    {
        p.Grad?.Dispose();
        using var _ = TensorScope.Suspend();
        p.Grad = Tensor.FromArray(g, g.Length);
    }

    // The shared loop runs vectors, a zero-padded tail and (for large tensors) threads; the update is elementwise,
    // so one big parameter and the same values cut into odd-sized pieces must give identical bits.
    [Test]
    public void OneBigParameterEqualsTheSameValuesInOddPieces([Values("sgd", "adam", "adamw", "rmsprop", "rmsprop_tf")] string kind)
    {
        const int n = 200_003;
        static Optimizer Make(string kind, IEnumerable<Tensor> ps) => kind switch
        {
            "sgd" => new Sgd(ps, 0.1f, momentum: 0.9f, nesterov: true, weightDecay: 0.01f),
            "adam" => new Adam(ps, 0.01f, weightDecay: 0.1f, amsgrad: true),
            "adamw" => new AdamW(ps, 0.01f),
            "rmsprop" => new RmsProp(ps, 0.01f, momentum: 0.9f, centered: true, weightDecay: 0.01f),
            _ => new RmsProp(ps, 0.01f, alpha: 0.9f, eps: 1e-10f, centered: true, tfStyle: true),
        };
        var rng = new Random(4);
        var init = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var sizes = new List<int> { 0 };
        for (int at = 0, k = 1; at < n; k = k % 17 + 1) { int len = Math.Min(k, n - at); sizes.Add(len); at += len; }
        using var big = Param(init);
        var pieces = new List<Tensor>();
        for (int i = 0, at = 0; i < sizes.Count; at += sizes[i], i++) pieces.Add(Param(init[at..(at + sizes[i])]));
        using var o1 = Make(kind, [big]);
        using var o2 = Make(kind, pieces);
        for (int step = 0; step < 3; step++)
        {
            var g = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            SetGrad(big, g);
            for (int i = 0, at = 0; i < sizes.Count; at += sizes[i], i++) SetGrad(pieces[i], g[at..(at + sizes[i])]);
            o1.Step(); o2.Step();
        }
        var joined = pieces.SelectMany(p => p.ToArray()).ToArray();
        Assert.That(joined, Is.EqualTo(big.ToArray()));
        Assert.That(joined, Is.Not.EqualTo(init));
        o2.ZeroGrad(); o1.ZeroGrad();
        foreach (var p in pieces) p.Dispose();
    }

    [Test]
    public void TfStyleRmsPropMatchesItsClosedForm([Values] bool centered)
    {
        using var p = Param(1f, -2f);
        using var opt = new RmsProp([p], lr: 0.01f, alpha: 0.9f, eps: 1e-10f, momentum: 0.5f, centered: centered, tfStyle: true);
        double[] x = [1, -2], ms = [1, 1], mg = [0, 0], mom = [0, 0];
        float[][] grads = [[0.3f, -1.5f], [0.1f, 2f], [-0.4f, 0.7f]];
        foreach (var g in grads)
        {
            SetGrad(p, g);
            opt.Step();
            for (int j = 0; j < 2; j++)
            {
                // tf.train.RMSPropOptimizer: ms starts at 1, eps inside the root, lr inside the momentum.
                ms[j] = 0.9 * ms[j] + 0.1 * g[j] * g[j];
                mg[j] = 0.9 * mg[j] + 0.1 * g[j];
                double denom = centered ? ms[j] - mg[j] * mg[j] + 1e-10 : ms[j] + 1e-10;
                mom[j] = 0.5 * mom[j] + 0.01 * g[j] / Math.Sqrt(denom);
                x[j] -= mom[j];
            }
            Assert.That(p.ToArray().Select(v => (double)v), Is.EqualTo(x).Within(1e-6));
        }
        Assert.That(opt.StateSlots, Is.EqualTo(centered ? new[] { "square_avg", "momentum_buffer", "grad_avg" } : new[] { "square_avg", "momentum_buffer" }));
    }

    [Test]
    public void ParametersWithoutGradientsAreSkipped()
    {
        using var a = Param(1f); using var b = Param(1f);
        using var opt = new Adam([a, b], lr: 0.1f);
        SetGrad(a, 1f);
        opt.Step();
        Assert.That(a.ToArray()[0], Is.EqualTo(0.9f).Within(1e-6));
        Assert.That(b.ToArray()[0], Is.EqualTo(1f));
        var st = opt.StateDict();
        Assert.That(st.ParameterSteps, Is.EqualTo(new long[] { 1, 0 }));
        Assert.That(st.Tensors.Keys, Is.EqualTo(new[] { "0.exp_avg", "0.exp_avg_sq" }));
        Assert.That(st.Type, Is.EqualTo("Adam"));
        Assert.That(st.Hyperparameters["betas.1"], Is.EqualTo(0.999).Within(1e-7));
    }

    [Test]
    public void StateRoundTripsIntoAFreshOptimizerBitExactly()
    {
        using var a = Param(1f, 2f, 3f); using var b = Param(1f, 2f, 3f);
        using var o1 = new Adam([a], lr: 0.05f, amsgrad: true);
        using var o2 = new Adam([b], lr: 0.001f, amsgrad: true);
        float[][] gs = [[0.1f, -0.2f, 0.3f], [0.5f, 0.1f, -0.7f], [0.2f, 0.2f, 0.2f], [-1f, 0.4f, 0.1f]];
        for (int k = 0; k < 2; k++) { SetGrad(a, gs[k]); SetGrad(b, gs[k]); o1.Step(); o2.Step(); }
        // b took different steps (other lr); overwrite its parameter and state with a's, then both continue.
        a.CopyTo(b);
        o2.LoadState(o1.StateDict());
        Assert.That(o2.LearningRate, Is.EqualTo(0.05f));
        Assert.That(o2.StepCount, Is.EqualTo(2));
        for (int k = 2; k < 4; k++) { SetGrad(a, gs[k]); SetGrad(b, gs[k]); o1.Step(); o2.Step(); }
        Assert.That(b.ToArray(), Is.EqualTo(a.ToArray()));
    }

    [Test]
    public void LoadStateRejectsStateThatDoesNotFit()
    {
        using var a = Param(1f, 2f); using var c = Param(1f, 2f, 3f);
        using var adam = new Adam([a]);
        SetGrad(a, 1f, 1f);
        adam.Step();
        var st = adam.StateDict();
        using var sgd = new Sgd([a], 0.1f, momentum: 0.9f);
        Assert.That(Assert.Throws<ArgumentException>(() => sgd.LoadState(st))!.Message, Does.Contain("saved by Adam"));
        using var other = new Adam([c]);
        Assert.That(Assert.Throws<ArgumentException>(() => other.LoadState(st))!.Message, Does.Contain("'0.exp_avg'").And.Contain("(3,)"));
        using var ams = new Adam([a], amsgrad: true);
        Assert.That(Assert.Throws<ArgumentException>(() => ams.LoadState(st))!.Message, Does.Contain("missing state tensor '0.max_exp_avg_sq'"));
        using var two = new Adam([Param(1f, 2f), Param(3f)]);
        Assert.That(Assert.Throws<ArgumentException>(() => two.LoadState(st))!.Message, Does.Contain("1 parameters"));
        foreach (var p in two.Parameters) p.Dispose();
    }

    [Test]
    public void ConstructorsValidate()
    {
        using var p = Param(1f);
        Assert.That(Assert.Throws<ArgumentException>(() => new Adam([]))!.Message, Does.Contain("empty parameter list"));
        Assert.That(Assert.Throws<ArgumentException>(() => new Sgd([p, p], 0.1f))!.Message, Does.Contain("more than once"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], beta1: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd([p], -0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp([p], alpha: 1.5f));
        Assert.That(Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1f, nesterov: true))!.Message, Does.Contain("Nesterov"));
        using var opt = new Sgd([p], 0.1f);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.LearningRate = float.NaN);
        SetGrad(p, 1f, 2f);
        Assert.That(Assert.Throws<InvalidOperationException>(() => opt.Step())!.Message, Does.Contain("shape (1,)"));
        p.Grad!.Dispose(); p.Grad = null;
    }

    [Test]
    public void ZeroGradDisposesOrZeroFills()
    {
        using var p = Param(1f, 2f);
        using var opt = new Sgd([p], 0.1f);
        SetGrad(p, 3f, 4f);
        opt.ZeroGrad(setToNone: false);
        Assert.That(p.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 0f }));
        var g = p.Grad;
        opt.ZeroGrad();
        Assert.That(p.Grad, Is.Null);
        Assert.That(g.IsDisposed, Is.True);
    }

    [Test]
    public void DisposeFreesState()
    {
        using var p = Param(new float[1000]);
        long before = Memory.CpuBufferPool.Shared.Stats.BytesInUse;
        var opt = new Adam([p]);
        SetGrad(p, new float[1000]);
        long withGrad = Memory.CpuBufferPool.Shared.Stats.BytesInUse;
        opt.Step();
        Assert.That(Memory.CpuBufferPool.Shared.Stats.BytesInUse, Is.GreaterThan(withGrad));
        opt.ZeroGrad();
        opt.Dispose();
        Assert.That(Memory.CpuBufferPool.Shared.Stats.BytesInUse, Is.EqualTo(before));
    }

    [Test]
    public void ScheduleDrivesTheLearningRateFromTheStepCount()
    {
        using var p = Param(0f);
        using var opt = new Sgd([p], 1f) { Schedule = new StepLR(1f, 2, 0.5f) };
        var seen = new List<float>();
        for (int k = 0; k < 5; k++) { SetGrad(p, 1f); opt.Step(); seen.Add(opt.LearningRate); }
        Assert.That(seen, Is.EqualTo(new[] { 1f, 1f, 0.5f, 0.5f, 0.25f }));
        Assert.That(p.ToArray()[0], Is.EqualTo(-3.25f));
    }
}

[Category("Optim")]
public class ScheduleTests
{
    [Test]
    public void ExponentialDecayIsTfExponentialDecay()
    {
        var s = new ExponentialDecay(0.1f, 0.5f, 10);
        Assert.That(s.At(0), Is.EqualTo(0.1f));
        Assert.That(s.At(5), Is.EqualTo((float)(0.1f * Math.Pow(0.5f, 0.5))).Within(1e-9));
        Assert.That(s.At(25), Is.EqualTo((float)(0.1f * Math.Pow(0.5f, 2.5))).Within(1e-9));
        var st = new ExponentialDecay(0.1f, 0.5f, 10, staircase: true);
        Assert.That(st.At(9), Is.EqualTo(0.1f));
        Assert.That(st.At(10), Is.EqualTo(0.05f));
        Assert.That(st.At(29), Is.EqualTo(0.025f));
        // FreesoundCnn's schedule: 0.99 per 10k steps.
        Assert.That(new ExponentialDecay(3e-4f, 0.99f, 10_000).At(50_000), Is.EqualTo((float)(3e-4f * Math.Pow(0.99f, 5))).Within(1e-12));
    }

    [Test]
    public void StepLRDropsEveryStepSize()
    {
        var s = new StepLR(1f, 3, 0.1f);
        Assert.That(Enumerable.Range(0, 8).Select(k => s.At(k)),
            Is.EqualTo(new[] { 1f, 1f, 1f, 0.1f, 0.1f, 0.1f, (float)(0.1 * 0.1f), (float)(0.1 * 0.1f) }).Within(1e-8));
    }

    [Test]
    public void CosineWithWarmupFollowsItsFormula()
    {
        var s = new CosineWithWarmup(1f, 10, 110, 0.1f);
        Assert.That(s.At(0), Is.EqualTo(0f));
        Assert.That(s.At(5), Is.EqualTo(0.5f));
        Assert.That(s.At(10), Is.EqualTo(1f));
        Assert.That(s.At(60), Is.EqualTo(0.55f).Within(1e-7));
        Assert.That(s.At(35), Is.EqualTo((float)(0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * 0.25)))).Within(1e-7));
        Assert.That(s.At(110), Is.EqualTo(0.1f));
        Assert.That(s.At(10_000), Is.EqualTo(0.1f));
        var none = new CosineWithWarmup(2f, 0, 100);
        Assert.That(none.At(0), Is.EqualTo(2f));
        Assert.That(none.At(50), Is.EqualTo(1f).Within(1e-7));
    }

    [Test]
    public void SchedulesValidate()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialDecay(0.1f, 0.5f, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(-1f, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineWithWarmup(1f, 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineWithWarmup(1f, 0, 10, minLr: 2f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(1f, 3).At(-1));
    }

    [Test]
    public void ApplySetsTheOptimizersRate()
    {
        using var _ = TensorScope.Suspend();
        using var p = Tensor.Zeros(1);
        using var opt = new Adam([p]);
        Assert.That(new StepLR(0.5f, 1, 0.5f).Apply(opt, 2), Is.EqualTo(0.125f));
        Assert.That(opt.LearningRate, Is.EqualTo(0.125f));
    }
}

[Category("Optim")]
public class GradClipTests
{
    static Tensor WithGrad(float[] g)
    {
        using var _ = TensorScope.Suspend();
        var p = Tensor.Zeros(g.Length);
        p.RequiresGrad = true;
        p.Grad = Tensor.FromArray(g, g.Length);
        return p;
    }

    [Test]
    public void ClipsByTheGlobalNormAndReturnsThePreClipNorm()
    {
        using var a = WithGrad([3f, 4f]);
        using var b = WithGrad([12f]);
        using var none = Tensor.Zeros(2);
        float norm = GradClip.ClipByGlobalNorm([a, b, none], 6.5f);
        Assert.That(norm, Is.EqualTo(13f));
        float scale = (float)(6.5 / (13 + 1e-6));
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(new[] { 3f * scale, 4f * scale }));
        Assert.That(b.Grad!.ToArray(), Is.EqualTo(new[] { 12f * scale }));
        Assert.That(GradClip.GlobalNorm([a, b]), Is.EqualTo(6.5f).Within(1e-5));
        // Below the threshold nothing changes.
        var before = a.Grad.ToArray();
        Assert.That(GradClip.ClipByGlobalNorm([a, b], 100f), Is.EqualTo(6.5f).Within(1e-5));
        Assert.That(a.Grad.ToArray(), Is.EqualTo(before));
        a.Grad.Dispose(); b.Grad!.Dispose();
    }

    [Test]
    public void TheTensorFormReturnsTheNormAsA0dTensorOnTheCpu()
    {
        using var a = WithGrad([3f, 4f]);
        using var b = WithGrad([12f]);
        using var norm = GradClip.ClipByGlobalNormTensor([a, b], 6.5f);
        Assert.That(norm.Device, Is.EqualTo(Device.Cpu));
        Assert.That(norm.Shape.ToArray(), Is.Empty);
        Assert.That(norm.Item(), Is.EqualTo(13f));
        float scale = (float)(6.5 / (13 + 1e-6));
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(new[] { 3f * scale, 4f * scale }));
        using var within = GradClip.ClipByGlobalNormTensor([a, b], 100f);
        Assert.That(a.Grad.ToArray(), Is.EqualTo(new[] { 3f * scale, 4f * scale }), "within the bound: unchanged");
        using var none = Tensor.Zeros(2);
        using var zero = GradClip.GlobalNormTensor([none]);
        Assert.That(zero.Item(), Is.EqualTo(0f), "no gradients: norm 0");
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipByGlobalNormTensor([a], float.NaN));
        a.Grad.Dispose(); b.Grad!.Dispose();
    }

    [Test]
    public void NonFiniteNormLeavesGradientsAlone()
    {
        using var a = WithGrad([float.PositiveInfinity, 1f]);
        Assert.That(GradClip.ClipByGlobalNorm([a], 1f), Is.EqualTo(float.PositiveInfinity));
        Assert.That(a.Grad!.ToArray()[1], Is.EqualTo(1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipByGlobalNorm([a], 0f));
        a.Grad.Dispose();
    }
}

// Each optimizer's CUDA update against the CPU's, bit for bit: the kernels avoid fused multiply-adds
// and take the constants the CPU computes, so two steps (fresh state, then running state) must give
// identical parameters and state. Gradient-norm clipping within double rounding. Skipped without a GPU.
using Cochlea.Optim;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class CudaOptimTests
{
    public static IEnumerable<TestCaseData> Optimizers()
    {
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new Sgd(p, 0.1f))).SetName("Sgd plain");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new Sgd(p, 0.1f, momentum: 0.9f, dampening: 0.1f, weightDecay: 1e-2f))).SetName("Sgd momentum dampening wd");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new Sgd(p, 0.05f, momentum: 0.9f, nesterov: true))).SetName("Sgd nesterov");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new Adam(p, 1e-2f, weightDecay: 1e-3f))).SetName("Adam wd");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new Adam(p, 3e-3f, amsgrad: true))).SetName("Adam amsgrad");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new AdamW(p, 1e-2f))).SetName("AdamW");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new RmsProp(p, 1e-2f))).SetName("RmsProp");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new RmsProp(p, 1e-2f, momentum: 0.9f, centered: true, weightDecay: 1e-3f))).SetName("RmsProp momentum centered wd");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new RmsProp(p, 1e-3f, alpha: 0.9f, eps: 1e-10f, momentum: 0.9f, tfStyle: true))).SetName("RmsProp tf");
        yield return new TestCaseData((Func<Tensor[], Optimizer>)(p => new RmsProp(p, 1e-3f, alpha: 0.9f, eps: 1e-10f, centered: true, tfStyle: true))).SetName("RmsProp tf centered");
    }

    static readonly int[][] Shapes = [[1], [7, 3], [257], [33, 65]];

    [TestCaseSource(nameof(Optimizers))]
    public void TwoStepsEqualTheCpu(Func<Tensor[], Optimizer> make)
    {
        GpuTest.RequireGpu();
        var rng = new Random(3);
        var cpu = Shapes.Select(s => Tensor.Randn(rng, 1f, s)).ToArray();
        var gpu = cpu.Select(p => p.To(GpuTest.Cuda)).ToArray();
        foreach (var p in cpu.Concat(gpu)) p.RequiresGrad = true;
        using var oc = make(cpu);
        using var og = make(gpu);
        for (int step = 0; step < 2; step++)
        {
            for (int i = 0; i < cpu.Length; i++)
            {
                cpu[i].Grad?.Dispose(); gpu[i].Grad?.Dispose();
                cpu[i].Grad = Tensor.Randn(rng, 1f, Shapes[i]);
                gpu[i].Grad = cpu[i].Grad!.To(GpuTest.Cuda);
            }
            oc.Step(); og.Step();
            for (int i = 0; i < cpu.Length; i++)
                Assert.That(gpu[i].ToArray(), Is.EqualTo(cpu[i].ToArray()), $"step {step + 1}, parameter {i}");
        }
        var sc = oc.StateDict().Tensors;
        var sg = og.StateDict().Tensors;
        foreach (var (key, t) in sc)
            Assert.That(sg[key].ToArray(), Is.EqualTo(t.ToArray()), $"state {key}");
        foreach (var p in cpu.Concat(gpu)) { p.Grad?.Dispose(); p.Dispose(); }
    }

    // Adam's batched CUDA step (adam_multi_f32, 32 tensors a launch) against the per-tensor kernel and the CPU, bit for bit,
    // over four steps: 1 element, more than 4096 blocks of 256 (the grid cap: threads loop over the tensor), an empty tensor, 40 tensors in all (two chunks), one parameter
    // that never has a gradient and one that has it every other step (so parameters are at different step counts).
    [TestCase(false, false), TestCase(false, true), TestCase(true, false), TestCase(true, true)]
    public unsafe void MultiTensorAdamEqualsThePerTensorKernel(bool adamW, bool amsgrad)
    {
        GpuTest.RequireGpu();
        Assert.That(sizeof(Cochlea.Cuda.CudaAdamChunk), Is.EqualTo(1920), "layout of struct AdamChunk in native/cuda/optim.cu");
        const int never = 3, everyOther = 5;
        var shapes = new List<int[]> { new[] { 1 }, new[] { 4096 * 256 + 1001 }, new[] { 0 } };
        for (int k = 0; shapes.Count < 40; k++) shapes.Add(k % 3 == 0 ? [k * 37 % 300 + 1] : [k % 7 + 1, k * 13 % 50 + 2]);
        var rng = new Random(11);
        var cpu = shapes.Select(s => Tensor.Randn(rng, 1f, s)).ToArray();
        var multi = cpu.Select(p => p.To(GpuTest.Cuda)).ToArray();
        var single = cpu.Select(p => p.To(GpuTest.Cuda)).ToArray();
        Adam Make(Tensor[] p) => adamW ? new AdamW(p, 1e-2f, weightDecay: 0.1f, amsgrad: amsgrad) : new Adam(p, 1e-2f, weightDecay: 1e-3f, amsgrad: amsgrad);
        using var oc = Make(cpu);
        using var om = Make(multi);
        using var os = Make(single);
        os.MultiTensorCuda = false;
        for (int step = 0; step < 4; step++)
        {
            for (int i = 0; i < cpu.Length; i++)
            {
                foreach (var p in new[] { cpu[i], multi[i], single[i] }) { p.Grad?.Dispose(); p.Grad = null; }
                if (i == never || (i == everyOther && step % 2 == 1)) continue;
                cpu[i].Grad = Tensor.Randn(rng, 1f, shapes[i]);
                multi[i].Grad = cpu[i].Grad!.To(GpuTest.Cuda);
                single[i].Grad = cpu[i].Grad!.To(GpuTest.Cuda);
            }
            oc.Step(); om.Step(); os.Step();
            for (int i = 0; i < cpu.Length; i++)
            {
                var m = multi[i].ToArray();
                Assert.That(m, Is.EqualTo(single[i].ToArray()), $"step {step + 1}, parameter {i} {Tensor.FormatShape(shapes[i])}: batched vs per-tensor kernel");
                Assert.That(m, Is.EqualTo(cpu[i].ToArray()), $"step {step + 1}, parameter {i} {Tensor.FormatShape(shapes[i])}: batched vs CPU");
            }
        }
        Assert.That(cpu[never].ToArray(), Is.EqualTo(multi[never].ToArray()), "a parameter without gradients is not touched");
        var sc = oc.StateDict();
        var sm = om.StateDict();
        Assert.That(sm.ParameterSteps, Is.EqualTo(sc.ParameterSteps));
        Assert.That(sm.ParameterSteps[everyOther], Is.EqualTo(2), "the every-other parameter was updated twice");
        foreach (var (key, t) in sc.Tensors)
        {
            Assert.That(sm.Tensors[key].ToArray(), Is.EqualTo(t.ToArray()), $"state {key}: batched vs CPU");
            Assert.That(os.StateDict().Tensors[key].ToArray(), Is.EqualTo(t.ToArray()), $"state {key}: per-tensor kernel vs CPU");
        }
        foreach (var p in cpu.Concat(multi).Concat(single)) { p.Grad?.Dispose(); p.Dispose(); }
    }

    [Test]
    public void ClipByGlobalNormMatchesTheCpu()
    {
        GpuTest.RequireGpu();
        var rng = new Random(5);
        var cpu = new[] { Tensor.Randn(rng, 3f, 5000), Tensor.Randn(rng, 3f, 7, 3), Tensor.Randn(rng, 3f, 1) };
        var gpu = cpu.Select(p => p.To(GpuTest.Cuda)).ToArray();
        for (int i = 0; i < cpu.Length; i++) { cpu[i].Grad = Tensor.Randn(rng, 2f, cpu[i].Shape.ToArray()); gpu[i].Grad = cpu[i].Grad!.To(GpuTest.Cuda); }
        float nc = GradClip.GlobalNorm(cpu), ng = GradClip.GlobalNorm(gpu);
        Assert.That(ng, Is.EqualTo(nc).Within(1e-6).Percent);
        float rc = GradClip.ClipByGlobalNorm(cpu, 1.5f), rg = GradClip.ClipByGlobalNorm(gpu, 1.5f);
        Assert.That(rg, Is.EqualTo(rc).Within(1e-6).Percent);
        for (int i = 0; i < cpu.Length; i++)
            GpuTest.AssertClose(gpu[i].Grad!.ToArray(), cpu[i].Grad!.ToArray(), 1e-7, 1e-6, $"clipped gradient {i}");
        // ZeroGrad(setToNone: false) clears device gradients in place.
        GradUtil.ZeroGrad(gpu, setToNone: false);
        Assert.That(gpu.SelectMany(p => p.Grad!.ToArray()), Is.All.EqualTo(0f));
        foreach (var p in cpu.Concat(gpu)) { p.Grad?.Dispose(); p.Dispose(); }
    }
}

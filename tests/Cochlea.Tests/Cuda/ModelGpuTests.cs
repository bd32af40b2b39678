// Whole models on the GPU against the same models on the CPU: two training steps of WaveKws (unfold slicing,
// conv1d, depthwise conv, batch norm, ReLU, mean over time, dropout, linear, cross-entropy, Adam), FreesoundCnn
// (stft, |z| and angle, conv2d, max pool) and DeepSpeechKws (frame stacking, bidirectional ReLU RNN), and the
// BatchNorm step counter, which stays on the GPU. Skipped (with the reason) where no GPU is usable.
using Cochlea.Models.Kws;
using Cochlea.Models.Tagging;
using Cochlea.Nn;
using Cochlea.Optim;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Gpu")]
public class ModelGpuTests
{
    [Test]
    public void BatchNormCountsTrainingStepsOnTheGpu()
    {
        GpuTest.RequireGpu();
        var bn = new BatchNorm1d(3);
        bn.To(GpuTest.Cuda);
        bn.Train();
        using var x = Tensor.Randn(new Random(1), 1f, 4, 3, 5).To(GpuTest.Cuda);
        using (var y = bn.Forward(x)) { }
        using (var y = bn.Forward(x)) { }
        Assert.That(bn.NumBatchesTracked.Device, Is.EqualTo(GpuTest.Cuda));
        using var n = bn.NumBatchesTracked.To(Device.Cpu);
        Assert.That(n.Item(), Is.EqualTo(2f));
    }

    [Test]
    public void WaveKwsTrainingStepsMatchTheCpu()
    {
        GpuTest.RequireGpu();
        int[] widths = [16, 24];
        CompareTrainingSteps(new WaveKws(numClasses: 4, widths: widths, seed: 3), new WaveKws(numClasses: 4, widths: widths, seed: 3),
            Tensor.Randn(new Random(5), 1f, 2, 1600), Tensor.FromArray(new long[] { 1, 3 }, 2));
    }

    [Test]
    public void FreesoundCnnTrainingStepsMatchTheCpu()
    {
        GpuTest.RequireGpu();
        CompareTrainingSteps(new FreesoundCnn(numClasses: 5, seed: 3), new FreesoundCnn(numClasses: 5, seed: 3),
            Tensor.Randn(new Random(6), 0.3f, 2, 8000), Tensor.FromArray(new long[] { 0, 4 }, 2));
    }

    [Test]
    public void DeepSpeechKwsTrainingStepsMatchTheCpu()
    {
        GpuTest.RequireGpu();
        int[] hidden = [48, 40, 32, 24, 16];
        CompareTrainingSteps(new DeepSpeechKws(numClasses: 6, hidden: hidden, seed: 3), new DeepSpeechKws(numClasses: 6, hidden: hidden, seed: 3),
            Tensor.Randn(new Random(7), 1f, 2, 30, 161), Tensor.FromArray(new long[] { 2, 5 }, 2));
    }

    // Two Adam steps (train mode: dropout masks are the same Philox streams on both devices) of the same model on the
    // CPU and on the GPU: losses, every gradient (which must stay on the GPU), the updated parameters, the BN counters.
    internal static void CompareTrainingSteps(Module cpu, Module gpu, Tensor x, Tensor y)
    {
        gpu.To(GpuTest.Cuda);
        cpu.Train(); gpu.Train();
        using var xg = x.To(GpuTest.Cuda);
        using var yg = y.To(GpuTest.Cuda);
        using var optC = new Adam(cpu.Parameters(), lr: 1e-3f);
        using var optG = new Adam(gpu.Parameters(), lr: 1e-3f);
        for (int step = 0; step < 2; step++)
        {
            optC.ZeroGrad(); optG.ZeroGrad();
            var lc = Loss.CrossEntropy(cpu.Forward(x), y);
            var lg = Loss.CrossEntropy(gpu.Forward(xg), yg);
            Assert.That(lg.Device, Is.EqualTo(GpuTest.Cuda));
            float want = lc.Item(), got = lg.To(Device.Cpu).Item();
            // Step 1 starts from parameters that may differ by Adam's sign-like first update where a gradient is ~0.
            double tol = step == 0 ? 1e-4 : 1e-3;
            Assert.That(Math.Abs(got - want), Is.LessThan(tol * Math.Max(1, Math.Abs(want))), $"loss at step {step}: GPU {got}, CPU {want}");
            lc.Backward(); lg.Backward();
            foreach (var ((name, pc), (_, pg)) in cpu.NamedParameters().Zip(gpu.NamedParameters()))
            {
                Assert.That(pg.Grad, Is.Not.Null, $"{name}: no gradient on the GPU");
                Assert.That(pg.Grad!.Device, Is.EqualTo(GpuTest.Cuda), $"{name}: gradient left the GPU");
                var a = pc.Grad!.ToArray();
                var b = pg.Grad.To(Device.Cpu).ToArray();
                double scale = Math.Max(1e-6, a.Max(v => Math.Abs(v)));
                Assert.That(a.Zip(b).Max(t => Math.Abs(t.First - t.Second)) / scale, Is.LessThan(10 * tol), $"{name}: gradient at step {step}");
            }
            optC.Step(); optG.Step();
        }
        foreach (var ((name, pc), (_, pg)) in cpu.NamedParameters().Zip(gpu.NamedParameters()))
        {
            var a = pc.ToArray();
            var b = pg.To(Device.Cpu).ToArray();
            // Adam moves each element by about lr per step whatever the gradient's size, so an element whose gradient is
            // ~0 (sign set by rounding) may differ by up to 2 lr per step; all others must agree closely.
            var diffs = a.Zip(b).Select(t => Math.Abs(t.First - t.Second)).ToArray();
            Assert.That(diffs.Max(), Is.LessThan(4 * 1e-3 + 1e-5), $"{name} after two Adam steps");
            Assert.That(diffs.Count(d => d > 1e-4), Is.LessThanOrEqualTo(diffs.Length / 100), $"{name} after two Adam steps: elements off by more than 1e-4");
        }
        foreach (var ((name, bc), (_, bg)) in cpu.NamedBuffers().Zip(gpu.NamedBuffers()).Where(p => p.First.Name.EndsWith("num_batches_tracked")))
            Assert.That(bg.To(Device.Cpu).Item(), Is.EqualTo(bc.Item()), name);
    }
}

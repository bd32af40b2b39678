// Whole models on the GPU against the same models on the CPU: a WaveKws training step (unfold slicing,
// conv1d, depthwise conv, batch norm, ReLU, mean over time, dropout, linear, cross-entropy, Adam), and the
// BatchNorm step counter, which stays on the GPU. Skipped (with the reason) where no GPU is usable.
using Cochlea.Models.Kws;
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
        GpuTest.Require();
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
    public void WaveKwsTrainingStepMatchesTheCpu()
    {
        GpuTest.Require();
        int[] widths = [16, 24];
        var cpu = new WaveKws(numClasses: 4, widths: widths, seed: 3);
        var gpu = new WaveKws(numClasses: 4, widths: widths, seed: 3);
        gpu.To(GpuTest.Cuda);
        cpu.Train(); gpu.Train();
        using var x = Tensor.Randn(new Random(5), 1f, 2, 1600);
        using var y = Tensor.FromArray(new long[] { 1, 3 }, 2);
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
            Assert.That(lg.To(Device.Cpu).Item(), Is.EqualTo(lc.Item()).Within(1e-4).Percent.Or.EqualTo(lc.Item()).Within(1e-5), $"loss at step {step}");
            lc.Backward(); lg.Backward();
            foreach (var ((name, pc), (_, pg)) in cpu.NamedParameters().Zip(gpu.NamedParameters()))
            {
                Assert.That(pg.Grad, Is.Not.Null, $"{name}: no gradient on the GPU");
                Assert.That(pg.Grad!.Device, Is.EqualTo(GpuTest.Cuda), $"{name}: gradient left the GPU");
                var a = pc.Grad!.ToArray();
                var b = pg.Grad.To(Device.Cpu).ToArray();
                double scale = Math.Max(1e-6, a.Max(v => Math.Abs(v)));
                Assert.That(a.Zip(b).Max(t => Math.Abs(t.First - t.Second)) / scale, Is.LessThan(1e-3), $"{name}: gradient at step {step}");
            }
            optC.Step(); optG.Step();
        }
        foreach (var ((name, pc), (_, pg)) in cpu.NamedParameters().Zip(gpu.NamedParameters()))
        {
            var a = pc.ToArray();
            var b = pg.To(Device.Cpu).ToArray();
            Assert.That(a.Zip(b).Max(t => Math.Abs(t.First - t.Second)), Is.LessThan(1e-4), $"{name} after two Adam steps");
        }
        var stats = gpu.NamedBuffers().Where(b => b.Name.EndsWith("num_batches_tracked")).Select(b => b.Tensor.To(Device.Cpu).Item()).Distinct().ToList();
        Assert.That(stats, Is.EqualTo(new[] { 2f }));
    }
}

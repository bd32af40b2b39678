// Flat memory over a training run: with `using var step = Tensor.Scope();` around each step,
// the pool's bytes in use after step 1,000 equal those after step 10, and no new memory is
// obtained from the OS after warm-up (every buffer comes back to the pool and is reused).
using Cochlea.Memory;
using Cochlea.Optim;
using NUnit.Framework;

namespace Cochlea.Tests.Nn;

[Category("Nn")]
public class MemoryTests
{
    [Test]
    public void TrainingMemoryIsFlatOverAThousandSteps([Values("adam", "sgd")] string kind)
    {
        using var model = TinyTraining.Mlp();
        using Optimizer opt = kind == "adam" ? new Adam(model.Parameters(), 1e-3f) : new Sgd(model.Parameters(), 0.01f, momentum: 0.9f);
        PoolStats at10 = default;
        float first = 0, last = 0;
        for (int s = 1; s <= 1000; s++)
        {
            float loss = TinyTraining.Step(model, opt, s % 50);
            if (s == 1) first = loss;
            last = loss;
            if (s == 10) at10 = CpuBufferPool.Shared.Stats;
        }
        var at1000 = CpuBufferPool.Shared.Stats;
        TestContext.Out.WriteLine($"{kind}: loss {first:F4} -> {last:F4}; step 10: {at10}; step 1000: {at1000}");
        Assert.That(at1000.BytesInUse, Is.EqualTo(at10.BytesInUse), "bytes in use grew: something is not disposed per step");
        Assert.That(at1000.BytesAllocatedTotal, Is.EqualTo(at10.BytesAllocatedTotal), "new memory was obtained from the OS after warm-up");
        Assert.That(at1000.Misses, Is.EqualTo(at10.Misses));
        Assert.That(last, Is.LessThan(first), "the model should learn something");
    }

    [Test]
    public void ParametersAndGradientsAreAllThatOutlivesAStep()
    {
        long before = CpuBufferPool.Shared.Stats.BytesInUse;
        using (var model = TinyTraining.Mlp())
        using (var opt = new Sgd(model.Parameters(), 0.01f))
        {
            long paramsOnly = CpuBufferPool.Shared.Stats.BytesInUse;
            using (Tensor.Scope())
            {
                var (x, y) = TinyTraining.BatchFor(0);
                TinyTraining.Mse(model.Forward(x), y).Backward();
            }
            // Gradients live outside the scope (one buffer per parameter, same size class).
            Assert.That(CpuBufferPool.Shared.Stats.BytesInUse - paramsOnly, Is.EqualTo(paramsOnly - before));
            opt.ZeroGrad();
            Assert.That(CpuBufferPool.Shared.Stats.BytesInUse, Is.EqualTo(paramsOnly));
        }
        Assert.That(CpuBufferPool.Shared.Stats.BytesInUse, Is.EqualTo(before));
    }
}

// A tiny deterministic regression task shared by the training tests (checkpoint resume,
// flat memory): an MLP, a batch that depends only on the step number, and an MSE loss
// built from Ops (no dependency on the Loss classes).
using Cochlea.Nn;
using Cochlea.Optim;

namespace Cochlea.Tests.Nn;

public static class TinyTraining
{
    public const int Batch = 16, In = 8, Hidden = 32, Out = 2;

    /// <summary>Linear(8, 32) - ReLU - Linear(32, 2), initialised from <paramref name="seed"/>.</summary>
    public static Sequential Mlp(int seed = 1)
    {
        var rng = new Random(seed);
        return new Sequential(new Linear(In, Hidden, rng: rng), new Relu(), new Linear(Hidden, Out, rng: rng));
    }

    /// <summary>Inputs (16, 8) and targets (16, 2) for step <paramref name="step"/>: a fixed smooth function plus noise.</summary>
    public static (Tensor X, Tensor Y) BatchFor(int step)
    {
        var rng = new Random(1000 + step);
        var x = Tensor.Randn(rng, 1f, Batch, In);
        var xs = x.ToArray();
        var y = new float[Batch * Out];
        for (int b = 0; b < Batch; b++)
        {
            y[b * Out] = MathF.Sin(xs[b * In]) + 0.5f * xs[b * In + 1];
            y[b * Out + 1] = xs[b * In + 2] * xs[b * In + 3] - 0.1f * xs[b * In + 4];
        }
        return (x, Tensor.FromArray(y, Batch, Out));
    }

    /// <summary>mean((pred - target)^2).</summary>
    public static Tensor Mse(Tensor pred, Tensor target)
    {
        var d = Ops.Sub(pred, target);
        return Ops.Mean(Ops.Mul(d, d));
    }

    /// <summary>One training step inside its own scope; returns the loss.</summary>
    public static float Step(Module model, Optimizer opt, int step)
    {
        using var scope = Tensor.Scope();
        var (x, y) = BatchFor(step);
        var loss = Mse(model.Forward(x), y);
        loss.Backward();
        opt.Step();
        opt.ZeroGrad();
        return loss.Item();
    }

    /// <summary>The bits of every parameter, concatenated in state_dict order.</summary>
    public static int[] ParameterBits(Module model) =>
        model.Parameters().SelectMany(p => p.ToArray()).Select(BitConverter.SingleToInt32Bits).ToArray();
}

// One step of a compare suite's own model, as bench.py's step on the PyTorch side: train = train mode, zero_grad,
// the suite's loss of the forward output, backward, optimizer step; infer = eval mode, forward under no_grad.
// The step's temporaries are freed by one Tensor.Scope. (ModelStepCase is the fixed cross-entropy form of this.)
using Cochlea.Nn;
using Cochlea.Optim;

namespace Cochlea.Bench.Compare;

/// <summary>A train or inference step of a model, with the loss a suite chooses.</summary>
internal static class ModelStep
{
    /// <summary>Runs one step on input <paramref name="x"/>; <paramref name="loss"/> maps the forward output to the scalar to minimise.</summary>
    public static void Run(Module model, Optimizer opt, bool train, Tensor x, Func<Tensor, Tensor> loss)
    {
        using var step = Tensor.Scope();
        if (train)
        {
            model.Train();
            opt.ZeroGrad();
            loss(model.Forward(x)).Backward();
            opt.Step();
        }
        else
        {
            model.Eval();
            using var ng = Tensor.NoGrad();
            model.Forward(x);
        }
    }
}

// Our side of a model-step timing case, shared by `compare kws` (CPU, train and inference) and `compare gpu-train`
// (cuda:0, train): a model, a random input x (shape, e.g. (B, 16000)) and random labels y (B) in [0, classes),
// Adam(1e-4), and the step to time. Train: zero_grad + forward (train mode) + cross-entropy + backward (+ an optional
// hook, e.g. gradient clipping) + Adam step;
// infer: eval-mode forward under no_grad. Each step frees its temporaries (one Tensor.Scope).
using Cochlea.Nn;
using Cochlea.Optim;

namespace Cochlea.Bench.Compare;

/// <summary>A model with its input, labels and optimizer, ready to step.</summary>
public sealed class ModelStepCase : IDisposable
{
    readonly Module _net;
    readonly Tensor _x, _y;
    readonly Adam _opt;
    readonly Action? _afterStep;
    readonly Tensor[] _params;

    /// <summary>
    /// Moves <paramref name="net"/> to <paramref name="device"/> (null: stays on the CPU), then draws x (<paramref name="shape"/>,
    /// standard normal) and then the labels from <paramref name="rng"/>. <paramref name="afterStep"/> runs after every step,
    /// inside the timed call (the GPU case synchronizes there, so a step's time is its own).
    /// </summary>
    public ModelStepCase(Module net, int classes, int[] shape, Random rng, bool train, Device? device = null, Action? afterStep = null)
    {
        _net = net;
        _afterStep = afterStep;
        if (device is { } d) _net.To(d);
        var x = Tensor.Randn(rng, 1f, shape);
        _x = (device is { } dx ? x.To(dx) : x).Keep();
        int batch = shape[0];
        var labels = new long[batch];
        for (int i = 0; i < batch; i++) labels[i] = rng.Next(classes);
        var y = Tensor.FromArray(labels, batch);
        _y = (device is { } dy ? y.To(dy) : y).Keep();
        _params = _net.Parameters().ToArray();
        _opt = new Adam(_params, lr: 1e-4f);
        if (train) _net.Train(); else _net.Eval();
        Step = train ? TrainStep : InferStep;
    }

    /// <summary>The model (to set options such as derived-data caching before timing).</summary>
    public Module Net => _net;

    /// <summary>The step to time: train or infer, as constructed.</summary>
    public Action Step { get; }

    /// <summary>Runs between backward and the optimizer step of a train step, inside its scope, on the model's parameters
    /// (e.g. gradient clipping, as FreesoundCnn's recipe: `gpu-audit --clip`). Null: nothing.</summary>
    public Action<IReadOnlyList<Tensor>>? BeforeOptimizerStep { get; set; }

    /// <summary>Steps run so far.</summary>
    public int Steps { get; private set; }

    void TrainStep()
    {
        using (var scope = Tensor.Scope())
        {
            _opt.ZeroGrad();
            var loss = Loss.CrossEntropy(_net.Forward(_x), _y);
            loss.Backward();
            BeforeOptimizerStep?.Invoke(_params);
            _opt.Step();
        }
        Done();
    }

    void InferStep()
    {
        using (var scope = Tensor.Scope())
        using (Tensor.NoGrad())
            _net.Forward(_x);
        Done();
    }

    void Done()
    {
        _afterStep?.Invoke();
        Steps++;
    }

    public void Dispose()
    {
        _opt.Dispose();
        _x.Dispose();
        _y.Dispose();
        foreach (var p in _net.Parameters()) p.Dispose();
    }
}

// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay:
// torch.optim.SGD's update, element by element in one loop.
namespace Cochlea.Optim;

/// <summary>
/// SGD with PyTorch's semantics. Per element, with g the gradient:
/// <code>
/// g = g + weight_decay * p
/// if momentum != 0:
///     b = g                                      (first update)
///     b = momentum * b + (1 - dampening) * g     (later updates)
///     d = nesterov ? g + momentum * b : b
/// else d = g
/// p = p - lr * d
/// </code>
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Momentum factor (0 = plain SGD).</summary>
    public float Momentum { get; }
    /// <summary>Dampening of the gradient in the momentum buffer.</summary>
    public float Dampening { get; }
    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public float WeightDecay { get; }
    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>SGD over <paramref name="parameters"/>. Nesterov needs momentum &gt; 0 and dampening 0 (as PyTorch).</summary>
    public Sgd(IEnumerable<Tensor> parameters, float lr, float momentum = 0f, float dampening = 0f, float weightDecay = 0f, bool nesterov = false)
        : base(parameters, lr, momentum != 0 ? ["momentum_buffer"] : [])
    {
        Require(momentum, nameof(momentum), 0, float.MaxValue);
        Require(dampening, nameof(dampening), 0, 1);
        Require(weightDecay, nameof(weightDecay), 0, float.MaxValue);
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"Sgd: Nesterov momentum requires momentum > 0 and dampening = 0 (got momentum {momentum}, dampening {dampening}).", nameof(nesterov));
        Momentum = momentum; Dampening = dampening; WeightDecay = weightDecay; Nesterov = nesterov;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, double> Hyperparameters => new Dictionary<string, double>
    {
        ["lr"] = LearningRate, ["momentum"] = Momentum, ["dampening"] = Dampening,
        ["weight_decay"] = WeightDecay, ["nesterov"] = Nesterov ? 1 : 0,
    };

    /// <inheritdoc/>
    protected override void Update(Span<float> p, ReadOnlySpan<float> g, ParamState state, long step, bool fresh)
    {
        float lr = LearningRate, wd = WeightDecay, mu = Momentum;
        float keep = (float)(1.0 - Dampening);
        if (mu == 0)
        {
            for (int j = 0; j < p.Length; j++) p[j] += -lr * (g[j] + wd * p[j]);
            return;
        }
        var b = state[0];
        for (int j = 0; j < p.Length; j++)
        {
            float gj = g[j] + wd * p[j];
            // PyTorch starts the buffer at a copy of the first gradient (not at zero, which dampening would shrink).
            float bj = b[j] = fresh ? gj : mu * b[j] + keep * gj;
            float d = Nesterov ? gj + mu * bj : bj;
            p[j] += -lr * d;
        }
    }
}

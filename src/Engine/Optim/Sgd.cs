// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay:
// torch.optim.SGD's update, element by element in one fused loop.
using System.Numerics;

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
/// State slot: "momentum_buffer" (only with momentum).
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
    protected override void Update(ParamView param, long step, bool fresh)
    {
        var op = new Op
        {
            NegLr = new(-LearningRate), Wd = new(WeightDecay), Mu = new(Momentum), Keep = new((float)(1.0 - Dampening)),
            HasMomentum = Momentum != 0, Nesterov = Nesterov, Fresh = fresh,
        };
        if (param.OnCpu) ForEachElement(op, param);
        else Cuda.CudaOptim.Sgd(param.ParamTensor, param.GradTensor, param.SlotTensor(0), op.NegLr[0], op.Wd[0], op.Mu[0], op.Keep[0], op.HasMomentum, op.Nesterov, fresh);
    }

    struct Op : IElementUpdate
    {
        public Vector<float> NegLr, Wd, Mu, Keep;
        public bool HasMomentum, Nesterov, Fresh;

        public readonly void Invoke(ref Vector<float> p, Vector<float> g, ref Vector<float> b, ref Vector<float> s1, ref Vector<float> s2)
        {
            var gj = g + Wd * p;
            var d = gj;
            if (HasMomentum)
            {
                // PyTorch starts the buffer at a copy of the first gradient (not at zero, which dampening would shrink).
                b = Fresh ? gj : Mu * b + Keep * gj;
                d = Nesterov ? gj + Mu * b : b;
            }
            p += NegLr * d;
        }
    }
}

// RMSprop with torch.optim.RMSprop's semantics, plus the variant of TensorFlow 1's
// tf.train.RMSPropOptimizer (which the Kaggle-era speech recipes were tuned with).
using System.Numerics;

namespace Cochlea.Optim;

/// <summary>
/// RMSprop. PyTorch semantics (default), per element:
/// <code>
/// g  = g + weight_decay * p
/// s  = alpha * s + (1 - alpha) * g^2                     (s starts at 0)
/// a  = alpha * a + (1 - alpha) * g                       (centered only)
/// d  = sqrt(s - a^2) + eps    (centered)   or   sqrt(s) + eps
/// b  = momentum * b + g / d;  p = p - lr * b             (momentum &gt; 0)
/// p  = p - lr * g / d                                    (momentum = 0)
/// </code>
/// With <c>tfStyle: true</c>, TensorFlow 1's tf.train.RMSPropOptimizer (alpha is TF's "decay", typically 0.9, eps typically 1e-10):
/// <code>
/// s  = s + (g^2 - s) * (1 - alpha)                       (s starts at 1, not 0)
/// a  = a + (g - a) * (1 - alpha)                         (centered only)
/// b  = momentum * b + lr * g / sqrt(s - a^2 + eps)       (eps inside the root; lr inside the momentum buffer)
/// p  = p - b
/// </code>
/// The TF form matters early in training (s = 1 keeps the first steps small) and when the learning rate
/// changes (TF's buffer holds past steps already scaled by their learning rates).
/// State slots: "square_avg", then "momentum_buffer" (momentum &gt; 0 or tfStyle), then "grad_avg" (centered).
/// </summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>Decay of the running averages (TF's "decay", PyTorch's "alpha").</summary>
    public float Alpha { get; }
    /// <summary>Added to the denominator (outside the root for PyTorch, inside for TF).</summary>
    public float Eps { get; }
    /// <summary>L2 penalty coefficient added to the gradient.</summary>
    public float WeightDecay { get; }
    /// <summary>Momentum factor.</summary>
    public float Momentum { get; }
    /// <summary>Normalise by the variance estimate s - a^2 instead of s.</summary>
    public bool Centered { get; }
    /// <summary>TensorFlow 1 semantics (see the class remarks).</summary>
    public bool TfStyle { get; }

    /// <summary>RMSprop over <paramref name="parameters"/> (defaults as torch.optim.RMSprop).</summary>
    public RmsProp(IEnumerable<Tensor> parameters, float lr = 1e-2f, float alpha = 0.99f, float eps = 1e-8f, float weightDecay = 0f, float momentum = 0f, bool centered = false, bool tfStyle = false)
        : base(parameters, lr, Slots(momentum, centered, tfStyle))
    {
        Require(alpha, nameof(alpha), 0, 1);
        Require(eps, nameof(eps), 0, float.MaxValue);
        Require(weightDecay, nameof(weightDecay), 0, float.MaxValue);
        Require(momentum, nameof(momentum), 0, float.MaxValue);
        Alpha = alpha; Eps = eps; WeightDecay = weightDecay; Momentum = momentum; Centered = centered; TfStyle = tfStyle;
    }

    static string[] Slots(float momentum, bool centered, bool tfStyle)
    {
        var s = new List<string> { "square_avg" };
        if (momentum > 0 || tfStyle) s.Add("momentum_buffer");
        if (centered) s.Add("grad_avg");
        return s.ToArray();
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, double> Hyperparameters => new Dictionary<string, double>
    {
        ["lr"] = LearningRate, ["alpha"] = Alpha, ["eps"] = Eps, ["weight_decay"] = WeightDecay,
        ["momentum"] = Momentum, ["centered"] = Centered ? 1 : 0, ["tf_style"] = TfStyle ? 1 : 0,
    };

    /// <inheritdoc/>
    protected override float InitialState(int slot) => TfStyle && slot == 0 ? 1f : 0f;

    /// <inheritdoc/>
    protected override void Update(ParamView param, long step, bool fresh)
    {
        float lr = LearningRate;
        // Slots absent from this configuration read and write the loop's scratch vectors.
        var op = new Op
        {
            Lr = new(lr), NegLr = new(-lr), Alpha = new(Alpha), OneMinusAlpha = new((float)(1.0 - Alpha)), Eps = new(Eps),
            Wd = new(WeightDecay), Mu = new(Momentum), HasMomentum = Momentum > 0, Centered = Centered, TfStyle = TfStyle,
        };
        if (param.OnCpu) { ForEachElement(op, param); return; }
        // Slot order: s, then b when present, then a when centered (as Op.Invoke reads them).
        bool hasB = op.HasMomentum || TfStyle;
        var b = hasB ? param.SlotTensor(1) : null;
        var a = Centered ? param.SlotTensor(hasB ? 2 : 1) : null;
        Cuda.CudaOptim.RmsProp(param.ParamTensor, param.GradTensor, param.SlotTensor(0)!, b, a, op.Lr[0], op.NegLr[0], op.Alpha[0],
            op.OneMinusAlpha[0], op.Eps[0], op.Wd[0], op.Mu[0], op.HasMomentum, Centered, TfStyle);
    }

    struct Op : IElementUpdate
    {
        public Vector<float> Lr, NegLr, Alpha, OneMinusAlpha, Eps, Wd, Mu;
        public bool HasMomentum, Centered, TfStyle;

        // Slot order: s (square_avg), then b (momentum_buffer) when present, then a (grad_avg) when centered.
        public readonly void Invoke(ref Vector<float> p, Vector<float> g, ref Vector<float> s, ref Vector<float> x1, ref Vector<float> x2)
        {
            bool hasB = HasMomentum || TfStyle;
            ref var b = ref x1;
            ref var a = ref hasB ? ref x2 : ref x1;
            var gj = g + Wd * p;
            if (TfStyle)
            {
                // The update order and forms of TF's ApplyRMSProp / ApplyCenteredRMSProp kernels.
                s += (gj * gj - s) * OneMinusAlpha;
                var denom = s + Eps;
                if (Centered) { a += (gj - a) * OneMinusAlpha; denom = s - a * a + Eps; }
                b = Mu * b + Lr * gj / Vector.SquareRoot(denom);
                p -= b;
                return;
            }
            s = Alpha * s + OneMinusAlpha * gj * gj;
            Vector<float> d;
            if (Centered) { a = Alpha * a + OneMinusAlpha * gj; d = Vector.SquareRoot(s - a * a) + Eps; }
            else d = Vector.SquareRoot(s) + Eps;
            if (HasMomentum) { b = Mu * b + gj / d; p += NegLr * b; }
            else p += NegLr * (gj / d);
        }
    }
}

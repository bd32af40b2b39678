// RMSprop with torch.optim.RMSprop's semantics, plus the variant of TensorFlow 1's
// tf.train.RMSPropOptimizer (which the Kaggle-era speech recipes were tuned with).
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
    readonly int _mom = -1, _avg = -1;

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
        var slots = StateSlots.ToList();
        _mom = slots.IndexOf("momentum_buffer");
        _avg = slots.IndexOf("grad_avg");
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
    protected override void Update(Span<float> p, ReadOnlySpan<float> g, ParamState state, long step, bool fresh)
    {
        float lr = LearningRate, alpha = Alpha, oa = (float)(1.0 - Alpha), eps = Eps, wd = WeightDecay, mu = Momentum;
        Span<float> s = state[0], b = _mom >= 0 ? state[_mom] : default, a = _avg >= 0 ? state[_avg] : default;
        for (int j = 0; j < p.Length; j++)
        {
            float gj = g[j] + wd * p[j];
            if (TfStyle)
            {
                // The update order and forms of TF's ApplyRMSProp / ApplyCenteredRMSProp kernels.
                float sj = s[j] += (gj * gj - s[j]) * oa;
                float denom = sj + eps;
                if (Centered) { float aj = a[j] += (gj - a[j]) * oa; denom = sj - aj * aj + eps; }
                float bj = b[j] = mu * b[j] + lr * gj / MathF.Sqrt(denom);
                p[j] -= bj;
            }
            else
            {
                float sj = s[j] = alpha * s[j] + oa * gj * gj;
                float d;
                if (Centered) { float aj = a[j] = alpha * a[j] + oa * gj; d = MathF.Sqrt(sj - aj * aj) + eps; }
                else d = MathF.Sqrt(sj) + eps;
                if (mu > 0) { float bj = b[j] = mu * b[j] + gj / d; p[j] += -lr * bj; }
                else p[j] += -lr * (gj / d);
            }
        }
    }
}

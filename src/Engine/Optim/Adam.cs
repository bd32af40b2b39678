// Adam and AdamW (decoupled weight decay) with torch.optim's semantics, sharing one
// fused loop: AdamW differs only in where the weight decay enters.
using System.Numerics;

namespace Cochlea.Optim;

/// <summary>
/// Adam (Kingma and Ba) with PyTorch's semantics. Per element, t = this parameter's update count:
/// <code>
/// g = g + weight_decay * p                        (Adam: L2 in the gradient)
/// p = p * (1 - lr * weight_decay)                 (AdamW instead: decoupled decay)
/// m = beta1 * m + (1 - beta1) * g
/// v = beta2 * v + (1 - beta2) * g^2
/// vmax = max(vmax, v)                             (amsgrad only; then v := vmax below)
/// p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// </code>
/// eps is added outside the square root, after the bias correction, as PyTorch does.
/// State slots: "exp_avg" (m), "exp_avg_sq" (v), and "max_exp_avg_sq" with amsgrad.
/// </summary>
public class Adam : Optimizer
{
    readonly bool _decoupled;

    /// <summary>Decay of the first-moment average.</summary>
    public float Beta1 { get; }
    /// <summary>Decay of the second-moment average.</summary>
    public float Beta2 { get; }
    /// <summary>Added to the denominator for stability.</summary>
    public float Eps { get; }
    /// <summary>Weight decay: L2 penalty in <see cref="Adam"/>, decoupled in <see cref="AdamW"/>.</summary>
    public float WeightDecay { get; }
    /// <summary>AMSGrad: use the running maximum of v.</summary>
    public bool Amsgrad { get; }

    /// <summary>Adam over <paramref name="parameters"/> (defaults as torch.optim.Adam).</summary>
    public Adam(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0f, bool amsgrad = false)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: false) { }

    /// <summary>For <see cref="AdamW"/>: <paramref name="decoupled"/> applies the decay to the weights instead of the gradient.</summary>
    protected Adam(IEnumerable<Tensor> parameters, float lr, float beta1, float beta2, float eps, float weightDecay, bool amsgrad, bool decoupled)
        : base(parameters, lr, amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"])
    {
        Require(beta1, nameof(beta1), 0, 1, hiOpen: true);
        Require(beta2, nameof(beta2), 0, 1, hiOpen: true);
        Require(eps, nameof(eps), 0, float.MaxValue);
        Require(weightDecay, nameof(weightDecay), 0, float.MaxValue);
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay; Amsgrad = amsgrad; _decoupled = decoupled;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, double> Hyperparameters => new Dictionary<string, double>
    {
        ["lr"] = LearningRate, ["betas.0"] = Beta1, ["betas.1"] = Beta2, ["eps"] = Eps,
        ["weight_decay"] = WeightDecay, ["amsgrad"] = Amsgrad ? 1 : 0,
    };

    /// <summary>
    /// True (default): CUDA parameters are queued by <see cref="Update"/> and updated in <see cref="EndStep"/> by one
    /// multi-tensor launch per device and 32 parameters; false: one <c>adam_f32</c> launch per parameter (the reference
    /// the tests compare the batched path with). Both give the same bits.
    /// </summary>
    internal bool MultiTensorCuda { get; set; } = true;

    readonly List<Cuda.AdamTensor> _queued = [];

    /// <inheritdoc/>
    protected override void Update(ParamView param, long step, bool fresh)
    {
        var op = Constants(step);
        if (param.OnCpu) ForEachElement(op, param);
        else if (MultiTensorCuda)
            _queued.Add(new(param.ParamTensor, param.GradTensor, param.SlotTensor(0)!, param.SlotTensor(1)!, param.SlotTensor(2), op.StepSize[0], op.Bc2Sqrt[0]));
        else Cuda.CudaOptim.Adam(param.ParamTensor, param.GradTensor, param.SlotTensor(0)!, param.SlotTensor(1)!, param.SlotTensor(2),
            op.StepSize[0], op.Bc2Sqrt[0], op.B1[0], op.B2[0], op.Ob1[0], op.Ob2[0], op.Eps[0], op.L2[0], op.Shrink[0], Amsgrad);
    }

    /// <inheritdoc/>
    protected override void EndStep()
    {
        if (_queued.Count == 0) return;
        try
        {
            // Only step size and bias correction depend on a parameter's step count; they travel with each tensor.
            var op = Constants(1);
            Cuda.CudaOptim.AdamMulti(_queued, op.B1[0], op.B2[0], op.Ob1[0], op.Ob2[0], op.Eps[0], op.L2[0], op.Shrink[0], Amsgrad);
        }
        finally { _queued.Clear(); }
    }

    // The update's constants for a parameter's step-th update.
    Op Constants(long step)
    {
        // Scalars in double, then rounded once to float, as PyTorch computes them in Python floats.
        double lr = LearningRate;
        return new Op
        {
            StepSize = new((float)(lr / (1 - Math.Pow(Beta1, step)))),
            Bc2Sqrt = new((float)Math.Sqrt(1 - Math.Pow(Beta2, step))),
            B1 = new(Beta1), B2 = new(Beta2), Ob1 = new((float)(1.0 - Beta1)), Ob2 = new((float)(1.0 - Beta2)), Eps = new(Eps),
            L2 = new(_decoupled ? 0f : WeightDecay),
            Shrink = new(_decoupled ? (float)(1 - lr * WeightDecay) : 1f),
            Amsgrad = Amsgrad,
        };
    }

    struct Op : IElementUpdate
    {
        public Vector<float> StepSize, Bc2Sqrt, B1, B2, Ob1, Ob2, Eps, L2, Shrink;
        public bool Amsgrad;

        public readonly void Invoke(ref Vector<float> p, Vector<float> g, ref Vector<float> m, ref Vector<float> v, ref Vector<float> vmax)
        {
            var pj = p * Shrink;             // AdamW's decoupled decay (Shrink = 1 for Adam)
            var gj = g + L2 * pj;            // Adam's L2 term (L2 = 0 for AdamW)
            m = B1 * m + Ob1 * gj;
            v = B2 * v + Ob2 * gj * gj;
            var vv = v;
            if (Amsgrad) vv = vmax = Vector.Max(vmax, v);
            p = pj - StepSize * (m / (Vector.SquareRoot(vv) / Bc2Sqrt + Eps));
        }
    }
}

/// <summary>
/// AdamW (Loshchilov and Hutter): Adam with decoupled weight decay, p = p * (1 - lr * weight_decay) before
/// the Adam step, instead of adding weight_decay * p to the gradient. Defaults as torch.optim.AdamW (weight decay 0.01).
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>AdamW over <paramref name="parameters"/>.</summary>
    public AdamW(IEnumerable<Tensor> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 1e-2f, bool amsgrad = false)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: true) { }
}

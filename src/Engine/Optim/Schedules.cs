// Learning-rate schedules: each a pure function of the step number, so a resumed run
// (whose optimizer restores StepCount from the checkpoint) continues the same curve.
namespace Cochlea.Optim;

/// <summary>A learning rate as a function of the step (0 = the first update).</summary>
public abstract class LrSchedule
{
    /// <summary>The learning rate for step <paramref name="step"/> (&gt;= 0).</summary>
    public float At(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, $"{GetType().Name}: the step must be >= 0.");
        return (float)Compute(step);
    }

    /// <summary>The schedule's formula, in double; <paramref name="step"/> is &gt;= 0.</summary>
    protected abstract double Compute(long step);

    /// <summary>Sets <paramref name="optimizer"/>'s learning rate to <c>At(step)</c> and returns it (or set <see cref="Optimizer.Schedule"/> to do this in every Step).</summary>
    public float Apply(Optimizer optimizer, long step)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        float lr = At(step);
        optimizer.LearningRate = lr;
        return lr;
    }

    /// <summary>Throws unless <paramref name="v"/> is finite and &gt;= 0.</summary>
    private protected static float NonNegative(float v, string name) =>
        float.IsFinite(v) && v >= 0 ? v : throw new ArgumentOutOfRangeException(name, v, $"{name} must be finite and >= 0.");

    /// <summary>Throws unless <paramref name="v"/> is positive.</summary>
    private protected static long Positive(long v, string name) =>
        v > 0 ? v : throw new ArgumentOutOfRangeException(name, v, $"{name} must be > 0.");
}

/// <summary>
/// tf.train.exponential_decay: lr = initial * decayRate^(step / decaySteps), with the exponent floored when
/// <c>staircase</c> (the rate drops every decaySteps steps). FreesoundCnn: 0.99 every 10,000 steps.
/// </summary>
public sealed class ExponentialDecay(float initial, float decayRate, long decaySteps, bool staircase = false) : LrSchedule
{
    /// <summary>Learning rate at step 0.</summary>
    public float Initial { get; } = NonNegative(initial, nameof(initial));
    /// <summary>Factor per <see cref="DecaySteps"/> steps.</summary>
    public float DecayRate { get; } = NonNegative(decayRate, nameof(decayRate));
    /// <summary>Steps per factor of <see cref="DecayRate"/>.</summary>
    public long DecaySteps { get; } = Positive(decaySteps, nameof(decaySteps));
    /// <summary>Whether the exponent is floored (piecewise constant).</summary>
    public bool Staircase { get; } = staircase;

    /// <inheritdoc/>
    protected override double Compute(long step)
    {
        double e = (double)step / DecaySteps;
        if (Staircase) e = Math.Floor(e);
        return Initial * Math.Pow(DecayRate, e);
    }
}

/// <summary>torch.optim.lr_scheduler.StepLR as a function: lr = baseLr * gamma^floor(step / stepSize).</summary>
public sealed class StepLR(float baseLr, long stepSize, float gamma = 0.1f) : LrSchedule
{
    /// <summary>Learning rate for the first <see cref="StepSize"/> steps.</summary>
    public float BaseLr { get; } = NonNegative(baseLr, nameof(baseLr));
    /// <summary>Steps between drops.</summary>
    public long StepSize { get; } = Positive(stepSize, nameof(stepSize));
    /// <summary>Factor per drop.</summary>
    public float Gamma { get; } = NonNegative(gamma, nameof(gamma));

    /// <inheritdoc/>
    protected override double Compute(long step) => BaseLr * Math.Pow(Gamma, step / StepSize);
}

/// <summary>
/// Linear warm-up then cosine decay:
/// lr = baseLr * step / warmupSteps for step &lt; warmupSteps (starting from 0, as Keras' CosineDecay warm-up and
/// HF's get_cosine_schedule_with_warmup);
/// then, with q = (step - warmupSteps) / (totalSteps - warmupSteps),
/// lr = minLr + (baseLr - minLr) * (1 + cos(pi * q)) / 2; and minLr from totalSteps on.
/// </summary>
public sealed class CosineWithWarmup : LrSchedule
{
    /// <summary>Peak learning rate (reached at the end of the warm-up).</summary>
    public float BaseLr { get; }
    /// <summary>Warm-up length in steps (0 for none).</summary>
    public long WarmupSteps { get; }
    /// <summary>Step at which the rate reaches <see cref="MinLr"/>.</summary>
    public long TotalSteps { get; }
    /// <summary>Final learning rate.</summary>
    public float MinLr { get; }

    /// <summary>The schedule; requires 0 &lt;= warmupSteps &lt; totalSteps and 0 &lt;= minLr &lt;= baseLr.</summary>
    public CosineWithWarmup(float baseLr, long warmupSteps, long totalSteps, float minLr = 0f)
    {
        BaseLr = NonNegative(baseLr, nameof(baseLr));
        MinLr = NonNegative(minLr, nameof(minLr));
        if (MinLr > BaseLr) throw new ArgumentOutOfRangeException(nameof(minLr), minLr, $"CosineWithWarmup: minLr must be <= baseLr ({baseLr}).");
        if (warmupSteps < 0 || warmupSteps >= totalSteps)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"CosineWithWarmup: expected 0 <= warmupSteps < totalSteps ({totalSteps}).");
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
    }

    /// <inheritdoc/>
    protected override double Compute(long step)
    {
        if (step < WarmupSteps) return (double)BaseLr * step / WarmupSteps;
        if (step >= TotalSteps) return MinLr;
        double q = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return MinLr + (BaseLr - (double)MinLr) * 0.5 * (1 + Math.Cos(Math.PI * q));
    }
}

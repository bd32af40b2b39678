// Loss functions with PyTorch semantics: cross-entropy (class labels or class probabilities,
// label smoothing, optional spatial dims), binary cross-entropy with logits, mean squared
// error and the distillation KL divergence. Each loss is ONE fused recorded op. The forward
// pass works row by row in double (log-sum-exp with max subtraction, the softplus form of BCE)
// and, when a gradient will be needed, writes the loss's gradient for a unit upstream
// gradient in the same pass (softmax - target, sigmoid - target, 2 (p - t)); backward is then
// a single scaling by the upstream gradient: no graph of small ops, no second exp, and no
// log(softmax) that could underflow to log(0).
using Cochlea.Autograd;
using Cochlea.Kernels;
using Cochlea.Kernels.Elementwise;

namespace Cochlea;

/// <summary>
/// Loss functions. Each validates its inputs (dtypes, shapes, label range) with a message that
/// names the expected shape, returns a differentiable tensor (a 0-d scalar for reduction
/// "mean" or "sum", per-position losses for "none") and records one op in the graph.
/// On CUDA the value checks (label range, target range, teacher probabilities) run in the kernel, as
/// PyTorch's device-side asserts: a failing row becomes NaN and the same exception is thrown at the
/// device's next synchronisation (Item, ToArray, CudaDevice.Synchronize), never by the call itself.
/// </summary>
public static unsafe partial class Loss
{
    enum Reduction { Mean, Sum, None }

    // ------------------------------------------------------------------ cross-entropy

    /// <summary>
    /// Cross-entropy between <paramref name="logits"/> and class labels or class probabilities, as
    /// <c>torch.nn.functional.cross_entropy</c> (no class weights, no ignore index). The kind of target
    /// is chosen by its dtype, as in PyTorch: integer = class indices, float32 = probabilities.
    /// <para>With <c>lp = log_softmax(logits)</c> over the class dimension (C classes) and the smoothed
    /// target distribution q, the loss of one position is <c>l = -sum_c q_c lp_c</c>, where
    /// for a class label y: <c>q_c = (1 - ls) [c == y] + ls / C</c>, and
    /// for probabilities t: <c>q_c = (1 - ls) t_c + ls / C</c>.</para>
    /// <para>Gradients: <c>dl/dlogits = softmax(logits) * sum_c q_c - q</c> (softmax - q for labels);
    /// probability targets that require gradients get <c>dl/dt = -(1 - ls) lp</c>.</para>
    /// </summary>
    /// <param name="logits">float32 scores, (B, C) or (B, C, d1, ...).</param>
    /// <param name="target">int64 (or int32) class indices in [0, C) of shape (B) or (B, d1, ...);
    /// or float32 class probabilities with the shape of <paramref name="logits"/>.</param>
    /// <param name="labelSmoothing">ls in [0, 1]: mixes the target with the uniform distribution.</param>
    /// <param name="reduction">"mean" (over all B*d1*... positions), "sum", or "none" (losses of shape (B, d1, ...)).</param>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, float labelSmoothing = 0f, string reduction = "mean")
    {
        const string op = "cross_entropy";
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(target);
        var red = ParseReduction(reduction, op);
        RequireFloat(logits, op, "logits", "(B, C) or (B, C, d1, ...)");
        if (logits.Rank < 2)
            throw new ArgumentException($"{op}: logits must be (B, C) or (B, C, d1, ...), got {logits.Describe()}.", nameof(logits));
        int c = logits.Shape[1];
        if (c == 0) throw new ArgumentException($"{op}: logits {logits.Describe()} have no classes (dimension 1 is 0).", nameof(logits));
        CheckSmoothing(labelSmoothing, op);
        bool cuda = !Cuda.CudaLaunch.CommonDevice(op, logits, target).IsCpu;

        // Losses have the logits' shape without the class dimension.
        var lossShape = logits.ShapeArray.Where((_, i) => i != 1).ToArray();
        bool classLabels = target.DType is DType.Int64 or DType.Int32;
        long[]? labels = null;   // CPU labels, checked here; CUDA labels are checked by the kernel (CrossEntropyCuda)
        if (classLabels)
        {
            if (!Tensor.SameShape(target.Shape, lossShape))
                throw new ArgumentException($"{op}: class labels must have shape {Tensor.FormatShape(lossShape)} (the logits' shape {Tensor.FormatShape(logits.Shape)} without the class dimension), got {target.Describe()}.", nameof(target));
            if (!cuda)
            {
                labels = target.ToInt64Array();
                for (int i = 0; i < labels.Length; i++)
                    if ((ulong)labels[i] >= (ulong)c)
                        throw new ArgumentOutOfRangeException(nameof(target), labels[i], LabelOutOfRange(op, labels[i].ToString(), $"position {i}", c) + ".");
            }
        }
        else if (target.DType == DType.Float32)
        {
            if (!Tensor.SameShape(target.Shape, logits.Shape))
                throw new ArgumentException($"{op}: float32 targets are class probabilities and must have the logits' shape {Tensor.FormatShape(logits.Shape)}, got {target.Describe()}; for class indices pass int64 labels of shape {Tensor.FormatShape(lossShape)}.", nameof(target));
        }
        else throw new ArgumentException($"{op}: target must be int64 class labels {Tensor.FormatShape(lossShape)} or float32 probabilities {Tensor.FormatShape(logits.Shape)}, got {target.Describe()}.", nameof(target));

        bool needX = NoGradScope.IsGradEnabled && logits.RequiresGrad;
        bool needT = NoGradScope.IsGradEnabled && !classLabels && target.RequiresGrad;
        // Classes last, one contiguous row of C per position: (rows, C); labels (rows) in the same order.
        using var xl = Ops.MoveLast(logits, 1);
        using var tl = classLabels ? (cuda ? target.ContiguousRaw() : null) : Ops.MoveLast(target, 1);
        long rows = xl.Numel / c;
        var unitX = needX ? Tensor.Empty(xl.ShapeArray, DType.Float32, xl.Device) : null;   // dl/dlogits for a unit upstream gradient
        var logp = needT ? Tensor.Empty(xl.ShapeArray, DType.Float32, xl.Device) : null;    // lp, for the probability targets' gradient
        double keep = 1.0 - labelSmoothing, uniform = labelSmoothing / (double)c;
        var result = cuda
            ? CrossEntropyCuda(xl, tl!, classLabels, rows, c, keep, uniform, unitX, logp, lossShape, red)
            : CrossEntropyCpu(xl, tl, labels, rows, c, keep, uniform, unitX, logp, lossShape, red);
        Tensor[] inputs = classLabels ? [logits] : [logits, target];
        return BackwardPass.Record(result, op, inputs, g =>
        {
            Tensor? dx = null, dt = null;
            if (unitX is not null) { dx = Ops.MoveBack(ScaleRows(unitX, g, red, rows, 1.0), 1); unitX.Dispose(); }
            if (logp is not null) { dt = Ops.MoveBack(ScaleRows(logp, g, red, rows, -keep), 1); logp.Dispose(); }
            return classLabels ? [dx] : [dx, dt];
        });
    }

    // The message of a class label out of range (the CPU's, and the CUDA kernel's reported at the next sync).
    static string LabelOutOfRange(string op, string label, string position, int c) =>
        $"{op}: label {label} at {position} is out of range for {c} classes (expected 0 <= label < {c})";

    // The row loop of CrossEntropy: xl (rows, C) logits, tl (rows, C) probabilities or labels; fills unitX / logp when given.
    static Tensor CrossEntropyCpu(Tensor xl, Tensor? tl, long[]? labels, long rows, int c, double keep, double uniform,
        Tensor? unitX, Tensor? logp, int[] lossShape, Reduction red)
    {
        var perRow = red == Reduction.None ? Tensor.Empty(lossShape) : null;
        float* px = xl.DataPtr, pt = tl is null ? null : tl.DataPtr;
        float* pu = unitX is null ? null : unitX.DataPtr, plp = logp is null ? null : logp.DataPtr;
        double total = 0;
        double[] z = new double[c], p = new double[c];
        for (long r = 0; r < rows; r++)
        {
            long o = r * c;
            for (int i = 0; i < c; i++) z[i] = px[o + i];
            double lse = SoftmaxRow(z, p);
            double loss = 0;
            if (labels is not null)
            {
                long y = labels[r];
                double sumLp = 0;
                for (int i = 0; i < c; i++) sumLp += z[i] - lse;
                loss = -keep * (z[y] - lse) - uniform * sumLp;
                if (pu != null)
                    for (int i = 0; i < c; i++) pu[o + i] = (float)(p[i] - uniform - (i == y ? keep : 0.0));
            }
            else
            {
                // Soft targets need not sum to 1 (PyTorch does not require it), hence the general
                // gradient p * sum(q) - q.
                double qSum = 0;
                for (int i = 0; i < c; i++)
                {
                    double q = keep * pt[o + i] + uniform;
                    qSum += q;
                    loss -= q * (z[i] - lse);
                }
                if (pu != null)
                    for (int i = 0; i < c; i++) pu[o + i] = (float)(p[i] * qSum - (keep * pt[o + i] + uniform));
                if (plp != null)
                    for (int i = 0; i < c; i++) plp[o + i] = (float)(z[i] - lse);
            }
            if (perRow is not null) perRow.DataPtr[r] = (float)loss;
            else total += loss;
        }

        return Reduce(perRow, total, rows, red);
    }

    // ------------------------------------------------------------------ binary cross-entropy

    /// <summary>
    /// Binary cross-entropy on logits, as <c>torch.nn.functional.binary_cross_entropy_with_logits</c>
    /// applied to smoothed targets <c>t' = t (1 - ls) + ls / 2</c> (multi-label tagging). Per element,
    /// in the form that never overflows: <c>l = max(x, 0) - x t' + log(1 + exp(-|x|))</c>.
    /// <para>Gradients: <c>dl/dx = sigmoid(x) - t'</c>; targets that require gradients get <c>dl/dt = -(1 - ls) x</c>.</para>
    /// </summary>
    /// <param name="logits">float32 scores x, any shape (e.g. (B, classes)).</param>
    /// <param name="targets">float32 targets t in [0, 1] with the shape of <paramref name="logits"/>.</param>
    /// <param name="labelSmoothing">ls in [0, 1]: pulls targets towards 0.5.</param>
    /// <param name="reduction">"mean" (over all elements), "sum", or "none" (losses with the logits' shape).</param>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor targets, float labelSmoothing = 0f, string reduction = "mean")
    {
        const string op = "bce_with_logits";
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        var red = ParseReduction(reduction, op);
        RequireFloat(logits, op, "logits", "of any shape");
        RequireSameShape(targets, logits, op, "targets");
        CheckSmoothing(labelSmoothing, op);
        bool cuda = !Cuda.CudaLaunch.CommonDevice(op, logits, targets).IsCpu;

        bool needX = NoGradScope.IsGradEnabled && logits.RequiresGrad;
        bool needT = NoGradScope.IsGradEnabled && targets.RequiresGrad;
        using var tc = targets.ContiguousRaw();
        long n = tc.Numel;
        if (!cuda)   // CUDA targets are checked by the kernel (BceCuda)
        {
            float* pt = tc.DataPtr;
            for (long i = 0; i < n; i++)
                if (!(pt[i] >= 0f && pt[i] <= 1f))  // also rejects NaN; catches class indices passed as targets
                    throw new ArgumentOutOfRangeException(nameof(targets), pt[i], TargetOutsideUnit(op, pt[i], $"position {i}") + ".");
        }
        var xc = logits.ContiguousRaw();
        var unitX = needX ? Tensor.Empty(xc.ShapeArray, DType.Float32, xc.Device) : null;
        double keep = 1.0 - labelSmoothing, half = 0.5 * labelSmoothing;
        var result = cuda ? BceCuda(xc, tc, keep, half, unitX, red) : BceCpu(xc, tc, keep, half, unitX, red);
        // The targets' gradient is -(1 - ls) x: keep the contiguous logits only when it is needed.
        var keptX = needT ? xc : null;
        if (!needT) xc.Dispose();

        return BackwardPass.Record(result, op, [logits, targets], g =>
        {
            Tensor? dx = null, dt = null;
            if (unitX is not null) { dx = ScaleRows(unitX, g, red, n, 1.0); unitX.Dispose(); }
            if (keptX is not null) { dt = ScaleRows(keptX, g, red, n, -keep); keptX.Dispose(); }
            return [dx, dt];
        });
    }

    // The message of a BCE target outside [0, 1] (CPU, and CUDA at the next sync).
    static string TargetOutsideUnit(string op, float t, string position) => $"{op}: target {t} at {position} is outside [0, 1]";

    // Elementwise BCE of contiguous logits xc and targets tc; fills unitX when given.
    static Tensor BceCpu(Tensor xc, Tensor tc, double keep, double half, Tensor? unitX, Reduction red)
    {
        long n = xc.Numel;
        var perElem = red == Reduction.None ? Tensor.Empty(xc.ShapeArray) : null;
        float* px = xc.DataPtr, pt = tc.DataPtr;
        float* pu = unitX is null ? null : unitX.DataPtr, pl = perElem is null ? null : perElem.DataPtr;
        double total = 0;
        for (long i = 0; i < n; i++)
        {
            double x = px[i], t = keep * pt[i] + half;
            double e = Math.Exp(-Math.Abs(x));                  // in (0, 1]: cannot overflow
            double loss = Math.Max(x, 0.0) - x * t + Log1p(e);
            if (pl != null) pl[i] = (float)loss; else total += loss;
            if (pu != null) pu[i] = (float)((x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - t);
        }
        return Reduce(perElem, total, n, red);
    }

    // ------------------------------------------------------------------ mean squared error

    /// <summary>
    /// Squared error <c>l = (p - t)^2</c> per element, as <c>torch.nn.functional.mse_loss</c> (no broadcasting).
    /// Gradients: <c>dl/dp = 2 (p - t)</c>, <c>dl/dt = -2 (p - t)</c>.
    /// </summary>
    /// <param name="prediction">float32 p, any shape.</param>
    /// <param name="target">float32 t with the shape of <paramref name="prediction"/>.</param>
    /// <param name="reduction">"mean" (over all elements), "sum", or "none" (losses with the input shape).</param>
    public static Tensor Mse(Tensor prediction, Tensor target, string reduction = "mean")
    {
        const string op = "mse";
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        var red = ParseReduction(reduction, op);
        RequireFloat(prediction, op, "prediction", "of any shape");
        RequireSameShape(target, prediction, op, "target");
        bool cuda = !Cuda.CudaLaunch.CommonDevice(op, prediction, target).IsCpu;

        bool needP = NoGradScope.IsGradEnabled && prediction.RequiresGrad;
        bool needT = NoGradScope.IsGradEnabled && target.RequiresGrad;
        using var pc = prediction.ContiguousRaw();
        using var tc = target.ContiguousRaw();
        long n = pc.Numel;
        var unit = needP || needT ? Tensor.Empty(pc.ShapeArray, DType.Float32, pc.Device) : null;   // 2 (p - t), shared by both gradients
        var result = cuda ? MseCuda(pc, tc, unit, red) : MseCpu(pc, tc, unit, red);
        return BackwardPass.Record(result, op, [prediction, target], g =>
        {
            var dp = needP ? ScaleRows(unit!, g, red, n, 1.0) : null;
            var dt = needT ? ScaleRows(unit!, g, red, n, -1.0) : null;
            unit?.Dispose();
            return [dp, dt];
        });
    }

    // Elementwise squared error of contiguous pc and tc; fills unit = 2 (p - t) when given.
    static Tensor MseCpu(Tensor pc, Tensor tc, Tensor? unit, Reduction red)
    {
        long n = pc.Numel;
        var perElem = red == Reduction.None ? Tensor.Empty(pc.ShapeArray) : null;
        float* pp = pc.DataPtr, pt = tc.DataPtr, pu = unit is null ? null : unit.DataPtr, pl = perElem is null ? null : perElem.DataPtr;
        double total = 0;
        for (long i = 0; i < n; i++)
        {
            double d = (double)pp[i] - pt[i];
            if (pl != null) pl[i] = (float)(d * d); else total += d * d;
            if (pu != null) pu[i] = (float)(2 * d);
        }
        return Reduce(perElem, total, n, red);
    }

    // ------------------------------------------------------------------ distillation

    /// <summary>
    /// Knowledge-distillation loss (Hinton et al.): the KL divergence from the temperature-softened
    /// teacher distribution to the student's, scaled by T^2 so gradient magnitudes do not depend on T,
    /// averaged over the batch. Exactly
    /// <c>T^2 * F.kl_div(log_softmax(s / T), softmax(u / T), reduction="batchmean")</c>:
    /// <c>L = T^2 / B * sum_b sum_c q_bc (log q_bc - log p_bc)</c> with <c>p = softmax(s / T)</c>, <c>q = softmax(u / T)</c>.
    /// <para>The teacher is a constant: no gradient flows into <paramref name="teacherLogits"/>, even when it
    /// requires gradients. Student gradient: <c>dL/ds = T / B * (p - q)</c>.</para>
    /// </summary>
    /// <param name="studentLogits">float32 s, (B, C).</param>
    /// <param name="teacherLogits">float32 u, (B, C).</param>
    /// <param name="temperature">T &gt; 0.</param>
    public static Tensor KlDivDistill(Tensor studentLogits, Tensor teacherLogits, float temperature) =>
        KlDivDistillCore(studentLogits, teacherLogits, temperature, teacherIsProbabilities: false);

    /// <summary>
    /// <see cref="KlDivDistill"/> for a teacher given as probabilities π (e.g. saved predictions):
    /// the softened teacher is <c>q = π^(1/T) / sum_c π_c^(1/T)</c>, which equals <c>softmax(u / T)</c> when
    /// <c>π = softmax(u)</c>, so both forms give the same loss. Rows are renormalised; zero probabilities
    /// contribute nothing (0 log 0 = 0). The teacher receives no gradient.
    /// </summary>
    /// <param name="studentLogits">float32 s, (B, C).</param>
    /// <param name="teacherProbs">float32 π, (B, C): non-negative, each row with a positive sum.</param>
    /// <param name="temperature">T &gt; 0.</param>
    public static Tensor KlDivDistillFromProbs(Tensor studentLogits, Tensor teacherProbs, float temperature) =>
        KlDivDistillCore(studentLogits, teacherProbs, temperature, teacherIsProbabilities: true);

    static Tensor KlDivDistillCore(Tensor student, Tensor teacher, float temperature, bool teacherIsProbabilities)
    {
        const string op = "kl_div_distill";
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        RequireFloat(student, op, "student logits", "(B, C)");
        if (student.Rank != 2)
            throw new ArgumentException($"{op}: student logits must be (B, C), got {student.Describe()}.", nameof(student));
        RequireSameShape(teacher, student, op, "teacher");
        if (!(temperature > 0f) || !float.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, $"{op}: the temperature must be positive and finite.");
        bool cuda = !Cuda.CudaLaunch.CommonDevice(op, student, teacher).IsCpu;
        int b = student.Shape[0], c = student.Shape[1];

        bool needS = NoGradScope.IsGradEnabled && student.RequiresGrad;
        using var sc = student.ContiguousRaw();
        using var tc = teacher.ContiguousRaw();
        if (teacherIsProbabilities && !cuda)   // CUDA teachers are checked by the kernel (KlDivDistillCuda)
        {
            float* pt = tc.DataPtr;
            for (int r = 0; r < b; r++)
            {
                double sum = 0;
                for (int i = 0; i < c; i++)
                {
                    float v = pt[(long)r * c + i];
                    if (!(v >= 0f) || !float.IsFinite(v))
                        throw new ArgumentOutOfRangeException(nameof(teacher), v, TeacherProbabilityBad(op, v, r, i) + ".");
                    sum += v;
                }
                if (!(sum > 0)) throw new ArgumentException(TeacherRowZero(op, r) + ".", nameof(teacher));
            }
        }

        var unit = needS ? Tensor.Empty([b, c], DType.Float32, sc.Device) : null;   // p - q
        double invT = 1.0 / temperature, t2 = (double)temperature * temperature;
        var result = cuda ? KlDivDistillCuda(sc, tc, invT, teacherIsProbabilities, unit, t2) : KlDivDistillCpu(sc, tc, invT, teacherIsProbabilities, unit, t2);
        // Only the student is an input of the recorded op: the teacher is a constant by design.
        return BackwardPass.Record(result, op, [student], g =>
        {
            var ds = ScaleRows(unit!, g, Reduction.Sum, b, temperature / (double)b);
            unit!.Dispose();
            return [ds];
        });
    }

    // Messages of bad teacher probabilities (CPU, and CUDA at the next sync).
    static string TeacherProbabilityBad(string op, float v, long r, long i) => $"{op}: teacher probability {v} at ({r}, {i}) is negative or not finite";
    static string TeacherRowZero(string op, long r) => $"{op}: teacher probabilities of row {r} sum to 0";

    // T^2 / B * sum_b KL(q_b || p_b) of contiguous (B, C) student sc and teacher tc; fills unit = p - q when given.
    static Tensor KlDivDistillCpu(Tensor sc, Tensor tc, double invT, bool teacherIsProbabilities, Tensor? unit, double t2)
    {
        int b = sc.Shape[0], c = sc.Shape[1];
        float* ps = sc.DataPtr, pt = tc.DataPtr;
        float* pu = unit is null ? null : unit.DataPtr;
        double total = 0;
        double[] zs = new double[c], zt = new double[c], p = new double[c], q = new double[c];
        for (int r = 0; r < b; r++)
        {
            long o = (long)r * c;
            for (int i = 0; i < c; i++)
            {
                zs[i] = ps[o + i] * invT;
                // softmax(log(π) / T) = π^(1/T) normalised; log 0 = -inf gives q = 0.
                zt[i] = (teacherIsProbabilities ? Math.Log(pt[o + i]) : pt[o + i]) * invT;
            }
            double lseS = SoftmaxRow(zs, p), lseT = SoftmaxRow(zt, q);
            for (int i = 0; i < c; i++)
            {
                if (q[i] > 0) total += q[i] * ((zt[i] - lseT) - (zs[i] - lseS));   // 0 log 0 = 0, as F.kl_div
                if (pu != null) pu[o + i] = (float)(p[i] - q[i]);
            }
        }

        return Tensor.Scalar((float)(t2 * total / b));
    }

    // ------------------------------------------------------------------ shared helpers

    static Reduction ParseReduction(string reduction, string op) => reduction switch
    {
        "mean" => Reduction.Mean,
        "sum" => Reduction.Sum,
        "none" => Reduction.None,
        _ => throw new ArgumentException($"{op}: reduction must be \"mean\", \"sum\" or \"none\", got \"{reduction}\".", nameof(reduction)),
    };

    static void RequireFloat(Tensor t, string op, string what, string expected)
    {
        if (t.DType != DType.Float32)
            throw new ArgumentException($"{op}: {what} must be float32 {expected}, got {t.Describe()}.");
    }

    static void RequireSameShape(Tensor t, Tensor like, string op, string what)
    {
        if (t.DType != DType.Float32 || !Tensor.SameShape(t.Shape, like.Shape))
            throw new ArgumentException($"{op}: {what} must be float32 with shape {Tensor.FormatShape(like.Shape)} (that of {like.Describe()}), got {t.Describe()}.");
    }

    static void CheckSmoothing(float ls, string op)
    {
        if (!(ls >= 0f && ls <= 1f))
            throw new ArgumentOutOfRangeException("labelSmoothing", ls, $"{op}: label smoothing must be in [0, 1].");
    }

    // The op's output: the per-position losses for "none", else the 0-d total or mean.
    // A mean over zero positions is NaN, as in PyTorch.
    static Tensor Reduce(Tensor? perPosition, double total, long count, Reduction red) => red switch
    {
        Reduction.None => perPosition!,
        Reduction.Sum => Tensor.Scalar((float)total),
        _ => Tensor.Scalar((float)(total / count)),
    };

    // Returns log(sum_i exp(z_i)) and writes p = softmax(z), with max subtraction and one exp per
    // element (the losses need both). -inf entries get p = 0; NaN propagates.
    static double SoftmaxRow(ReadOnlySpan<double> z, Span<double> p)
    {
        double m = double.NegativeInfinity;
        foreach (var v in z) if (v > m) m = v;
        if (double.IsNegativeInfinity(m)) { p.Clear(); return m; }
        double s = 0;
        for (int i = 0; i < z.Length; i++) s += p[i] = Math.Exp(z[i] - m);
        double inv = 1.0 / s;
        for (int i = 0; i < z.Length; i++) p[i] *= inv;
        return m + Math.Log(s);
    }

    // log(1 + e) accurate for tiny e (Math.Log(1 + e) loses e below 1e-16; double.LogP1 is that
    // naive form): the classic correction log(u) * e / (u - 1) with u = 1 + e rounded.
    static double Log1p(double e)
    {
        double u = 1.0 + e;
        return u == 1.0 ? e : Math.Log(u) * e / (u - 1.0);
    }

    // Backward of a reduced loss: the unit gradient (rows, k) times each position's upstream
    // gradient (g for "sum", g / rows for "mean", g[r] for "none") times a constant factor.
    static Tensor ScaleRows(Tensor unit, Tensor g, Reduction red, long rows, double factor)
    {
        if (!unit.Device.IsCpu) return ScaleRowsCuda(unit, g, red, rows, factor);
        var d = Tensor.Empty(unit.ShapeArray);
        using var gc = g.ContiguousRaw();
        float* pu = unit.DataPtr, pd = d.DataPtr, pg = gc.DataPtr;
        if (red != Reduction.None)
        {
            double s = pg[0] * factor / (red == Reduction.Mean ? rows : 1);
            ElementwiseLoops.Unary(new ScaleOp((float)s), pu, pd, unit.Numel);
            return d;
        }
        long k = rows == 0 ? 0 : unit.Numel / rows;
        if (k == 1)
        {
            // Elementwise losses: one vector multiply by g, then the factor.
            ElementwiseLoops.Binary(new MulOp(), pu, pg, pd, rows, Simd.Best);
            if (factor != 1.0) ElementwiseLoops.Unary(new ScaleOp((float)factor), pd, pd, rows);
        }
        else
        {
            for (long r = 0; r < rows; r++)
                ElementwiseLoops.Unary(new ScaleOp((float)(pg[r] * factor)), pu + r * k, pd + r * k, k);
        }
        return d;
    }
}

// The optimizer base: holds the parameter list, the per-parameter state tensors (by slot
// name: "exp_avg", "momentum_buffer", ...) and step counters, and runs the one shared loop
// over parameters; each algorithm supplies only its fused per-element update.
//
// Why spans and one fused loop per parameter: an update written with tensor ops would make
// several full-size temporaries per parameter per step; the fused loop reads and writes each
// element once and allocates nothing, so a training step's memory is the model's, not the optimizer's.

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cochlea.Optim;

/// <summary>
/// Base of the optimizers. <see cref="Step"/> updates every parameter that has a gradient;
/// <see cref="ZeroGrad"/> clears the gradients. State tensors are created on a parameter's first
/// update, outside any <see cref="TensorScope"/>, and freed by <see cref="Dispose"/>.
/// </summary>
public abstract class Optimizer : IDisposable
{
    readonly Tensor[] _params;
    readonly string[] _slots;
    readonly Tensor?[]?[] _state;  // [parameter][slot]; null until the parameter's first update
    readonly long[] _steps;        // updates applied to each parameter (PyTorch's state["step"])
    float _lr;
    bool _disposed;

    /// <summary>
    /// Takes the parameters to optimise (each a float32, contiguous leaf, listed once), the learning rate,
    /// and the names of the per-parameter state tensors this algorithm keeps (PyTorch's names; at most 3).
    /// </summary>
    protected Optimizer(IEnumerable<Tensor> parameters, float lr, params string[] stateSlots)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(stateSlots);
        _params = parameters.ToArray();
        string name = GetType().Name;
        if (_params.Length == 0) throw new ArgumentException($"{name}: got an empty parameter list (pass model.Parameters()).", nameof(parameters));
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i] ?? throw new ArgumentException($"{name}: parameter {i} is null.", nameof(parameters));
            if (p.IsDisposed) throw new ArgumentException($"{name}: parameter {i} is disposed.", nameof(parameters));
            if (p.DType != DType.Float32 || !p.IsContiguous || !p.IsLeaf)
                throw new ArgumentException($"{name}: parameter {i} ({p.Describe()}) must be a contiguous float32 leaf tensor.", nameof(parameters));
            if (!seen.Add(p)) throw new ArgumentException($"{name}: parameter {i} ({p.Describe()}) appears more than once.", nameof(parameters));
        }
        if (stateSlots.Length > 3) throw new ArgumentException($"{name}: at most 3 state slots are supported by the shared update loop, got {stateSlots.Length}.", nameof(stateSlots));
        _slots = stateSlots;
        _state = new Tensor?[_params.Length][];
        _steps = new long[_params.Length];
        LearningRate = lr;
    }

    /// <summary>The parameters being optimised, in the order given (state is indexed by this order).</summary>
    public IReadOnlyList<Tensor> Parameters => _params;

    /// <summary>Names of the per-parameter state tensors (e.g. "exp_avg", "exp_avg_sq").</summary>
    public IReadOnlyList<string> StateSlots => _slots;

    /// <summary>Learning rate used by the next <see cref="Step"/> (overwritten by <see cref="Schedule"/> when set). Finite, >= 0.</summary>
    public float LearningRate
    {
        get => _lr;
        set
        {
            if (!float.IsFinite(value) || value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, $"{GetType().Name}: the learning rate must be finite and >= 0.");
            _lr = value;
        }
    }

    /// <summary>Optional schedule: when set, each <see cref="Step"/> first sets <c>LearningRate = Schedule.At(StepCount)</c>.</summary>
    public LrSchedule? Schedule { get; set; }

    /// <summary>Number of completed <see cref="Step"/> calls (restored from checkpoints, so schedules resume).</summary>
    public long StepCount { get; private set; }

    /// <summary>Hyperparameters by PyTorch's names ("lr", "betas.0", "weight_decay", ...), for logs and checkpoint metadata.</summary>
    public abstract IReadOnlyDictionary<string, double> Hyperparameters { get; }

    /// <summary>
    /// Updates every parameter whose <c>Grad</c> is set (parameters without a gradient are skipped and their
    /// state is left untouched, as in PyTorch). Not recorded in any graph.
    /// </summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Validate every gradient first, so a bad one cannot leave the parameters half updated.
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            var g = p.Grad;
            if (p.IsDisposed) throw new ObjectDisposedException(p.Describe(), $"{GetType().Name}.Step: parameter {i} was disposed (was its module disposed?).");
            if (g is null) continue;
            if (g.IsDisposed) throw new InvalidOperationException($"{GetType().Name}.Step: the gradient of parameter {i} ({p.Describe()}) was disposed but not cleared; use ZeroGrad().");
            if (!Tensor.SameShape(g.Shape, p.Shape) || g.DType != DType.Float32 || !g.IsContiguous)
                throw new InvalidOperationException($"{GetType().Name}.Step: the gradient of parameter {i} must be a contiguous float32 tensor of shape {Tensor.FormatShape(p.Shape)}, got {g.Describe()}.");
            if (g.Device != p.Device)
                throw new InvalidOperationException($"{GetType().Name}.Step: the gradient of parameter {i} ({p.Describe()}) is on {g.Device}, the parameter on {p.Device}; they must be on one device.");
        }
        if (Schedule is not null) LearningRate = Schedule.At(StepCount);
        try
        {
            for (int i = 0; i < _params.Length; i++)
            {
                var p = _params[i];
                var g = p.Grad;
                if (g is null) continue;
                bool fresh = _state[i] is null;
                if (fresh) _state[i] = CreateState(p);
                _steps[i]++;
                Update(new ParamView(p, g, _state[i]!), _steps[i], fresh);
            }
        }
        // Also when a state allocation fails part way: parameters whose step was counted get their queued update.
        finally { EndStep(); }
        StepCount++;
    }

    /// <summary>
    /// Called once per <see cref="Step"/> after <see cref="Update"/> has seen every parameter with a gradient: an
    /// algorithm that queued updates there (e.g. CUDA parameters batched into one launch) applies them here.
    /// </summary>
    protected virtual void EndStep() { }

    Tensor?[] CreateState(Tensor p)
    {
        var row = new Tensor?[_slots.Length];
        // Suspend: state lives as long as the optimizer, even when Step() runs inside a step scope.
        using (TensorScope.Suspend())
            for (int s = 0; s < _slots.Length; s++) row[s] = Tensor.Full(p.Device, InitialState(s), p.ShapeArray); // on the parameter's device
        return row;
    }

    /// <summary>The value every element of state slot <paramref name="slot"/> starts at (0 unless overridden).</summary>
    protected virtual float InitialState(int slot) => 0f;

    /// <summary>
    /// The algorithm: updates the parameter of <paramref name="param"/> in place from its gradient and state slots,
    /// usually by building its <see cref="IElementUpdate"/> and calling <see cref="ForEachElement"/>.
    /// <paramref name="step"/> counts this parameter's updates from 1; <paramref name="fresh"/> is true on its first
    /// update (state just created).
    /// </summary>
    protected abstract void Update(ParamView param, long step, bool fresh);

    /// <summary>One parameter during <see cref="Step"/>: its elements, its gradient's, and its state slots (contiguous, same length).</summary>
    protected readonly unsafe ref struct ParamView
    {
        readonly Tensor _p, _g;
        readonly Tensor?[] _row;
        internal ParamView(Tensor p, Tensor g, Tensor?[] row) { _p = p; _g = g; _row = row; }

        /// <summary>Number of elements.</summary>
        public int Length => checked((int)_p.Numel);
        /// <summary>The parameter's elements.</summary>
        public Span<float> Param => _p.AsSpan();
        /// <summary>The gradient's elements.</summary>
        public ReadOnlySpan<float> Grad => _g.AsSpan();
        /// <summary>The elements of state slot <paramref name="slot"/> (the order of <see cref="StateSlots"/>).</summary>
        public Span<float> this[int slot] => _row[slot]!.AsSpan();
        /// <summary>False when the parameter lives on a GPU: the update then runs as a CUDA kernel.</summary>
        internal bool OnCpu => _p.Device.IsCpu;
        internal Tensor ParamTensor => _p;
        internal Tensor GradTensor => _g;
        internal Tensor? SlotTensor(int s) => s < _row.Length ? _row[s] : null;
        internal float* P => _p.DataPtr;
        internal float* G => _g.DataPtr;
        // Tensor memory is native and never moves, so raw pointers are safe while the tensors live.
        internal float* Slot(int s) => s < _row.Length ? _row[s]!.DataPtr : null;
    }

    /// <summary>
    /// An optimizer's per-element update, written once for a vector of lanes: <c>p</c> is updated in place
    /// from gradient <c>g</c> and state slots <c>s0</c>..<c>s2</c> (slots the
    /// optimizer does not have are scratch values). Only lane-wise IEEE operations (no fused multiply-add), so every
    /// vector width gives the same bits as a scalar loop.
    /// </summary>
    protected interface IElementUpdate
    {
        /// <summary>Updates one vector of lanes.</summary>
        void Invoke(ref Vector<float> p, Vector<float> g, ref Vector<float> s0, ref Vector<float> s1, ref Vector<float> s2);
    }

    // Elements per thread below which splitting across threads costs more than it saves.
    const int MinElementsPerThread = 1 << 16;

    /// <summary>
    /// The loop shared by every optimizer: applies <paramref name="op"/> to all elements of <paramref name="param"/>,
    /// Vector&lt;float&gt;.Count lanes at a time, the tail through a zero-padded vector, split across
    /// <see cref="Kernels.Threading.KernelThreads"/> for large parameters (elementwise, so the result does not depend on the split).
    /// </summary>
    protected static unsafe void ForEachElement<TOp>(TOp op, ParamView param) where TOp : struct, IElementUpdate
    {
        int n = param.Length, w = Vector<float>.Count;
        nint p = (nint)param.P, g = (nint)param.G, s0 = (nint)param.Slot(0), s1 = (nint)param.Slot(1), s2 = (nint)param.Slot(2);
        int blocks = n / w;
        if (blocks * w < 2 * MinElementsPerThread || Kernels.Threading.KernelThreads.Count == 1)
            Blocks(op, p, g, s0, s1, s2, 0, blocks);
        else
            Kernels.Threading.KernelThreads.For(blocks, MinElementsPerThread / w, (b0, b1) => Blocks(op, p, g, s0, s1, s2, b0, b1));
        int done = blocks * w;
        if (done < n) Tail(op, p, g, s0, s1, s2, done, n - done);
    }

    static unsafe void Blocks<TOp>(TOp op, nint p, nint g, nint s0, nint s1, nint s2, int b0, int b1) where TOp : struct, IElementUpdate
    {
        int w = Vector<float>.Count;
        Vector<float> z0 = default, z1 = default, z2 = default;
        for (int b = b0; b < b1; b++)
        {
            int i = b * w;
            ref var vp = ref Unsafe.AsRef<Vector<float>>((float*)p + i);
            // Absent slots point at a scratch vector, so the op struct never tests for them.
            ref var v0 = ref s0 != 0 ? ref Unsafe.AsRef<Vector<float>>((float*)s0 + i) : ref z0;
            ref var v1 = ref s1 != 0 ? ref Unsafe.AsRef<Vector<float>>((float*)s1 + i) : ref z1;
            ref var v2 = ref s2 != 0 ? ref Unsafe.AsRef<Vector<float>>((float*)s2 + i) : ref z2;
            op.Invoke(ref vp, Unsafe.ReadUnaligned<Vector<float>>((float*)g + i), ref v0, ref v1, ref v2);
        }
    }

    // The last n % lanes elements: copied into zero-padded vectors, updated, copied back (padding lanes discarded).
    static void Tail<TOp>(TOp op, nint p, nint g, nint s0, nint s1, nint s2, int start, int count) where TOp : struct, IElementUpdate
    {
        Vector<float> vp = default, vg = default, v0 = default, v1 = default, v2 = default;
        Load(p, start, count, ref vp); Load(g, start, count, ref vg);
        Load(s0, start, count, ref v0); Load(s1, start, count, ref v1); Load(s2, start, count, ref v2);
        op.Invoke(ref vp, vg, ref v0, ref v1, ref v2);
        Store(p, start, count, ref vp);
        Store(s0, start, count, ref v0); Store(s1, start, count, ref v1); Store(s2, start, count, ref v2);
    }

    static Span<float> Lanes(ref Vector<float> v) => MemoryMarshal.Cast<Vector<float>, float>(new Span<Vector<float>>(ref v));

    static unsafe void Load(nint src, int start, int count, ref Vector<float> v)
    {
        if (src != 0) new Span<float>((float*)src + start, count).CopyTo(Lanes(ref v));
    }

    static unsafe void Store(nint dst, int start, int count, ref Vector<float> v)
    {
        if (dst != 0) Lanes(ref v)[..count].CopyTo(new Span<float>((float*)dst + start, count));
    }

    /// <summary>Clears the parameters' gradients: disposes them and sets Grad = null (default), or zero-fills them.</summary>
    public void ZeroGrad(bool setToNone = true) => GradUtil.ZeroGrad(_params, setToNone);

    // ------------------------------------------------------------------ state for checkpoints

    /// <summary>
    /// The optimizer's state: type, learning rate, step counters and the state tensors keyed "{index}.{slot}"
    /// (e.g. "0.exp_avg"), only for parameters updated at least once. The tensors are the optimizer's own:
    /// do not dispose them.
    /// </summary>
    public OptimizerState StateDict()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tensors = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < _params.Length; i++)
            if (_state[i] is { } row)
                for (int s = 0; s < _slots.Length; s++) tensors.Add($"{i}.{_slots[s]}", row[s]!);
        return new OptimizerState(GetType().Name, LearningRate, StepCount, (long[])_steps.Clone(), tensors, Hyperparameters);
    }

    /// <summary>
    /// Restores state saved by <see cref="StateDict"/> from an optimizer of the same type over parameters of the
    /// same shapes (values are copied). Everything is validated first; on error nothing changes.
    /// </summary>
    /// <exception cref="ArgumentException">Different type or parameter count, unknown or missing state tensors, or shape mismatch (the message names each).</exception>
    public void LoadState(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ObjectDisposedException.ThrowIf(_disposed, this);
        string name = GetType().Name;
        if (state.Type != name) throw new ArgumentException($"{name}.LoadState: the state was saved by {state.Type}, not {name}.", nameof(state));
        if (state.ParameterSteps.Count != _params.Length)
            throw new ArgumentException($"{name}.LoadState: the state is for {state.ParameterSteps.Count} parameters, this optimizer has {_params.Length}.", nameof(state));
        var errors = new List<string>();
        var found = new Tensor?[_params.Length, _slots.Length];
        foreach (var (key, t) in state.Tensors)
        {
            int dot = key.IndexOf('.');
            int slot = dot > 0 ? Array.IndexOf(_slots, key[(dot + 1)..]) : -1;
            if (dot <= 0 || !int.TryParse(key.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i) || i >= _params.Length || slot < 0)
            {
                errors.Add($"unexpected state tensor '{key}' (expected '<index < {_params.Length}>.<{string.Join("|", _slots)}>')");
                continue;
            }
            if (t is null || t.IsDisposed || t.DType != DType.Float32 || !Tensor.SameShape(t.Shape, _params[i].Shape))
                errors.Add($"state tensor '{key}' is {t?.Describe() ?? "null"}; expected float32 of shape {Tensor.FormatShape(_params[i].Shape)}");
            else found[i, slot] = t;
        }
        for (int i = 0; i < _params.Length; i++)
        {
            long steps = state.ParameterSteps[i];
            if (steps < 0) errors.Add($"parameter {i} has a negative step count {steps}");
            for (int s = 0; s < _slots.Length; s++)
            {
                // A parameter that was updated must have every slot; one that was not must have none.
                if (steps > 0 && _slots.Length > 0 && found[i, s] is null) errors.Add($"missing state tensor '{i}.{_slots[s]}' (parameter {i} was updated {steps} times)");
                if (steps == 0 && found[i, s] is not null) errors.Add($"state tensor '{i}.{_slots[s]}' given for parameter {i}, which has step count 0");
            }
        }
        if (state.StepCount < 0) errors.Add($"negative optimizer step count {state.StepCount}");
        if (!float.IsFinite(state.LearningRate) || state.LearningRate < 0) errors.Add($"invalid learning rate {state.LearningRate}");
        if (errors.Count > 0)
            throw new ArgumentException($"{name}.LoadState: the state does not fit this optimizer:\n\t" + string.Join("\n\t", errors), nameof(state));

        for (int i = 0; i < _params.Length; i++)
        {
            _steps[i] = state.ParameterSteps[i];
            if (_steps[i] == 0) { FreeState(i); continue; }
            _state[i] ??= CreateState(_params[i]);
            for (int s = 0; s < _slots.Length; s++) found[i, s]!.CopyTo(_state[i]![s]!);
        }
        LearningRate = state.LearningRate;
        StepCount = state.StepCount;
    }

    void FreeState(int i)
    {
        if (_state[i] is { } row) foreach (var t in row) t?.Dispose();
        _state[i] = null;
    }

    // ------------------------------------------------------------------ helpers for subclasses

    /// <summary>Throws unless <paramref name="value"/> is finite and within [<paramref name="lo"/>, <paramref name="hi"/>] (or below hi when <paramref name="hiOpen"/>).</summary>
    protected void Require(float value, string what, float lo, float hi, bool hiOpen = false)
    {
        bool ok = float.IsFinite(value) && value >= lo && (hiOpen ? value < hi : value <= hi);
        if (!ok) throw new ArgumentOutOfRangeException(what, value, $"{GetType().Name}: {what} must be in [{lo}, {hi}{(hiOpen ? ")" : "]")}.");
    }

    /// <summary>Frees the state tensors (not the parameters, which belong to the model). Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        for (int i = 0; i < _params.Length; i++) FreeState(i);
        GC.SuppressFinalize(this);
    }
}

/// <summary>A snapshot of an optimizer for checkpoints (see <see cref="Optimizer.StateDict"/>).</summary>
/// <param name="Type">The optimizer class name ("Adam").</param>
/// <param name="LearningRate">The current learning rate.</param>
/// <param name="StepCount">Completed Step() calls.</param>
/// <param name="ParameterSteps">Updates applied to each parameter (0 for never updated).</param>
/// <param name="Tensors">State tensors keyed "{parameter index}.{slot}", e.g. "3.exp_avg_sq".</param>
/// <param name="Hyperparameters">Informational: the hyperparameters by PyTorch's names (not restored by LoadState).</param>
public sealed record OptimizerState(
    string Type, float LearningRate, long StepCount, IReadOnlyList<long> ParameterSteps,
    IReadOnlyDictionary<string, Tensor> Tensors, IReadOnlyDictionary<string, double> Hyperparameters);

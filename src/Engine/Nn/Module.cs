// The base of every layer and model: explicitly registered parameters, buffers and child
// modules, named and ordered exactly like PyTorch's state_dict ("fc1.weight", "0.bias",
// "bn.running_mean"), so checkpoints move between Cochlea and torch unchanged.
//
// Why explicit registration instead of reflection over fields: the order of a state_dict is
// the order of registration in PyTorch, and reflection order in .NET is not specified. One
// RegisterParameter call per tensor in the constructor is also what a reader looks for.
using System.Text;
using Cochlea.Optim;

namespace Cochlea.Nn;

/// <summary>
/// A layer or model: owns parameters (trainable leaves), buffers (state such as running
/// statistics) and child modules. Subclasses register them in the constructor with
/// <see cref="RegisterParameter"/>, <see cref="RegisterBuffer"/> and <see cref="RegisterModule{T}"/>
/// and implement <see cref="Forward"/>.
/// </summary>
/// <remarks>
/// Names join with '.' like PyTorch: a parameter "weight" of the child "fc1" is "fc1.weight".
/// <see cref="StateDict"/> lists, for each module in pre-order, its own parameters, then its own
/// persistent buffers, then its children's entries: PyTorch's order.
/// Parameters and buffers are kept out of any <see cref="TensorScope"/>, so a module built
/// inside a scope survives it; dispose the module to free them.
/// </remarks>
public abstract class Module : IDisposable
{
    readonly OrderedDictionary<string, Tensor> _parameters = new(StringComparer.Ordinal);
    readonly OrderedDictionary<string, (Tensor Tensor, bool Persistent)> _buffers = new(StringComparer.Ordinal);
    readonly OrderedDictionary<string, Module> _children = new(StringComparer.Ordinal);
    readonly List<Cochlea.Memory.IDerivedCache> _caches = [];
    bool _disposed;

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>. Dropout and batch norm read it.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Computes the module's output for input <paramref name="x"/>.</summary>
    public abstract Tensor Forward(Tensor x);

    // ------------------------------------------------------------------ registration

    /// <summary>
    /// Registers <paramref name="tensor"/> as the trainable parameter <paramref name="name"/> and returns it.
    /// The tensor must be a float32 leaf; it is taken out of any scope (the module owns it from now on)
    /// and gets <c>RequiresGrad = true</c>.
    /// </summary>
    protected Tensor RegisterParameter(string name, Tensor tensor)
    {
        CheckNewName(name, "parameter");
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.IsDisposed) throw new ArgumentException($"{GetType().Name}: parameter '{name}' is a disposed tensor.", nameof(tensor));
        if (tensor.DType != DType.Float32) throw new ArgumentException($"{GetType().Name}: parameter '{name}' must be float32, got {tensor.Describe()}.", nameof(tensor));
        if (!tensor.IsLeaf) throw new ArgumentException($"{GetType().Name}: parameter '{name}' must be a leaf tensor (not the result of a recorded op); pass x.Detach() or create it under Tensor.NoGrad().", nameof(tensor));
        // Keep(): the module owns it now, even if it was created inside a Tensor.Scope().
        tensor.Keep();
        tensor.RequiresGrad = true;
        tensor.Name ??= name;
        _parameters.Add(name, tensor);
        return tensor;
    }

    /// <summary>
    /// Registers <paramref name="tensor"/> as the buffer <paramref name="name"/> (state that is not trained,
    /// e.g. running statistics) and returns it. Persistent buffers appear in <see cref="StateDict"/>;
    /// non-persistent ones do not. The module owns and disposes it.
    /// </summary>
    protected Tensor RegisterBuffer(string name, Tensor tensor, bool persistent = true)
    {
        CheckNewName(name, "buffer");
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.IsDisposed) throw new ArgumentException($"{GetType().Name}: buffer '{name}' is a disposed tensor.", nameof(tensor));
        if (tensor.RequiresGrad) throw new ArgumentException($"{GetType().Name}: buffer '{name}' requires gradients; buffers are not trained (register it as a parameter, or pass x.Detach()).", nameof(tensor));
        tensor.Keep();
        tensor.Name ??= name;
        _buffers.Add(name, (tensor, persistent));
        return tensor;
    }

    /// <summary>Registers <paramref name="module"/> as the child <paramref name="name"/> and returns it. The parent disposes it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckNewName(name, "module");
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this) || module.NamedModules().Any(m => ReferenceEquals(m.Module, this)))
            throw new ArgumentException($"{GetType().Name}: registering '{name}' would make the module tree cyclic.", nameof(module));
        _children.Add(name, module);
        module.Train(IsTraining);
        return module;
    }

    /// <summary>
    /// Registers a cache of data derived from this module's parameters (e.g. a <see cref="Cochlea.Memory.PackedWeightCache"/>
    /// for eval-mode inference) and returns it. The module clears it on <see cref="Train"/>(true) (training changes the
    /// weights every step, so the memory is given back) and on <see cref="To"/>, and disposes it with the module.
    /// </summary>
    protected T RegisterCache<T>(T cache) where T : Cochlea.Memory.IDerivedCache
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(cache);
        _caches.Add(cache);
        return cache;
    }

    void CheckNewName(string name, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{GetType().Name}: a {what} name must be non-empty.", nameof(name));
        if (name.Contains('.')) throw new ArgumentException($"{GetType().Name}: {what} name '{name}' must not contain '.' (dots join names of nested modules).", nameof(name));
        if (_parameters.ContainsKey(name) || _buffers.ContainsKey(name) || _children.ContainsKey(name))
            throw new ArgumentException($"{GetType().Name}: the name '{name}' is already used by a parameter, buffer or child module.", nameof(name));
    }

    // ------------------------------------------------------------------ traversal

    /// <summary>This module's direct children, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        foreach (var (n, m) in _children) yield return (n, m);
    }

    /// <summary>This module and all descendants in pre-order; the root has the name "" and the others their dotted paths.</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules()
    {
        yield return ("", this);
        foreach (var (n, child) in _children)
            foreach (var (sub, m) in child.NamedModules())
                yield return (sub.Length == 0 ? n : n + "." + sub, m);
    }

    /// <summary>All parameters (this module's first, then each child's), in state_dict order, each once.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Tensor);

    /// <summary>
    /// All parameters with their dotted names ("fc1.weight"), in state_dict order. A tensor shared by two modules
    /// (tied weights) is listed once, under its first name, as PyTorch's named_parameters does.
    /// </summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedParameters()
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, m) in NamedModules())
            foreach (var (n, t) in m._parameters)
                if (seen.Add(t)) yield return (Join(prefix, n), t);
    }

    /// <summary>All buffers (persistent or not) with their dotted names, in state_dict order.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedBuffers()
    {
        foreach (var (prefix, m) in NamedModules())
            foreach (var (n, b) in m._buffers)
                yield return (Join(prefix, n), b.Tensor);
    }

    static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Number of trainable elements: the sum of Numel over <see cref="Parameters"/>.</summary>
    public long ParameterCount => Parameters().Sum(p => p.Numel);

    // ------------------------------------------------------------------ state dict

    /// <summary>
    /// Name -> tensor for every parameter and persistent buffer, in PyTorch's state_dict order
    /// (per module in pre-order: parameters, then buffers). The tensors are the module's own,
    /// not copies: do not dispose them; clone one to keep a snapshot.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var d = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (prefix, m) in NamedModules())
        {
            foreach (var (n, t) in m._parameters) d.Add(Join(prefix, n), t);
            foreach (var (n, b) in m._buffers)
                if (b.Persistent) d.Add(Join(prefix, n), b.Tensor);
        }
        return d;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's parameters and persistent buffers, by name.
    /// With <paramref name="strict"/>, every key must match (no missing, no unexpected ones). Shapes and dtypes
    /// must always match. Everything is checked before anything is copied, so a failed load changes nothing.
    /// </summary>
    /// <returns>The keys that were missing from <paramref name="state"/> and the keys it had that this module lacks (both empty when strict).</returns>
    /// <exception cref="StateDictMismatchException">Missing or unexpected keys (strict), or a shape/dtype mismatch; the message names every offending key.</exception>
    public StateDictLoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var own = StateDict();
        var plan = Match(own, state.Keys, name => (state[name].ShapeArray.Select(d => (long)d).ToArray(), state[name].DType), strict);
        foreach (var name in plan.Matched)
        {
            var src = state[name];
            if (src.IsDisposed) throw new ArgumentException($"LoadStateDict: the tensor for '{name}' was disposed.", nameof(state));
            src.CopyTo(own[name]);
        }
        return plan.Result;
    }

    /// <summary>What a state-dict source matched in this module: the keys to copy, and the report.</summary>
    internal readonly record struct LoadPlan(List<string> Matched, StateDictLoadResult Result);

    /// <summary>
    /// Matches source keys (with their shapes and dtypes) against <paramref name="own"/>; throws a
    /// <see cref="StateDictMismatchException"/> naming every problem. Shared by <see cref="LoadStateDict"/> and checkpoint loading.
    /// </summary>
    internal LoadPlan Match(OrderedDictionary<string, Tensor> own, IEnumerable<string> sourceKeys, Func<string, (long[] Shape, DType DType)> describe, bool strict)
    {
        var keys = sourceKeys.ToHashSet(StringComparer.Ordinal);
        var missing = own.Keys.Where(k => !keys.Contains(k)).ToList();
        var unexpected = keys.Where(k => !own.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
        var mismatched = new List<string>();
        var matched = new List<string>();
        foreach (var (name, t) in own)
        {
            if (!keys.Contains(name)) continue;
            var (shape, dtype) = describe(name);
            if (!shape.SequenceEqual(t.ShapeArray.Select(d => (long)d)))
                mismatched.Add($"size mismatch for {name}: copying a tensor of shape ({string.Join(", ", shape)}) from the checkpoint, the shape in the current model is {Tensor.FormatShape(t.Shape)}.");
            else if (dtype != t.DType)
                mismatched.Add($"dtype mismatch for {name}: the checkpoint has {dtype}, the current model has {t.DType}.");
            else matched.Add(name);
        }
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictMismatchException(GetType().Name, strict ? missing : [], strict ? unexpected : [], mismatched);
        return new LoadPlan(matched, new StateDictLoadResult(missing, unexpected));
    }

    // ------------------------------------------------------------------ devices

    /// <summary>
    /// Moves every parameter (with its gradient) and buffer of this module and its descendants to
    /// <paramref name="device"/>, in place: the tensor objects stay the same (leaves with RequiresGrad, so an
    /// optimizer built before still updates them), their memory moves. Returns this module.
    /// </summary>
    /// <exception cref="Cochlea.Cuda.CudaException">The target is a CUDA device and CUDA is unavailable (the message says why).</exception>
    public Module To(Device device)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var (_, m) in NamedModules())
        {
            foreach (var c in m._caches) c.Clear();
            foreach (var (_, p) in m._parameters) p.MoveTo(device);
            foreach (var (_, b) in m._buffers) b.Tensor.MoveTo(device);
        }
        return this;
    }

    // ------------------------------------------------------------------ modes and gradients

    /// <summary>Sets training mode on this module and every descendant; returns this module.</summary>
    public Module Train(bool on = true)
    {
        IsTraining = on;
        if (on) foreach (var c in _caches) c.Clear();
        foreach (var (_, m) in _children) m.Train(on);
        return this;
    }

    /// <summary>Sets evaluation mode (<c>Train(false)</c>) on this module and every descendant; returns this module.</summary>
    public Module Eval() => Train(false);

    /// <summary>
    /// True (the default) when this module keeps data derived from its weights between eval-mode calls (e.g. weights
    /// packed for the GEMM: faster inference, about one more copy of the weights in memory). See <see cref="CacheDerivedData"/>.
    /// </summary>
    public bool CachesDerivedData { get; private set; } = true;

    /// <summary>Turns the derived-data caches of this module and every descendant on or off (off frees them); returns this module.</summary>
    public Module CacheDerivedData(bool on = true)
    {
        CachesDerivedData = on;
        if (!on) foreach (var c in _caches) c.Clear();
        foreach (var (_, m) in _children) m.CacheDerivedData(on);
        return this;
    }

    /// <summary>Whether <see cref="Forward"/> should use the registered caches now: eval mode with <see cref="CachesDerivedData"/>.</summary>
    protected bool UseDerivedCaches => !IsTraining && CachesDerivedData;

    /// <summary>
    /// Clears the gradients of every parameter: disposes them and sets <c>Grad = null</c> (the default, as
    /// PyTorch's set_to_none), or fills them with zeros when <paramref name="setToNone"/> is false.
    /// </summary>
    public void ZeroGrad(bool setToNone = true) => GradUtil.ZeroGrad(Parameters(), setToNone);

    // ------------------------------------------------------------------ printing

    /// <summary>The text shown between the parentheses of this module's line in <see cref="ToString"/> (e.g. "in_features=3, out_features=5").</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>PyTorch-style tree: <c>Sequential(\n  (0): Linear(in_features=3, out_features=5, bias=True)\n ...)</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Print(sb, 0);
        return sb.ToString();
    }

    void Print(StringBuilder sb, int indent)
    {
        sb.Append(GetType().Name).Append('(').Append(ExtraRepr());
        if (_children.Count > 0)
        {
            sb.Append('\n');
            foreach (var (n, m) in _children)
            {
                sb.Append(' ', indent + 2).Append('(').Append(n).Append("): ");
                m.Print(sb, indent + 2);
                sb.Append('\n');
            }
            sb.Append(' ', indent);
        }
        sb.Append(')');
    }

    // ------------------------------------------------------------------ lifetime

    /// <summary>True after <see cref="Dispose()"/>.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>Frees the parameters, their gradients, the buffers and every child module. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        Dispose(true);
        _disposed = true;
        GC.SuppressFinalize(this);
    }

    /// <summary>Override to free extra resources; call the base to free parameters, buffers and children.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        foreach (var c in _caches) c.Dispose();
        foreach (var (_, p) in _parameters) { p.Grad?.Dispose(); p.Grad = null; p.Dispose(); }
        foreach (var (_, b) in _buffers) b.Tensor.Dispose();
        foreach (var (_, m) in _children) m.Dispose();
    }
}

/// <summary>Keys that did not match in a non-strict <see cref="Module.LoadStateDict"/>.</summary>
/// <param name="MissingKeys">Module keys absent from the source (left unchanged).</param>
/// <param name="UnexpectedKeys">Source keys the module does not have (ignored).</param>
public sealed record StateDictLoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);

/// <summary>A state dict or checkpoint that does not fit a module: lists every missing, unexpected and mismatched key.</summary>
public sealed class StateDictMismatchException : Exception
{
    /// <summary>Keys the module has and the source lacks.</summary>
    public IReadOnlyList<string> MissingKeys { get; }
    /// <summary>Keys the source has and the module lacks.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }
    /// <summary>One message per key whose shape or dtype differs.</summary>
    public IReadOnlyList<string> Mismatches { get; }

    internal StateDictMismatchException(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatches)
        : base(Format(module, missing, unexpected, mismatches))
    {
        MissingKeys = missing; UnexpectedKeys = unexpected; Mismatches = mismatches;
    }

    static string Format(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatches)
    {
        // The layout of PyTorch's message, so the two read the same.
        var sb = new StringBuilder($"Error(s) in loading state_dict for {module}:");
        if (missing.Count > 0) sb.Append("\n\tMissing key(s): ").Append(string.Join(", ", missing.Select(k => $"\"{k}\""))).Append('.');
        if (unexpected.Count > 0) sb.Append("\n\tUnexpected key(s): ").Append(string.Join(", ", unexpected.Select(k => $"\"{k}\""))).Append('.');
        foreach (var m in mismatches) sb.Append("\n\t").Append(m);
        return sb.ToString();
    }
}

// Scopes free a training step's temporaries: every tensor created while a scope is the
// innermost one on this thread is disposed when the scope ends, unless it was Keep()'d.
// Parameters, gradients and optimizer state are created outside any scope (Suspend).
namespace Cochlea;

/// <summary>Disposes the tensors created inside it. Use <c>using var s = Tensor.Scope();</c> around a step.</summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] static TensorScope? _current;
    // The list of the last disposed scope on this thread, emptied: the next scope (the next training step) takes it,
    // so a step does not regrow a list of hundreds of tensors from 4 slots (garbage of ~2x its final size).
    [ThreadStatic] static List<Tensor>? _spare;
    const int SpareCapacityLimit = 1 << 16;

    readonly TensorScope? _parent;
    readonly List<Tensor> _owned;
    bool _disposed;

    internal TensorScope()
    {
        _owned = _spare ?? new List<Tensor>();
        _spare = null;
        _parent = _current;
        _current = this;
    }

    /// <summary>The innermost active scope on this thread, if any.</summary>
    internal static TensorScope? Current => _current;

    internal void Register(Tensor t) => _owned.Add(t);

    /// <summary>Number of tensors this scope will dispose.</summary>
    public int Count => _owned.Count(t => t.OwnerScope == this && !t.IsDisposed);

    /// <summary>Moves <paramref name="t"/> to the enclosing scope (or none), so it survives this one.</summary>
    public Tensor Promote(Tensor t)
    {
        if (t.OwnerScope == this)
        {
            t.OwnerScope = _parent;
            _parent?.Register(t);
        }
        return t;
    }

    /// <summary>Runs the block with no active scope: tensors made inside are owned by nobody (parameters, gradients, optimizer state).</summary>
    public static IDisposable Suspend() => new Suspension();

    /// <summary>Disposes every tensor still owned by this scope and restores the enclosing one.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current != this)
            throw new InvalidOperationException("Tensor scopes must be disposed innermost first (use 'using var step = Tensor.Scope();').");
        _current = _parent;
        foreach (var t in _owned)
            if (t.OwnerScope == this) t.Dispose();
        _owned.Clear();
        if (_owned.Capacity <= SpareCapacityLimit) _spare = _owned;   // a one-off huge scope does not pin its list
    }

    /// <summary>As <see cref="Suspend"/> without an object: <c>using var _ = TensorScope.SuspendHere();</c> in per-step engine paths.</summary>
    internal static Suspended SuspendHere() => new();

    internal readonly struct Suspended : IDisposable
    {
        readonly TensorScope? _saved;
        public Suspended() { _saved = _current; _current = null; }
        public void Dispose() => _current = _saved;
    }

    sealed class Suspension : IDisposable
    {
        readonly TensorScope? _saved = _current;
        public Suspension() => _current = null;
        public void Dispose() => _current = _saved;
    }
}

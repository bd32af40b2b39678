// A node of the define-by-run graph: the op's name, its inputs, and the rule that maps the
// gradient of its output to gradients of its inputs.
namespace Cochlea.Autograd;

/// <summary>Maps the output gradient to one gradient per input (null where not needed).</summary>
public delegate Tensor?[] BackwardRule(Tensor gradOutput);

/// <summary>The recorded op that produced a tensor.</summary>
public sealed class GradFn
{
    /// <summary>Op name (as in the op registry).</summary>
    public string Name { get; }

    /// <summary>The op's tensor inputs, in order.</summary>
    public Tensor[] Inputs { get; }

    internal BackwardRule Rule { get; }

    internal GradFn(string name, Tensor[] inputs, BackwardRule rule) { Name = name; Inputs = inputs; Rule = rule; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>Turns gradient recording off on this thread while it is alive (inference, optimizer updates).</summary>
public sealed class NoGradScope : IDisposable
{
    [ThreadStatic] static int _depth;
    bool _done;

    internal NoGradScope() => _depth++;

    // For the backward pass, which turns recording off around every rule: the same as a scope, without its object.
    internal static void Enter() => _depth++;
    internal static void Exit() => _depth--;

    /// <summary>True when ops record their graph on this thread.</summary>
    public static bool IsGradEnabled => _depth == 0;

    /// <inheritdoc/>
    public void Dispose() { if (!_done) { _done = true; _depth--; } }
}

// Reverse-mode differentiation over the recorded graph: topological order from the root,
// gradients accumulated per tensor, leaf gradients added into .Grad (outside any scope, so
// they survive the step), intermediate gradients disposed as soon as they are consumed,
// and the graph released afterwards.
namespace Cochlea.Autograd;

/// <summary>Records ops and runs backward passes.</summary>
public static class BackwardPass
{
    /// <summary>
    /// Records <paramref name="output"/> as produced by op <paramref name="name"/> from <paramref name="inputs"/>,
    /// when gradients are enabled and any input requires them. Returns <paramref name="output"/>.
    /// </summary>
    public static Tensor Record(Tensor output, string name, Tensor[] inputs, BackwardRule rule)
    {
        if (!NoGradScope.IsGradEnabled) return output;
        bool any = false;
        foreach (var t in inputs) any |= t.RequiresGrad;
        if (!any) return output;
        output.GradFn = new GradFn(name, inputs, rule);
        output.MarkRequiresGrad();
        return output;
    }

    /// <summary>Runs the backward pass from <paramref name="root"/>.</summary>
    public static void Run(Tensor root, Tensor? gradient)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Backward(): {root.Describe()} does not require gradients (no input of its graph has RequiresGrad = true, or it was computed under NoGrad).");
        if (gradient is null && root.Numel != 1)
            throw new InvalidOperationException($"Backward(): {root.Describe()} is not a scalar; pass the output gradient explicitly.");
        if (gradient is not null && !Tensor.SameShape(gradient.Shape, root.Shape))
            throw new ArgumentException($"Backward(): gradient shape {Tensor.FormatShape(gradient.Shape)} differs from the output's {Tensor.FormatShape(root.Shape)}.");

        // The pass's collections come from this thread's last pass (hundreds of entries per training step; regrowing
        // them each step was a tenth of a step's garbage) and go back emptied at the end; a nested pass makes its own.
        var scratch = _scratch ?? new Scratch();
        _scratch = null;
        var order = TopologicalOrder(root, scratch);
        var grads = scratch.Grads;
        grads[root] = gradient is null ? Tensor.Full(root.Device, 1f, root.ShapeArray) : gradient.Contiguous(); // seed on the root's device

        for (int k = order.Count - 1; k >= 0; k--)
        {
            var t = order[k];
            if (!grads.Remove(t, out var g)) continue;
            var fn = t.GradFn;
            if (fn is null)
            {
                AccumulateLeaf(t, g, mayTake: !ReferenceEquals(g, gradient));
                continue;
            }
            Tensor?[] gi;
            NoGradScope.Enter();
            try { gi = fn.Rule(g); }
            finally { NoGradScope.Exit(); }
            if (gi.Length != fn.Inputs.Length)
                throw new InvalidOperationException($"Backward rule of '{fn.Name}' returned {gi.Length} gradients for {fn.Inputs.Length} inputs.");
            for (int i = 0; i < gi.Length; i++)
            {
                var input = fn.Inputs[i];
                var d = gi[i];
                if (d is null || !input.RequiresGrad) { if (d != g) d?.Dispose(); continue; }
                // Rules may hand the same tensor to several inputs (add's gradient is g for both):
                // give each slot its own view so disposing one never frees another.
                if (ReferenceEquals(d, g) || Array.IndexOf(gi, d, 0, i) >= 0) d = d.Alias();
                if (!Tensor.SameShape(d.Shape, input.Shape))
                    throw new InvalidOperationException($"Backward rule of '{fn.Name}' gave a gradient of shape {Tensor.FormatShape(d.Shape)} for input {i} of shape {Tensor.FormatShape(input.Shape)}.");
                if (grads.TryGetValue(input, out var prev))
                {
                    grads[input] = Ops.Add(prev, d);
                    prev.Dispose();
                    d.Dispose();
                }
                else grads[input] = d;
            }
            g.Dispose();
            t.GradFn = null; // frees the graph as we go: the closure held the saved inputs
        }
        foreach (var left in grads.Values) left.Dispose();
        scratch.Clear();
        _scratch = scratch;
    }

    [ThreadStatic] static Scratch? _scratch;

    sealed class Scratch
    {
        public readonly List<Tensor> Order = new();
        public readonly HashSet<Tensor> Seen = new(ReferenceEqualityComparer.Instance);
        public readonly Stack<(Tensor T, int Next)> Stack = new();
        public readonly Dictionary<Tensor, Tensor> Grads = new(ReferenceEqualityComparer.Instance);

        // Drops every reference (the graph's tensors must not stay reachable from a thread static).
        public void Clear() { Order.Clear(); Seen.Clear(); Stack.Clear(); Grads.Clear(); }
    }

    // g belongs to the pass (it is disposed here); mayTake is false for the caller's own output gradient.
    static void AccumulateLeaf(Tensor leaf, Tensor g, bool mayTake)
    {
        using var _ = TensorScope.SuspendHere();
        if (leaf.Grad is null || leaf.Grad.IsDisposed)
        {
            // A dense g that is its storage's only view becomes .Grad as it is (PyTorch steals it the same way): on CUDA
            // the copy was a cuMemcpyDtoD and a cached block per parameter per step. Otherwise a private copy, since
            // g's storage may be shared with other gradients.
            if (mayTake && g.IsExclusiveDense) { leaf.Grad = g.Keep(); return; }
            leaf.Grad = g.Clone();
        }
        else
        {
            using var sum = Ops.Add(leaf.Grad, g);
            sum.CopyTo(leaf.Grad);
        }
        g.Dispose();
    }

    static List<Tensor> TopologicalOrder(Tensor root, Scratch scratch)
    {
        // Iterative post-order DFS (deep RNN graphs would overflow a recursive one).
        var order = scratch.Order;
        var seen = scratch.Seen;
        seen.Add(root);
        var stack = scratch.Stack;
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn?.Inputs;
            if (inputs is not null && next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var c = inputs[next];
                if (c.RequiresGrad && seen.Add(c)) stack.Push((c, 0));
                continue;
            }
            order.Add(t);
        }
        return order;
    }
}

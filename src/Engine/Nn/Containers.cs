// Containers of modules: ModuleList (an indexed list of children named "0", "1", ...,
// as torch.nn.ModuleList) and Sequential (the same list, applied in order).
using System.Collections;

namespace Cochlea.Nn;

/// <summary>
/// An indexed list of child modules named "0", "1", ... (torch.nn.ModuleList): their parameters
/// appear as "0.weight", "1.bias", ... It has no <see cref="Forward"/> of its own; iterate it.
/// </summary>
public class ModuleList : Module, IReadOnlyList<Module>
{
    readonly List<Module> _items = new();

    /// <summary>A list holding <paramref name="modules"/> in order.</summary>
    public ModuleList(params IEnumerable<Module> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends <paramref name="module"/> as child "<see cref="Count"/>" and returns this list.</summary>
    public ModuleList Add(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        // Why the index as name: PyTorch names ModuleList/Sequential children by position.
        RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _items.Add(module);
        return this;
    }

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>The module at <paramref name="index"/>.</summary>
    public Module this[int index] => (uint)index < (uint)_items.Count ? _items[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"{GetType().Name} has {_items.Count} modules.");

    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Not supported: a ModuleList only holds modules (use <see cref="Sequential"/> to chain them).</summary>
    public override Tensor Forward(Tensor x) =>
        throw new NotSupportedException("ModuleList has no Forward (as in PyTorch); iterate it, or use Sequential to apply the modules in order.");
}

/// <summary>
/// Applies its modules in order: y = m_{n-1}(... m_1(m_0(x))). Children are named "0", "1", ...
/// like torch.nn.Sequential, so a torch Sequential's state_dict loads unchanged.
/// </summary>
public class Sequential : ModuleList
{
    /// <summary>A chain of <paramref name="modules"/>.</summary>
    public Sequential(params IEnumerable<Module> modules) : base(modules) { }

    /// <summary>Appends <paramref name="module"/> to the chain and returns this Sequential.</summary>
    public new Sequential Add(Module module) { base.Add(module); return this; }

    /// <summary>x through every module in order (the input itself when empty, as in PyTorch).</summary>
    public override Tensor Forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        foreach (var m in this) x = m.Forward(x);
        return x;
    }
}

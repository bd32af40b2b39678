// Where a tensor's memory lives. The CPU backend runs the Cochlea.Kernels loops; CUDA is
// named here so APIs can carry it, and ops refuse it with a clear error until that backend lands.
namespace Cochlea;

/// <summary>Kind of compute device.</summary>
public enum DeviceType { Cpu, Cuda }

/// <summary>A compute device: <see cref="Cpu"/> or <c>Cuda(index)</c>.</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    /// <summary>The host CPU.</summary>
    public static readonly Device Cpu = new(DeviceType.Cpu, 0);

    /// <summary>CUDA device number <paramref name="index"/>.</summary>
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    /// <summary>True for the CPU.</summary>
    public bool IsCpu => Type == DeviceType.Cpu;

    /// <summary>Parses "cpu", "cuda" (cuda:0) or "cuda:N" (case-insensitive), as <see cref="ToString"/> writes them. Does not check that the device exists.</summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static Device Parse(string text)
    {
        var s = text?.Trim().ToLowerInvariant();
        if (s == "cpu") return Cpu;
        if (s == "cuda") return Cuda(0);
        if (s is not null && s.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(s.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int i))
            return Cuda(i);
        throw new ArgumentException($"expected cpu, cuda or cuda:N (N >= 0), got '{text}'.");
    }

    /// <inheritdoc/>
    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";

    /// <summary>Throws unless this is the CPU: the one backend implemented so far.</summary>
    internal void RequireCpu(string op)
    {
        if (!IsCpu)
            throw new NotSupportedException($"{op}: device {this} is not supported yet (only the CPU backend exists); move the tensor with .To(Device.Cpu).");
    }
}

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

    /// <inheritdoc/>
    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";

    /// <summary>Throws unless this is the CPU: the one backend implemented so far.</summary>
    internal void RequireCpu(string op)
    {
        if (!IsCpu)
            throw new NotSupportedException($"{op}: device {this} is not supported yet (only the CPU backend exists); move the tensor with .To(Device.Cpu).");
    }
}

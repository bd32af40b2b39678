// Which vector width the kernels run at. Every kernel has a scalar reference plus
// Vector512 / Vector256(+FMA) / Vector128 paths; Best picks the widest the JIT accelerates
// (DOTNET_EnableAVX512=0 and DOTNET_EnableAVX=0 narrow it), and tests call each
// available width explicitly so one test run covers them all.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Cochlea.Kernels;

/// <summary>A kernel code path, by vector width in bits.</summary>
public enum SimdWidth { Scalar = 0, V128 = 128, V256 = 256, V512 = 512 }

/// <summary>Vector widths this process can run.</summary>
public static class Simd
{
    /// <summary>The widest accelerated path: the one production calls use.</summary>
    public static readonly SimdWidth Best =
        Vector512.IsHardwareAccelerated ? SimdWidth.V512
        : Vector256.IsHardwareAccelerated && Fma.IsSupported ? SimdWidth.V256
        : Vector128.IsHardwareAccelerated ? SimdWidth.V128
        : SimdWidth.Scalar;

    /// <summary>Every path runnable here, narrowest first (Scalar always included).</summary>
    public static IReadOnlyList<SimdWidth> Available { get; } =
        Enum.GetValues<SimdWidth>().Where(w => w <= Best).ToArray();

    /// <summary>True when <paramref name="w"/> can run in this process.</summary>
    public static bool Supports(SimdWidth w) => w <= Best;
}

// Shared plumbing of the CUDA op dispatch: the device of an op's operands (with a clear error for
// mixed devices) and launch configurations for the grid-stride kernels of native/cuda. Kernels that
// check their input report through CudaDevice.DeferCheck (CudaDevice.Checks.cs).
namespace Cochlea.Cuda;

/// <summary>Launch helpers used by the CUDA paths of the ops (src/Engine/Cuda/Ops).</summary>
internal static unsafe class CudaLaunch
{
    /// <summary>Threads per block of the elementwise kernels.</summary>
    public const uint Threads = 256;

    // Grid-stride loops cover any n; more blocks than this only queue (H100: 132 SMs x 8 blocks of 256 = 1056 resident).
    const long MaxBlocks = 4096;

    /// <summary>The device of <paramref name="a"/> and <paramref name="b"/> (and <paramref name="c"/>); throws naming both devices when they differ.</summary>
    public static Device CommonDevice(string op, Tensor a, Tensor b, Tensor? c = null)
    {
        Same(op, a, b);
        if (c is not null) Same(op, a, c);
        return a.Device;
    }

    /// <summary>The device of all <paramref name="ts"/> (nulls skipped; CPU when none); throws naming both devices when two differ.</summary>
    public static Device CommonDevice(string op, IEnumerable<Tensor?> ts)
    {
        Tensor? first = null;
        foreach (var t in ts)
        {
            if (t is null) continue;
            if (first is null) first = t;
            else Same(op, first, t);
        }
        return first?.Device ?? Device.Cpu;
    }

    static void Same(string op, Tensor a, Tensor b)
    {
        if (a.Device != b.Device)
            throw new ArgumentException($"{op}: operands are on different devices: {a.Describe()} on {a.Device} and {b.Describe()} on {b.Device}; move them to one device with .To(device).");
    }

    /// <summary>The CUDA device object of a CUDA tensor.</summary>
    public static CudaDevice Dev(Tensor t) => CudaBackend.Get(t.Device.Index);

    /// <summary>Blocks for a grid-stride kernel over <paramref name="n"/> items with <paramref name="threads"/> per block (at least 1).</summary>
    public static Dim3 Grid(long n, uint threads = Threads) => new((uint)Math.Clamp((n + threads - 1) / threads, 1, MaxBlocks));

    /// <summary>Blocks for a map_f32 kernel (native/cuda/common.cuh) over <paramref name="n"/> floats: one thread per 4 (its float4 step).</summary>
    public static Dim3 Float4Grid(long n) => Grid((n + 3) / 4);

    /// <summary>Blocks for a one-warp-per-row kernel (blockDim = <see cref="Threads"/>, 8 rows per block).</summary>
    public static Dim3 WarpRowsGrid(long rows) => Grid(rows * 32);

    /// <summary>Device pointer of an optional tensor (0 = null in the kernel).</summary>
    public static ulong PtrOrNull(Tensor? t) => t is null ? 0 : t.DevicePtr;
}

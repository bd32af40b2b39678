// The tensor-level CUDA kernels of the runtime: fills (native/cuda/fill.cu) and strided copies
// (native/cuda/copy.cu), plus the launch-size rule the elementwise kernels share.
using System.Runtime.InteropServices;

namespace Cochlea.Cuda;

/// <summary>Shape and strides of a strided copy, passed to copy_strided_* by value (layout of copy.cu's StridedLayout).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct StridedLayout
{
    public const int MaxDims = 8;
    public int Rank;
    public int Pad;
    public fixed long Shape[MaxDims];
    public fixed long Src[MaxDims];
    public fixed long Dst[MaxDims];
}

/// <summary>Launch sizes and the fill/copy kernels on CUDA tensors.</summary>
public static unsafe class CudaTensorKernels
{
    /// <summary>Threads per block for the grid-stride elementwise kernels.</summary>
    public const uint BlockSize = 256;

    /// <summary>Most blocks launched for a grid-stride loop: enough to fill any GPU, few enough that huge tensors loop.</summary>
    public const uint MaxBlocks = 65536;

    /// <summary>Grid and block for a grid-stride kernel over <paramref name="n"/> elements (n &gt; 0).</summary>
    public static (Dim3 Grid, Dim3 Block) Linear(long n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        long blocks = Math.Min((n + BlockSize - 1) / BlockSize, MaxBlocks);
        return (new Dim3((uint)blocks), new Dim3(BlockSize));
    }

    /// <summary>Sets every element of contiguous float32 CUDA tensor <paramref name="t"/> to <paramref name="value"/> (fill_f32).</summary>
    public static void Fill(Tensor t, float value) => ScalarInPlace(t, DType.Float32, value, "fill_f32", nameof(Fill));

    /// <summary>Adds <paramref name="value"/> to every element of contiguous int64 CUDA tensor <paramref name="t"/> (add_scalar_i64), in place.</summary>
    public static void AddInPlace(Tensor t, long value) => ScalarInPlace(t, DType.Int64, value, "add_scalar_i64", nameof(AddInPlace));

    // One launch of a (y, value, n) grid-stride kernel over a contiguous tensor of the expected dtype.
    static void ScalarInPlace<T>(Tensor t, DType dtype, T value, string kernel, string caller) where T : unmanaged
    {
        if (t.DType != dtype || !t.IsContiguous)
            throw new ArgumentException($"{caller}: expected a contiguous {dtype.ToString().ToLowerInvariant()} tensor, got {t.Describe()}.", nameof(t));
        long n = t.Numel;
        if (n == 0) return;
        var dev = CudaBackend.Get(t.Device.Index);
        ulong y = t.DevicePtr;
        var (grid, block) = Linear(n);
        void** args = stackalloc void*[] { &y, &value, &n };
        dev.Launch(kernel, grid, block, 0, args);
    }

    /// <summary>The coalesced layout for copying <paramref name="shape"/> from <paramref name="srcStrides"/> to <paramref name="dstStrides"/>.</summary>
    internal static StridedLayout Layout(ReadOnlySpan<int> shape, long[] srcStrides, long[] dstStrides)
    {
        var plan = new StridedPlan(shape, srcStrides, dstStrides);
        if (plan.Rank > StridedLayout.MaxDims)
            throw new NotSupportedException($"A strided CUDA copy of shape {Tensor.FormatShape(shape)} still has {plan.Rank} dimensions after merging contiguous ones; at most {StridedLayout.MaxDims} are supported. Reshape the tensor to fewer dimensions first.");
        var l = new StridedLayout { Rank = plan.Rank };
        for (int d = 0; d < plan.Rank; d++) { l.Shape[d] = plan.Shape[d]; l.Src[d] = plan.Strides[0][d]; l.Dst[d] = plan.Strides[1][d]; }
        return l;
    }

    /// <summary>dst[idx] = src[idx] for two CUDA tensors of one shape and dtype on the same device (any strides).</summary>
    public static void CopyStrided(Tensor src, Tensor dst)
    {
        if (src.Device != dst.Device || src.Device.IsCpu) throw new ArgumentException($"CopyStrided: both tensors must be on the same CUDA device ({src.Device}, {dst.Device}).");
        if (!Tensor.SameShape(src.Shape, dst.Shape) || src.DType != dst.DType) throw new ArgumentException($"CopyStrided: {src.Describe()} and {dst.Describe()} differ in shape or dtype.");
        long n = src.Numel;
        if (n == 0) return;
        var dev = CudaBackend.Get(src.Device.Index);
        int size = src.DType.Size();
        var layout = Layout(src.Shape, src.StrideArray, dst.StrideArray);
        ulong x = src.DevicePtr, y = dst.DevicePtr;
        if (layout.Rank == 1 && layout.Src[0] == 1 && layout.Dst[0] == 1)
        {
            dev.CopyOnDevice(y, x, n * size); // both dense: a plain memcpy
            return;
        }
        var (grid, block) = Linear(n);
        void** args = stackalloc void*[] { &x, &y, &layout, &n };
        dev.Launch(size == 8 ? "copy_strided_b64" : "copy_strided_b32", grid, block, 0, args);
    }
}

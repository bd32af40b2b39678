// CUDA path of Ops.Dropout (src/Engine/Ops/Dropout.cs): y = x * mask in one kernel of native/cuda/dropout.cu that
// draws the mask from the same Philox stream positions as the CPU (so a seed gives the CPU's result on the GPU) and
// stores none; the backward runs the same kernel on the gradient with the forward's seed and offset.
namespace Cochlea.Cuda;

/// <summary>Fused dropout on CUDA.</summary>
internal static unsafe class CudaDropout
{
    /// <summary>
    /// y = x * mask (x's shape, contiguous, on x's device): the mask of stream <paramref name="seed"/> from position
    /// <paramref name="offset"/> laid out as <paramref name="layout"/> (Ops.DropoutLayout), values 0 or <paramref name="scale"/>.
    /// x any layout (made contiguous first). Does not touch a generator: the caller advances it.
    /// </summary>
    public static Tensor Apply(Tensor x, float p, float scale, ulong seed, ulong offset, (long Outer, long N, long Total, long Start, long Inner) layout)
    {
        var y = Tensor.EmptyOwning(x.ShapeArray, DType.Float32, x.Device);
        long count = y.Numel;
        if (count == 0) return y;
        using var c = x.ContiguousRaw();
        ulong px = c.DevicePtr, py = y.DevicePtr, nn = (ulong)count;
        var dev = CudaLaunch.Dev(x);
        if (layout.Outer == 1)
        {
            // Consecutive stream positions from offset + start * inner (a whole tensor, or a slice of axis 0 or of an axis
            // with only size-1 axes before it): one thread per Philox block of 4 positions.
            ulong off = offset + (ulong)(layout.Start * layout.Inner), blocks = ((off + nn - 1) >> 2) - (off >> 2) + 1;
            void** args = stackalloc void*[] { &px, &py, &seed, &off, &nn, &p, &scale };
            dev.Launch("dropout_f32", CudaLaunch.Grid((long)blocks), new Dim3(CudaLaunch.Threads), 0, args);
        }
        else
        {
            ulong o = (ulong)layout.Outer, n = (ulong)layout.N, t = (ulong)layout.Total, s = (ulong)layout.Start, i = (ulong)layout.Inner;
            void** args = stackalloc void*[] { &px, &py, &seed, &offset, &o, &n, &t, &s, &i, &p, &scale };
            dev.Launch("dropout_slice_f32", CudaLaunch.Grid(count), new Dim3(CudaLaunch.Threads), 0, args);
        }
        return y;
    }
}

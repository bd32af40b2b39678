// CUDA path of Ops.Dropout (src/Engine/Ops/Dropout.cs): the mask from native/cuda/dropout.cu, drawn
// from the same Philox stream positions as the CPU, so a seed gives the CPU's mask on the GPU.
namespace Cochlea.Cuda;

/// <summary>Dropout masks on CUDA.</summary>
internal static unsafe class CudaDropout
{
    /// <summary>The mask (x's shape, values 0 or <paramref name="scale"/>) for x on CUDA; advances <paramref name="rng"/> as the CPU path does.</summary>
    public static Tensor Mask(Tensor x, float p, float scale, Philox rng, BatchSlice? slice)
    {
        var (outer, n, total, start, inner) = Ops.DropoutLayout(x, slice);
        var mask = Tensor.Empty(x.Shape, DType.Float32, x.Device);
        ulong offset = rng.Offset;
        long count = outer * n * inner;
        if (count > 0)
        {
            ulong pm = mask.DevicePtr, seed = rng.Seed, o = (ulong)outer, nn = (ulong)n, tt = (ulong)total, ss = (ulong)start, ii = (ulong)inner;
            void** args = stackalloc void*[] { &pm, &seed, &offset, &o, &nn, &tt, &ss, &ii, &p, &scale };
            CudaLaunch.Dev(x).Launch("dropout_mask_f32", CudaLaunch.Grid(count), new Dim3(CudaLaunch.Threads), 0, args);
        }
        rng.Offset = offset + (ulong)(outer * total * inner);
        return mask;
    }
}

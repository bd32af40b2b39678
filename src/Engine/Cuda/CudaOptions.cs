// Process-wide CUDA numerics switches.
namespace Cochlea.Cuda;

/// <summary>Options of the CUDA backend.</summary>
public static class CudaOptions
{
    /// <summary>
    /// Lets float32 GEMMs (cuBLAS CUBLAS_TF32_TENSOR_OP_MATH) and convolutions (cuDNN default math instead of FMA math)
    /// use TF32 tensor cores: several times faster on Ampere/Hopper, about 10 mantissa bits per product. Off by default,
    /// so CUDA results match the CPU to float32 accuracy.
    /// </summary>
    public static bool AllowTf32 { get; set; }
}

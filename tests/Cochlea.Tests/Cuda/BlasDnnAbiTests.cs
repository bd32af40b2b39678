// The binary interface of the cuBLAS / cuDNN bindings, checked without a GPU: enum values and the algorithm-perf
// struct layout as the official headers define them (cublas_api.h of CUDA 12.6; cudnn_graph.h, cudnn_ops.h and
// cudnn_cnn.h of cuDNN 9.6.0; the expected numbers below are copied from those headers, not from our C#).
// A wrong value here would be passed through P/Invoke unnoticed until it ran on a GPU.
using System.Runtime.InteropServices;
using Cochlea.Cuda.Cublas;
using Cochlea.Cuda.Cudnn;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Cuda")]
public class BlasDnnAbiTests
{
    [Test]
    public void CudnnAlgoPerfHasTheHeaderLayout()
    {
        // struct { algo_t algo; cudnnStatus_t status; float time; size_t memory; cudnnDeterminism_t determinism;
        //          cudnnMathType_t mathType; int reserved[3]; }: memory is 8-aligned after 12 bytes, 48 bytes in all.
        Assert.That(Marshal.SizeOf<CudnnAlgoPerf>(), Is.EqualTo(48));
        Assert.That(Marshal.OffsetOf<CudnnAlgoPerf>(nameof(CudnnAlgoPerf.Algo)), Is.EqualTo((nint)0));
        Assert.That(Marshal.OffsetOf<CudnnAlgoPerf>(nameof(CudnnAlgoPerf.Status)), Is.EqualTo((nint)4));
        Assert.That(Marshal.OffsetOf<CudnnAlgoPerf>(nameof(CudnnAlgoPerf.Time)), Is.EqualTo((nint)8));
        Assert.That(Marshal.OffsetOf<CudnnAlgoPerf>(nameof(CudnnAlgoPerf.Memory)), Is.EqualTo((nint)16));
        Assert.That(Marshal.OffsetOf<CudnnAlgoPerf>(nameof(CudnnAlgoPerf.Determinism)), Is.EqualTo((nint)24));
        Assert.That(Marshal.OffsetOf<CudnnAlgoPerf>(nameof(CudnnAlgoPerf.MathType)), Is.EqualTo((nint)28));
        Assert.That(Marshal.OffsetOf<CudnnAlgoPerf>(nameof(CudnnAlgoPerf.Reserved)), Is.EqualTo((nint)32));
    }

    [Test]
    public void CudnnEnumsHaveTheHeaderValues()
    {
        Assert.That((int)CudnnDataType.Float, Is.EqualTo(0));                                 // CUDNN_DATA_FLOAT
        Assert.That((int)CudnnTensorFormat.Nchw, Is.EqualTo(0));                              // CUDNN_TENSOR_NCHW
        Assert.That((int)CudnnConvolutionMode.Convolution, Is.EqualTo(0));                    // CUDNN_CONVOLUTION
        Assert.That((int)CudnnConvolutionMode.CrossCorrelation, Is.EqualTo(1));               // CUDNN_CROSS_CORRELATION
        Assert.That((int)CudnnMathType.Default, Is.EqualTo(0));                               // CUDNN_DEFAULT_MATH
        Assert.That((int)CudnnMathType.TensorOp, Is.EqualTo(1));                              // CUDNN_TENSOR_OP_MATH
        Assert.That((int)CudnnMathType.TensorOpAllowConversion, Is.EqualTo(2));               // ..._ALLOW_CONVERSION
        Assert.That((int)CudnnMathType.Fma, Is.EqualTo(3));                                   // CUDNN_FMA_MATH
        Assert.That((int)CudnnPoolingMode.Max, Is.EqualTo(0));                                // CUDNN_POOLING_MAX
        Assert.That((int)CudnnPoolingMode.AverageCountIncludePadding, Is.EqualTo(1));
        Assert.That((int)CudnnPoolingMode.AverageCountExcludePadding, Is.EqualTo(2));
        Assert.That((int)CudnnPoolingMode.MaxDeterministic, Is.EqualTo(3));
        Assert.That((int)CudnnNanPropagation.NotPropagate, Is.EqualTo(0));                    // CUDNN_NOT_PROPAGATE_NAN
        Assert.That((int)CudnnNanPropagation.Propagate, Is.EqualTo(1));                       // CUDNN_PROPAGATE_NAN
        Assert.That((int)CudnnBatchNormMode.PerActivation, Is.EqualTo(0));                    // CUDNN_BATCHNORM_PER_ACTIVATION
        Assert.That((int)CudnnBatchNormMode.Spatial, Is.EqualTo(1));                          // CUDNN_BATCHNORM_SPATIAL
        Assert.That((int)CudnnBatchNormMode.SpatialPersistent, Is.EqualTo(2));                // ..._SPATIAL_PERSISTENT
    }

    [Test]
    public void CublasEnumsHaveTheHeaderValues()
    {
        Assert.That((int)CublasOperation.N, Is.EqualTo(0));                                   // CUBLAS_OP_N
        Assert.That((int)CublasOperation.T, Is.EqualTo(1));                                   // CUBLAS_OP_T
        Assert.That((int)CublasOperation.C, Is.EqualTo(2));                                   // CUBLAS_OP_C
        Assert.That((int)CublasMath.Default, Is.EqualTo(0));                                  // CUBLAS_DEFAULT_MATH
        Assert.That((int)CublasMath.Pedantic, Is.EqualTo(2));                                 // CUBLAS_PEDANTIC_MATH
        Assert.That((int)CublasMath.Tf32TensorOp, Is.EqualTo(3));                             // CUBLAS_TF32_TENSOR_OP_MATH
        Assert.That(new[] { CublasStatus.Success, CublasStatus.NotInitialized, CublasStatus.AllocFailed, CublasStatus.InvalidValue,
                            CublasStatus.ArchMismatch, CublasStatus.MappingError, CublasStatus.ExecutionFailed,
                            CublasStatus.InternalError, CublasStatus.NotSupported, CublasStatus.LicenseError }.Select(s => (int)s),
            Is.EqualTo(new[] { 0, 1, 3, 7, 8, 11, 13, 14, 15, 16 }));                         // cublasStatus_t
    }
}

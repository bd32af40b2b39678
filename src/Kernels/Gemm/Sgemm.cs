// Public GEMM entry points. Row-major, BLAS semantics (beta == 0 ignores C's old contents, NaN included).
namespace Cochlea.Kernels.Gemm;

/// <summary>Single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, row-major.</summary>
public static unsafe class Sgemm
{
    /// <summary>A is (m,k) or, transposed, stored (k,m); B is (k,n) or stored (n,k); C is (m,n). Leading dimensions in elements.</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        // Placeholder until the packed, register-tiled kernel lands: the reference is correct but slow.
        GemmReference.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>Strided batched GEMM: for each i &lt; batch, matrices start at a + i*strideA, b + i*strideB, c + i*strideC.</summary>
    public static void RunBatched(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta, float* c, int ldc, long strideC, int batch)
    {
        for (int i = 0; i < batch; i++)
            Run(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc);
    }
}

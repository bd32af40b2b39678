// Scalar reference GEMM: the definition every optimised path is tested against.
namespace Cochlea.Kernels.Gemm;

/// <summary>Plain triple-loop SGEMM in row-major layout, accumulating in double for a tight reference.</summary>
public static unsafe class GemmReference
{
    /// <summary>C(m,n) = alpha * op(A)(m,k) * op(B)(k,n) + beta * C. Row-major; op(X) = X or X^T.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double acc = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[(long)p * lda + i] : a[(long)i * lda + p];
                    float bv = transB ? b[(long)j * ldb + p] : b[(long)p * ldb + j];
                    acc += (double)av * bv;
                }
                float* cij = c + (long)i * ldc + j;
                *cij = (float)(alpha * acc + (beta == 0 ? 0 : beta * *cij));
            }
    }
}

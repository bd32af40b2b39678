// Row-major GEMMs on cuBLAS (column-major): C = op(A) op(B) row-major is C^T = op(B)^T op(A)^T column-major,
// and a row-major matrix with leading dim ld is its transpose column-major with the same ld, so the call swaps
// the operands (and m with n) and keeps each operand's transpose flag. Strided batches map the same way.
namespace Cochlea.Cuda.Cublas;

/// <summary>The arguments of one cublasSgemm(StridedBatched) call, column-major.</summary>
internal readonly record struct ColumnMajorGemm(CublasOperation TransA, CublasOperation TransB, int M, int N, int K,
    ulong A, int Lda, long StrideA, ulong B, int Ldb, long StrideB, ulong C, int Ldc, long StrideC);

internal static unsafe class CudaGemm
{
    /// <summary>
    /// The column-major call computing row-major C (m, n) = op(A) (m, k) x op(B) (k, n), where a row-major operand stored
    /// transposed has its flag set (A stored (k, m) when <paramref name="ta"/>), leading dims and batch strides in elements.
    /// </summary>
    internal static ColumnMajorGemm FromRowMajor(bool ta, bool tb, int m, int n, int k, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, ulong c, int ldc, long strideC)
    {
        // cuBLAS rejects (INVALID_VALUE) a leading dimension below max(1, rows of the stored operand) even when k == 0 and
        // nothing is read; a contiguous operand whose rows are k long then has ld = k = 0, so it is raised to 1.
        if (k == 0) { lda = Math.Max(lda, 1); ldb = Math.Max(ldb, 1); }
        return new(tb ? CublasOperation.T : CublasOperation.N, ta ? CublasOperation.T : CublasOperation.N, n, m, k,
            b, ldb, strideB, a, lda, strideA, c, ldc, strideC);
    }

    /// <summary>Row-major (batched) SGEMM on <paramref name="device"/>'s stream: C_i = alpha op(A_i) op(B_i) + beta C_i for i &lt; batch.</summary>
    internal static void Run(CudaDevice device, bool ta, bool tb, int m, int n, int k, float alpha, ulong a, int lda, long strideA,
        ulong b, int ldb, long strideB, float beta, ulong c, int ldc, long strideC, int batch = 1)
    {
        if (m == 0 || n == 0 || batch == 0) return;
        var g = FromRowMajor(ta, tb, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC);
        nint h = device.Cublas.Raw;
        if (batch == 1)
            Cublas.Check(CublasNative.Sgemm(h, g.TransA, g.TransB, g.M, g.N, g.K, &alpha, g.A, g.Lda, g.B, g.Ldb, &beta, g.C, g.Ldc),
                $"cublasSgemm_v2(m={g.M}, n={g.N}, k={g.K})");
        else
            Cublas.Check(CublasNative.SgemmStridedBatched(h, g.TransA, g.TransB, g.M, g.N, g.K, &alpha, g.A, g.Lda, g.StrideA, g.B, g.Ldb, g.StrideB,
                &beta, g.C, g.Ldc, g.StrideC, batch), $"cublasSgemmStridedBatched(m={g.M}, n={g.N}, k={g.K}, batch={batch})");
    }

    /// <summary>Row-major single SGEMM (no batch).</summary>
    internal static void Run(CudaDevice device, bool ta, bool tb, int m, int n, int k, float alpha, ulong a, int lda, ulong b, int ldb, float beta, ulong c, int ldc)
        => Run(device, ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0);
}

// A GEMM operand A packed ONCE into the micro-kernel's panel order, for products that reuse the same A against
// many B: a convolution's weight (Cout, Cin*KH*KW) times each image's columns, in eval mode. The driver otherwise
// packs A again for every image (ResNet50 at batch 1: all 94 MB of weights read and written packed per forward).
//   layout: KC slabs of K in order; slab at k0 (kc = min(KC, K - k0) columns) starts at data + k0*MPad and holds the
//   MPad/MR panels of A[:, k0:k0+kc] one after another, each (kc, MR) as GemmPack.Block writes it (zero-padded rows).
//   A row block starting at ic (a multiple of MR) is then the contiguous run at data + k0*MPad + ic*kc: exactly what
//   the driver packs for that block, so the driver reads it in place (GemmDriver.Worker).
// Results are bit-identical to Sgemm.RunFused without it: same KC grid, same panels, same micro-kernel, same k order.
using System.Runtime.InteropServices;

namespace Cochlea.Kernels.Gemm;

/// <summary>A (m, k), row-major, packed for repeated <c>C = alpha * A * op(B) + beta * C</c> (see the file header and <see cref="Sgemm.RunFused"/>).</summary>
public sealed unsafe class PackedGemmA : IDisposable
{
    float* _data;

    /// <summary>Rows of A (and of C).</summary>
    public int M { get; }
    /// <summary>Columns of A (the inner dimension).</summary>
    public int K { get; }
    /// <summary>The code path the panels are laid out for; a call on another path packs A as usual.</summary>
    public SimdWidth Width { get; }

    /// <summary>Packs A stored (m, k) with row stride <paramref name="lda"/> &gt;= k; <paramref name="width"/> defaults to <see cref="Simd.Best"/>.</summary>
    public PackedGemmA(int m, int k, float* a, int lda, SimdWidth? width = null)
    {
        if (m < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"PackedGemmA: expected m, k >= 0, got m={m}, k={k}.");
        if (lda < Math.Max(1, k)) throw new ArgumentOutOfRangeException(nameof(lda), lda, $"PackedGemmA: expected lda >= {Math.Max(1, k)}.");
        if (m > 0 && k > 0 && a == null) throw new ArgumentNullException(nameof(a), "PackedGemmA: A is null but m, k > 0.");
        Width = width ?? Simd.Best;
        if (!Simd.Supports(Width)) throw new NotSupportedException($"PackedGemmA: SIMD path {Width} is not available in this process (best: {Simd.Best}).");
        (M, K) = (m, k);
        int mr = Mr(Width), kc = GemmBlocking.Default.Kc, mPad = (m + mr - 1) / mr * mr;
        _data = (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(1L, (long)mPad * k) * sizeof(float), 64);
        for (int k0 = 0; k0 < k; k0 += kc)
            GemmPack.Block(_data + (nint)k0 * mPad, a + k0, m, Math.Min(kc, k - k0), lda, 1, mr);
    }

    /// <summary>The micro-kernel's tile height on each path (Sgemm.RunFused's instantiations).</summary>
    internal static int Mr(SimdWidth width) => width switch { SimdWidth.V512 => 8, SimdWidth.V256 or SimdWidth.V128 => 6, _ => 4 };

    /// <summary>The panels, for the driver; null once disposed.</summary>
    internal float* Data => _data;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_data != null) { NativeMemory.AlignedFree(_data); _data = null; }
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the panels if <see cref="Dispose"/> was not called.</summary>
    ~PackedGemmA() => Dispose();
}

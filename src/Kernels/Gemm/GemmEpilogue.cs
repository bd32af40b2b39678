// The GEMM epilogue: a per-row affine map, an optional residual and an optional ReLU applied to C right after a
// tile's last K block is stored, while the tile is still in L1. This is an inference convolution's
// conv -> batch norm (eval: a per-channel scale and shift) -> (+ identity) -> ReLU in the one pass that writes y,
// instead of three or four more passes over a feature map that no longer fits in cache.
//   C (m, n): C[i, j] = act(fma(C[i, j], scale[i], shift[i]) + res[i * ldr + j]);  scale, shift (m) and res (m, ldr)
//   each optional (1, 0, 0 when absent), act = ReLU or identity.
using System.Runtime.CompilerServices;
using Cochlea.Kernels.Numerics;

namespace Cochlea.Kernels.Gemm;

/// <summary>What <see cref="Sgemm.RunFused"/> applies to every element of C after the product (see the file header).</summary>
public readonly unsafe struct GemmEpilogue
{
    /// <summary>Per-row scale (m), or null for 1.</summary>
    public readonly float* Scale;
    /// <summary>Per-row shift (m), or null for 0.</summary>
    public readonly float* Shift;
    /// <summary>Residual (m, ldr) added after the affine map, or null.</summary>
    public readonly float* Residual;
    /// <summary>Row stride of <see cref="Residual"/> in elements.</summary>
    public readonly int Ldr;
    /// <summary>Clamp at zero last.</summary>
    public readonly bool Relu;

    /// <summary>An epilogue; any of scale, shift, residual may be null.</summary>
    public GemmEpilogue(float* scale, float* shift, float* residual, int ldr, bool relu)
    {
        if (residual != null && ldr < 1) throw new ArgumentOutOfRangeException(nameof(ldr), ldr, "GemmEpilogue: a residual needs its row stride ldr >= n.");
        Scale = scale; Shift = shift; Residual = residual; Ldr = ldr; Relu = relu;
    }

    /// <summary>True when the epilogue changes nothing (the default value).</summary>
    public bool IsNone => Scale == null && Shift == null && Residual == null && !Relu;

    /// <summary>Scalar reference over all of C (m, n) with row stride ldc: the definition the vector path is tested against.</summary>
    public void Reference(float* c, int ldc, int m, int n)
    {
        for (int i = 0; i < m; i++)
        {
            float s = Scale == null ? 1f : Scale[i], t = Shift == null ? 0f : Shift[i];
            for (int j = 0; j < n; j++)
            {
                float v = MathF.FusedMultiplyAdd(c[(nint)i * ldc + j], s, t);
                if (Residual != null) v += Residual[(nint)i * Ldr + j];
                c[(nint)i * ldc + j] = Relu ? MathF.Max(v, 0f) : v;
            }
        }
    }

    /// <summary>The block C[i0:i0+rows, j0:j0+cols] (c points at C[i0, j0]), vectorised along the row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Apply<TOps, TV>(float* c, nint ldc, int i0, int j0, int rows, int cols) where TOps : struct, IVec<TV> where TV : struct
    {
        int w = TOps.Count;
        TV zero = TOps.Splat(0f);
        for (int r = 0; r < rows; r++, c += ldc)
        {
            int i = i0 + r;
            float s = Scale == null ? 1f : Scale[i], t = Shift == null ? 0f : Shift[i];
            float* res = Residual == null ? null : Residual + (nint)i * Ldr + j0;
            TV vs = TOps.Splat(s), vt = TOps.Splat(t);
            int j = 0;
            for (; j + w <= cols; j += w)
            {
                TV v = TOps.MulAdd(TOps.Load(c + j), vs, vt);
                if (res != null) v = TOps.Add(v, TOps.Load(res + j));
                if (Relu) v = TOps.Max(v, zero);
                TOps.Store(c + j, v);
            }
            for (; j < cols; j++)
            {
                float v = MathF.FusedMultiplyAdd(c[j], s, t);
                if (res != null) v += res[j];
                c[j] = Relu ? MathF.Max(v, 0f) : v;
            }
        }
    }
}

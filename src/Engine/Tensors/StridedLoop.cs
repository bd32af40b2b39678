// Walks N-d index spaces over strided operands. Dimensions that are contiguous for every
// operand are merged first, so a permuted or broadcast operand costs one outer loop per
// non-mergeable dimension and the innermost run goes to a SIMD kernel.
namespace Cochlea;

/// <summary>Collapsed iteration plan for up to three operands sharing one shape.</summary>
internal readonly struct StridedPlan
{
    public readonly int[] Shape;       // collapsed shape, innermost last
    public readonly long[][] Strides;  // per operand, collapsed

    public StridedPlan(ReadOnlySpan<int> shape, params long[][] strides)
    {
        int ops = strides.Length, rank = shape.Length;
        // Collapsed in scratch (operand o's stride of collapsed dim k at st[o * rank + k]), so only the final
        // arrays are allocated: this runs for every broadcast op.
        Span<int> dims = rank <= 16 ? stackalloc int[16] : new int[rank];
        Span<long> st = rank * ops <= 64 ? stackalloc long[64] : new long[rank * ops];
        int k = 0;
        for (int d = 0; d < rank; d++)
        {
            if (shape[d] == 1) continue; // size-1 dims never move the index
            if (k > 0)
            {
                bool merge = true;
                for (int o = 0; o < ops; o++)
                    if (st[o * rank + k - 1] != strides[o][d] * shape[d]) { merge = false; break; }
                if (merge)
                {
                    dims[k - 1] *= shape[d];
                    for (int o = 0; o < ops; o++) st[o * rank + k - 1] = strides[o][d];
                    continue;
                }
            }
            dims[k] = shape[d];
            for (int o = 0; o < ops; o++) st[o * rank + k] = strides[o][d];
            k++;
        }
        Strides = new long[ops][];
        if (k == 0)
        {
            Shape = [1];
            for (int o = 0; o < ops; o++) Strides[o] = [1];
            return;
        }
        Shape = dims[..k].ToArray();
        for (int o = 0; o < ops; o++) Strides[o] = st.Slice(o * rank, k).ToArray();
    }

    public int Rank => Shape.Length;
    public int Inner => Shape[^1];
    public long InnerStride(int operand) => Strides[operand][^1];

    /// <summary>Number of inner runs (product of all but the last collapsed dim).</summary>
    public long Outer
    {
        get { long n = 1; for (int d = 0; d < Shape.Length - 1; d++) n *= Shape[d]; return n; }
    }

    /// <summary>Element offset of operand <paramref name="o"/> at the start of inner run <paramref name="run"/>.</summary>
    public long OffsetOf(int o, long run)
    {
        long off = 0;
        var s = Strides[o];
        for (int d = Shape.Length - 2; d >= 0; d--)
        {
            long i = run % Shape[d];
            run /= Shape[d];
            off += i * s[d];
        }
        return off;
    }
}

/// <summary>Strided copies between float tensors (and int tensors, bitwise).</summary>
internal static unsafe class StridedCopy
{
    /// <summary>dst[idx] = src[idx] over <paramref name="shape"/>; element size 4 or 8 bytes.</summary>
    public static void Copy(byte* src, long[] srcStrides, byte* dst, long[] dstStrides, ReadOnlySpan<int> shape, int elemSize, bool accumulate = false)
    {
        var plan = new StridedPlan(shape, srcStrides, dstStrides);
        long runs = plan.Outer;
        int n = plan.Inner;
        long ss = plan.InnerStride(0), ds = plan.InnerStride(1);
        for (long r = 0; r < runs; r++)
        {
            byte* s = src + plan.OffsetOf(0, r) * elemSize;
            byte* d = dst + plan.OffsetOf(1, r) * elemSize;
            if (accumulate)
            {
                // Scalar on purpose: dst may alias itself (unfold's backward adds overlapping windows).
                float* fs = (float*)s, fd = (float*)d;
                for (int i = 0; i < n; i++) fd[i * ds] += fs[i * ss];
            }
            else if (ss == 1 && ds == 1) Buffer.MemoryCopy(s, d, (long)n * elemSize, (long)n * elemSize);
            else if (elemSize == 4) { int* a = (int*)s, b = (int*)d; for (int i = 0; i < n; i++) b[i * ds] = a[i * ss]; }
            else { long* a = (long*)s, b = (long*)d; for (int i = 0; i < n; i++) b[i * ds] = a[i * ss]; }
        }
    }
}

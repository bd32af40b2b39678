// CUDA paths of Ops.UnaryRaw / BinaryRaw / TernaryRaw (src/Engine/Ops/Broadcasting.cs): pick the
// kernel form (contiguous, scalar operand, or strided with broadcast strides) and launch it.
using System.Runtime.InteropServices;
using Cochlea.Kernels.Elementwise;

namespace Cochlea.Cuda;

/// <summary>
/// Broadcast plan passed by value to the *_strided_f32 kernels: y (Shape[0..Rank)) contiguous, operand k read at
/// sum_d idx_d * stride_k[d]. Layout matches <c>struct BcastPlan</c> in native/cuda/binary.cu (264 bytes).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CudaBroadcastPlan
{
    public const int MaxRank = 8;
    public fixed long Shape[MaxRank];
    public fixed long A[MaxRank];
    public fixed long B[MaxRank];
    public fixed long C[MaxRank];
    public int Rank;

    /// <summary>Collapses <paramref name="shape"/> with the operands' strides (and y's contiguous ones) as the CPU loops do.</summary>
    public static CudaBroadcastPlan Create(string op, ReadOnlySpan<int> shape, long[] a, long[] b, long[]? c)
    {
        var ys = Tensor.ContiguousStrides(shape);
        var plan = c is null ? new StridedPlan(shape, a, b, ys) : new StridedPlan(shape, a, b, c, ys);
        if (plan.Rank > MaxRank)
            throw new NotSupportedException($"{op}: the broadcast of shape {Tensor.FormatShape(shape)} needs {plan.Rank} strided dimensions on CUDA, at most {MaxRank} are supported; make the operands contiguous first.");
        var p = new CudaBroadcastPlan { Rank = plan.Rank };
        for (int d = 0; d < plan.Rank; d++)
        {
            p.Shape[d] = plan.Shape[d];
            p.A[d] = plan.Strides[0][d];
            p.B[d] = plan.Strides[1][d];
            p.C[d] = c is null ? 0 : plan.Strides[2][d];
        }
        return p;
    }
}

/// <summary>Elementwise ops on CUDA tensors (kernels in native/cuda/unary.cu and binary.cu).</summary>
internal static unsafe class CudaElementwise
{
    /// <summary>y = op(x); x any layout (made contiguous first), y contiguous on x's device.</summary>
    public static Tensor Unary<TOp>(TOp op, Tensor x, string name) where TOp : struct, IUnaryOp
    {
        string family = CudaOpNames.Unary(op, out float p0, out float p1);
        string k = (CudaOpNames.Forms<TOp>.Names ??= CudaOpNames.MakeForms(family))[CudaOpNames.Dense];
        var y = Tensor.EmptyOwning(x.ShapeArray, DType.Float32, x.Device);
        using var c = x.ContiguousRaw();
        Launch(k, c.DevicePtr, y.DevicePtr, y.Numel, p0, p1, CudaLaunch.Dev(x));
        return y;
    }

    /// <summary>t = s * t in place (contiguous t), e.g. gradient clipping.</summary>
    public static void ScaleInPlace(Tensor t, float s)
    {
        if (!t.IsContiguous) throw new ArgumentException($"scale: in-place scaling needs a contiguous tensor, got {t.Describe()}.");
        Launch("scale_f32", t.DevicePtr, t.DevicePtr, t.Numel, s, 0f, CudaLaunch.Dev(t));
    }

    static void Launch(string kernel, ulong px, ulong py, long n, float p0, float p1, CudaDevice dev)
    {
        if (n == 0) return;
        ulong nn = (ulong)n;
        void** args = stackalloc void*[] { &px, &py, &nn, &p0, &p1 };
        dev.Launch(kernel, CudaLaunch.Float4Grid(n), new Dim3(CudaLaunch.Threads), 0, args);
    }

    /// <summary>y = op(a, b) with broadcasting; a and b on the same CUDA device (checked by the caller).</summary>
    public static Tensor Binary<TOp>(TOp op, Tensor a, Tensor b, string name) where TOp : struct, IBinaryOp
    {
        var shape = Ops.BroadcastShape(a.Shape, b.Shape, name);
        string family = CudaOpNames.Binary(op, out float p0, out float p1);
        var k = CudaOpNames.Forms<TOp>.Names ??= CudaOpNames.MakeForms(family);
        var y = Tensor.EmptyOwning(shape, DType.Float32, a.Device);   // shape: a fresh array
        long n = y.Numel;
        if (n == 0) return y;
        var dev = CudaLaunch.Dev(a);
        ulong pa = a.DevicePtr, pb = b.DevicePtr, py = y.DevicePtr, nn = (ulong)n;
        var block = new Dim3(CudaLaunch.Threads);
        bool aFull = Dense(a, shape), bFull = Dense(b, shape);
        // The fast forms: both dense, or one operand a single element (bias-free scalars, 0-d tensors).
        int form = aFull && bFull ? CudaOpNames.Dense : aFull && b.Numel == 1 ? CudaOpNames.RScalar : bFull && a.Numel == 1 ? CudaOpNames.LScalar : -1;
        if (form >= 0)
        {
            void** args = stackalloc void*[] { &pa, &pb, &py, &nn, &p0, &p1 };
            dev.Launch(k[form], form == CudaOpNames.Dense ? CudaLaunch.Float4Grid(n) : CudaLaunch.Grid(n), block, 0, args);
            return y;
        }
        var plan = CudaBroadcastPlan.Create(name, shape, Ops.BroadcastStrides(a, shape), Ops.BroadcastStrides(b, shape), null);
        void** sargs = stackalloc void*[] { &pa, &pb, &py, &nn, &plan, &p0, &p1 };
        dev.Launch(k[CudaOpNames.Strided], CudaLaunch.Grid(n), block, 0, sargs);
        return y;
    }

    /// <summary>y = op(a, b, c) with broadcasting of all three (no copies: broadcast operands are read with stride 0).</summary>
    public static Tensor Ternary<TOp>(TOp op, Tensor a, Tensor b, Tensor c, string name) where TOp : struct, ITernaryOp
    {
        var shape = Ops.BroadcastShape(Ops.BroadcastShape(a.Shape, b.Shape, name), c.Shape, name);
        string family = CudaOpNames.Ternary(op, out float p0, out float p1);
        var k = CudaOpNames.Forms<TOp>.Names ??= CudaOpNames.MakeForms(family);
        var y = Tensor.EmptyOwning(shape, DType.Float32, a.Device);   // shape: a fresh array
        long n = y.Numel;
        if (n == 0) return y;
        var dev = CudaLaunch.Dev(a);
        ulong pa = a.DevicePtr, pb = b.DevicePtr, pc = c.DevicePtr, py = y.DevicePtr, nn = (ulong)n;
        var block = new Dim3(CudaLaunch.Threads);
        if (Dense(a, shape) && Dense(b, shape) && Dense(c, shape))
        {
            void** args = stackalloc void*[] { &pa, &pb, &pc, &py, &nn, &p0, &p1 };
            dev.Launch(k[CudaOpNames.Dense], CudaLaunch.Float4Grid(n), block, 0, args);
            return y;
        }
        var plan = CudaBroadcastPlan.Create(name, shape, Ops.BroadcastStrides(a, shape), Ops.BroadcastStrides(b, shape), Ops.BroadcastStrides(c, shape));
        void** sargs = stackalloc void*[] { &pa, &pb, &pc, &py, &nn, &plan, &p0, &p1 };
        dev.Launch(k[CudaOpNames.Strided], CudaLaunch.Grid(n), block, 0, sargs);
        return y;
    }

    // Contiguous with exactly the output's shape: element i of the operand is element i of y.
    static bool Dense(Tensor t, ReadOnlySpan<int> shape) => t.IsContiguous && Tensor.SameShape(t.Shape, shape);
}

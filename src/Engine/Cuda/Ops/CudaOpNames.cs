// Maps the CPU elementwise operator structs (src/Kernels/Elementwise) to their CUDA kernel families
// in native/cuda/unary.cu and binary.cu and to the kernels' constants (p0, p1), without reflection:
// typeof(TOp) comparisons are constants for struct type arguments, so the JIT keeps one branch per
// instantiation and the trimmer sees no dynamic access. A new operator struct that runs on CUDA adds
// one line here and one macro line in the .cu file (CudaKernelNameTests checks both sides agree).
using System.Runtime.CompilerServices;
using Cochlea.Kernels.Elementwise;

namespace Cochlea.Cuda;

/// <summary>Kernel family names (without the _f32 suffix) and constants of the elementwise operator structs.</summary>
internal static class CudaOpNames
{
    /// <summary>Launch names of one family, by form: [0] "{family}_f32" (dense), [1] "_rscalar_f32", [2] "_lscalar_f32", [3] "_strided_f32".</summary>
    public const int Dense = 0, RScalar = 1, LScalar = 2, Strided = 3;

    /// <summary>The launch names (see <see cref="Dense"/>) of <typeparamref name="TOp"/>'s family, made at its first launch: a launch builds no strings.</summary>
    public static class Forms<TOp> where TOp : struct
    {
        public static string[]? Names;
    }

    /// <summary>The four launch names of <paramref name="family"/>, indexed by <see cref="Dense"/>..<see cref="Strided"/>.</summary>
    public static string[] MakeForms(string family) => [family + "_f32", family + "_rscalar_f32", family + "_lscalar_f32", family + "_strided_f32"];

    /// <summary>unary.cu family of <typeparamref name="TOp"/>: "abs", "clamp", ...</summary>
    public static string Unary<TOp>(TOp op, out float p0, out float p1) where TOp : struct, IUnaryOp
    {
        p0 = 0f; p1 = 0f;
        if (typeof(TOp) == typeof(AbsOp)) return "abs";
        if (typeof(TOp) == typeof(NegOp)) return "neg";
        if (typeof(TOp) == typeof(ExpOp)) return "exp";
        if (typeof(TOp) == typeof(LogOp)) return "log";
        if (typeof(TOp) == typeof(Log1pOp)) return "log1p";
        if (typeof(TOp) == typeof(SqrtOp)) return "sqrt";
        if (typeof(TOp) == typeof(SigmoidOp)) return "sigmoid";
        if (typeof(TOp) == typeof(SiluOp)) return "silu";
        if (typeof(TOp) == typeof(TanhOp)) return "tanh";
        if (typeof(TOp) == typeof(ScaleOp)) { p0 = Unsafe.As<TOp, ScaleOp>(ref op).S; return "scale"; }
        if (typeof(TOp) == typeof(AddScalarOp)) { p0 = Unsafe.As<TOp, AddScalarOp>(ref op).S; return "add_scalar"; }
        if (typeof(TOp) == typeof(ClampOp)) { ref var c = ref Unsafe.As<TOp, ClampOp>(ref op); p0 = c.Lo; p1 = c.Hi; return "clamp"; }
        if (typeof(TOp) == typeof(PowOp)) { p0 = Unsafe.As<TOp, PowOp>(ref op).P; return "pow"; }
        throw Missing(typeof(TOp).Name, "unary.cu");
    }

    /// <summary>binary.cu family of <typeparamref name="TOp"/>: "add", "clamp_grad", ...</summary>
    public static string Binary<TOp>(TOp op, out float p0, out float p1) where TOp : struct, IBinaryOp
    {
        p0 = 0f; p1 = 0f;
        if (typeof(TOp) == typeof(AddOp)) return "add";
        if (typeof(TOp) == typeof(SubOp)) return "sub";
        if (typeof(TOp) == typeof(MulOp)) return "mul";
        if (typeof(TOp) == typeof(DivOp)) return "div";
        if (typeof(TOp) == typeof(MaxOp)) return "max";
        if (typeof(TOp) == typeof(MinOp)) return "min";
        if (typeof(TOp) == typeof(AbsGradOp)) return "abs_grad";
        if (typeof(TOp) == typeof(Log1pGradOp)) return "log1p_grad";
        if (typeof(TOp) == typeof(SigmoidGradOp)) return "sigmoid_grad";
        if (typeof(TOp) == typeof(SiluGradOp)) return "silu_grad";
        if (typeof(TOp) == typeof(SqrtGradOp)) return "sqrt_grad";
        if (typeof(TOp) == typeof(TanhGradOp)) return "tanh_grad";
        if (typeof(TOp) == typeof(ClampGradOp)) { ref var c = ref Unsafe.As<TOp, ClampGradOp>(ref op); p0 = c.Lo; p1 = c.Hi; return "clamp_grad"; }
        if (typeof(TOp) == typeof(PowGradOp)) { p0 = Unsafe.As<TOp, PowGradOp>(ref op).P; return "pow_grad"; }
        throw Missing(typeof(TOp).Name, "binary.cu");
    }

    /// <summary>binary.cu ternary family of <typeparamref name="TOp"/>: "div_rhs_grad", "select".</summary>
    public static string Ternary<TOp>(TOp op, out float p0, out float p1) where TOp : struct, ITernaryOp
    {
        p0 = 0f; p1 = 0f;
        if (typeof(TOp) == typeof(DivRhsGradOp)) return "div_rhs_grad";
        if (typeof(TOp) == typeof(SelectOp)) return "select";
        throw Missing(typeof(TOp).Name, "binary.cu");
    }

    static NotSupportedException Missing(string op, string file) =>
        new($"{op} has no CUDA kernel: add its family to native/cuda/{file} and map it in src/Engine/Cuda/Ops/CudaOpNames.cs, or move the tensors to the CPU.");
}

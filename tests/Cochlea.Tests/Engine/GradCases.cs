// Gradient-check cases keyed by the op name recorded in the graph. OpRegistryTests
// asserts that every registered op has an entry here, so a new op cannot land untested.
using NUnit.Framework;
using static Cochlea.Tests.Engine.GradCheck;

namespace Cochlea.Tests.Engine;

public static partial class GradCases
{
    static readonly Random Rng = new(1234);

    /// <summary>op name -> a check that throws (via NUnit asserts) when the backward rule is wrong.</summary>
    public static readonly Dictionary<string, Action> ByOp = new()
    {
        ["add"] = () => Binary((a, b) => a + b),
        ["sub"] = () => Binary((a, b) => a - b),
        ["mul"] = () => Binary((a, b) => a * b),
        ["div"] = () => Binary((a, b) => a / b),
        ["neg"] = () => Check(t => Ops.Neg(t[0]), [Normal(Rng, 3, 7)]),
        ["scale"] = () => Check(t => Ops.Scale(t[0], -2.5f), [Normal(Rng, 3, 7)]),
        ["add_scalar"] = () => Check(t => Ops.AddScalar(t[0], 4f), [Normal(Rng, 3, 7)]),
        ["exp"] = () => Check(t => Ops.Exp(t[0]), [Normal(Rng, 3, 7)]),
        ["log"] = () => Check(t => Ops.Log(t[0]), [Leaf(Rng, 0.3f, 3f, 3, 7)]),
        ["log1p"] = () => Check(t => Ops.Log1p(t[0]), [Leaf(Rng, -0.5f, 3f, 3, 7)]),
        ["sqrt"] = () => Check(t => Ops.Sqrt(t[0]), [Leaf(Rng, 0.3f, 3f, 3, 7)]),
        ["pow"] = () => { Check(t => Ops.Pow(t[0], 3f), [Normal(Rng, 3, 7)]); Check(t => Ops.Pow(t[0], 1.7f), [Leaf(Rng, 0.3f, 3f, 3, 7)]); },
        ["abs"] = () => Check(t => Ops.Abs(t[0]), [AwayFromKinks()]),
        ["clamp"] = () => Check(t => Ops.Clamp(t[0], -1f, 1f), [AwayFromKinks()]),
        ["relu"] = () => Check(t => Ops.Relu(t[0]), [AwayFromKinks()]),
        ["relu_clip"] = () => Check(t => Ops.ReluClip(t[0], 5f), [AwayFromKinks()]),
        ["relu6"] = () => Check(t => Ops.Relu6(t[0]), [AwayFromKinks()]),
        ["sigmoid"] = () => Check(t => Ops.Sigmoid(t[0]), [Normal(Rng, 3, 7)]),
        ["tanh"] = () => Check(t => Ops.Tanh(t[0]), [Normal(Rng, 3, 7)]),
        ["sum"] = () =>
        {
            var x = Normal(Rng, 3, 4, 5);
            Check(t => Ops.Sum(t[0]), [x]);
            Check(t => Ops.Sum(t[0], [1], keepDim: true), [x]);
            Check(t => Ops.Sum(t[0], [0, 2]), [x]);
        },
        ["mean"] = () =>
        {
            var x = Normal(Rng, 3, 4, 5);
            Check(t => Ops.Mean(t[0], [2]), [x]);
            Check(t => Ops.Mean(t[0], [0, 1], keepDim: true), [x]);
            Check(t => Ops.Mean(t[0]), [x]);
        },
        ["max"] = () =>
        {
            var d = Distinct(Rng, 3, 4, 5);
            Check(t => Ops.Max(t[0], 1), [d]);
            Check(t => Ops.Max(t[0], 2, keepDim: true), [d]);
            Check(t => Ops.Max(t[0], 0), [d]);
            Check(t => Ops.Max(t[0]), [d]);
        },
        ["matmul"] = () =>
        {
            Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 3, 4), Normal(Rng, 4, 5)]);
            Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 2, 3, 4), Normal(Rng, 2, 4, 5)]);
            Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 2, 1, 3, 4), Normal(Rng, 3, 4, 2)]);
            Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 4), Normal(Rng, 4, 3)]);
            Check(t => Ops.Matmul(t[0], t[1]), [Normal(Rng, 2, 3, 4), Normal(Rng, 4)]);
            Check(t => Ops.Matmul(t[0].Transpose(0, 1), t[1].Transpose(-1, -2)), [Normal(Rng, 4, 3), Normal(Rng, 2, 5, 4)]);
        },
        ["linear"] = () =>
        {
            Check(t => Ops.Linear(t[0], t[1], t[2]), [Normal(Rng, 2, 3, 4), Normal(Rng, 5, 4), Normal(Rng, 5)]);
            Check(t => Ops.Linear(t[0], t[1]), [Normal(Rng, 6, 4), Normal(Rng, 2, 4)]);
        },
        ["softmax"] = () => { Check(t => Ops.Softmax(t[0], 1), [Normal(Rng, 3, 5)]); Check(t => Ops.Softmax(t[0], 0), [Normal(Rng, 3, 5)]); },
        ["log_softmax"] = () => { Check(t => Ops.LogSoftmax(t[0], -1), [Normal(Rng, 2, 3, 5)]); Check(t => Ops.LogSoftmax(t[0], 1), [Normal(Rng, 2, 3, 5)]); },
        ["contiguous"] = () => Check(t => t[0].Transpose(0, 2).Contiguous(), [Normal(Rng, 2, 3, 4)]),
        ["clone"] = () => Check(t => t[0].Clone() * t[0], [Normal(Rng, 2, 3)]),
        // Same device (a recorded view) everywhere; then CPU -> CUDA -> CPU, skipped (inconclusive) without a GPU.
        ["to"] = () =>
        {
            Check(t => t[0].To(Device.Cpu) * t[0], [Normal(Rng, 2, 3)]);
            Cuda.GpuTest.RequireGpu();
            Check(t => t[0].To(Device.Cuda(0)).To(Device.Cpu) * t[0], [Normal(Rng, 2, 3)]);
        },
        ["reshape"] = () => { var x = Normal(Rng, 2, 3, 4); Check(t => t[0].Reshape(4, 6) * t[0].Reshape(4, 6), [x]); Check(t => t[0].Flatten(1), [x]); Check(t => t[0].Unsqueeze(1).Squeeze(1), [x]); },
        ["permute"] = () => Check(t => t[0].Permute(2, 0, 1).Reshape(-1), [Normal(Rng, 2, 3, 4)]),
        ["slice"] = () => { var x = Normal(Rng, 2, 3, 4); Check(t => t[0].Slice(2, 1, 4, 2), [x]); Check(t => t[0].Slice(1, -2, 3), [x]); },
        ["expand"] = () => Check(t => t[0].Slice(0, 0, 1).Expand(5, 3, 4), [Normal(Rng, 2, 3, 4)]),
        ["unfold"] = () => { var x = Normal(Rng, 2, 3, 4); Check(t => t[0].Unfold(2, 2, 1), [x]); Check(t => t[0].Unfold(1, 2, 1).Permute(0, 2, 1, 3).Reshape(-1), [x]); },
        ["concat"] = () =>
        {
            Check(t => Ops.Concat([t[0], t[1]], 1), [Normal(Rng, 2, 3), Normal(Rng, 2, 5)]);
            Check(t => Ops.Stack([t[0], t[1]], 0), [Normal(Rng, 2, 3), Normal(Rng, 2, 3)]);
            Check(t => Ops.Stack([t[0], t[1]], -1), [Normal(Rng, 2, 3), Normal(Rng, 2, 3)]);
            Check(t => Ops.Split(t[0], [2, 1, 2], 1)[1] * 3f + Ops.Split(t[0], [2, 1, 2], 1)[0].Sum(1, true), [Normal(Rng, 2, 5)]);
        },
        ["pad"] = () =>
        {
            var x = Normal(Rng, 2, 3, 4);
            Check(t => Ops.Pad(t[0], [1, 2]), [x]);
            Check(t => Ops.Pad(t[0], [0, 1, 2, 0], 3f), [x]);
            Check(t => Ops.Pad(t[0], [-1, 1]), [x]);
        },
        ["where"] = () =>
        {
            using var mask = Tensor.FromArray([1f, 0f, 0f, 1f, 1f, 0f], 2, 3);
            Check(t => Ops.Where(mask, t[0], t[1]), [Normal(Rng, 2, 3), Normal(Rng, 3)]);
        },
        ["gather"] = () =>
        {
            using var idx = Tensor.FromArray(new long[] { 0, 2, 2, 1, 0, 0 }, 2, 3);
            Check(t => Ops.Gather(t[0], 1, idx), [Normal(Rng, 2, 4)]);
        },
        // A fixed seed gives the same mask on every evaluation, so central differences see a smooth function.
        ["dropout"] = () => Check(t => Ops.Dropout(t[0], 0.3f, true, new Philox(5)), [Normal(Rng, 4, 6)]),
        ["adaptive_avg_pool2d"] = () => { Check(t => Ops.AdaptiveAvgPool2d(t[0], (3, 2)), [Normal(Rng, 2, 2, 7, 5)]); Check(t => Ops.AdaptiveAvgPool2d(t[0], (4, 6)), [Normal(Rng, 1, 2, 3, 4)]); },
        ["resize_bilinear"] = () => { Check(t => Ops.ResizeBilinear(t[0], (5, 9)), [Normal(Rng, 2, 2, 3, 4)]); Check(t => Ops.ResizeBilinear(t[0], (2, 3)), [Normal(Rng, 1, 2, 5, 7)]); },
        ["silu"] = () => Check(t => Ops.Silu(t[0]), [Scaled(Normal(Rng, 3, 7), 3f)]),
        ["drop_path"] = () => { Check(t => Ops.DropPath(t[0], 0.4f, true, new Philox(3)), [Normal(Rng, 5, 2, 3)]); Check(t => Ops.DropPath(t[0], 0.5f, [true, false, true]), [Normal(Rng, 3, 4)]); },
        ["conv1d"] = () =>
        {
            Check(t => Ops.Conv1d(t[0], t[1], t[2]), [Normal(Rng, 2, 3, 9), Normal(Rng, 4, 3, 3), Normal(Rng, 4)]);
            Check(t => Ops.Conv1d(t[0], t[1], null, stride: 2, padding: ConvPadding.Same, dilation: 1), [Normal(Rng, 2, 3, 10), Normal(Rng, 5, 3, 3)]);
            Check(t => Ops.Conv1d(t[0], t[1], null, padding: 2, dilation: 2, groups: 2), [Normal(Rng, 1, 4, 11), Normal(Rng, 6, 2, 3)]);
            Check(t => Ops.Conv1d(t[0], t[1], t[2], stride: 2, padding: ConvPadding.Same, groups: 4), [Normal(Rng, 2, 4, 13), Normal(Rng, 4, 1, 3), Normal(Rng, 4)]);
            Check(t => Ops.Conv1d(t[0], t[1], null, groups: 3), [Normal(Rng, 2, 3, 8), Normal(Rng, 6, 1, 3)]);
            Check(t => Ops.Conv1d(t[0], t[1], t[2]), [Normal(Rng, 2, 5, 7), Normal(Rng, 3, 5, 1), Normal(Rng, 3)]);
            Check(t => Ops.Conv1d(t[0], t[1], null, padding: ConvPadding.Same), [Normal(Rng, 2, 2, 40), Normal(Rng, 3, 2, 7)]);   // implicit GEMM
        },
        ["conv2d"] = () =>
        {
            Check(t => Ops.Conv2d(t[0], t[1], t[2], padding: ConvPadding.Same), [Normal(Rng, 2, 2, 5, 7), Normal(Rng, 3, 2, 3, 3), Normal(Rng, 3)]);
            Check(t => Ops.Conv2d(t[0], t[1], null, stride: (2, 1), padding: ConvPadding.Explicit(1, 0, 2, 1), dilation: (1, 2)), [Normal(Rng, 1, 2, 6, 7), Normal(Rng, 2, 2, 3, 2)]);
            Check(t => Ops.Conv2d(t[0], t[1], t[2], stride: (2, 2), padding: 1, groups: 3), [Normal(Rng, 2, 3, 6, 5), Normal(Rng, 3, 1, 3, 3), Normal(Rng, 3)]);
            Check(t => Ops.Conv2d(t[0], t[1], null, groups: 2), [Normal(Rng, 1, 4, 4, 4), Normal(Rng, 4, 2, 2, 3)]);
            // Output rows of >= 32 columns at stride 1: the implicit-GEMM path (ConvolutionImplicit.cs).
            Check(t => Ops.Conv2d(t[0], t[1], t[2], padding: ConvPadding.Symmetric(1, 2)), [Normal(Rng, 2, 2, 3, 33), Normal(Rng, 3, 2, 3, 5), Normal(Rng, 3)]);
            Check(t => Ops.Conv2d(t[0], t[1], null, padding: ConvPadding.Explicit(0, 1, 3, 1)), [Normal(Rng, 1, 3, 2, 35), Normal(Rng, 2, 3, 2, 6)]);
        },
        ["max_pool1d"] = () => Check(t => Ops.MaxPool1d(t[0], 3, 2, 1), [Distinct(Rng, 2, 3, 9)]),
        ["max_pool2d"] = () => { Check(t => Ops.MaxPool2d(t[0], (2, 2)), [Distinct(Rng, 2, 2, 4, 6)]); Check(t => Ops.MaxPool2d(t[0], (3, 2), (2, 1), (1, 1)), [Distinct(Rng, 1, 2, 5, 5)]); },
        ["avg_pool1d"] = () => Check(t => Ops.AvgPool1d(t[0], 3, 2, 1), [Normal(Rng, 2, 3, 9)]),
        ["avg_pool2d"] = () => Check(t => Ops.AvgPool2d(t[0], (3, 2), (2, 1), (1, 1)), [Normal(Rng, 2, 2, 5, 6)]),
        ["global_avg_pool"] = () => { Check(t => Ops.GlobalAvgPool(t[0]), [Normal(Rng, 2, 3, 4, 5)]); Check(t => Ops.GlobalAvgPool(t[0]), [Normal(Rng, 2, 3, 7)]); },
        ["batch_norm"] = () =>
        {
            // Training: the statistics depend on x, so this checks the full closed-form backward. Running stats
            // are omitted (null) so repeated evaluations by the checker do not move them.
            Check(t => Ops.BatchNorm(t[0], t[1], t[2], null, null, training: true), [Normal(Rng, 4, 3, 5), Leaf(Rng, 0.5f, 2f, 3), Normal(Rng, 3)]);
            Check(t => Ops.BatchNorm(t[0], t[1], t[2], null, null, training: true), [Normal(Rng, 6, 2), Leaf(Rng, 0.5f, 2f, 2), Normal(Rng, 2)]);
            using var rm = Tensor.FromArray([0.1f, -0.2f, 0.3f], 3);
            using var rv = Tensor.FromArray([1.5f, 0.7f, 2f], 3);
            Check(t => Ops.BatchNorm(t[0], t[1], t[2], rm, rv, training: false), [Normal(Rng, 2, 3, 2, 2), Leaf(Rng, 0.5f, 2f, 3), Normal(Rng, 3)]);
        },
        ["conv2d_batch_norm_relu"] = Conv2dBatchNormReluCases,
        ["separable_conv1d_batch_norm_relu"] = SeparableConv1dBatchNormReluCases,
        // losses (bodies in GradCases.Losses.cs)
        ["cross_entropy"] = CrossEntropyCases,
        ["bce_with_logits"] = BceWithLogitsCases,
        ["mse"] = MseCases,
        ["kl_div_distill"] = KlDivDistillCases,
        ["recurrence"] = () =>
        {
            // (T, B, G*H) projected inputs, each cell, both directions, ragged lengths, both weight layouts.
            foreach (var (cell, g) in new[] { (RecurrentCell.Lstm, 4), (RecurrentCell.Gru, 3), (RecurrentCell.RnnTanh, 1), (RecurrentCell.RnnRelu, 1) })
                foreach (var reverse in new[] { false, true })
                {
                    int[] lengths = [4, 2, 0];
                    Check(t => Ops.Recurrence(t[0], t[1], t[2], cell, reverse, lengths, forgetBias: 0.5f),
                        [Scaled(Normal(Rng, 4, 3, g * 3), 0.7f), Scaled(Normal(Rng, g * 3, 3), 0.5f), Normal(Rng, g * 3)]);
                }
            Check(t => Ops.Recurrence(t[0], t[1], null, RecurrentCell.RnnTanh, hhInputMajor: true), [Normal(Rng, 5, 2, 3), Scaled(Normal(Rng, 3, 3), 0.5f)]);
        },
        ["bidirectional_recurrence"] = () =>
        {
            // Both directions in one op, on one thread (one after the other) and on two (side by side).
            int saved = Cochlea.Kernels.Threading.KernelThreads.Count;
            try
            {
                foreach (int threads in new[] { 1, 2 })
                {
                    Cochlea.Kernels.Threading.KernelThreads.Count = threads;
                    foreach (var (cell, g) in new[] { (RecurrentCell.Lstm, 4), (RecurrentCell.Gru, 3) })
                    {
                        int[] lengths = [4, 1, 3];
                        Check(t => Ops.BidirectionalRecurrence(t[0], t[1], t[2], t[3], t[4], t[5], cell, lengths, forgetBias: 0.5f),
                            [Scaled(Normal(Rng, 4, 3, g * 2), 0.7f), Scaled(Normal(Rng, g * 2, 2), 0.5f), Normal(Rng, g * 2),
                             Scaled(Normal(Rng, 4, 3, g * 2), 0.7f), Scaled(Normal(Rng, g * 2, 2), 0.5f), Normal(Rng, g * 2)]);
                    }
                    Check(t => Ops.BidirectionalRecurrence(t[0], t[1], null, t[2], t[3], null, RecurrentCell.RnnTanh),
                        [Normal(Rng, 3, 2, 3), Scaled(Normal(Rng, 3, 3), 0.5f), Normal(Rng, 3, 2, 3), Scaled(Normal(Rng, 3, 3), 0.5f)]);
                }
            }
            finally { Cochlea.Kernels.Threading.KernelThreads.Count = saved; }
        },
        ["ctc_loss"] = CtcLossCases,
        ["ctc_loss_logits"] = CtcLossLogitsCases,
        ["stft"] = StftCases,
        ["complex_abs"] = ComplexAbsCases,
        ["angle"] = AngleCases,
    };

    // A leaf with the values of t times s (keeps recurrent gains moderate so the checker is well conditioned).
    static Tensor Scaled(Tensor t, float s)
    {
        using var ng = Tensor.NoGrad();
        var r = Ops.Scale(t, s);
        r.RequiresGrad = true;
        return r;
    }

    static void Binary(Func<Tensor, Tensor, Tensor> f)
    {
        int[][][] shapes = [[[3, 4], [3, 4]], [[2, 3, 5], [3, 1]], [[4, 1], [1, 5]], [[5], []]];
        foreach (var s in shapes) Check(t => f(t[0], t[1]), [Normal(Rng, s[0]), Leaf(Rng, 0.5f, 2f, s[1])]);
    }

    // Values at least 0.1 away from 0, +-1, 5 and 6, so eps = 1e-2 never straddles a kink.
    static Tensor AwayFromKinks()
    {
        var x = Tensor.FromArray([-7.2f, -3.1f, -0.5f, -0.2f, 0.3f, 0.7f, 1.5f, 4.4f, 5.5f, 6.4f, 8f, -1.4f, 4.8f, 5.2f, 2.2f], 3, 5);
        x.RequiresGrad = true;
        return x;
    }

    // The fused conv2d block against the three ops it replaces (values, every gradient, running statistics), then the
    // finite-difference check (beta around 2.5 keeps the ReLU's kink away from the checked points). Output rows of
    // >= 32 columns: the fused path (the op's name is checked).
    static void Conv2dBatchNormReluCases()
    {
        foreach (var (n, cin, cout, h, w, kh, kw) in new[] { (3, 2, 5, 4, 33, 3, 11), (2, 3, 9, 3, 40, 2, 3), (1, 1, 4, 5, 32, 3, 5) })
        {
            using var scope = Tensor.Scope();
            var pad = ConvPadding.Same;
            var x = Normal(Rng, n, cin, h, w); var wt = Normal(Rng, cout, cin, kh, kw); var ga = Leaf(Rng, 0.5f, 2f, cout); var be = Normal(Rng, cout);
            var x2 = x.Detach().Clone(); var wt2 = wt.Detach().Clone(); var ga2 = ga.Detach().Clone(); var be2 = be.Detach().Clone();
            foreach (var t in new[] { x2, wt2, ga2, be2 }) t.RequiresGrad = true;
            var rm = Tensor.Randn(Rng, 1f, cout); var rv = Tensor.Rand(Rng, 0.5f, 2f, cout);
            var rm2 = rm.Clone(); var rv2 = rv.Clone();
            var y = Ops.Conv2dBatchNormRelu(x, wt, pad, ga, be, rm, rv, training: true, momentum: 0.01f, eps: 1e-3f);
            var y2 = Ops.Relu(Ops.BatchNorm(Ops.Conv2d(x2, wt2, null, padding: pad), ga2, be2, rm2, rv2, training: true, momentum: 0.01f, eps: 1e-3f));
            Assert.That(y.GradFn?.Name, Is.EqualTo("conv2d_batch_norm_relu"));
            var g = Tensor.Randn(Rng, 1f, y.ShapeArray);
            y.Backward(g); y2.Backward(g);
            string what = $"({n},{cin},{cout},{h}x{w},{kh}x{kw})";
            CloseT(y, y2, "y " + what); CloseT(rm, rm2, "running_mean " + what); CloseT(rv, rv2, "running_var " + what);
            CloseT(x.Grad!, x2.Grad!, "dx " + what); CloseT(wt.Grad!, wt2.Grad!, "dw " + what);
            CloseT(ga.Grad!, ga2.Grad!, "dgamma " + what); CloseT(be.Grad!, be2.Grad!, "dbeta " + what);
        }
        Check(t => Ops.Conv2dBatchNormRelu(t[0], t[1], ConvPadding.Symmetric(1, 2), t[2], t[3], null, null, training: true),
            [Normal(Rng, 2, 2, 2, 32), Normal(Rng, 2, 2, 3, 5), Leaf(Rng, 0.5f, 1f, 2), Leaf(Rng, 2.5f, 3f, 2)]);
        // Eval mode is the three ops.
        var ye = Ops.Conv2dBatchNormRelu(Normal(Rng, 1, 2, 3, 40), Normal(Rng, 3, 2, 3, 3), ConvPadding.Same, null, null, Tensor.Zeros(3), Tensor.Ones(3), training: false);
        Assert.That(ye.GradFn?.Name, Is.EqualTo("relu"));
        // Inference (eval, no gradients) runs BN and ReLU in place on the conv output: the same numbers as the three ops.
        using (Tensor.NoGrad())
        {
            var xe = Normal(Rng, 2, 2, 3, 40); var we = Normal(Rng, 3, 2, 3, 3); var gae = Leaf(Rng, -1f, 2f, 3); var bee = Normal(Rng, 3);
            var rme = Tensor.Randn(Rng, 1f, 3); var rve = Tensor.Rand(Rng, 0.5f, 2f, 3);
            var a = Ops.Conv2dBatchNormRelu(xe, we, ConvPadding.Same, gae, bee, rme, rve, training: false, eps: 1e-3f);
            var b = Ops.Relu(Ops.BatchNorm(Ops.Conv2d(xe, we, null, padding: ConvPadding.Same), gae, bee, rme, rve, training: false, eps: 1e-3f));
            Assert.That(a.ToArray(), Is.EqualTo(b.ToArray()), "eval in place");
        }
    }

    // The fused separable block against the four ops it replaces (values, every gradient, running statistics), then
    // the finite-difference check with beta around 2.5 (the ReLU's kink away from the checked points).
    static void SeparableConv1dBatchNormReluCases()
    {
        foreach (var (n, cin, cout, len, stride, same) in new[] { (4, 3, 2, 9, 1, false), (3, 5, 7, 10, 2, true), (8, 16, 24, 7, 2, true), (2, 4, 6, 3, 1, false) })
        {
            using var scope = Tensor.Scope();
            var pad = same ? ConvPadding.Same : ConvPadding.Valid;
            var x = Normal(Rng, n, cin, len); var dw = Normal(Rng, cin, 1, 3); var pw = Normal(Rng, cout, cin, 1);
            var ga = Leaf(Rng, 0.5f, 2f, cout); var be = Normal(Rng, cout);
            var x2 = x.Detach().Clone(); var dw2 = dw.Detach().Clone(); var pw2 = pw.Detach().Clone(); var ga2 = ga.Detach().Clone(); var be2 = be.Detach().Clone();
            foreach (var t in new[] { x2, dw2, pw2, ga2, be2 }) t.RequiresGrad = true;
            var rm = Tensor.Randn(Rng, 1f, cout); var rv = Tensor.Rand(Rng, 0.5f, 2f, cout);
            var rm2 = rm.Clone(); var rv2 = rv.Clone();
            var y = Ops.SeparableConv1dBatchNormRelu(x, dw, stride, pad, pw, ga, be, rm, rv, training: true, momentum: 0.01f, eps: 1e-3f);
            var y2 = Ops.Relu(Ops.BatchNorm(Ops.Conv1d(Ops.Conv1d(x2, dw2, null, stride, pad, groups: cin), pw2), ga2, be2, rm2, rv2, training: true, momentum: 0.01f, eps: 1e-3f));
            Assert.That(y.GradFn?.Name, Is.EqualTo("separable_conv1d_batch_norm_relu"));
            var g = Tensor.Randn(Rng, 1f, y.ShapeArray);
            y.Backward(g); y2.Backward(g);
            string what = $"({n},{cin},{cout},{len},s{stride})";
            CloseT(y, y2, "y " + what); CloseT(rm, rm2, "running_mean " + what); CloseT(rv, rv2, "running_var " + what);
            CloseT(x.Grad!, x2.Grad!, "dx " + what); CloseT(dw.Grad!, dw2.Grad!, "ddw " + what); CloseT(pw.Grad!, pw2.Grad!, "dpw " + what);
            CloseT(ga.Grad!, ga2.Grad!, "dgamma " + what); CloseT(be.Grad!, be2.Grad!, "dbeta " + what);
        }
        Check(t => Ops.SeparableConv1dBatchNormRelu(t[0], t[1], 2, ConvPadding.Same, t[2], t[3], t[4], null, null, training: true),
            [Normal(Rng, 3, 3, 8), Normal(Rng, 3, 1, 3), Normal(Rng, 2, 3, 1), Leaf(Rng, 0.5f, 1f, 2), Leaf(Rng, 2.5f, 3f, 2)]);
    }

    static void CloseT(Tensor a, Tensor b, string what)
    {
        float[] av = a.ToArray(), bv = b.ToArray();
        Assert.That(av.Length, Is.EqualTo(bv.Length), what);
        for (int i = 0; i < av.Length; i++)
            Assert.That(av[i], Is.EqualTo(bv[i]).Within(1e-4 + 1e-4 * Math.Abs(bv[i])), $"{what}[{i}]");
    }
}

// The list of every differentiable op the engine records, with its backend support. A test
// loops over it (ggml's static_assert habit): each entry must have a CPU kernel, a CUDA
// kernel or an explicit NotSupported, a backward rule, and a gradient-check case.
namespace Cochlea;

/// <summary>Whether an op runs on CUDA.</summary>
public enum CudaSupport { NotSupported, Supported }

/// <summary>One registered op: its recorded name and which backends run it.</summary>
/// <param name="Name">The name recorded in the graph (GradFn.Name).</param>
/// <param name="Cuda">CUDA status (NotSupported until the CUDA backend implements it).</param>
/// <param name="Differentiable">False for ops that record no backward (none at present).</param>
public sealed record OpInfo(string Name, CudaSupport Cuda = CudaSupport.NotSupported, bool Differentiable = true);

/// <summary>All ops of the engine.</summary>
public static class OpRegistry
{
    const CudaSupport S = CudaSupport.Supported;  // kernels in native/cuda, dispatch in src/Engine/Cuda/Ops

    /// <summary>Every op, by recorded name.</summary>
    public static IReadOnlyList<OpInfo> All { get; } = new OpInfo[]
    {
        // arithmetic and pointwise
        new("add", S), new("sub", S), new("mul", S), new("div", S), new("neg", S), new("scale", S), new("add_scalar", S),
        new("exp", S), new("log", S), new("log1p", S), new("sqrt", S), new("pow", S), new("abs", S), new("clamp", S),
        new("relu", S), new("relu_clip", S), new("relu6", S), new("sigmoid", S), new("tanh", S),
        // reductions, products, softmax
        new("sum", S), new("mean", S), new("max", S), new("matmul", S), new("linear", S), new("softmax", S), new("log_softmax", S),
        // views and copies
        new("contiguous", S), new("clone", S), new("to", S),
        new("reshape", S), new("permute", S), new("slice", S), new("expand", S), new("unfold", S),
        // joining and indexing
        new("concat", S), new("pad", S), new("where", S), new("gather", S),
        // convolution and pooling
        new("conv1d", S), new("conv2d", S), new("max_pool1d", S), new("max_pool2d", S),
        new("avg_pool1d", S), new("avg_pool2d", S), new("global_avg_pool", S),
        // recurrent layers (the time loop; input projections are linear)
        new("recurrence", S), new("bidirectional_recurrence", S),   // CUDA: RNN (ReLU/tanh) and LSTM cells; GRU is CPU-only
        // normalisation and regularisation
        new("batch_norm", S), new("dropout", S),
        new("separable_conv1d_batch_norm_relu"),   // CPU training only; elsewhere it records conv1d, batch_norm, relu
        new("conv2d_batch_norm_relu"),   // CPU training on the implicit-GEMM conv path only; elsewhere conv2d, batch_norm, relu
        // tagging backbones (EfficientNet): SiLU, stochastic depth (src/Engine/Ops/Silu.cs, DropPath.cs)
        new("silu", S), new("drop_path", S),
        // resampling (src/Engine/Ops/Resample.cs): SE / head pooling, spectrogram resize
        new("adaptive_avg_pool2d"), new("resize_bilinear"),
        // losses (fused: one recorded op each, src/Engine/Losses/Loss.cs)
        new("cross_entropy", S), new("bce_with_logits", S), new("mse", S), new("kl_div_distill", S),
        // CTC (src/Engine/Losses/Ctc.cs): on log-probs as PyTorch, on logits with log_softmax fused
        new("ctc_loss"), new("ctc_loss_logits"),
        // spectral (src/Engine/Ops/Spectral.cs): STFT as (..., 2) re/im pairs, their magnitude and angle
        new("stft", S), new("complex_abs", S), new("angle", S),
    };

    /// <summary>Looks an op up by name.</summary>
    public static OpInfo? Find(string name) => All.FirstOrDefault(o => o.Name == name);
}

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
    /// <summary>Every op, by recorded name.</summary>
    public static IReadOnlyList<OpInfo> All { get; } = new OpInfo[]
    {
        // arithmetic and pointwise
        new("add"), new("sub"), new("mul"), new("div"), new("neg"), new("scale"), new("add_scalar"),
        new("exp"), new("log"), new("log1p"), new("sqrt"), new("pow"), new("abs"), new("clamp"),
        new("relu"), new("relu_clip"), new("relu6"), new("sigmoid"), new("tanh"),
        // reductions, products, softmax
        new("sum"), new("mean"), new("max"), new("matmul", CudaSupport.Supported), new("linear", CudaSupport.Supported), new("softmax"), new("log_softmax"),
        // views and copies
        new("contiguous", CudaSupport.Supported), new("clone", CudaSupport.Supported), new("to", CudaSupport.Supported),
        new("reshape", CudaSupport.Supported), new("permute", CudaSupport.Supported), new("slice", CudaSupport.Supported), new("expand"), new("unfold"),
        // joining and indexing
        new("concat"), new("pad"), new("where"), new("gather"),
        // convolution and pooling
        new("conv1d", CudaSupport.Supported), new("conv2d", CudaSupport.Supported), new("max_pool1d", CudaSupport.Supported), new("max_pool2d", CudaSupport.Supported),
        new("avg_pool1d", CudaSupport.Supported), new("avg_pool2d", CudaSupport.Supported), new("global_avg_pool", CudaSupport.Supported),
        // recurrent layers (the time loop; input projections are linear)
        new("recurrence", CudaSupport.Supported), new("bidirectional_recurrence", CudaSupport.Supported),   // CUDA: RNN (ReLU/tanh) and LSTM cells; GRU is CPU-only
        // normalisation and regularisation
        new("batch_norm", CudaSupport.Supported), new("dropout"),
        // tagging backbones (EfficientNet): SiLU, stochastic depth (src/Engine/Ops/Silu.cs, DropPath.cs)
        new("silu"), new("drop_path"),
        // resampling (src/Engine/Ops/Resample.cs): SE / head pooling, spectrogram resize
        new("adaptive_avg_pool2d"), new("resize_bilinear"),
        // losses (fused: one recorded op each, src/Engine/Losses/Loss.cs)
        new("cross_entropy"), new("bce_with_logits"), new("mse"), new("kl_div_distill"),
        // CTC (src/Engine/Losses/Ctc.cs): on log-probs as PyTorch, on logits with log_softmax fused
        new("ctc_loss"), new("ctc_loss_logits"),
        // spectral (src/Engine/Ops/Spectral.cs): STFT as (..., 2) re/im pairs, their magnitude and angle
        new("stft", CudaSupport.Supported), new("complex_abs", CudaSupport.Supported), new("angle", CudaSupport.Supported),
    };

    /// <summary>Looks an op up by name.</summary>
    public static OpInfo? Find(string name) => All.FirstOrDefault(o => o.Name == name);
}

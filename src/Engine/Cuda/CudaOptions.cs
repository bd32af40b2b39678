// Process-wide CUDA numerics and kernel-choice switches.
namespace Cochlea.Cuda;

/// <summary>Which implementation runs depthwise convolutions (groups == C_in == C_out) on CUDA.</summary>
public enum DepthwiseKernels
{
    /// <summary>Per shape and pass, the faster of the two, timed once on the first call's own buffers.</summary>
    Auto,
    /// <summary>Always the engine's kernels (native/cuda/depthwise.cu); cuDNN is not called for depthwise convolutions.</summary>
    Own,
    /// <summary>Always cuDNN (grouped convolution, groups = C).</summary>
    Cudnn,
}

/// <summary>How Linear with a bias runs its forward GEMM on CUDA.</summary>
public enum LinearBiasEpilogue
{
    /// <summary>One cublasLtMatmul with CUBLASLT_EPILOGUE_BIAS (as PyTorch's nn.Linear), where cuBLASLt loads and its heuristic has an algorithm for the shape; else Off's path.</summary>
    Auto,
    /// <summary>cuBLAS only: the bias broadcast as a rank-1 GEMM (ones x bias^T), then the main GEMM with beta 1.</summary>
    Off,
}

/// <summary>Options of the CUDA backend.</summary>
public static class CudaOptions
{
    /// <summary>The environment variable that sets <see cref="DepthwiseKernels"/>'s initial value: auto, own or cudnn.</summary>
    public const string DepthwiseEnvironmentVariable = "COCHLEA_CUDA_DEPTHWISE";

    /// <summary>The environment variable that sets <see cref="LinearBiasEpilogue"/>'s initial value: auto or off.</summary>
    public const string LinearBiasEpilogueEnvironmentVariable = "COCHLEA_CUDA_LT";

    /// <summary>
    /// Lets float32 GEMMs (cuBLAS CUBLAS_TF32_TENSOR_OP_MATH) and convolutions (cuDNN default math instead of FMA math)
    /// use TF32 tensor cores: several times faster on Ampere/Hopper, about 10 mantissa bits per product. Off by default,
    /// so CUDA results match the CPU to float32 accuracy.
    /// </summary>
    public static bool AllowTf32 { get; set; }

    /// <summary>The default cap of <see cref="ConvSearchWorkspaceBytes"/>: 1 GiB.</summary>
    public const long DefaultConvSearchWorkspaceBytes = 1L << 30;

    static long _convSearchWorkspace = -1;   // -1: the default rule (a long, not a long?, so a read is never torn)

    /// <summary>
    /// The workspace the cuDNN convolution algorithm search offers; algorithms that need more are not tried. Null (the
    /// default): 1 GiB, or an eighth of the device's memory where that is less. The FFT algorithms need hundreds of MB at
    /// training batch sizes: on an H100, TutorialConv's (100, 64, 49, 20) layer computed its weight gradient in 0.59 ms
    /// with FFT (436 MiB of workspace) against 1.40 ms for the best algorithm within 256 MiB. After each search the
    /// workspace goes back to the allocator's cache (freed to the driver by an out-of-memory retry or EmptyCache); lower
    /// this on a small GPU. Takes effect at the next search.
    /// </summary>
    public static long? ConvSearchWorkspaceBytes
    {
        get { long v = Volatile.Read(ref _convSearchWorkspace); return v < 0 ? null : v; }
        set => Volatile.Write(ref _convSearchWorkspace, value is null or >= 0 ? value ?? -1
            : throw new ArgumentOutOfRangeException(nameof(value), value, "CudaOptions.ConvSearchWorkspaceBytes must be at least 0 (bytes), or null for the default (1 GiB, at most an eighth of the device's memory)."));
    }

    /// <summary>What <see cref="ConvSearchWorkspaceBytes"/> means on a device of <paramref name="deviceBytes"/> bytes.</summary>
    internal static long ConvSearchWorkspaceFor(long deviceBytes) => ConvSearchWorkspaceBytes ?? Math.Min(DefaultConvSearchWorkspaceBytes, deviceBytes / 8);

    /// <summary>The environment variable that turns <see cref="LogAlgorithmSearch"/> on: 1.</summary>
    public const string LogSearchEnvironmentVariable = "COCHLEA_CUDA_LOG_SEARCH";

    /// <summary>
    /// Writes one line per cuDNN convolution algorithm search to standard error: the shape, the pass, and each algorithm
    /// tried with its time and workspace (the first that ran is the one kept). For finding out why a model's step is slow;
    /// searches happen once per shape, so the log stays short. Default from COCHLEA_CUDA_LOG_SEARCH=1.
    /// </summary>
    public static bool LogAlgorithmSearch { get; set; } = Environment.GetEnvironmentVariable(LogSearchEnvironmentVariable) == "1";

    /// <summary>The default of <see cref="CudnnCacheCapacity"/>.</summary>
    public const int DefaultCudnnCacheCapacity = 256;

    static int _cudnnCacheCapacity = DefaultCudnnCacheCapacity;

    /// <summary>
    /// How many shapes each per-device library cache keeps (cuDNN convolutions with their algorithm choices, batch
    /// norms, poolings, and cuBLASLt's Linear-with-bias plans; 256 each by default). Beyond it the least recently used shape is dropped and its descriptors destroyed;
    /// seeing that shape again rebuilds them (and for a convolution searches its algorithms again). A training loop of a
    /// fixed model uses a few dozen shapes; raise it when many input lengths or batch sizes recur, so they stay searched.
    /// Takes effect at the next lookup.
    /// </summary>
    public static int CudnnCacheCapacity
    {
        get => _cudnnCacheCapacity;
        set => _cudnnCacheCapacity = value >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"CudaOptions.CudnnCacheCapacity must be at least 1 (shapes per cuDNN cache); the default is {DefaultCudnnCacheCapacity}.");
    }

    static DepthwiseKernels? _depthwise;

    /// <summary>
    /// Who runs float32 depthwise convolutions (channel multiplier 1): <see cref="Cuda.DepthwiseKernels.Auto"/> (the
    /// default) times our kernels against cuDNN's best algorithm once per shape and pass and keeps the faster; Own / Cudnn
    /// force one. Both are float32 math whatever <see cref="AllowTf32"/> says. The default comes from
    /// COCHLEA_CUDA_DEPTHWISE=auto|own|cudnn, read at the first use; setting this property overrides it.
    /// </summary>
    public static DepthwiseKernels DepthwiseKernels
    {
        get => _depthwise ??= ParseDepthwise(Environment.GetEnvironmentVariable(DepthwiseEnvironmentVariable));
        set => _depthwise = value;
    }

    internal static DepthwiseKernels ParseDepthwise(string? value) => ParseChoice<DepthwiseKernels>(value, DepthwiseEnvironmentVariable, "depthwise kernel choice");

    static LinearBiasEpilogue? _linearBias;

    /// <summary>
    /// Whether Linear's forward with a bias adds the bias in cuBLASLt's GEMM epilogue (<see cref="Cuda.LinearBiasEpilogue.Auto"/>,
    /// the default: one launch, y written once) or as a separate rank-1 GEMM (<see cref="Cuda.LinearBiasEpilogue.Off"/>). Auto
    /// falls back to Off's path, decided once per shape, where libcublasLt does not load or has no algorithm. Both follow
    /// <see cref="AllowTf32"/>. The default comes from COCHLEA_CUDA_LT=auto|off, read at the first use; setting this overrides it.
    /// </summary>
    public static LinearBiasEpilogue LinearBiasEpilogue
    {
        get => _linearBias ??= ParseLinearBiasEpilogue(Environment.GetEnvironmentVariable(LinearBiasEpilogueEnvironmentVariable));
        set => _linearBias = value;
    }

    internal static LinearBiasEpilogue ParseLinearBiasEpilogue(string? value) => ParseChoice<LinearBiasEpilogue>(value, LinearBiasEpilogueEnvironmentVariable, "Linear bias choice");

    // A COCHLEA_CUDA_* choice: unset or empty is the enum's first member (Auto), else a member's name in any case;
    // anything else names the variable and the choices.
    static T ParseChoice<T>(string? value, string variable, string what) where T : struct, Enum
    {
        var v = value?.Trim();
        if (string.IsNullOrEmpty(v)) return default;
        var names = Enum.GetNames<T>();
        foreach (var name in names)
            if (string.Equals(name, v, StringComparison.OrdinalIgnoreCase)) return Enum.Parse<T>(name);
        var lower = names.Select(n => n.ToLowerInvariant()).ToArray();
        throw new ArgumentException($"{variable}='{value}' is not a {what}; set it to {string.Join(", ", lower[..^1])} or {lower[^1]}, or unset it.");
    }
}

// Batched short-time Fourier transform on spans: (B, N) signals -> (B, frames, bins) time-major
// spectra (complex as interleaved re/im pairs, or magnitude, power, phase, log power), with the framing
// of an StftSpec (torch.stft, tf.signal.stft or python_speech_features conventions). The plan and the
// per-worker workspaces are made once per kernel and reused: no allocation per call.
using Cochlea.Kernels.Numerics;
using Cochlea.Kernels.Threading;

namespace Cochlea.Kernels.Audio;

/// <summary>What an STFT frame's bins become.</summary>
public enum SpectrumKind
{
    /// <summary>|X| = sqrt(re^2 + im^2).</summary>
    Magnitude,
    /// <summary>|X|^2 (times the optional per-bin scale).</summary>
    Power,
    /// <summary>atan2(im, re), in (-pi, pi].</summary>
    Phase,
    /// <summary>ln(scale_k |X_k|^2 + eps): the log spectrogram.</summary>
    LogPower,
}

/// <summary>
/// STFT of a batch of equal-length signals. x is (B, N) row-major; outputs are time-major (B, F, ...) with
/// F = <see cref="StftSpec.FrameCount"/>(N), for frame f of clip b: X_f[k] = sum_{t &lt; n_fft} frame_f[t] e^{-2 pi i t k / n_fft},
/// k &lt; n_fft/2 + 1, unnormalised (torch.stft normalized=False, onesided=True). Thread-safe: concurrent calls get
/// separate workspaces.
/// </summary>
public sealed unsafe class StftKernel
{
    readonly RealPlan _plan;
    readonly WorkspacePool _pool;

    /// <summary>A kernel for the given framing (the FFT plan comes from the per-length cache).</summary>
    public StftKernel(StftSpec spec)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        _plan = RealFft.Get(spec.FftSize).Plan;
        int bins = spec.Bins;
        _pool = new WorkspacePool(w => StftEngine.WorkFloats(spec, _plan, w, (long)bins * w, 2 * bins));
    }

    /// <summary>The framing.</summary>
    public StftSpec Spec { get; }

    /// <summary>Frequency bins per frame, n_fft/2 + 1.</summary>
    public int Bins => Spec.Bins;

    /// <summary>Frames for signals of <paramref name="length"/> samples.</summary>
    public int FrameCount(int length) => Spec.FrameCount(length);

    /// <summary>
    /// Complex STFT: x (batch, N) -&gt; output (batch, F, bins, 2), the last axis (re, im) (torch.view_as_real layout).
    /// Runs at <paramref name="width"/> (default <see cref="Simd.Best"/>) on at most <paramref name="threads"/> threads (0: <see cref="KernelThreads.Count"/>).
    /// </summary>
    public void Complex(ReadOnlySpan<float> x, int batch, Span<float> output, SimdWidth? width = null, int threads = 0)
    {
        int n = CheckInput(x, batch);
        CheckOutput(output, batch, n, 2 * Bins);
        fixed (float* px = x) fixed (float* po = output)
            StftEngine.Run(Spec, _plan, _pool, px, batch, n, po, new ComplexSink { Bins = Bins }, Resolve(width), Threads(threads));
    }

    /// <summary>
    /// Real spectrum per bin: x (batch, N) -&gt; output (batch, F, bins). <paramref name="binScale"/> (length bins, optional)
    /// multiplies |X_k|^2 for Power and LogPower (e.g. scipy's density scaling); LogPower adds <paramref name="logEpsilon"/>
    /// before the natural log.
    /// </summary>
    public void Spectrum(ReadOnlySpan<float> x, int batch, SpectrumKind kind, Span<float> output,
        ReadOnlySpan<float> binScale = default, float logEpsilon = 1e-10f, SimdWidth? width = null, int threads = 0)
    {
        int n = CheckInput(x, batch);
        CheckOutput(output, batch, n, Bins);
        if (!binScale.IsEmpty && binScale.Length != Bins) throw new ArgumentException($"binScale has {binScale.Length} values, expected {Bins} (n_fft/2+1) or none.", nameof(binScale));
        if (!binScale.IsEmpty && kind is SpectrumKind.Magnitude or SpectrumKind.Phase) throw new ArgumentException($"binScale applies to Power and LogPower only, not {kind}.", nameof(binScale));
        if (kind == SpectrumKind.LogPower && !(logEpsilon >= 0)) throw new ArgumentOutOfRangeException(nameof(logEpsilon), logEpsilon, "logEpsilon must be >= 0.");
        fixed (float* px = x) fixed (float* po = output) fixed (float* ps = binScale)
        {
            var sink = new SpectrumSink { Bins = Bins, Kind = kind, Scale = ps, Eps = logEpsilon };
            StftEngine.Run(Spec, _plan, _pool, px, batch, n, po, sink, Resolve(width), Threads(threads));
        }
    }

    internal static SimdWidth Resolve(SimdWidth? width) => width ?? Simd.Best;
    internal static int Threads(int threads) => threads > 0 ? threads : KernelThreads.Count;

    /// <summary>Validates x against batch and returns the signal length N.</summary>
    internal static int CheckInput(ReadOnlySpan<float> x, int batch)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "Batch must be >= 0.");
        if (batch == 0) { if (!x.IsEmpty) throw new ArgumentException($"batch is 0 but x has {x.Length} samples.", nameof(x)); return 0; }
        if (x.Length % batch != 0) throw new ArgumentException($"x has {x.Length} samples, not a multiple of batch {batch} (expected (batch, N) row-major).", nameof(x));
        return x.Length / batch;
    }

    internal void CheckOutput(Span<float> output, int batch, int n, int rowFloats)
    {
        long need = (long)batch * Spec.FrameCount(n) * rowFloats;
        if (output.Length < need)
            throw new ArgumentException($"output has {output.Length} floats, expected at least batch*frames*{rowFloats} = {need} (frames = {Spec.FrameCount(n)} for N = {n}).", nameof(output));
    }

    struct ComplexSink : IFrameSink
    {
        public int Bins;
        public readonly int RowFloats => 2 * Bins;
        public readonly long WorkFloats(int w) => 0;
        public readonly bool PowerOnly => false;
        public readonly void Consume<TO, TV>(float* xr, float* xi, float** dst, float* work, LaneGroup group) where TO : struct, IVec<TV> where TV : unmanaged
            => FftLanes.StoreComplex<TO, TV>(xr, xi, Bins, dst);
    }

    struct SpectrumSink : IFrameSink
    {
        public int Bins;
        public SpectrumKind Kind;
        public float* Scale;
        public float Eps;
        public readonly int RowFloats => Bins;
        public readonly long WorkFloats(int w) => (long)Bins * w;
        public readonly bool PowerOnly => Kind != SpectrumKind.Phase;

        public readonly void Consume<TO, TV>(float* xr, float* xi, float** dst, float* work, LaneGroup group) where TO : struct, IVec<TV> where TV : unmanaged
        {
            int w = TO.Count;
            if (Kind == SpectrumKind.Phase)
            {
                for (nint i = 0; i < (nint)Bins * w; i++) work[i] = MathF.Atan2(xi[i], xr[i]);
                FftLanes.Store<TO, TV>(work, Bins, dst);
                return;
            }
            TV eps = TO.Splat(Eps);
            for (int k = 0; k < Bins; k++)
            {
                nint o = (nint)k * w;
                TV p = TO.Load(xr + o);
                if (Scale != null) p = TO.Mul(p, TO.Splat(Scale[k]));
                TV v = Kind switch
                {
                    SpectrumKind.Magnitude => LaneMath.Sqrt<TO, TV>(p),
                    SpectrumKind.LogPower => VectorMath.Log<TO, TV>(TO.Add(p, eps)),
                    _ => p,
                };
                TO.Store(work + o, v);
            }
            FftLanes.Store<TO, TV>(work, Bins, dst);
        }
    }
}

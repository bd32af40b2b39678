// The STFT front end on tensors: complex, magnitude, power, phase and log spectrograms of a waveform (N)
// or batch (B, N), time-major (B, frames, bins[, 2]). Wraps Cochlea.Kernels.Audio.StftKernel; the kernel
// (plan, windows, workspaces) is built once per Stft and reused.
using Cochlea.Kernels.Audio;

namespace Cochlea.Models.Audio;

/// <summary>
/// Short-time Fourier transform with a fixed framing. For frame f: X_f[k] = sum_{t &lt; n_fft} w[t] x[f*hop + t - pad] e^{-2 pi i t k / n_fft},
/// k &lt; n_fft/2 + 1, unnormalised. <see cref="Torch"/> gives torch.stft's framing (torchaudio's Spectrogram), <see cref="TensorFlow"/>
/// tf.signal.stft's (FreesoundCnn). Outputs: (B, F, bins) for a batch (B, N), (F, bins) for a waveform (N).
/// </summary>
public sealed class Stft
{
    readonly StftKernel _kernel;

    /// <summary>An STFT with the given framing.</summary>
    public Stft(StftSpec spec) => _kernel = new StftKernel(spec);

    /// <summary>
    /// torch.stft(n_fft, hop_length, win_length, window, center, pad_mode, normalized=False, onesided=True). hop defaults to
    /// torch.stft's n_fft/4 (torchaudio's Spectrogram uses win_length/2: pass it explicitly).
    /// </summary>
    public static Stft Torch(int nFft, int? hop = null, int? winLength = null, WindowKind window = WindowKind.Hann,
        bool center = true, PadMode padMode = PadMode.Reflect, bool periodic = true)
        => new(StftSpec.Torch(nFft, hop ?? Math.Max(1, nFft / 4), winLength, window, periodic, center, padMode));

    /// <summary>
    /// tf.signal.stft(x, frame_length, frame_step, fft_length) with its default periodic Hann window: no centring, frames
    /// 1 + (N - frame_length) // frame_step (none when N &lt; frame_length), zero-padded to fft_length. FreesoundCnn: (400, 160, 512).
    /// </summary>
    public static Stft TensorFlow(int frameLength = 400, int frameStep = 160, int fftLength = 512)
        => new(StftSpec.TensorFlow(frameLength, frameStep, fftLength));

    /// <summary>The framing.</summary>
    public StftSpec Spec => _kernel.Spec;

    /// <summary>Bins per frame, n_fft/2 + 1.</summary>
    public int Bins => _kernel.Bins;

    /// <summary>Frames for a signal of <paramref name="length"/> samples.</summary>
    public int FrameCount(int length) => _kernel.FrameCount(length);

    /// <summary>Complex spectrum as (re, im) pairs: (B, N) -&gt; (B, F, bins, 2) (torch.view_as_real of torch.stft, transposed to time-major).</summary>
    public Tensor Complex(Tensor x) => Run(x, "Stft.Complex", [Bins, 2], (s, b, o) => _kernel.Complex(s, b, o));

    /// <summary>|X|: (B, N) -&gt; (B, F, bins) (torchaudio Spectrogram power=1).</summary>
    public Tensor Magnitude(Tensor x) => Spectrum(x, SpectrumKind.Magnitude, "Stft.Magnitude");

    /// <summary>|X|^2: (B, N) -&gt; (B, F, bins) (torchaudio Spectrogram power=2).</summary>
    public Tensor Power(Tensor x) => Spectrum(x, SpectrumKind.Power, "Stft.Power");

    /// <summary>atan2(Im X, Re X) in (-pi, pi]: (B, N) -&gt; (B, F, bins) (torch.angle).</summary>
    public Tensor Phase(Tensor x) => Spectrum(x, SpectrumKind.Phase, "Stft.Phase");

    /// <summary>ln(|X|^2 + eps): (B, N) -&gt; (B, F, bins).</summary>
    public Tensor LogPower(Tensor x, float eps = 1e-10f)
        => Run(x, "Stft.LogPower", [Bins], (s, b, o) => _kernel.Spectrum(s, b, SpectrumKind.LogPower, o, default, eps));

    /// <summary>
    /// The log spectrogram of scipy.signal.spectrogram(x, fs, window, nperseg, noverlap, detrend=False) (density scaling, one-sided):
    /// ln(c_k |X_k|^2 + eps) with c_k = 1 / (fs * sum w^2), doubled for every bin but DC (and Nyquist when n_fft is even),
    /// time-major. With <see cref="TensorFlow"/>(320, 160, 320) framing this is the DeepSpeechKws input (99 x 161 for 1 s at 16 kHz).
    /// </summary>
    public Tensor LogDensity(Tensor x, double sampleRate, float eps = 1e-10f)
    {
        var scale = Spec.DensityScale(sampleRate);
        return Run(x, "Stft.LogDensity", [Bins], (s, b, o) => _kernel.Spectrum(s, b, SpectrumKind.LogPower, o, scale, eps));
    }

    Tensor Spectrum(Tensor x, SpectrumKind kind, string what) => Run(x, what, [Bins], (s, b, o) => _kernel.Spectrum(s, b, kind, o));

    Tensor Run(Tensor x, string what, int[] tail, Action<ReadOnlySpan<float>, int, Span<float>> k)
        => FeatureTensors.Run(x, what, _kernel.FrameCount, tail, k);
}

// How a signal is cut into frames for an STFT, in the three conventions the models need:
// torch.stft (centred with a padding mode, window of win_length centred inside n_fft), tf.signal.stft
// (no centring, frame_length samples zero-padded to fft_length, only whole frames) and
// python_speech_features' framesig (no centring, the end zero-padded so the last partial frame counts).
namespace Cochlea.Kernels.Audio;

/// <summary>How samples before the start / after the end are made up when frames are centred (torch.stft's pad_mode).</summary>
public enum PadMode
{
    /// <summary>Zeros.</summary>
    Constant,
    /// <summary>Mirror without repeating the edge sample: x[-i] = x[i], x[N-1+i] = x[N-1-i] (needs N &gt; pad).</summary>
    Reflect,
    /// <summary>Repeat the edge sample.</summary>
    Replicate,
    /// <summary>Wrap around: x[-i] = x[N-i].</summary>
    Circular,
}

/// <summary>How many frames a signal of N samples gives.</summary>
public enum FrameRule
{
    /// <summary>torch.stft: 1 + (N + 2*pad - n_fft) / hop (floor), 0 when N + 2*pad &lt; n_fft.</summary>
    Torch,
    /// <summary>tf.signal.frame(pad_end=False): 1 + (N - frame_length) / hop (floor), 0 when N &lt; frame_length.</summary>
    TensorFlow,
    /// <summary>python_speech_features.sigproc.framesig: 1 when N &lt;= frame_length, else 1 + ceil((N - frame_length) / hop); the end is zero-padded.</summary>
    SpeechFeatures,
}

/// <summary>
/// The framing of an STFT. Frame f covers FFT positions [0, n_fft); samples are read only where the window is
/// non-zero: FFT position <see cref="WindowOffset"/> + j (j &lt; <see cref="FrameLength"/>) gets
/// window[j] * x[f*hop + WindowOffset + j - pad], the other positions are zero. pad = n_fft/2 when centred, else 0;
/// sample indices outside [0, N) follow <see cref="PadMode"/> inside the padding and are zero beyond it.
/// Immutable.
/// </summary>
public sealed class StftSpec
{
    readonly float[] _window;

    StftSpec(int fftSize, int hop, float[] window, int windowOffset, bool center, PadMode padMode, FrameRule rule, int ruleFrameLength = -1)
    {
        if (fftSize < 1) throw new ArgumentOutOfRangeException(nameof(fftSize), fftSize, "FFT size must be >= 1.");
        if (hop < 1) throw new ArgumentOutOfRangeException(nameof(hop), hop, "Hop must be >= 1.");
        if (window.Length < 1 || window.Length > fftSize)
            throw new ArgumentException($"Window length {window.Length} must be in [1, FFT size {fftSize}].", nameof(window));
        FftSize = fftSize;
        Hop = hop;
        _window = window;
        WindowOffset = windowOffset;
        Center = center;
        PadMode = padMode;
        Rule = rule;
        _ruleFrameLength = ruleFrameLength > 0 ? ruleFrameLength : window.Length;
    }

    /// <summary>The frame length the frame-count rule uses (psf counts frames of its full frame length even when truncated to nfft).</summary>
    readonly int _ruleFrameLength;
    StridedTable? _strided;

    /// <summary>The fused first-stage tables of the strided frame path (StftEngine), built on first use (idempotent).</summary>
    internal StridedTable Strided => _strided ??= new StridedTable(this);

    /// <summary>Makes this spec's kernels keep the packed input path (the kernel lab times both paths side by side).</summary>
    internal void KeepPackedInput() => _strided = new StridedTable(this, allowFusion: false);

    /// <summary>FFT length n_fft.</summary>
    public int FftSize { get; }

    /// <summary>Samples between frame starts.</summary>
    public int Hop { get; }

    /// <summary>Samples read per frame: the window length.</summary>
    public int FrameLength => _window.Length;

    /// <summary>FFT position of the first windowed sample ((n_fft - win_length) / 2 for torch, 0 otherwise).</summary>
    public int WindowOffset { get; }

    /// <summary>The window (length <see cref="FrameLength"/>).</summary>
    public ReadOnlySpan<float> Window => _window;

    /// <summary>True when the signal is padded by n_fft/2 on both sides (torch center=True).</summary>
    public bool Center { get; }

    /// <summary>Padding mode of the centring pad.</summary>
    public PadMode PadMode { get; }

    /// <summary>Frame-count convention.</summary>
    public FrameRule Rule { get; }

    /// <summary>Frequency bins, n_fft/2 + 1.</summary>
    public int Bins => FftSize / 2 + 1;

    /// <summary>Samples added before the signal: n_fft/2 when centred, else 0.</summary>
    public int Pad => Center ? FftSize / 2 : 0;

    /// <summary>
    /// torch.stft framing: n_fft, hop_length, win_length (null: n_fft) with the window centred inside n_fft at offset
    /// (n_fft - win_length)/2, center and pad_mode as torch (defaults: Hann periodic, center=True, reflect).
    /// </summary>
    public static StftSpec Torch(int nFft, int hop, int? winLength = null, WindowKind window = WindowKind.Hann,
        bool periodic = true, bool center = true, PadMode padMode = PadMode.Reflect)
    {
        int wl = winLength ?? nFft;
        if (wl < 1 || wl > nFft) throw new ArgumentOutOfRangeException(nameof(winLength), wl, $"win_length must be in [1, n_fft = {nFft}].");
        return Torch(nFft, hop, Windows.Create(window, wl, periodic), center, padMode);
    }

    /// <summary>torch.stft framing with an explicit window (its length is win_length; it is copied).</summary>
    public static StftSpec Torch(int nFft, int hop, ReadOnlySpan<float> window, bool center = true, PadMode padMode = PadMode.Reflect)
    {
        if (window.Length < 1 || window.Length > nFft)
            throw new ArgumentException($"Window length {window.Length} must be in [1, n_fft = {nFft}].", nameof(window));
        return new StftSpec(nFft, hop, window.ToArray(), (nFft - window.Length) / 2, center, padMode, FrameRule.Torch);
    }

    /// <summary>
    /// tf.signal.stft(x, frame_length, frame_step, fft_length) framing: no centring, frame_length samples times the
    /// window (default periodic Hann, tf.signal.hann_window) zero-padded at the end to fft_length, only whole frames:
    /// FreesoundCnn uses TensorFlow(400, 160, 512).
    /// </summary>
    public static StftSpec TensorFlow(int frameLength, int frameStep, int fftLength, WindowKind window = WindowKind.Hann, bool periodic = true)
    {
        if (frameLength < 1 || frameLength > fftLength)
            throw new ArgumentOutOfRangeException(nameof(frameLength), frameLength, $"frame_length must be in [1, fft_length = {fftLength}].");
        return new StftSpec(fftLength, frameStep, Windows.Create(window, frameLength, periodic), 0, false, PadMode.Constant, FrameRule.TensorFlow);
    }

    /// <summary>
    /// python_speech_features framing (framesig + rfft(frames, nfft)): frames of frameLength samples every frameStep,
    /// the window (default rectangular, psf's winfunc=ones), the end zero-padded so every sample is covered, frames
    /// longer than nfft truncated to nfft (as numpy.fft.rfft(frames, nfft) does).
    /// </summary>
    public static StftSpec SpeechFeatures(int frameLength, int frameStep, int nfft, WindowKind window = WindowKind.Rectangular)
    {
        if (frameLength < 1) throw new ArgumentOutOfRangeException(nameof(frameLength), frameLength, "Frame length must be >= 1.");
        var w = Windows.Create(window, frameLength, periodic: false);
        return new StftSpec(nfft, frameStep, w.AsSpan(0, Math.Min(frameLength, nfft)).ToArray(), 0, false, PadMode.Constant,
            FrameRule.SpeechFeatures, frameLength);
    }

    /// <summary>
    /// scipy.signal.spectrogram's density scaling per bin (one-sided): c_k = 1 / (fs * sum w^2), doubled for every bin but DC
    /// (and Nyquist when n_fft is even); the binScale of <see cref="StftKernel.Spectrum"/> for a log spectrogram.
    /// </summary>
    public float[] DensityScale(double sampleRate)
    {
        if (!(sampleRate > 0)) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "Sample rate must be > 0.");
        double s2 = 0;
        foreach (float v in Window) s2 += (double)v * v;
        var scale = new float[Bins];
        for (int k = 0; k < Bins; k++)
        {
            bool single = k == 0 || (FftSize % 2 == 0 && k == Bins - 1);
            scale[k] = (float)((single ? 1 : 2) / (sampleRate * s2));
        }
        return scale;
    }

    /// <summary>Frames for a signal of <paramref name="length"/> samples (see <see cref="FrameRule"/>).</summary>
    public int FrameCount(int length)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "Signal length must be >= 0.");
        switch (Rule)
        {
            case FrameRule.Torch:
                long padded = length + 2L * Pad;
                return padded < FftSize ? 0 : checked((int)(1 + (padded - FftSize) / Hop));
            case FrameRule.TensorFlow:
                return length < FrameLength ? 0 : 1 + (length - FrameLength) / Hop;
            default:
                int fl = _ruleFrameLength;
                return length <= fl ? 1 : 1 + (int)((length - fl + (long)Hop - 1) / Hop);
        }
    }

    /// <summary>Throws when a signal of <paramref name="length"/> samples cannot be padded in this mode (torch's reflect rule).</summary>
    public void ValidateLength(int length)
    {
        if (Center && PadMode == PadMode.Reflect && Pad > 0 && length <= Pad)
            throw new ArgumentException($"Reflect padding of {Pad} samples (n_fft/2) needs a signal longer than {Pad} samples; got {length}. Use constant padding (PadMode.Constant) or a longer clip.");
        if (Center && PadMode == PadMode.Circular && Pad > length)
            throw new ArgumentException($"Circular padding of {Pad} samples (n_fft/2) needs at least {Pad} samples; got {length}.");
        if (Center && PadMode == PadMode.Replicate && Pad > 0 && length == 0)
            throw new ArgumentException("Replicate padding needs at least one sample; got an empty signal.");
    }

    /// <summary>
    /// dst[j] = padded sample at original index lo + j: zeros beyond the padding, a block copy inside the signal, the pad
    /// mode in between (only the few samples of the padding itself go one by one).
    /// </summary>
    internal void FillPadded(ReadOnlySpan<float> x, long lo, Span<float> dst)
    {
        int n = x.Length, len = dst.Length;
        long zLo = Math.Clamp(-Pad - lo, 0, len);                 // [0, zLo): before the left padding
        long inLo = Math.Clamp(-lo, zLo, len);                     // [zLo, inLo): left padding
        long inHi = Math.Clamp(n - lo, inLo, len);                 // [inLo, inHi): the signal
        long zHi = Math.Clamp(n + (long)Pad - lo, inHi, len);      // [inHi, zHi): right padding, then zeros
        dst[..(int)zLo].Clear();
        if (inHi > inLo) x.Slice((int)(lo + inLo), (int)(inHi - inLo)).CopyTo(dst[(int)inLo..]);
        dst[(int)zHi..].Clear();
        // The padding itself (i = lo + j outside [0, n), within pad of it), one loop per mode.
        switch (PadMode)
        {
            case PadMode.Reflect:
                // dst[j] = x[-(lo + j)] on the left, x[2(n-1) - (lo + j)] on the right: each a reversed run of x
                // (copied, then reversed in place: both vectorised).
                if (inLo > zLo)
                {
                    x.Slice((int)(-(lo + inLo - 1)), (int)(inLo - zLo)).CopyTo(dst[(int)zLo..]);
                    dst[(int)zLo..(int)inLo].Reverse();
                }
                if (zHi > inHi)
                {
                    x.Slice((int)(2L * (n - 1) - (lo + zHi - 1)), (int)(zHi - inHi)).CopyTo(dst[(int)inHi..]);
                    dst[(int)inHi..(int)zHi].Reverse();
                }
                break;
            case PadMode.Replicate:
                dst[(int)zLo..(int)inLo].Fill(n > 0 ? x[0] : 0f);
                dst[(int)inHi..(int)zHi].Fill(n > 0 ? x[n - 1] : 0f);
                break;
            case PadMode.Circular:
                for (long j = zLo; j < inLo; j++) dst[(int)j] = x[(int)(lo + j + n)];
                for (long j = inHi; j < zHi; j++) dst[(int)j] = x[(int)(lo + j - n)];
                break;
            default:
                dst[(int)zLo..(int)inLo].Clear();
                dst[(int)inHi..(int)zHi].Clear();
                break;
        }
    }

    /// <summary>Sample of the padded signal at original index i (may be outside [0, n)).</summary>
    internal float PaddedSample(ReadOnlySpan<float> x, long i)
    {
        int n = x.Length;
        if (i >= 0 && i < n) return x[(int)i];
        if (i < -Pad || i >= n + (long)Pad) return 0f;
        switch (PadMode)
        {
            case PadMode.Reflect: return x[(int)(i < 0 ? -i : 2L * (n - 1) - i)];
            case PadMode.Replicate: return x[i < 0 ? 0 : n - 1];
            case PadMode.Circular: return x[(int)(((i % n) + n) % n)];
            default: return 0f;
        }
    }
}

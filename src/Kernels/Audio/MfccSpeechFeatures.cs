// python_speech_features.mfcc, the features Mozilla DeepSpeech (2017) trained on, re-implemented from its
// formulas: pre-emphasis y[t] = x[t] - a x[t-1] (y[0] = x[0]) over the whole signal; frames of
// round_half_up(winlen*sr) samples every round_half_up(winstep*sr), the end zero-padded so the last partial
// frame counts; window (rectangular by default); power spectrum |rfft(frame, nfft)|^2 / nfft; frame energy =
// its sum; psf's own mel bank (edges rounded down to FFT bins); exact zeros replaced by float64 eps; ln;
// DCT-II ortho, first numcep; lifter 1 + (L/2) sin(pi j / L); c0 replaced by ln(energy) when appendEnergy.
// Plus DeepSpeech's context windows: each step gets numcontext frames before and after (zeros past the edges).
namespace Cochlea.Kernels.Audio;

/// <summary>python_speech_features.mfcc parameters (its defaults, except numcep: 13 there, 26 for DeepSpeech).</summary>
/// <param name="SampleRate">Sample rate in Hz.</param>
/// <param name="WinLen">Window length in seconds (frame = round_half_up(WinLen * SampleRate) samples).</param>
/// <param name="WinStep">Step in seconds (hop = round_half_up(WinStep * SampleRate) samples).</param>
/// <param name="NumCep">Cepstra kept (&lt;= NFilt).</param>
/// <param name="NFilt">Mel filters.</param>
/// <param name="NFft">FFT size; longer frames are truncated to it, shorter ones zero-padded.</param>
/// <param name="LowFreq">Lowest filter edge in Hz.</param>
/// <param name="HighFreq">Highest filter edge in Hz (null: SampleRate / 2).</param>
/// <param name="PreEmphasis">Pre-emphasis coefficient (0: none).</param>
/// <param name="CepLifter">Lifter L (0: none).</param>
/// <param name="AppendEnergy">Replace c0 with the log frame energy.</param>
/// <param name="Window">Window on each frame (psf's default winfunc is ones; numpy.hamming is Hamming, symmetric).</param>
public sealed record SpeechFeaturesOptions(
    int SampleRate = 16000, double WinLen = 0.025, double WinStep = 0.01, int NumCep = 13, int NFilt = 26, int NFft = 512,
    double LowFreq = 0, double? HighFreq = null, float PreEmphasis = 0.97f, int CepLifter = 22, bool AppendEnergy = true,
    WindowKind Window = WindowKind.Rectangular)
{
    /// <summary>Samples per frame: round_half_up(WinLen * SampleRate).</summary>
    public int FrameLength => (int)Math.Round(WinLen * SampleRate, MidpointRounding.AwayFromZero);

    /// <summary>Samples per step: round_half_up(WinStep * SampleRate).</summary>
    public int FrameStep => (int)Math.Round(WinStep * SampleRate, MidpointRounding.AwayFromZero);
}

/// <summary>
/// python_speech_features.mfcc on a batch: x (B, N) -&gt; output (B, F, numcep), F = 1 for N &lt;= frame length, else
/// 1 + ceil((N - frame) / step). Input values are used as given (DeepSpeech fed int16 sample values, i.e. 32768 x a
/// [-1, 1) float signal; only c0 depends on that scale). Thread-safe.
/// </summary>
public sealed unsafe class SpeechFeaturesMfcc
{
    readonly MelSpectrogramKernel _mel;
    readonly DctLanes _dct;
    readonly ScratchSlot _signal = new(), _fbank = new();

    /// <summary>A kernel for the given options (validated).</summary>
    public SpeechFeaturesMfcc(SpeechFeaturesOptions options)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.SampleRate < 1) throw new ArgumentOutOfRangeException(nameof(options), options.SampleRate, "SampleRate must be >= 1.");
        if (options.FrameLength < 1 || options.FrameStep < 1)
            throw new ArgumentException($"WinLen {options.WinLen} s and WinStep {options.WinStep} s must give at least one sample at {options.SampleRate} Hz.", nameof(options));
        if (options.NumCep < 1 || options.NumCep > options.NFilt)
            throw new ArgumentOutOfRangeException(nameof(options), options.NumCep, $"NumCep must be in [1, NFilt = {options.NFilt}].");
        if (options.CepLifter < 0) throw new ArgumentOutOfRangeException(nameof(options), options.CepLifter, "CepLifter must be >= 0.");
        var spec = StftSpec.SpeechFeatures(options.FrameLength, options.FrameStep, options.NFft, options.Window);
        var bank = MelFilterbank.SpeechFeatures(options.NFilt, options.NFft, options.SampleRate, options.LowFreq, options.HighFreq);
        _mel = new MelSpectrogramKernel(spec, bank, 2f, LogCompression.LogZeroFloor(), 1f / options.NFft, appendEnergy: true);
        // Lifter folded into the DCT's output scale: c_j = lift_j * s_j * sum_m cos(...) L[m].
        var scale = MfccKernel.DctScale(options.NumCep, options.NFilt, ortho: true);
        int l = options.CepLifter;
        if (l > 0)
            for (int j = 0; j < options.NumCep; j++) scale[j] *= (float)(1 + l / 2.0 * Math.Sin(Math.PI * j / l));
        _dct = new DctLanes(options.NFilt, scale);
    }

    /// <summary>The options.</summary>
    public SpeechFeaturesOptions Options { get; }

    /// <summary>Cepstra per frame.</summary>
    public int NumCep => Options.NumCep;

    /// <summary>Frames for a signal of <paramref name="length"/> samples (at least 1).</summary>
    public int FrameCount(int length) => _mel.FrameCount(length);

    /// <summary>x (batch, N) -&gt; output (batch, F, numcep).</summary>
    public void Run(ReadOnlySpan<float> x, int batch, Span<float> output, SimdWidth? width = null, int threads = 0)
    {
        int n = StftKernel.CheckInput(x, batch);
        int frames = FrameCount(n), row = _mel.RowFloats, nc = NumCep, nf = Options.NFilt;
        long rows = (long)batch * frames;
        if (output.Length < rows * nc) throw new ArgumentException($"output has {output.Length} floats, expected at least batch*frames*numcep = {rows * nc}.", nameof(output));
        if (batch == 0) return;
        var sig = _signal.Take(x.Length);
        var fb = _fbank.Take(rows * row);
        try
        {
            var y = new Span<float>(sig.Ptr, x.Length);
            float a = Options.PreEmphasis;
            for (int b = 0; b < batch; b++)
            {
                var xs = x.Slice(b * n, n); var ys = y.Slice(b * n, n);
                if (n > 0) ys[0] = xs[0];
                for (int t = 1; t < n; t++) ys[t] = xs[t] - a * xs[t - 1];
            }
            _mel.Run(y, batch, new Span<float>(fb.Ptr, checked((int)(rows * row))), width, threads);
            fixed (float* o = output)
            {
                _dct.Run(fb.Ptr, rows, row, o, StftKernel.Resolve(width), StftKernel.Threads(threads));
                if (Options.AppendEnergy)
                    for (long r = 0; r < rows; r++) o[r * nc] = fb.Ptr[r * row + nf];
            }
        }
        finally { _signal.Give(sig); _fbank.Give(fb); }
    }

    /// <summary>
    /// DeepSpeech's context windows (util/audio.py audiofile_to_input_vector, 2017): for each of the T frames of
    /// <paramref name="features"/> (T, numcep), the row [frames t-c .. t-1, frame t, frames t+1 .. t+c] of numcep*(2c+1)
    /// values, frames outside [0, T) as zeros. 26 cepstra with c = 9 give 494 inputs per step.
    /// </summary>
    public static void ContextWindows(ReadOnlySpan<float> features, int numcep, int context, Span<float> output)
    {
        if (numcep < 1) throw new ArgumentOutOfRangeException(nameof(numcep), numcep, "numcep must be >= 1.");
        if (context < 0) throw new ArgumentOutOfRangeException(nameof(context), context, "context must be >= 0.");
        if (features.Length % numcep != 0) throw new ArgumentException($"features has {features.Length} values, not a multiple of numcep {numcep}.", nameof(features));
        int t = features.Length / numcep, width = numcep * (2 * context + 1);
        if (output.Length < (long)t * width) throw new ArgumentException($"output has {output.Length} values, expected at least frames*numcep*(2*context+1) = {(long)t * width}.", nameof(output));
        for (int i = 0; i < t; i++)
        {
            var row = output.Slice(i * width, width);
            for (int j = -context; j <= context; j++)
            {
                var dst = row.Slice((j + context) * numcep, numcep);
                int src = i + j;
                if (src < 0 || src >= t) dst.Clear();
                else features.Slice(src * numcep, numcep).CopyTo(dst);
            }
        }
    }
}

// The Mozilla DeepSpeech (2017) input features on tensors: python_speech_features.mfcc with numcep = 26 (its
// other defaults: 25 ms window, 10 ms step, 26 filters, 512-point FFT, pre-emphasis 0.97, lifter 22, c0 replaced
// by the log frame energy, rectangular window), then 9 frames of context on each side, zero-padded at the edges
// as DeepSpeech's audiofile_to_input_vector did: 26 + 2*26*9 = 494 inputs per step.
using Cochlea.Kernels.Audio;

namespace Cochlea.Models.Audio;

/// <summary>
/// DeepSpeech features: (B, N) -&gt; (B, F, numcep*(2*context+1)), F = 1 + ceil((N - 400) / 160) frames at 16 kHz (1 for N &lt;= 400).
/// Samples are used as given: DeepSpeech read 16-bit WAVs as integers, so pass 32768 x a [-1, 1) signal (or set
/// <c>inputScale</c>) to reproduce its numbers exactly; other scales change only c0 (by ln of the scale squared).
/// The 2017 code then whitened each utterance by its own mean and std; use <see cref="FeatureStats"/> for dataset statistics instead.
/// </summary>
public sealed class DeepSpeechFeatures
{
    readonly SpeechFeaturesMfcc _kernel;
    readonly float _inputScale;

    /// <summary>
    /// DeepSpeech's features: <paramref name="numCep"/> cepstra (26) with <paramref name="context"/> frames each side (9).
    /// <paramref name="options"/> overrides the python_speech_features parameters (its NumCep is replaced by numCep);
    /// <paramref name="inputScale"/> multiplies the samples first.
    /// </summary>
    public DeepSpeechFeatures(int numCep = 26, int context = 9, SpeechFeaturesOptions? options = null, float inputScale = 1f)
    {
        if (context < 0) throw new ArgumentOutOfRangeException(nameof(context), context, "context must be >= 0.");
        if (!(inputScale > 0) || !float.IsFinite(inputScale)) throw new ArgumentOutOfRangeException(nameof(inputScale), inputScale, "inputScale must be a positive finite number.");
        _kernel = new SpeechFeaturesMfcc((options ?? new SpeechFeaturesOptions()) with { NumCep = numCep });
        Context = context;
        _inputScale = inputScale;
    }

    /// <summary>Cepstra per frame.</summary>
    public int NumCep => _kernel.NumCep;

    /// <summary>Frames of context on each side.</summary>
    public int Context { get; }

    /// <summary>Inputs per step: numcep * (2 * context + 1) (494 for DeepSpeech).</summary>
    public int InputsPerStep => NumCep * (2 * Context + 1);

    /// <summary>The python_speech_features options in use.</summary>
    public SpeechFeaturesOptions Options => _kernel.Options;

    /// <summary>The factor the samples are multiplied by first.</summary>
    public float InputScale => _inputScale;

    /// <summary>Every parameter the features depend on, in one invariant string (a cache key part: equal strings, equal features).</summary>
    public string Signature
    {
        get
        {
            var o = Options;
            return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"ds-mfcc numcep={NumCep} context={Context} scale={_inputScale:R} rate={o.SampleRate} winlen={o.WinLen:R} winstep={o.WinStep:R} nfilt={o.NFilt} nfft={o.NFft} low={o.LowFreq:R} high={o.HighFreq:R} preemph={o.PreEmphasis:R} lifter={o.CepLifter} energy={o.AppendEnergy} window={o.Window}");
        }
    }

    /// <summary>Frames for a signal of <paramref name="length"/> samples.</summary>
    public int FrameCount(int length) => _kernel.FrameCount(length);

    /// <summary>python_speech_features.mfcc: (B, N) -&gt; (B, F, numcep); (N) -&gt; (F, numcep).</summary>
    public Tensor Mfcc(Tensor x) => FeatureTensors.Run(x, "DeepSpeechFeatures.Mfcc", _kernel.FrameCount, [NumCep], Compute);

    /// <summary>MFCC with context windows: (B, N) -&gt; (B, F, numcep*(2*context+1)); (N) -&gt; (F, ...).</summary>
    public Tensor Forward(Tensor x) => FeatureTensors.Run(x, "DeepSpeechFeatures", _kernel.FrameCount, [InputsPerStep], (s, b, o) =>
    {
        int n = b == 0 ? 0 : s.Length / b, f = _kernel.FrameCount(n);
        var mfcc = new float[(long)b * f * NumCep];
        Compute(s, b, mfcc);
        for (int i = 0; i < b; i++)
            SpeechFeaturesMfcc.ContextWindows(mfcc.AsSpan(i * f * NumCep, f * NumCep), NumCep, Context, o.Slice(i * f * InputsPerStep, f * InputsPerStep));
    });

    void Compute(ReadOnlySpan<float> s, int b, Span<float> o)
    {
        if (_inputScale == 1f) { _kernel.Run(s, b, o); return; }
        var scaled = new float[s.Length];
        for (int i = 0; i < s.Length; i++) scaled[i] = s[i] * _inputScale;
        _kernel.Run(scaled, b, o);
    }
}

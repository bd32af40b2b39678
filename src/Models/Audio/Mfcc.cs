// MFCC on tensors, torchaudio.transforms.MFCC's way and with its defaults: a mel spectrogram (power 2),
// AmplitudeToDB("power", top_db=80) per clip (or ln(mel + 1e-6) when LogMels), DCT-II with ortho norm,
// n_mfcc = 40 of 128 mels. Wraps Cochlea.Kernels.Audio.MfccKernel.
using Cochlea.Kernels.Audio;

namespace Cochlea.Models.Audio;

/// <summary>
/// torchaudio.transforms.MFCC parameters and defaults: n_mfcc 40, dct norm "ortho", log_mels False (then the mel power goes
/// through AmplitudeToDB("power", top_db=80): 10 log10(max(mel, 1e-10)) clamped to clip max - 80 dB), mel options as
/// torchaudio.transforms.MelSpectrogram's defaults (16 kHz, n_fft 400, hop 200, 128 mels, HTK, no norm).
/// </summary>
/// <param name="NMfcc">Coefficients kept (&lt;= n_mels).</param>
/// <param name="LogMels">True: ln(mel + 1e-6) instead of decibels.</param>
/// <param name="TopDb">Decibel floor below each clip's maximum (torchaudio fixes 80); null: none.</param>
/// <param name="Ortho">DCT norm "ortho" (else torchaudio's norm=None scaling, x2).</param>
/// <param name="Mel">Mel spectrogram options (null: torchaudio defaults).</param>
public sealed record MfccOptions(int NMfcc = 40, bool LogMels = false, float? TopDb = 80f, bool Ortho = true, MelOptions? Mel = null);

/// <summary>
/// MFCC: (B, N) -&gt; (B, F, n_mfcc) (or (N) -&gt; (F, n_mfcc)), c[f, j] = sum_m D[j, m] L[f, m], D the DCT-II matrix. Time-major,
/// i.e. torchaudio's (B, n_mfcc, F) transposed. top_db is applied per clip; note torchaudio's AmplitudeToDB on a (B, n_mels, F)
/// batch without a channel axis takes the maximum over the whole batch, so compare clip by clip (or with (B, 1, N) input).
/// </summary>
public sealed class Mfcc
{
    readonly MfccKernel _kernel;

    /// <summary>An MFCC front end (torchaudio defaults when <paramref name="options"/> is null).</summary>
    public Mfcc(MfccOptions? options = null)
    {
        Options = options ?? new MfccOptions();
        var mel = Options.Mel ?? new MelOptions();
        var log = Options.LogMels ? LogCompression.Log(1e-6f) : LogCompression.AmplitudeToDb(power: true, topDb: Options.TopDb);
        _kernel = new MfccKernel(mel.ToSpec(), mel.ToFilterbank(), Options.NMfcc, log, mel.Power, Options.Ortho);
    }

    /// <summary>The options.</summary>
    public MfccOptions Options { get; }

    /// <summary>Coefficients per frame.</summary>
    public int Coefficients => _kernel.Coefficients;

    /// <summary>Frames for a signal of <paramref name="length"/> samples.</summary>
    public int FrameCount(int length) => _kernel.FrameCount(length);

    /// <summary>(B, N) -&gt; (B, F, n_mfcc); (N) -&gt; (F, n_mfcc).</summary>
    public Tensor Forward(Tensor x) => FeatureTensors.Run(x, "Mfcc", _kernel.FrameCount, [Coefficients], (s, b, o) => _kernel.Run(s, b, o));
}

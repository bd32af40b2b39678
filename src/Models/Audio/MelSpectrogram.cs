// Mel spectrograms and log-mel features on tensors, with torchaudio.transforms.MelSpectrogram's parameters
// and defaults; the log compressions of librosa.power_to_db / torchaudio AmplitudeToDB. Wraps
// Cochlea.Kernels.Audio.MelSpectrogramKernel (STFT, power, sparse mel bank and log fused per frame).
using Cochlea.Kernels.Audio;

namespace Cochlea.Models.Audio;

/// <summary>
/// torchaudio.transforms.MelSpectrogram parameters, with its defaults: 16 kHz, n_fft 400, win_length n_fft, hop win_length/2,
/// f_min 0, f_max sr/2, 128 mels, periodic Hann, centred with reflect padding, power 2, no filter norm, HTK scale.
/// </summary>
public sealed record MelOptions(
    int SampleRate = 16000, int NFft = 400, int? WinLength = null, int? Hop = null, double FMin = 0, double? FMax = null,
    int NMels = 128, WindowKind Window = WindowKind.Hann, bool Center = true, PadMode PadMode = PadMode.Reflect,
    float Power = 2f, MelNorm Norm = MelNorm.None, MelScale Scale = MelScale.Htk)
{
    /// <summary>The STFT framing (torch.stft semantics; hop defaults to win_length / 2 as torchaudio).</summary>
    public StftSpec ToSpec()
    {
        int wl = WinLength ?? NFft;
        return StftSpec.Torch(NFft, Hop ?? Math.Max(1, wl / 2), wl, Window, periodic: true, Center, PadMode);
    }

    /// <summary>The filterbank (torchaudio.functional.melscale_fbanks(n_fft/2+1, f_min, f_max, n_mels, sample_rate, norm, mel_scale)).</summary>
    public MelFilterbank ToFilterbank() => MelFilterbank.Create(NFft / 2 + 1, SampleRate, NMels, FMin, FMax, Scale, Norm);
}

/// <summary>
/// Mel spectrogram: (B, N) -&gt; (B, F, n_mels) (or (N) -&gt; (F, n_mels)), mel[m] = C(sum_k W[m, k] |X_k|^power) with C the log
/// compression (none by default: torchaudio.transforms.MelSpectrogram). Transposed relative to torchaudio's (B, n_mels, F).
/// </summary>
public sealed class MelSpectrogram
{
    readonly MelSpectrogramKernel _kernel;

    /// <summary>A mel spectrogram with the given options (torchaudio defaults when null) and compression (none when null).</summary>
    public MelSpectrogram(MelOptions? options = null, LogCompression? log = null)
    {
        Options = options ?? new MelOptions();
        _kernel = new MelSpectrogramKernel(Options.ToSpec(), Options.ToFilterbank(), Options.Power, log);
    }

    /// <summary>
    /// Log-mel in decibels as librosa.power_to_db(mel, ref, amin=1e-10, top_db) per clip (= torchaudio AmplitudeToDB("power", top_db)
    /// applied to one clip's mel spectrogram when ref is 1); <paramref name="referenceIsMax"/> is librosa's ref=np.max.
    /// </summary>
    public static MelSpectrogram LogMel(MelOptions? options = null, float? topDb = 80f, float reference = 1f, bool referenceIsMax = false)
        => new(options, LogCompression.PowerToDb(reference, 1e-10f, topDb, referenceIsMax));

    /// <summary>The options.</summary>
    public MelOptions Options { get; }

    /// <summary>The compression.</summary>
    public LogCompression Log => _kernel.Log;

    /// <summary>The filterbank in use.</summary>
    public MelFilterbank Filterbank => _kernel.Bank;

    /// <summary>Mel bands.</summary>
    public int Mels => _kernel.Mels;

    /// <summary>Frames for a signal of <paramref name="length"/> samples.</summary>
    public int FrameCount(int length) => _kernel.FrameCount(length);

    /// <summary>(B, N) -&gt; (B, F, n_mels); (N) -&gt; (F, n_mels).</summary>
    public Tensor Forward(Tensor x) => FeatureTensors.Run(x, "MelSpectrogram", _kernel.FrameCount, [Mels], (s, b, o) => _kernel.Run(s, b, o));
}

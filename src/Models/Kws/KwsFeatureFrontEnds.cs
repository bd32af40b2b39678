// The spectral front ends of the KWS models, both normalised per bin with statistics of the
// training set (mean, std over every frame of every unaugmented training clip, FeatureStats),
// which are saved in the checkpoint's metadata (kws.feature_mean, kws.feature_std) so inference
// uses the training numbers:
//   DeepSpeechKws: ln(density-scaled |STFT|^2 + 1e-10) as scipy.signal.spectrogram, 320-sample
//     periodic-Hann frames every 160 samples, n_fft 320, no centring: (B, 99, 161) for 1 s;
//   TutorialConv: MFCC as the TF tutorial's audio_spectrogram + mfcc ops: 480-sample (30 ms)
//     periodic-Hann frames every 160 samples, zero-padded to a 512-point FFT, no centring; 40 HTK
//     mel bands 20-4000 Hz on the magnitude (TF takes the root of its squared spectrogram), ln,
//     DCT-II to 40 coefficients: (B, 98, 40) for 1 s.
using System.Globalization;
using Cochlea.Kernels.Audio;
using Cochlea.Models.Audio;

namespace Cochlea.Models.Kws;

/// <summary>A feature front end whose output is standardised per bin with training-set statistics.</summary>
public abstract class NormalizedFeatureFrontEnd : KwsFrontEnd
{
    /// <summary>Metadata keys of the statistics (JSON arrays of Bins floats).</summary>
    public const string MeanKey = "kws.feature_mean", StdKey = "kws.feature_std";

    /// <summary>Smallest standard deviation divided by (constant bins would otherwise blow up).</summary>
    const double MinStd = 1e-5;

    float[]? _mean, _std, _invStd;

    /// <summary>Values per frame (the last axis of <see cref="Features"/>).</summary>
    public abstract int Bins { get; }

    /// <summary>The raw features (B, frames, Bins) of (B, N) waveforms.</summary>
    public abstract Tensor Features(Tensor wav);

    /// <summary>Per-bin mean (null before <see cref="FitStatistics"/>).</summary>
    public IReadOnlyList<float>? Mean => _mean;

    /// <summary>Per-bin standard deviation (null before <see cref="FitStatistics"/>).</summary>
    public IReadOnlyList<float>? Std => _std;

    /// <summary>The factors the features are multiplied by, 1 / max(std, 1e-5) (null before <see cref="FitStatistics"/>).</summary>
    public IReadOnlyList<float>? InvStd => _invStd;

    /// <inheritdoc/>
    public override bool NeedsStatistics => _mean is null;

    /// <inheritdoc/>
    public override void FitStatistics(IEnumerable<Tensor> waveBatches)
    {
        ArgumentNullException.ThrowIfNull(waveBatches);
        var stats = new FeatureStats(Bins);
        foreach (var w in waveBatches)
            using (var scope = Tensor.Scope())
                stats.Add(Features(w));
        if (stats.Count == 0) throw new InvalidOperationException($"{Name}: no training clips to compute the feature statistics from.");
        Set(stats.Mean().Select(m => (float)m).ToArray(), stats.Std().Select(s => (float)s).ToArray());
    }

    /// <inheritdoc/>
    protected override Tensor Transform(Tensor wav)
    {
        if (_mean is null) throw new InvalidOperationException($"the {Name} front end has no feature statistics; train with `cochlea train kws` (it computes them) or load a checkpoint that has them.");
        var f = Features(wav);
        var y = Tensor.Empty(f.Shape);
        FeatureNorm.Apply(f.AsSpan(), y.AsSpan(), _mean, _invStd);
        f.Dispose();
        return y;
    }

    /// <inheritdoc/>
    public override void WriteMetadata(IDictionary<string, string> metadata)
    {
        base.WriteMetadata(metadata);
        if (_mean is null) return;
        metadata[MeanKey] = FloatsToJson(_mean);
        metadata[StdKey] = FloatsToJson(_std!);
    }

    /// <inheritdoc/>
    protected override void ReadMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        var mean = FloatsFromJson(metadata, MeanKey);
        var std = FloatsFromJson(metadata, StdKey);
        if (mean.Length != Bins || std.Length != Bins)
            throw new InvalidDataException($"checkpoint feature statistics have {mean.Length} means and {std.Length} deviations; the {Name} front end has {Bins} bins.");
        Set(mean, std);
    }

    void Set(float[] mean, float[] std)
    {
        _mean = mean;
        _std = std;
        _invStd = std.Select(s => (float)(1.0 / Math.Max(s, MinStd))).ToArray();
    }
}

/// <summary>The DeepSpeechKws input: normalised log spectrogram, (B, 16000) -> (B, 99, 161).</summary>
public sealed class LogSpectrogramFrontEnd : NormalizedFeatureFrontEnd
{
    /// <summary>Framing (samples) and the epsilon inside the log; the runtime export reads these too.</summary>
    public const int FrameLength = 320, FrameStep = 160, FftLength = 320;
    /// <inheritdoc cref="FrameLength"/>
    public const float LogEpsilon = 1e-10f;

    readonly Stft _stft = Stft.TensorFlow(FrameLength, FrameStep, FftLength);

    /// <inheritdoc/>
    public override string Name => "logspec";

    /// <inheritdoc/>
    public override int Bins => _stft.Bins;

    /// <inheritdoc/>
    public override Tensor Features(Tensor wav) => _stft.LogDensity(wav, KwsClassifier.SampleRate, LogEpsilon);
}

/// <summary>The TutorialConv input: normalised MFCC as the TF tutorial computes them, (B, 16000) -> (B, 98, 40).</summary>
public sealed class MfccFrontEnd : NormalizedFeatureFrontEnd
{
    /// <summary>Framing (samples), mel bands and range (Hz), coefficients, log offset and spectrum power; the runtime export reads these too.</summary>
    public const int FrameLength = 480, FrameStep = 160, FftLength = 512, Mels = 40, Coefficients = 40;
    /// <inheritdoc cref="FrameLength"/>
    public const float MinHz = 20, MaxHz = 4000, LogOffset = 1e-6f, Power = 1f;

    // TF frames by the window (480) and pads each frame to the FFT size (512): tf.signal-style framing, not torch.stft's.
    readonly MfccKernel _mfcc = new(StftSpec.TensorFlow(FrameLength, FrameStep, FftLength),
        MelFilterbank.Create(bins: FftLength / 2 + 1, KwsClassifier.SampleRate, Mels, MinHz, MaxHz, MelScale.Htk, MelNorm.None),
        Coefficients, LogCompression.Log(LogOffset), Power, ortho: true);

    /// <inheritdoc/>
    public override string Name => "mfcc";

    /// <inheritdoc/>
    public override int Bins => _mfcc.Coefficients;

    /// <inheritdoc/>
    public override Tensor Features(Tensor wav) =>
        FeatureTensors.Run(wav, "MfccFrontEnd", _mfcc.FrameCount, [Bins], (s, b, o) => _mfcc.Run(s, b, o));
}

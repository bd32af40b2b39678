// Mel filterbanks: triangular filters on the FFT bin grid, as torchaudio.functional.melscale_fbanks and
// librosa.filters.mel build them (HTK or Slaney mel scale, optional Slaney area normalisation), and the
// python_speech_features construction (filter edges rounded down to whole FFT bins). Stored sparsely:
// each filter is non-zero on one contiguous run of bins, so applying it costs about 2 multiply-adds per
// bin instead of n_mels (the dense product would be ~n_mels/2 times more work).
namespace Cochlea.Kernels.Audio;

/// <summary>Hz to mel conversions.</summary>
public enum MelScale
{
    /// <summary>HTK: m = 2595 log10(1 + f / 700).</summary>
    Htk,
    /// <summary>Slaney (Auditory Toolbox, librosa default): linear 3 f / 200 below 1 kHz, then 15 + ln(f / 1000) / (ln 6.4 / 27).</summary>
    Slaney,
}

/// <summary>Filter normalisation.</summary>
public enum MelNorm
{
    /// <summary>Peak 1.</summary>
    None,
    /// <summary>Slaney area normalisation: filter m scaled by 2 / (f[m+2] - f[m]) so each has about constant energy.</summary>
    Slaney,
}

/// <summary>
/// A bank of <see cref="Mels"/> filters over <see cref="Bins"/> FFT bins: mel[m] = sum_k W[m, k] S[k]. Immutable; stored as
/// one contiguous non-zero run of weights per filter.
/// </summary>
public sealed class MelFilterbank
{
    readonly int[] _start, _offset, _length;
    readonly float[] _values;

    MelFilterbank(float[] dense, int mels, int bins)
    {
        Mels = mels; Bins = bins;
        _start = new int[mels]; _offset = new int[mels]; _length = new int[mels];
        var values = new List<float>();
        for (int m = 0; m < mels; m++)
        {
            int first = -1, last = -1;
            for (int k = 0; k < bins; k++)
                if (dense[m * bins + k] != 0) { if (first < 0) first = k; last = k; }
            _offset[m] = values.Count;
            _start[m] = Math.Max(first, 0);
            _length[m] = first < 0 ? 0 : last - first + 1;
            for (int k = 0; k < _length[m]; k++) values.Add(dense[m * bins + _start[m] + k]);
        }
        _values = values.ToArray();
    }

    /// <summary>Number of filters.</summary>
    public int Mels { get; }

    /// <summary>FFT bins the filters span (n_fft/2 + 1).</summary>
    public int Bins { get; }

    /// <summary>Non-zero weights in all filters (about 2 * Bins for triangular banks).</summary>
    public int NonZeros => _values.Length;

    internal ReadOnlySpan<int> Start => _start;
    internal ReadOnlySpan<int> Offset => _offset;
    internal ReadOnlySpan<int> Length => _length;
    internal ReadOnlySpan<float> Values => _values;

    /// <summary>mel(f) on the given scale.</summary>
    public static double HzToMel(double hz, MelScale scale)
    {
        if (scale == MelScale.Htk) return 2595.0 * Math.Log10(1.0 + hz / 700.0);
        const double fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp;
        double logStep = Math.Log(6.4) / 27.0;
        return hz >= minLogHz ? minLogMel + Math.Log(hz / minLogHz) / logStep : hz / fSp;
    }

    /// <summary>f(mel), the inverse of <see cref="HzToMel"/>.</summary>
    public static double MelToHz(double mel, MelScale scale)
    {
        if (scale == MelScale.Htk) return 700.0 * (Math.Pow(10.0, mel / 2595.0) - 1.0);
        const double fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp;
        double logStep = Math.Log(6.4) / 27.0;
        return mel >= minLogMel ? minLogHz * Math.Exp(logStep * (mel - minLogMel)) : fSp * mel;
    }

    /// <summary>
    /// torchaudio.functional.melscale_fbanks(n_freqs = bins, f_min, f_max, n_mels, sample_rate, norm, mel_scale) and
    /// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm) (transposed): bin k sits at f_k = k * (sr/2) / (bins - 1);
    /// n_mels + 2 points equally spaced in mel between f_min and f_max give filter m's edges f[m], f[m+2] and peak f[m+1];
    /// W[m, k] = max(0, min((f_k - f[m]) / (f[m+1] - f[m]), (f[m+2] - f_k) / (f[m+2] - f[m+1]))), times 2 / (f[m+2] - f[m]) for
    /// Slaney norm. Computed in double. (torchaudio's grid uses sample_rate // 2, which differs only for odd integer rates.)
    /// </summary>
    public static MelFilterbank Create(int bins, double sampleRate, int nMels, double fMin = 0, double? fMax = null,
        MelScale scale = MelScale.Htk, MelNorm norm = MelNorm.None)
    {
        if (bins < 2) throw new ArgumentOutOfRangeException(nameof(bins), bins, "Need at least 2 frequency bins (n_fft >= 2).");
        if (!(sampleRate > 0)) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "Sample rate must be > 0.");
        if (nMels < 1) throw new ArgumentOutOfRangeException(nameof(nMels), nMels, "n_mels must be >= 1.");
        double hi = fMax ?? sampleRate / 2;
        if (!(fMin >= 0) || !(hi > fMin)) throw new ArgumentException($"Need 0 <= f_min < f_max; got f_min {fMin}, f_max {hi}.");
        double mMin = HzToMel(fMin, scale), mMax = HzToMel(hi, scale);
        var f = new double[nMels + 2];
        for (int i = 0; i < f.Length; i++) f[i] = MelToHz(mMin + (mMax - mMin) * i / (nMels + 1), scale);
        var dense = new float[nMels * bins];
        for (int m = 0; m < nMels; m++)
        {
            double lo = f[m], mid = f[m + 1], top = f[m + 2];
            double enorm = norm == MelNorm.Slaney ? 2.0 / (top - lo) : 1.0;
            for (int k = 0; k < bins; k++)
            {
                double fk = k * (sampleRate / 2) / (bins - 1);
                double v = Math.Max(0, Math.Min((fk - lo) / (mid - lo), (top - fk) / (top - mid)));
                dense[m * bins + k] = (float)(v * enorm);
            }
        }
        return new MelFilterbank(dense, nMels, bins);
    }

    /// <summary>
    /// python_speech_features.get_filterbanks(nfilt, nfft, samplerate, lowfreq, highfreq): HTK mel points equally spaced
    /// between lowfreq and highfreq (default sr/2), edges rounded down to FFT bins b[i] = floor((nfft + 1) * hz(mel_i) / sr);
    /// filter j rises (i - b[j]) / (b[j+1] - b[j]) on bins [b[j], b[j+1]) and falls (b[j+2] - i) / (b[j+2] - b[j+1]) on
    /// [b[j+1], b[j+2]). Bins = nfft/2 + 1.
    /// </summary>
    public static MelFilterbank SpeechFeatures(int nfilt, int nfft, double sampleRate, double lowFreq = 0, double? highFreq = null)
    {
        if (nfilt < 1) throw new ArgumentOutOfRangeException(nameof(nfilt), nfilt, "nfilt must be >= 1.");
        if (nfft < 2) throw new ArgumentOutOfRangeException(nameof(nfft), nfft, "nfft must be >= 2.");
        double hi = highFreq ?? sampleRate / 2;
        if (hi > sampleRate / 2) throw new ArgumentException($"highfreq {hi} is greater than samplerate/2 = {sampleRate / 2}.", nameof(highFreq));
        if (!(lowFreq >= 0) || !(hi > lowFreq)) throw new ArgumentException($"Need 0 <= lowfreq < highfreq; got {lowFreq}, {hi}.");
        double lowMel = HzToMel(lowFreq, MelScale.Htk), highMel = HzToMel(hi, MelScale.Htk);
        int bins = nfft / 2 + 1;
        // numpy.linspace: start + i * step, the last point set to stop exactly.
        var bin = new double[nfilt + 2];
        double step = (highMel - lowMel) / (nfilt + 1);
        for (int i = 0; i < bin.Length; i++)
        {
            double mel = i == bin.Length - 1 ? highMel : lowMel + i * step;
            bin[i] = Math.Floor((nfft + 1) * MelToHz(mel, MelScale.Htk) / sampleRate);
        }
        var dense = new float[nfilt * bins];
        for (int j = 0; j < nfilt; j++)
        {
            for (int i = (int)bin[j]; i < (int)bin[j + 1]; i++)
                if (i < bins) dense[j * bins + i] = (float)((i - bin[j]) / (bin[j + 1] - bin[j]));
            for (int i = (int)bin[j + 1]; i < (int)bin[j + 2]; i++)
                if (i < bins) dense[j * bins + i] = (float)((bin[j + 2] - i) / (bin[j + 2] - bin[j + 1]));
        }
        return new MelFilterbank(dense, nfilt, bins);
    }

    /// <summary>A bank from explicit dense weights (mels, bins) row-major (copied; zeros are not stored).</summary>
    public static MelFilterbank FromDense(ReadOnlySpan<float> weights, int mels, int bins)
    {
        if (mels < 1 || bins < 1) throw new ArgumentException($"Need mels >= 1 and bins >= 1; got {mels}, {bins}.");
        if (weights.Length != (long)mels * bins) throw new ArgumentException($"weights has {weights.Length} values, expected mels*bins = {(long)mels * bins}.", nameof(weights));
        return new MelFilterbank(weights.ToArray(), mels, bins);
    }

    /// <summary>The weights as a dense (mels, bins) row-major array (torchaudio's melscale_fbanks is its transpose).</summary>
    public float[] ToDense()
    {
        var d = new float[Mels * Bins];
        for (int m = 0; m < Mels; m++)
            for (int k = 0; k < _length[m]; k++) d[m * Bins + _start[m] + k] = _values[_offset[m] + k];
        return d;
    }

    /// <summary>
    /// mel (rows, Mels) = spectrum (rows, Bins) x W^T, row-major, for spectra computed elsewhere (the STFT kernels apply the
    /// bank inside their lane pipeline instead).
    /// </summary>
    public void Apply(ReadOnlySpan<float> spectrum, int rows, Span<float> mel)
    {
        if (rows < 0) throw new ArgumentOutOfRangeException(nameof(rows), rows, "rows must be >= 0.");
        if (spectrum.Length < (long)rows * Bins) throw new ArgumentException($"spectrum has {spectrum.Length} values, expected rows*bins = {(long)rows * Bins}.", nameof(spectrum));
        if (mel.Length < (long)rows * Mels) throw new ArgumentException($"mel has {mel.Length} values, expected rows*mels = {(long)rows * Mels}.", nameof(mel));
        for (int r = 0; r < rows; r++)
        {
            var s = spectrum.Slice(r * Bins, Bins);
            for (int m = 0; m < Mels; m++)
            {
                float acc = 0;
                var w = _values.AsSpan(_offset[m], _length[m]);
                for (int k = 0; k < w.Length; k++) acc += w[k] * s[_start[m] + k];
                mel[r * Mels + m] = acc;
            }
        }
    }
}

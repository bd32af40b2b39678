// Time stretching by a phase vocoder, as librosa.effects.time_stretch: STFT (n_fft 2048, hop 512,
// periodic Hann, centred with zero padding), phase_vocoder(rate) interpolating magnitudes between
// frames and accumulating phase advances, then the inverse STFT by windowed overlap-add normalised
// by the summed squared window, trimmed to round(N / rate) samples. rate > 1 speeds up (shorter).
using Cochlea.Kernels.Audio;

namespace Cochlea.Models.Augment;

/// <summary>Phase-vocoder time stretch (librosa semantics).</summary>
public static class TimeStretch
{
    /// <summary>
    /// Stretches <paramref name="y"/> by 1/<paramref name="rate"/> in time without changing pitch: the result has
    /// round(N / rate) samples. <paramref name="nFft"/> and <paramref name="hop"/> default to librosa's 2048 and 512.
    /// </summary>
    public static float[] Apply(ReadOnlySpan<float> y, double rate, int nFft = 2048, int? hop = null)
    {
        if (!(rate > 0) || !double.IsFinite(rate)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "TimeStretch: rate must be a positive finite number.");
        if (nFft < 4 || nFft % 2 != 0) throw new ArgumentOutOfRangeException(nameof(nFft), nFft, "TimeStretch: nFft must be an even number >= 4.");
        int h = hop ?? nFft / 4;
        if (h < 1 || h > nFft) throw new ArgumentOutOfRangeException(nameof(hop), h, "TimeStretch: hop must be in [1, nFft].");
        int outLen = (int)Math.Round(y.Length / rate, MidpointRounding.ToEven);
        if (y.Length == 0 || outLen == 0) return new float[outLen];

        var fft = RealFft.Get(nFft);
        int bins = fft.Bins, pad = nFft / 2;
        var window = Windows.Create(WindowKind.Hann, nFft, periodic: true);

        // STFT with centring: frames start at t*h - pad over the zero-padded signal.
        int frames = 1 + y.Length / h;
        var mag = new double[frames + 2, bins];
        var phase = new double[frames + 2, bins];
        var frame = new float[nFft];
        var re = new float[bins];
        var im = new float[bins];
        for (int t = 0; t < frames; t++)
        {
            for (int i = 0; i < nFft; i++)
            {
                int s = t * h - pad + i;
                frame[i] = (uint)s < (uint)y.Length ? y[s] * window[i] : 0f;
            }
            fft.Forward(frame, re, im);
            for (int k = 0; k < bins; k++) { mag[t, k] = Math.Sqrt((double)re[k] * re[k] + (double)im[k] * im[k]); phase[t, k] = Math.Atan2(im[k], re[k]); }
        }
        // frames and frames+1 stay zero: librosa pads D with two zero columns.

        int steps = (int)Math.Ceiling(frames / rate);
        var outRe = new float[steps, bins];
        var outIm = new float[steps, bins];
        var acc = new double[bins];
        for (int k = 0; k < bins; k++) acc[k] = phase[0, k];
        for (int t = 0; t < steps; t++)
        {
            double step = t * rate;
            int i0 = (int)step;
            double alpha = step - i0;
            for (int k = 0; k < bins; k++)
            {
                double m = (1 - alpha) * mag[i0, k] + alpha * mag[i0 + 1, k];
                outRe[t, k] = (float)(m * Math.Cos(acc[k]));
                outIm[t, k] = (float)(m * Math.Sin(acc[k]));
                double advance = Math.PI * h * k / (bins - 1);          // linspace(0, pi*hop, bins)
                double d = phase[i0 + 1, k] - phase[i0, k] - advance;
                d -= 2 * Math.PI * Math.Round(d / (2 * Math.PI), MidpointRounding.ToEven);
                acc[k] += advance + d;
            }
        }

        // Inverse STFT: overlap-add of windowed frames, divided by the summed squared window.
        int full = nFft + h * (steps - 1);
        var sum = new double[full];
        var norm = new double[full];
        for (int t = 0; t < steps; t++)
        {
            for (int k = 0; k < bins; k++) { re[k] = outRe[t, k]; im[k] = outIm[t, k]; }
            fft.Inverse(re, im, frame);
            for (int i = 0; i < nFft; i++)
            {
                sum[t * h + i] += frame[i] * window[i];
                norm[t * h + i] += (double)window[i] * window[i];
            }
        }
        var result = new float[outLen];
        double tiny = 1.1754943508222875e-38;   // librosa: where the window sum exceeds tiny(float32)
        for (int i = 0; i < outLen; i++)
        {
            int s = i + pad;
            if (s >= full) break;
            result[i] = (float)(norm[s] > tiny ? sum[s] / norm[s] : sum[s]);
        }
        return result;
    }
}

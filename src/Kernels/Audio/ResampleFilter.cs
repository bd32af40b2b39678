// Filter design for ResamplePolyphase: a Kaiser-windowed sinc low-pass tabulated in polyphase form,
// kept beside the kernel (not in Models) so that anything holding only Cochlea.Kernels - the Pi
// runtime - builds bit-identical filters. For a rational ratio L/M = out/in (reduced by the gcd),
// output n sits at input time t_n = n*M/L and
//   y[n] = sum_i x[i] * h(t_n - i),   h(t) = 2 fc sinc(2 fc t) * kaiser(t / T)   (t in input samples)
// with h = 0 for |t| >= T. Only L fractional offsets of t_n occur, so h is stored as L rows of 2T taps.
// Kaiser's formulas: beta = 0.1102 (A - 8.7) for A > 50 dB, N = (A - 7.95) / (2.285 * 2 pi * df).
namespace Cochlea.Kernels.Audio;

/// <summary>A designed polyphase bank: <see cref="Up"/> rows of <see cref="Taps"/> taps (row p = phase p/Up).</summary>
/// <param name="Up">Interpolation factor L (phases).</param>
/// <param name="Down">Decimation factor M.</param>
/// <param name="HalfWidth">T: the filter spans input samples (base - T, base + T] around an output; the look-ahead a stream needs.</param>
/// <param name="Bank">(Up, 2 * HalfWidth) row-major; tap m of row p weighs input sample base - T + 1 + m for an output at base + p/Up. Empty when Up = Down = 1.</param>
public sealed record ResampleFilterBank(int Up, int Down, int HalfWidth, float[] Bank)
{
    /// <summary>Taps per phase, 2 * HalfWidth (0 when the rates are equal).</summary>
    public int Taps => 2 * HalfWidth;
}

/// <summary>Designs the windowed-sinc filter banks <see cref="ResamplePolyphase"/> runs.</summary>
public static class ResampleFilter
{
    /// <summary>Largest bank (Up * Taps floats, 8 MB) <see cref="Design"/> builds: beyond this the rate ratio is unreasonable.</summary>
    public const long MaxBank = 1 << 21;

    /// <summary>
    /// Designs the bank for <paramref name="inputRate"/> -> <paramref name="outputRate"/> Hz: passband flat to
    /// <paramref name="passband"/> x the lower Nyquist frequency, stopband from the lower Nyquist frequency on,
    /// attenuated by <paramref name="attenuationDb"/>; cutoff midway. Defaults match sox's default quality.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate is not positive, passband outside [0.5, 0.99] or attenuation outside [40, 180] dB.</exception>
    /// <exception cref="ArgumentException">The reduced ratio needs more than <see cref="MaxBank"/> taps.</exception>
    public static ResampleFilterBank Design(int inputRate, int outputRate, double passband = 0.95, double attenuationDb = 125)
    {
        if (inputRate <= 0) throw new ArgumentOutOfRangeException(nameof(inputRate), inputRate, "Resampler: the input rate must be a positive number of Hz.");
        if (outputRate <= 0) throw new ArgumentOutOfRangeException(nameof(outputRate), outputRate, "Resampler: the output rate must be a positive number of Hz.");
        if (!(passband >= 0.5 && passband <= 0.99)) throw new ArgumentOutOfRangeException(nameof(passband), passband, "Resampler: passband must be a fraction of the lower Nyquist frequency in [0.5, 0.99].");
        if (!(attenuationDb >= 40 && attenuationDb <= 180)) throw new ArgumentOutOfRangeException(nameof(attenuationDb), attenuationDb, "Resampler: attenuationDb must be in [40, 180].");
        int g = Gcd(inputRate, outputRate);
        int up = outputRate / g, down = inputRate / g;
        if (up == 1 && down == 1) return new ResampleFilterBank(1, 1, 0, []);

        double nyquist = Math.Min(inputRate, outputRate) / 2.0;
        double fc = (passband + 1) / 2 * nyquist / inputRate;          // cutoff, cycles per input sample
        double transition = (1 - passband) * nyquist / inputRate;
        double beta = attenuationDb > 50 ? 0.1102 * (attenuationDb - 8.7) : 0.5842 * Math.Pow(attenuationDb - 21, 0.4) + 0.07886 * (attenuationDb - 21);
        int half = (int)Math.Ceiling((attenuationDb - 7.95) / (2.285 * 2 * Math.PI * transition) / 2);
        int taps = 2 * half;
        if ((long)up * taps > MaxBank)
            throw new ArgumentException($"Resampler: {inputRate} -> {outputRate} Hz reduces to {up}/{down}, which needs {(long)up * taps} filter taps (at most {MaxBank}); resample through a rate with a simpler ratio.");
        var bank = new float[up * taps];
        double i0Beta = BesselI0(beta);
        for (int p = 0; p < up; p++)
            for (int m = 0; m < taps; m++)
            {
                double t = half - 1 - m + (double)p / up;   // distance from the output's time to the tap's sample
                double r = t / half;
                double w = BesselI0(beta * Math.Sqrt(Math.Max(0, 1 - r * r))) / i0Beta;
                bank[p * taps + m] = (float)(2 * fc * Sinc(2 * fc * t) * w);
            }
        return new ResampleFilterBank(up, down, half, bank);
    }

    static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    static double Sinc(double x) => x == 0 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);

    /// <summary>Modified Bessel function of the first kind, order 0, by its power series (converges for all x).</summary>
    static double BesselI0(double x)
    {
        double sum = 1, term = 1, q = x * x / 4;
        for (int k = 1; k < 500; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
            if (term < 1e-17 * sum) break;
        }
        return sum;
    }
}

// Sample-rate conversion by a rational factor L/M (L = out/g, M = in/g, g = gcd) with a Kaiser-windowed
// sinc low-pass evaluated in polyphase form: output n sits at input time t_n = n*M/L and is
//   y[n] = sum_i x[i] * h(t_n - i),   h(t) = 2 fc sinc(2 fc t) * kaiser(t / T)   (t in input samples),
// where fc = cutoff / inputRate and h is zero outside |t| < T. Only the L distinct fractional offsets
// of t_n occur, so h is tabulated once per phase (L rows of 2T taps) and each output is one dot
// product (the SIMD kernel in Cochlea.Kernels.Audio.ResamplePolyphase).
// Defaults follow sox's default quality ("rate -h"): passband to 95% of the lower Nyquist frequency,
// stopband from the lower Nyquist frequency on, 125 dB attenuation (Kaiser beta = 0.1102 (A - 8.7),
// length from Kaiser's formula N = (A - 7.95) / (2.285 * 2 pi * transition)). The filter is zero-phase
// (centred on t_n: no delay), so whole-clip output is aligned with the input; the stream form buffers
// T input samples of look-ahead and produces exactly the same samples.
using Cochlea.Kernels.Audio;

namespace Cochlea.Models.Audio;

/// <summary>
/// Windowed-sinc polyphase resampler between two fixed rates (e.g. 8, 16, 22.05, 44.1, 48 kHz).
/// Immutable and thread-safe once built: build one per rate pair and reuse it (the filter bank can be
/// ~0.5 MB). Length rule: n input frames give <see cref="OutputLength"/>(n) = ceil(n * out / in) output
/// frames; output k is the band-limited input at time k * in / out (input samples), zeros assumed
/// outside the clip.
/// </summary>
public sealed class Resampler
{
    const long MaxBank = 1 << 21;   // floats in the filter bank (8 MB, ~0.2 s to design): beyond this the ratio is unreasonable
    readonly float[] _bank;

    /// <summary>
    /// Designs the filter. <paramref name="passband"/> is the passband edge as a fraction of the lower
    /// Nyquist frequency (0.5 .. 0.99, default 0.95), <paramref name="attenuationDb"/> the stopband
    /// attenuation (40 .. 180 dB, default 125); the stopband starts at the lower Nyquist frequency.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate is not positive, or a design parameter is out of range.</exception>
    /// <exception cref="ArgumentException">The reduced ratio needs an unreasonably large filter bank.</exception>
    public Resampler(int inputRate, int outputRate, double passband = 0.95, double attenuationDb = 125)
    {
        if (inputRate <= 0) throw new ArgumentOutOfRangeException(nameof(inputRate), inputRate, "Resampler: the input rate must be a positive number of Hz.");
        if (outputRate <= 0) throw new ArgumentOutOfRangeException(nameof(outputRate), outputRate, "Resampler: the output rate must be a positive number of Hz.");
        if (!(passband >= 0.5 && passband <= 0.99)) throw new ArgumentOutOfRangeException(nameof(passband), passband, "Resampler: passband must be a fraction of the lower Nyquist frequency in [0.5, 0.99].");
        if (!(attenuationDb >= 40 && attenuationDb <= 180)) throw new ArgumentOutOfRangeException(nameof(attenuationDb), attenuationDb, "Resampler: attenuationDb must be in [40, 180].");
        InputRate = inputRate;
        OutputRate = outputRate;
        int g = Gcd(inputRate, outputRate);
        Up = outputRate / g;
        Down = inputRate / g;
        double nyquist = Math.Min(inputRate, outputRate) / 2.0;
        PassbandHz = passband * nyquist;
        StopbandHz = nyquist;
        AttenuationDb = attenuationDb;
        if (Up == 1 && Down == 1) { _bank = []; return; }

        double fc = (PassbandHz + StopbandHz) / 2 / inputRate;                 // cutoff, cycles per input sample
        double transition = (StopbandHz - PassbandHz) / inputRate;
        double beta = attenuationDb > 50 ? 0.1102 * (attenuationDb - 8.7) : 0.5842 * Math.Pow(attenuationDb - 21, 0.4) + 0.07886 * (attenuationDb - 21);
        double length = (attenuationDb - 7.95) / (2.285 * 2 * Math.PI * transition);
        HalfWidth = (int)Math.Ceiling(length / 2);
        Taps = 2 * HalfWidth;
        if ((long)Up * Taps > MaxBank)
            throw new ArgumentException($"Resampler: {inputRate} -> {outputRate} Hz reduces to {Up}/{Down}, which needs {(long)Up * Taps} filter taps (at most {MaxBank}); resample through a rate with a simpler ratio.");
        _bank = new float[Up * Taps];
        double i0Beta = BesselI0(beta);
        for (int p = 0; p < Up; p++)
            for (int m = 0; m < Taps; m++)
            {
                // Tap m of phase p weighs input sample (base - H + 1 + m) for an output at base + p/Up.
                double t = HalfWidth - 1 - m + (double)p / Up;
                double r = t / HalfWidth;
                double w = BesselI0(beta * Math.Sqrt(Math.Max(0, 1 - r * r))) / i0Beta;
                _bank[p * Taps + m] = (float)(2 * fc * Sinc(2 * fc * t) * w);
            }
    }

    /// <summary>Input rate in Hz.</summary>
    public int InputRate { get; }

    /// <summary>Output rate in Hz.</summary>
    public int OutputRate { get; }

    /// <summary>Interpolation factor L = OutputRate / gcd (number of filter phases).</summary>
    public int Up { get; }

    /// <summary>Decimation factor M = InputRate / gcd.</summary>
    public int Down { get; }

    /// <summary>Filter taps per output sample (2 * <see cref="HalfWidth"/>); 0 when the rates are equal.</summary>
    public int Taps { get; }

    /// <summary>Half-length T of the filter in input samples: the look-ahead a stream needs.</summary>
    public int HalfWidth { get; }

    /// <summary>Passband edge in Hz (design target: gain within the ripple of 1 up to here).</summary>
    public double PassbandHz { get; }

    /// <summary>Stopband edge in Hz (the lower Nyquist frequency): attenuated by at least <see cref="AttenuationDb"/> from here.</summary>
    public double StopbandHz { get; }

    /// <summary>Design stopband attenuation in dB.</summary>
    public double AttenuationDb { get; }

    internal ReadOnlySpan<float> Bank => _bank;

    /// <summary>Output frames for <paramref name="inputFrames"/> input frames: ceil(inputFrames * Up / Down).</summary>
    public long OutputLength(long inputFrames)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputFrames);
        return (long)(((Int128)inputFrames * Up + Down - 1) / Down);
    }

    /// <summary>
    /// Resamples a whole clip of interleaved frames (length a multiple of <paramref name="channels"/>);
    /// returns <see cref="OutputLength"/>(frames) frames, interleaved the same way.
    /// </summary>
    public float[] Process(ReadOnlySpan<float> input, int channels = 1)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Resampler.Process: channels must be >= 1.");
        if (input.Length % channels != 0) throw new ArgumentException($"Resampler.Process: input length {input.Length} is not a multiple of {channels} channels.", nameof(input));
        long outFrames = OutputLength(input.Length / channels);
        if (outFrames * channels > Array.MaxLength) throw new ArgumentException($"Resampler.Process: {outFrames} output frames do not fit in one array; use CreateStream().", nameof(input));
        var output = new float[outFrames * channels];
        var stream = CreateStream(channels);
        int n = stream.Write(input, output);
        n += stream.Flush(output.AsSpan(n * channels));
        if (n != outFrames) throw new InvalidOperationException($"Resampler: produced {n} frames, expected {outFrames} (internal error).");
        return output;
    }

    /// <summary>A stateful stream that resamples input block by block (same output as <see cref="Process"/>).</summary>
    public ResamplerStream CreateStream(int channels = 1)
    {
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Resampler.CreateStream: channels must be >= 1.");
        return new ResamplerStream(this, channels);
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

/// <summary>
/// Streaming state of a <see cref="Resampler"/>: <see cref="Write"/> input blocks (any sizes), then
/// <see cref="Flush"/> once at the end. Concatenated outputs equal <see cref="Resampler.Process"/> on the
/// concatenated input. Not thread-safe (one per stream).
/// </summary>
public sealed class ResamplerStream
{
    readonly Resampler _r;
    readonly float[][] _hist;   // per channel: input samples from absolute index _histStart on
    long _histStart;
    int _histLen;
    long _received, _produced;
    bool _flushed;

    internal ResamplerStream(Resampler r, int channels)
    {
        _r = r;
        Channels = channels;
        _hist = new float[channels][];
        // The signal is zero before the clip: start with T-1 zeros so the first window needs no special case.
        _histStart = -(r.HalfWidth - 1);
        _histLen = Math.Max(0, r.HalfWidth - 1);
        for (int c = 0; c < channels; c++) _hist[c] = new float[Math.Max(16, _histLen + r.Taps + 1024)];
    }

    /// <summary>The resampler this stream uses.</summary>
    public Resampler Resampler => _r;

    /// <summary>Interleaved channels per frame.</summary>
    public int Channels { get; }

    /// <summary>Input frames written so far.</summary>
    public long InputFrames => _received;

    /// <summary>Output frames produced so far.</summary>
    public long OutputFrames => _produced;

    /// <summary>Frames the next <see cref="Write"/> of <paramref name="inputFrames"/> frames returns (size its output for this).</summary>
    public int OutputFramesFor(int inputFrames)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputFrames);
        return (int)(Computable(_received + inputFrames) - _produced);
    }

    /// <summary>Frames <see cref="Flush"/> will return.</summary>
    public int FlushFrames => _flushed ? 0 : (int)(_r.OutputLength(_received) - _produced);

    /// <summary>Outputs n with a complete window: floor(n*Down/Up) + T &lt;= received - 1, i.e. n &lt; ceil((received - T) * Up / Down).</summary>
    long Computable(long received)
    {
        if (_r.Taps == 0) return received;
        long avail = received - _r.HalfWidth;
        return avail <= 0 ? 0 : (long)(((Int128)avail * _r.Up + _r.Down - 1) / _r.Down);
    }

    /// <summary>
    /// Consumes <paramref name="input"/> (interleaved frames) and writes every output frame that is now
    /// complete to <paramref name="output"/>, which must hold <see cref="OutputFramesFor"/>(input frames) frames.
    /// Returns the number of frames written.
    /// </summary>
    public int Write(ReadOnlySpan<float> input, Span<float> output)
    {
        if (_flushed) throw new InvalidOperationException("ResamplerStream.Write: the stream was flushed; create a new one with Resampler.CreateStream().");
        if (input.Length % Channels != 0) throw new ArgumentException($"ResamplerStream.Write: input length {input.Length} is not a multiple of {Channels} channels.", nameof(input));
        int frames = input.Length / Channels;
        int outFrames = OutputFramesFor(frames);
        if (output.Length < (long)outFrames * Channels)
            throw new ArgumentException($"ResamplerStream.Write: output holds {output.Length / Channels} frames, {outFrames} are produced (see OutputFramesFor).", nameof(output));
        if (_r.Taps == 0)
        {
            input.CopyTo(output);
            _received += frames;
            _produced += frames;
            return frames;
        }
        Append(input, frames);
        _received += frames;
        Produce(outFrames, output);
        return outFrames;
    }

    /// <summary>
    /// Ends the stream: writes the remaining <see cref="FlushFrames"/> frames (computed with zeros after the
    /// last input) to <paramref name="output"/> and returns their number. The stream cannot be written after.
    /// </summary>
    public int Flush(Span<float> output)
    {
        if (_flushed) return 0;
        int outFrames = FlushFrames;
        if (output.Length < (long)outFrames * Channels)
            throw new ArgumentException($"ResamplerStream.Flush: output holds {output.Length / Channels} frames, {outFrames} are produced (see FlushFrames).", nameof(output));
        _flushed = true;
        if (_r.Taps == 0 || outFrames == 0) return outFrames;
        // Zeros after the clip: T more samples cover the window of the last output (base <= received - 1).
        int pad = _r.Taps;
        EnsureCapacity(_histLen + pad);
        foreach (var h in _hist) Array.Clear(h, _histLen, pad);
        _histLen += pad;
        Produce(outFrames, output);
        return outFrames;
    }

    void EnsureCapacity(int length)
    {
        if (_hist[0].Length >= length) return;
        int cap = (int)Math.Min(Array.MaxLength, Math.Max(length, 2L * _hist[0].Length));
        for (int c = 0; c < _hist.Length; c++) Array.Resize(ref _hist[c], cap);
    }

    void Append(ReadOnlySpan<float> input, int frames)
    {
        EnsureCapacity(_histLen + frames);
        int ch = Channels;
        for (int c = 0; c < ch; c++)
        {
            var h = _hist[c].AsSpan(_histLen, frames);
            if (ch == 1) input.CopyTo(h);
            else for (int i = 0; i < frames; i++) h[i] = input[i * ch + c];
        }
        _histLen += frames;
    }

    unsafe void Produce(int count, Span<float> output)
    {
        if (count == 0) return;
        long n0 = _produced;
        long t = n0 * _r.Down;
        long baseIndex = t / _r.Up;
        int phase = (int)(t % _r.Up);
        int rel = (int)(baseIndex - _r.HalfWidth + 1 - _histStart);
        fixed (float* bank = _r.Bank)
        fixed (float* y = output)
            for (int c = 0; c < Channels; c++)
                fixed (float* h = _hist[c])
                    ResamplePolyphase.Run(h + rel, _histLen - rel, bank, _r.Up, _r.Down, _r.Taps, phase, y + c, count, Channels);
        _produced += count;
        // Drop input no future window reads: everything before the window start of the next output.
        long next = _produced * _r.Down / _r.Up - _r.HalfWidth + 1;
        int drop = (int)Math.Clamp(next - _histStart, 0, _histLen);
        if (drop > 0)
        {
            foreach (var h in _hist) Array.Copy(h, drop, h, 0, _histLen - drop);
            _histLen -= drop;
            _histStart += drop;
        }
    }
}

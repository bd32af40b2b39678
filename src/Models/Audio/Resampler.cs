// Sample-rate conversion by a rational factor L/M (L = out/g, M = in/g, g = gcd) with a Kaiser-windowed
// sinc low-pass in polyphase form. The design (Cochlea.Kernels.Audio.ResampleFilter) and the dot-product
// loop (ResamplePolyphase) live in Kernels so the Pi runtime shares them; this file adds the API, the
// length rule and the streaming bookkeeping.
// Defaults follow sox's default quality ("rate -h"): passband to 95% of the lower Nyquist frequency,
// stopband from the lower Nyquist frequency on, 125 dB. The filter is zero-phase (centred on the output's
// time: no delay), so whole-clip output is aligned with the input; the stream form buffers T input
// samples of look-ahead and produces exactly the same samples. Measured quality: README.md here.
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
    readonly float[] _bank;

    /// <summary>
    /// Designs the filter. <paramref name="passband"/> is the passband edge as a fraction of the lower
    /// Nyquist frequency (0.5 .. 0.99, default 0.95), <paramref name="attenuationDb"/> the stopband
    /// attenuation (40 .. 180 dB, default 125); the stopband starts at the lower Nyquist frequency.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate is not positive, or a design parameter is out of range.</exception>
    /// <exception cref="ArgumentException">The reduced ratio needs an unreasonably large filter bank (see <see cref="ResampleFilter.MaxBank"/>).</exception>
    public Resampler(int inputRate, int outputRate, double passband = 0.95, double attenuationDb = 125)
    {
        var f = ResampleFilter.Design(inputRate, outputRate, passband, attenuationDb);
        InputRate = inputRate;
        OutputRate = outputRate;
        Up = f.Up;
        Down = f.Down;
        HalfWidth = f.HalfWidth;
        Taps = f.Taps;
        _bank = f.Bank;
        double nyquist = Math.Min(inputRate, outputRate) / 2.0;
        PassbandHz = passband * nyquist;
        StopbandHz = nyquist;
        AttenuationDb = attenuationDb;
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

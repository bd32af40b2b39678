// Streaming reader shared by the WAV and FLAC decoders: the decoders only produce interleaved float
// frames in the file's channel layout (ReadCore); this base class adds the optional mono downmix,
// "fill the whole buffer" reads, skipping, blocks and read-to-end, so those exist once.
namespace Cochlea.Models.Audio;

/// <summary>
/// Reads decoded samples from a WAV or FLAC stream block by block, as float in [-1, 1]
/// (integers scaled by 1 / 2^(bits-1)), interleaved frame by frame: [f0c0, f0c1, ..., f1c0, ...].
/// Open one with <see cref="AudioFile.OpenRead(string, bool)"/>.
/// </summary>
public abstract class AudioReader : IDisposable
{
    const int ScratchFrames = 4096;
    float[]? _scratch;
    bool _disposed;

    /// <summary>Creates the base state; <paramref name="mono"/> averages all channels into one.</summary>
    protected AudioReader(string name, AudioInfo info, bool mono)
    {
        Name = name;
        Info = info;
        Mono = mono;
    }

    /// <summary>The file path (or stream name) used in error messages.</summary>
    public string Name { get; }

    /// <summary>Format of the file (its own channel count, rate and length).</summary>
    public AudioInfo Info { get; }

    /// <summary>True when every frame is downmixed to one channel (mean of the channels).</summary>
    public bool Mono { get; }

    /// <summary>Channels per frame returned by <see cref="Read"/>: 1 when <see cref="Mono"/>, else Info.Channels.</summary>
    public int Channels => Mono ? 1 : Info.Channels;

    /// <summary>Frames returned or skipped so far.</summary>
    public long Position { get; private set; }

    /// <summary>
    /// Fills <paramref name="destination"/> with as many whole frames as remain (up to
    /// destination.Length / <see cref="Channels"/>); returns the number of frames written, 0 at the end.
    /// </summary>
    /// <exception cref="ArgumentException">destination.Length is not a multiple of <see cref="Channels"/>.</exception>
    /// <exception cref="AudioFormatException">The file turns out truncated or corrupt.</exception>
    public int Read(Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int outCh = Channels;
        if (destination.Length % outCh != 0)
            throw new ArgumentException($"AudioReader.Read: destination length {destination.Length} must be a multiple of the channel count {outCh}.", nameof(destination));
        int want = destination.Length / outCh, done = 0;
        int fileCh = Info.Channels;
        while (done < want)
        {
            int n;
            if (!Mono || fileCh == 1)
                n = ReadCore(destination.Slice(done * outCh, (want - done) * outCh), want - done);
            else
            {
                _scratch ??= new float[ScratchFrames * fileCh];
                n = ReadCore(_scratch, Math.Min(want - done, ScratchFrames));
                Downmix(_scratch.AsSpan(0, n * fileCh), fileCh, destination.Slice(done, n));
            }
            if (n == 0) break;
            done += n;
        }
        Position += done;
        return done;
    }

    /// <summary>Mean of the channels of each interleaved frame: dst[f] = sum_c src[f*ch + c] / ch.</summary>
    static void Downmix(ReadOnlySpan<float> src, int ch, Span<float> dst)
    {
        float inv = 1f / ch;
        for (int f = 0; f < dst.Length; f++)
        {
            float s = 0;
            var frame = src.Slice(f * ch, ch);
            for (int c = 0; c < frame.Length; c++) s += frame[c];
            dst[f] = s * inv;
        }
    }

    /// <summary>Skips up to <paramref name="frames"/> frames (decoding them when the format cannot seek); returns the number skipped.</summary>
    public long Skip(long frames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(frames);
        long skipped = SkipCore(frames);
        Position += skipped;
        return skipped;
    }

    /// <summary>Default skip: decode into a scratch buffer and drop. Formats that can seek override it.</summary>
    protected virtual long SkipCore(long frames)
    {
        var buf = new float[Math.Min(frames, ScratchFrames) * Info.Channels];
        long done = 0;
        while (done < frames)
        {
            int n = ReadCore(buf, (int)Math.Min(frames - done, ScratchFrames));
            if (n == 0) break;
            done += n;
        }
        return done;
    }

    /// <summary>
    /// Reads every remaining frame into one interleaved array (length frames * <see cref="Channels"/>).
    /// For files too long for one array, use <see cref="ReadBlocks"/>.
    /// </summary>
    public float[] ReadToEnd()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int ch = Channels;
        long expected = Info.Frames is long total ? Math.Max(0, total - Position) : -1;
        // The header's length is a hint, not a promise (a corrupt FLAC header can claim 2^36 frames):
        // start with at most 1M frames and grow by doubling, so memory follows the data actually decoded.
        long cap = expected >= 0 ? Math.Min(expected, 1 << 20) : 65536;
        var buf = new float[cap * ch];
        long n = 0;
        while (true)
        {
            if (n == cap)
            {
                if (n == expected) break;
                long next = expected >= 0 ? Math.Min(expected, 2 * cap) : 2 * cap;
                if (next * ch > Array.MaxLength)
                    throw new AudioFormatException(Name, $"the audio ({(expected >= 0 ? expected.ToString() : "more than " + n)} frames x {ch} channels) does not fit in one array",
                        "Stream it with AudioFile.OpenRead(path).ReadBlocks(...) instead of reading it whole");
                Array.Resize(ref buf, (int)(next * ch));
                cap = next;
            }
            int got = Read(buf.AsSpan((int)(n * ch), (int)((cap - n) * ch)));
            if (got == 0) break;
            n += got;
        }
        // Decoders check their own lengths; these are a second line of defence.
        if (expected >= 0 && n < expected)
            throw new AudioFormatException(Name, $"the header declares {expected + Position - n} frames but only {Position} could be read", "The file is truncated; re-create or re-download it");
        if (expected >= 0 && Read(new float[ch]) != 0)
            throw new AudioFormatException(Name, $"the file holds more than the {Info.Frames} frames its header declares", "The header is inconsistent; re-encode the file");
        return n * ch == buf.Length ? buf : buf.AsSpan(0, (int)(n * ch)).ToArray();
    }

    /// <summary>
    /// The remaining audio as consecutive blocks of <paramref name="framesPerBlock"/> frames (interleaved,
    /// framesPerBlock * <see cref="Channels"/> floats); the last block may be shorter; no empty block.
    /// </summary>
    public IEnumerable<float[]> ReadBlocks(int framesPerBlock)
    {
        if (framesPerBlock < 1) throw new ArgumentOutOfRangeException(nameof(framesPerBlock), framesPerBlock, "ReadBlocks: framesPerBlock must be >= 1.");
        return Iterate();

        IEnumerable<float[]> Iterate()
        {
            while (true)
            {
                var buf = new float[(long)framesPerBlock * Channels];
                int n = Read(buf);
                if (n == 0) yield break;
                yield return n == framesPerBlock ? buf : buf.AsSpan(0, n * Channels).ToArray();
                if (n < framesPerBlock) yield break;
            }
        }
    }

    /// <summary>
    /// Decodes up to <paramref name="maxFrames"/> frames in the file's channel layout into
    /// <paramref name="interleaved"/> (at least maxFrames * Info.Channels long); returns the frames written,
    /// 0 only at the end of the audio. Throws <see cref="AudioFormatException"/> on corrupt data.
    /// </summary>
    protected abstract int ReadCore(Span<float> interleaved, int maxFrames);

    /// <summary>Releases the underlying stream.</summary>
    protected virtual void Dispose(bool disposing) { }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }
}

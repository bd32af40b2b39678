// On-disk cache of per-file speech features (DeepSpeech's whitened MFCC-with-context), so later runs
// skip decoding and featurising: one raw float32 file per audio file, named by a hash of the file's
// full path and the feature signature, with a header holding the audio file's size and modification
// time. A changed audio file (size or mtime) or other feature parameters miss and the entry is
// rewritten; writes go to a temporary file in the same folder, renamed over the entry, so a killed
// run never leaves a torn entry. Layout (little-endian):
//   "CDSF" | int32 version 1 | int64 size | int64 mtime ticks (UTC) | 32 bytes SHA-256(signature)
//   | int32 frames | int32 width | frames*width float32
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Cochlea.Models.Speech;

/// <summary>Per-file feature cache in a folder (see the file header). Thread-safe for distinct files.</summary>
public sealed class SpeechFeatureCache
{
    const int Version = 1, HeaderBytes = 4 + 4 + 8 + 8 + 32 + 4 + 4;
    static readonly byte[] Magic = "CDSF"u8.ToArray();
    readonly byte[] _signatureHash;
    int _hits, _misses;

    /// <summary>The cache folder (created on first write).</summary>
    public string Folder { get; }
    /// <summary>What the features depend on besides the audio (e.g. <see cref="Cochlea.Models.Audio.DeepSpeechFeatures.Signature"/> plus post-processing).</summary>
    public string Signature { get; }
    /// <summary>Entries found valid and used.</summary>
    public int Hits => _hits;
    /// <summary>Entries computed (absent, stale or unreadable).</summary>
    public int Misses => _misses;

    /// <summary>A cache in <paramref name="folder"/> for features described by <paramref name="signature"/>.</summary>
    public SpeechFeatureCache(string folder, string signature)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentException.ThrowIfNullOrEmpty(signature);
        Folder = Path.GetFullPath(folder);
        Signature = signature;
        _signatureHash = SHA256.HashData(Encoding.UTF8.GetBytes(signature));
    }

    /// <summary>The entry file for <paramref name="audioPath"/>.</summary>
    public string EntryPath(string audioPath)
    {
        var key = SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(audioPath) + "\n" + Signature));
        return Path.Combine(Folder, Convert.ToHexString(key, 0, 16).ToLowerInvariant() + ".f32");
    }

    /// <summary>
    /// The cached features of <paramref name="audioPath"/> if its entry matches the file's current size and
    /// modification time and this signature; otherwise <paramref name="compute"/>()'s result, written to the cache
    /// (a folder that cannot be written only costs the caching).
    /// </summary>
    public (float[] Features, int Frames) GetOrCompute(string audioPath, Func<(float[] Features, int Frames)> compute)
    {
        var info = new FileInfo(audioPath);
        if (!info.Exists) throw new FileNotFoundException($"audio file not found: {info.FullName}", info.FullName);
        long size = info.Length, mtime = info.LastWriteTimeUtc.Ticks;
        string entry = EntryPath(audioPath);
        if (TryRead(entry, size, mtime) is { } hit) { Interlocked.Increment(ref _hits); return hit; }
        Interlocked.Increment(ref _misses);
        var result = compute();
        try { Write(entry, size, mtime, result.Features, result.Frames); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return result;
    }

    (float[], int)? TryRead(string entry, long size, long mtime)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(entry); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        if (bytes.Length < HeaderBytes || !bytes.AsSpan(0, 4).SequenceEqual(Magic)) return null;
        var h = bytes.AsSpan();
        if (BitConverter.ToInt32(h[4..]) != Version || BitConverter.ToInt64(h[8..]) != size || BitConverter.ToInt64(h[16..]) != mtime) return null;
        if (!h.Slice(24, 32).SequenceEqual(_signatureHash)) return null;
        int frames = BitConverter.ToInt32(h[56..]), width = BitConverter.ToInt32(h[60..]);
        if (frames < 0 || width < 0 || (long)frames * width * 4 != bytes.Length - HeaderBytes) return null;
        var features = MemoryMarshal.Cast<byte, float>(h[HeaderBytes..]).ToArray();
        return (features, frames);
    }

    void Write(string entry, long size, long mtime, float[] features, int frames)
    {
        Directory.CreateDirectory(Folder);
        int width = frames == 0 ? 0 : features.Length / frames;
        string temp = entry + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                Span<byte> head = stackalloc byte[HeaderBytes];
                Magic.CopyTo(head);
                BitConverter.TryWriteBytes(head[4..], Version);
                BitConverter.TryWriteBytes(head[8..], size);
                BitConverter.TryWriteBytes(head[16..], mtime);
                _signatureHash.CopyTo(head[24..]);
                BitConverter.TryWriteBytes(head[56..], frames);
                BitConverter.TryWriteBytes(head[60..], width);
                f.Write(head);
                f.Write(MemoryMarshal.AsBytes(features.AsSpan(0, frames * width)));
            }
            File.Move(temp, entry, overwrite: true);   // atomic on one file system: readers see the old entry or the new one
        }
        finally { if (File.Exists(temp)) File.Delete(temp); }
    }
}

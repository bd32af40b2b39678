// Compiles an embedded kernel file for one architecture, at most once per process and once per
// machine: images are cached on disk under $COCHLEA_CUDA_CACHE, else $XDG_CACHE_HOME/cochlea/cuda,
// else ~/.cache/cochlea/cuda, keyed by SHA-256 of (source, headers, target, options, NVRTC
// version), and written to a temporary file then renamed so concurrent processes never read
// half a file. A cache that cannot be written is skipped, not an error.
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Cochlea.Cuda.Nvrtc;

/// <summary>The NVRTC compile step with its in-process and on-disk caches.</summary>
public static class KernelCache
{
    /// <summary>Options every kernel file is compiled with (after the architecture).</summary>
    public static readonly IReadOnlyList<string> CommonOptions = ["-std=c++17"];

    static readonly ConcurrentDictionary<(string File, int Arch), Lazy<NvrtcImage>> Images = new();

    /// <summary>The cache folder from the environment (<paramref name="env"/> reads a variable; null means unset).</summary>
    public static string Directory(Func<string, string?> env)
    {
        string? Get(string k) => env(k) is { Length: > 0 } v ? v : null;
        if (Get("COCHLEA_CUDA_CACHE") is { } own) return own;
        if (Get("XDG_CACHE_HOME") is { } xdg) return Path.Combine(xdg, "cochlea", "cuda");
        string home = Get("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".cache", "cochlea", "cuda");
    }

    /// <summary>Hex SHA-256 over everything that decides the compiled image.</summary>
    public static string Key(string source, IEnumerable<(string Name, string Source)> headers, IEnumerable<string> options, string nvrtcVersion)
    {
        var sb = new StringBuilder("cochlea-cuda-1\0").Append(source).Append('\0');
        foreach (var (n, s) in headers.OrderBy(h => h.Name, StringComparer.Ordinal)) sb.Append(n).Append('\0').Append(s).Append('\0');
        foreach (var o in options) sb.Append(o).Append('\0');
        sb.Append(nvrtcVersion);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    /// <summary>The image of embedded <paramref name="file"/> for compute capability <paramref name="arch"/> (e.g. 90), compiled or read from the caches.</summary>
    public static NvrtcImage Get(string file, int arch) =>
        Images.GetOrAdd((file, arch), k => new Lazy<NvrtcImage>(() => Build(k.File, k.Arch))).Value;

    static NvrtcImage Build(string file, int arch) => Compile(file, arch, Directory(Environment.GetEnvironmentVariable)).Image;

    /// <summary>
    /// Compiles embedded <paramref name="file"/> for compute capability <paramref name="arch"/>, or reads it from
    /// <paramref name="dir"/> when an image with the same key is there (no in-process cache). Returns the image,
    /// its cache path, and whether it came from the disk.
    /// </summary>
    public static (NvrtcImage Image, string Path, bool FromDisk) Compile(string file, int arch, string dir)
    {
        var (target, cubin) = NvrtcCompiler.Target(arch, NvrtcCompiler.SupportedArchs);
        var options = NvrtcCompiler.Options(target, cubin, CommonOptions);
        string source = KernelSources.Read(file);
        var headers = KernelSources.Headers;
        string key = Key(source, headers, options, NvrtcCompiler.Version.ToString());
        string path = Path.Combine(dir, $"{Path.GetFileNameWithoutExtension(file)}-{(cubin ? "sm" : "compute")}_{target}-{key[..32]}.{(cubin ? "cubin" : "ptx")}");
        try
        {
            if (File.Exists(path)) return (new NvrtcImage(File.ReadAllBytes(path), cubin, ""), path, true);
        }
        catch (IOException) { } catch (UnauthorizedAccessException) { }
        var image = NvrtcCompiler.Compile(source, file, headers, options, cubin);
        TryWrite(path, image.Bytes);
        return (image, path, false);
    }

    static void TryWrite(string path, byte[] bytes)
    {
        string tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

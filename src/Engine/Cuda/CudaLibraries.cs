// Finds the NVIDIA libraries the bindings name by logical name ("cuda", "nvrtc", "cublas",
// "cublasLt", "cudnn"): each maps to the sonames a machine may have (CUDA 13, 12, 11), tried
// in the directories of LD_LIBRARY_PATH first and then through the loader's own search.
// Registered once, the first time CUDA is asked for (CudaBackend's probe, or Nvrtc), never
// by a module initializer: CPU-only use of the engine must not touch these libraries.
using System.Reflection;
using System.Runtime.InteropServices;

namespace Cochlea.Cuda;

/// <summary>The resolver and loader for the CUDA libraries.</summary>
public static class CudaLibraries
{
    /// <summary>Sonames tried for each logical library name, newest first.</summary>
    public static IReadOnlyDictionary<string, string[]> Sonames { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["cuda"] = ["libcuda.so.1", "libcuda.so"],
        ["nvrtc"] = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        ["cublas"] = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        ["cublasLt"] = ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11", "libcublasLt.so"],
        ["cudnn"] = ["libcudnn.so.9", "libcudnn.so"],
    };

    static readonly object Gate = new();
    static readonly Dictionary<string, (nint Handle, string? Error)> Loaded = new(StringComparer.Ordinal);
    static bool _registered;

    /// <summary>The logical names a load was attempted for so far (empty in CPU-only use).</summary>
    public static IReadOnlyList<string> Attempted
    {
        get { lock (Gate) return Loaded.Keys.Order(StringComparer.Ordinal).ToList(); }
    }

    /// <summary>Registers the DllImport resolver for Cochlea.Engine (idempotent; call before the first CUDA binding is used).</summary>
    public static void EnsureResolver()
    {
        lock (Gate)
        {
            if (_registered) return;
            NativeLibrary.SetDllImportResolver(typeof(CudaLibraries).Assembly, Resolve);
            _registered = true;
        }
    }

    static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (!Sonames.ContainsKey(libraryName)) return 0; // not ours: the default probing applies
        if (TryLoad(libraryName, out var handle, out var error)) return handle;
        throw new DllNotFoundException(error);
    }

    /// <summary>Loads logical library <paramref name="name"/> once; on failure <paramref name="error"/> lists every path tried.</summary>
    public static bool TryLoad(string name, out nint handle, out string? error)
    {
        lock (Gate)
        {
            if (!Loaded.TryGetValue(name, out var r))
            {
                r = Load(name);
                Loaded[name] = r;
            }
            handle = r.Handle;
            error = r.Error;
            return handle != 0;
        }
    }

    /// <summary>The handle of <paramref name="name"/>, or a <see cref="CudaException"/> saying what was tried.</summary>
    public static nint Require(string name)
    {
        EnsureResolver();
        return TryLoad(name, out var h, out var error) ? h : throw new CudaException(error!);
    }

    /// <summary>The candidate paths for <paramref name="name"/>, in the order they are tried (LD_LIBRARY_PATH directories, then bare sonames for the loader's search).</summary>
    public static IEnumerable<string> Candidates(string name, string? ldLibraryPath)
    {
        var sonames = Sonames.TryGetValue(name, out var s) ? s : throw new ArgumentException($"Unknown CUDA library '{name}'; known: {string.Join(", ", Sonames.Keys)}.", nameof(name));
        var dirs = (ldLibraryPath ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var so in sonames)
            foreach (var d in dirs) yield return Path.Combine(d, so);
        foreach (var so in sonames) yield return so;
    }

    static (nint, string?) Load(string name)
    {
        var tried = new List<string>();
        foreach (var path in Candidates(name, Environment.GetEnvironmentVariable("LD_LIBRARY_PATH")))
        {
            // Absolute candidates that do not exist are skipped quietly; bare sonames go to dlopen's search.
            if (Path.IsPathRooted(path) && !File.Exists(path)) { tried.Add(path + " (absent)"); continue; }
            if (NativeLibrary.TryLoad(path, out var h)) return (h, null);
            tried.Add(path);
        }
        string what = Sonames[name][0];
        string hint = name switch
        {
            "cuda" => " (no NVIDIA driver)",
            "nvrtc" => " (install the CUDA NVRTC runtime, e.g. libnvrtc from the CUDA toolkit or the nvidia-cuda-nvrtc wheel, and add its folder to LD_LIBRARY_PATH)",
            _ => " (install the library and add its folder to LD_LIBRARY_PATH)",
        };
        return (0, $"{what} not found{hint}; tried: {string.Join(", ", tried)}");
    }
}

// The kernels' sources: native/cuda/*.cu and *.cuh, embedded in Cochlea.Engine as resources
// named "cuda/<file>" (see the csproj). A kernel is found by the file that defines it.
using System.Reflection;
using System.Text.RegularExpressions;

namespace Cochlea.Cuda.Nvrtc;

/// <summary>The embedded CUDA sources and the lookup from kernel name to file.</summary>
public static class KernelSources
{
    const string Prefix = "cuda/";
    static readonly Assembly Asm = typeof(KernelSources).Assembly;
    static readonly Lazy<Dictionary<string, string>> All = new(() =>
        Asm.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
           .ToDictionary(n => n[Prefix.Length..], ReadResource, StringComparer.Ordinal));

    static string ReadResource(string resource)
    {
        using var s = Asm.GetManifestResourceStream(resource)!;
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>The kernel files ("copy.cu", "fill.cu", ...), sorted.</summary>
    public static IReadOnlyList<string> Files => All.Value.Keys.Where(k => k.EndsWith(".cu", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

    /// <summary>The shared headers (*.cuh) as (include name, source), sorted by name; every program gets all of them.</summary>
    public static IReadOnlyList<(string Name, string Source)> Headers =>
        All.Value.Where(kv => kv.Key.EndsWith(".cuh", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)).ToList();

    /// <summary>The source of embedded file <paramref name="file"/>.</summary>
    public static string Read(string file) => All.Value.TryGetValue(file, out var s) ? s
        : throw new CudaException($"No embedded CUDA source '{file}'; embedded: {string.Join(", ", All.Value.Keys.Order(StringComparer.Ordinal))}.");

    /// <summary>
    /// The files to search for kernel <paramref name="kernel"/>, best first: those with a literal
    /// <c>extern "C" __global__ void kernel(</c>, then those naming the identifier elsewhere (a macro
    /// that defines it), then the rest (a name made by token pasting).
    /// </summary>
    public static IReadOnlyList<string> CandidateFiles(string kernel) => CandidateFiles(kernel, Files.Select(f => (f, Read(f))));

    /// <summary><see cref="CandidateFiles(string)"/> over the given (file, source) pairs.</summary>
    public static IReadOnlyList<string> CandidateFiles(string kernel, IEnumerable<(string File, string Source)> files)
    {
        if (!Regex.IsMatch(kernel, "^[A-Za-z_][A-Za-z0-9_]*$")) throw new ArgumentException($"'{kernel}' is not a C identifier, so it cannot name an extern \"C\" kernel.", nameof(kernel));
        var definition = new Regex(@"extern\s+""C""\s+__global__\s+(__launch_bounds__\s*\([^)]*\)\s+)?void\s+(__launch_bounds__\s*\([^)]*\)\s+)?" + kernel + @"\s*\(");
        var word = new Regex(@"\b" + kernel + @"\b");
        var list = files.ToList();
        return list.Where(f => definition.IsMatch(f.Source))
            .Concat(list.Where(f => !definition.IsMatch(f.Source) && word.IsMatch(f.Source)))
            .Concat(list.Where(f => !definition.IsMatch(f.Source) && !word.IsMatch(f.Source)))
            .Select(f => f.File).ToList();
    }
}

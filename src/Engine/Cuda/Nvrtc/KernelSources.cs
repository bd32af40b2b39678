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
    /// The files to search for kernel <paramref name="kernel"/>, best first: those that declare it (see
    /// <see cref="DeclaredKernels"/>), then those naming the identifier elsewhere, then the rest.
    /// </summary>
    public static IReadOnlyList<string> CandidateFiles(string kernel) => CandidateFiles(kernel, Files.Select(f => (f, Read(f))));

    /// <summary><see cref="CandidateFiles(string)"/> over the given (file, source) pairs.</summary>
    public static IReadOnlyList<string> CandidateFiles(string kernel, IEnumerable<(string File, string Source)> files)
    {
        if (!Regex.IsMatch(kernel, "^[A-Za-z_][A-Za-z0-9_]*$")) throw new ArgumentException($"'{kernel}' is not a C identifier, so it cannot name an extern \"C\" kernel.", nameof(kernel));
        var word = new Regex(@"\b" + kernel + @"\b");
        var list = files.Select(f => (f.File, f.Source, Declares: DeclaredKernels(f.Source).Contains(kernel))).ToList();
        return list.Where(f => f.Declares)
            .Concat(list.Where(f => !f.Declares && word.IsMatch(f.Source)))
            .Concat(list.Where(f => !f.Declares && !word.IsMatch(f.Source)))
            .Select(f => f.File).ToList();
    }

    const string Id = "[A-Za-z_][A-Za-z0-9_]*";
    static readonly Regex Literal = new(@"extern\s+""C""\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?void\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?(" + Id + @"(?:\s*##\s*" + Id + @")*)\s*\(");
    static readonly Regex Define = new(@"^[ \t]*#[ \t]*define[ \t]+(" + Id + @")\(([^)]*)\)((?:[^\n]*\\\r?\n)*[^\n]*)", RegexOptions.Multiline);

    /// <summary>
    /// The kernels a source declares: literal <c>extern "C" __global__ void NAME(</c>, and those made by a
    /// one-level macro family (<c>#define UNARY_OP(NAME, EXPR) extern "C" __global__ void NAME##_f32(...</c>,
    /// invoked as <c>UNARY_OP(relu, ...)</c>), expanded here so a kernel is found without compiling every file.
    /// </summary>
    public static IReadOnlySet<string> DeclaredKernels(string source)
    {
        var kernels = new HashSet<string>(StringComparer.Ordinal);
        var macros = new List<(string Name, string[] Params, string[] Templates)>();
        foreach (Match d in Define.Matches(source))
        {
            var ps = d.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries);
            var templates = Literal.Matches(d.Groups[3].Value).Select(m => m.Groups[1].Value).ToArray();
            if (templates.Length > 0) macros.Add((d.Groups[1].Value, ps, templates));
        }
        string withoutDefines = Define.Replace(source, "");
        foreach (Match m in Literal.Matches(withoutDefines))
            if (!m.Groups[1].Value.Contains("##")) kernels.Add(m.Groups[1].Value);
        foreach (var (name, ps, templates) in macros)
            foreach (Match call in new Regex(@"\b" + name + @"\s*\(([^()]*(?:\([^()]*\)[^()]*)*)\)").Matches(withoutDefines))
            {
                var args = call.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries);
                foreach (var t in templates)
                {
                    // Substitute parameters token by token, then paste (## joins its neighbours).
                    var tokens = t.Split("##", StringSplitOptions.TrimEntries)
                        .Select(tok => Array.IndexOf(ps, tok) is int i && i >= 0 && i < args.Length ? args[i] : tok);
                    string k = string.Concat(tokens);
                    if (Regex.IsMatch(k, "^" + Id + "$")) kernels.Add(k);
                }
            }
        return kernels;
    }
}

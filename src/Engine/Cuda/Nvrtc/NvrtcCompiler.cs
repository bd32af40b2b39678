// NVRTC front end: is it loadable, its version and architectures, and one Compile call that
// turns a source (plus in-memory headers) into a CUBIN for sm_XY or PTX for compute_XY.
// Failure throws CudaException carrying NVRTC's whole log.
using System.Runtime.InteropServices;
using System.Text;

namespace Cochlea.Cuda.Nvrtc;

/// <summary>What NVRTC produced: a CUBIN (loadable as is) or NUL-terminated PTX (JIT-compiled by the driver).</summary>
public sealed record NvrtcImage(byte[] Bytes, bool IsCubin, string Log);

/// <summary>Runtime compilation with NVRTC.</summary>
public static unsafe class NvrtcCompiler
{
    static readonly Lazy<(bool Ok, string? Reason, Version? Version, int[] Archs)> Probe = new(DoProbe);

    /// <summary>True when an NVRTC library loads and answers nvrtcVersion. Never throws.</summary>
    public static bool IsAvailable => Probe.Value.Ok;

    /// <summary>Why <see cref="IsAvailable"/> is false (null when true).</summary>
    public static string? UnavailableReason => Probe.Value.Reason;

    /// <summary>NVRTC's version (e.g. 11.8, 13.0); throws when NVRTC is unavailable.</summary>
    public static Version Version => Probe.Value.Version ?? throw new CudaException("NVRTC is not available: " + Probe.Value.Reason);

    /// <summary>The SM architectures this NVRTC can build CUBINs for (e.g. 50, 52, ..., 90).</summary>
    public static IReadOnlyList<int> SupportedArchs => Probe.Value.Ok ? Probe.Value.Archs : throw new CudaException("NVRTC is not available: " + Probe.Value.Reason);

    static (bool, string?, Version?, int[]) DoProbe()
    {
        try
        {
            CudaLibraries.EnsureResolver();
            if (!CudaLibraries.TryLoad("nvrtc", out _, out var error)) return (false, error, null, []);
            int major, minor;
            Check(NvrtcNative.nvrtcVersion(&major, &minor), "nvrtcVersion");
            int n;
            int[] archs = [];
            // nvrtcGetSupportedArchs exists since 11.2, the oldest soname we load.
            if (NvrtcNative.nvrtcGetNumSupportedArchs(&n) == NvrtcResult.Success && n > 0)
            {
                archs = new int[n];
                fixed (int* a = archs) Check(NvrtcNative.nvrtcGetSupportedArchs(a), "nvrtcGetSupportedArchs");
            }
            return (true, null, new Version(major, minor), archs);
        }
        catch (Exception e) { return (false, $"NVRTC failed to load: {e.Message}", null, []); }
    }

    /// <summary>Throws a <see cref="CudaException"/> naming <paramref name="call"/> unless <paramref name="r"/> is NVRTC_SUCCESS.</summary>
    public static void Check(NvrtcResult r, string call, string? log = null)
    {
        if (r == NvrtcResult.Success) return;
        string text = Marshal.PtrToStringUTF8((nint)NvrtcNative.nvrtcGetErrorString(r)) ?? r.ToString();
        throw new CudaException($"{call}: {text}" + (string.IsNullOrEmpty(log) ? "" : "\n" + log));
    }

    /// <summary>
    /// The target for a device of compute capability <paramref name="arch"/> (major*10+minor): a CUBIN for sm_arch when
    /// this NVRTC supports it, else PTX for the newest supported compute_XY not above it (the driver JIT-compiles it).
    /// </summary>
    public static (int Arch, bool Cubin) Target(int arch, IReadOnlyList<int> supported)
    {
        if (supported.Count == 0 || supported.Contains(arch)) return (arch, true);
        int best = supported.Where(a => a <= arch).DefaultIfEmpty(-1).Max();
        if (best < 0) throw new CudaException($"NVRTC supports architectures {string.Join(", ", supported)}, none at or below the device's sm_{arch}.");
        return (best, false);
    }

    /// <summary>The option list used for a target: the architecture first, then <paramref name="extra"/>.</summary>
    public static string[] Options(int arch, bool cubin, IEnumerable<string> extra) =>
        [$"--gpu-architecture={(cubin ? "sm" : "compute")}_{arch}", .. extra];

    /// <summary>
    /// Compiles <paramref name="source"/> (program name <paramref name="name"/>, headers by include name) with
    /// <paramref name="options"/>; returns the CUBIN when <paramref name="cubin"/>, else the PTX (NUL-terminated).
    /// Throws <see cref="CudaException"/> with NVRTC's log when compilation fails.
    /// </summary>
    public static NvrtcImage Compile(string source, string name, IReadOnlyList<(string Name, string Source)> headers, IReadOnlyList<string> options, bool cubin)
    {
        if (!IsAvailable) throw new CudaException("NVRTC is not available: " + UnavailableReason);
        var pins = new List<nint>();
        try
        {
            byte* Utf8(string s) { var p = (byte*)Marshal.StringToCoTaskMemUTF8(s); pins.Add((nint)p); return p; }
            var hdr = stackalloc byte*[Math.Max(1, headers.Count)];
            var inc = stackalloc byte*[Math.Max(1, headers.Count)];
            for (int i = 0; i < headers.Count; i++) { hdr[i] = Utf8(headers[i].Source); inc[i] = Utf8(headers[i].Name); }
            var opt = stackalloc byte*[Math.Max(1, options.Count)];
            for (int i = 0; i < options.Count; i++) opt[i] = Utf8(options[i]);

            nint prog;
            Check(NvrtcNative.nvrtcCreateProgram(&prog, Utf8(source), Utf8(name), headers.Count, hdr, inc), $"nvrtcCreateProgram({name})");
            using var handle = new NvrtcProgramHandle(prog);
            var r = NvrtcNative.nvrtcCompileProgram(prog, options.Count, opt);
            string log = ReadLog(prog);
            Check(r, $"nvrtcCompileProgram({name}, {string.Join(" ", options)}): NVRTC {Version} log", log);
            nuint size;
            byte[] image;
            if (cubin)
            {
                Check(NvrtcNative.nvrtcGetCUBINSize(prog, &size), "nvrtcGetCUBINSize");
                image = new byte[size];
                fixed (byte* p = image) Check(NvrtcNative.nvrtcGetCUBIN(prog, p), "nvrtcGetCUBIN");
            }
            else
            {
                Check(NvrtcNative.nvrtcGetPTXSize(prog, &size), "nvrtcGetPTXSize"); // includes the terminating NUL
                image = new byte[size];
                fixed (byte* p = image) Check(NvrtcNative.nvrtcGetPTX(prog, p), "nvrtcGetPTX");
            }
            return new NvrtcImage(image, cubin, log);
        }
        finally { foreach (var p in pins) Marshal.FreeCoTaskMem(p); }
    }

    static string ReadLog(nint prog)
    {
        nuint size;
        if (NvrtcNative.nvrtcGetProgramLogSize(prog, &size) != NvrtcResult.Success || size <= 1) return "";
        var buf = new byte[size];
        fixed (byte* p = buf) if (NvrtcNative.nvrtcGetProgramLog(prog, p) != NvrtcResult.Success) return "";
        return Encoding.UTF8.GetString(buf, 0, (int)size - 1);
    }
}

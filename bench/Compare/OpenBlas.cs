// OpenBLAS bindings for the GEMM anchor: cblas_sgemm and the thread-count call, resolved at run time
// from whichever of libopenblas.so.0 / libopenblas.so / libcblas is installed. The bench installs nothing.
using System.Reflection;
using System.Runtime.InteropServices;

namespace Cochlea.Bench.Compare;

internal static unsafe partial class OpenBlas
{
    const string Lib = "cochlea_openblas"; // logical name, mapped by the resolver below
    static readonly string[] Candidates = ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "openblas", "libcblas.so.3", "libcblas.so"];
    static IntPtr s_handle;
    static readonly Lazy<bool> s_available = new(Load);

    /// <summary>Installed and loaded (CBLAS sgemm found).</summary>
    public static bool Available => s_available.Value;

    /// <summary>The file that was loaded, for the report.</summary>
    public static string? LoadedName { get; private set; }

    /// <summary>True when the loaded library also exports openblas_set_num_threads (plain CBLAS does not).</summary>
    public static bool CanSetThreads { get; private set; }

    public const int RowMajor = 101, NoTrans = 111, Trans = 112;

    [LibraryImport(Lib, EntryPoint = "cblas_sgemm")]
    public static partial void Sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Lib, EntryPoint = "openblas_set_num_threads")]
    private static partial void SetNumThreadsNative(int n);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvNative(string name, string value, int overwrite);

    public static void SetThreads(int n) { if (CanSetThreads) SetNumThreadsNative(n); }

    static bool Load()
    {
        // OpenBLAS reads OPENBLAS_CORETYPE when it loads. Pin the AVX-512 Skylake-X kernels unless the user
        // chose; set it in the native environment too (managed SetEnvironmentVariable is not seen by C code).
        SetDefault("OPENBLAS_CORETYPE", "SkylakeX");
        // OpenBLAS's idle workers spin for 2^28 cycles (~0.1 s) after each threaded call. When the comparison
        // alternates anchor/ours, that spinning would occupy a core during our run; 2^4 cycles makes them sleep
        // at once. Costs OpenBLAS only a thread wake-up (microseconds) per call. Set only if the user did not.
        SetDefault("OPENBLAS_THREAD_TIMEOUT", "4");
        foreach (var name in Candidates)
        {
            if (NativeLibrary.TryLoad(name, out var h) && NativeLibrary.TryGetExport(h, "cblas_sgemm", out _))
            {
                s_handle = h; LoadedName = name;
                CanSetThreads = NativeLibrary.TryGetExport(h, "openblas_set_num_threads", out _);
                NativeLibrary.SetDllImportResolver(typeof(OpenBlas).Assembly, Resolve);
                return true;
            }
        }
        return false;
    }

    static void SetDefault(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is not null) return;
        Environment.SetEnvironmentVariable(name, value);
        try { SetEnvNative(name, value, 0); } catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    static IntPtr Resolve(string name, Assembly asm, DllImportSearchPath? path) => name == Lib ? s_handle : IntPtr.Zero;
}

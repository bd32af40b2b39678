// Compiles EVERY embedded native/cuda/*.cu with the NVRTC found (11.8 on the dev box, 13 on the
// GPU machine) for Hopper (sm_90 CUBIN and compute_90 PTX), so a kernel that does not compile
// fails here, with NVRTC's log, even on a machine without a GPU. The disk cache is checked too.
using Cochlea.Cuda;
using Cochlea.Cuda.Nvrtc;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

[Category("Nvrtc")]
public class NvrtcCompileTests
{
    static IEnumerable<string> Files() => KernelSources.Files;

    static IEnumerable<string> DeclaredKernels(string source) => KernelSources.DeclaredKernels(source);

    [TestCaseSource(nameof(Files))]
    public void CompilesForSm90(string file)
    {
        GpuTest.RequireNvrtc();
        var options = NvrtcCompiler.Options(90, true, KernelCache.CommonOptions);
        Assume.That(NvrtcCompiler.SupportedArchs, Does.Contain(90), $"NVRTC {NvrtcCompiler.Version} cannot build sm_90");
        NvrtcImage cubin = null!, ptx = null!;
        Assert.DoesNotThrow(() => cubin = NvrtcCompiler.Compile(KernelSources.Read(file), file, KernelSources.Headers, options, cubin: true));
        Assert.That(cubin.Bytes.Take(4), Is.EqualTo(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' }), "a CUBIN is an ELF image");

        Assert.DoesNotThrow(() => ptx = NvrtcCompiler.Compile(KernelSources.Read(file), file, KernelSources.Headers, NvrtcCompiler.Options(90, false, KernelCache.CommonOptions), cubin: false));
        string text = System.Text.Encoding.ASCII.GetString(ptx.Bytes);
        Assert.That(ptx.Bytes[^1], Is.Zero, "PTX for cuModuleLoadData must be NUL-terminated");
        Assert.That(text, Does.Contain(".target sm_90"));
        foreach (var k in DeclaredKernels(KernelSources.Read(file)))
            Assert.That(text, Does.Contain(".entry " + k), $"{file}: kernel {k} is not an unmangled entry point");
    }

    [Test]
    public void CopyKernelTakesTheLayoutStructAsTheHostLaysItOut()
    {
        GpuTest.RequireNvrtc();
        var ptx = NvrtcCompiler.Compile(KernelSources.Read("copy.cu"), "copy.cu", KernelSources.Headers, NvrtcCompiler.Options(75, false, KernelCache.CommonOptions), cubin: false);
        string text = System.Text.Encoding.ASCII.GetString(ptx.Bytes);
        int size = System.Runtime.InteropServices.Marshal.SizeOf<Cochlea.Cuda.StridedLayout>();
        // Parameters: x, y (pointers), the struct by value, n. The struct's PTX parameter must be as large as the C# struct.
        foreach (var k in new[] { "copy_strided_b32", "copy_strided_b64" })
        {
            Assert.That(text, Does.Contain($".param .align 8 .b8 {k}_param_2[{size}]"), k);
            Assert.That(text, Does.Contain($".param .u64 {k}_param_3"), k);
        }
        Assert.That(System.Text.Encoding.ASCII.GetString(NvrtcCompiler.Compile(KernelSources.Read("fill.cu"), "fill.cu", KernelSources.Headers, NvrtcCompiler.Options(75, false, KernelCache.CommonOptions), cubin: false).Bytes),
            Does.Contain(".param .f32 fill_f32_param_1").And.Contain(".param .u64 fill_f32_param_2"));
    }

    [Test]
    public void EveryFileDeclaresAKernel() =>
        Assert.That(KernelSources.Files.Where(f => !DeclaredKernels(KernelSources.Read(f)).Any()), Is.Empty,
            "files declaring no kernel (literally or through a one-level macro family) are found only by loading every module");

    [Test]
    public void CompileErrorsCarryTheLog()
    {
        GpuTest.RequireNvrtc();
        var e = Assert.Throws<CudaException>(() => NvrtcCompiler.Compile("extern \"C\" __global__ void k(float* x) { x[0] = no_such_symbol; }", "bad.cu", [], ["--gpu-architecture=compute_75"], cubin: false))!;
        Assert.That(e.Message, Does.Contain("nvrtcCompileProgram(bad.cu"));
        Assert.That(e.Message, Does.Contain("no_such_symbol"), "the NVRTC log names the error");
    }

    [Test]
    public void DiskCacheIsWrittenOnceAndReadBack()
    {
        GpuTest.RequireNvrtc();
        using var dir = new TempDir("cuda-cache-test");
        var first = KernelCache.Compile("fill.cu", 90, dir.Path);
        Assert.That(first.FromDisk, Is.False);
        Assert.That(File.Exists(first.Path), Is.True);
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1), "no temporary file is left behind");
        var second = KernelCache.Compile("fill.cu", 90, dir.Path);
        Assert.That(second.FromDisk, Is.True);
        Assert.That(second.Path, Is.EqualTo(first.Path));
        Assert.That(second.Image.Bytes, Is.EqualTo(first.Image.Bytes));
        Assert.That(Path.GetFileName(first.Path), Does.StartWith("fill-sm_90-").Or.StartWith("fill-compute_"));
    }
}

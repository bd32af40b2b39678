// CPU tests of the kernel plumbing: the disk-cache key and folder, the kernel-to-file lookup,
// the NVRTC target choice, and the library resolver's candidate list.
using Cochlea.Cuda;
using Cochlea.Cuda.Nvrtc;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public class KernelCacheTests
{
    static readonly (string, string)[] Headers = [("a.cuh", "#define A 1"), ("b.cuh", "#define B 2")];
    static readonly string[] Opts = ["--gpu-architecture=sm_90", "-std=c++17"];

    [Test]
    public void KeyChangesWithEveryInputAndNotWithHeaderOrder()
    {
        string k = KernelCache.Key("src", Headers, Opts, "11.8");
        Assert.That(k, Has.Length.EqualTo(64).And.Match("^[0-9a-f]+$"));
        Assert.That(KernelCache.Key("src", [Headers[1], Headers[0]], Opts, "11.8"), Is.EqualTo(k));
        var others = new[]
        {
            KernelCache.Key("src ", Headers, Opts, "11.8"),
            KernelCache.Key("src", [("a.cuh", "#define A 3"), Headers[1]], Opts, "11.8"),
            KernelCache.Key("src", [("c.cuh", "#define A 1"), Headers[1]], Opts, "11.8"),
            KernelCache.Key("src", Headers, ["--gpu-architecture=sm_80", "-std=c++17"], "11.8"),
            KernelCache.Key("src", Headers, ["--gpu-architecture=compute_90", "-std=c++17"], "11.8"),
            KernelCache.Key("src", Headers, [.. Opts, "-lineinfo"], "11.8"),
            KernelCache.Key("src", Headers, Opts, "13.0"),
            KernelCache.Key("src", [], Opts, "11.8"),
        };
        Assert.That(others, Has.None.EqualTo(k));
        Assert.That(others, Is.Unique);
    }

    [Test]
    public void CacheFolderFollowsTheEnvironment()
    {
        var env = new Dictionary<string, string?> { ["COCHLEA_CUDA_CACHE"] = "/c", ["XDG_CACHE_HOME"] = "/x", ["HOME"] = "/h" };
        Assert.That(KernelCache.Directory(k => env.GetValueOrDefault(k)), Is.EqualTo("/c"));
        env["COCHLEA_CUDA_CACHE"] = "";
        Assert.That(KernelCache.Directory(k => env.GetValueOrDefault(k)), Is.EqualTo("/x/cochlea/cuda"));
        env.Remove("XDG_CACHE_HOME");
        Assert.That(KernelCache.Directory(k => env.GetValueOrDefault(k)), Is.EqualTo("/h/.cache/cochlea/cuda"));
    }

    [Test]
    public void CandidateFilesPutTheDeclaringFilesFirst()
    {
        var files = new[]
        {
            ("a.cu", "extern \"C\" __global__ void other(float* x) {}"),
            ("b.cu", "#define K(n, e) extern \"C\" __global__ void n##_f32() { e; } \\\n  extern \"C\" __global__ void n##_grad_f32() {}\nK(relu, (1 + 2))"),
            ("c.cu", "extern \"C\"  __global__\n void relu_f32 (float* x) {}"),
            ("d.cu", "// relu_f32 is launched from elsewhere"),
        };
        Assert.That(KernelSources.DeclaredKernels(files[1].Item2), Is.EquivalentTo(new[] { "relu_f32", "relu_grad_f32" }), "macro family expanded, its parameter not taken for a kernel");
        Assert.That(KernelSources.CandidateFiles("relu_f32", files), Is.EqualTo(new[] { "b.cu", "c.cu", "d.cu", "a.cu" }));
        Assert.That(KernelSources.CandidateFiles("relu_grad_f32", files)[0], Is.EqualTo("b.cu"));
        Assert.That(KernelSources.CandidateFiles("other", files)[0], Is.EqualTo("a.cu"));
        Assert.Throws<ArgumentException>(() => KernelSources.CandidateFiles("bad name", files));
    }

    [Test]
    public void MacroFamiliesOfTheShippedKernelsAreFoundWithoutCompiling()
    {
        Assert.That(KernelSources.CandidateFiles("sigmoid_f32")[0], Is.EqualTo("unary.cu"));
        Assert.That(KernelSources.CandidateFiles("add_f32")[0], Is.EqualTo("binary.cu"));
        Assert.That(KernelSources.CandidateFiles("add_strided_f32")[0], Is.EqualTo("binary.cu"));
    }

    [Test]
    public void EmbeddedSourcesIncludeTheRuntimeKernelsAndHeader()
    {
        Assert.That(KernelSources.Files, Does.Contain("copy.cu").And.Contain("fill.cu"));
        Assert.That(KernelSources.Headers.Select(h => h.Name), Does.Contain("common.cuh"));
        Assert.That(KernelSources.CandidateFiles("fill_f32")[0], Is.EqualTo("fill.cu"));
        Assert.That(KernelSources.CandidateFiles("copy_strided_b64")[0], Is.EqualTo("copy.cu"));
        Assert.That(() => KernelSources.Read("nope.cu"), Throws.TypeOf<CudaException>().With.Message.Contains("copy.cu"));
    }

    [Test]
    public void TargetIsCubinWhenSupportedElsePtxForTheNewestOlderArch()
    {
        int[] archs = [50, 60, 70, 80, 86, 89, 90];
        Assert.That(NvrtcCompiler.Target(90, archs), Is.EqualTo((90, true)));
        Assert.That(NvrtcCompiler.Target(100, archs), Is.EqualTo((90, false)));
        Assert.That(NvrtcCompiler.Target(87, archs), Is.EqualTo((86, false)));
        Assert.Throws<CudaException>(() => NvrtcCompiler.Target(35, archs));
        Assert.That(NvrtcCompiler.Options(90, true, ["-std=c++17"]), Is.EqualTo(new[] { "--gpu-architecture=sm_90", "-std=c++17" }));
        Assert.That(NvrtcCompiler.Options(90, false, []), Is.EqualTo(new[] { "--gpu-architecture=compute_90" }));
    }

    [Test]
    public void LaunchGridCoversNAndIsCapped()
    {
        Assert.That(CudaTensorKernels.Linear(1), Is.EqualTo((new Dim3(1), new Dim3(256))));
        Assert.That(CudaTensorKernels.Linear(257), Is.EqualTo((new Dim3(2), new Dim3(256))));
        Assert.That(CudaTensorKernels.Linear(1L << 40).Grid, Is.EqualTo(new Dim3(CudaTensorKernels.MaxBlocks)));
        Assert.Throws<ArgumentOutOfRangeException>(() => CudaTensorKernels.Linear(0));
    }

    [Test]
    public void ResolverTriesLdLibraryPathFirstThenTheLoaderSearch()
    {
        var c = CudaLibraries.Candidates("nvrtc", "/opt/a:/opt/b").ToList();
        Assert.That(c.Take(2), Is.EqualTo(new[] { "/opt/a/libnvrtc.so.13", "/opt/b/libnvrtc.so.13" }));
        Assert.That(c, Does.Contain("libnvrtc.so.12").And.Contain("libnvrtc.so.11.2"));
        Assert.That(c.IndexOf("libnvrtc.so.13"), Is.GreaterThan(c.IndexOf("/opt/b/libnvrtc.so.11.2")));
        Assert.That(CudaLibraries.Candidates("cuda", null).First(), Is.EqualTo("libcuda.so.1"));
        Assert.That(CudaLibraries.Sonames.Keys, Is.EquivalentTo(new[] { "cuda", "nvrtc", "cublas", "cublasLt", "cudnn" }));
        Assert.Throws<ArgumentException>(() => CudaLibraries.Candidates("cufft", null).ToList());
    }

    [Test]
    public void MissingLibraryMessageListsWhatWasTried()
    {
        bool ok = CudaLibraries.TryLoad("cudnn", out _, out var error);
        Assume.That(!ok, "cuDNN is installed here, so its missing-library message cannot be observed");
        Assert.That(error, Does.StartWith("libcudnn.so.9 not found (install the library and add its folder to LD_LIBRARY_PATH); tried: "));
        Assert.That(error, Does.Contain("libcudnn.so.9, libcudnn.so").Or.Contain("libcudnn.so.9 (absent)"));
        Assert.That(() => CudaLibraries.Require("cudnn"), Throws.TypeOf<CudaException>().With.Message.EqualTo(error));
    }

    [Test]
    public void StridedLayoutMatchesTheKernelStruct()
    {
        // copy.cu: int rank; int pad; long long shape[8], src[8], dst[8] -> 8 + 3 * 64 bytes, arrays at 8, 72, 136.
        Assert.That(System.Runtime.InteropServices.Marshal.SizeOf<StridedLayout>(), Is.EqualTo(200));
        Assert.That(System.Runtime.InteropServices.Marshal.OffsetOf<StridedLayout>(nameof(StridedLayout.Src)).ToInt32(), Is.EqualTo(72));
        var l = CudaTensorKernels.Layout([2, 3, 4], [1, 2, 6], [12, 4, 1]); // a transposed source: nothing merges
        Assert.That(l.Rank, Is.EqualTo(3));
        var m = CudaTensorKernels.Layout([2, 3, 4], [12, 4, 1], [12, 4, 1]); // both dense: one run
        Assert.That(m.Rank, Is.EqualTo(1));
        unsafe { Assert.That(m.Shape[0], Is.EqualTo(24)); }
    }
}

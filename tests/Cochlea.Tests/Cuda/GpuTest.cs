// Shared helper for tests that need a GPU or NVRTC: they call Require() first, so on a machine
// without one they are skipped (inconclusive, with the reason), never silently passed.
using Cochlea.Cuda;
using Cochlea.Cuda.Nvrtc;
using NUnit.Framework;

namespace Cochlea.Tests.Cuda;

public static class GpuTest
{
    /// <summary>Skips the calling test unless a CUDA device is usable; returns cuda:0.</summary>
    public static CudaDevice Require()
    {
        Assume.That(CudaBackend.IsAvailable, CudaBackend.UnavailableReason ?? "");
        return CudaBackend.Get(0);
    }

    /// <summary>Skips the calling test unless NVRTC loads.</summary>
    public static void RequireNvrtc() => Assume.That(NvrtcCompiler.IsAvailable, NvrtcCompiler.UnavailableReason ?? "");

    /// <summary>The CUDA device value of the test GPU.</summary>
    public static Device Cuda => Device.Cuda(0);
}

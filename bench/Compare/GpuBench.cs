// What the GPU comparisons (gpu-gemm, gpu-train) share: the "no GPU" exit, CUDA-event timing on the engine's
// compute stream (Cochlea.Cuda.CudaEvent), and device memory in use (the engine's driver binding of cuMemGetInfo;
// the engine exposes its internals to Cochlea.Bench).
using Cochlea.Cuda;
using Cochlea.Cuda.Driver;

namespace Cochlea.Bench.Compare;

/// <summary>No usable GPU: the runner prints "no GPU: &lt;message&gt;" and exits non-zero.</summary>
public sealed class NoGpuException(string reason) : Exception(reason);

public static unsafe class GpuBench
{
    /// <summary>
    /// COCHLEA_BENCH_SMOKE=1: a functional run of the bench code itself (the host emulator of tools/cuda-emu/host-libs
    /// runs it on the CPU): small sizes, few steps; its numbers are not measurements.
    /// </summary>
    public static bool Smoke { get; } = Environment.GetEnvironmentVariable("COCHLEA_BENCH_SMOKE") == "1";

    /// <summary>cuda:0, or throws <see cref="NoGpuException"/> with the backend's reason. Says so on stderr in a smoke run.</summary>
    public static CudaDevice RequireGpu(string what)
    {
        if (!CudaBackend.IsAvailable) throw new NoGpuException(CudaBackend.UnavailableReason ?? "CUDA is unavailable");
        var dev = CudaBackend.Get(0);
        if (Smoke) Console.Error.WriteLine($"{what}: SMOKE RUN (COCHLEA_BENCH_SMOKE=1) on {dev}: shrunk sizes and step counts; the numbers are not measurements.");
        return dev;
    }

    /// <summary>Seconds per call of <paramref name="body"/>, run <paramref name="reps"/> times between two CUDA events on the compute stream.</summary>
    public static double EventSeconds(CudaDevice dev, int reps, Action body)
    {
        using var start = new CudaEvent(dev);
        using var end = new CudaEvent(dev);
        start.Record();
        for (int i = 0; i < reps; i++) body();
        end.Record();
        return end.ElapsedMilliseconds(start) / 1e3 / reps;
    }

    /// <summary>Device memory in use (total - free, MiB): the caching allocator's reserve plus library workspaces and the context.</summary>
    public static double UsedMiB(CudaDevice dev)
    {
        dev.MakeCurrent();
        nuint free, total;
        DriverCheck.Check(NativeMethods.cuMemGetInfo(&free, &total), "cuMemGetInfo");
        return (total - free) / (1024.0 * 1024.0);
    }
}
